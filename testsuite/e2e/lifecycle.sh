# lifecycle.sh: sockets appear when ready and go when the helper goes; dead sockets
# are reaped and live ones kept; ...0/...1 numbering; many connections leave no
# descriptors and no zombies behind in the helper.
# timeout: 600
. "$TOP/testsuite/lib.sh"
setup_host life

start() { # start NAME ARGS...: helper with readiness; sets PID and SOCK
	local f=$T/r.$RANDOM
	spawn "$DIPUS" local-pipe -1 "${@:2}" "$1" >"$f"
	PID=$SPAWNED
	wait_for 5 test -s "$f" || { fail "start $1" "no readiness"; return 1; }
	SOCK=$(cat "$f")
}

start echo cat; P0=$PID S0=$SOCK
start echo cat; P1=$PID S1=$SOCK
expect_eq "first instance is ...0" "$DIPUS_ROOT/local/echo.life...0" "$S0"
expect_eq "second instance is ...1" "$DIPUS_ROOT/local/echo.life...1" "$S1"

kill -TERM "$P1"
wait_for 5 test ! -e "$S1" && pass "SIGTERM removes the socket" || fail "SIGTERM removes the socket" "$S1 still there"
wait_for 5 bash -c "! kill -0 $P1 2>/dev/null" && pass "SIGTERM ends the helper" || fail "SIGTERM ends the helper" "pid $P1 alive"

kill -KILL "$P0"
wait_for 5 bash -c "! kill -0 $P0 2>/dev/null"
[ -S "$S0" ] && pass "SIGKILL leaves a dead socket" || fail "SIGKILL leaves a dead socket" "gone"
start live cat; LIVE=$SOCK
echo "not a socket" >"$DIPUS_ROOT/local/file.life...0"
run "$DIPUS" reap -n
expect_eq "reap -n lists only the dead socket" "$S0" "$(cat "$OUT")"
[ -S "$S0" ] && pass "reap -n removes nothing" || fail "reap -n removes nothing" "gone"
run "$DIPUS" reap
expect_eq "reap prints what it removed" "$S0" "$(cat "$OUT")"
[ ! -e "$S0" ] && pass "reap removes the dead socket" || fail "reap removes the dead socket" "still there"
[ -S "$LIVE" ] && pass "reap keeps the live socket" || fail "reap keeps the live socket" "gone"
[ -f "$DIPUS_ROOT/local/file.life...0" ] && pass "reap keeps a non-socket" || fail "reap keeps a non-socket" "gone"

# a dead socket at ...0 is replaced by the next publisher; a live one never is
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$DIPUS_ROOT/local/echo.life...0"
start echo cat
expect_eq "a dead ...0 is taken over" "$DIPUS_ROOT/local/echo.life...0" "$SOCK"
expect_eq "...and it answers" "x" "$(echo x | "$DIPUS" dcat echo)"

# many connections: no descriptor or child left behind
start many -c 250 cat; MP=$PID
sleep 0.2
fds0=$(fd_count "$MP")
# one client process makes the connections (fast); the helper forks for each
cat >"$T/client.py" <<'PY'
import socket, sys, threading
path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def one(i, res):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)          # blocking: a full backlog makes it wait, as for any client
    s.settimeout(60)
    msg = (str(i) * 1000).encode()
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    res[i] = got == msg
res = {}
if mode == "seq":
    for i in range(n):
        one(i, res)
else:
    ts = [threading.Thread(target=one, args=(i, res)) for i in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
print(sum(1 for v in res.values() if v))
PY
expect_eq "2,000 sequential connections all answered" 2000 "$(python3 "$T/client.py" "$SOCK" seq 2000)"
expect_eq "200 concurrent connections all answered" 200 "$(python3 "$T/client.py" "$SOCK" par 200)"
wait_for 5 test "$(zombies_of "$MP")" = 0
expect_eq "no zombies in the helper" 0 "$(zombies_of "$MP")"
wait_for 5 test "$(fd_count "$MP")" = "$fds0"
expect_eq "no descriptor left open in the helper" "$fds0" "$(fd_count "$MP")"

# -c: more clients than MAX wait in the backlog, they are not refused
start slow -c 2 'sleep 0.3; cat'
cpids=""
for i in 1 2 3 4 5; do ( echo "$i" | "$DIPUS" dcat slow >"$T/s.$i" ) & cpids="$cpids $!"; done
wait $cpids  # not a bare wait: the spawned helpers are jobs of this shell too
expect_eq "-c 2: five clients all served in turn" "1 2 3 4 5" "$(cat "$T"/s.1 "$T"/s.2 "$T"/s.3 "$T"/s.4 "$T"/s.5 | tr '\n' ' ' | sed 's/ $//')"

# the child's environment
start env 'echo "$DIPUS_PEER_UID $DIPUS_PEER_GID $DIPUS_SERVICE"; echo "$DIPUS_PEER_PID" >&2'
expect_eq "child env: peer uid, gid and the service path" "$(id -u) $(id -g) $SOCK" "$("$DIPUS" dcat env </dev/null)"
