# dipusd-user: the `user` keyword and the pair waiter, in a network namespace of its own
# (loopback only):
#  - `user nobody`: dipusd binds and loads its key as root, then runs as nobody; its
#    exported service is still published and reachable over SEP from another host
#    identity; an unknown user stops the start with "dipusd.conf:LINE:" and exit 2;
#  - `dipus pair` waiting takes exactly one connection: once one is in, the port is
#    closed and a second connection is refused (doc/keys.md).
# Root only; the namespace has a unique name and is deleted on exit, also on failure.
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root dipusd-user || exit 0
need_cmd dipusd-user ip || exit 0
need_cmd dipusd-user python3 || exit 0
for a in dipusd pair dcat keygen; do
	"$DIPUS" --list | grep -qx "$a" || { skip dipusd-user "binary has no $a"; exit 0; }
done
id nobody >/dev/null 2>&1 || { fail dipusd-user/setup "no user nobody on this system"; exit 1; }
NS=dpu$$
ip netns add "$NS" || { skip dipusd-user "cannot create network namespaces here"; exit 0; }
on_exit "ip netns del $NS"
ip -n "$NS" link set lo up
# on HOST CMD...: run CMD as host x or y (own root, config dir, host name) in the namespace
on() {
	local h=$1; shift
	ip netns exec "$NS" env DIPUS_HOST="$h" DIPUS_ROOT="$T/$h/root" DIPUS_CONF="$T/$h/conf" "$@"
}
for h in x y; do mkdir -p "$T/$h/conf" && chmod 700 "$T/$h/conf"; on "$h" "$DIPUS" keygen >/dev/null 2>&1; done
# T itself must be passable by nobody (the root and config dir live under it)
chmod 755 "$T"

# ---- an unknown user: the line, exit 2, nothing started ----
printf 'advertise off\ndiscover off\nuser no-such-user-%s\n' "$$" >"$T/x/conf/dipusd.conf"
chmod 600 "$T/x/conf/dipusd.conf"
run on x "$DIPUS" dipusd
expect_eq dipusd-user/unknown-user-exit 2 "$RC"
expect_grep dipusd-user/unknown-user-line "dipusd\.conf:3: user no-such-user-$$: no such user" "$ERR"
run on x "$DIPUS" dipusd -t
expect_eq dipusd-user/unknown-user-check 2 "$RC"

# ---- pair x and y (x waits), so that y may import x ----
on x "$DIPUS" pair -y -t 20 -l 127.0.0.1 >"$T/pair.x" 2>&1 &
px=$!
wait_for 10 sh -c "ip netns exec $NS ss -Hltn 'sport = :7151' | grep -q ." ||
	fail dipusd-user/pair-listening "$(cat "$T/pair.x")"
on y "$DIPUS" pair -y -t 20 127.0.0.1 >"$T/pair.y" 2>&1
ry=$?
wait "$px"; rx=$?
[ "$rx" = 0 ] && [ "$ry" = 0 ] && pass dipusd-user/paired || fail dipusd-user/paired "rc $rx/$ry: $(cat "$T/pair.x" "$T/pair.y")"

# ---- user nobody: runs as nobody, its service published and reachable ----
cat >"$T/x/conf/dipusd.conf" <<EOF
listen 127.0.0.1
advertise off
discover off
service export up tr a-z A-Z
user nobody
EOF
chmod 600 "$T/x/conf/dipusd.conf"
# the config dir is nobody's, as doc/dipusd.md says for 'user'; dipusd.conf stays
# root's (a file its own dropped user could rewrite is refused)
chown -R nobody "$T/x/conf"
chown root "$T/x/conf/dipusd.conf"
mkfifo "$T/x.ready"
spawn ip netns exec "$NS" env DIPUS_HOST=x DIPUS_ROOT="$T/x/root" DIPUS_CONF="$T/x/conf" \
	bash -c 'exec "$0" dipusd -v -d 3 3>"$1" 2>>"$2"' "$DIPUS" "$T/x.ready" "$T/x.log"
PID_x=$SPAWNED
if [ -n "$(timeout 20 cat "$T/x.ready" | od -An -c)" ]; then
	pass dipusd-user/started
else
	fail dipusd-user/started "not ready: $(tail -5 "$T/x.log")"; exit 1
fi
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$PID_x/status")
nob=$(id -u nobody)
expect_eq dipusd-user/runs-as-nobody "$nob $nob $nob $nob" "$uid"
sock=$(find "$T/x/root/exported" -name 'up.x...*' -type s 2>/dev/null | head -n 1)
[ -n "$sock" ] && pass dipusd-user/service-published || fail dipusd-user/service-published "no up.x socket: $(tail -5 "$T/x.log")"
run on y sh -c "echo hello | '$DIPUS' dcat sep://127.0.0.1/up"
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = HELLO ] && pass dipusd-user/service-reachable ||
	fail dipusd-user/service-reachable "rc $RC out '$(cat "$OUT")': $(cat "$ERR"); log: $(tail -5 "$T/x.log")"
kill -TERM "$PID_x"
wait "$PID_x" 2>/dev/null
expect_eq dipusd-user/stop-exit 0 "$?"

# ---- the pair waiter (y: x's key is nobody's now) takes one connection, then refuses ----
on y "$DIPUS" pair -t 20 -l 127.0.0.1 </dev/null >"$T/pair2.x" 2>&1 &
px=$!
wait_for 10 sh -c "ip netns exec $NS ss -Hltn 'sport = :7151' | grep -q ." ||
	fail dipusd-user/pair-waiting "$(cat "$T/pair2.x")"
# the first connection (a probe that says nothing) is held open; once the waiter has
# taken it, nothing listens on 7151 and a second connection is refused
ip netns exec "$NS" python3 - >"$T/probe.out" 2>&1 <<'EOF'
import socket, subprocess, time
a = socket.create_connection(("127.0.0.1", 7151), timeout=5)
end = time.time() + 10
while time.time() < end:
    if not subprocess.run(["ss", "-Hltn", "sport = :7151"], capture_output=True, text=True).stdout.strip():
        break
    time.sleep(0.05)
else:
    print("still listening with a connection in")
try:
    socket.create_connection(("127.0.0.1", 7151), timeout=5).close()
    print("second connection accepted")
except ConnectionRefusedError:
    print("second connection refused")
a.close()
EOF
expect_eq dipusd-user/pair-one-connection "second connection refused" "$(cat "$T/probe.out")"
wait "$px"; rx=$?
[ "$rx" != 0 ] && pass dipusd-user/pair-probe-ends-waiter || fail dipusd-user/pair-probe-ends-waiter "rc $rx: $(cat "$T/pair2.x")"
exit 0
