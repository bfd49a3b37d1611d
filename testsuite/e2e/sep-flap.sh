# sep-flap: an importer whose session comes up and is lost again and again for the
# same reason (here: a busy exporter's GOAWAY LIMIT right after HELLO) logs "session
# lost" once per change of reason without -v, as doc/import.md promises, and says why.
# timeout: 60
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-flap

service in_exp echo test 'cat' || { fail sep-flap/setup "echo service did not appear"; exit 1; }
exporter_start --plaintext --max-peers 1 ||
	{ fail sep-flap/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
U=sep+plain://127.0.0.1:$PORT
import_start "$U"   # holds the one place
wait_for 10 have_proxy echo || { fail sep-flap/setup "no proxy: $(tail -n 3 "$IMP_LOG")"; exit 1; }
LOG2=$T/import2.log
spawn "${CLI_ENV[@]}" bash -c 'exec "$0" import "$2" 2>>"$1"' "$DIPUS" "$LOG2" "$U"
# backoff 0.25, 0.5, 1, 2, 4 s: five or six sessions refused in 8 s
sleep 8
busy=$(grep -c 'refused: the exporter is busy' "$EXP_LOG")
lost=$(grep -c 'session lost' "$LOG2")
echo "exporter refused $busy sessions; the importer logged $lost 'session lost' lines" >&2
if [ "$busy" -ge 3 ]; then pass sep-flap/sessions-refused-repeatedly
else fail sep-flap/sessions-refused-repeatedly "only $busy: $(tail -n 3 "$EXP_LOG")"; fi
if [ "$lost" = 1 ]; then pass sep-flap/session-lost-logged-once
else fail sep-flap/session-lost-logged-once "$lost lines: $(head -n 3 "$LOG2")"; fi
expect_grep sep-flap/reason-given 'session lost .*the exporter is busy' "$LOG2"
exit 0
