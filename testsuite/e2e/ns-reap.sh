# ns-reap.sh: the reaper removes dead sockets and nothing else: not a live one (also
# not one whose backlog is full), not a non-socket, not through a symlink, not a young
# temporary publish name, not another user's socket in a sticky directory.
# timeout: 120
. "$TOP/testsuite/lib.sh"
setup_host r

expect_rc "reap with no root at all: exit 0" 0 "$DIPUS" reap
expect_eq "...printing nothing" "" "$(cat "$OUT" "$ERR")"

# dead NAME/PROTO: publish with the helper, then SIGKILL it (the socket stays, dead)
dead() {
	local f=$T/d.$RANDOM
	spawn "$DIPUS" local-pipe -1 cat "$1" >"$f"
	local pid=$SPAWNED
	wait_for 5 test -s "$f" || { fail "publish $1" "no readiness"; return 1; }
	kill -KILL "$pid"
	wait_for 5 sh -c "! kill -0 $pid 2>/dev/null"
	DEAD=$(cat "$f")
}
spawn "$DIPUS" local-pipe -1 cat live/p >"$T/live"
wait_for 5 test -s "$T/live"; LIVE=$(cat "$T/live")
dead gone/p; D1=$DEAD
dead gone2; D2=$DEAD
[ -S "$D1" ] && [ -S "$D2" ] && pass "SIGKILL leaves dead sockets behind" || fail "SIGKILL leaves dead sockets behind" "$D1 $D2"
echo "not a socket" >"$DIPUS_ROOT/local/p/file.r...0"
# a symlink named like a service, to a dead socket outside the tree
mkdir "$T/out"
dead target/p; mv "$DEAD" "$T/out/target.r...0"
ln -s "$T/out/target.r...0" "$DIPUS_ROOT/local/p/link.r...0"
# temporary publish names: a young one and an old one, both dead
dead young; mv "$DEAD" "$DIPUS_ROOT/local/.tmp.123.0"
dead old; mv "$DEAD" "$DIPUS_ROOT/local/.tmp.124.0"
touch -h -d '-1 minute' "$DIPUS_ROOT/local/.tmp.124.0"

run "$DIPUS" reap -n
expect_eq "reap -n lists the dead ones (and the old temporary name), in resolver order" \
	"$D2 $D1 $DIPUS_ROOT/local/.tmp.124.0" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
[ -S "$D1" ] && [ -S "$D2" ] && [ -S "$DIPUS_ROOT/local/.tmp.124.0" ] && pass "reap -n removes nothing" || fail "reap -n removes nothing" "gone"

t0=$(date +%s%N)
expect_rc "reap exits 0" 0 "$DIPUS" reap
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "reap prints each path it removed" "$D2 $D1 $DIPUS_ROOT/local/.tmp.124.0" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
[ "$ms" -ge 100 ] && pass "dead means refused twice, at least 100 ms apart" || fail "refused twice, 100 ms apart" "took $ms ms"
[ ! -e "$D1" ] && [ ! -e "$D2" ] && pass "the dead sockets are gone" || fail "the dead sockets are gone" "still there"
[ -S "$LIVE" ] && pass "the live socket stays" || fail "the live socket stays" "gone"
expect_eq "...and still answers" "still" "$(echo still | "$DIPUS" dcat live)"
[ -f "$DIPUS_ROOT/local/p/file.r...0" ] && pass "a regular file named like a service stays" || fail "a regular file stays" "gone"
[ -L "$DIPUS_ROOT/local/p/link.r...0" ] && [ -S "$T/out/target.r...0" ] && pass "a symlink and its dead target outside the tree stay" || fail "symlink and target stay" "gone"
[ -S "$DIPUS_ROOT/local/.tmp.123.0" ] && pass "a young temporary publish name stays (10 s grace)" || fail "a young temporary name stays" "gone"
run "$DIPUS" reap -v
expect_grep "-v says why the young one was left" "dipus: reap: $DIPUS_ROOT/local/.tmp.123.0: a temporary publish name younger than 10 s, left" "$ERR"
expect_eq "a second reap finds nothing (exit 0, no output)" "0:" "$RC:$(cat "$OUT")"

# a live socket whose backlog is full (nobody accepts): probing must not hang on it
PY=$(command -v /usr/bin/python3 || command -v python3)
if need_cmd "a full backlog" python3; then
	mkdir -p "$DIPUS_ROOT/local/busy"
	spawn "$PY" -c '
import socket, sys, time
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.bind(p + ".t"); s.listen(0)
cs = []
for i in range(4):
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try: c.connect(p + ".t")
    except OSError: pass
    cs.append(c)
import os; os.rename(p + ".t", p)
time.sleep(60)' "$DIPUS_ROOT/local/busy/busy.r...0"
	wait_for 10 test -S "$DIPUS_ROOT/local/busy/busy.r...0"
	run timeout 10 "$DIPUS" reap
	expect_eq "a live socket with a full backlog: reap does not hang, exits 0" "0" "$RC"
	[ -S "$DIPUS_ROOT/local/busy/busy.r...0" ] && pass "...and keeps it" || fail "...and keeps it" "removed"
fi

expect_rc "reap -Z: usage error" 2 "$DIPUS" reap -Z
expect_rc "reap ARG: usage error" 2 "$DIPUS" reap extra

# another user's dead socket in a shared (sticky) root is not ours to remove
if need_root "reap in a shared root (needs another user)"; then
	U=dipus_t_nr$$
	useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || { fail "setup" "useradd $U"; exit 0; }
	cleanup_user() { userdel "$U"; }
	on_exit cleanup_user
	export DIPUS_ROOT=$T/shared
	"$DIPUS" mkroot
	dead rootsock; RD=$DEAD
	as_u() { setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$@"; }
	run as_u "$DIPUS" reap -n
	expect_eq "another user's reap -n does not list a socket it may not remove" "0:" "$RC:$(cat "$OUT")"
	run as_u "$DIPUS" reap -v
	[ -S "$RD" ] && pass "...nor does reap remove it" || fail "...nor does reap remove it" "removed"
	expect_grep "...-v says why" "$RD: dead, left in place: not yours to remove \(owned by root\)" "$ERR"
	expect_rc "root's reap removes it" 0 "$DIPUS" reap
	expect_eq "...and says so" "$RD" "$(cat "$OUT")"
fi
