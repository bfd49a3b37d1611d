#!/bin/sh
# buildroot-check.sh [BUILDROOT_TARBALL]: build dipus inside Buildroot, offline, with the
# BR2_EXTERNAL tree support/buildroot/ and an external musl toolchain for aarch64 made
# from scripts/cross-toolchains.sh's sysroot; then utils/check-package on the tree.
#
# The tarball is the argument, or ../shared/buildroot/buildroot-2026.05.1.tar.xz beside
# the clone; it is verified against its pinned sha256. Everything happens in build/br/.
# What an offline Buildroot still wants from the network is provided from Debian
# source packages (a private apt configuration, pinned in scripts/cross/buildroot.hash):
#   - GNU tar >= 1.35 on the host (Debian 12 has 1.34; else Buildroot builds host-tar
#     from tar-1.35.cpio.gz): built from Debian's tar source package into build/br/host.
#   - NetBSD's sys/queue.h for musl-compat-headers (pinned by Buildroot): no Debian
#     package carries that exact file; unless it is put in build/br/dl/musl-compat-headers/
#     by hand, the host C library's queue.h stands in (below: dipus does not use it).
# dipus's own dependency archives go into Buildroot's download directory under
# upstream's names (they are the same files as Debian's .orig archives).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BR_VER=2026.05.1
BR_SHA=b54bad1fe4018d88d23a7ed2e4f9bddf74320a8d0fa109783404e8302467338d
tarball=${1:-$(dirname "$top")/shared/buildroot/buildroot-$BR_VER.tar.xz}
w=$top/build/br
hashes=$here/cross/buildroot.hash
TAR_DEB=1.35+dfsg-3.1 TAR_ORIG=tar_1.35+dfsg.orig.tar.xz

err() { echo "dipus: buildroot-check: $*" >&2; }
step() { echo "== buildroot-check: $* ($(($(date +%s) - t0))s)"; }
t0=$(date +%s)

[ -f "$tarball" ] || { err "$tarball: not found (pass the Buildroot $BR_VER tarball as the argument)"; exit 2; }
got=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$got" = "$BR_SHA" ] || { err "$tarball: checksum mismatch (expected $BR_SHA, got $got)"; exit 1; }
mkdir -p "$w/dl"
br=$w/buildroot-$BR_VER
if [ ! -f "$br/.extracted" ]; then
	rm -rf "$br"
	tar -xJf "$tarball" -C "$w"
	: >"$br/.extracted"
fi
step "Buildroot $BR_VER extracted"

# check-package on the tree, and what an offline build cannot get, first: the host tar
# and the toolchain are only worth building when make dipus can run
step "utils/check-package"
(cd "$top/support/buildroot" && PATH=/usr/bin:$PATH "$br/utils/check-package" -b external.desc external.mk Config.in \
	package/dipus/Config.in package/dipus/dipus.mk package/dipus/dipus.hash) || cp_rc=$?
echo "check-package: exit ${cp_rc:-0}"

# NetBSD's queue.h for musl-compat-headers: Buildroot pins it by sha256 and only the
# network has it. dipus does not include <sys/queue.h>, so when the real file is not in
# build/br/dl/musl-compat-headers/, the host C library's BSD queue.h stands in: the check
# changes that one line of musl-compat-headers.hash in its own extracted copy (never
# elsewhere) and says so. With the real file there, Buildroot is used unchanged.
mh=$br/package/musl-compat-headers/musl-compat-headers.hash
[ -f "$mh.orig" ] || cp "$mh" "$mh.orig"
pinned=$(awk '$3 == "queue.h" { print $2 }' "$mh.orig")
qh=$w/dl/musl-compat-headers/queue.h
if [ -f "$qh" ] && [ "$(sha256sum "$qh" | cut -d' ' -f1)" = "$pinned" ]; then
	cp "$mh.orig" "$mh"
	step "musl-compat-headers: NetBSD's queue.h, as pinned"
else
	host_qh=$(find /usr/include -path '*/sys/queue.h' 2>/dev/null | head -n 1)
	[ -n "$host_qh" ] || { err "musl-compat-headers wants NetBSD's queue.h (sha256 $pinned) in $w/dl/musl-compat-headers/, and the host has no sys/queue.h to stand in"; exit 3; }
	mkdir -p "$w/dl/musl-compat-headers"
	cp "$host_qh" "$qh"
	sed "s/$pinned/$(sha256sum "$qh" | cut -d' ' -f1)/" "$mh.orig" >"$mh"
	step "musl-compat-headers: NetBSD's queue.h (sha256 $pinned) is not here (offline); the host's $host_qh stands in (dipus does not use it)"
fi

# the private apt configuration (trixie's sources; the machine's apt setup untouched)
tmp=
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
want_hash() { awk -v f="$1" '$1 == "sha256" && $3 == f { print $2 }' "$hashes"; }
fetch_src() { # fetch_src PKG=VER FILE: Debian source archive FILE into build/br/dl, verified
	f=$2
	if [ ! -f "$w/dl/$f" ]; then
		uri=$({
			cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
				sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\3/p'
			cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		} | grep -v -- -security | grep -E '/debian/?$' | head -n 1) || true
		[ -n "$uri" ] || { err "no Debian archive in apt's sources; put $f in $w/dl"; exit 1; }
		tmp=$w/tmp.$$
		mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/get"
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$tmp/parts/s.list"
		set -- "$1" -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/parts" \
			-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Sandbox::User=root
		pv=$1; shift
		apt-get -q "$@" update >"$tmp/log" 2>&1 &&
			(cd "$tmp/get" && apt-get -q "$@" source --download-only "$pv") >>"$tmp/log" 2>&1 ||
			{ tail -5 "$tmp/log" >&2; err "$f: could not be downloaded"; exit 1; }
		cp "$tmp/get/$f" "$w/dl/.$f.part"
		rm -rf "$tmp"; tmp=
		g=$(sha256sum "$w/dl/.$f.part" | cut -d' ' -f1)
		[ "$g" = "$(want_hash "$f")" ] || { rm -f "$w/dl/.$f.part"; err "$f: checksum mismatch (got $g)"; exit 1; }
		mv "$w/dl/.$f.part" "$w/dl/$f"
	fi
	g=$(sha256sum "$w/dl/$f" | cut -d' ' -f1)
	[ "$g" = "$(want_hash "$f")" ] || { err "$w/dl/$f: checksum mismatch (got $g)"; exit 1; }
}

# host tar >= 1.35
hv=$(tar --version | sed -n '1s/.* \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
if [ "$(printf '%s\n1.35\n' "$hv" | sort -V | head -n 1)" != 1.35 ] && [ ! -x "$w/host/bin/tar" ]; then
	fetch_src "tar=$TAR_DEB" "$TAR_ORIG"
	rm -rf "$w/tar-src" && mkdir -p "$w/tar-src"
	tar -xJf "$w/dl/$TAR_ORIG" -C "$w/tar-src" --strip-components=1
	(cd "$w/tar-src" && FORCE_UNSAFE_CONFIGURE=1 ./configure --prefix="$w/host" --disable-nls \
		--without-selinux --without-posix-acls --without-xattrs >../tar.log 2>&1 &&
		make -j"$(nproc)" >>../tar.log 2>&1 && make install >>../tar.log 2>&1) ||
		{ tail -20 "$w/tar.log" >&2; err "building tar $TAR_DEB failed"; exit 1; }
	rm -rf "$w/tar-src"
	step "host tar $("$w/host/bin/tar" --version | head -n 1) from Debian's tar $TAR_DEB"
fi
[ -x "$w/host/bin/tar" ] && PATH=$w/host/bin:$PATH && export PATH

# the toolchain: build/cross/bin/aarch64-linux-musl-*, plus a cpp wrapper
sh "$here/cross-toolchains.sh" aarch64 >/dev/null
xb=$top/build/cross/bin
sys=$top/build/cross/aarch64-linux-musl
cat >"$xb/.aarch64-linux-musl-cpp.new" <<EOF
#!/bin/sh
exec aarch64-linux-gnu-cpp --sysroot="$sys" -specs "$sys/musl-gcc.specs" "\$@"
EOF
chmod 0755 "$xb/.aarch64-linux-musl-cpp.new" && mv -f "$xb/.aarch64-linux-musl-cpp.new" "$xb/aarch64-linux-musl-cpp"
step "toolchain build/cross/bin/aarch64-linux-musl-gcc"

# dipus's sources (tracked files as they are) and its dependency archives
make -C "$top" -s dist >/dev/null
mkdir -p "$w/dl/dipus"
rm -f "$w/dl/dipus/dipus-"*.tar.gz
sh "$here/fetch-deps.sh" --dl-dir "${DL_DIR:-$top/dl}" mbedtls dropbear
for p in mbedtls dropbear; do
	f=$(sed -n 's/^sha256 *[0-9a-f]* *//p' "$here/deps/$p.hash")
	up=$(echo "$f" | sed 's/_\(.*\)\.orig\./-\1./')
	cp "${DL_DIR:-$top/dl}/$f" "$w/dl/dipus/$up"
done

out=$w/out
# from scratch each time: the toolchain's links in out/host are made once per output tree
rm -rf "$out"
mkdir -p "$out"
cat >"$w/dipus_defconfig" <<EOF
BR2_aarch64=y
BR2_DL_DIR="$w/dl"
BR2_PRIMARY_SITE=""
BR2_BACKUP_SITE=""
BR2_TOOLCHAIN_EXTERNAL=y
BR2_TOOLCHAIN_EXTERNAL_CUSTOM=y
BR2_TOOLCHAIN_EXTERNAL_PATH="$top/build/cross"
BR2_TOOLCHAIN_EXTERNAL_CUSTOM_PREFIX="aarch64-linux-musl"
BR2_TOOLCHAIN_EXTERNAL_GCC_12=y
BR2_TOOLCHAIN_EXTERNAL_HEADERS_6_1=y
BR2_TOOLCHAIN_EXTERNAL_CUSTOM_MUSL=y
# BR2_TOOLCHAIN_EXTERNAL_CXX is not set
BR2_STATIC_LIBS=y
BR2_OPTIMIZE_S=y
BR2_INIT_NONE=y
BR2_SYSTEM_BIN_SH_NONE=y
# BR2_PACKAGE_BUSYBOX is not set
# BR2_TARGET_ROOTFS_TAR is not set
BR2_PACKAGE_DIPUS=y
EOF
step "make defconfig"
make -C "$br" O="$out" BR2_EXTERNAL="$top/support/buildroot" BR2_DEFCONFIG="$w/dipus_defconfig" defconfig >"$w/defconfig.log" 2>&1 ||
	{ tail -20 "$w/defconfig.log"; err "defconfig failed"; exit 1; }
step "make dipus (offline)"
if make -C "$br" O="$out" dipus >"$w/make.log" 2>&1; then
	bin=$out/target/usr/bin/dipus
	step "make dipus: OK: $(file -b "$bin" | cut -d, -f1-2), $(wc -c <"$bin") bytes; links: $(find "$out/target/usr/bin" -type l | wc -l)"
	if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then "$bin" --version && echo "applets: $("$bin" --list | tr '\n' ' ')"; fi
else
	tail -30 "$w/make.log"
	err "make dipus failed (log: $w/make.log)"
	exit 1
fi
