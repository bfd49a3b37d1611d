#!/bin/sh
# setup.sh [--test] [--cross] [--list|--missing]: install what building dipus needs on Debian (as root).
# --test also installs the real peers the test suite runs against (socat, OpenSSH,
# dropbear, openssl, avahi, lame, madplay, hyperfine, clang for the fuzzer...).
# --cross also installs Debian's cross compilers for aarch64 armhf mipsel mips riscv64
# (scripts/cross-toolchains.sh puts musl under them), qemu-user-static to run the
# results, and what the offline Buildroot check (scripts/buildroot-check.sh) wants.
# --list only prints the package names (the one list; .ci/run installs from it).
# --missing only prints those not installed, and exits 1 if any (testsuite/run uses it).
# Needs root; as a user it prints the apt-get command to run instead.
set -eu
list=0 with_test=0 with_cross=0 missing_only=0
for a in "$@"; do
	case $a in
	--test) with_test=1 ;;
	--cross) with_cross=1 ;;
	--list) list=1 ;;
	--missing) missing_only=1 ;;
	*) echo "usage: scripts/setup.sh [--test] [--cross] [--list|--missing]" >&2; exit 2 ;;
	esac
done
build="make gcc musl-tools binutils bzip2 xz-utils ca-certificates patch"
test="socat openssh-server openssh-client openssl dropbear-bin avahi-utils lame madplay
      hyperfine iproute2 stunnel4 clang libclang-rt-14-dev procps util-linux passwd psmisc
      file python3 coreutils bc avahi-daemon dbus python3-zeroconf strace"
cross="gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu gcc-mips-linux-gnu
       gcc-riscv64-linux-gnu libc6-dev-arm64-cross libc6-dev-armhf-cross libc6-dev-mipsel-cross
       libc6-dev-mips-cross libc6-dev-riscv64-cross qemu-user-static
       g++ rsync cpio unzip wget perl bc file dpkg-dev python3-magic python3-flake8 shellcheck"
pkgs=$build
[ "$with_test" = 1 ] && pkgs="$pkgs $test"
[ "$with_cross" = 1 ] && pkgs="$pkgs $cross"
if [ "$list" = 1 ]; then
	# shellcheck disable=SC2086
	echo $pkgs
	exit 0
fi
if [ "$missing_only" = 1 ]; then
	command -v dpkg-query >/dev/null 2>&1 || exit 0  # not Debian: cannot tell
	# shellcheck disable=SC2086
	have=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | sed -n 's/ .*ok installed$//p')
	miss=""
	for p in $pkgs; do
		echo "$have" | grep -qx -- "$p" || miss="$miss $p"
	done
	[ -z "$miss" ] && exit 0
	echo $miss
	exit 1
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
