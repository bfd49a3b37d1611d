#!/bin/sh
# cross-toolchains.sh [--binfmt] [ARCH...]: static-musl cross toolchains under build/cross/.
#
# ARCH: aarch64 armhf mipsel mips riscv64 (default: all five). For each, a sysroot
# build/cross/<triplet>/ and a wrapper build/cross/bin/<triplet>-gcc = Debian's cross gcc
# (gcc-<gnu-triplet>, scripts/setup.sh --cross) with --sysroot and a musl specs file.
# musl comes from Debian's musl-dev/musl packages for the target where Debian 12 has
# them (arm64 armhf mipsel), else it is built from Debian's musl source package
# (riscv64, big-endian mips). Every archive is fetched through a private apt
# configuration (the machine's apt setup is never touched), verified against
# scripts/cross/toolchains.hash, and kept in build/cross/dl/: nothing outside the clone.
# The kernel's UAPI headers (linux/, asm/) are copied from Debian's
# linux-libc-dev-<arch>-cross, which the cross gcc's libc6-dev-*-cross pulls in.
# --binfmt registers qemu-user-static with binfmt_misc (root), so the binaries run.
#   make CROSS=aarch64      then builds with build/cross/bin/aarch64-linux-musl-gcc
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=$top/build/cross
dl=$out/dl
hashes=$here/cross/toolchains.hash
MUSL_VER=1.2.3 MUSL_DEB=1.2.3-1 SUITE=bookworm

err() { echo "dipus: cross-toolchains: $*" >&2; }

binfmt=0 arches=
for a in "$@"; do
	case $a in
	--binfmt) binfmt=1 ;;
	aarch64 | armhf | mipsel | mips | riscv64) arches="$arches $a" ;;
	*) echo "usage: scripts/cross-toolchains.sh [--binfmt] [aarch64 armhf mipsel mips riscv64]" >&2; exit 2 ;;
	esac
done
[ -n "$arches" ] || arches="aarch64 armhf mipsel mips riscv64"

# ARCH -> musl triplet, Debian's gnu triplet, Debian arch (deb: from packages, src: build
# musl), musl's dynamic loader name, qemu's name
info() {
	case $1 in
	aarch64) echo aarch64-linux-musl aarch64-linux-gnu arm64 deb ld-musl-aarch64.so.1 aarch64 ;;
	armhf) echo arm-linux-musleabihf arm-linux-gnueabihf armhf deb ld-musl-armhf.so.1 arm ;;
	mipsel) echo mipsel-linux-musl mipsel-linux-gnu mipsel deb ld-musl-mipsel.so.1 mipsel ;;
	mips) echo mips-linux-musl mips-linux-gnu mips src ld-musl-mips.so.1 mips ;;
	riscv64) echo riscv64-linux-musl riscv64-linux-gnu riscv64 src ld-musl-riscv64.so.1 riscv64 ;;
	esac
}

tmp=
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mirror_uri() { # the Debian archive URI of this machine's apt sources (never -security)
	{
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\3/p'
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
	} | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1
}

want_hash() { awk -v f="$1" '$1 == "sha256" && $3 == f { print $2 }' "$hashes"; }

verify() { # verify FILE: against the pinned hash; a mismatch is never kept
	w=$(want_hash "$(basename "$1")")
	[ -n "$w" ] || { err "$(basename "$1"): no pinned sha256 in $hashes"; rm -f "$1"; exit 1; }
	g=$(sha256sum "$1" | cut -d' ' -f1)
	if [ "$g" != "$w" ]; then
		err "$1: checksum mismatch (expected $w, got $g); removed"
		rm -f "$1"
		exit 1
	fi
}

apt_ready=0
apt_setup() { # a private apt configuration for the target arches, in build/cross/tmp
	[ "$apt_ready" = 1 ] && return 0
	uri=$(mirror_uri)
	[ -n "$uri" ] || { err "no Debian archive in this machine's apt sources; put the files of $hashes in $dl by hand"; exit 1; }
	tmp=$out/tmp.$$
	mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/get"
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $SUITE main"
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $SUITE main"
	} >"$tmp/parts/x.list"
	set -- -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/parts" \
		-o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o Dir::State::status=/dev/null \
		-o APT::Sandbox::User=root -o APT::Architectures::=arm64 -o APT::Architectures::=armhf \
		-o APT::Architectures::=mipsel
	APT_OPTS=$*
	# shellcheck disable=SC2086
	apt-get -q $APT_OPTS update >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
	apt_ready=1
}

fetch() { # fetch FILE: into build/cross/dl/, verified (reused when already there)
	f=$1
	if [ -f "$dl/$f" ]; then verify "$dl/$f"; return 0; fi
	apt_setup
	echo "  FETCH   $f"
	case $f in
	*.deb) # name_version_arch.deb
		p=${f%%_*} a=${f##*_} a=${a%.deb}
		# shellcheck disable=SC2086
		(cd "$tmp/get" && apt-get -q $APT_OPTS download "$p:$a=$MUSL_DEB") >>"$tmp/log" 2>&1 ;;
	*.orig.tar.*)
		# shellcheck disable=SC2086
		(cd "$tmp/get" && apt-get -q $APT_OPTS source --download-only "musl=$MUSL_DEB") >>"$tmp/log" 2>&1 ;;
	esac
	[ -f "$tmp/get/$f" ] || { tail -5 "$tmp/log" >&2; err "$f: could not be downloaded; put it in $dl"; exit 1; }
	mkdir -p "$dl"
	cp "$tmp/get/$f" "$dl/.$f.part"
	w=$(want_hash "$f") g=$(sha256sum "$tmp/get/$f" | cut -d' ' -f1)
	[ "$g" = "$w" ] || { rm -f "$dl/.$f.part"; err "$f (downloaded): checksum mismatch (expected $w, got $g); not kept"; exit 1; }
	mv "$dl/.$f.part" "$dl/$f"
}

specs() { # specs SYSROOT LDSO: musl's gcc specs (musl's tools/musl-gcc.specs.sh), into SYSROOT
	inc=$1/usr/include lib=$1/usr/lib
	cat <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $inc -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $inc -isystem include%s

*link_libgcc:
-L$lib -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{!shared: $lib/Scrt1.o} $lib/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $lib/crtn.o

*link:
-dynamic-linker /lib/$2 -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}

*esp_link:


*esp_options:


*esp_cpp_options:


EOF
}

for A in $arches; do
	# shellcheck disable=SC2046
	set -- $(info "$A")
	mt=$1 gt=$2 da=$3 how=$4 ldso=$5
	sys=$out/$mt
	command -v "$gt-gcc" >/dev/null || { err "$A: $gt-gcc not found (scripts/setup.sh --cross installs it)"; exit 1; }
	if [ -f "$sys/.done" ] && [ "$(cat "$sys/.done")" = "$MUSL_DEB $(sha256sum "$hashes" | cut -c1-16)" ]; then
		echo "  OK      $mt (build/cross/$mt)"
	else
		rm -rf "$sys" "$sys.tmp"
		mkdir -p "$sys.tmp/usr/include" "$sys.tmp/usr/lib"
		if [ "$how" = deb ]; then
			for p in musl-dev musl; do
				fetch "${p}_${MUSL_DEB}_$da.deb"
				dpkg -x "$dl/${p}_${MUSL_DEB}_$da.deb" "$sys.tmp/x"
			done
			cp -a "$sys.tmp/x/usr/include/$mt/." "$sys.tmp/usr/include/"
			cp -a "$sys.tmp/x/usr/lib/$mt/." "$sys.tmp/usr/lib/"
			rm -f "$sys.tmp/usr/lib/libc.so" "$sys.tmp/usr/lib/musl-gcc.specs"
			cp "$sys.tmp/x/lib/$mt/libc.so" "$sys.tmp/usr/lib/libc.so"
			rm -rf "$sys.tmp/x"
		else
			fetch "musl_$MUSL_VER.orig.tar.gz"
			echo "  MUSL    $mt (from Debian's musl $MUSL_DEB source)"
			mkdir -p "$sys.tmp/src"
			tar -xzf "$dl/musl_$MUSL_VER.orig.tar.gz" -C "$sys.tmp/src" --strip-components=1
			(cd "$sys.tmp/src" && ./configure --target="$gt" CC="$gt-gcc" CROSS_COMPILE="$gt-" \
				--prefix=/usr --syslibdir=/lib --disable-wrapper &&
				make -j"$(nproc)" && make install DESTDIR="$sys.tmp/inst") >"$sys.tmp/musl.log" 2>&1 ||
				{ tail -20 "$sys.tmp/musl.log" >&2; err "$A: building musl failed"; exit 1; }
			cp -a "$sys.tmp/inst/usr/include/." "$sys.tmp/usr/include/"
			cp -a "$sys.tmp/inst/usr/lib/." "$sys.tmp/usr/lib/"  # libc.so included
			rm -rf "$sys.tmp/src" "$sys.tmp/inst"
		fi
		# the kernel's UAPI headers, from Debian's linux-libc-dev-<arch>-cross
		for d in linux asm asm-generic mtd rdma sound video xen; do
			if [ -d "/usr/$gt/include/$d" ]; then cp -aL "/usr/$gt/include/$d" "$sys.tmp/usr/include/"; fi
		done
		[ -f "$sys.tmp/usr/include/linux/version.h" ] || { err "$A: no /usr/$gt/include/linux (linux-libc-dev-*-cross)"; exit 1; }
		mkdir -p "$sys.tmp/lib"
		ln -s ../usr/lib/libc.so "$sys.tmp/lib/$ldso"
		mv "$sys.tmp" "$sys"
		echo "$MUSL_DEB $(sha256sum "$hashes" | cut -c1-16)" >"$sys/.done"
		echo "  SYSROOT $mt (build/cross/$mt)"
	fi
	# the specs and the wrapper hold the sysroot's absolute path: after moving the clone,
	# run this again (it only rewrites them)
	mkdir -p "$out/bin"
	specs "$sys" "$ldso" >"$sys/musl-gcc.specs"
	# written beside and renamed: a running build may be executing the old one
	cat >"$out/bin/.$mt-gcc.new" <<EOF
#!/bin/sh
# $mt-gcc: Debian's $gt-gcc on the musl sysroot build/cross/$mt (scripts/cross-toolchains.sh)
# -v alone: how gcc was configured; its --with-sysroot=/ is not where this one looks
if [ "\$*" = -v ]; then $gt-gcc -v 2>&1 | sed "s| --with-sysroot=/ | --with-sysroot=$sys |" >&2; exit 0; fi
# -B: files (libc.a, crt*.o) are looked up in the sysroot first, not in the glibc
# cross directory Debian's gcc was configured with (Buildroot asks for libc.a's path)
exec $gt-gcc --sysroot="$sys" -B"$sys/usr/lib/" -specs "$sys/musl-gcc.specs" "\$@"
EOF
	chmod 0755 "$out/bin/.$mt-gcc.new" && mv -f "$out/bin/.$mt-gcc.new" "$out/bin/$mt-gcc"
	# gcc-ar, gcc-nm, gcc-ranlib: what Buildroot calls its target AR, NM and RANLIB
	for t in ar as ld nm objcopy objdump ranlib readelf strip gcc-ar gcc-nm gcc-ranlib; do ln -sf "$(command -v "$gt-$t")" "$out/bin/$mt-$t"; done
	"$out/bin/$mt-gcc" -print-prog-name=ld >/dev/null
done

if [ "$binfmt" = 1 ]; then
	# qemu-user-static's binfmt_misc entries (flags P and F: preserve argv[0]; the
	# interpreter is opened now, so it also works inside other mount namespaces)
	reg=/proc/sys/fs/binfmt_misc
	[ -w "$reg/register" ] || mount -t binfmt_misc binfmt_misc "$reg" 2>/dev/null || true
	[ -w "$reg/register" ] || { err "binfmt_misc: cannot mount $reg (not root?)"; exit 1; }
	for A in $arches; do
		# shellcheck disable=SC2046
		set -- $(info "$A")
		q=$6 f=/usr/share/binfmts/qemu-$6
		[ -f "$f" ] || { err "$A: $f missing (install qemu-user-static)"; exit 1; }
		[ -e "$reg/qemu-$q" ] && { echo "  BINFMT  qemu-$q (registered)"; continue; }
		v() { sed -n "s/^$1 //p" "$f"; }
		flags=$( [ "$(v preserve)" = yes ] && printf P; [ "$(v fix_binary)" = yes ] && printf F; [ "$(v credentials)" = yes ] && printf C; true)
		printf ':qemu-%s:M:%s:%s:%s:%s:%s' "$q" "$(v offset)" "$(v magic)" "$(v mask)" "$(v interpreter)" "$flags" >"$reg/register"
		echo "  BINFMT  qemu-$q -> $(v interpreter)"
	done
fi
exit 0
