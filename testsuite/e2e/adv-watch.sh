# issue-11-item: 4
# adv-watch.sh: one peer must not break WATCH for everyone. Peer A opens 300 WATCH
# channels (more than fs.inotify.max_user_instances, 128 by default); every refusal
# must carry LIMIT (not BADQUERY), and then peer B's WATCH must still get its snapshot
# and the APPEARED record of a new service. The exporter runs as a user made for this
# test (-u), so the inotify budget it may exhaust is nobody else's.
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-watch
need_root adv-watch || exit 0
need_cmd adv-watch python3 || exit 0
need_cmd adv-watch socat || exit 0
WU=dipus_t_w$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$WU" || { fail adv-watch/setup "useradd $WU"; exit 1; }
cleanup_user() { userdel "$WU"; }
on_exit cleanup_user

service in_exp echo test 'cat' || { fail adv-watch/setup "echo service did not appear"; exit 1; }
exporter_start -u "$WU" --max-channels 1024 || { fail adv-watch/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
export PORT EXP_ROOT CLI_CONF

python3 - <<'EOF'
import os, socket, sys
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp

env = os.environ
c = sp.Checks("adv-watch/")
N = 300
tls = lambda: sp.tls("127.0.0.1", int(env["PORT"]), env["CLI_CONF"])
try:
    a = sp.Peer(tls())
    a.handshake()
    chans = [a.watch("") for _ in range(N)]
    a.wait(lambda: all(ch.reset or any(r.event == sp.SYNC for r in ch.records) for ch in chans),
           60, "an answer to each of %d WATCHes" % N)
    refused = [ch.reset for ch in chans if ch.reset]
    print("# %d of %d WATCH channels accepted; refusals: %s" % (N - len(refused), N,
          sorted({sp.code_name(r[0]) for r in refused})), file=sys.stderr)
    c.ok("refusals-carry-LIMIT", all(r[0] == sp.E_LIMIT for r in refused),
         "codes %s, e.g. %r" % (sorted({sp.code_name(r[0]) for r in refused}), refused[:1]))
    a.ping()
    c.ok("the-watching-session-lives-on", a.goaway is None, repr(a.goaway))
except sp.SepError as e:
    c.ok("300-watches-answered", False, repr(e))

# another peer, after that: its WATCH works, snapshot and changes
try:
    b = sp.Peer(tls())
    b.handshake()
    w = b.watch("", timeout=20)
    c.ok("another-peer's-watch-has-its-snapshot",
         any(r.event == sp.PRESENT and r.name == "echo" for r in w.records), repr(w.records))
    d = env["EXP_ROOT"] + "/exported/test"
    s = socket.socket(socket.AF_UNIX)
    s.bind(d + "/fresh.exp...0")
    os.chmod(d + "/fresh.exp...0", 0o666)
    s.listen(4)
    b.wait(lambda: any(r.event == sp.APPEARED and r.name == "fresh" for r in w.records) or w.reset,
           20, "APPEARED fresh")
    c.ok("another-peer's-watch-sees-a-new-service", w.reset is None, repr(w.reset))
    s.close()
except sp.SepError as e:
    c.ok("another-peer's-watch", False, repr(e))
sys.exit(c.status())
EOF
