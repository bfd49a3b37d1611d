# sep-live: a live import follows the exporter: a service started/stopped on the
# exporter appears/vanishes here within 1 s; exporter killed -> proxies gone;
# exporter restarted -> proxies back; importer SIGTERM -> proxies removed.
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-live
need_cmd sep-live socat || exit 0

service in_exp echo test 'cat' || { fail sep-live/setup "echo service did not appear"; exit 1; }
exporter_start || { fail sep-live/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
import_start "sep://127.0.0.1:$PORT"
if wait_for 10 have_proxy echo; then pass sep-live/initial
else fail sep-live/initial "no proxy: $(tail -n 5 "$IMP_LOG")"; exit 1; fi

# within 1 s (plus the time for the helper to publish: measured from the socket)
service in_exp late audio/x-wav 'cat' || fail sep-live/setup "late service did not appear"
LATE=$SERVICE_PID
if wait_for 1 have_proxy late; then pass sep-live/appear-within-1s
else fail sep-live/appear-within-1s "no proxy for late after 1 s: $(tail -n 3 "$IMP_LOG")"; fi
expect_eq sep-live/proto-kept "$CLI_ROOT/imported/audio/x-wav/late.exp...0" "$(proxy late)"
run sh -c "echo live | socat -t 5 - UNIX-CONNECT:'$(proxy late)'"
expect_eq sep-live/late-works live "$(cat "$OUT")"

kill -TERM -- "-$LATE" 2>/dev/null
wait_for 5 sh -c "! find '$EXP_ROOT/exported' -name 'late.*' -type s | grep -q ." || rm -f "$EXP_ROOT"/exported/audio/x-wav/late.*
if wait_for 1 no_proxy late; then pass sep-live/vanish-within-1s
else fail sep-live/vanish-within-1s "proxy for late still there after 1 s"; fi

# exporter killed (no goodbye): proxies removed
kill -KILL -- "-$EXP_PID" 2>/dev/null
if wait_for 5 no_proxy echo; then pass sep-live/exporter-killed-proxies-gone
else fail sep-live/exporter-killed-proxies-gone "proxy still there"; fi
expect_grep sep-live/drop-logged 'reconnect|lost|closed|refused' "$IMP_LOG"

# exporter back on the same port: proxies back (backoff is capped)
exporter_start || fail sep-live/restart "exporter did not restart"
if wait_for 15 have_proxy echo; then pass sep-live/exporter-restarted-proxies-back
else fail sep-live/exporter-restarted-proxies-back "no proxy: $(tail -n 5 "$IMP_LOG")"; fi
run sh -c "echo again | socat -t 5 - UNIX-CONNECT:'$(proxy echo)'"
expect_eq sep-live/works-after-reconnect again "$(cat "$OUT")"

# a second importer of the same exporter gets ...1 names, not a clash
IMP1=$IMP_PID
import_start "sep://127.0.0.1:$PORT"
IMP2=$IMP_PID
if wait_for 5 test -S "$CLI_ROOT/imported/test/echo.exp...1"; then pass sep-live/second-importer-own-names
else fail sep-live/second-importer-own-names "$(find "$CLI_ROOT/imported" -type s | tr '\n' ' ')"; fi
kill -TERM "$IMP2"
wait_for 5 sh -c "! test -e '$CLI_ROOT/imported/test/echo.exp...1'"
expect_eq sep-live/second-importer-cleaned "" "$(find "$CLI_ROOT/imported" -name 'echo.exp...1')"

# importer SIGTERM: its proxies are removed, it exits 0
IMP_PID=$IMP1
kill -TERM "$IMP_PID"
if wait_for 5 no_proxy echo; then pass sep-live/sigterm-removes-proxies
else fail sep-live/sigterm-removes-proxies "$(find "$CLI_ROOT/imported" -type s)"; fi
wait_for 5 sh -c "! kill -0 $IMP_PID 2>/dev/null" && pass sep-live/importer-exits || fail sep-live/importer-exits "still running"

# PREFIX: only services under it
service in_exp other misc 'cat'
import_start "sep://127.0.0.1:$PORT/misc"
if wait_for 5 have_proxy other && sleep 0.5 && no_proxy echo; then pass sep-live/prefix
else fail sep-live/prefix "$(find "$CLI_ROOT/imported" -type s | tr '\n' ' ')"; fi
exit 0
