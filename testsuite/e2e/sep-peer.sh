# sep-peer.sh: the adversarial harness (testsuite/lib/sep_peer.py) checked against the
# real thing, so a failure in an adv-*.sh test is dipus's, not the harness's: as a
# client over TLS 1.3 (client certificate from keygen), plain TCP and a pipe to
# `serve --stdio` it lists, transfers (sha256 equal), PINGs, and malformed frames get
# the documented GOAWAY; as a malicious server, dls lists what it offers and a
# malformed RECORD gets dls's GOAWAY PROTOCOL.
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-peer
need_cmd sep-peer python3 || exit 0
need_cmd sep-peer socat || exit 0

service in_exp echo test 'cat' || { fail sep-peer/setup "echo service did not appear"; exit 1; }
exporter_start || { fail sep-peer/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
TLS_PORT=$PORT
PORT=$(free_port)
exporter_start --plaintext || { fail sep-peer/setup "plaintext exporter did not start"; exit 1; }
PLAIN_PORT=$PORT
# a key for the malicious server, pinned by cli
mkdir -m 700 "$T/evil"
DIPUS_CONF=$T/evil "$DIPUS" keygen >/dev/null 2>&1 || { fail sep-peer/setup "keygen for the fake server"; exit 1; }
export TLS_PORT PLAIN_PORT EXP_ROOT EXP_CONF CLI_ROOT CLI_CONF EXP_FP T

python3 - <<'EOF'
import os, subprocess, sys, time
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp

c = sp.Checks("sep-peer/")
env = os.environ
data = sp.pattern(3 * 1024 * 1024 + 17)

def client_suite(label, make):
    try:
        p = sp.Peer(make())
        h = p.handshake()
        c.eq(label + "/hello-host", "exp", h["host"])
        c.ok(label + "/hello-window", h["window"] >= 1024, "window %d" % h["window"])
        recs = p.list("echo")
        c.eq(label + "/list", [("echo", "exp", "test", sp.SCOPE_EXPORTED, sp.PRESENT)],
             [(r.name, r.host, r.proto, r.scope, r.event) for r in recs])
        out = p.transfer("echo", data)
        c.eq(label + "/transfer-sha256", sp.sha256(data), sp.sha256(out))
        seq = p.ping()
        c.ok(label + "/ping-pong", seq > 0)
        try:
            c.eq(label + "/list-nothing-is-empty", [], p.list("nosuchservice"))
        except Exception as e:
            c.ok(label + "/list-nothing-is-empty", False, repr(e))
        return p
    except Exception as e:
        c.ok(label + "/session", False, repr(e))
        return None

def goaway_case(label, make, raw, want_code, want_text):
    """A session, then raw bytes: the documented GOAWAY (code and reason), then close."""
    try:
        p = sp.Peer(make())
        p.handshake()
        p.send_raw(raw)
        g = p.expect_goaway()
        c.ok(label, g is not None and g[0] == want_code and want_text in g[1],
             "got %r, wanted %s %r" % (g, sp.code_name(want_code), want_text))
        p.close()
    except Exception as e:
        c.ok(label, False, repr(e))

tls = lambda: sp.tls("127.0.0.1", int(env["TLS_PORT"]), env["CLI_CONF"])
plain = lambda: sp.tcp("127.0.0.1", int(env["PLAIN_PORT"]))
senv = dict(env, DIPUS_HOST="exp", DIPUS_ROOT=env["EXP_ROOT"], DIPUS_CONF=env["EXP_CONF"])
stdio = lambda: sp.stdio([env["DIPUS"], "serve", "--stdio"], env=senv,
                         stderr=open(env["T"] + "/serve.err", "a"))

# TLS: the server is the exporter (its fingerprint is keygen's), we are cli's key
t = sp.tls("127.0.0.1", int(env["TLS_PORT"]), env["CLI_CONF"])
c.eq("tls/server-fingerprint-is-keygen's", env["EXP_FP"], sp.peer_fingerprint(t))
c.eq("tls/version", "TLSv1.3", t.sock.version())
t.close()
for label, make in (("tls", tls), ("plain", plain), ("stdio", stdio)):
    p = client_suite(label, make)
    if p:
        p.close()

# serve --stdio speaks version 2 and says where its sockets are (PATHS)
p = sp.Peer(stdio())
p.handshake()
p.ping()
c.ok("stdio/paths", p.paths is not None and (sp.SCOPE_EXPORTED, env["EXP_ROOT"] + "/exported") in p.paths,
     "PATHS %r" % (p.paths,))
p.close()

# malformed frames: the GOAWAYs of doc/sep.md 9
for label, make in (("tls", tls), ("plain", plain), ("stdio", stdio)):
    goaway_case(label + "/unknown-type", make, sp.frame(99, 0, b""), sp.E_PROTOCOL, "unknown frame type 99")
    goaway_case(label + "/oversized-frame", make, sp.frame(sp.DATA, 1, b"", length=sp.MAX_PAYLOAD + 1),
                sp.E_PROTOCOL, "over the limit")
    goaway_case(label + "/frame-on-unopened-channel", make, sp.frame(sp.EOF, 7), sp.E_PROTOCOL, "never opened")
    goaway_case(label + "/ping-not-8-bytes", make, sp.frame(sp.PING, 0, b"abc"), sp.E_PROTOCOL, "")
goaway_case("plain/channel-id-reused", plain,
            sp.frame(sp.OPEN, 5, sp.open_payload(sp.OP_LIST, "echo")) +
            sp.frame(sp.OPEN, 5, sp.open_payload(sp.OP_LIST, "echo")), sp.E_PROTOCOL, "")
# before HELLO: a bad preface and a first frame that is not HELLO
try:
    p = sp.Peer(plain())
    p.send_raw(b"GET / HTTP/1.0\r\n\r\n")
    c.ok("plain/bad-preface-closes", p.expect_closed(), "still open")
    p = sp.Peer(plain())
    p.send_raw(sp.PREFACE + sp.frame(sp.PING, 0, b"12345678"))
    p.expect_hello()
    g = p.expect_goaway()
    c.ok("plain/first-frame-not-hello", g is not None and g[0] == sp.E_PROTOCOL, "got %r" % (g,))
except Exception as e:
    c.ok("plain/before-hello", False, repr(e))

# the malicious server side: dls against it
def fake_server(label, lst, uri, records, want_rc, want_out, want_goaway=None):
    try:
        proc = subprocess.Popen([env["DIPUS"], "dls", "-1", uri], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=dict(env, DIPUS_HOST="cli",
                                DIPUS_ROOT=env["CLI_ROOT"], DIPUS_CONF=env["CLI_CONF"]))
        p = lst.accept()
        p.handshake()
        ch = p.next_open()
        c.eq(label + "/dls-opens-a-LIST", sp.OP_LIST, ch.op)
        p.accept(ch)
        for r in records:
            p.send_frame(sp.RECORD, ch.id, r)
        p.send_eof(ch)
        if want_goaway is not None:
            g = p.expect_goaway()
            c.ok(label + "/goaway", g is not None and g[0] == want_goaway, "got %r" % (g,))
        out, err = proc.communicate(timeout=20)
        rc_ok = proc.returncode != 0 if want_rc is None else proc.returncode == want_rc
        c.ok(label + "/dls", rc_ok and want_out in out.decode(),
             "rc %d out %r err %r" % (proc.returncode, out, err))
        p.close()
    except Exception as e:
        c.ok(label, False, repr(e))

good = sp.record_payload(sp.PRESENT, sp.SCOPE_EXPORTED, 0, "lame", "evil", "audio/mpeg")
lst = sp.Listener()
fake_server("server-plain", lst, "sep+plain://127.0.0.1:%d" % lst.port, [good], 0, "lame.evil")
bad = sp.record_payload(sp.PRESENT, sp.SCOPE_EXPORTED, 0, "la/me", "evil", "audio/mpeg")
fake_server("server-bad-record", lst, "sep+plain://127.0.0.1:%d" % lst.port, [bad], None, "", sp.E_PROTOCOL)
lst.close()
# over TLS: cli pins the fake server's key (trust --yes), then dls sep:// lists it
import threading
lst = sp.Listener(tls_conf=env["T"] + "/evil")
def one_handshake():
    try:
        lst.accept(timeout=20).close()
    except Exception:
        pass
th = threading.Thread(target=one_handshake)
th.start()
r = subprocess.run([env["DIPUS"], "trust", "--yes", "sep://127.0.0.1:%d" % lst.port],
                   env=dict(env, DIPUS_HOST="cli", DIPUS_ROOT=env["CLI_ROOT"], DIPUS_CONF=env["CLI_CONF"]),
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
th.join()
c.ok("server-tls/trust-pins-it", r.returncode == 0, "rc %d %r" % (r.returncode, r.stderr))
fake_server("server-tls", lst, "sep://127.0.0.1:%d" % lst.port, [good], 0, "lame.evil")
lst.close()
sys.exit(c.status())
EOF
