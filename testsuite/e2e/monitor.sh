# monitor.sh: service-monitor and dls -w see services appear and vanish within 1 s,
# also in directories created after they started.
# timeout: 60
. "$TOP/testsuite/lib.sh"
setup_host mon
mkdir -p -m 0700 "$DIPUS_ROOT"

spawn "$DIPUS" service-monitor >"$T/mon.out"
spawn "$DIPUS" dls -w -1 svc >"$T/w"
sleep 0.3
spawn "$DIPUS" local-pipe -1 cat svc/brand/new/proto >"$T/ready"
PID=$SPAWNED
wait_for 5 test -s "$T/ready"
P=$(cat "$T/ready")
t0=$(date +%s%N)
wait_for 1 grep -qx "+ $P" "$T/mon.out" && pass "service-monitor: + PATH within 1 s (new directories)" \
	|| fail "service-monitor: + PATH within 1 s" "$(cat "$T/mon.out")"
wait_for 1 grep -qx "+ svc.mon" "$T/w" && pass "dls -w: + line within 1 s" || fail "dls -w: + line within 1 s" "$(cat "$T/w")"
kill -TERM "$PID"
wait_for 1 grep -qx -- "- $P" "$T/mon.out" && pass "service-monitor: - PATH within 1 s" \
	|| fail "service-monitor: - PATH within 1 s" "$(cat "$T/mon.out")"
wait_for 1 grep -qx -- "- svc.mon" "$T/w" && pass "dls -w: - line within 1 s" || fail "dls -w: - line within 1 s" "$(cat "$T/w")"
expect_eq "the temporary publish name never shows" "" "$(grep '\.tmp\.' "$T/mon.out")"

# a service present at start is listed first
spawn "$DIPUS" local-pipe -1 cat early >"$T/r2"
wait_for 5 test -s "$T/r2"
spawn "$DIPUS" service-monitor early >"$T/mon2.out"
wait_for 2 test -s "$T/mon2.out"
expect_eq "service-monitor QUERY lists what exists first" "+ $(cat "$T/r2")" "$(cat "$T/mon2.out")"
expect_rc "service-monitor rejects two queries" 2 "$DIPUS" service-monitor a b
