/* sep-fuzz.c: libFuzzer target for SEP. The input is what a peer sends.
 *
 *  1. the pure decoders (sep-frame.c) on the raw bytes: frame headers, then every
 *     payload parser on every frame, whatever its type;
 *  2. a whole session over an in-memory transport (struct sep_io: reads come from
 *     the input, writes are counted and dropped, an eventfd keeps the loop awake),
 *     as a server (services that accept, refuse, answer or close at once; a WATCH
 *     that reports events) or as a client that has opened LIST 1, WATCH 2 and
 *     CONNECT 3 (and cancels WATCH 2 on the way).
 * The first three bytes steer, the rest is the peer's byte stream:
 *   [0] bit 0: be the client; bit 1: cancel WATCH 2 (client)
 *   [1] odd: the transport hands out 7..67 bytes per read (frames split anywhere)
 *   [2] every ([2] % 5)th write would block (0: never)
 * A stream that does not start with 'S' gets a valid preface and HELLO put in
 * front, so the fuzzer spends its time past the handshake. Any crash, leak or sanitizer report is a bug; closing the session is the
 * right answer to garbage. Run with "make fuzz". */
#include "loop.h"
#include "sep-wire.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the in-memory transport ---- */

struct mem {
	const uint8_t *in;
	size_t len, off;
	size_t chunk;       /* bytes per read: input arrives split in odd places */
	size_t written;
	int evfd;
	int write_block;    /* every Nth write would block */
	int writes;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n)
{
	struct mem *m = ctx;
	if (m->off == m->len)
		return 0;  /* the peer is done: end of stream */
	size_t k = m->len - m->off;
	if (k > n)
		k = n;
	if (k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->in + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static ssize_t mem_write(void *ctx, const void *buf, size_t n)
{
	struct mem *m = ctx;
	if (m->write_block && ++m->writes % m->write_block == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > 100000)
		n = 100000;  /* partial writes */
	m->written += n;
	return (ssize_t)n;
}

static size_t mem_pending(void *ctx)
{
	struct mem *m = ctx;
	return m->off < m->len && (m->off & 1);  /* sometimes: "decrypted bytes wait" */
}

/* ---- the serving side ---- */

static int fz_list(void *arg, const char *q, struct ns_list *out, int *code, char *err, size_t len)
{
	if (!strcmp(q, "none")) {
		*code = SEP_E_NOSERVICE;
		return -1;
	}
	out->v = calloc(2, sizeof *out->v);
	out->n = out->cap = 2;
	for (int i = 0; i < 2; i++) {
		strcpy(out->v[i].name, i ? "svc" : "echo");
		strcpy(out->v[i].host, "fuzz");
		strcpy(out->v[i].proto, "a/b");
		out->v[i].scope = NS_EXPORTED;
	}
	return 0;
}

static int fz_connect(void *arg, const char *q, int *code, char *err, size_t len)
{
	int sp[2];
	if (strcmp(q, "svc") && strcmp(q, "echo") && strcmp(q, "x")) {
		*code = SEP_E_NOSERVICE;
		snprintf(err, len, "%s: no such service", q);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		*code = SEP_E_INTERNAL;
		return -1;
	}
	if (!strcmp(q, "svc")) {
		close(sp[1]);  /* a service that closes at once: EOF and EPIPE both get exercised */
		return sp[0];
	}
	/* one that says something and then only listens (its end closes with the channel) */
	if (write(sp[1], "hello from the service", 22) < 0) {}
	shutdown(sp[1], SHUT_WR);
	close(sp[1]);
	return sp[0];
}

static struct sep_session *wsess;
static uint32_t wchan;

static int fz_watch(void *arg, struct sep_session *s, uint32_t chan, const char *q, int *code,
                    char *err, size_t len)
{
	if (!strcmp(q, "none")) {
		*code = SEP_E_BADQUERY;
		return -1;
	}
	struct ns_service v = { .scope = NS_EXPORTED, .name = "svc", .host = "fuzz" };
	sep_watch_event(s, chan, SEP_REC_PRESENT, &v);
	sep_watch_event(s, chan, SEP_REC_SYNC, NULL);
	wsess = s;
	wchan = chan;
	return 0;
}

static void fz_watch_stop(void *arg, struct sep_session *s, uint32_t chan)
{
	if (s == wsess && chan == wchan)
		wsess = NULL;
}

static const struct sep_server_ops ops = { .list = fz_list, .connect = fz_connect,
                                           .watch_start = fz_watch, .watch_stop = fz_watch_stop };

/* ---- the client side ---- */

static void on_record(void *arg, int ev, const struct ns_service *s, int code, const char *text)
{
	if (s && (ev == SEP_REC_PRESENT || ev == SEP_REC_APPEARED))
		(void)strlen(s->rel);  /* what a client would use: must be terminated */
}

static void on_chan(void *arg, int ev, int code, const char *text)
{
	(void)strlen(text);
}

static int closed;
static void on_session(void *arg, int ev, int code, const char *reason)
{
	if (ev == SEP_SESSION_CLOSED)
		closed = 1;
	(void)strlen(reason);
}

static void stop(struct loop *lp, void *arg)
{
	*(int *)arg = 1;
	loop_stop(lp, 0);
}

/* ---- 1: the decoders ---- */

/* The namespace's grammar (names.h) on the input as a string: no crash, and what it
 * promises holds: a cleaned path is canonical and cleaning it again changes nothing;
 * a parsed socket name builds back to itself. */
static void names(const uint8_t *data, size_t size)
{
	char in[NS_PATH_MAX * 2], out[NS_PATH_MAX], again[NS_PATH_MAX], err[NS_ERR_MAX];
	size_t n = size < sizeof in - 1 ? size : sizeof in - 1;
	memcpy(in, data, n);
	in[n] = 0;
	struct ns_query q;
	ns_check_net_query(in, err, sizeof err);
	ns_parse_query(in, 1, &q, err, sizeof err);
	char name[NS_NAME_MAX], host[NS_HOST_MAX], proto[NS_PATH_MAX];
	ns_parse_arg(in, name, proto, err, sizeof err);
	unsigned k;
	if (ns_parse_sockname(in, name, host, &k) == 0) {
		char b[NS_PATH_MAX * 2];
		snprintf(b, sizeof b, "%s.%s...%u", name, host, k);
		if (strcmp(b, in) || k > NS_N_MAX)
			abort();
	}
	const char *slash = strchr(in, '/');
	ns_names_ok(in, slash ? slash + 1 : "h", slash ? slash + 1 : "");
	if (in[0] == '/' && ns_clean_path(in, out, sizeof out) == 0) {
		size_t ol = strlen(out);
		if (out[0] != '/' || strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../") ||
		    (ol > 1 && out[ol - 1] == '/') || (ol >= 2 && !strcmp(out + ol - 2, "/.")) ||
		    (ol >= 3 && !strcmp(out + ol - 3, "/..")) ||
		    ns_clean_path(out, again, sizeof again) || strcmp(out, again))
			abort();
	}
}

static void decoders(const uint8_t *data, size_t size)
{
	names(data, size);
	size_t off = 0;
	while (off < size) {
		struct sep_frame f;
		int r = sep_frame_decode(data + off, size - off, &f);
		if (r <= 0)
			break;
		struct sep_hello h;
		struct sep_open o;
		struct ns_service s;
		uint32_t v;
		int code, ev;
		char t[64];
		sep_parse_hello(&f, &h);
		sep_parse_open(&f, &o);
		sep_parse_u32(&f, &v);
		sep_parse_text(&f, &code, t, sizeof t);
		if (sep_parse_record(&f, &ev, &s) == 0) {
			/* what parses must build back to the same bytes */
			uint8_t b[SEP_RECORD_MIN + NS_NAME_MAX + NS_HOST_MAX + NS_PATH_MAX];
			size_t n = sep_build_record(b, sizeof b, ev, ev == SEP_REC_SYNC ? NULL : &s);
			if (n != f.len || memcmp(b, f.p, n))
				abort();
		}
		struct sep_paths pa, pb;
		if (!sep_parse_paths(&f, &pa)) {
			/* what parses builds to PATHS that parse to the same directories */
			uint8_t b[4 * (2 + NS_PATH_MAX)];
			struct sep_frame g = { SEP_PATHS, 0, 0, b };
			g.len = (uint32_t)sep_build_paths(b, sizeof b, &pa);
			if ((g.len == 0) != (f.len == 0) || sep_parse_paths(&g, &pb) ||
			    memcmp(&pa, &pb, sizeof pa))
				abort();
		}
		off += r;
	}
}

/* ---- 2: a session ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once) {
		signal(SIGPIPE, SIG_IGN);
		once = 1;
	}
	decoders(data, size);
	if (size < 3 || size > 200000)
		return 0;
	uint8_t ctl0 = data[0], ctl1 = data[1], ctl2 = data[2];
	data += 3;
	size -= 3;
	int as_client = ctl0 & 1;
	/* the prelude a well-behaved peer sends, unless the input brings its own */
	static uint8_t buf[200000 + 64];
	size_t n = 0;
	if (!(size && data[0] == 'S')) {
		memcpy(buf, SEP_PREFACE, SEP_PREFACE_LEN);
		n = SEP_PREFACE_LEN;
		struct sep_hello h = { 1, 1, 8192, 16, "f" };
		uint8_t p[32];
		size_t pl = sep_build_hello(p, sizeof p, &h);
		sep_frame_header(buf + n, SEP_HELLO, 0, (uint32_t)pl);
		memcpy(buf + n + SEP_HDR, p, pl);
		n += SEP_HDR + pl;
	}
	memcpy(buf + n, data, size);
	n += size;

	struct mem m = { .in = buf, .len = n, .chunk = (ctl1 & 1) ? 7 + ctl1 % 61 : 65536,
	                 .write_block = ctl2 % 5 };
	m.evfd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);  /* always readable and writable */
	if (m.evfd < 0)
		return 0;
	struct loop *lp = loop_new();
	struct sep_io io = { .ctx = &m, .read = mem_read, .write = mem_write, .pending = mem_pending,
	                     .rfd = m.evfd, .wfd = m.evfd };
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.window = 8192;
	lim.max_channels = 16;
	lim.max_records = 8;
	closed = 0;
	wsess = NULL;
	struct sep_session *s = sep_session_new(lp, &io, !as_client, &lim, as_client ? NULL : &ops,
	                                        NULL, "srv", on_session, NULL);
	int fds[2] = { -1, -1 };
	if (as_client) {
		sep_list(s, "", on_record, NULL);
		sep_watch(s, "w", on_record, NULL);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
			if (write(fds[1], "some bytes to send", 18) < 0) {}
			shutdown(fds[1], SHUT_WR);
			if (!sep_connect(s, "x", fds[0], fds[0], on_chan, NULL))
				close(fds[0]);
		}
		if (ctl0 & 2)
			sep_channel_cancel(s, 2);
	}
	for (int i = 0; i < 40 && !closed; i++) {
		int fired = 0;
		struct loop_timer *t = loop_timer(lp, 0, stop, &fired);
		loop_run(lp);
		if (!fired)
			loop_timer_cancel(lp, t);
		/* a watch event now and then, as the serving side would send */
		if (wsess && i % 8 == 1) {
			struct ns_service v = { .scope = NS_EXPORTED, .name = "new", .host = "fuzz", .n = (unsigned)i };
			sep_watch_event(wsess, wchan, i % 16 == 1 ? SEP_REC_APPEARED : SEP_REC_VANISHED, &v);
		}
	}
	sep_session_free(s);
	if (fds[1] >= 0)
		close(fds[1]);
	/* let nothing of this run reach the next */
	int fired = 0;
	struct loop_timer *t = loop_timer(lp, 0, stop, &fired);
	loop_run(lp);
	if (!fired)
		loop_timer_cancel(lp, t);
	loop_free(lp);
	close(m.evfd);
	return 0;
}
