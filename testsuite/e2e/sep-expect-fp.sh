# sep-expect-fp: importing an exporter by its key (what dipusd does for a discovered
# one; `import --fingerprint`): the key must be the one expected and pinned in
# known_hosts under any name; a different key is dropped with both fingerprints logged,
# an unpinned one is not imported.
# timeout: 90
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-expect-fp

service in_exp echo test 'cat' || { fail sep-expect-fp/setup "echo service did not appear"; exit 1; }
exporter_start || { fail sep-expect-fp/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
# the key is pinned, but under another name than the address we import from
echo "exp.lan:7150 $EXP_FP" >"$CLI_CONF/known_hosts"
U=sep://127.0.0.1:$PORT

import_start --fingerprint "$EXP_FP" "$U"
if wait_for 10 have_proxy echo; then pass sep-expect-fp/pinned-under-any-name-imported
else fail sep-expect-fp/pinned-under-any-name-imported "no proxy: $(tail -n 3 "$IMP_LOG")"; fi
run timeout 10 sh -c "echo hi | socat -t 5 - UNIX-CONNECT:'$(proxy echo)'"
expect_eq sep-expect-fp/proxy-works hi "$(cat "$OUT")"
kill -TERM "$IMP_PID"; wait_for 10 no_proxy echo

# without the expected key, the address itself must be pinned (it is not)
import_start "$U"
sleep 2
if no_proxy echo && grep -q 'unknown exporter key' "$IMP_LOG"; then pass sep-expect-fp/control-address-not-pinned
else fail sep-expect-fp/control-address-not-pinned "$(tail -n 3 "$IMP_LOG")"; fi
kill -TERM "$IMP_PID"; wait_for 10 no_proxy echo

# another key expected (a TXT record that lies): dropped, both fingerprints logged
: >"$IMP_LOG"
import_start --fingerprint "$CLI_FP" "$U"
wait_for 10 grep -q 'not the expected' "$IMP_LOG"
if no_proxy echo && grep -q "showed key $EXP_FP, not the expected $CLI_FP" "$IMP_LOG"; then
	pass sep-expect-fp/other-key-dropped-both-logged
else fail sep-expect-fp/other-key-dropped-both-logged "$(tail -n 3 "$IMP_LOG")"; fi
kill -TERM "$IMP_PID"

# the expected key, but not trusted here
: >"$IMP_LOG"
: >"$CLI_CONF/known_hosts"
import_start --fingerprint "$EXP_FP" "$U"
wait_for 10 grep -q 'not trusted here' "$IMP_LOG"
if no_proxy echo && grep -q "not trusted here" "$IMP_LOG"; then pass sep-expect-fp/untrusted-key-not-imported
else fail sep-expect-fp/untrusted-key-not-imported "$(tail -n 3 "$IMP_LOG")"; fi
kill -TERM "$IMP_PID"

run "$DIPUS" import --fingerprint "$EXP_FP" "sep+plain://127.0.0.1:$PORT"
if [ "$RC" = 2 ] && grep -q 'needs sep://' "$ERR"; then pass sep-expect-fp/plain-refused
else fail sep-expect-fp/plain-refused "rc $RC: $(cat "$ERR")"; fi
exit 0
