# issue-11-item: 9
# adv-query.sh: queries that are not service names are BADQUERY, and a frame a channel
# cannot take is answered, not ignored. CONNECT of `.tmp.1.0` (a publisher's temporary
# name), `...` and `echo.` must be RESET with BADQUERY (not REFUSED or NOSERVICE), from
# the exporter and from serve --stdio; WINDOW on a WATCH channel must be answered with
# an error (RESET of that channel or GOAWAY PROTOCOL) before the PONG of a PING sent
# after it: the server handles frames in order, so a PONG first means it was ignored.
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-query
need_cmd adv-query python3 || exit 0
need_cmd adv-query socat || exit 0

service in_exp echo test 'cat' || { fail adv-query/setup "echo service did not appear"; exit 1; }
exporter_start || { fail adv-query/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
export PORT EXP_ROOT EXP_CONF CLI_CONF T

python3 - <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp

env = os.environ
c = sp.Checks("adv-query/")
tls = lambda: sp.tls("127.0.0.1", int(env["PORT"]), env["CLI_CONF"])
senv = dict(env, DIPUS_HOST="exp", DIPUS_ROOT=env["EXP_ROOT"], DIPUS_CONF=env["EXP_CONF"])
stdio = lambda: sp.stdio([env["DIPUS"], "serve", "--stdio"], env=senv,
                         stderr=open(env["T"] + "/serve.err", "a"))

for label, make in (("exporter", tls), ("serve-stdio", stdio)):
    p = sp.Peer(make())
    p.handshake()
    # a temporary publish name, exactly as a publisher makes it, so it could match
    tmp = env["EXP_ROOT"] + "/exported/test/.tmp.1.0"
    import socket
    live = socket.socket(socket.AF_UNIX)
    live.bind(tmp)
    os.chmod(tmp, 0o666)
    live.listen(8)
    for q in (".tmp.1.0", "...", "echo."):
        ch = p.connect(q)
        p.send_eof(ch)
        try:
            p.wait(lambda: ch.answered, 10, "an answer to CONNECT %r" % q)
            got = sp.code_name(ch.reset[0]) if ch.reset else "ACCEPT"
            c.eq("%s/connect-%r-is-BADQUERY" % (label, q), "BADQUERY", got)
        except sp.SepError as e:
            c.ok("%s/connect-%r-is-BADQUERY" % (label, q), False, repr(e))
    live.close()
    os.unlink(tmp)
    out = p.transfer("echo", b"still fine")
    c.eq(label + "/the-session-goes-on", b"still fine", out)
    # WINDOW on a WATCH channel, then a PING
    w = p.watch("", timeout=10)
    p.send_frame(sp.WINDOW, w.id, sp.window_payload(4096))
    ping = b"afterwin"
    p.send_frame(sp.PING, 0, ping)
    try:
        p.wait(lambda: ping in p.pongs or w.reset or p.goaway, 10, "an answer")
    except sp.GoAway:
        pass
    except sp.SepError as e:
        c.ok(label + "/window-on-watch-is-an-error", False, repr(e))
        continue
    err_seq = w.reset_seq if w.reset else (p.seq if p.goaway else None)
    pong_seq = p.pongs.get(ping)
    c.ok(label + "/window-on-watch-is-an-error",
         err_seq is not None and (pong_seq is None or err_seq < pong_seq) and
         (w.reset is not None or p.goaway[0] == sp.E_PROTOCOL),
         "WINDOW on WATCH channel %d ignored: PONG came (seq %s) with no RESET/GOAWAY before it; "
         "reset %r goaway %r" % (w.id, pong_seq, w.reset, p.goaway))
    p.close()
sys.exit(c.status())
EOF
