#!/bin/sh
# cross-smoke.sh BIN: a built binary runs (under qemu-user through binfmt_misc when it is
# for another CPU): dipus --list names applets, and 1 MiB goes through a local-pipe
# service ('cat') with dcat and comes back with the same sha256.
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(mktemp -d "${TMPDIR:-/tmp}/dipus-smoke.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export DIPUS_ROOT="$dir/root" DIPUS_HOST=smoke
n=$("$bin" --list | wc -l)
[ "$n" -gt 0 ] || { echo "FAIL: $1: --list printed no applet"; exit 1; }
"$bin" local-pipe -1 cat echo/bytes >"$dir/ready" &
pid=$!
i=0
while [ ! -s "$dir/ready" ]; do
	i=$((i + 1)); [ $i -lt 500 ] || { echo "FAIL: $1: local-pipe did not come up"; exit 1; }
	sleep 0.02
done
head -c 1048576 /dev/urandom >"$dir/in"
"$bin" dcat echo <"$dir/in" >"$dir/out"
a=$(sha256sum <"$dir/in") b=$(sha256sum <"$dir/out")
[ "$a" = "$b" ] || { echo "FAIL: $1: dcat round trip: $(wc -c <"$dir/out") of 1048576 bytes back, hash differs"; exit 1; }
echo "PASS: $1: --list ($n applets), dcat round trip (1 MiB)"
