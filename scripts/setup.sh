#!/bin/sh
# setup.sh [--test] [--list]: install what building dipus needs on Debian (as root).
# --test also installs the real peers the test suite runs against (socat, OpenSSH,
# dropbear, openssl, avahi, lame, madplay, hyperfine, clang for the fuzzer...).
# --list only prints the package names (the one list; .ci/run installs from it).
# Needs root; as a user it prints the apt-get command to run instead.
set -eu
list=0 with_test=0
for a in "$@"; do
	case $a in
	--test) with_test=1 ;;
	--list) list=1 ;;
	*) echo "usage: scripts/setup.sh [--test] [--list]" >&2; exit 2 ;;
	esac
done
build="make gcc musl-tools binutils bzip2 xz-utils ca-certificates patch"
test="socat openssh-server openssh-client openssl dropbear-bin avahi-utils lame madplay
      hyperfine iproute2 stunnel4 python3-zeroconf clang libclang-rt-14-dev procps util-linux passwd psmisc
      file python3 coreutils bc"
pkgs=$build
[ "$with_test" = 1 ] && pkgs="$build $test"
if [ "$list" = 1 ]; then
	# shellcheck disable=SC2086
	echo $pkgs
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: not root; run: apt-get update && apt-get install -y" $pkgs >&2
	missing=0
	for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing=1; done
	exit $missing
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
