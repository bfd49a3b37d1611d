#!/bin/sh
# fetch-deps.sh [--dl-dir DIR] PACKAGE...: fetch and verify pinned source archives.
#
# PACKAGE is mbedtls or dropbear. The pinned checksum is scripts/deps/PACKAGE.hash
# (Buildroot-style "sha256  HEX  FILE"). An archive already in DL_DIR (default dl/,
# or $DL_DIR) is verified and reused: no network. A missing one is downloaded as a
# Debian source package through a private apt configuration in a temporary directory
# (the machine's apt setup is never touched), verified, then moved into DL_DIR. Where
# that route is unavailable (no apt, not Debian), the upstream URL of the hash file's
# "# upstream:" line is tried (curl or wget), saved under the same name and held to the
# same checksum. A mismatch stops with both hashes; nothing unverified is ever left in
# DL_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
dl=${DL_DIR:-$top/dl}
if [ "${1:-}" = --dl-dir ]; then dl=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: fetch-deps.sh [--dl-dir DIR] mbedtls|dropbear..." >&2; exit 2; }

err() { echo "dipus: fetch-deps: $*" >&2; }

# Debian source package version for each package (the suite is trixie).
srcver() {
	case $1 in
	mbedtls) echo "mbedtls=3.6.6-0.1~deb13u1" ;;
	dropbear) echo "dropbear=2025.89-1~deb13u1" ;;
	*) err "$1: unknown package (known: mbedtls dropbear)"; exit 2 ;;
	esac
}

tmp=
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Debian archive URI of this machine's own apt sources (never a -security one).
mirror_uri() {
	{
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\3/p'
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
	} | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1
}

fetch_apt() { # fetch_apt PKG DIR: download the source package's files into DIR
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dipus-fetch.XXXXXX")
	uri=$(mirror_uri)
	[ -n "$uri" ] || { err "no Debian archive in this machine's apt sources; put the archive in $dl by hand"; return 1; }
	mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/get"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$tmp/parts/src.list"
	set -- -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/parts" \
		-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Sandbox::User=root
	apt-get -q "$@" update >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }
	(cd "$tmp/get" && apt-get -q "$@" source --download-only "$(srcver "$PKG")") >>"$tmp/log" 2>&1 ||
		{ cat "$tmp/log" >&2; return 1; }
}

fetch_upstream() { # fetch_upstream PKG FILE: the upstream archive into $tmp/get/FILE
	url=$(sed -n 's/^# upstream: *//p' "$here/deps/$1.hash" | head -n 1)
	[ -n "$url" ] || return 1
	rm -rf "$tmp"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dipus-fetch.XXXXXX")
	mkdir -p "$tmp/get"
	echo "  FETCH   $url"
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --max-time 600 -o "$tmp/get/$2" "$url"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -T 60 -O "$tmp/get/$2" "$url"
	else
		err "neither curl nor wget to fetch $url"
		return 1
	fi
}

mkdir -p "$dl"
for PKG in "$@"; do
	srcver "$PKG" >/dev/null
	hashfile=$here/deps/$PKG.hash
	set -- $(grep '^sha256' "$hashfile")
	want=$2 file=$3
	if [ -f "$dl/$file" ]; then
		got=$(sha256sum "$dl/$file" | cut -d' ' -f1)
		if [ "$got" != "$want" ]; then
			err "$dl/$file: checksum mismatch (expected $want, got $got); remove it to fetch it again"
			exit 1
		fi
		continue
	fi
	echo "  FETCH   $file"
	if ! { command -v apt-get >/dev/null 2>&1 && fetch_apt "$PKG" && [ -f "$tmp/get/$file" ]; }; then
		[ -z "$tmp" ] || [ ! -s "$tmp/log" ] || err "the Debian source package route failed (above); trying upstream"
		if ! fetch_upstream "$PKG" "$file" || [ ! -f "$tmp/get/$file" ]; then
			err "$file: not in $dl and could not be downloaded; put the archive there (DL_DIR) and run again"
			exit 1
		fi
	fi
	got=$(sha256sum "$tmp/get/$file" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		err "$file (downloaded): checksum mismatch (expected $want, got $got); not kept"
		exit 1
	fi
	# same file system as dl/ first, then an atomic rename: never a half-written archive
	cp "$tmp/get/$file" "$dl/.$file.part"
	mv "$dl/.$file.part" "$dl/$file"
	rm -rf "$tmp"; tmp=
done
exit 0
