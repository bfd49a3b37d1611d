#!/bin/sh
# demo.sh [DIPUS]: the local main job on a private namespace: publish a command as a
# service, find it, pipe data through it, and clean up (also on Ctrl-C).
set -eu
DIPUS=${1:-./dipus}
DIPUS=$(cd "$(dirname "$DIPUS")" && pwd)/$(basename "$DIPUS")
dir=$(mktemp -d "${TMPDIR:-/tmp}/dipus-demo.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export DIPUS_ROOT="$dir/root" DIPUS_HOST=demo

echo "\$ dipus-local-pipe 'tr a-z A-Z' upper/text/to/text &"
"$DIPUS" local-pipe -1 'tr a-z A-Z' upper/text/to/text >"$dir/ready" &
pid=$!
i=0
while [ ! -s "$dir/ready" ]; do
	i=$((i + 1)); [ $i -lt 250 ] || { echo "demo: the service did not come up" >&2; exit 1; }
	sleep 0.02
done
echo "\$ dls"
"$DIPUS" dls
echo "\$ echo 'hello, dipus' | dcat upper"
echo 'hello, dipus' | "$DIPUS" dcat upper
echo "\$ dcat text/to/text /etc/hostname   # by proto"
"$DIPUS" dcat text/to/text /etc/hostname
