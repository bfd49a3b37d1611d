# dipusd-expire: a discovery record that expires (its host stops answering, no goodbye,
# its TTL runs out) leaves a live SEP session and its proxies alone; they go only when
# the session itself is lost. Two hosts on a bridge (network namespaces): a runs dipusd
# exporting one service without advertising, and a python-zeroconf advertiser for a
# with a 3 s TTL (the stand-in whose records are cut off by SIGKILL); b runs dipusd with
# discovery and imports a (paired first).
# Root only; namespaces have unique names and are deleted on exit, also on failure.
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root dipusd-expire || exit 0
need_cmd dipusd-expire ip || exit 0
need_mdns_platform dipusd-expire || exit 0   # its dipusds discover (qemu: lib.sh)
for a in dipusd pair dls dcat discoverer; do
	"$DIPUS" --list | grep -qx "$a" || { skip dipusd-expire "binary has no $a"; exit 0; }
done
PYZ=
for py in python3 /usr/bin/python3; do
	"$py" -c 'import zeroconf' 2>/dev/null && { PYZ=$py; break; }
done
[ -n "$PYZ" ] || { fail dipusd-expire/setup "needs python3-zeroconf"; exit 1; }

S=dpx$$
. "$TOP/testsuite/e2e/dipusd-lib.inc"
dipusd_lan dipusd-expire 10.233.52 a b

for h in a b; do on "$h" "$DIPUS" keygen >/dev/null 2>&1; done
FP_a=$(on a "$DIPUS" keygen -y)
on a "$DIPUS" pair -y -t 20 >"$T/pair.a" 2>&1 &
pa=$!
on b "$DIPUS" pair -y -t 20 "$ADDR_a" >"$T/pair.b" 2>&1
rb=$?
wait $pa; ra=$?
[ "$ra" = 0 ] && [ "$rb" = 0 ] || { fail dipusd-expire/paired "rc $ra/$rb: $(cat "$T/pair.a" "$T/pair.b")"; exit 1; }

# a: exports, does not advertise (the stand-in below does, with a short TTL)
printf 'advertise off\ndiscover off\nservice export up tr a-z A-Z\n' >"$T/a/conf/dipusd.conf"
chmod 600 "$T/a/conf/dipusd.conf"
dstart a || { fail dipusd-expire/start-a "$(tail -5 "$T/a.log")"; exit 1; }
printf 'advertise off\n' >"$T/b/conf/dipusd.conf"
chmod 600 "$T/b/conf/dipusd.conf"
dstart b || { fail dipusd-expire/start-b "$(tail -5 "$T/b.log")"; exit 1; }

cat >"$T/adv.py" <<'EOF'
import socket, sys, time
from zeroconf import Zeroconf, ServiceInfo, IPVersion
fp, addr = sys.argv[1], sys.argv[2]
zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
info = ServiceInfo("_dipus._tcp.local.", "a-stand-in._dipus._tcp.local.",
                   addresses=[socket.inet_aton(addr)], port=7150,
                   properties={"txtvers": "1", "fp": fp, "sep": "1-2"}, server="a-stand-in.local.",
                   host_ttl=3, other_ttl=3)
zc.register_service(info)
print("registered", flush=True)
time.sleep(100)
EOF
spawn ip netns exec "${S}a" "$PYZ" "$T/adv.py" "$FP_a" "$ADDR_a"
ADV=$SPAWNED
wait_for 20 svc_in_dls b up.a && pass dipusd-expire/imported ||
	{ fail dipusd-expire/imported "$(tail -5 "$T/b.log")"; exit 1; }

# the advertiser dies without a goodbye: its records expire on b (3 s TTL)
kill -KILL "$ADV"
wait_for 20 grep -q 'a-stand-in.*its records are gone.*its session lives' "$T/b.log" &&
	pass dipusd-expire/record-expired || fail dipusd-expire/record-expired "$(tail -5 "$T/b.log")"
# the session and its proxies stay: now, and after the next discovery check (5 s)
run on b sh -c "echo hello | '$DIPUS' dcat up.a"
expect_eq dipusd-expire/proxy-works-after-expiry HELLO "$(cat "$OUT")"
sleep 6
svc_in_dls b up.a && pass dipusd-expire/proxy-kept || fail dipusd-expire/proxy-kept "up.a gone from b: $(tail -5 "$T/b.log")"
grep -q 'session lost' "$T/b.log" && fail dipusd-expire/session-kept "$(grep 'session lost' "$T/b.log")" ||
	pass dipusd-expire/session-kept
# the session lost (a killed): the proxies go
kill -KILL "$PID_a"
wait_for 20 no_svc_in_dls b up.a && pass dipusd-expire/gone-with-session || fail dipusd-expire/gone-with-session "up.a still in b's dls"
kill -TERM "$PID_b"
wait "$PID_b" 2>/dev/null
expect_eq dipusd-expire/stop-b 0 "$?"
exit 0
