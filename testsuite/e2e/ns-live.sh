# ns-live.sh: judging a service alive runs nobody's command: a second instance of a
# name and 'reap -n' leave the first instance's command unrun (it would leave a marker
# file); a dead socket is still told apart and reaped. As root also an instance listening
# from another network namespace, which the kernel's listening list (sock_diag) of this
# one does not show: the probe that decides (the same one a kernel without unix_diag,
# or qemu-user, gets for every socket) must not reach it either.
# timeout: 60
. "$TOP/testsuite/lib.sh"
setup_host h
M=$T/marker
spawn "$DIPUS" local-pipe -1 "touch '$M'; cat" svc/p >"$T/first"
wait_for 5 test -s "$T/first" || { fail "ns-live/setup" "first instance did not publish"; exit 0; }
FIRST=$(cat "$T/first")
spawn "$DIPUS" local-pipe -1 "cat" svc/p >"$T/second"
wait_for 5 test -s "$T/second"
expect_eq "a second instance takes ...1" "$DIPUS_ROOT/local/p/svc.h...1" "$(cat "$T/second")"
sleep 0.2  # a forked command would have run by now
[ ! -e "$M" ] && pass "...and the first instance's command did not run" \
	|| fail "...and the first instance's command did not run" "marker made"
rm -f "$M"
run "$DIPUS" reap -n -v
expect_eq "reap -n: nothing dead" "0" "$RC"
sleep 0.2
[ ! -e "$M" ] && pass "...and it ran nobody's command" || fail "...and it ran nobody's command" "marker made"
# a dead one is still dead: a listener gone without unpublishing
python3 - "$DIPUS_ROOT/local/p/gone.h...0" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
PY
run "$DIPUS" reap -n
expect_grep "reap -n names the dead socket" "gone.h...0" "$OUT"
run "$DIPUS" reap
[ ! -e "$DIPUS_ROOT/local/p/gone.h...0" ] && pass "...and reap removes it" || fail "...and reap removes it" "still there"
[ -S "$FIRST" ] && pass "...leaving the live ones" || fail "...leaving the live ones" "$FIRST gone"
[ ! -e "$M" ] && pass "...without running their commands" || fail "...without running their commands" "marker made"

# listened to from another network namespace: sock_diag here does not list it
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	M2=$T/marker2
	spawn unshare -n "$DIPUS" local-pipe -1 "touch '$M2'; cat" svc/q >"$T/q1"
	wait_for 5 test -s "$T/q1" || { fail "ns-live/netns-setup" "the other namespace's instance did not publish"; exit 0; }
	spawn "$DIPUS" local-pipe -1 "cat" svc/q >"$T/q2"
	wait_for 5 test -s "$T/q2"
	expect_eq "another network namespace's instance is live: a second takes ...1" \
		"$DIPUS_ROOT/local/q/svc.h...1" "$(cat "$T/q2")"
	run "$DIPUS" reap -n
	expect_eq "reap -n: nothing dead, with it" "0:" "$RC:$(cat "$OUT")"
	sleep 0.2
	[ ! -e "$M2" ] && pass "...and its command did not run" || fail "...and its command did not run" "marker made"
	rm -f "$M2"
	expect_eq "...and it still serves" "hi" "$(echo hi | "$DIPUS" dcat "$(cat "$T/q1")" 2>&1)"
	[ -e "$M2" ] && pass "...running its command for a client" || fail "...running its command for a client" "no marker"
else
	skip "ns-live/netns" "needs root and unshare -n"
fi
