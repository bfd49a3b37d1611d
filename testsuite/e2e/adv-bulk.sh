# adv-bulk.sh: an importer's proxy creation is linear in the number of remote
# services (doc/namespace.md, "Publishing"; issue 11 item 7). A bulk exporter (the SEP
# peer library as a server) offers 2000 instances of one name; the importer makes all
# 2000 proxies (1000 at 0..999, the rest at random numbers above), with about one
# rename per proxy (counted with strace: trying every taken slot again, as before,
# costs ~500,000 for the first 1000 alone), and not one CONNECT reaches the exporter
# from choosing slots. On SIGTERM every proxy goes.
# timeout: 240
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-bulk
need_cmd adv-bulk python3 || exit 0
need_cmd adv-bulk strace || exit 0
export CLI_ROOT CLI_CONF T
python3 - <<'PY'
import os, signal, subprocess, sys, time
sys.path.insert(0, os.environ["TOP"] + "/testsuite/lib")
import sep_peer as sp

c = sp.Checks("adv-bulk/")
env = os.environ
N = int(env.get("ADV_BULK_N", "2000"))  # (more, by hand: the 5000 of the issue)
lst = sp.Listener()
log = open(env["T"] + "/import.log", "wb")
trace = env["T"] + "/renames"
# the renames of the importer (the proxies' placing), counted by the kernel's view
imp = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=rename,renameat,renameat2", "-o", trace,
                        env["DIPUS"], "import", "sep+plain://127.0.0.1:%d" % lst.port],
                       stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                       env=dict(env, DIPUS_HOST="cli", DIPUS_ROOT=env["CLI_ROOT"], DIPUS_CONF=env["CLI_CONF"]))
d = env["CLI_ROOT"] + "/imported/x"
def idle(p):
    try:
        p.poll(timeout=0.5, raise_goaway=False)  # answers PINGs, takes OPENs
    except sp.Timeout:
        pass
def proxies():
    try:
        return [f for f in os.listdir(d) if f.startswith("bulk.evil...")]
    except OSError:
        return []
try:
    p = lst.accept(timeout=30)
    p.handshake(timeout=30)
    ch = p.next_open(timeout=30)
    c.eq("the importer WATCHes", sp.OP_WATCH, ch.op)
    p.accept(ch)
    for i in range(N):
        p.send_record(ch, sp.PRESENT, sp.SCOPE_EXPORTED, i, "bulk", "evil", "x")
    p.send_record(ch, sp.SYNC, 0, 0, "", "", "")
    p.flush(timeout=60)
    # bounded, not timed: a generous limit for a loaded machine
    end = time.monotonic() + 150
    while len(proxies()) < N and time.monotonic() < end and imp.poll() is None:
        idle(p)
    got = proxies()
    c.eq("all %d proxies are made" % N, N, len(got))
    nums = sorted(int(f.rsplit("...", 1)[1]) for f in got)
    c.ok("1000 take 0..999, the others numbers above", nums[:1000] == list(range(1000)) and
         len(got) == N and all(n > 999 for n in nums[1000:]), "first %r last %r" % (nums[:3], nums[-3:]))
    idle(p)
    conns = [o for o in p.opens if o.op == sp.OP_CONNECT]
    c.eq("no CONNECT reaches the exporter from choosing slots", 0, len(conns))
    # the importer is strace's child: the signal goes to it, strace ends with it
    kids = open("/proc/%d/task/%d/children" % (imp.pid, imp.pid)).read().split()
    c.eq("the importer runs under strace", 1, len(kids))
    os.kill(int(kids[0]), signal.SIGTERM)
    imp.wait(timeout=60)
    c.eq("on SIGTERM every proxy goes", 0, len(proxies()))
    renames = sum(1 for l in open(trace) if "rename" in l)
    c.ok("about one rename per proxy (%d for %d)" % (renames, N), N <= renames <= N + N // 2,
         "%d renames" % renames)
    p.close()
except Exception as e:
    c.ok("bulk import", False, repr(e))
finally:
    if imp.poll() is None:
        imp.kill()
        imp.wait()
    lst.close()
log.close()
errs = open(env["T"] + "/import.log", errors="replace").read()
c.ok("the importer logged no failure", "cannot make a proxy" not in errs, errs[-400:])
sys.exit(c.status())
PY
