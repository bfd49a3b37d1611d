#!/bin/sh
# genconfig.sh CONFIG OUT: turn a Kconfig-style .config into a C header.
#   CONFIG_X=y          -> #define CONFIG_X 1 / #define ENABLE_X 1
#   # CONFIG_X is not set -> #define ENABLE_X 0
#   CONFIG_X="value"    -> #define CONFIG_X "value"
# The header is rewritten only when it changes, so make does not rebuild for nothing.
set -eu
in=$1 out=$2
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
	    -e 's/^CONFIG_\([A-Za-z0-9_]*\)=\([0-9][0-9]*\)$/#define CONFIG_\1 \2/p' "$in"
	echo "#endif"
} >"$tmp"
if cmp -s "$tmp" "$out" 2>/dev/null; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
