# dipusd-local: the daemon on one machine (no network namespaces): a bad dipusd.conf
# line stops the start with "dipusd.conf:LINE:" and exit 2; readiness on a descriptor
# (-d) and on $NOTIFY_SOCKET; the pid file; configured services served in-process;
# explicit imports (a `dipus exporter` on 127.0.0.1); SIGHUP adds and removes an import
# and a service while the unchanged ones keep their sockets; the reaper; a SIGKILLed
# exporter's proxies go with its session; SIGTERM removes everything and exits 0.
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
"$DIPUS" --list | grep -qx dipusd || { skip dipusd-local "binary has no dipusd"; exit 0; }
"$DIPUS" dipusd --help 2>/dev/null | grep -q -- '-d FD' || { skip dipusd-local "dipusd not implemented"; exit 0; }
need_cmd dipusd-local socat || exit 0
need_cmd dipusd-local python3 || exit 0
sep_setup dipusd-local
CONF=$CLI_CONF/dipusd.conf
LOG=$T/dipusd.log

# ---- configuration errors ----
printf 'export off\n# fine\nfrobnicate yes\n' >"$CONF"
chmod 600 "$CONF"
run in_cli "$DIPUS" dipusd
expect_eq dipusd-local/conf-error-exit 2 "$RC"
expect_grep dipusd-local/conf-error-line 'dipusd\.conf:3: unknown keyword .frobnicate.' "$ERR"
printf 'service local x\n' >"$CONF"
run in_cli "$DIPUS" dipusd -t
expect_grep dipusd-local/conf-error-service 'dipusd\.conf:1: service x: no COMMAND' "$ERR"
printf 'export off\nadvertise off\ndiscover off\n' >"$CONF"
expect_rc dipusd-local/conf-check-good 0 in_cli "$DIPUS" dipusd -t
chmod 666 "$CONF"
run in_cli "$DIPUS" dipusd -t
[ "$RC" = 4 ] && grep -q 'not writable by group or others' "$ERR" &&
	pass dipusd-local/conf-refused-writable || fail dipusd-local/conf-refused-writable "rc $RC: $(cat "$ERR")"
chmod 600 "$CONF"

# ---- start: services, imports, readiness ----
exporter_start || { fail dipusd-local/exporter "did not start: $(tail -5 "$EXP_LOG")"; exit 1; }
service in_exp echo "" 'cat' || { fail dipusd-local/setup "echo service"; exit 1; }
service in_exp hash "" 'sha256sum | cut -c1-64' || { fail dipusd-local/setup "hash service"; exit 1; }
cat >"$CONF" <<EOF
# services and imports, no network of our own
export off
advertise off
discover off
reap-interval 1
service local -c 2 upper tr a-z A-Z
service local keep cat
import sep://127.0.0.1:$PORT/echo
import sep://127.0.0.1:$PORT/hash
EOF
NOTIFY=$T/notify.sock
python3 - "$NOTIFY" >"$T/notify.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        m = s.recv(4096)
    except socket.timeout:
        continue
    print(m.decode(), flush=True)
EOF
NOTIFY_PID=$!
_pids="$_pids $NOTIFY_PID"
wait_for 30 test -S "$NOTIFY" || fail dipusd-local/notify-listener "python3 did not bind $NOTIFY"
mkfifo "$T/ready"
spawn "${CLI_ENV[@]}" NOTIFY_SOCKET="$NOTIFY" bash -c 'exec "$0" dipusd -v -p "$1" -d 3 3>"$2" 2>>"$3"' \
	"$DIPUS" "$T/dipusd.pid" "$T/ready" "$LOG"
D_PID=$SPAWNED
ready=$(timeout $((20 * ${TEST_TIMEOUT_SCALE:-1})) cat "$T/ready" | od -An -c | tr -d ' ')
expect_eq dipusd-local/ready-fd '\n' "$ready"
# ready means the services are published already
upper=$(find "$CLI_ROOT/local" -name 'upper.cli...*' -type s | head -n 1)
[ -n "$upper" ] && pass dipusd-local/service-at-ready || fail dipusd-local/service-at-ready "no socket"
wait_for 10 grep -qx 'READY=1' "$T/notify.out" && pass dipusd-local/notify-socket ||
	fail dipusd-local/notify-socket "got: $(cat "$T/notify.out"); log: $(grep NOTIFY "$LOG")"
expect_eq dipusd-local/pidfile "$D_PID" "$(cat "$T/dipusd.pid" 2>/dev/null)"
run sh -c "echo hello | '$DIPUS' dcat upper"
expect_eq dipusd-local/service-dcat HELLO "$(cat "$OUT")"
wait_for 10 have_proxy echo && wait_for 10 have_proxy hash &&
	pass dipusd-local/imports || fail dipusd-local/imports "proxies: $(find "$CLI_ROOT/imported" -type s)"
run sh -c "printf abc | '$DIPUS' dcat hash.exp"
expect_eq dipusd-local/import-dcat "$(printf abc | sha256sum | cut -c1-64)" "$(cat "$OUT")"

# ---- SIGHUP: one import and one service go, one of each comes, the rest stays ----
keep_ino=$(stat -c %i "$(find "$CLI_ROOT/local" -name 'keep.*' -type s)")
echo_ino=$(stat -c %i "$(proxy echo)")
# a connection through the kept import stays open across the reload
coproc HOLD { "$DIPUS" dcat echo.exp 2>"$T/hold.err"; echo "dcat exit $?" >>"$T/hold.err"; }
hold_pid=$HOLD_PID   # bash unsets HOLD_PID as soon as the coprocess ends
echo before >&"${HOLD[1]}"
read -r -t 10 got <&"${HOLD[0]}"
expect_eq dipusd-local/held-connection before "$got"
sed -i -e '/^import .*\/hash$/d' -e '/^service local -c 2 upper/d' "$CONF"
echo 'service local lower tr A-Z a-z' >>"$CONF"
kill -HUP "$D_PID"
wait_for 10 no_proxy hash && pass dipusd-local/hup-import-removed || fail dipusd-local/hup-import-removed "hash proxy still there"
wait_for 10 sh -c "find '$CLI_ROOT/local' -name 'lower.*' -type s | grep -q ." &&
	pass dipusd-local/hup-service-added || fail dipusd-local/hup-service-added "no lower socket"
[ -z "$(find "$CLI_ROOT/local" -name 'upper.*' -type s)" ] && pass dipusd-local/hup-service-removed ||
	fail dipusd-local/hup-service-removed "upper still there"
expect_eq dipusd-local/hup-service-kept "$keep_ino" "$(stat -c %i "$(find "$CLI_ROOT/local" -name 'keep.*' -type s)")"
expect_eq dipusd-local/hup-import-kept "$echo_ino" "$(stat -c %i "$(proxy echo)" 2>/dev/null)"
got=
if [ -n "${HOLD[1]:-}" ]; then
	echo after >&"${HOLD[1]}"
	read -r -t 10 got <&"${HOLD[0]}"
fi
expect_eq dipusd-local/hup-session-kept after "$got" || { cat "$T/hold.err" >&2; }
[ -n "${HOLD[1]:-}" ] && exec {HOLD[1]}>&-
wait "$hold_pid" 2>/dev/null
echo "import sep://127.0.0.1:$PORT/hash" >>"$CONF"
kill -HUP "$D_PID"
wait_for 10 have_proxy hash && pass dipusd-local/hup-import-added || fail dipusd-local/hup-import-added "no hash proxy"
# a bad line on reload: logged, the running configuration kept
echo 'bogus line' >>"$CONF"
kill -HUP "$D_PID"
wait_for 5 grep -q 'dipusd.conf:[0-9]*: unknown keyword .bogus.*keeping' "$LOG" &&
	pass dipusd-local/hup-bad-line-kept || fail dipusd-local/hup-bad-line-kept "$(tail -3 "$LOG")"
kill -0 "$D_PID" 2>/dev/null && have_proxy echo && pass dipusd-local/hup-bad-line-alive ||
	fail dipusd-local/hup-bad-line-alive "dipusd or its proxies gone"
sed -i '/^bogus line/d' "$CONF"

# ---- the reaper: a dead socket in local/ goes ----
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
	"$CLI_ROOT/local/dead.cli...7"
wait_for 10 sh -c "! test -e '$CLI_ROOT/local/dead.cli...7'" && pass dipusd-local/reaper ||
	fail dipusd-local/reaper "dead socket left"
[ -S "$(find "$CLI_ROOT/local" -name 'keep.*' | head -n 1)" ] && pass dipusd-local/reaper-spares-live ||
	fail dipusd-local/reaper-spares-live "a live socket went"

# ---- a SIGKILLed exporter: its proxies go with the session ----
kill -KILL "$EXP_PID"
wait_for 10 sh -c "no_proxy() { [ -z \"\$(find '$CLI_ROOT/imported' -type s)\" ]; }; no_proxy" &&
	pass dipusd-local/session-lost-proxies-removed || fail dipusd-local/session-lost-proxies-removed \
	"$(find "$CLI_ROOT/imported" -type s)"
exporter_start || { fail dipusd-local/exporter-restart "$(tail -3 "$EXP_LOG")"; exit 1; }
wait_for 20 have_proxy echo && pass dipusd-local/reconnect || fail dipusd-local/reconnect "no proxy again"

# ---- SIGTERM: everything removed, exit 0 ----
kill -TERM "$D_PID"
wait_for 10 sh -c "! kill -0 $D_PID 2>/dev/null"
wait "$D_PID" 2>/dev/null
rc=$?
expect_eq dipusd-local/term-exit 0 "$rc"
left=$(find "$CLI_ROOT/local" "$CLI_ROOT/imported" -type s 2>/dev/null)
expect_eq dipusd-local/term-removed "" "$left"
[ ! -e "$T/dipusd.pid" ] && pass dipusd-local/pidfile-removed || fail dipusd-local/pidfile-removed "still there"
grep -qx 'STOPPING=1' "$T/notify.out" && pass dipusd-local/notify-stopping || fail dipusd-local/notify-stopping "$(cat "$T/notify.out")"

# ---- make install INIT=...: the init scripts; the sysv one starts (ready) and stops ----
for init in sysv procd systemd; do
	run env SYSTEMD_UNIT_DIR=/lib/systemd/system sh "$TOP/scripts/install-init.sh" "$init" "$T/dest-$init" /usr
	[ "$RC" = 0 ] || fail "dipusd-local/install-$init" "$(cat "$ERR")"
done
[ -x "$T/dest-sysv/etc/init.d/S50dipusd" ] && [ -x "$T/dest-procd/etc/init.d/dipusd" ] &&
	[ -f "$T/dest-systemd/lib/systemd/system/dipusd.service" ] &&
	[ -f "$T/dest-sysv/etc/dipus/dipusd.conf.example" ] && pass dipusd-local/install-init ||
	fail dipusd-local/install-init "$(find "$T"/dest-* -type f)"
grep -q '^Type=notify' "$T/dest-systemd/lib/systemd/system/dipusd.service" &&
	pass dipusd-local/systemd-type-notify || fail dipusd-local/systemd-type-notify "no Type=notify"
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|/usr/bin/dipusd|$DIPUS|" "$T/dest-systemd/lib/systemd/system/dipusd.service" >"$T/dipusd.service"
	run systemd-analyze verify "$T/dipusd.service"
	grep -v 'Documentation\|dipusd.service: Command' "$ERR" | grep -qi 'dipusd.service' &&
		fail dipusd-local/systemd-verify "$(cat "$ERR")" || pass dipusd-local/systemd-verify
fi
# the sysv script, pointed at this binary and a pid file of the test's
mkdir -p "$T/bin" && ln -sf "$DIPUS" "$T/bin/dipusd"
sed -e "s|^DAEMON=.*|DAEMON=$T/bin/dipusd|" -e "s|^PIDFILE=.*|PIDFILE=$T/S50.pid|" \
    -e "s|^DIPUSD_ARGS=.*|DIPUSD_ARGS=|" "$T/dest-sysv/etc/init.d/S50dipusd" >"$T/S50dipusd"
printf 'export off\nadvertise off\ndiscover off\nservice local initsvc cat\n' >"$CONF"
run in_cli sh "$T/S50dipusd" start
[ "$RC" = 0 ] && grep -q OK "$OUT" && [ -S "$(find "$CLI_ROOT/local" -name 'initsvc.*' -type s | head -n 1)" ] &&
	pass dipusd-local/sysv-start-ready || fail dipusd-local/sysv-start-ready "rc $RC: $(cat "$OUT" "$ERR")"
spid=$(cat "$T/S50.pid" 2>/dev/null)
run in_cli sh "$T/S50dipusd" stop
# gone, or a zombie its new parent has not reaped yet (it was started in the background)
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_for 5 gone "$spid"
[ -n "$spid" ] && gone "$spid" && [ ! -e "$T/S50.pid" ] && [ -z "$(find "$CLI_ROOT/local" -name 'initsvc.*' -type s)" ] &&
	pass dipusd-local/sysv-stop || fail dipusd-local/sysv-stop "pid $spid: $(cat "$OUT" "$ERR")"

# ---- -S: messages go to syslog (/dev/log; a private one in a mount namespace) ----
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir -p "$T/dev" && touch "$T/dev/null" "$T/dev/urandom" "$T/dev/random"
	printf 'export off\nadvertise off\ndiscover off\n' >"$CONF"
	cat >"$T/syslog.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
while True:
    try:
        m = s.recv(4096)
    except socket.timeout:
        break
    print(m.decode(errors="replace"), flush=True)
    if b"stopped" in m:
        break
EOF
	cat >"$T/syslog.sh" <<EOF
for n in null urandom random; do mount --bind /dev/\$n "$T/dev/\$n" || exit 1; done
python3 "$T/syslog.py" "$T/dev/log" >"$T/syslog.out" &
i=0; while [ ! -S "$T/dev/log" ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
mount --rbind "$T/dev" /dev || exit 1
"$DIPUS" dipusd -S -d 3 3>"$T/ready2" 2>"$T/syslog.stderr" &
d=\$!
cat "$T/ready2" >/dev/null
kill -TERM \$d; wait \$d
wait
EOF
	mkfifo "$T/ready2"
	in_cli timeout 60 unshare -m sh "$T/syslog.sh"
	grep -q 'dipusd\[[0-9]*\]: started' "$T/syslog.out" && grep -q 'dipusd\[[0-9]*\]: stopped' "$T/syslog.out" &&
		[ ! -s "$T/syslog.stderr" ] && pass dipusd-local/syslog ||
		fail dipusd-local/syslog "syslog: $(head -c 300 "$T/syslog.out"); stderr: $(head -c 200 "$T/syslog.stderr")"
else
	skip dipusd-local/syslog "needs root and unshare -m"
fi
exit 0
