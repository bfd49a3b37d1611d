# adv-cut.sh: what a client of an import proxy sees when the session behind it is lost
# (doc/import.md, "A lost session"). A UNIX socket carries no reset of its own: the
# proxy closes the connection at once, with whatever the exporter had sent and the
# client had not read yet dropped. A client still sending gets an error (EPIPE, or
# ECONNRESET when it had bytes the proxy had not taken), never a quiet end; a client
# that only reads gets EOF, as at a clean end, and the proxy's socket is gone at that
# point (how it can tell); a service's own clean end is a clean EOF with every byte.
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-cut
need_cmd adv-cut python3 || exit 0
need_cmd adv-cut socat || exit 0
head -c 300000 /dev/urandom >"$T/src.bin"
service in_exp src test "cat '$T/src.bin'" || { fail adv-cut/setup "src service did not appear"; exit 1; }
service in_exp sink test 'cat >/dev/null' || { fail adv-cut/setup "sink service did not appear"; exit 1; }
service in_exp endless test 'yes adv-cut' || { fail adv-cut/setup "endless service did not appear"; exit 1; }
exporter_start || { fail adv-cut/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
# under strace (every system call stopped and resumed) the importer is slow enough that
# a client woken by its EOF would look before the proxies are removed, were they removed
# after the connections end (as they were)
IMP_LOG=$T/import.log
spawn "${CLI_ENV[@]}" strace -f -qq -o /dev/null "$DIPUS" import "sep://127.0.0.1:$PORT"
IMP_PID=$SPAWNED
wait_for 15 sh -c "[ \$(find '$CLI_ROOT/imported' -type s | wc -l) -ge 3 ]" ||
	{ fail adv-cut/setup "proxies did not appear: $(tail -n 5 "$IMP_LOG")"; exit 1; }
export T SRC=$(proxy src) SINK=$(proxy sink) ENDLESS=$(proxy endless)
export KILL_PID=$(applet_pid "$EXP_PID" exporter)
python3 - <<'PY'
import errno, hashlib, os, select, signal, socket, sys, time
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp
c, env = sp.Checks("adv-cut/"), os.environ

def conn(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    return s

# a service's own end: every byte, then a clean EOF
s = conn(env["SRC"])
s.shutdown(socket.SHUT_WR)
got = bytearray()
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    end = "eof"
except OSError as e:
    end = "error %s" % e
s.close()
c.eq("a service's clean end is a clean EOF", "eof", end)
c.eq("...with every byte", hashlib.sha256(open(env["T"] + "/src.bin", "rb").read()).hexdigest(),
     hashlib.sha256(got).hexdigest())

# a sender and a reader, both in the middle of their transfers
w = conn(env["SINK"])
w.setblocking(False)
readers = [conn(env["ENDLESS"]) for _ in range(30)]
first = [r.recv(4096) for r in readers]
c.ok("the readers get data before the cut", all(f.startswith(b"adv-cut") for f in first),
     repr([f[:8] for f in first]))
chunk = b"x" * 65536
sent = 0
for _ in range(20):
    try:
        sent += w.send(chunk)
    except BlockingIOError:
        time.sleep(0.05)
c.ok("the sender's bytes flow before the cut", sent > 0, "sent %d" % sent)
os.kill(int(env["KILL_PID"]), signal.SIGKILL)

# the sender: an error within the bound, never a quiet end
w_end, deadline = None, time.monotonic() + 30
while w_end is None and time.monotonic() < deadline:
    try:
        w.send(chunk)
    except BlockingIOError:
        time.sleep(0.02)
    except OSError as e:
        w_end = errno.errorcode.get(e.errno, str(e.errno))
c.ok("a client still sending gets an error (%s)" % w_end, w_end in ("EPIPE", "ECONNRESET"),
     "got %r" % w_end)
w.close()

# the readers: EOF (a UNIX socket has no reset to give them); at the first EOF, the
# proxy is already gone
ends, gone_at_eof, deadline = {}, None, time.monotonic() + 30
for r in readers:
    r.setblocking(False)
while len(ends) < len(readers) and time.monotonic() < deadline:
    rd, _, _ = select.select([r for r in readers if r not in ends], [], [], 1)
    for r in rd:
        try:
            if r.recv(65536):
                continue
            end = "eof"
        except BlockingIOError:
            continue
        except OSError as e:
            end = errno.errorcode.get(e.errno, str(e.errno))
        if gone_at_eof is None:
            gone_at_eof = not os.path.exists(env["ENDLESS"])
        ends[r] = end
kinds = sorted(set(ends.values()))
c.ok("clients that only read see their connections end (%s)" % kinds,
     len(ends) == len(readers) and set(kinds) <= {"eof", "ECONNRESET"}, "%d of %d: %r" % (len(ends), len(readers), kinds))
c.ok("...and at the first EOF the proxy's socket is already gone (how a client tells a loss)",
     gone_at_eof is True, "gone: %r" % gone_at_eof)
for r in readers:
    r.close()
sys.exit(c.status())
PY
