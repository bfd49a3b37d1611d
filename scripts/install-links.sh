#!/bin/sh
# install-links.sh CONFIG BINDIR: one symlink to dipus per applet built in, named as
# users type it (PLAIN: dcat, dls, dipusd; PREFIXED: dipus-NAME). Read on the host from
# the //applet: lines of applets/*.c and CONFIG, so a cross-built binary is never run.
set -eu
config=$1 dir=$2
top=$(cd "$(dirname "$0")/.." && pwd)
sed -n 's|^//applet:APPLET([a-z_0-9]*, *"\([^"]*\)", *\([A-Z]*\).*|\1 \2|p' "$top"/applets/*.c |
while read -r name kind; do
	sym=CONFIG_$(echo "$name" | tr 'a-z-' 'A-Z_')
	grep -qx "$sym=y" "$config" || continue
	case $kind in PLAIN) link=$name ;; *) link=dipus-$name ;; esac
	ln -sfn dipus "$dir/$link"
done
