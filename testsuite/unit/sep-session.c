/* sep-session.c: the SEP engine over socketpairs: handshake, LIST, CONNECT with
 * half-close both ways, refusal with code and text, flow control with a stalled
 * reader while another channel completes, and malformed input closing the session. */
#include "loop.h"
#include "sep.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, name, ...) do { \
	if (cond) printf("PASS: %s\n", name); \
	else { printf("FAIL: %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } \
} while (0)

/* ---- a fake server: two services, "echo" (a child echoing), "stall" (never reads) ---- */
static int stall_fd = -1;

static int fake_list(void *arg, const char *q, struct ns_list *out, int *code, char *err, size_t len)
{
	static const char *names[] = { "echo", "stall" };
	for (int i = 0; i < 2; i++) {
		if (*q && strcmp(q, names[i]))
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 4;
			out->v = realloc(out->v, out->cap * sizeof *out->v);
		}
		struct ns_service *s = &out->v[out->n++];
		memset(s, 0, sizeof *s);
		s->scope = NS_EXPORTED;
		snprintf(s->name, sizeof s->name, "%s", names[i]);
		snprintf(s->host, sizeof s->host, "srv.example");
		snprintf(s->proto, sizeof s->proto, "test/proto");
		s->n = i;
	}
	return 0;
}

static int fake_connect(void *arg, const char *q, int *code, char *err, size_t len)
{
	int sp[2];
	if (!strcmp(q, "echo")) {
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
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
	if (!strcmp(q, "stall")) {
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
		stall_fd = sp[1];  /* kept, never read */
		return sp[0];
	}
	*code = SEP_E_NOSERVICE;
	snprintf(err, len, "%s: no such service", q);
	return -1;
}

static const struct sep_server_ops ops = { .list = fake_list, .connect = fake_connect };

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

/* Run the loop until *flag or ms pass. */
static void run_until(struct loop *lp, int *flag, unsigned ms)
{
	int timed = 0;
	struct loop_timer *t = loop_timer(lp, ms, stop_cb, &timed);
	while (!*flag && !timed) {
		struct loop_timer *tick = loop_timer(lp, 5, stop_cb, &(int){ 0 });
		loop_run(lp);
		loop_timer_cancel(lp, tick);
	}
	if (!timed)
		loop_timer_cancel(lp, t);
}

struct listing {
	int done, n, err;
	char names[8][512];
};

static void on_record(void *arg, int ev, const struct ns_service *s, int code, const char *text)
{
	struct listing *l = arg;
	if (ev == SEP_REC_PRESENT && l->n < 8)
		snprintf(l->names[l->n++], 512, "%s.%s %s", s->name, s->host, s->rel);
	if (ev == SEP_REC_END)
		l->done = 1;
	if (ev == SEP_REC_ERROR)
		l->done = l->err = code ? code : -1;
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

static void test_session(void)
{
	struct loop *lp = loop_new();
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	struct sep_io cio, sio;
	sep_io_fd(&cio, sp[0], sp[0]);
	sep_io_fd(&sio, sp[1], sp[1]);
	struct state cs = { 0 }, ss = { 0 };
	struct sep_session *srv = sep_session_new(lp, &sio, 1, NULL, &ops, NULL, "srv.example", on_session, &ss);
	struct sep_session *cli = sep_session_new(lp, &cio, 0, NULL, NULL, NULL, "cli", on_session, &cs);
	run_until(lp, &cs.ready, 2000);
	CHECK(cs.ready && ss.ready, "HELLO exchanged both ways", "client %d server %d", cs.ready, ss.ready);
	CHECK(!strcmp(sep_peer_host(cli), "srv.example"), "the peer's host name comes with HELLO", "%s", sep_peer_host(cli));

	struct listing l = { 0 };
	sep_list(cli, "", on_record, &l);
	run_until(lp, &l.done, 2000);
	CHECK(l.done == 1 && l.n == 2 && !strcmp(l.names[0], "echo.srv.example test/proto/echo.srv.example...0"),
	      "LIST returns the records, then ends", "done %d n %d first '%s'", l.done, l.n, l.names[0]);

	/* CONNECT to echo: 4 MiB out, half-close, all back */
	int a[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	struct conn ec = { 0 };
	sep_connect(cli, "echo", a[0], a[0], on_chan, &ec);
	/* a writer process, so the test loop only reads */
	size_t total = 4 << 20;
	pid_t w = fork();
	if (w == 0) {
		char buf[65536];
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (char)(i * 7);
		for (size_t done = 0; done < total; done += sizeof buf)
			write_all(a[1], buf, sizeof buf);
		shutdown(a[1], SHUT_WR);
		_exit(0);
	}
	/* a reader process counts and checks the bytes that come back */
	int res[2];
	pipe(res);
	pid_t r = fork();
	if (r == 0) {
		char buf[65536];
		size_t got = 0, bad = 0;
		ssize_t n;
		while ((n = read(a[1], buf, sizeof buf)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != (char)(((got + i) % 65536) * 7))
					bad++;
			got += n;
		}
		dprintf(res[1], "%zu %zu\n", got, bad);
		_exit(0);
	}
	close(a[1]);
	close(res[1]);

	/* meanwhile a stalled channel must not stop another */
	int b[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b);
	fd_set_nonblock(b[1], 1);
	struct conn sc = { 0 };
	sep_connect(cli, "stall", b[0], b[0], on_chan, &sc);
	size_t pushed = 0;
	char junk[65536] = { 0 };
	for (int i = 0; i < 400 && !ec.closed; i++) {
		ssize_t n = write(b[1], junk, sizeof junk);
		if (n > 0)
			pushed += n;
		run_until(lp, &ec.closed, 10);
	}
	run_until(lp, &ec.closed, 10000);
	CHECK(ec.accepted && ec.closed && ec.code == 0, "CONNECT: accepted, then closed cleanly after half-close both ways",
	      "accepted %d closed %d code %d %s", ec.accepted, ec.closed, ec.code, ec.text);
	char line[64] = "";
	read(res[0], line, sizeof line - 1);
	size_t got = 0, bad = 1;
	sscanf(line, "%zu %zu", &got, &bad);
	CHECK(got == total && bad == 0, "4 MiB echoed intact while another channel is stalled", "got %zu of %zu, %zu bad", got, total, bad);
	/* the stalled one: the writer was stopped by backpressure, bounded by window+buffers */
	CHECK(pushed < 16u << 20, "a reader that stops reading stops its writer (bounded)", "pushed %zu bytes", pushed);
	CHECK(!sc.closed, "the stalled channel is still open", "closed %d", sc.closed);

	/* refused with code and text */
	int c[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c);
	struct conn rc = { 0 };
	sep_connect(cli, "nosuch", c[0], c[0], on_chan, &rc);
	run_until(lp, &rc.closed, 2000);
	CHECK(rc.closed && rc.code == SEP_E_NOSERVICE && strstr(rc.text, "nosuch: no such service"),
	      "a refused CONNECT reports the code and text", "code %d '%s'", rc.code, rc.text);
	close(c[1]);

	sep_session_close(cli, SEP_E_SHUTDOWN, "test over");
	run_until(lp, &ss.closed, 2000);
	CHECK(ss.closed && strstr(ss.reason, "test over"), "GOAWAY reaches the server with its reason", "%s", ss.reason);
	int st;
	waitpid(w, &st, 0);
	waitpid(r, &st, 0);
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
	sep_session_free(cli);
	sep_session_free(srv);
	close(sp[0]);
	close(sp[1]);
	close(b[1]);
	if (stall_fd >= 0)
		close(stall_fd);
	loop_free(lp);
}

/* Feed raw bytes to a server session and expect it to close with a protocol error. */
static void bad_input(const char *name, const void *bytes, size_t len, int with_hello, const char *want)
{
	struct loop *lp = loop_new();
	int sp[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
	struct sep_io sio;
	sep_io_fd(&sio, sp[1], sp[1]);
	struct state ss = { 0 };
	/* a small window (4 KiB) so one 64 KiB DATA frame is beyond credit; a short handshake */
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.window = 4096;
	lim.handshake_ms = 300;
	struct sep_session *srv = sep_session_new(lp, &sio, 1, &lim, &ops, NULL, "srv", on_session, &ss);
	if (with_hello) {
		uint8_t h[SEP_PREFACE_LEN + SEP_HDR + 10];
		memcpy(h, SEP_PREFACE, SEP_PREFACE_LEN);
		uint8_t *f = h + SEP_PREFACE_LEN;
		sep_frame_header(f, SEP_HELLO, 0, 10);
		uint8_t pl[10] = { 1, 1, 0, 4, 0, 0, 0, 16, 1, 'c' };
		memcpy(f + SEP_HDR, pl, 10);
		write_all(sp[0], h, sizeof h);
	}
	/* from a child: more than a socket buffer must not block the test itself */
	pid_t w = fork();
	if (w == 0) {
		write_all(sp[0], bytes, len);
		_exit(0);
	}
	run_until(lp, &ss.closed, 2000);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	CHECK(ss.closed && strstr(ss.reason, want), name, "closed %d reason '%s'", ss.closed, ss.reason);
	sep_session_free(srv);
	close(sp[0]);
	close(sp[1]);
	loop_free(lp);
}

static void frame(uint8_t *out, size_t *len, uint8_t type, uint32_t chan, const void *p, uint32_t plen)
{
	sep_frame_header(out + *len, type, chan, plen);
	memcpy(out + *len + SEP_HDR, p, plen);
	*len += SEP_HDR + plen;
}

static void test_malformed(void)
{
	uint8_t b[256];
	size_t n;
	bad_input("a peer that is not SEP is refused", "GET / HTTP/1.0\r\n\r\n", 18, 0, "does not speak SEP");
	bad_input("a TLS ClientHello to a plaintext end is named", "\x16\x03\x01\x00\x10", 5, 0, "speaks TLS");
	n = 0;
	memcpy(b, SEP_PREFACE, SEP_PREFACE_LEN);
	n = SEP_PREFACE_LEN;
	frame(b, &n, SEP_HELLO, 0, (uint8_t[]){ 2, 3, 0, 4, 0, 0, 0, 16, 0 }, 9);
	bad_input("no common version", b, n, 0, "versions 2..3");
	n = 0;
	frame(b, &n, 42, 1, "", 0);
	bad_input("an unknown frame type", b, n, 1, "frame type 42");
	n = 0;
	sep_frame_header(b, SEP_DATA, 1, 0x7fffffff);
	n = SEP_HDR;
	bad_input("a length over the limit", b, n, 1, "over the limit");
	n = 0;
	frame(b, &n, SEP_DATA, 7, "abc", 3);
	bad_input("DATA on a channel never opened", b, n, 1, "never opened");
	n = 0;
	uint8_t open[] = { SEP_OP_CONNECT, 0, 0, 16, 0, 0, 4, 'e', 'c', 'h', 'o' };
	frame(b, &n, SEP_OPEN, 5, open, sizeof open);
	frame(b, &n, SEP_OPEN, 5, open, sizeof open);
	bad_input("a channel id used twice", b, n, 1, "not above 5");
	n = 0;
	frame(b, &n, SEP_OPEN, 1, (uint8_t[]){ 9, 0, 0, 16, 0, 0, 0 }, 7);
	bad_input("an unknown operation", b, n, 1, "unknown operation 9");
	n = 0;
	frame(b, &n, SEP_PING, 0, "1234", 4);
	bad_input("a PING of the wrong size", b, n, 1, "PING of 4 bytes");
	n = 0;
	frame(b, &n, SEP_OPEN, 1, (uint8_t[]){ SEP_OP_LIST, 0, 0, 16, 0, 0, 9, 'x' }, 8);
	bad_input("a query length past the frame", b, n, 1, "bad OPEN query length");
	/* DATA beyond credit: open echo, then send more than the window we were given */
	static uint8_t big[SEP_HDR * 8 + 8 * 65536 + 64];
	n = 0;
	frame(big, &n, SEP_OPEN, 1, open, sizeof open);
	static uint8_t payload[65536];
	for (int i = 0; i < 5; i++)
		frame(big, &n, SEP_DATA, 1, payload, sizeof payload);
	bad_input("DATA beyond credit", big, n, 1, "beyond credit");
	n = 0;
	bad_input("silence until the handshake timeout", b, 0, 0, "no HELLO within 300 ms");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_session();
	test_malformed();
	return failures ? 1 : 0;
}
