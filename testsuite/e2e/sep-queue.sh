# sep-queue: a service at its connection limit is waited for, however long its queue.
# An export-pipe with -c 1 -b 1 whose command takes 2 s serves 6 concurrent channels
# (one SEP session, through an import proxy) one by one, in about 12 s: the last one
# waits 6 s for a place in the backlog, longer than the 5 s a stuck service gets. Every
# channel gets the service's answer; none is refused because others were ahead of it.
# (Before, each waiting CONNECT was refused 5 s after it arrived: on a slow target that
# lost channels to a busy but working service, sep-many under qemu and ASan.)
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-queue

spawn "${EXP_ENV[@]}" "$DIPUS" export-pipe -c 1 -b 1 'sleep 2; echo ok' slow/test
wait_for 10 sh -c "find '$EXP_ROOT/exported/test' -name 'slow.*' -type s 2>/dev/null | grep -q ." ||
	{ fail sep-queue/setup "the slow service did not appear"; exit 1; }
exporter_start || { fail sep-queue/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
import_start "sep://127.0.0.1:$PORT"
wait_for 10 have_proxy slow || { fail sep-queue/setup "no proxy: $(tail -n 5 "$IMP_LOG")"; exit 1; }
P=$(proxy slow)

N=6
mkdir -p "$T/q"
start=$(date +%s)
pids=""
for i in $(seq 1 $N); do
	( in_cli timeout 60 "$DIPUS" dcat "$P" </dev/null >"$T/q/out.$i" 2>"$T/q/err.$i"
	  echo $? >"$T/q/rc.$i" ) &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
took=$(( $(date +%s) - start ))
ok=0
for i in $(seq 1 $N); do
	if [ "$(cat "$T/q/rc.$i")" = 0 ] && [ "$(cat "$T/q/out.$i")" = ok ]; then ok=$((ok + 1))
	else echo "channel $i: rc $(cat "$T/q/rc.$i"): $(cat "$T/q/err.$i")" >&2; fi
done
[ "$ok" = "$N" ] || tail -n 20 "$EXP_LOG" >&2
echo "# $N channels through a -c 1 service in ${took}s" >&2
expect_eq sep-queue/every-queued-channel-served "$N" "$ok"
# the queue really was longer than a stuck service's 5 s (else the test proves nothing)
[ "$took" -ge 6 ] && pass sep-queue/queue-outlasted-5s || fail sep-queue/queue-outlasted-5s "took ${took}s"
run sh -c "echo after | timeout 10 env DIPUS_HOST=cli DIPUS_ROOT='$CLI_ROOT' DIPUS_CONF='$CLI_CONF' '$DIPUS' dcat '$P'"
expect_eq sep-queue/served-after ok "$(cat "$OUT")"
exit 0
