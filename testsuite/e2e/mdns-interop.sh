# mdns-interop: dipus's mDNS against the real programs on a LAN of network namespaces:
# A runs dipus, B avahi-daemon (private D-Bus), C python3-zeroconf and one-shot queries.
# avahi-browse sees an advertising exporter (port, fp) over IPv4 and IPv6 and its goodbye;
# the discoverer sees avahi-publish and zeroconf services; zeroconf sees the exporter; a
# legacy query is answered with TTL <= 10; a name taken by Avahi ends in one rename.
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/mdns-lib.inc"
need_root mdns-interop || exit 0
for c in ip avahi-daemon avahi-browse avahi-publish dbus-daemon unshare; do need_cmd mdns-interop $c || exit 0; done
"$DIPUS" discoverer --help >/dev/null 2>&1 && "$DIPUS" exporter --help 2>/dev/null | grep -q advertise ||
	{ skip mdns-interop "no discoverer or exporter --advertise in this build"; exit 0; }
$PY -c 'import zeroconf' 2>/dev/null || { skip mdns-interop "needs python3-zeroconf"; exit 0; }
# under qemu-user: does the emulator give dipus what its mDNS needs? (lib.sh)
need_mdns_platform mdns-interop || exit 0
mdns_lan mdns-interop
setup_host hosta
mkdir -p "$DIPUS_ROOT/exported"
FP=$("$DIPUS" keygen 2>/dev/null | grep -o 'SHA256:[A-Za-z0-9+/]*' | head -n 1)
[ -n "$FP" ] || { fail mdns-interop/keygen "no fingerprint"; exit 1; }
avahi_start "$NB" hostb || { fail mdns-interop/avahi "avahi-daemon did not come up in $NB"; exit 1; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# an exporter on A, avahi-browse on B
spawn sh -c "exec ip netns exec $NB avahi-browse -rp _dipus._tcp >'$T/browse.out' 2>'$T/browse.err'"
BROWSE=$SPAWNED
start_exporter() {   # NAME: exporter --instance NAME on A, as host "hosta"
	spawn ip netns exec "$NA" unshare -u sh -c 'hostname hosta && exec "$@"' sh \
		"$DIPUS" exporter --listen 0.0.0.0:7150 --instance "$1" -v
	EXP=$SPAWNED
}
t0=$(ms)
start_exporter hosta 2>"$T/exp1.err"
for proto in IPv4 IPv6; do
	if wait_for 20 grep -q "^=;m0;$proto;hosta;_dipus._tcp;local;hosta.local;.*;7150;.*\"fp=$FP\"" "$T/browse.out"; then
		pass "mdns-interop/avahi-browse-$proto"
		echo "avahi-browse $proto resolved after $(( $(ms) - t0 )) ms" >&2
	else fail "mdns-interop/avahi-browse-$proto" "$(head -c 600 "$T/browse.out")"; fi
done
expect_grep mdns-interop/avahi-sep-txt '"sep=[0-9][0-9]*-[0-9][0-9]*"' "$T/browse.out"

# zeroconf on C sees it too; a one-shot query from an ephemeral port is answered (§6.7)
run nsx "$NC" $PY "$ZC" browse 10.233.12.3 4
if grep -qxF "hosta 7150 $FP" "$OUT"; then pass mdns-interop/zeroconf-browse
else fail mdns-interop/zeroconf-browse "$(cat "$OUT" "$ERR" | head -c 400)"; fi
run nsx "$NC" $PY "$ZC" legacy 10.233.12.3 hosta._dipus._tcp.local
if [ "$RC" = 0 ] && grep -q '^16962 33 ' "$OUT" && ! awk '$3 > 10 { bad = 1 } END { exit !bad }' "$OUT"; then
	pass mdns-interop/legacy-unicast-ttl
else fail mdns-interop/legacy-unicast-ttl "rc $RC: $(cat "$OUT" "$ERR" | head -c 400)"; fi

# a clean stop: goodbyes, avahi-browse prints "-"
t0=$(ms)
kill -TERM "$EXP"
if wait_for 20 grep -q "^-;m0;IPv4;hosta;_dipus._tcp;local" "$T/browse.out"; then
	pass mdns-interop/avahi-goodbye
	echo "avahi-browse '-' after $(( $(ms) - t0 )) ms" >&2
else fail mdns-interop/avahi-goodbye "$(tail -c 400 "$T/browse.out")"; fi

# the discoverer on A sees avahi-publish on B and zeroconf on C; pinned fingerprints are trusted
FPB=SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
FPC=SHA256:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC
spawn ip netns exec "$NB" avahi-publish -s avahipub _dipus._tcp 7777 txtvers=1 "fp=$FPB" sep=1-2
spawn ip netns exec "$NC" $PY "$ZC" publish 10.233.12.3 zcpub 7778 "$FPC"
(umask 022; mkdir -p "$DIPUS_CONF"; echo "10.233.12.2:7777 $FPB" >>"$DIPUS_CONF/known_hosts")
found() { nsx "$NA" "$DIPUS" discoverer --json -t 2 >"$T/disc.json" 2>"$T/disc.err"; grep -q "$1" "$T/disc.json"; }
if wait_for 30 found '"instance":"avahipub","host":"hostb.local","port":7777,"iface":"m0","addrs":\[[^]]*"10.233.12.2".*"fp":"'"$FPB"'","trusted":true'; then
	pass mdns-interop/discoverer-sees-avahi
else fail mdns-interop/discoverer-sees-avahi "$(cat "$T/disc.json" "$T/disc.err" | head -c 600)"; fi
if wait_for 30 found '"instance":"zcpub","host":"zchost.local","port":7778,.*"10.233.12.3".*"fp":"'"$FPC"'","trusted":false'; then
	pass mdns-interop/discoverer-sees-zeroconf
else fail mdns-interop/discoverer-sees-zeroconf "$(cat "$T/disc.json" "$T/disc.err" | head -c 600)"; fi
run nsx "$NA" "$DIPUS" discoverer -t 2
expect_grep mdns-interop/discoverer-text "^avahipub	hostb.local	7777	m0	.*10.233.12.2.*	$FPB	trusted\$" "$OUT"

# a name Avahi holds: one rename to "hosta (2)", no loop; discoverer -w on C sees + and -
spawn ip netns exec "$NB" avahi-publish -s hosta _dipus._tcp 7151 txtvers=1
PUB=$SPAWNED
wait_for 10 found '"instance":"hosta","host":"hostb.local","port":7151' || fail mdns-interop/conflict-setup "avahi's hosta not seen"
spawn sh -c "exec ip netns exec $NC '$DIPUS' discoverer -w >'$T/watch.out' 2>'$T/watch.err'"
start_exporter hosta 2>"$T/exp2.err"
wait_for 20 grep -q "advertising as" "$T/exp2.err"
sleep 5   # long enough for a rename loop to show
n=$(grep -c "advertising as" "$T/exp2.err")
if [ "$n" = 1 ] && grep -q "advertising as 'hosta (2)'" "$T/exp2.err" && kill -0 "$PUB" 2>/dev/null &&
   ! grep -qi collision "$T/browse.err" && found '"instance":"hosta (2)","host":"hosta.local","port":7150' &&
   grep -q '"instance":"hosta","host":"hostb.local","port":7151' "$T/disc.json"; then
	pass mdns-interop/conflict-one-rename
else fail mdns-interop/conflict-one-rename "$(cat "$T/exp2.err" "$T/disc.json" | head -c 800)"; fi
if wait_for 10 grep -q "^+ hosta (2)	hosta.local	7150	m0	" "$T/watch.out"; then pass mdns-interop/watch-plus
else fail mdns-interop/watch-plus "$(head -c 400 "$T/watch.out" "$T/watch.err")"; fi
kill -TERM "$EXP"
if wait_for 10 grep -q "^- hosta (2)	" "$T/watch.out"; then pass mdns-interop/watch-minus
else fail mdns-interop/watch-minus "$(tail -c 400 "$T/watch.out")"; fi
exit 0
