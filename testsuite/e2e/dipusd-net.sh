# dipusd-net: dipusd on three hosts (network namespaces a, b, c on one bridge, each its
# own root, config dir and host name, all as root, no mkroot) plus a fourth host d on
# a separate link from a only (no multicast between them):
#  - dipus pair makes two fresh hosts trust each other (a-b, a-c; one side answering
#    on stdin), and a "no" changes nothing;
#  - an exported service on a appears on dls on b and c, and goes with a's clean stop;
#  - dls -w on b shows a's services come and go;
#  - b and c, not paired, do not import each other (an untrusted key);
#  - a SIGKILLed dipusd's services go from the others when the session is lost;
#  - a record naming a trusted key whose exporter shows another key is refused;
#  - an explicit import line to d (not on the LAN) works; SIGHUP adds and removes an
#    import and a service without dropping the other sessions.
# Root only; namespaces have unique names and are deleted on exit, also on failure.
# timeout: 240
. "$TOP/testsuite/lib.sh"
need_root dipusd-net || exit 0
need_cmd dipusd-net ip || exit 0
need_mdns_platform dipusd-net || exit 0   # its dipusds discover (qemu: lib.sh)
for a in dipusd pair export-pipe dls; do
	"$DIPUS" --list | grep -qx "$a" || { skip dipusd-net "binary has no $a"; exit 0; }
done
"$DIPUS" dipusd --help 2>/dev/null | grep -q -- '-d FD' || { skip dipusd-net "dipusd not implemented"; exit 0; }
# discovery needs the mDNS layer (dipus discoverer): without it only the explicit parts
DISC=1
"$DIPUS" discoverer --help >/dev/null 2>&1 || DISC=0

S=dpd$$
. "$TOP/testsuite/e2e/dipusd-lib.inc"
LAN_HOSTS=d   # d is off the LAN (below): deleted on exit with the others
dipusd_lan dipusd-net 10.233.50 a b c
ip netns add "${S}d"
ip -n "${S}a" link add far0 type veth peer name far0 netns "${S}d"
ip -n "${S}a" addr add 10.233.51.1/24 dev far0
ip -n "${S}d" addr add 10.233.51.2/24 dev far0
ip -n "${S}a" link set far0 up multicast off
ip -n "${S}d" link set far0 up multicast off
ip -n "${S}d" link set lo up
ADDR_d=10.233.51.2

# d: far away, nothing but an explicit import reaches it; a and d know each other
cat >"$T/d.conf" <<EOF
advertise off
discover off
service export far/text cat
EOF
mkdir -p "$T/d/conf" && chmod 700 "$T/d/conf" && cp "$T/d.conf" "$T/d/conf/dipusd.conf"

# ---- a fresh host (no key, no root, no config) starts as root with nothing typed ----
for h in a b c d; do
	dstart "$h" || { fail dipusd-net/start-$h "not ready: $(tail -5 "$T/$h.log")"; exit 1; }
done
pass dipusd-net/start
[ -s "$T/a/conf/key.pem" ] && pass dipusd-net/key-made || fail dipusd-net/key-made "no key.pem"
FP_a=$(on a "$DIPUS" keygen -y) FP_b=$(on b "$DIPUS" keygen -y) FP_c=$(on c "$DIPUS" keygen -y)
FP_d=$(on d "$DIPUS" keygen -y)

# ---- pairing ----
# "no" on one side: nothing written on either
on a "$DIPUS" pair -t 20 </dev/null >"$T/pair-no.a" 2>&1 &
pa=$!
echo n | on b "$DIPUS" pair -t 20 "$ADDR_a" >"$T/pair-no.b" 2>&1
rb=$?
wait $pa; ra=$?
[ "$ra" = 1 ] && [ "$rb" = 1 ] && ! grep -qs "$FP_b" "$T/a/conf/known_hosts" "$T/a/conf/authorized_keys" &&
	! grep -qs "$FP_a" "$T/b/conf/known_hosts" "$T/b/conf/authorized_keys" &&
	pass dipusd-net/pair-no-changes-nothing || fail dipusd-net/pair-no-changes-nothing "rc $ra/$rb: $(cat "$T/pair-no.a" "$T/pair-no.b")"
# a-b: a waits (answers on stdin), b joins with -y; both show the same code
on a sh -c "sleep 1; echo y" | on a "$DIPUS" pair -t 20 >"$T/pair.a" 2>&1 &
pa=$!
on b "$DIPUS" pair -y -t 20 "$ADDR_a" >"$T/pair.b" 2>&1
rb=$?
wait $pa; ra=$?
code_a=$(sed -n 's/^ *code: //p' "$T/pair.a") code_b=$(sed -n 's/^ *code: //p' "$T/pair.b")
[ "$ra" = 0 ] && [ "$rb" = 0 ] && [ -n "$code_a" ] && [ "$code_a" = "$code_b" ] &&
	pass dipusd-net/pair-same-code || fail dipusd-net/pair-same-code "rc $ra/$rb codes '$code_a' '$code_b': $(tail -3 "$T/pair.a" "$T/pair.b")"
grep -q "$FP_b" "$T/a/conf/known_hosts" && grep -q "$FP_b" "$T/a/conf/authorized_keys" &&
	grep -q "$FP_a" "$T/b/conf/known_hosts" && grep -q "$FP_a" "$T/b/conf/authorized_keys" &&
	pass dipusd-net/pair-both-ways || fail dipusd-net/pair-both-ways "keys not written both ways"
# a-c the same way; b and c are never paired
on a "$DIPUS" pair -y -t 20 >"$T/pair2.a" 2>&1 &
pa=$!
on c "$DIPUS" pair -y -t 20 "$ADDR_a" >"$T/pair2.c" 2>&1
wait $pa
# a-d: d is not on the LAN; explicit import both ways of trust (a imports d)
on d "$DIPUS" pair -y -t 20 >"$T/pair3.d" 2>&1 &
pd=$!
on a "$DIPUS" pair -y -t 20 "$ADDR_d" >"$T/pair3.a" 2>&1
wait $pd
grep -q "$FP_d" "$T/a/conf/known_hosts" && pass dipusd-net/pair-far || fail dipusd-net/pair-far "$(cat "$T/pair3.a")"

# ---- a service on a appears on b and c ----
spawn_on a "$DIPUS" export-pipe 'tr a-z A-Z' upper/text
SVC_PID=$SPAWNED
if [ "$DISC" = 1 ]; then
	t0=$(now)
	if wait_for 15 svc_in_dls b upper.a; then
		pass dipusd-net/discovered-on-b; echo "dipusd-net: upper.a in b's dls after $(since "$t0") ms" >&2
	else fail dipusd-net/discovered-on-b "$(on b "$DIPUS" dls 2>&1 | head -5); b log: $(tail -5 "$T/b.log")"; fi
	wait_for 15 svc_in_dls c upper.a && pass dipusd-net/discovered-on-c || fail dipusd-net/discovered-on-c "$(tail -5 "$T/c.log")"
	run on b sh -c "echo hi | '$DIPUS' dcat upper.a"
	expect_eq dipusd-net/dcat-across HI "$(cat "$OUT")"
	# b and c never paired: neither imports the other
	spawn_on c "$DIPUS" export-pipe cat secret/text
	sleep 2
	no_svc_in_dls b secret.c && pass dipusd-net/untrusted-not-imported || fail dipusd-net/untrusted-not-imported "b imported c"
	grep -q "key $FP_c is not trusted here" "$T/b.log" && pass dipusd-net/untrusted-logged ||
		fail dipusd-net/untrusted-logged "$(grep -i trust "$T/b.log" | tail -3)"
	wait_for 15 svc_in_dls a secret.c && pass dipusd-net/trusted-imported-by-a || fail dipusd-net/trusted-imported-by-a "a did not import c"
else
	skip dipusd-net/discovery "this binary has no mDNS layer (dipus discoverer)"
fi

# ---- explicit import line to d, then SIGHUP adds and removes ----
cat >"$T/a/conf/dipusd.conf" <<EOF
import sep://$ADDR_d/text
service local keep cat
EOF
chmod 600 "$T/a/conf/dipusd.conf"
kill -HUP "$PID_a"
wait_for 15 svc_in_dls a far.d && pass dipusd-net/hup-import-added || fail dipusd-net/hup-import-added "$(tail -5 "$T/a.log")"
keep_ino=$(stat -c %i "$(find "$T/a/root/local" -name 'keep.*' -type s | head -n 1)" 2>/dev/null)
printf 'service local keep cat\nservice local added cat\n' >"$T/a/conf/dipusd.conf"
kill -HUP "$PID_a"
wait_for 10 no_svc_in_dls a far.d && pass dipusd-net/hup-import-removed || fail dipusd-net/hup-import-removed "far.d still in a's dls"
wait_for 10 svc_in_dls a added.a && pass dipusd-net/hup-service-added || fail dipusd-net/hup-service-added "no added.a"
expect_eq dipusd-net/hup-service-kept "$keep_ino" "$(stat -c %i "$(find "$T/a/root/local" -name 'keep.*' -type s | head -n 1)" 2>/dev/null)"
if [ "$DISC" = 1 ]; then
	# the discovered sessions were not dropped: b still has a's service, same session
	svc_in_dls b upper.a && grep -c 'session lost' "$T/b.log" >"$T/lost.b"
	[ "$(cat "$T/lost.b" 2>/dev/null || echo 0)" = 0 ] && pass dipusd-net/hup-sessions-kept ||
		fail dipusd-net/hup-sessions-kept "$(grep 'session lost' "$T/b.log")"
fi

if [ "$DISC" = 1 ]; then
	# ---- dls -w on b sees a's services come and go ----
	spawn_on b bash -c 'exec "$0" dls -1 -w >"$1" 2>&1' "$DIPUS" "$T/watch.b"
	W_PID=$SPAWNED
	sleep 1
	spawn_on a "$DIPUS" export-pipe cat comego/text
	CG_PID=$SPAWNED
	wait_for 15 grep -qx -e '+ comego.a' "$T/watch.b" && pass dipusd-net/watch-appears || fail dipusd-net/watch-appears "$(cat "$T/watch.b")"
	kill -TERM "$CG_PID"
	wait_for 15 grep -qx -e '- comego.a' "$T/watch.b" && pass dipusd-net/watch-vanishes || fail dipusd-net/watch-vanishes "$(tr '\n' ' ' <"$T/watch.b"); a: $(on a "$DIPUS" dls -1 | tr '\n' ' ')"
	kill "$W_PID" 2>/dev/null

	# ---- a's clean stop: its services leave b and c ----
	t0=$(now)
	kill -TERM "$PID_a"
	if wait_for 15 no_svc_in_dls b upper.a; then
		pass dipusd-net/clean-stop-removed; echo "dipusd-net: upper.a gone from b's dls $(since "$t0") ms after SIGTERM" >&2
	else fail dipusd-net/clean-stop-removed "still in b's dls"; fi
	wait "$PID_a" 2>/dev/null; expect_eq dipusd-net/clean-stop-exit 0 "$?"
	# ---- a record that names a's (trusted) key but an exporter with another key ----
	PYZ=
	for py in python3 /usr/bin/python3; do
		"$py" -c 'import zeroconf' 2>/dev/null && { PYZ=$py; break; }
	done
	if [ -n "$PYZ" ]; then
		ip netns exec "${S}c" timeout 20 "$PYZ" - "$FP_a" "$ADDR_c" >"$T/fake.out" 2>&1 <<'EOF' &
import socket, sys, time
from zeroconf import Zeroconf, ServiceInfo, IPVersion
fp, addr = sys.argv[1], sys.argv[2]
zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
info = ServiceInfo("_dipus._tcp.local.", "impostor._dipus._tcp.local.",
                   addresses=[socket.inet_aton(addr)], port=7150,
                   properties={"txtvers": "1", "fp": fp, "sep": "1-2"}, server="impostor.local.")
zc.register_service(info)
time.sleep(15)
zc.unregister_service(info)
zc.close()
EOF
		FAKE=$!
		# the importer names both keys: the one the exporter showed (c's) and a's
		wait_for 15 sh -c "grep -F 'sep://$ADDR_c:7150' '$T/b.log' | grep -F '$FP_c' | grep -qF '$FP_a'" &&
			pass dipusd-net/wrong-key-refused || fail dipusd-net/wrong-key-refused "$(tail -5 "$T/b.log")"
		no_svc_in_dls b secret.c && pass dipusd-net/wrong-key-not-imported || fail dipusd-net/wrong-key-not-imported "c's services imported"
		kill "$FAKE" 2>/dev/null; wait "$FAKE" 2>/dev/null
	else
		skip dipusd-net/wrong-key "needs python3-zeroconf"
	fi
	# ---- a SIGKILLed dipusd: its services go when the session is lost ----
	dstart a || fail dipusd-net/restart-a "$(tail -3 "$T/a.log")"
	wait_for 15 svc_in_dls b upper.a || fail dipusd-net/reimported "upper.a did not come back to b"
	kill -KILL "$PID_a"
	wait_for 15 no_svc_in_dls b upper.a && pass dipusd-net/sigkill-session-lost || fail dipusd-net/sigkill-session-lost "still in b's dls"
fi
for h in b c d; do
	pid=$(eval echo "\$PID_$h")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$rc" = 0 ] || fail "dipusd-net/stop-$h" "exit $rc"
done
left=$(find "$T/b/root/imported" "$T/c/root/imported" -type s 2>/dev/null)
expect_eq dipusd-net/all-proxies-removed "" "$left"
exit 0
