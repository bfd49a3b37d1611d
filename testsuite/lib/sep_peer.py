"""sep_peer.py: a SEP peer for adversarial tests, written from doc/sep.md (not from core/).

One module, no dependency beyond python3's standard library. It can be the client
(plain TCP, TLS 1.3 with a client certificate from `dipus keygen`, or a pipe pair to
`dipus serve --stdio`) or a malicious server (for importer and dls tests), and it can
send anything at all on the wire: the builders make well-formed frames, send_raw()
sends bytes as given.

    import sys; sys.path.insert(0, TOP + "/testsuite/lib"); import sep_peer as sp
    p = sp.Peer(sp.tls("127.0.0.1", port, conf_dir))   # or sp.tcp(...), sp.stdio([...])
    p.handshake()                                       # preface + HELLO both ways
    recs = p.list("echo")                               # [Record(...)], or raises Reset
    out = p.transfer("echo", b"bytes")                  # CONNECT, send, EOF, read to EOF
    p.ping()                                            # PING, wait for its PONG
    p.send_frame(sp.WINDOW, 0, b"")                     # malformed: a channel frame on 0
    code, text = p.expect_goaway()

Events are dispatched in arrival order and numbered (Peer.seq): each channel keeps the
number of its ACCEPT/RESET/EOF, so a test can assert an order ("the transfer ended
before the trap's CONNECT was answered") instead of a duration.

Server side: sp.Listener(port=0, tls_conf=...) accepts a Peer(role="server");
p.next_open() returns an opened channel, p.accept()/p.send_record()/p.send_eof() or
p.reset() answer it.

Helpers for the tests' hostile environment: trap_socket() (listen(0), never accepts),
idle_flood() (connections that never speak, reopened when closed), Checks (prints
"PASS: name" / "FAIL: name: why"). A small command line (python3 sep_peer.py trap PATH |
flood HOST PORT N SECONDS [STATUS [SOURCE]]) serves shell scripts and bench/soak.
"""

import base64
import errno
import hashlib
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import time
from collections import namedtuple

# ---- constants, doc/sep.md ----
PREFACE = b"SEP/1\r\n"
HELLO, OPEN, ACCEPT, RESET, DATA, EOF, WINDOW, RECORD, PING, PONG, GOAWAY, PATHS = range(1, 13)
TYPE_NAMES = {1: "HELLO", 2: "OPEN", 3: "ACCEPT", 4: "RESET", 5: "DATA", 6: "EOF", 7: "WINDOW",
              8: "RECORD", 9: "PING", 10: "PONG", 11: "GOAWAY", 12: "PATHS"}
OP_LIST, OP_WATCH, OP_CONNECT = 1, 2, 3
(E_OK, E_PROTOCOL, E_VERSION, E_LIMIT, E_NOSERVICE, E_REFUSED, E_BADQUERY, E_INTERNAL,
 E_TIMEOUT, E_SHUTDOWN, E_RESET) = range(11)
CODE_NAMES = ["OK", "PROTOCOL", "VERSION", "LIMIT", "NOSERVICE", "REFUSED", "BADQUERY",
              "INTERNAL", "TIMEOUT", "SHUTDOWN", "RESET"]
PRESENT, APPEARED, VANISHED, SYNC = range(4)
SCOPE_LOCAL, SCOPE_EXPORTED, SCOPE_USERS, SCOPE_IMPORTED = 1, 2, 4, 8
MAX_PAYLOAD = 66560
MAX_DATA = 65536
DEFAULT_WINDOW = 256 * 1024
HEADER = struct.Struct(">IBI")   # length, type, channel


def code_name(c):
    return CODE_NAMES[c] if 0 <= c < len(CODE_NAMES) else "code %d" % c


def type_name(t):
    return TYPE_NAMES.get(t, "type %d" % t)


# ---- frame builders (well-formed unless told otherwise) ----
def _b(s):
    return s.encode() if isinstance(s, str) else bytes(s)


def s8(s):
    s = _b(s)
    return struct.pack(">B", len(s)) + s


def s16(s):
    s = _b(s)
    return struct.pack(">H", len(s)) + s


def frame(ftype, chan=0, payload=b"", length=None):
    """A frame; length overrides the header's payload length (to lie about it)."""
    payload = _b(payload)
    return HEADER.pack(len(payload) if length is None else length, ftype, chan) + payload


def hello_payload(vmin=1, vmax=2, window=DEFAULT_WINDOW, max_channels=1024, host="adv"):
    return struct.pack(">BBIH", vmin, vmax, window, max_channels) + s8(host)


def open_payload(op, query, window=DEFAULT_WINDOW):
    return struct.pack(">BI", op, window) + s16(query)


def code_payload(code, text=""):
    """RESET and GOAWAY: u16 code, u16 text_len, text."""
    return struct.pack(">H", code) + s16(text)


def window_payload(increment):
    return struct.pack(">I", increment)


def record_payload(event, scope, n, name, host, proto):
    return struct.pack(">BBI", event, scope, n) + s8(name) + s8(host) + s16(proto)


def paths_payload(entries):
    """entries: [(scope, "/abs/dir"), ...]"""
    return b"".join(struct.pack(">B", sc) + s8(d) for sc, d in entries)


# ---- parsers ----
Record = namedtuple("Record", "event scope n name host proto")


class Frame(namedtuple("Frame", "type chan payload")):
    @property
    def code(self):
        return struct.unpack(">H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def text(self):
        return self.payload[4:].decode("utf-8", "replace")

    def __repr__(self):
        extra = ""
        if self.type in (RESET, GOAWAY) and self.code is not None:
            extra = " %s %r" % (code_name(self.code), self.text)
        return "<%s ch=%d len=%d%s>" % (type_name(self.type), self.chan, len(self.payload), extra)


def parse_hello(p):
    vmin, vmax, window, maxch, hl = struct.unpack(">BBIHB", p[:9])
    return {"vmin": vmin, "vmax": vmax, "window": window, "max_channels": maxch,
            "host": p[9:9 + hl].decode("utf-8", "replace")}


def parse_open(p):
    op, window, ql = struct.unpack(">BIH", p[:7])
    return op, window, p[7:7 + ql].decode("utf-8", "replace")


def parse_code(p):
    code, tl = struct.unpack(">HH", p[:4])
    return code, p[4:4 + tl].decode("utf-8", "replace")


def parse_record(p):
    event, scope, n = struct.unpack(">BBI", p[:6])
    i = 6
    nl = p[i]
    name = p[i + 1:i + 1 + nl].decode("utf-8", "replace")
    i += 1 + nl
    hl = p[i]
    host = p[i + 1:i + 1 + hl].decode("utf-8", "replace")
    i += 1 + hl
    pl = struct.unpack(">H", p[i:i + 2])[0]
    proto = p[i + 2:i + 2 + pl].decode("utf-8", "replace")
    return Record(event, scope, n, name, host, proto)


def parse_paths(p):
    out, i = [], 0
    while i < len(p):
        sc, ln = p[i], p[i + 1]
        out.append((sc, p[i + 2:i + 2 + ln].decode("utf-8", "replace")))
        i += 2 + ln
    return out


# ---- errors ----
class SepError(Exception):
    pass


class Closed(SepError):
    """The transport ended (EOF or error) before what we waited for."""


class Timeout(SepError):
    pass


class GoAway(SepError):
    def __init__(self, code, text):
        SepError.__init__(self, "GOAWAY %s: %s" % (code_name(code), text))
        self.code, self.text = code, text


class Reset(SepError):
    def __init__(self, chan, code, text):
        SepError.__init__(self, "RESET ch=%d %s: %s" % (chan, code_name(code), text))
        self.chan, self.code, self.text = chan, code, text


# ---- transports: non-blocking byte streams with a read fd and a write fd ----
class Transport:
    def __init__(self, rfd, wfd, sock=None, proc=None):
        self.sock, self.proc = sock, proc
        self.rfd, self.wfd = rfd, wfd
        if sock is not None:
            sock.setblocking(False)
        else:
            os.set_blocking(rfd, False)
            os.set_blocking(wfd, False)

    def read(self, n=65536):
        """bytes, b"" at end of stream, None when nothing is there yet."""
        try:
            if self.sock is not None:
                return self.sock.recv(n)
            return os.read(self.rfd, n)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return b""

    def write(self, b):
        """bytes written, 0 when it would block; raises Closed."""
        try:
            if self.sock is not None:
                return self.sock.send(b)
            return os.write(self.wfd, b)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return 0
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
            raise Closed("write: %s" % e)

    def pending(self):
        return self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0

    def shutdown_write(self):
        try:
            if self.sock is not None:
                self.sock.shutdown(socket.SHUT_WR)
            elif self.proc is not None:
                self.proc.stdin.close()
        except OSError:
            pass

    def close(self):
        try:
            if self.sock is not None:
                self.sock.close()
            elif self.proc is not None:
                # through the file objects, which own the descriptors
                for f in (self.proc.stdin, self.proc.stdout):
                    try:
                        f.close()
                    except OSError:
                        pass
        finally:
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()


def tcp(host, port, timeout=10):
    """Plain TCP (sep+plain://). Only loopback is ever used by the tests."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Transport(s.fileno(), s.fileno(), sock=s)


def client_context(conf_dir=None, key=None, cert=None):
    """TLS 1.3 only, with the client certificate of `dipus keygen` (conf_dir/key.pem and
    cert.pem). The server is not verified here (dipus pins it by fingerprint): compare
    fingerprint(peer cert) with `dipus keygen -y` when it matters."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if conf_dir or cert:
        ctx.load_cert_chain(cert or os.path.join(conf_dir, "cert.pem"),
                            key or os.path.join(conf_dir, "key.pem"))
    return ctx


def tls(host, port, conf_dir=None, key=None, cert=None, timeout=10):
    """TLS 1.3 (sep://) with a client certificate; the handshake is done on return."""
    raw = socket.create_connection((host, port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = client_context(conf_dir, key, cert).wrap_socket(raw, server_hostname=None)
    return Transport(s.fileno(), s.fileno(), sock=s)


def stdio(argv, env=None, stderr=None):
    """A pipe pair to a child, e.g. [dipus, "serve", "--stdio"] (what ssh:// runs)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=stderr, env=env, close_fds=True)
    return Transport(proc.stdout.fileno(), proc.stdin.fileno(), proc=proc)


def _der_items(b, i=0, end=None):
    """(tag, start of element, start of contents, end) of each DER element in b[i:end]."""
    end = len(b) if end is None else end
    while i < end:
        start = i
        tag, ln = b[i], b[i + 1]
        i += 2
        if ln & 0x80:
            k = ln & 0x7f
            ln = int.from_bytes(b[i:i + k], "big")
            i += k
        yield tag, start, i, i + ln
        i += ln


def fingerprint(der_cert):
    """"SHA256:<base64, no padding>" of a certificate's SubjectPublicKeyInfo: the form
    of `dipus keygen -y`, authorized_keys and known_hosts."""
    _, _, c0, c1 = next(_der_items(der_cert))              # Certificate
    _, _, t0, t1 = next(_der_items(der_cert, c0, c1))      # tbsCertificate
    items = list(_der_items(der_cert, t0, t1))
    if items[0][0] == 0xa0:                                # [0] version
        items = items[1:]
    _, start, _, end = items[5]                            # serial sigalg issuer validity subject SPKI
    spki = der_cert[start:end]
    return "SHA256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode().rstrip("=")


def peer_fingerprint(transport):
    return fingerprint(transport.sock.getpeercert(binary_form=True))


# ---- the peer ----
class Channel:
    def __init__(self, cid, op, query, window):
        self.id, self.op, self.query = cid, op, query
        self.recv_window = window          # what we granted (OPEN's window, or ACCEPT's on a server)
        self.credit = 0                    # bytes we may still send
        self.sent = 0
        self.accepted = None               # seq of ACCEPT
        self.accept_window = None
        self.reset = None                  # (code, text)
        self.reset_seq = None
        self.eof_in = None                 # seq of the peer's EOF
        self.eof_out = False
        self.data = bytearray()
        self.records = []
        self.since_window = 0

    @property
    def answered(self):
        return self.accepted is not None or self.reset is not None

    def __repr__(self):
        return "<ch %d op %d %r acc=%s reset=%s eof=%s rx=%d>" % (
            self.id, self.op, self.query, self.accepted, self.reset, self.eof_in, len(self.data))


class Peer:
    """One SEP session. role "client" opens channels; "server" answers them.

    auto_pong: answer PINGs. auto_window: grant WINDOW as received DATA is taken in
    (a quarter of the window at a time, like dipus). A GOAWAY is recorded in
    self.goaway and raised as GoAway from wait()/poll() when raise_goaway."""

    def __init__(self, transport, role="client", host="adv", auto_pong=True, auto_window=True):
        self.t = transport
        self.role, self.host = role, host
        self.auto_pong, self.auto_window = auto_pong, auto_window
        self.rx = bytearray()
        self.out = bytearray()
        self.seq = 0
        self.peer_hello = None
        self.paths = None
        self.goaway = None
        self.closed = False
        self.channels = {}
        self.next_id = 1
        self.pongs = {}                    # payload -> seq
        self.pings_seen = 0
        self.opens = []                    # server: channels opened and not yet taken
        self.log = []                      # every frame received, in order (Frame)
        self.keep_log = True

    # -- raw bytes --
    def send_raw(self, b, timeout=10):
        self.out += _b(b)
        self.flush(timeout)

    def send_frame(self, ftype, chan=0, payload=b"", length=None, timeout=10):
        self.send_raw(frame(ftype, chan, payload, length), timeout)

    def flush(self, timeout=10):
        """Write everything queued, reading (and dispatching) meanwhile so that a peer
        blocked on its own writes cannot deadlock us."""
        end = time.monotonic() + timeout
        while self.out:
            n = self.t.write(bytes(self.out[:1 << 20]))
            if n:
                del self.out[:n]
                continue
            left = end - time.monotonic()
            if left <= 0:
                raise Timeout("write blocked for %ss (%d bytes queued)" % (timeout, len(self.out)))
            r, w, _ = select.select([self.t.rfd] if not self.closed else [], [self.t.wfd], [], min(left, 0.5))
            if r:
                self._read_some()

    def _read_some(self):
        got = self.t.read()
        while got:
            self.rx += got
            if not self.t.pending():
                break
            got = self.t.read()
        if got == b"":
            self.closed = True
        return got

    def _take_frame(self):
        if len(self.rx) < HEADER.size:
            return None
        ln, ftype, chan = HEADER.unpack_from(self.rx)
        if len(self.rx) < HEADER.size + ln:
            return None
        f = Frame(ftype, chan, bytes(self.rx[HEADER.size:HEADER.size + ln]))
        del self.rx[:HEADER.size + ln]
        return f

    def recv_bytes(self, n, timeout=10):
        """Exactly n raw bytes (the preface), without parsing frames."""
        end = time.monotonic() + timeout
        while len(self.rx) < n:
            if self.closed:
                raise Closed("closed after %d of %d bytes: %r" % (len(self.rx), n, bytes(self.rx)))
            self._wait_readable(end)
        b = bytes(self.rx[:n])
        del self.rx[:n]
        return b

    def _wait_readable(self, end):
        if self.t.pending():
            self._read_some()
            return
        left = end - time.monotonic()
        if left <= 0:
            raise Timeout("nothing received in time")
        wl = [self.t.wfd] if self.out else []
        r, w, _ = select.select([self.t.rfd], wl, [], min(left, 0.5))
        if w and self.out:
            n = self.t.write(bytes(self.out[:1 << 20]))
            del self.out[:n]
        if r:
            self._read_some()

    def recv_frame(self, timeout=10):
        """The next frame, not dispatched. Raises Closed at end of stream, Timeout."""
        end = time.monotonic() + timeout
        while True:
            f = self._take_frame()
            if f is not None:
                return f
            if self.closed:
                raise Closed("end of stream (%d bytes of a partial frame)" % len(self.rx))
            self._wait_readable(end)

    # -- the session --
    def send_hello(self, vmin=1, vmax=2, window=DEFAULT_WINDOW, max_channels=1024, host=None):
        self.my_window = window
        self.send_raw(PREFACE + frame(HELLO, 0, hello_payload(vmin, vmax, window, max_channels,
                                                                host or self.host)))

    def expect_hello(self, timeout=10):
        pre = self.recv_bytes(len(PREFACE), timeout)
        if pre != PREFACE:
            raise SepError("bad preface %r" % pre)
        f = self.recv_frame(timeout)
        if f.type == GOAWAY:
            self.goaway = parse_code(f.payload)
            raise GoAway(*self.goaway)
        if f.type != HELLO or f.chan != 0:
            raise SepError("expected HELLO, got %r" % (f,))
        self.peer_hello = parse_hello(f.payload)
        self.version = min(self.peer_hello["vmax"], 2)
        return self.peer_hello

    def handshake(self, timeout=10, **hello):
        self.send_hello(**hello)
        return self.expect_hello(timeout)

    def poll(self, timeout=10, raise_goaway=True):
        """Receive one frame and dispatch it; returns it."""
        f = self.recv_frame(timeout)
        self.seq += 1
        if self.keep_log:
            self.log.append(f)
        self._dispatch(f)
        if f.type == GOAWAY and raise_goaway:
            raise GoAway(*self.goaway)
        return f

    def _dispatch(self, f):
        if f.type == PING:
            self.pings_seen += 1
            if self.auto_pong:
                self.send_frame(PONG, 0, f.payload)
            return
        if f.type == PONG:
            self.pongs[f.payload] = self.seq
            return
        if f.type == GOAWAY:
            self.goaway = parse_code(f.payload) if len(f.payload) >= 4 else (None, "")
            return
        if f.type == PATHS:
            self.paths = parse_paths(f.payload)
            return
        if f.type == OPEN and self.role == "server":
            op, window, query = parse_open(f.payload)
            ch = Channel(f.chan, op, query, window)
            ch.credit = window
            ch.opened_seq = self.seq
            self.channels[f.chan] = ch
            self.opens.append(ch)
            return
        ch = self.channels.get(f.chan)
        if ch is None:
            return
        if f.type == ACCEPT:
            ch.accepted = self.seq
            ch.accept_window = struct.unpack(">I", f.payload[:4])[0]
            ch.credit = ch.accept_window - ch.sent
        elif f.type == RESET:
            ch.reset = parse_code(f.payload)
            ch.reset_seq = self.seq
        elif f.type == EOF:
            ch.eof_in = self.seq
        elif f.type == WINDOW:
            ch.credit += struct.unpack(">I", f.payload[:4])[0]
        elif f.type == RECORD:
            ch.records.append(parse_record(f.payload))
        elif f.type == DATA:
            ch.data += f.payload
            ch.since_window += len(f.payload)
            if self.auto_window and ch.since_window >= ch.recv_window // 4 and ch.eof_in is None:
                self.send_frame(WINDOW, ch.id, window_payload(ch.since_window))
                ch.since_window = 0

    def wait(self, cond, timeout=10, what="condition"):
        """Poll until cond() is true; Timeout (naming what) otherwise."""
        end = time.monotonic() + timeout
        while not cond():
            left = end - time.monotonic()
            if left <= 0:
                raise Timeout("no %s within %ss" % (what, timeout))
            try:
                self.poll(left)
            except Timeout:
                raise Timeout("no %s within %ss" % (what, timeout))

    # -- client operations --
    def open(self, op, query, window=DEFAULT_WINDOW, chan=None):
        cid = self.next_id if chan is None else chan
        self.next_id = max(self.next_id, cid + 1)
        ch = Channel(cid, op, query, window)
        ch.credit = self.peer_hello["window"] if self.peer_hello else 0   # early data (4.1)
        self.channels[cid] = ch
        self.send_frame(OPEN, cid, open_payload(op, query, window))
        return ch

    def list(self, query, timeout=10):
        ch = self.open(OP_LIST, query)
        self.wait(lambda: ch.reset or ch.eof_in, timeout, "LIST answer for %r" % query)
        if ch.reset:
            raise Reset(ch.id, *ch.reset)
        return ch.records

    def watch(self, query, timeout=None):
        """A WATCH channel; with timeout, waits for its SYNC (raises Reset if refused)."""
        ch = self.open(OP_WATCH, query)
        if timeout is not None:
            self.wait(lambda: ch.reset or any(r.event == SYNC for r in ch.records), timeout,
                      "WATCH SYNC for %r" % query)
            if ch.reset:
                raise Reset(ch.id, *ch.reset)
        return ch

    def connect(self, query, window=DEFAULT_WINDOW):
        return self.open(OP_CONNECT, query, window)

    def send_data(self, ch, data, timeout=30):
        """Send data on a CONNECT channel within its credit (early data before the ACCEPT)."""
        data = memoryview(_b(data))
        end = time.monotonic() + timeout
        while data:
            if ch.reset:
                raise Reset(ch.id, *ch.reset)
            n = min(len(data), MAX_DATA, ch.credit)
            if n <= 0:
                self.wait(lambda: ch.credit > 0 or ch.reset, max(end - time.monotonic(), 0.01),
                          "credit on channel %d" % ch.id)
                continue
            self.send_frame(DATA, ch.id, bytes(data[:n]), timeout=max(end - time.monotonic(), 0.01))
            ch.credit -= n
            ch.sent += n
            data = data[n:]
            while self._take_ready():       # dispatch what already arrived (WINDOW, DATA)
                pass

    def _take_ready(self):
        """Dispatch frames already received, without waiting."""
        r, _, _ = select.select([self.t.rfd], [], [], 0)
        if r or self.t.pending():
            self._read_some()
        if len(self.rx) >= HEADER.size:
            ln = HEADER.unpack_from(self.rx)[0]
            if len(self.rx) >= HEADER.size + ln:
                self.poll(0.01)
                return True
        return False

    def send_eof(self, ch):
        self.send_frame(EOF, ch.id)
        ch.eof_out = True

    def reset_channel(self, ch, code=E_RESET, text="cancelled"):
        self.send_frame(RESET, ch.id, code_payload(code, text))

    def finish(self, ch, timeout=30):
        """Wait for the peer's EOF (or RESET) on ch; returns its bytes."""
        self.wait(lambda: ch.eof_in or ch.reset, timeout, "EOF on channel %d" % ch.id)
        if ch.reset:
            raise Reset(ch.id, *ch.reset)
        return bytes(ch.data)

    def transfer(self, query, data, timeout=60):
        """CONNECT query, send data, EOF, read to the peer's EOF: the bytes received."""
        ch = self.connect(query)
        self.send_data(ch, data, timeout)
        self.send_eof(ch)
        return self.finish(ch, timeout)

    def ping(self, payload=None, timeout=10):
        """PING; waits for the PONG with the same bytes; returns the seq it came at."""
        payload = payload or os.urandom(8)
        self.send_frame(PING, 0, payload)
        self.wait(lambda: payload in self.pongs, timeout, "PONG")
        return self.pongs[payload]

    def send_goaway(self, code=E_OK, text="bye"):
        self.send_frame(GOAWAY, 0, code_payload(code, text))

    def expect_goaway(self, timeout=10):
        """(code, text) of the peer's GOAWAY; None if it closed without one."""
        end = time.monotonic() + timeout
        while self.goaway is None:
            try:
                self.poll(max(end - time.monotonic(), 0.01), raise_goaway=False)
            except Closed:
                return None
        return self.goaway

    def expect_closed(self, timeout=10):
        """True when the peer closes the transport within timeout (frames are dispatched)."""
        end = time.monotonic() + timeout
        try:
            while True:
                self.poll(max(end - time.monotonic(), 0.01), raise_goaway=False)
        except Closed:
            return True
        except Timeout:
            return False

    # -- server operations (a malicious server is this plus send_raw) --
    def next_open(self, timeout=10):
        self.wait(lambda: self.opens, timeout, "OPEN")
        return self.opens.pop(0)

    def accept(self, ch, window=DEFAULT_WINDOW):
        ch.recv_window = window
        self.send_frame(ACCEPT, ch.id, window_payload(window))

    def send_record(self, ch, event, scope, n, name, host, proto):
        self.send_frame(RECORD, ch.id, record_payload(event, scope, n, name, host, proto))

    def send_paths(self, entries):
        self.send_frame(PATHS, 0, paths_payload(entries))

    def close(self):
        self.t.close()


class Listener:
    """A server socket on 127.0.0.1 (port 0: any); accept() gives a Peer(role="server").
    tls_conf: a `dipus keygen` directory whose key.pem/cert.pem the server presents."""

    def __init__(self, port=0, tls_conf=None, host="127.0.0.1"):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.ctx = None
        if tls_conf:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            self.ctx.load_cert_chain(os.path.join(tls_conf, "cert.pem"), os.path.join(tls_conf, "key.pem"))

    def accept(self, timeout=10, host="evil"):
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        s.settimeout(timeout)
        if self.ctx:
            s = self.ctx.wrap_socket(s, server_side=True)
        return Peer(Transport(s.fileno(), s.fileno(), sock=s), role="server", host=host)

    def close(self):
        self.sock.close()


# ---- the hostile environment ----
def trap_socket(path, mode=0o666):
    """A UNIX socket that listens with backlog 0 and never accepts: the second connect
    to it finds the backlog full (doc: issue 11, item 1). Keep the returned socket
    referenced; accept from it (or close it) to release the trap."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, mode)
    s.listen(0)
    return s


def idle_flood(host, port, n, seconds, status=None, source=None):
    """Hold n TCP connections that never send a byte, reopening each one the server
    closes, for seconds (or until the file status + ".stop" exists). source: the local
    address to connect from (e.g. "127.0.0.2": another loopback address, so that the
    flood is not the test's own client address). Writes "open opened closed" to status
    (a path) when given. Returns (opened, closed_by_server)."""
    end = time.monotonic() + seconds
    socks, opened, closed = [], 0, 0
    while time.monotonic() < end and not (status and os.path.exists(status + ".stop")):
        while len(socks) < n:
            try:
                s = socket.create_connection((host, port), timeout=2,
                                             source_address=(source, 0) if source else None)
                s.setblocking(False)
                socks.append(s)
                opened += 1
            except OSError:
                time.sleep(0.05)
                break
        if status:
            with open(status + ".tmp", "w") as f:
                f.write("%d %d %d\n" % (len(socks), opened, closed))
            os.replace(status + ".tmp", status)
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            try:
                if s.recv(4096):
                    continue
            except OSError:
                pass
            s.close()
            socks.remove(s)
            closed += 1
    for s in socks:
        s.close()
    return opened, closed


class Checks:
    """PASS/FAIL lines in the format testsuite/run counts."""

    def __init__(self, prefix=""):
        self.prefix, self.failed = prefix, 0

    def ok(self, name, cond, why=""):
        if cond:
            print("PASS: %s%s" % (self.prefix, name), flush=True)
        else:
            self.failed += 1
            print("FAIL: %s%s: %s" % (self.prefix, name, why or "false"), flush=True)
        return bool(cond)

    def eq(self, name, want, got):
        return self.ok(name, want == got, "wanted %r, got %r" % (want, got))

    def status(self):
        return 1 if self.failed else 0


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def pattern(n, seed=0):
    """n deterministic, incompressible-looking bytes."""
    out = bytearray()
    c = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d:%d" % (seed, c)).digest() * 64
        c += 1
    return bytes(out[:n])


def _main(argv):
    if len(argv) >= 2 and argv[0] == "trap":
        s = trap_socket(argv[1])
        print("ready", flush=True)
        try:
            while True:
                time.sleep(3600)
        finally:
            s.close()
    if len(argv) >= 5 and argv[0] == "flood":
        status = argv[5] if len(argv) > 5 else None
        source = argv[6] if len(argv) > 6 else None
        opened, closed = idle_flood(argv[1], int(argv[2]), int(argv[3]), float(argv[4]), status, source)
        print("opened %d closed-by-server %d" % (opened, closed), flush=True)
        return 0
    sys.stderr.write("usage: sep_peer.py trap PATH | flood HOST PORT N SECONDS [STATUS [SOURCE]]\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
