/* sep-session.c: the SEP engine over socketpairs.
 *
 * Two kinds of peers: the engine itself (client session against server session), and
 * a "raw" peer written here that speaks frames byte by byte, so the tests can count
 * credit exactly and break every rule of doc/sep.md on purpose. Covered: handshake,
 * LIST, WATCH, CONNECT, exact credit on the sending side, bounded buffering on the
 * receiving side, one stalled channel among busy ones, half-close both ways, RESET
 * with code and text both ways, cancel, channel limit, keepalive and idle timeout,
 * an unread output queue, regular files as channel ends, 1,000 idle channels, and
 * every malformed frame class closing the session with its reason and code. */
#include "loop.h"
#include "sep-wire.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* ---- the serving side: services the tests control ---- */

static int svc_peer = -1;      /* the service's end of the last "keep"-style service */
static int idle_peers[1100];
static int nidle;
static int watch_started, watch_stopped;
static struct sep_session *watch_sess;
static uint32_t watch_chan;

static void small_buffers(int fd)
{
	int sz = 4096;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static int add_svc(struct ns_list *out, const char *name, unsigned n)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 4;
		out->v = realloc(out->v, out->cap * sizeof *out->v);
	}
	struct ns_service *s = &out->v[out->n++];
	memset(s, 0, sizeof *s);
	s->scope = NS_EXPORTED;
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->host, sizeof s->host, "srv.example");
	snprintf(s->proto, sizeof s->proto, "test/proto");
	s->n = n;
	return 0;
}

static int fake_list(void *arg, const char *q, struct ns_list *out, int *code, char *err, size_t len)
{
	static const char *names[] = { "echo", "stall" };
	if (q[0] == '/') {
		*code = SEP_E_BADQUERY;
		snprintf(err, len, "absolute paths are not served");
		return -1;
	}
	if (!strcmp(q, "many")) {
		for (unsigned i = 0; i < 999; i++)
			add_svc(out, "many", i);
		return 0;
	}
	for (int i = 0; i < 2; i++)
		if (!*q || !strcmp(q, names[i]))
			add_svc(out, names[i], i);
	return 0;
}

static int fake_connect(void *arg, const char *q, int *code, char *err, size_t len)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		*code = SEP_E_INTERNAL;
		return -1;
	}
	fd_set_nonblock(sp[0], 1);  /* the engine's end, as sep_server_ops asks */
	if (!strcmp(q, "echo")) {
		pid_t pid = fork();
		if (pid == 0) {
			close(sp[0]);
			char buf[65536];
			ssize_t n;
			while ((n = read(sp[1], buf, sizeof buf)) > 0)
				if (write_all(sp[1], buf, n) < 0)
					_exit(1);
			shutdown(sp[1], SHUT_WR);
			_exit(0);
		}
		close(sp[1]);
		return sp[0];
	}
	if (!strcmp(q, "stall") || !strcmp(q, "keep") || !strcmp(q, "small")) {
		if (strcmp(q, "keep")) {
			small_buffers(sp[0]);
			small_buffers(sp[1]);
		}
		if (svc_peer >= 0)
			close(svc_peer);
		svc_peer = sp[1];  /* the test reads, writes or ignores it */
		return sp[0];
	}
	if (!strcmp(q, "idle") && nidle < (int)(sizeof idle_peers / sizeof idle_peers[0])) {
		idle_peers[nidle++] = sp[1];
		return sp[0];
	}
	if (!strcmp(q, "closed")) {
		close(sp[1]);
		return sp[0];
	}
	close(sp[0]);
	close(sp[1]);
	if (!strcmp(q, "denied")) {
		*code = SEP_E_REFUSED;
		snprintf(err, len, "denied: Permission denied");
		return -1;
	}
	*code = SEP_E_NOSERVICE;
	snprintf(err, len, "%s: no such service", q);
	return -1;
}

static int fake_watch(void *arg, struct sep_session *s, uint32_t chan, const char *q, int *code,
                      char *err, size_t len)
{
	if (!strcmp(q, "nowatch")) {
		*code = SEP_E_BADQUERY;
		snprintf(err, len, "cannot watch that");
		return -1;
	}
	struct ns_list l = { 0 };
	add_svc(&l, "echo", 0);
	sep_watch_event(s, chan, SEP_REC_PRESENT, &l.v[0]);
	sep_watch_event(s, chan, SEP_REC_SYNC, NULL);
	ns_list_free(&l);
	watch_started++;
	watch_sess = s;
	watch_chan = chan;
	return 0;
}

static void fake_watch_stop(void *arg, struct sep_session *s, uint32_t chan)
{
	watch_stopped++;
}

static const struct sep_server_ops ops = { .list = fake_list, .connect = fake_connect, .watch_start = fake_watch,
                                           .watch_stop = fake_watch_stop };

/* ---- loop helpers ---- */

struct state {
	int ready, closed, close_code;
	char reason[256];
};

static void on_session(void *arg, int ev, int code, const char *reason)
{
	struct state *st = arg;
	if (ev == SEP_SESSION_READY)
		st->ready++;
	if (ev == SEP_SESSION_CLOSED) {
		st->closed = 1;
		st->close_code = code;
		snprintf(st->reason, sizeof st->reason, "%s", reason);
	}
}

static void stop_cb(struct loop *lp, void *arg)
{
	*(int *)arg = 1;
	loop_stop(lp, 0);
}

/* Run the loop for at most ms, or until *flag (checked every few ms). */
static void run_until(struct loop *lp, int *flag, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	while ((!flag || !*flag) && now_ms() < end) {
		int fired = 0;
		struct loop_timer *t = loop_timer(lp, 2, stop_cb, &fired);
		loop_run(lp);
		if (!fired)
			loop_timer_cancel(lp, t);
	}
}

/* Run the loop in 2 ms steps (at most rounds of them) while reading fd (non-blocking)
 * into buf until EOF. Returns the bytes read; *eof is 1 when EOF came. */
static size_t read_to_eof(struct loop *lp, int fd, char *buf, size_t cap, int rounds, int *eof)
{
	size_t got = 0;
	*eof = 0;
	for (int i = 0; i < rounds && !*eof; i++) {
		run_until(lp, NULL, 2);
		ssize_t n = read(fd, buf + got, cap - got);
		if (n > 0)
			got += n;
		if (n == 0)
			*eof = 1;
	}
	return got;
}

struct listing {
	int done, n, err, sync, appeared, vanished;
	char text[256];
	char names[8][512];
};

static void on_record(void *arg, int ev, const struct ns_service *s, int code, const char *text)
{
	struct listing *l = arg;
	if ((ev == SEP_REC_PRESENT || ev == SEP_REC_APPEARED) && l->n < 8)
		snprintf(l->names[l->n], 512, "%s.%s %s", s->name, s->host, s->rel);
	if (ev == SEP_REC_PRESENT || ev == SEP_REC_APPEARED)
		l->n++;
	l->appeared += ev == SEP_REC_APPEARED;
	l->vanished += ev == SEP_REC_VANISHED;
	l->sync += ev == SEP_REC_SYNC;
	if (ev == SEP_REC_END)
		l->done = 1;
	if (ev == SEP_REC_ERROR) {
		l->done = 1;
		l->err = code ? code : -1;
		snprintf(l->text, sizeof l->text, "%s", text);
	}
}

struct conn {
	int accepted, closed, code;
	char text[256];
};

static void on_chan(void *arg, int ev, int code, const char *text)
{
	struct conn *c = arg;
	if (ev == SEP_CH_ACCEPTED)
		c->accepted = 1;
	if (ev == SEP_CH_CLOSED) {
		c->closed = 1;
		c->code = code;
		snprintf(c->text, sizeof c->text, "%s", text);
	}
}

/* A client and a server session over one socketpair. */
struct pair {
	struct loop *lp;
	int sp[2];
	struct sep_session *cli, *srv;
	struct state cs, ss;
};

static void pair_open(struct pair *p, const struct sep_limits *slim, const struct sep_limits *clim)
{
	memset(p, 0, sizeof *p);
	p->lp = loop_new();
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sp);
	struct sep_io cio, sio;
	sep_io_fd(&cio, p->sp[0], p->sp[0]);
	sep_io_fd(&sio, p->sp[1], p->sp[1]);
	p->srv = sep_session_new(p->lp, &sio, 1, slim, &ops, NULL, "srv.example", on_session, &p->ss);
	p->cli = sep_session_new(p->lp, &cio, 0, clim, NULL, NULL, "cli", on_session, &p->cs);
	run_until(p->lp, &p->cs.ready, 2000);
}

static void pair_close(struct pair *p)
{
	sep_session_free(p->cli);
	sep_session_free(p->srv);
	close(p->sp[0]);
	close(p->sp[1]);
	loop_free(p->lp);
	if (svc_peer >= 0)
		close(svc_peer);
	svc_peer = -1;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* ---- the raw peer: frames by hand ---- */

struct raw {
	int fd;
	uint8_t *buf;
	size_t len;
	int preface, eof;
	uint8_t pl[SEP_MAX_PAYLOAD];  /* payload of the frame raw_next returned */
};

static struct raw *raw_new(int fd)
{
	struct raw *r = calloc(1, sizeof *r);
	r->fd = fd;
	r->buf = malloc(4 << 20);
	return r;
}

static void raw_free(struct raw *r)
{
	free(r->buf);
	free(r);
}

static void raw_send(struct raw *r, uint8_t type, uint32_t chan, const void *p, size_t n)
{
	uint8_t h[SEP_HDR];
	sep_frame_header(h, type, chan, (uint32_t)n);
	write_all(r->fd, h, SEP_HDR);
	if (n)
		write_all(r->fd, p, n);
}

static void raw_hello(struct raw *r, uint32_t window)
{
	write_all(r->fd, SEP_PREFACE, SEP_PREFACE_LEN);
	struct sep_hello h = { SEP_VERSION_MIN, SEP_VERSION_MAX, window, 100, "raw" };
	uint8_t p[64];
	raw_send(r, SEP_HELLO, 0, p, sep_build_hello(p, sizeof p, &h));
}

static void raw_open(struct raw *r, uint32_t chan, int op, uint32_t window, const char *q)
{
	uint8_t p[7 + SEP_MAX_QUERY];
	raw_send(r, SEP_OPEN, chan, p, sep_build_open(p, sizeof p, op, window, q));
}

static void raw_u32(struct raw *r, uint8_t type, uint32_t chan, uint32_t v)
{
	uint8_t p[4];
	raw_send(r, type, chan, p, sep_build_u32(p, v));
}

static void raw_fill(struct raw *r)
{
	while (r->len < (4u << 20)) {
		ssize_t n = recv(r->fd, r->buf + r->len, (4u << 20) - r->len, MSG_DONTWAIT);
		if (n > 0) {
			r->len += n;
			continue;
		}
		if (n == 0)
			r->eof = 1;
		break;
	}
}

/* Pop the next complete frame (after the peer's preface); 0 when none yet. */
static int raw_next(struct raw *r, struct sep_frame *f)
{
	size_t off = 0;
	if (!r->preface) {
		if (r->len < SEP_PREFACE_LEN)
			return 0;
		r->preface = 1;
		off = SEP_PREFACE_LEN;
	}
	int n = sep_frame_decode(r->buf + off, r->len - off, f);
	if (n <= 0) {
		memmove(r->buf, r->buf + off, r->len - off);
		r->len -= off;
		return 0;
	}
	memcpy(r->pl, f->p, f->len);
	f->p = r->pl;
	memmove(r->buf, r->buf + off + n, r->len - off - n);
	r->len -= off + n;
	return 1;
}

/* Run the loop until a frame of type on chan (type 0: any) arrives; other frames go
 * through seen() when given. */
typedef void raw_seen_fn(struct raw *r, const struct sep_frame *f, void *arg);
static int raw_wait(struct loop *lp, struct raw *r, int type, uint32_t chan, struct sep_frame *out,
                    unsigned ms, raw_seen_fn *seen, void *arg)
{
	uint64_t end = now_ms() + ms;
	do {
		run_until(lp, NULL, 3);
		raw_fill(r);
		struct sep_frame f;
		while (raw_next(r, &f)) {
			if ((!type || f.type == type) && (!chan || f.chan == chan)) {
				if (out)
					*out = f;
				return 1;
			}
			if (seen)
				seen(r, &f, arg);
		}
	} while (now_ms() < end && !r->eof);
	return 0;
}

/* A server session with a raw client. */
struct rs {
	struct loop *lp;
	int sp[2];
	struct sep_session *s;
	struct state st;
	struct raw *r;
};

/* the transport's idle hook (TLS gives back its record buffers there): counted */
static int idle_calls;
static void count_idle(void *ctx)
{
	(void)ctx;
	idle_calls++;
}

static void rs_open(struct rs *x, int is_server, const struct sep_limits *lim, int hello)
{
	memset(x, 0, sizeof *x);
	x->lp = loop_new();
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x->sp);
	struct sep_io io;
	sep_io_fd(&io, x->sp[1], x->sp[1]);
	io.idle = count_idle;
	x->s = sep_session_new(x->lp, &io, is_server, lim, is_server ? &ops : NULL, NULL, "srv.example",
	                       on_session, &x->st);
	x->r = raw_new(x->sp[0]);
	if (hello) {
		raw_hello(x->r, 1 << 20);
		struct sep_frame f;
		raw_wait(x->lp, x->r, SEP_HELLO, 0, &f, 1000, NULL, NULL);
		run_until(x->lp, &x->st.ready, 1000);
	}
}

static void rs_close(struct rs *x)
{
	sep_session_free(x->s);
	close(x->sp[0]);
	close(x->sp[1]);
	raw_free(x->r);
	loop_free(x->lp);
	if (svc_peer >= 0)
		close(svc_peer);
	svc_peer = -1;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void small_limits(struct sep_limits *l)
{
	sep_limits_default(l);
	l->window = 65536;
	l->handshake_ms = 500;
}

/* ---- engine against engine ---- */

static void test_basic(void)
{
	struct pair p;
	pair_open(&p, NULL, NULL);
	CHECK(p.cs.ready && p.ss.ready, "HELLO exchanged both ways", "client %d server %d", p.cs.ready, p.ss.ready);
	CHECK(!strcmp(sep_peer_host(p.cli), "srv.example") && !strcmp(sep_peer_host(p.srv), "cli"),
	      "each side learns the other's host name from HELLO", "%s %s", sep_peer_host(p.cli), sep_peer_host(p.srv));

	struct listing l = { 0 };
	sep_list(p.cli, "", on_record, &l);
	run_until(p.lp, &l.done, 2000);
	CHECK(l.done && !l.err && l.n == 2 && !strcmp(l.names[0], "echo.srv.example test/proto/echo.srv.example...0"),
	      "LIST returns the records in order, then ends", "done %d n %d first '%s'", l.done, l.n, l.names[0]);
	struct listing l2 = { 0 };
	sep_list(p.cli, "/etc/passwd", on_record, &l2);
	run_until(p.lp, &l2.done, 2000);
	CHECK(l2.done && l2.err == SEP_E_BADQUERY && strstr(l2.text, "absolute"),
	      "a refused LIST reports the server's code and text", "err %d '%s'", l2.err, l2.text);
	struct listing l3 = { 0 };
	sep_list(p.cli, "many", on_record, &l3);
	run_until(p.lp, &l3.done, 2000);
	CHECK(l3.done && !l3.err && l3.n == 999, "a LIST of 999 records", "n %d", l3.n);

	struct listing w = { 0 };
	uint32_t wid = sep_watch(p.cli, "", on_record, &w);
	run_until(p.lp, &w.sync, 2000);
	CHECK(w.sync == 1 && w.n == 1 && watch_started == 1, "WATCH: the snapshot, then SYNC", "sync %d n %d", w.sync, w.n);
	struct ns_list nl = { 0 };
	add_svc(&nl, "newone", 3);
	sep_watch_event(watch_sess, watch_chan, SEP_REC_APPEARED, &nl.v[0]);
	sep_watch_event(watch_sess, watch_chan, SEP_REC_VANISHED, &nl.v[0]);
	ns_list_free(&nl);
	run_until(p.lp, &w.vanished, 2000);
	CHECK(w.appeared == 1 && w.vanished == 1 && strstr(w.names[1], "newone.srv.example"),
	      "WATCH: APPEARED and VANISHED follow as they happen", "appeared %d vanished %d", w.appeared, w.vanished);
	sep_channel_cancel(p.cli, wid);
	run_until(p.lp, &watch_stopped, 2000);
	CHECK(watch_stopped == 1 && !w.done, "cancelling a WATCH stops it on the server, without a callback",
	      "stopped %d done %d", watch_stopped, w.done);
	struct listing w2 = { 0 };
	sep_watch(p.cli, "nowatch", on_record, &w2);
	run_until(p.lp, &w2.done, 2000);
	CHECK(w2.err == SEP_E_BADQUERY && !strcmp(w2.text, "cannot watch that"), "a refused WATCH: code and text",
	      "err %d '%s'", w2.err, w2.text);

	/* refusals with code and text; the session goes on */
	int a[2], b[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b);
	struct conn rc = { 0 }, dc = { 0 };
	sep_connect(p.cli, "nosuch", a[0], a[0], on_chan, &rc);
	sep_connect(p.cli, "denied", b[0], b[0], on_chan, &dc);
	run_until(p.lp, &dc.closed, 2000);
	CHECK(rc.closed && !rc.accepted && rc.code == SEP_E_NOSERVICE && strstr(rc.text, "nosuch: no such service"),
	      "a CONNECT to nothing: NOSERVICE with the text", "code %d '%s'", rc.code, rc.text);
	CHECK(dc.closed && dc.code == SEP_E_REFUSED && strstr(dc.text, "Permission denied"),
	      "a CONNECT refused: REFUSED with the text", "code %d '%s'", dc.code, dc.text);
	char x;
	CHECK(read(a[1], &x, 1) == 0, "a refused channel's local socket is closed", "%s", "");
	close(a[1]);
	close(b[1]);
	CHECK(sep_session_ready(p.cli) && sep_session_channels(p.cli) == 0 && sep_session_channels(p.srv) == 0,
	      "refusals leave the session up and no channel behind", "cli %u srv %u",
	      sep_session_channels(p.cli), sep_session_channels(p.srv));

	sep_session_close(p.cli, SEP_E_SHUTDOWN, "test over");
	run_until(p.lp, &p.ss.closed, 2000);
	run_until(p.lp, &p.cs.closed, 2000);
	CHECK(p.ss.closed && p.ss.close_code == SEP_E_SHUTDOWN && strstr(p.ss.reason, "test over"),
	      "GOAWAY reaches the peer with its code and reason", "%d %s", p.ss.close_code, p.ss.reason);
	CHECK(p.cs.closed && strstr(p.cs.reason, "test over"), "the closing side hears of its own end (from the loop)",
	      "%s", p.cs.reason);
	CHECK(sep_list(p.cli, "", on_record, &l) == 0, "a closed session opens no channel", "%s", "");
	pair_close(&p);
}

/* Echo bytes through CONNECT channels while one channel's service never reads. */
struct pump {
	int fd;
	size_t total, sent, got, bad;
	int eof;
};

static void test_fairness(void)
{
	struct pair p;
	pair_open(&p, NULL, NULL);
	enum { N = 20 };
	static struct pump pm[N];
	static struct conn cc[N];
	static char buf[65536];
	memset(pm, 0, sizeof pm);
	memset(cc, 0, sizeof cc);
	/* the stalled one first: its service never reads, we never stop writing */
	int st[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st);
	fd_set_nonblock(st[1], 1);
	struct conn sc = { 0 };
	sep_connect(p.cli, "stall", st[0], st[0], on_chan, &sc);
	for (int i = 0; i < N; i++) {
		int a[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
		fd_set_nonblock(a[1], 1);
		pm[i].fd = a[1];
		pm[i].total = (size_t)(i + 1) * 100000;
		sep_connect(p.cli, "echo", a[0], a[0], on_chan, &cc[i]);
	}
	size_t pushed = 0, max_buf = 0;
	uint64_t end = now_ms() + 20000;
	int done = 0;
	while (done < N && now_ms() < end) {
		ssize_t n = write(st[1], buf, sizeof buf);
		if (n > 0)
			pushed += n;
		done = 0;
		for (int i = 0; i < N; i++) {
			struct pump *q = &pm[i];
			while (q->sent < q->total) {
				size_t k = q->total - q->sent < 4096 ? q->total - q->sent : 4096;
				char b[4096];
				for (size_t j = 0; j < k; j++)
					b[j] = (char)((q->sent + j) * 13 + i);
				n = write(q->fd, b, k);
				if (n <= 0)
					break;
				q->sent += n;
				if (q->sent == q->total)
					shutdown(q->fd, SHUT_WR);
			}
			while (!q->eof) {
				n = read(q->fd, buf, sizeof buf);
				if (n == 0)
					q->eof = 1;
				if (n <= 0)
					break;
				for (ssize_t j = 0; j < n; j++)
					q->bad += buf[j] != (char)((q->got + j) * 13 + i);
				q->got += n;
			}
			done += q->eof && cc[i].closed;
		}
		run_until(p.lp, NULL, 2);
		size_t b = sep_session_buffered(p.cli) + sep_session_buffered(p.srv);
		if (b > max_buf)
			max_buf = b;
	}
	int ok = 0;
	size_t bad = 0;
	for (int i = 0; i < N; i++) {
		ok += pm[i].got == pm[i].total && cc[i].code == 0;
		bad += pm[i].bad;
		close(pm[i].fd);
	}
	CHECK(ok == N && !bad, "20 channels echo 0.1-2 MB each intact and close cleanly beside a stalled one",
	      "%d of %d complete, %zu bad bytes", ok, N, bad);
	CHECK(!sc.closed, "the stalled channel is still open", "closed %d", sc.closed);
	/* the stalled writer is stopped: window + its socket buffers, nothing like 20 MB */
	CHECK(pushed < 2u << 20, "a service that stops reading stops its writer at the far end", "pushed %zu", pushed);
	CHECK(max_buf <= 4u << 20, "both sessions hold a bounded amount meanwhile", "max %zu bytes", max_buf);
	close(st[1]);
	pair_close(&p);
}

/* sep_connect_sock: an accepted-like socket of ours alone; the client's side ends first,
 * then the service's EOF: the engine closes the socket (no shutdown needed) and the
 * local peer sees the answer, then EOF. */
static void test_sock(void)
{
	struct pair p;
	pair_open(&p, NULL, NULL);
	int a[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a);
	struct conn c = { 0 };
	uint32_t id = sep_connect_sock(p.cli, "echo", a[0], on_chan, &c);
	write_all(a[1], "ping", 4);
	shutdown(a[1], SHUT_WR);
	char buf[64];
	int eof;
	size_t got = read_to_eof(p.lp, a[1], buf, sizeof buf, 1000, &eof);
	run_until(p.lp, &c.closed, 2000);
	errno = 0;
	int gone = fcntl(a[0], F_GETFD) < 0 && errno == EBADF;
	CHECK(id && eof && got == 4 && !memcmp(buf, "ping", 4) && c.accepted && c.closed && !c.code && gone,
	      "sep_connect_sock: echoed, then EOF; the channel ends and its socket is closed",
	      "id %u eof %d got %zu accepted %d closed %d code %d gone %d", id, eof, got, c.accepted,
	      c.closed, c.code, gone);
	close(a[1]);
	pair_close(&p);
}

/* Half-close both ways: the service ends first while the client still sends. */
static void test_half_close(void)
{
	struct pair p;
	pair_open(&p, NULL, NULL);
	int a[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	struct conn c = { 0 };
	sep_connect(p.cli, "keep", a[0], a[0], on_chan, &c);
	run_until(p.lp, &c.accepted, 2000);
	int svc = svc_peer;
	write_all(svc, "hello", 5);
	shutdown(svc, SHUT_WR);
	fd_set_nonblock(a[1], 1);
	char buf[64];
	int eof;
	size_t got = read_to_eof(p.lp, a[1], buf, sizeof buf, 500, &eof);
	CHECK(eof && got == 5 && !memcmp(buf, "hello", 5) && !c.closed,
	      "service to client: data, then EOF, channel still open", "eof %d got %zu closed %d", eof, got, c.closed);
	/* the other direction still flows */
	write_all(a[1], "world!", 6);
	run_until(p.lp, NULL, 50);
	fd_set_nonblock(svc, 1);
	ssize_t n = read(svc, buf, sizeof buf);
	CHECK(n == 6 && !memcmp(buf, "world!", 6), "client to service still flows after the service's EOF",
	      "n %zd", n);
	shutdown(a[1], SHUT_WR);
	run_until(p.lp, &c.closed, 2000);
	n = read(svc, buf, sizeof buf);
	CHECK(n == 0 && c.closed && c.code == 0, "then the client's EOF: the service sees EOF, the channel ends cleanly",
	      "n %zd closed %d code %d", n, c.closed, c.code);
	close(a[1]);
	pair_close(&p);

	/* and the client first: its EOF reaches the service, which answers after it */
	pair_open(&p, NULL, NULL);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	struct conn c2 = { 0 };
	sep_connect(p.cli, "keep", a[0], a[0], on_chan, &c2);
	run_until(p.lp, &c2.accepted, 2000);
	svc = svc_peer;
	write_all(a[1], "question", 8);
	shutdown(a[1], SHUT_WR);
	fd_set_nonblock(svc, 1);
	got = read_to_eof(p.lp, svc, buf, sizeof buf, 500, &eof);
	CHECK(eof && got == 8 && !c2.closed, "client to service: data, then EOF, channel still open",
	      "eof %d got %zu", eof, got);
	write_all(svc, "answer", 6);
	close(svc);
	svc_peer = -1;
	run_until(p.lp, &c2.closed, 2000);
	n = read(a[1], buf, sizeof buf);
	ssize_t n2 = read(a[1], buf + 6, sizeof buf - 6);
	CHECK(n == 6 && !memcmp(buf, "answer", 6) && n2 == 0 && c2.closed && c2.code == 0,
	      "the service answers after the client's EOF; the channel ends cleanly", "n %zd n2 %zd code %d", n, n2, c2.code);
	close(a[1]);
	pair_close(&p);
}

/* RESET both ways: service failure, client cancel, channel limit; a late ACCEPT. */
static void test_reset(void)
{
	struct sep_limits sl;
	sep_limits_default(&sl);
	sl.max_channels = 2;
	struct pair p;
	pair_open(&p, &sl, NULL);
	/* the service has closed its socket: our data cannot be delivered */
	int a[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	struct conn c = { 0 };
	sep_connect(p.cli, "closed", a[0], a[0], on_chan, &c);
	run_until(p.lp, &c.accepted, 2000);
	static char junk[300000];
	pid_t w = fork();
	if (w == 0) {
		write_all(a[1], junk, sizeof junk);
		_exit(0);
	}
	run_until(p.lp, &c.closed, 3000);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	CHECK(c.closed && c.code == SEP_E_RESET && strstr(c.text, "service side"),
	      "a service that fails resets the channel with code and text", "closed %d code %d '%s'", c.closed, c.code, c.text);
	close(a[1]);

	/* cancel from the client: the service sees its connection end */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	struct conn k = { 0 };
	uint32_t id = sep_connect(p.cli, "keep", a[0], a[0], on_chan, &k);
	run_until(p.lp, &k.accepted, 2000);
	int svc = svc_peer;
	sep_channel_cancel(p.cli, id);
	char x;
	fd_set_nonblock(svc, 1);
	ssize_t n = -1;
	for (int i = 0; i < 500 && n < 0; i++) {
		run_until(p.lp, NULL, 2);
		n = read(svc, &x, 1);
	}
	CHECK(n == 0 && !k.closed && sep_session_channels(p.srv) == 0,
	      "a cancelled channel: RESET closes the service's connection, no callback", "n %zd", n);
	CHECK(read(a[1], &x, 1) == 0, "a cancelled channel's local socket is closed", "%s", "");
	close(a[1]);

	pair_close(&p);

	/* the client's side of the limit: the server said 2 in HELLO */
	pair_open(&p, &sl, NULL);
	int fds[3][2];
	int ok = 0;
	for (int i = 0; i < 3; i++) {
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds[i]);
		uint32_t cid = sep_connect(p.cli, "idle", fds[i][0], fds[i][0], NULL, NULL);
		ok += cid != 0;
		if (!cid)
			close(fds[i][0]);
		close(fds[i][1]);
	}
	CHECK(ok == 2, "the client opens no more channels than the server's HELLO allows", "opened %d", ok);
	pair_close(&p);
	for (int i = 0; i < nidle; i++)
		close(idle_peers[i]);
	nidle = 0;
}

/* ---- a raw client against the server engine ---- */

/* Sending side: the server never sends beyond the credit we give. */
static void count_data(struct raw *r, const struct sep_frame *f, void *arg)
{
	if (f->type == SEP_DATA)
		*(size_t *)arg += f->len;
}

static void test_credit(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	struct rs x;
	rs_open(&x, 1, &lim, 1);
	raw_open(x.r, 1, SEP_OP_CONNECT, 4096, "keep");
	struct sep_frame f;
	int acc = raw_wait(x.lp, x.r, SEP_ACCEPT, 1, &f, 1000, NULL, NULL);
	uint32_t win = 0;
	CHECK(acc && !sep_parse_u32(&f, &win) && win == 65536, "ACCEPT carries the server's window", "win %u", win);
	/* the service has 1 MiB to say, from a child */
	static char big[1 << 20];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)i;
	pid_t w = fork();
	if (w == 0) {
		write_all(svc_peer, big, sizeof big);
		close(svc_peer);
		_exit(0);
	}
	close(svc_peer);
	svc_peer = -1;
	size_t got = 0;
	raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 300, count_data, &got);
	CHECK(got == 4096, "the server sends exactly the credit of OPEN's window, then waits", "got %zu", got);
	raw_u32(x.r, SEP_WINDOW, 1, 10000);
	raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 300, count_data, &got);
	CHECK(got == 14096, "a WINDOW of 10000 lets exactly 10000 more through", "got %zu", got);
	raw_u32(x.r, SEP_WINDOW, 1, 2u << 20);
	int eof = raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 3000, count_data, &got);
	CHECK(eof && got == sizeof big, "with credit, all of it and then EOF", "eof %d got %zu", eof, got);
	/* WINDOW past 2^31-1 in total */
	raw_u32(x.r, SEP_WINDOW, 1, 0x7fffffff);
	run_until(x.lp, &x.st.closed, 1000);
	CHECK(x.st.closed && x.st.close_code == SEP_E_PROTOCOL && strstr(x.st.reason, "WINDOW overflow"),
	      "credit over 2^31-1 closes the session", "%d %s", x.st.close_code, x.st.reason);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	rs_close(&x);
}

/* Early data (sep.md 4.1): a client CONNECT sends at once, within the server's HELLO
 * window; the ACCEPT's window then counts what went before it. */
static void early_open(struct rs *x, int cfd[2], uint32_t hello_window, size_t bytes)
{
	struct sep_limits lim;
	small_limits(&lim);
	rs_open(x, 0, &lim, 0);
	raw_hello(x->r, hello_window);
	struct sep_frame f;
	raw_wait(x->lp, x->r, SEP_HELLO, 0, &f, 1000, NULL, NULL);
	run_until(x->lp, &x->st.ready, 1000);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cfd);
	static char data[8192];
	memset(data, 'e', sizeof data);
	write_all(cfd[1], data, bytes);
}

static void test_early(void)
{
	struct rs x;
	int cfd[2];
	static struct conn c;
	memset(&c, 0, sizeof c);
	early_open(&x, cfd, 2048, 5000);
	sep_connect(x.s, "echo", cfd[0], cfd[0], on_chan, &c);
	struct sep_frame f;
	int open = raw_wait(x.lp, x.r, SEP_OPEN, 1, &f, 1000, NULL, NULL);
	size_t got = 0;
	raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 300, count_data, &got);
	CHECK(open && got == 2048 && !c.accepted,
	      "early data: before any ACCEPT the client sends exactly the server's HELLO window",
	      "open %d got %zu", open, got);
	raw_u32(x.r, SEP_ACCEPT, 1, 3048);
	raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 300, count_data, &got);
	CHECK(c.accepted && got == 3048, "...and after an ACCEPT of 3048, 1000 more (the window counts the early bytes)",
	      "accepted %d got %zu", c.accepted, got);
	close(cfd[1]);
	rs_close(&x);
	close(cfd[0]);

	memset(&c, 0, sizeof c);
	early_open(&x, cfd, 4096, 3000);
	sep_connect(x.s, "echo", cfd[0], cfd[0], on_chan, &c);
	got = 0;
	raw_wait(x.lp, x.r, SEP_EOF, 1, NULL, 300, count_data, &got);
	raw_u32(x.r, SEP_ACCEPT, 1, 2000);
	run_until(x.lp, &x.st.closed, 1000);
	CHECK(got == 3000 && x.st.closed && x.st.close_code == SEP_E_PROTOCOL && strstr(x.st.reason, "below the 3000 bytes"),
	      "an ACCEPT window below the early data closes the session", "got %zu closed %d %d %s", got,
	      x.st.closed, x.st.close_code, x.st.reason);
	close(cfd[1]);
	rs_close(&x);
	close(cfd[0]);
}

/* Deferred ACCEPT (sep.md 4.1): a served CONNECT's ACCEPT goes out with the service's
 * first frame, right before it; after accept_delay_ms when the service says nothing;
 * at once when the client's early data fills the HELLO window; a refusal at once. */
static size_t svc_recv(struct loop *lp, char *buf, size_t cap, size_t want)
{
	size_t got = 0;
	uint64_t end = now_ms() + 1000;
	while (got < want && now_ms() < end) {
		run_until(lp, NULL, 3);
		ssize_t n = svc_peer >= 0 ? recv(svc_peer, buf + got, cap - got, MSG_DONTWAIT) : -1;
		if (n > 0)
			got += n;
	}
	return got;
}

static void deferred_open(struct rs *x, unsigned delay_ms)
{
	struct sep_limits lim;
	small_limits(&lim);
	lim.accept_delay_ms = delay_ms;
	rs_open(x, 1, &lim, 1);
}

static void test_deferred(void)
{
	struct rs x;
	struct sep_frame f;
	char buf[64];
	uint32_t win = 0;
	/* the service answers: ACCEPT, then its DATA, nothing before */
	deferred_open(&x, 60000);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "keep");
	raw_send(x.r, SEP_DATA, 1, "hi", 2);
	size_t n = svc_recv(x.lp, buf, sizeof buf, 2);
	run_until(x.lp, NULL, 20);
	raw_fill(x.r);
	int early = raw_next(x.r, &f);
	CHECK(n == 2 && !memcmp(buf, "hi", 2) && !early,
	      "deferred ACCEPT: the client's early data reaches the service, no ACCEPT yet",
	      "n %zu frame %d (type %d)", n, early, early ? f.type : 0);
	write_all(svc_peer, "yo", 2);
	int acc = raw_wait(x.lp, x.r, 0, 0, &f, 1000, NULL, NULL);
	int acc_ok = acc && f.type == SEP_ACCEPT && f.chan == 1 && !sep_parse_u32(&f, &win) && win == 65536;
	int data = raw_next(x.r, &f);
	CHECK(acc_ok && data && f.type == SEP_DATA && f.len == 2 && !memcmp(f.p, "yo", 2),
	      "...the ACCEPT comes with the service's first DATA, right before it",
	      "accept %d (type %d win %u) data %d", acc, f.type, win, data);
	rs_close(&x);

	/* the service closes without a word: ACCEPT, then EOF */
	deferred_open(&x, 60000);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "keep");
	raw_send(x.r, SEP_EOF, 1, NULL, 0);
	n = svc_recv(x.lp, buf, sizeof buf, 1);  /* its EOF: recv 0, nothing counted */
	close(svc_peer);
	svc_peer = -1;
	acc = raw_wait(x.lp, x.r, 0, 0, &f, 1000, NULL, NULL) && f.type == SEP_ACCEPT;
	int eof = raw_wait(x.lp, x.r, 0, 0, &f, 1000, NULL, NULL) && f.type == SEP_EOF && f.chan == 1;
	CHECK(acc && eof, "...or with its EOF when it closes without a word", "accept %d eof %d", acc, eof);
	rs_close(&x);

	/* a silent service: the ACCEPT after the bound, on its own */
	deferred_open(&x, 20);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "keep");
	acc = raw_wait(x.lp, x.r, 0, 0, &f, 2000, NULL, NULL);
	CHECK(acc && f.type == SEP_ACCEPT && f.chan == 1 && !x.st.closed,
	      "...or after accept_delay_ms when the service says nothing", "accept %d type %d", acc, f.type);
	rs_close(&x);

	/* early data filling the HELLO window: the client can send no more, ACCEPT at once */
	deferred_open(&x, 60000);
	static char fill[65536];
	memset(fill, 'f', sizeof fill);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "stall");
	raw_send(x.r, SEP_DATA, 1, fill, 65535);
	run_until(x.lp, NULL, 50);
	raw_fill(x.r);
	early = raw_next(x.r, &f);
	raw_send(x.r, SEP_DATA, 1, fill, 1);
	acc = raw_wait(x.lp, x.r, 0, 1, &f, 1000, NULL, NULL);
	CHECK(!early && acc && f.type == SEP_ACCEPT && !x.st.closed,
	      "...at once when the client's early data fills the HELLO window (not one byte before)",
	      "before %d (type %d) accept %d type %d", early, early ? f.type : 0, acc, f.type);
	rs_close(&x);

	/* a refusal does not wait */
	deferred_open(&x, 60000);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "nosuch");
	int code = -1;
	char t[256] = "";
	int rst = raw_wait(x.lp, x.r, 0, 1, &f, 1000, NULL, NULL) && f.type == SEP_RESET &&
	          !sep_parse_text(&f, &code, t, sizeof t);
	CHECK(rst && code == SEP_E_NOSERVICE, "...and a refused CONNECT is answered (RESET) at once",
	      "reset %d code %d '%s'", rst, code, t);
	rs_close(&x);
}

/* Receiving side: what the server holds for a stalled service is within its window. */
static void count_window(struct raw *r, const struct sep_frame *f, void *arg)
{
	uint32_t v;
	if (f->type == SEP_WINDOW && !sep_parse_u32(f, &v))
		*(size_t *)arg += v;
}

static void test_bounded(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	struct rs x;
	rs_open(&x, 1, &lim, 1);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "small");
	raw_wait(x.lp, x.r, SEP_ACCEPT, 1, NULL, 1000, NULL, NULL);
	/* send whatever credit we have, as it comes, for a while */
	static uint8_t chunk[16384];
	size_t credit = 65536, sent = 0, granted = 0, maxbuf = 0;
	uint64_t end = now_ms() + 400;
	while (now_ms() < end) {
		while (credit) {
			size_t k = credit < sizeof chunk ? credit : sizeof chunk;
			raw_send(x.r, SEP_DATA, 1, chunk, k);
			credit -= k;
			sent += k;
		}
		size_t g = 0;
		raw_wait(x.lp, x.r, -1, 1, NULL, 5, count_window, &g);
		credit += g;
		granted += g;
		size_t b = sep_session_buffered(x.s);
		if (b > maxbuf)
			maxbuf = b;
	}
	size_t held = sep_session_buffered(x.s);
	CHECK(!x.st.closed && held > 0 && maxbuf <= 65536 + 1024,
	      "a stalled service: the server holds at most its window for the channel",
	      "closed %d held %zu max %zu", x.st.closed, held, maxbuf);
	CHECK(granted < 256 * 1024, "the server grants only what the service took (its socket buffers)",
	      "sent %zu granted %zu", sent, granted);
	/* all the credit, then one byte beyond it */
	while (credit) {
		size_t k = credit < sizeof chunk ? credit : sizeof chunk;
		raw_send(x.r, SEP_DATA, 1, chunk, k);
		credit -= k;
	}
	run_until(x.lp, NULL, 20);
	CHECK(!x.st.closed, "all of the credit is fine", "%s", x.st.reason);
	raw_send(x.r, SEP_DATA, 1, chunk, 1);
	run_until(x.lp, &x.st.closed, 1000);
	CHECK(x.st.closed && x.st.close_code == SEP_E_PROTOCOL && strstr(x.st.reason, "beyond credit"),
	      "one byte beyond the credit closes the session", "%s", x.st.reason);
	struct sep_frame f;
	int code = -1;
	char t[256] = "";
	if (raw_wait(x.lp, x.r, SEP_GOAWAY, 0, &f, 1000, NULL, NULL))
		sep_parse_text(&f, &code, t, sizeof t);
	CHECK(code == SEP_E_PROTOCOL && strstr(t, "beyond credit"), "the peer is told why in GOAWAY",
	      "code %d '%s'", code, t);
	rs_close(&x);
}

/* A peer that sends but never reads: our answers pile up only so far. */
static void test_unread(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	struct rs x;
	rs_open(&x, 1, &lim, 1);
	enum { PINGS = 200000 };  /* 3.4 MB of PING, as much PONG */
	pid_t w = fork();
	if (w == 0) {
		static uint8_t b[PINGS * (SEP_HDR + 8)];
		for (int i = 0; i < PINGS; i++)
			sep_frame_header(b + i * (SEP_HDR + 8), SEP_PING, 0, 8);
		write_all(x.sp[0], b, sizeof b);
		_exit(0);
	}
	size_t maxbuf = 0;
	for (int i = 0; i < 100; i++) {
		run_until(x.lp, NULL, 3);
		size_t b = sep_session_buffered(x.s);
		if (b > maxbuf)
			maxbuf = b;
	}
	CHECK(!x.st.closed && maxbuf <= (1u << 20) + 128 * 1024,
	      "a peer that does not read: the output queue stops near 1 MiB (we stop reading it)",
	      "closed %d max %zu", x.st.closed, maxbuf);
	/* now read: every PING is answered */
	size_t pongs = 0;
	/* bounded by progress, not by a total (a sanitizer build is several times slower):
	 * give up only after 10 s without a single PONG */
	uint64_t end = now_ms() + 10000;
	while (pongs < PINGS && now_ms() < end) {
		run_until(x.lp, NULL, 2);
		raw_fill(x.r);
		struct sep_frame f;
		size_t before = pongs;
		while (raw_next(x.r, &f))
			pongs += f.type == SEP_PONG;
		if (pongs > before)
			end = now_ms() + 10000;
	}
	CHECK(pongs == PINGS, "once it reads, every PING gets its PONG", "%zu of %d", pongs, PINGS);
	waitpid(w, NULL, 0);
	rs_close(&x);
}

/* Over the server's channel limit: RESET LIMIT for that channel; the session goes on. */
static void test_limit(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	lim.max_channels = 2;
	struct rs x;
	rs_open(&x, 1, &lim, 1);
	raw_open(x.r, 1, SEP_OP_CONNECT, 65536, "idle");
	raw_open(x.r, 2, SEP_OP_WATCH, 65536, "");
	raw_open(x.r, 3, SEP_OP_CONNECT, 65536, "idle");
	raw_open(x.r, 4, SEP_OP_LIST, 65536, "");
	struct sep_frame f;
	int code = -1, acc = 0, eof4 = 0;
	char t[256] = "";
	/* the idle CONNECT's ACCEPT comes SEP_ACCEPT_DELAY_MS later (its service is silent) */
	for (int i = 0; i < 16 && !(eof4 && acc == 3) && raw_wait(x.lp, x.r, 0, 0, &f, 500, NULL, NULL); i++) {
		if (f.type == SEP_RESET && f.chan == 3)
			sep_parse_text(&f, &code, t, sizeof t);
		acc += f.type == SEP_ACCEPT;
		eof4 |= f.type == SEP_EOF && f.chan == 4;
	}
	CHECK(code == SEP_E_LIMIT && strstr(t, "too many channels"),
	      "a channel over the server's limit is refused with LIMIT", "code %d '%s'", code, t);
	CHECK(acc == 3 && !x.st.closed && sep_session_channels(x.s) == 2,
	      "the other channels and LIST go on (LIST holds no channel)", "accepts %d channels %u", acc,
	      sep_session_channels(x.s));
	rs_close(&x);
	for (int i = 0; i < nidle; i++)
		close(idle_peers[i]);
	nidle = 0;
}

static void test_keepalive(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	lim.keepalive_ms = 100;
	lim.idle_ms = 400;
	struct rs x;
	rs_open(&x, 1, &lim, 1);
	struct sep_frame f;
	idle_calls = 0;
	int ping = raw_wait(x.lp, x.r, SEP_PING, 0, &f, 1000, NULL, NULL);
	CHECK(ping && f.len == 8, "a quiet peer gets a PING", "%d", ping);
	CHECK(idle_calls >= 1, "a quiet session tells its transport it is idle", "%d calls", idle_calls);
	/* answering keeps the session up past the idle time */
	uint64_t end = now_ms() + 700;
	while (now_ms() < end && !x.st.closed)
		if (raw_wait(x.lp, x.r, SEP_PING, 0, &f, 50, NULL, NULL))
			raw_send(x.r, SEP_PONG, 0, f.p, 8);
	CHECK(!x.st.closed, "a peer that answers PINGs stays", "%s", x.st.reason);
	run_until(x.lp, &x.st.closed, 1500);
	CHECK(x.st.closed && x.st.close_code == SEP_E_TIMEOUT && strstr(x.st.reason, "nothing received for 400 ms"),
	      "a peer silent for the idle time is dropped (TIMEOUT)", "%d %s", x.st.close_code, x.st.reason);
	rs_close(&x);

	/* the other side of a keepalive: a PING says the peer heard nothing from us */
	small_limits(&lim);
	lim.keepalive_ms = 0;
	rs_open(&x, 1, &lim, 1);
	idle_calls = 0;
	raw_send(x.r, SEP_PING, 0, (const uint8_t *)"12345678", 8);
	int pong = raw_wait(x.lp, x.r, SEP_PONG, 0, &f, 1000, NULL, NULL);
	CHECK(pong && idle_calls == 1, "a session that answers a PING tells its transport it is idle",
	      "pong %d, %d calls", pong, idle_calls);
	rs_close(&x);
}

/* ---- malformed input: every class closes the session with its reason and code ---- */

struct bad {
	const char *name;
	int is_server, hello;
	const uint8_t *bytes;
	size_t len;
	int code;
	const char *want;
};

static void bad_run(const struct bad *b, void (*setup)(struct rs *))
{
	struct sep_limits lim;
	small_limits(&lim);
	struct rs x;
	rs_open(&x, b->is_server, &lim, b->hello);
	if (setup)
		setup(&x);
	pid_t w = -1;
	if (b->len > 32768) {
		w = fork();
		if (w == 0) {
			write_all(x.sp[0], b->bytes, b->len);
			_exit(0);
		}
	} else {
		write_all(x.sp[0], b->bytes, b->len);
	}
	if (!strncmp(b->name, "truncated", 9) || !strncmp(b->name, "EOF", 3))
		shutdown(x.sp[0], SHUT_WR);
	uint64_t end = now_ms() + 2000;
	while (!x.st.closed && now_ms() < end) {
		run_until(x.lp, NULL, 3);
		raw_fill(x.r);  /* keep reading: the engine must not block on us */
		x.r->len = 0;
		x.r->preface = 1;
	}
	if (w > 0) {
		kill(w, SIGKILL);
		waitpid(w, NULL, 0);
	}
	int ok = x.st.closed && x.st.close_code == b->code && strstr(x.st.reason, b->want);
	char name[160];
	snprintf(name, sizeof name, "%s: %s", b->is_server ? "server" : "client", b->name);
	CHECK(ok, name, "closed %d code %d reason '%s'", x.st.closed, x.st.close_code, x.st.reason);
	rs_close(&x);
}

/* Frames into a buffer. */
static uint8_t fb[600000];
static size_t fl;
static void F(uint8_t type, uint32_t chan, const void *p, size_t len)
{
	sep_frame_header(fb + fl, type, chan, (uint32_t)len);
	memcpy(fb + fl + SEP_HDR, p, len);
	fl += SEP_HDR + len;
}
static void Fopen(uint32_t chan, int op, uint32_t win, const char *q)
{
	uint8_t p[7 + SEP_MAX_QUERY];
	F(SEP_OPEN, chan, p, sep_build_open(p, sizeof p, op, win, q));
}
static void Fu32(uint8_t type, uint32_t chan, uint32_t v)
{
	uint8_t p[4];
	F(type, chan, p, sep_build_u32(p, v));
}
static void Fhello(uint8_t vmin, uint8_t vmax, uint32_t win, uint16_t maxch, const char *host)
{
	memcpy(fb + fl, SEP_PREFACE, SEP_PREFACE_LEN);
	fl += SEP_PREFACE_LEN;
	struct sep_hello h = { vmin, vmax, win, maxch, "" };
	snprintf(h.host, sizeof h.host, "%s", host);
	uint8_t p[80];
	F(SEP_HELLO, 0, p, sep_build_hello(p, sizeof p, &h));
}

static void expect(const char *name, int is_server, int hello, int code, const char *want)
{
	struct bad b = { name, is_server, hello, fb, fl, code, want };
	bad_run(&b, NULL);
	fl = 0;
}

/* For the client-side cases: the client has opened LIST 1, WATCH 2, CONNECT 3. */
static int cli_fd[2] = { -1, -1 };
static void client_channels(struct rs *x)
{
	static struct listing l, w;
	static struct conn c;
	memset(&l, 0, sizeof l);
	memset(&w, 0, sizeof w);
	memset(&c, 0, sizeof c);
	sep_list(x->s, "", on_record, &l);
	sep_watch(x->s, "", on_record, &w);
	if (cli_fd[1] >= 0)
		close(cli_fd[1]);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cli_fd);
	small_buffers(cli_fd[0]);
	small_buffers(cli_fd[1]);
	sep_connect(x->s, "echo", cli_fd[0], cli_fd[0], on_chan, &c);
}

static void expect_client(const char *name, int code, const char *want)
{
	struct bad b = { name, 0, 0, fb, fl, code, want };
	bad_run(&b, client_channels);
	fl = 0;
}

static void test_malformed(void)
{
	static const uint8_t payload[65536 + 1];
	/* before HELLO */
	memcpy(fb, "GET / HTTP/1.0\r\n\r\n", 18);
	fl = 18;
	expect("not SEP at all", 1, 0, SEP_E_PROTOCOL, "does not speak SEP");
	memcpy(fb, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	fl = 11;
	expect("a TLS ClientHello to a plaintext end is named", 1, 0, SEP_E_PROTOCOL, "speaks TLS");
	memcpy(fb, "SEP/2\r\n", 7);
	fl = 7;
	expect("another preface version", 1, 0, SEP_E_VERSION, "another SEP version");
	Fhello(3, 4, 65536, 16, "x");
	expect("no common version in HELLO", 1, 0, SEP_E_VERSION, "versions 3..4");
	memcpy(fb, SEP_PREFACE, SEP_PREFACE_LEN);
	fl = SEP_PREFACE_LEN;
	Fopen(1, SEP_OP_LIST, 65536, "");
	expect("first frame not HELLO", 1, 0, SEP_E_PROTOCOL, "expected HELLO, got frame type 2");
	memcpy(fb, SEP_PREFACE, SEP_PREFACE_LEN);
	fl = SEP_PREFACE_LEN;
	F(SEP_HELLO, 0, "\1\1\0\1", 4);
	expect("short HELLO", 1, 0, SEP_E_PROTOCOL, "short HELLO");
	Fhello(1, 1, 1000, 16, "x");
	expect("HELLO window below 1024", 1, 0, SEP_E_PROTOCOL, "HELLO window 1000");
	Fhello(1, 1, 65536, 0, "x");
	expect("HELLO allowing no channels", 1, 0, SEP_E_PROTOCOL, "no channels");
	Fhello(1, 1, 65536, 16, "a/b");
	expect("HELLO host with a slash", 1, 0, SEP_E_PROTOCOL, "bad HELLO host");
	memcpy(fb, SEP_PREFACE, 4);
	fl = 4;
	expect("truncated preface (then EOF)", 1, 0, SEP_E_PROTOCOL, "closed before HELLO");
	fl = 0;
	expect("silence until the handshake timeout", 1, 0, SEP_E_TIMEOUT, "no HELLO within 500 ms");

	/* after HELLO: framing */
	F(42, 1, "", 0);
	expect("unknown frame type", 1, 1, SEP_E_PROTOCOL, "unknown frame type 42");
	F(0, 0, "", 0);
	expect("frame type 0", 1, 1, SEP_E_PROTOCOL, "unknown frame type 0");
	sep_frame_header(fb, SEP_DATA, 1, SEP_MAX_PAYLOAD + 1);
	fl = SEP_HDR;
	expect("length over the maximum", 1, 1, SEP_E_PROTOCOL, "66561 bytes over the limit");
	memcpy(fb, "\0\0\0", 3);
	fl = 3;
	expect("truncated header (then EOF)", 1, 1, SEP_E_PROTOCOL, "middle of a frame");
	sep_frame_header(fb, SEP_PING, 0, 8);
	fl = SEP_HDR + 3;
	expect("truncated payload (then EOF)", 1, 1, SEP_E_PROTOCOL, "middle of a frame");
	fl = 0;
	expect("EOF between frames", 1, 1, SEP_E_SHUTDOWN, "peer closed the connection");
	F(SEP_HELLO, 0, "\1\1\0\1\0\0\0\1\0", 9);
	expect("a second HELLO", 1, 1, SEP_E_PROTOCOL, "frame type 1 (HELLO) on channel 0");
	F(SEP_DATA, 0, "abc", 3);
	expect("DATA on channel 0", 1, 1, SEP_E_PROTOCOL, "frame type 5 (DATA) on channel 0");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_PING, 1, "12345678", 8);
	expect("PING on a channel", 1, 1, SEP_E_PROTOCOL, "frame type 9 (PING) on channel 1");
	F(SEP_PING, 0, "1234", 4);
	expect("PING of 4 bytes", 1, 1, SEP_E_PROTOCOL, "PING of 4 bytes");
	F(SEP_PONG, 0, "123456789", 9);
	expect("PONG of 9 bytes", 1, 1, SEP_E_PROTOCOL, "PONG of 9 bytes");
	F(SEP_GOAWAY, 0, "\0\1\0\11x", 5);
	expect("GOAWAY with a bad text length", 1, 1, SEP_E_PROTOCOL, "bad GOAWAY");
	F(SEP_GOAWAY, 0, "\0\11\0\4bye!", 8);
	expect("a GOAWAY ends the session with its code", 1, 1, SEP_E_SHUTDOWN, "peer closed the session: shutting down: bye!");

	/* channels */
	F(SEP_DATA, 7, "abc", 3);
	expect("DATA on a channel never opened", 1, 1, SEP_E_PROTOCOL, "channel 7 never opened");
	Fu32(SEP_WINDOW, 9, 100);
	expect("WINDOW on a channel never opened", 1, 1, SEP_E_PROTOCOL, "channel 9 never opened");
	Fopen(5, SEP_OP_CONNECT, 65536, "keep");
	Fopen(5, SEP_OP_CONNECT, 65536, "keep");
	expect("a channel id used twice", 1, 1, SEP_E_PROTOCOL, "channel id used twice");
	Fopen(5, SEP_OP_LIST, 65536, "");
	Fopen(4, SEP_OP_LIST, 65536, "");
	expect("a channel id going down", 1, 1, SEP_E_PROTOCOL, "OPEN with channel id 4 not above 5");
	Fopen(1, 9, 65536, "");
	expect("an unknown operation", 1, 1, SEP_E_PROTOCOL, "unknown operation (op 9");
	F(SEP_OPEN, 1, (uint8_t[]){ SEP_OP_LIST, 0, 1, 0, 0, 0, 9, 'x' }, 8);
	expect("a query length past the frame", 1, 1, SEP_E_PROTOCOL, "bad OPEN query length");
	{
		uint8_t q[7 + 108] = { SEP_OP_LIST, 0, 1, 0, 0, 0, 108 };
		memset(q + 7, 'a', 108);
		F(SEP_OPEN, 1, q, sizeof q);
	}
	expect("a query over 107 bytes", 1, 1, SEP_E_PROTOCOL, "query too long");
	Fopen(1, SEP_OP_CONNECT, 0, "keep");
	expect("an OPEN window of 0", 1, 1, SEP_E_PROTOCOL, "OPEN window out of range");
	F(SEP_OPEN, 1, "\3\0\1\0\0", 5);
	expect("a short OPEN", 1, 1, SEP_E_PROTOCOL, "short OPEN");
	Fopen(1, SEP_OP_CONNECT, 65536, "small");
	for (int i = 0; i < 2; i++)
		F(SEP_DATA, 1, payload, 65536);
	expect("DATA beyond credit (window 65536)", 1, 1, SEP_E_PROTOCOL, "beyond credit");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_DATA, 1, payload, 65537);
	expect("DATA over 64 KiB", 1, 1, SEP_E_PROTOCOL, "DATA of 65537 bytes");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_DATA, 1, "", 0);
	expect("empty DATA", 1, 1, SEP_E_PROTOCOL, "DATA of 0 bytes");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_EOF, 1, "", 0);
	F(SEP_DATA, 1, "abc", 3);
	expect("DATA after EOF", 1, 1, SEP_E_PROTOCOL, "DATA after EOF");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_EOF, 1, "", 0);
	F(SEP_EOF, 1, "", 0);
	expect("a second EOF", 1, 1, SEP_E_PROTOCOL, "second EOF");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_EOF, 1, "x", 1);
	expect("EOF with a payload", 1, 1, SEP_E_PROTOCOL, "EOF with a payload");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_WINDOW, 1, "\0\0\1", 3);
	expect("WINDOW of 3 bytes", 1, 1, SEP_E_PROTOCOL, "bad WINDOW");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	F(SEP_RESET, 1, "\0\1\0\7ab", 6);
	expect("RESET with a bad text length", 1, 1, SEP_E_PROTOCOL, "bad RESET");
	Fopen(1, SEP_OP_CONNECT, 65536, "keep");
	Fu32(SEP_ACCEPT, 1, 65536);
	expect("ACCEPT sent to the server", 1, 1, SEP_E_PROTOCOL, "unexpected ACCEPT");
	Fopen(1, SEP_OP_WATCH, 65536, "");
	F(SEP_RECORD, 1, (uint8_t[]){ 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10);
	expect("RECORD sent to the server", 1, 1, SEP_E_PROTOCOL, "unexpected RECORD");
	Fopen(1, SEP_OP_WATCH, 65536, "");
	F(SEP_DATA, 1, "abc", 3);
	expect("DATA on a WATCH channel", 1, 1, SEP_E_PROTOCOL, "DATA on channel 1 that takes none");
	Fopen(1, SEP_OP_WATCH, 65536, "");
	Fu32(SEP_WINDOW, 1, 4096);
	expect("WINDOW on a WATCH channel", 1, 1, SEP_E_PROTOCOL, "WINDOW on channel 1 that takes none");
	/* not violations: a frame for a channel that ended, a LIST's in-flight EOF */
	Fopen(1, SEP_OP_LIST, 65536, "");
	F(SEP_EOF, 1, "", 0);
	Fopen(2, SEP_OP_CONNECT, 65536, "nosuch");
	F(SEP_DATA, 2, "late", 4);
	F(SEP_GOAWAY, 0, "\0\0\0\4done", 8);
	expect("frames for ended channels are ignored (then GOAWAY)", 1, 1, SEP_OK, "peer closed the session: ok: done");

	/* what a server may not send a client (the client opened LIST 1, WATCH 2, CONNECT 3) */
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fopen(9, SEP_OP_LIST, 65536, "");
	expect_client("OPEN sent to a client", SEP_E_PROTOCOL, "OPEN sent to a client");
	Fhello(1, 1, 65536, 16, "rawsrv");
	F(SEP_RECORD, 1, (uint8_t[]){ 0, 2, 0, 0, 0, 0, 1, 'a', 1, 'h', 0, 0 }, 12);
	expect_client("RECORD before ACCEPT", SEP_E_PROTOCOL, "unexpected RECORD on channel 1");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 1, 65536);
	F(SEP_RECORD, 1, (uint8_t[]){ 0, 2, 0, 0, 0, 0, 3, 'a', '/', 'b', 1, 'h', 0, 0 }, 14);
	expect_client("RECORD naming a path", SEP_E_PROTOCOL, "malformed RECORD on channel 1");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 1, 65536);
	F(SEP_RECORD, 1, (uint8_t[]){ 1, 2, 0, 0, 0, 0, 1, 'a', 1, 'h', 0, 0 }, 12);
	expect_client("APPEARED in a LIST", SEP_E_PROTOCOL, "RECORD event 1 in a LIST");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 3, 65536);
	F(SEP_RECORD, 3, (uint8_t[]){ 0, 2, 0, 0, 0, 0, 1, 'a', 1, 'h', 0, 0 }, 12);
	expect_client("RECORD on a CONNECT channel", SEP_E_PROTOCOL, "unexpected RECORD on channel 3");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 3, 65536);
	Fu32(SEP_ACCEPT, 3, 65536);
	expect_client("ACCEPT twice", SEP_E_PROTOCOL, "unexpected ACCEPT on channel 3");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 3, 100);
	expect_client("ACCEPT with a window below 1024", SEP_E_PROTOCOL, "bad ACCEPT on channel 3");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 4, 65536);
	expect_client("ACCEPT for a channel never opened", SEP_E_PROTOCOL, "channel 4 never opened");
	Fhello(1, 1, 65536, 16, "rawsrv");
	F(SEP_EOF, 3, "", 0);
	expect_client("EOF before ACCEPT", SEP_E_PROTOCOL, "EOF before ACCEPT");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_WINDOW, 3, 100);
	expect_client("WINDOW before ACCEPT", SEP_E_PROTOCOL, "WINDOW before ACCEPT");
	Fhello(1, 1, 65536, 16, "rawsrv");
	Fu32(SEP_ACCEPT, 3, 65536);
	F(SEP_DATA, 3, payload, 65536);
	F(SEP_DATA, 3, payload, 65536);
	F(SEP_DATA, 3, payload, 65536);
	F(SEP_DATA, 3, payload, 65536);
	F(SEP_DATA, 3, payload, 65536);
	expect_client("DATA beyond the client's window", SEP_E_PROTOCOL, "beyond credit on channel 3");
}

/* RESET from a raw server reaches the channel's owner with code and text; an ACCEPT
 * for a channel we cancelled meanwhile is no violation. */
static void test_raw_reset(void)
{
	struct sep_limits lim;
	small_limits(&lim);
	struct rs x;
	rs_open(&x, 0, &lim, 0);
	raw_hello(x.r, 65536);
	run_until(x.lp, &x.st.ready, 1000);
	int a[2], b[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b);
	struct conn c = { 0 }, d = { 0 };
	uint32_t id1 = sep_connect(x.s, "x", a[0], a[0], on_chan, &c);
	uint32_t id2 = sep_connect(x.s, "y", b[0], b[0], on_chan, &d);
	sep_channel_cancel(x.s, id2);
	uint8_t p[64];
	raw_send(x.r, SEP_RESET, id1, p, sep_build_text(p, sizeof p, 42, "boom: it broke"));
	raw_u32(x.r, SEP_ACCEPT, id2, 65536);
	run_until(x.lp, &c.closed, 1000);
	run_until(x.lp, NULL, 50);
	CHECK(c.closed && c.code == 42 && !strcmp(c.text, "boom: it broke"),
	      "a RESET reaches the channel's owner with its code and text", "code %d '%s'", c.code, c.text);
	CHECK(!x.st.closed && !d.closed, "an ACCEPT for a channel we cancelled meanwhile is ignored", "%s", x.st.reason);
	close(a[1]);
	close(b[1]);
	rs_close(&x);
}

/* Regular files as the ends of a channel: the loop cannot watch them. */
static void test_files(void)
{
	struct pair p;
	pair_open(&p, NULL, NULL);
	char in_name[] = "/tmp/sep-unit-inXXXXXX", out_name[] = "/tmp/sep-unit-outXXXXXX";
	int in = mkstemp(in_name), out = mkstemp(out_name);
	static char data[3 << 20];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 31 + (i >> 16));
	write_all(in, data, sizeof data);
	lseek(in, 0, SEEK_SET);
	struct conn c = { 0 };
	sep_connect(p.cli, "echo", in, out, on_chan, &c);
	run_until(p.lp, &c.closed, 10000);
	int fd = open(out_name, O_RDONLY);
	static char back[(3 << 20) + 1];
	ssize_t n = read_full(fd, back, sizeof back);
	close(fd);
	CHECK(c.closed && c.code == 0 && n == (ssize_t)sizeof data && !memcmp(back, data, sizeof data),
	      "a regular file in, another out: 3 MiB echoed intact", "closed %d code %d n %zd", c.closed, c.code, n);
	unlink(in_name);
	unlink(out_name);
	pair_close(&p);
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 1,000 idle channels, each after some traffic: both sessions stay small. */
static void test_memory(void)
{
	enum { N = 1000 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 4 * N + 100) {
		rl.rlim_cur = rl.rlim_max < 4 * N + 100 ? rl.rlim_max : 4 * N + 100;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 4 * N + 100) {
		printf("SKIP: 1,000 idle channels: only %lu descriptors allowed\n", (unsigned long)rl.rlim_cur);
		return;
	}
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.max_channels = N + 10;
	struct pair p;
	pair_open(&p, &lim, &lim);
	static int local[N];
	static struct conn cc[N];
	long before = rss_kb();
	for (int i = 0; i < N; i++) {
		int a[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
		local[i] = a[1];
		sep_connect(p.cli, "idle", a[0], a[0], on_chan, &cc[i]);
	}
	run_until(p.lp, &cc[N - 1].accepted, 5000);
	/* some bytes each way through every channel, then quiet */
	static char seen[2][N];
	int got = 0, back = 0;
	char b[16];
	for (int i = 0; i < N; i++) {
		write_all(local[i], "ping", 4);
		fd_set_nonblock(local[i], 1);
	}
	for (int i = 0; i < nidle; i++)
		fd_set_nonblock(idle_peers[i], 1);
	uint64_t end = now_ms() + 10000;
	while ((got < N || back < N) && now_ms() < end) {
		run_until(p.lp, NULL, 5);
		for (int i = 0; i < nidle && i < N; i++)
			if (!seen[0][i] && read(idle_peers[i], b, sizeof b) == 4) {
				seen[0][i] = 1;
				got++;
				write_all(idle_peers[i], "pong", 4);
			}
		for (int i = 0; i < N; i++)
			if (!seen[1][i] && read(local[i], b, sizeof b) == 4) {
				seen[1][i] = 1;
				back++;
			}
	}
	run_until(p.lp, NULL, 50);
	long after = rss_kb();
	size_t held = sep_session_buffered(p.cli) + sep_session_buffered(p.srv);
	int open = 0;
	for (int i = 0; i < N; i++)
		open += cc[i].accepted && !cc[i].closed;
	CHECK(open == N && got == N && back == N, "1,000 channels open, bytes through each both ways",
	      "open %d there %d back %d", open, got, back);
	/* RSS can also fall meanwhile (the allocator, or ASan's quarantine, returning
	 * pages): only the upper bound means anything */
	int known = before > 0 && after > 0;
	long per = known ? (after - before) * 1024 / N : 0;
	CHECK(known && per < 16 * 1024 && held == 0,
	      "1,000 idle channels cost under 16 KiB each (both ends, this process) and hold no buffers",
	      "%ld bytes per channel, %zu held", per, held);
	printf("# 1,000 idle channels: %ld bytes of RSS each (client and server session together)\n", per);
	for (int i = 0; i < N; i++)
		close(local[i]);
	for (int i = 0; i < nidle; i++)
		close(idle_peers[i]);
	nidle = 0;
	pair_close(&p);
}

/* SEP/2's PATHS: a server's offered directories reach the client right after HELLO;
 * a SEP/1 peer never gets one; a PATHS out of place or malformed ends the session. */
static void test_paths(void)
{
	struct pair p;
	memset(&p, 0, sizeof p);
	p.lp = loop_new();
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p.sp);
	struct sep_io cio, sio;
	sep_io_fd(&cio, p.sp[0], p.sp[0]);
	sep_io_fd(&sio, p.sp[1], p.sp[1]);
	p.srv = sep_session_new(p.lp, &sio, 1, NULL, &ops, NULL, "srv.example", on_session, &p.ss);
	int r1 = sep_session_offer_dir(p.srv, NS_LOCAL, "/srv/dipus/local");
	int r2 = sep_session_offer_dir(p.srv, NS_USERS, "/srv/dipus/users/alice");
	int bad = sep_session_offer_dir(p.srv, NS_EXPORTED, "srv/dipus/exported") |
	          sep_session_offer_dir(p.srv, NS_EXPORTED, "/srv/../etc") |
	          sep_session_offer_dir(p.srv, NS_EXPORTED, "/srv//x") |
	          sep_session_offer_dir(p.srv, 3, "/srv/x");
	CHECK(!r1 && !r2 && bad == -1, "a server offers plain absolute directories only",
	      "%d %d %d", r1, r2, bad);
	p.cli = sep_session_new(p.lp, &cio, 0, NULL, NULL, NULL, "cli", on_session, &p.cs);
	run_until(p.lp, &p.cs.ready, 2000);
	CHECK(sep_session_version(p.cli) == 2 && sep_session_version(p.srv) == 2,
	      "two SEP/2 ends agree on version 2", "%u %u", sep_session_version(p.cli),
	      sep_session_version(p.srv));
	struct listing l = { 0 };
	sep_list(p.cli, "", on_record, &l);  /* its answer comes after PATHS */
	run_until(p.lp, &l.done, 2000);
	const char *dl = sep_peer_dir(p.cli, NS_LOCAL), *du = sep_peer_dir(p.cli, NS_USERS);
	CHECK(dl && !strcmp(dl, "/srv/dipus/local") && du && !strcmp(du, "/srv/dipus/users/alice") &&
	      !sep_peer_dir(p.cli, NS_EXPORTED) && !sep_peer_dir(p.cli, NS_IMPORTED) &&
	      !sep_peer_dir(p.srv, NS_LOCAL),
	      "the client learns the offered directories (and only those)", "local %s users %s",
	      dl ? dl : "-", du ? du : "-");
	CHECK(sep_session_offer_dir(p.srv, NS_EXPORTED, "/srv/dipus/exported") == -1,
	      "directories are offered before HELLO only", "accepted late");
	pair_close(&p);

	/* a SEP/1 server sends none; PATHS from it is an unknown frame */
	struct sep_paths pa = { 0 };
	strcpy(pa.dir[0], "/r/local");
	uint8_t pp[4 * (2 + NS_PATH_MAX)];
	size_t pn = sep_build_paths(pp, sizeof pp, &pa);
	Fhello(1, 1, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, pp, pn);
	expect_client("PATHS from a SEP/1 server", SEP_E_PROTOCOL, "unknown frame type 12");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, pp, pn);
	F(SEP_PATHS, 0, pp, pn);
	expect_client("PATHS twice", SEP_E_PROTOCOL, "unexpected PATHS");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, "\1\5a/b/c", 7);
	expect_client("PATHS with a relative directory", SEP_E_PROTOCOL, "not a plain absolute directory");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, "\1\5/a/..", 7);
	expect_client("PATHS with a .. component", SEP_E_PROTOCOL, "not a plain absolute directory");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, "\3\2/a", 4);
	expect_client("PATHS with an unknown scope", SEP_E_PROTOCOL, "unknown scope");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 0, "\1\11/a", 4);
	expect_client("PATHS entry past its frame", SEP_E_PROTOCOL, "longer than the frame");
	Fhello(1, 2, 65536, 16, "rawsrv");
	F(SEP_PATHS, 7, pp, pn);
	expect_client("PATHS on a channel", SEP_E_PROTOCOL, "frame type 12 (PATHS) on channel 7");
	F(SEP_PATHS, 0, pp, pn);
	expect("PATHS sent to a server", 1, 1, SEP_E_PROTOCOL, "unexpected PATHS");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *only = argc > 1 ? argv[1] : "";
#define RUN(name) do { if (!*only || strstr(#name, only)) test_##name(); } while (0)
	RUN(basic);
	RUN(fairness);
	RUN(half_close);
	RUN(sock);
	RUN(reset);
	RUN(raw_reset);
	RUN(credit);
	RUN(early);
	RUN(deferred);
	RUN(bounded);
	RUN(unread);
	RUN(limit);
	RUN(keepalive);
	RUN(malformed);
	RUN(paths);
	RUN(files);
	RUN(memory);
	return check_status();
}
