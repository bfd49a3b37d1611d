# issue-11-item: 1
# adv-backlog.sh: a service whose listen backlog is full must not freeze the exporter or
# serve --stdio. A trap socket (listen(0), never accepts) in exported/; three CONNECTs
# to it; meanwhile another peer's 3 MiB transfer and PINGs, and a transfer on the trap's
# own session, must complete (sha256 equal) while the trap still accepts nobody. Then
# the trap lets go: every trap CONNECT gets its answer (ACCEPT, or a RESET with a clear
# code) and the server still serves. No timing decides: a frozen loop never completes
# the transfer while the trap holds, and the test's own deadline (30 s) catches that.
# timeout: 240
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-backlog
need_cmd adv-backlog python3 || exit 0
need_cmd adv-backlog socat || exit 0

service in_exp echo test 'cat' || { fail adv-backlog/setup "echo service did not appear"; exit 1; }
exporter_start || { fail adv-backlog/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
export PORT EXP_ROOT EXP_CONF CLI_CONF T

python3 - <<'EOF'
import os, sys, threading
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp

env = os.environ
c = sp.Checks("adv-backlog/")
data = sp.pattern(3 * 1024 * 1024 + 5)
HOLD = 30   # seconds a frozen server would need to be forgiven: never reached when it works

def run(label, make_a, make_b, trap_path):
    trap = sp.trap_socket(trap_path)
    a = sp.Peer(make_a())
    a.handshake()
    b = sp.Peer(make_b()) if make_b else a
    if b is not a:
        b.handshake()
    traps = [a.connect("trap") for _ in range(3)]
    # while the trap accepts nobody: a transfer on the other session (or the same one
    # for serve --stdio, which is one session) and PINGs on both
    try:
        out = b.transfer("echo", data, timeout=HOLD)
        c.eq(label + "/transfer-while-trapped-sha256", sp.sha256(data), sp.sha256(out))
        b.ping(timeout=HOLD)
        a.ping(timeout=HOLD)
        c.ok(label + "/pings-answered-while-trapped", True)
        out = a.transfer("echo", data[:200000], timeout=HOLD)
        c.eq(label + "/same-session-transfer-while-trapped", sp.sha256(data[:200000]), sp.sha256(out))
    except sp.SepError as e:
        c.ok(label + "/server-keeps-serving-while-trapped", False,
             "stalled behind a full backlog: %s (trap channels: %r)" % (e, traps))
    # let go: accept whatever is queued, from now on
    stop = threading.Event()
    def drain():
        trap.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                held.append(trap.accept()[0])
            except OSError:
                pass
        for s in held:
            s.close()
    th = threading.Thread(target=drain)
    th.start()
    try:
        a.wait(lambda: all(t.answered for t in traps), HOLD, "answers to the trap CONNECTs")
        c.ok(label + "/trap-connects-answered", True)
        codes = [t.reset[0] for t in traps if t.reset]
        c.ok(label + "/trap-refusals-have-a-clear-code",
             all(x in (sp.E_REFUSED, sp.E_TIMEOUT, sp.E_LIMIT) for x in codes),
             "codes %s" % [sp.code_name(x) for x in codes])
    except sp.SepError as e:
        c.ok(label + "/trap-connects-answered", False, "%s: %r" % (e, traps))
    try:
        out = b.transfer("echo", b"after")
        c.eq(label + "/serves-after", b"after", out)
    except sp.SepError as e:
        c.ok(label + "/serves-after", False, repr(e))
    stop.set()
    th.join()
    trap.close()
    os.unlink(trap_path)
    for p in {a, b}:
        p.close()

tls = lambda: sp.tls("127.0.0.1", int(env["PORT"]), env["CLI_CONF"])
run("exporter", tls, tls, env["EXP_ROOT"] + "/exported/test/trap.exp...0")
senv = dict(env, DIPUS_HOST="exp", DIPUS_ROOT=env["EXP_ROOT"], DIPUS_CONF=env["EXP_CONF"])
stdio = lambda: sp.stdio([env["DIPUS"], "serve", "--stdio"], env=senv,
                         stderr=open(env["T"] + "/serve.err", "a"))
run("serve-stdio", stdio, None, env["EXP_ROOT"] + "/exported/test/trap.exp...0")
sys.exit(c.status())
EOF
