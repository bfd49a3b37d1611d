# sep-busy: unauthenticated peers cannot crowd out authorized ones. Twelve idle TCP
# connections from one address, reopened as soon as the exporter closes them, leave
# `dls sep://` from another address working (--max-peers 8: 4 handshakes at once, 2
# per address); a client refused for these bounds is told "the exporter is busy"; the
# log stays short (refusals summed up); a probe that connects and leaves is no
# "protocol error".
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-busy
need_cmd sep-busy python3 || exit 0

service in_exp echo test 'cat' || { fail sep-busy/setup "echo service did not appear"; exit 1; }
PORT=$(free_port)
LOG=$T/busy.log
spawn "${EXP_ENV[@]}" bash -c 'exec "$0" exporter --listen "127.0.0.1:$1" --max-peers 8 --handshake-timeout 5 2>>"$2"' \
	"$DIPUS" "$PORT" "$LOG"
wait_for 10 port_listening "$PORT" || { fail sep-busy/setup "exporter did not start: $(cat "$LOG")"; exit 1; }
in_cli "$DIPUS" trust --yes "sep://127.0.0.1:$PORT" >"$T/trust.out" 2>&1 ||
	{ fail sep-busy/setup "trust: $(cat "$T/trust.out")"; exit 1; }

# hold N idle connections from SRC to the exporter for SECS seconds, reopening each
# one it closes; prints how many connections were opened; READY (optional) is made
# once all N are open
cat >"$T/hold.py" <<'PY'
import select, socket, sys, time
port, src, n, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ready = sys.argv[5] if len(sys.argv) > 5 else None
socks, opened, end = [], 0, time.time() + secs
while time.time() < end:
    while len(socks) < n:
        s = socket.socket()
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            break
        socks.append(s)
        opened += 1
    if ready and len(socks) == n:
        open(ready, "w").close()
        ready = None
    r, _, _ = select.select(socks, [], [], 0.05)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if not d:
            s.close()
            socks.remove(s)
    time.sleep(0.02)
print(opened)
PY
python3 "$T/hold.py" "$PORT" 127.0.0.2 12 14 >"$T/flood.out" 2>&1 &
FLOOD=$!
sleep 1
ok=0
for i in 1 2 3; do
	run timeout 10 "$DIPUS" dls "sep://127.0.0.1:$PORT"
	if [ "$RC" = 0 ] && grep -q echo "$OUT"; then ok=$((ok + 1)); else echo "dls $i: rc $RC: $(cat "$ERR")" >&2; fi
	sleep 0.5
done
expect_eq sep-busy/authorized-peer-gets-in 3 "$ok"
run timeout 10 sh -c "echo hello | '$DIPUS' dcat 'sep://127.0.0.1:$PORT/echo'"
expect_eq sep-busy/transfer-during-flood hello "$(cat "$OUT")"

# two more idle connections from our own address fill its share: we are told why
python3 "$T/hold.py" "$PORT" 127.0.0.1 2 4 "$T/held" >/dev/null 2>&1 &
HOLD=$!
wait_for 10 test -e "$T/held" || echo "holders not ready" >&2
sleep 0.3
run timeout 10 "$DIPUS" dls "sep://127.0.0.1:$PORT"
if [ "$RC" = 5 ] && grep -q 'the exporter is busy' "$ERR" && ! grep -q authorized_keys "$ERR"; then
	pass sep-busy/refused-client-told-busy
else fail sep-busy/refused-client-told-busy "rc $RC: $(cat "$ERR")"; fi
wait "$HOLD" "$FLOOD"
opened=$(cat "$T/flood.out")
if [ "${opened:-0}" -ge 100 ] 2>/dev/null; then pass sep-busy/flood-was-real
else fail sep-busy/flood-was-real "only ${opened:-?} connections opened"; fi
if run timeout 10 "$DIPUS" dls "sep://127.0.0.1:$PORT" && [ "$RC" = 0 ]; then pass sep-busy/free-again
else fail sep-busy/free-again "rc $RC: $(cat "$ERR")"; fi

lines=$(wc -l <"$LOG")
echo "exporter log: $lines lines for $opened refused or dropped connections" >&2
if [ "$lines" -le 40 ]; then pass sep-busy/log-bounded
else fail sep-busy/log-bounded "$lines lines: $(sort "$LOG" | uniq -c | sort -rn | head -n 5)"; fi
expect_grep sep-busy/refusals-summed-up 'more connections refused' "$LOG"
if grep -q 'before HELLO' "$LOG"; then fail sep-busy/probe-not-an-error "$(grep 'before HELLO' "$LOG" | head -n 2)"
else pass sep-busy/probe-not-an-error; fi
exit 0
