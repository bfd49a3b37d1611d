# ssh-direct: dbclient's mux socket ($DIPUS_DBCLIENT_MUX, dbclient/cli-dipusmux.c)
# driven directly, as core/ssh.c's importer does, against OpenSSH's sshd and dropbear's
# server: direct-streamlocal channels relayed to handed-over fds (a socketpair end, or
# two pipes), bytes equal both ways with half-close, OPENED/FAILED/CLOSED replies with
# the right ids, 8 at once, the 64-channel bound, refusals (no socket, another user's
# 0600 socket, forwarding off on the server, malformed requests) closing the handed fd,
# no fd leak over 200 channels, the parent going away, dbclient exiting with its session.
# A dropbear server older than 2024.84 has no direct-streamlocal: it must refuse (the
# parent falls back); the pinned dropbear's own server is built from build/src for the rest.
# timeout: 600
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-direct || exit 0
need_cmd ssh-direct python3 || exit 0
python3 -c 'import socket; socket.send_fds' 2>/dev/null || { fail ssh-direct "needs python3 >= 3.9 (socket.send_fds)"; exit 1; }
sshd_start || { fail ssh-direct/setup "sshd did not start"; exit 1; }
dropbear_start || { fail ssh-direct/setup "dropbear did not start"; exit 1; }
DB_VER=$(dropbear -V 2>&1 | sed -n 's/.*v\([0-9.]*\).*/\1/p' | head -n 1)

# sshd with stream-local forwarding off
SSHD2_PORT=$(free_port)
sed -e "s/^Port .*/Port $SSHD2_PORT/" -e "s|^PidFile .*|PidFile $T/sshd2.pid|" "$T/sshd_config" >"$T/sshd2_config"
echo "AllowStreamLocalForwarding no" >>"$T/sshd2_config"
spawn /usr/sbin/sshd -D -e -f "$T/sshd2_config" 2>>"$T/sshd2.log"
ports="$SSHD2_PORT"

# a dropbear server with direct-streamlocal: the installed one if it has it, else the
# pinned version's, built from the extracted source (about 25 s); twice, once with -j
servers="sshd:$SSHD_PORT:full sshd-noforward:$SSHD2_PORT:refused"
DBSRV= DBLOG=-E  # (built without syslog, it logs to stderr and has no -E)
if grep -qa 'direct-streamlocal' "$(command -v dropbear)"; then
	DBSRV=$(command -v dropbear)
else
	servers="$servers dropbear-$DB_VER-no-streamlocal:$DROPBEAR_PORT:refused"
	src=$(ls -d "$TOP"/build/src/dropbear-* 2>/dev/null | head -n 1)
	if [ -n "$src" ]; then
		cp -a "$src" "$T/dbsrv"
		if (cd "$T/dbsrv" && ./configure CC=gcc CFLAGS=-O1 --disable-zlib --disable-pam \
				--disable-syslog --disable-lastlog --disable-utmp --disable-utmpx --disable-wtmp \
				--disable-wtmpx --enable-bundled-libtom && \
				MAKEFLAGS="${MAKEFLAGS:+${MAKEFLAGS%% -- *}}" make -j2 PROGRAMS=dropbear dropbear) \
				>"$T/dbsrv.log" 2>&1; then
			DBSRV=$T/dbsrv/dropbear DBLOG=
		else
			fail ssh-direct/setup "building dropbear's server from $src: $(tail -c 300 "$T/dbsrv.log")"
		fi
	else
		fail ssh-direct/dropbear "dropbear $DB_VER has no direct-streamlocal and build/src has no dropbear source (make extracts it)"
	fi
fi
if [ -n "$DBSRV" ]; then
	v=$("$DBSRV" -V 2>&1 | sed -n 's/.*v\([0-9.]*\).*/\1/p' | head -n 1)
	DB3_PORT=$(free_port)
	spawn "$DBSRV" -F $DBLOG -s -p "127.0.0.1:$DB3_PORT" -r "$T/keys/host.dropbear" -P "$T/dropbear3.pid" 2>>"$T/dropbear3.log"
	DB4_PORT=$(free_port)
	spawn "$DBSRV" -F $DBLOG -s -j -p "127.0.0.1:$DB4_PORT" -r "$T/keys/host.dropbear" -P "$T/dropbear4.pid" 2>>"$T/dropbear4.log"
	ports="$ports $DB3_PORT $DB4_PORT"
	servers="$servers dropbear-$v:$DB3_PORT:full dropbear-$v-noforward:$DB4_PORT:refused"
fi
for p in $ports; do
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" || { fail ssh-direct/setup "a server on port $p did not start"; exit 1; }
done

# remote services (plain sockets, no dipus on the far side): an echo and a 64 MiB
# source of the ssh user, and a 0600 socket of another user
D=$T/svc D2=$T/svc2
mkdir -p "$D" "$D2"
chown "$SSH_USER:" "$D"; chown "$SSH_USER2:" "$D2"; chmod 755 "$D" "$D2"
head -c 67108864 /dev/urandom >"$T/src"; chmod 644 "$T/src"
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$D/echo.sock",fork,mode=666,backlog=128 EXEC:cat
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$D/src.sock",fork,mode=666,backlog=128 SYSTEM:"cat $T/src"
spawn_as "$SSH_USER2" socat UNIX-LISTEN:"$D2/secret.sock",fork,mode=600 SYSTEM:"echo top secret"
for s in "$D/echo.sock" "$D/src.sock" "$D2/secret.sock"; do wait_for 10 test -S "$s"; done

cat >"$T/mux.py" <<'PYEOF'
# mux.py DIPUS PORT USER KEY TAG SVCDIR SECRET SRCFILE MODE: drive dbclient's mux socket
# ($DIPUS_DBCLIENT_MUX) against one SSH server; prints PASS:/FAIL: lines.
# MODE full: the server allows stream-local forwarding; refused: it does not.
import hashlib, os, select, socket, struct, subprocess, sys, threading, time

dipus, port, user, key, tag, svc, secret, srcfile, mode = sys.argv[1:10]
ECHO, SRC = svc + "/echo.sock", svc + "/src.sock"
OPENED, FAILED, CLOSED = 1, 2, 3
TMO = 60

def out(ok, name, why=""):
    print(("PASS: %s/%s" % (tag, name)) if ok else ("FAIL: %s/%s: %s" % (tag, name, why)), flush=True)
    return ok

mux, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
stdin_r, stdin_w = os.pipe()
errf = open(os.environ.get("MUX_ERR", "/dev/null"), "w")
p = subprocess.Popen([dipus, "dbclient", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                      "-W", "2097152", "-i", key, "-p", port, "-l", user, "127.0.0.1", "cat >/dev/null"],
                     stdin=stdin_r, stdout=subprocess.DEVNULL, stderr=errf, pass_fds=[child.fileno()],
                     env=dict(os.environ, DIPUS_DBCLIENT_MUX=str(child.fileno())))
child.close()
os.close(stdin_r)

pending = []  # replies read while waiting for another one

def reply(want_id, timeout=TMO):
    """the next reply for want_id: (kind, text), or None on timeout/EOF"""
    end = time.time() + timeout
    while True:
        for r in pending:
            if r[0] == want_id:
                pending.remove(r)
                return r[1], r[2]
        left = end - time.time()
        if left <= 0 or not select.select([mux], [], [], left)[0]:
            return None
        d = mux.recv(256)
        if len(d) < 5:
            return None
        # FAILED carries the SSH reason code (u8) before its text (doc/ssh.md)
        text = d[6:] if d[4] == FAILED else d[5:]
        pending.append((struct.unpack(">I", d[:4])[0], d[4], text.decode("ascii", "replace")))

def request(i, path, fds, raw=None):
    b = path.encode()
    msg = raw if raw is not None else struct.pack(">IH", i, len(b)) + b
    if fds:
        socket.send_fds(mux, [msg], fds)
    else:
        mux.send(msg)

def nfds():
    return len(os.listdir("/proc/%d/fd" % p.pid))

def zombies():
    n = 0
    for d in os.listdir("/proc"):
        try:
            st = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
            if st[0] == "Z" and int(st[1]) == p.pid:
                n += 1
        except (OSError, IndexError, ValueError):
            pass
    return n

def read_all(s):
    h, n = hashlib.sha256(), 0
    while True:
        d = s.recv(1 << 16) if isinstance(s, socket.socket) else os.read(s, 1 << 16)
        if not d:
            return h.hexdigest(), n
        h.update(d)
        n += len(d)

def open_pair(i, path):
    """a socketpair end handed over for path; returns (our end, reply)"""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.settimeout(TMO)
    request(i, path, [b.fileno()])
    r = reply(i)
    b.close()  # dbclient owns (or closed) its copy now
    return a, r

def echo_trip(a, data):
    """send data, half-close, read all back: the echo's sha256 equals ours?"""
    def w():
        try:
            a.sendall(data)
            a.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=w)
    t.start()
    got, n = read_all(a)
    t.join()
    a.close()
    return got == hashlib.sha256(data).hexdigest(), n

def sees_eof(s):
    s.settimeout(10)
    try:
        return s.recv(1) == b""
    except OSError:
        return False

# dbclient says READY (id 0) once it watches the mux: the parent asks nothing before
r = reply(0)
out(r == (0, ""), "ready-first", "reply %r" % (r,))

if mode == "refused":
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    request(1, ECHO, [b.fileno()])
    b.close()
    r = reply(1)
    out(r is not None and r[0] == FAILED, "forwarding-off-failed", "reply %r" % (r,))
    out(r is not None and "refused by the server" in r[1], "forwarding-off-reason (%s)" % (r[1] if r else ""), "reply %r" % (r,))
    out(sees_eof(a), "forwarding-off-fd-closed", "the handed fd is still open")
else:
    # 1. a socketpair end: 64 MiB from a remote source, sha256 equal
    want = hashlib.sha256(open(srcfile, "rb").read()).hexdigest()
    a, r = open_pair(1, SRC)
    if out(r == (OPENED, ""), "src-opened", "reply %r" % (r,)):
        got, n = read_all(a)
        a.close()
        out(got == want, "src-64MiB-sha256", "%d bytes, sha differs" % n)
        r = reply(1)
        out(r == (CLOSED, ""), "src-closed", "reply %r" % (r,))
    base = nfds()
    # the echo, half-close: send all, SHUT_WR, read all back
    a, r = open_pair(2, ECHO)
    if out(r == (OPENED, ""), "echo-opened", "reply %r" % (r,)):
        ok, n = echo_trip(a, os.urandom(16 << 20))
        out(ok, "echo-half-close-16MiB-sha256", "%d bytes back, sha differs" % n)
        r = reply(2)
        out(r == (CLOSED, ""), "echo-closed", "reply %r" % (r,))

    # 2. the 2-fd form: pipes (read side, write side)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    request(3, ECHO, [in_r, out_w])
    r = reply(3)
    os.close(in_r)
    os.close(out_w)
    if out(r == (OPENED, ""), "pipes-opened", "reply %r" % (r,)):
        data = os.urandom(16 << 20)
        def w():
            v = memoryview(data)
            while v:
                v = v[os.write(in_w, v[:1 << 16]):]
            os.close(in_w)
        t = threading.Thread(target=w)
        t.start()
        got, n = read_all(out_r)
        t.join()
        os.close(out_r)
        out(got == hashlib.sha256(data).hexdigest(), "pipes-echo-16MiB-sha256", "%d bytes back" % n)
        r = reply(3)
        out(r == (CLOSED, ""), "pipes-closed", "reply %r" % (r,))
    else:
        os.close(in_w)
        os.close(out_r)

    # 3. 8 channels at once: OPENED for each id, data both ways, CLOSED for each id
    ids = list(range(100, 108))
    socks = {}
    for i in ids:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        a.settimeout(TMO)
        request(i, ECHO, [b.fileno()])
        b.close()
        socks[i] = a
    rs = {i: reply(i) for i in ids}
    out(all(rs[i] == (OPENED, "") for i in ids), "concurrent-8-opened", "replies %r" % rs)
    res = {}
    def trip(i):
        res[i] = echo_trip(socks[i], os.urandom((1 << 20) + i))[0]
    ts = [threading.Thread(target=trip, args=(i,)) for i in ids]
    for t in ts: t.start()
    for t in ts: t.join()
    out(all(res.get(i) for i in ids), "concurrent-8-echo-sha256", "results %r" % res)
    rs = {i: reply(i) if rs[i] == (OPENED, "") else None for i in ids}
    out(all(rs[i] == (CLOSED, "") for i in ids), "concurrent-8-closed", "replies %r" % rs)

    # 4. refused by the server: no such socket, another user's 0600 socket
    for i, name, path in ((200, "no-such-socket", svc + "/nosuch.sock"), (201, "other-users-0600-socket", secret)):
        a, r = open_pair(i, path)
        out(r is not None and r[0] == FAILED and r[1].startswith("refused by the server"),
            "%s-failed (%s)" % (name, r[1] if r else ""), "reply %r" % (r,))
        out(sees_eof(a), name + "-fd-closed", "the handed fd is still open")
        a.close()
    # refused here: malformed requests; the handed fds are closed all the same
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    request(0, "", [b.fileno()], raw=struct.pack(">IH", 300, 9) + b"/short")
    b.close()
    r = reply(300)
    out(r is not None and r[0] == FAILED and "bad request" in r[1], "bad-length-failed", "reply %r" % (r,))
    out(sees_eof(a), "bad-length-fd-closed", "the handed fd is still open")
    request(0, "", [], raw=struct.pack(">IH", 301, len(ECHO)) + ECHO.encode())
    r = reply(301)
    out(r is not None and r[0] == FAILED, "no-fd-failed", "reply %r" % (r,))
    pr, pw = os.pipe()
    request(302, ECHO, [pr])
    os.close(pr)
    r = reply(302)
    out(r is not None and r[0] == FAILED and "socket" in r[1], "one-fd-not-a-socket-failed", "reply %r" % (r,))
    try:
        os.write(pw, b"x")
        out(False, "one-fd-not-a-socket-fd-closed", "the pipe still has a reader")
    except BrokenPipeError:
        out(True, "one-fd-not-a-socket-fd-closed")
    os.close(pw)

    # the bound: 64 direct channels at once, the 65th is refused
    held = {}
    for i in range(400, 464):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request(i, ECHO, [b.fileno()])
        b.close()
        held[i] = a
    rs = {i: reply(i) for i in held}
    out(all(rs[i] == (OPENED, "") for i in held), "64-open", "replies %r" % [(i, rs[i]) for i in held if rs[i] != (OPENED, "")][:4])
    a, r = open_pair(464, ECHO)
    out(r == (FAILED, "too many direct channels"), "65th-failed", "reply %r" % (r,))
    a.close()
    if r == (OPENED, ""):
        reply(464)
    for a in held.values(): a.close()
    rs = {i: reply(i) if rs[i] == (OPENED, "") else None for i in held}
    out(all(rs[i] == (CLOSED, "") for i in held), "64-closed", "replies %r" % [(i, rs[i]) for i in held if rs[i] != (CLOSED, "")][:4])

    # 6. no fd leak after 200 sequential channels, no zombies
    bad = 0
    for k in range(200):
        a, r = open_pair(1000 + k, ECHO)
        if r != (OPENED, "") or not echo_trip(a, b"x" * (k + 1))[0] or reply(1000 + k) != (CLOSED, ""):
            bad += 1
    out(bad == 0, "sequential-200", "%d failed" % bad)
    n = nfds()
    out(n == base, "no-fd-leak (%d fds)" % n, "%d fds, %d at the start" % (n, base))
    out(zombies() == 0, "no-zombies", "%d zombie children" % zombies())

    # mux EOF: the parent goes away; an open channel runs to its end, then dbclient exits
    a, r = open_pair(2000, ECHO)
    mux.close()
    mux = None
    ok = r == (OPENED, "") and echo_trip(a, os.urandom(1 << 20))[0]
    out(ok, "mux-eof-channel-continues", "reply %r" % (r,))
    out(p.poll() is None, "mux-eof-dbclient-stays", "exited %r" % p.poll())

# the session channel ends (its remote cat sees EOF): dbclient exits, no channel keeps it
os.close(stdin_w)
try:
    rc = p.wait(20)
    out(rc == 0, "dbclient-exits-with-session", "exit %d" % rc)
except subprocess.TimeoutExpired:
    p.kill()
    out(False, "dbclient-exits-with-session", "still running 20 s after its session ended")
PYEOF

for entry in $servers; do
	IFS=: read -r server port mode <<<"$entry"
	MUX_ERR=$T/dbclient-$server.err python3 "$T/mux.py" "$DIPUS" "$port" "$SSH_USER" \
		"$T/clienthome/.ssh/id_dropbear" "ssh-direct/$server" "$D" "$D2/secret.sock" "$T/src" "$mode"
	rc=$?
	[ $rc = 0 ] || fail "ssh-direct/$server/helper" "exited $rc: $(tail -c 300 "$T/dbclient-$server.err")"
done
