#!/bin/sh
# cross-matrix.sh [-c "CONFIGS"] [-a "ARCHES"] [-l "LIBCS"] [--smoke]: build every
# configuration for every architecture and C library, and print a table of stripped
# sizes (bytes) or FAIL with the first error. A failing build is reported and the
# matrix goes on; the exit status is 1 if any build failed.
#   CONFIGS: defconfig tiny tls-only ssh-only (config/NAME.config or config/defconfig)
#   ARCHES:  aarch64 armhf mipsel mips riscv64 (toolchains: scripts/cross-toolchains.sh)
#   LIBCS:   musl glibc (glibc: Debian's cross gcc, dynamic)
# --smoke runs each static musl binary under qemu (binfmt_misc): dipus --list and a
# local dcat round trip through an export-pipe service.
# Extra make arguments come from $MAKEARGS (e.g. MAKEARGS="-j2 DL_DIR=...").
set -u
cd "$(dirname "$0")/.."
configs="defconfig tiny tls-only ssh-only" arches="aarch64 armhf mipsel mips riscv64" libcs="musl glibc"
smoke=0
while [ $# -gt 0 ]; do
	case $1 in
	-c) configs=$2; shift ;;
	-a) arches=$2; shift ;;
	-l) libcs=$2; shift ;;
	--smoke) smoke=1 ;;
	*) echo "usage: scripts/cross-matrix.sh [-c CONFIGS] [-a ARCHES] [-l LIBCS] [--smoke]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p build/matrix
rc=0
printf '%-8s %-6s' arch libc
for c in $configs; do printf ' %12s' "$c"; done
echo
fails=
for a in $arches; do
	for l in $libcs; do
		printf '%-8s %-6s' "$a" "$l"
		for c in $configs; do
			f=config/$c.config
			[ "$c" = defconfig ] && f=config/defconfig
			log=build/matrix/$a-$l-$c.log
			t0=$(date +%s)
			# shellcheck disable=SC2086
			if make ${MAKEARGS:--j2} CROSS="$a" LIBC="$l" CONFIG="$f" >"$log" 2>&1; then
				bin=$(make -s CROSS="$a" LIBC="$l" CONFIG="$f" outpath)
				sz=$(wc -c <"$bin" 2>/dev/null || echo '?')
				printf ' %12s' "$sz"
				echo "$a $l $c $sz $(($(date +%s) - t0))s $bin" >>build/matrix/sizes
				if [ "$smoke" = 1 ] && [ "$l" = musl ]; then
					if sh scripts/cross-smoke.sh "$bin" >"build/matrix/$a-$l-$c.smoke" 2>&1; then :; else
						rc=1 fails="$fails
$a $l $c: smoke: $(tail -n 1 "build/matrix/$a-$l-$c.smoke")"
					fi
				fi
			else
				rc=1
				printf ' %12s' FAIL
				fails="$fails
$a $l $c: $(grep -m 1 -E 'error|Error' "$log" || tail -n 1 "$log")"
			fi
		done
		echo
	done
done
if [ -n "$fails" ]; then
	echo "failures (logs in build/matrix/):$fails"
fi
exit $rc
