#!/bin/sh
# genconfig.sh CONFIG OUT [SYM=y|SYM=]...: turn a Kconfig-style .config into a C header.
#   CONFIG_X=y          -> #define CONFIG_X 1 / #define ENABLE_X 1
#   # CONFIG_X is not set -> #define ENABLE_X 0
#   CONFIG_X="value"    -> #define CONFIG_X "value"
#   SYM=y / SYM=        -> the same for a feature the applets select (Makefile,
#                          gen-applets.sh's SELECTED), whatever the .config says of it
# The header is rewritten only when it changes, so make does not rebuild for nothing.
set -eu
in=$1 out=$2
shift 2
# the selected features' own lines in the .config, if any, give way to the arguments
drop='^$'
[ $# -eq 0 ] || drop="_($(printf '%s\n' "$@" | sed 's/=.*//' | paste -sd'|' -))( |\$)"
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT INT TERM
{
	echo "/* generated from $in by scripts/genconfig.sh: do not edit */"
	echo "#ifndef DIPUS_AUTOCONF_H"
	echo "#define DIPUS_AUTOCONF_H"
	sed -n \
	    -e 's/^CONFIG_\([A-Za-z0-9_]*\)=y$/#define CONFIG_\1 1\n#define ENABLE_\1 1/p' \
	    -e 's/^# CONFIG_\([A-Za-z0-9_]*\) is not set$/#define ENABLE_\1 0/p' \
	    -e 's/^CONFIG_\([A-Za-z0-9_]*\)=\(".*"\)$/#define CONFIG_\1 \2/p' \
	    -e 's/^CONFIG_\([A-Za-z0-9_]*\)=\([0-9][0-9]*\)$/#define CONFIG_\1 \2/p' "$in" |
	    grep -Ev "$drop" || :
	for a in "$@"; do
		case $a in
		*=y) echo "#define CONFIG_${a%=y} 1"; echo "#define ENABLE_${a%=y} 1" ;;
		*) echo "#define ENABLE_${a%=*} 0" ;;
		esac
	done
	echo "#endif"
} >"$tmp"
if cmp -s "$tmp" "$out" 2>/dev/null; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
