# dipusd-readme: the README's "Two machines with dipusd", run as root exactly as written:
# two hosts (network, mount and UTS namespaces: each its own /etc with /etc/dipus, its
# own /tmp and host name, names in /etc/hosts), nothing set up but the installed
# links on PATH; dcat through the discovered import makes an MP3 with lame.
# Root only; everything is torn down on exit.
# timeout: 180
. "$TOP/testsuite/lib.sh"
need_root dipusd-readme || exit 0
for c in ip unshare nsenter lame python3; do need_cmd dipusd-readme "$c" || exit 0; done
need_mdns_platform dipusd-readme || exit 0   # its dipusds discover (qemu: lib.sh)
"$DIPUS" dipusd --help 2>/dev/null | grep -q -- '-d FD' || { skip dipusd-readme "dipusd not implemented"; exit 0; }
"$DIPUS" discoverer --help >/dev/null 2>&1 || { skip dipusd-readme "no discovery in this binary"; exit 0; }
S=dpr$$
# outside /tmp: each host gets a /tmp of its own
W=$(mktemp -d /run/dipus-readme.XXXXXX) || { skip dipusd-readme "cannot write /run"; exit 0; }
HOLD_E= HOLD_L=
down() {
	local f
	for f in "$W"/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
	sleep 0.5
	for f in "$W"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
	[ -n "$HOLD_E" ] && kill "$HOLD_E" 2>/dev/null
	[ -n "$HOLD_L" ] && kill "$HOLD_L" 2>/dev/null
	ip netns del "${S}e" 2>/dev/null; ip netns del "${S}l" 2>/dev/null
	rm -rf "$W"
}
on_exit down
ip netns add "${S}e" && ip netns add "${S}l" || { skip dipusd-readme "cannot create network namespaces"; exit 0; }
ip -n "${S}e" link add eth0 type veth peer name eth0 netns "${S}l"
ip -n "${S}e" addr add 10.233.52.1/24 dev eth0
ip -n "${S}l" addr add 10.233.52.2/24 dev eth0
for n in e l; do ip -n "$S$n" link set lo up; ip -n "$S$n" link set eth0 up multicast on; done
mkdir -p "$W/bin"
cp "$DIPUS" "$W/bin/dipus" && "$W/bin/dipus" --install -s "$W/bin" || { fail dipusd-readme/install "links"; exit 1; }
# host HOLDER-VAR NS NAME: a process holding the host's mount and UTS namespaces
host() {
	local ns=$1 name=$2
	cp -a /etc "$W/etc-$name" 2>/dev/null
	rm -rf "$W/etc-$name/dipus"
	printf '10.233.52.1 encode\n10.233.52.2 laptop\n' >>"$W/etc-$name/hosts"
	ip netns exec "$ns" unshare -m -u --propagation private sh -c "
		mount --bind '$W/etc-$name' /etc && mount -t tmpfs tmpfs /tmp && hostname $name &&
		exec sleep 1000" &
	HOLDER=$!
}
host "${S}e" encode; HOLD_E=$HOLDER
host "${S}l" laptop; HOLD_L=$HOLDER
# as HOLDER CMD: run a shell command line on that host, as a root login would
as() {
	local h=$1; shift
	nsenter -t "$h" -m -u -n env -u DIPUS_ROOT -u DIPUS_CONF -u DIPUS_HOST -u TMPDIR \
		PATH="$W/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/root sh -c "$*"
}
wait_for 10 sh -c "nsenter -t $HOLD_E -u hostname | grep -qx encode && nsenter -t $HOLD_L -u hostname | grep -qx laptop" ||
	{ fail dipusd-readme/hosts "namespaces not ready"; exit 1; }

# encode# dipusd &      laptop# dipusd &
as "$HOLD_E" "dipusd >'$W/encode.log' 2>&1 & echo \$! >'$W/encode.pid'"
as "$HOLD_L" "dipusd >'$W/laptop.log' 2>&1 & echo \$! >'$W/laptop.pid'"
wait_for 20 grep -q started "$W/encode.log" && wait_for 20 grep -q started "$W/laptop.log" &&
	pass dipusd-readme/dipusd || { fail dipusd-readme/dipusd "$(cat "$W/encode.log" "$W/laptop.log")"; exit 1; }
# encode# dipus pair      laptop# dipus pair encode     (y on both)
as "$HOLD_E" "sleep 2; echo y" | as "$HOLD_E" "dipus pair" >"$W/pair.e" 2>&1 &
pe=$!
as "$HOLD_L" "sleep 2; echo y" | as "$HOLD_L" "dipus pair encode" >"$W/pair.l" 2>&1
rl=$?
wait $pe; re=$?
[ "$re" = 0 ] && [ "$rl" = 0 ] && pass dipusd-readme/pair || fail dipusd-readme/pair "$re/$rl: $(tail -2 "$W/pair.e" "$W/pair.l")"
# encode# dipus-export-pipe 'lame - -' lame/audio/x-wav/to/audio/mpeg &
as "$HOLD_E" "dipus-export-pipe 'lame - -' lame/audio/x-wav/to/audio/mpeg >'$W/lame.log' 2>&1 & echo \$! >'$W/lame.pid'"
# laptop# dls        (lame.encode is there)
if wait_for 30 as "$HOLD_L" "dls -1 | grep -qx lame.encode"; then pass dipusd-readme/dls
else fail dipusd-readme/dls "$(as "$HOLD_L" dls 2>&1 | head -3); $(tail -3 "$W/laptop.log") $(cat "$W/lame.log")"; exit 1; fi
# laptop# dcat lame.encode foo.wav > foo.mp3
python3 - "$W/foo.wav" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(b"".join(struct.pack("<hh", int(8000 * math.sin(i / 20)), 0) for i in range(44100)))
w.close()
EOF
as "$HOLD_L" "cd '$W' && dcat lame.encode foo.wav > foo.mp3"
size=$(wc -c <"$W/foo.mp3" 2>/dev/null || echo 0)
head -c 3 "$W/foo.mp3" | od -An -tx1 | grep -Eq '49 44 33|ff f[a-f b]' && [ "$size" -gt 1000 ] &&
	pass dipusd-readme/dcat-mp3 || fail dipusd-readme/dcat-mp3 "foo.mp3: $size bytes"
exit 0
