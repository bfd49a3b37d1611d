# sep-cut: a transfer cut short by a lost session is an error, not a success: the
# exporter killed during a 50 MB `dcat sep://` to a slow reader gives exit 5 and says
# why; a transfer that ends normally still exits 0 with every byte (sha256 equal).
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-cut

gen 50000000 >"$T/big"
chmod 644 "$T/big"
service in_exp zbig test "cat '$T/big'" || { fail sep-cut/setup "zbig service did not appear"; exit 1; }
exporter_start || { fail sep-cut/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
U=sep://127.0.0.1:$PORT

run timeout 60 "$DIPUS" dcat "$U/zbig" </dev/null
if [ "$RC" = 0 ] && [ "$(sha "$OUT")" = "$(sha "$T/big")" ]; then pass sep-cut/whole-transfer-exits-0
else fail sep-cut/whole-transfer-exits-0 "rc $RC, $(wc -c <"$OUT") bytes: $(cat "$ERR")"; fi

# the reader takes nothing for 6 s; the exporter dies once the service is sending
( timeout 60 "$DIPUS" dcat "$U/zbig" </dev/null 2>"$T/cut.err"; echo $? >"$T/cut.rc" ) |
	{ sleep 6; cat >"$T/cut.out"; } &
PIPE=$!
wait_for 20 pgrep -f "cat '$T/big'" >/dev/null || echo "the service never started" >&2
sleep 0.5
kill -KILL "$(applet_pid "$EXP_PID" exporter)"
wait "$PIPE"
got=$(wc -c <"$T/cut.out")
rc=$(cat "$T/cut.rc")
echo "cut after $got bytes, rc $rc: $(cat "$T/cut.err")" >&2
if [ "$got" -lt 50000000 ] && [ "$rc" = 5 ]; then pass sep-cut/cut-transfer-exits-5
else fail sep-cut/cut-transfer-exits-5 "rc $rc after $got bytes"; fi
expect_grep sep-cut/cut-transfer-says-why 'transfer cut short' "$T/cut.err"
exit 0
