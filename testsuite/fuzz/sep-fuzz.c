/* sep-fuzz.c: libFuzzer target for SEP: the input is what a peer sends. It drives the
 * frame decoder and record parser directly, then a whole server session (preface,
 * HELLO, every frame type, channels) over a socketpair until the session ends. Any
 * crash, leak, or sanitizer report is a bug; closing the session is the right answer
 * to garbage. Run with "make fuzz". */
#include "loop.h"
#include "sep.h"
#include "util.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fz_list(void *arg, const char *q, struct ns_list *out, int *code, char *err, size_t len)
{
	if (!strcmp(q, "none")) {
		*code = SEP_E_NOSERVICE;
		return -1;
	}
	out->v = calloc(1, sizeof *out->v);
	out->n = out->cap = 1;
	strcpy(out->v[0].name, "svc");
	strcpy(out->v[0].host, "fuzz");
	out->v[0].scope = NS_EXPORTED;
	return 0;
}

static int fz_connect(void *arg, const char *q, int *code, char *err, size_t len)
{
	int sp[2];
	if (strcmp(q, "svc") || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		*code = SEP_E_NOSERVICE;
		return -1;
	}
	close(sp[1]);  /* a service that closes at once: EOF and errors both get exercised */
	return sp[0];
}

static int fz_watch(void *arg, struct sep_session *s, uint32_t chan, const char *q, int *code,
                    char *err, size_t len)
{
	sep_watch_event(s, chan, SEP_REC_SYNC, NULL);
	return 0;
}

static const struct sep_server_ops ops = { fz_list, fz_connect, fz_watch, NULL };

static int closed;
static void on_session(void *arg, int ev, int code, const char *reason)
{
	if (ev == SEP_SESSION_CLOSED)
		closed = 1;
}

static void stop(struct loop *lp, void *arg)
{
	loop_stop(lp, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once) {
		signal(SIGPIPE, SIG_IGN);
		once = 1;
	}
	/* 1: the pure decoders on the raw bytes */
	size_t off = 0;
	while (off < size) {
		struct sep_frame f;
		int r = sep_frame_decode(data + off, size - off, &f);
		if (r <= 0)
			break;
		if (f.type == SEP_RECORD) {
			int ev;
			struct ns_service s;
			sep_parse_record(&f, &ev, &s);
		}
		off += r;
	}
	/* 2: a server session fed the bytes after a valid preface and HELLO */
	if (size > 60000)
		return 0;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return 0;
	int big = 1 << 20;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	struct loop *lp = loop_new();
	struct sep_io io;
	sep_io_fd(&io, sp[1], sp[1]);
	closed = 0;
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.window = 8192;
	lim.max_channels = 16;
	struct sep_session *s = sep_session_new(lp, &io, 1, &lim, &ops, NULL, "srv", on_session, NULL);
	uint8_t hello[SEP_PREFACE_LEN + SEP_HDR + 10];
	memcpy(hello, SEP_PREFACE, SEP_PREFACE_LEN);
	sep_frame_header(hello + SEP_PREFACE_LEN, SEP_HELLO, 0, 10);
	memcpy(hello + SEP_PREFACE_LEN + SEP_HDR, (uint8_t[]){ 1, 1, 0, 0, 32, 0, 0, 16, 1, 'f' }, 10);
	/* inputs starting with 'S' bring their own preface, to reach the handshake code */
	if (!(size && data[0] == 'S'))
		write_all(sp[0], hello, sizeof hello);
	write_all(sp[0], data, size);
	shutdown(sp[0], SHUT_WR);
	for (int i = 0; i < 50 && !closed; i++) {
		struct loop_timer *t = loop_timer(lp, 1, stop, NULL);
		loop_run(lp);
		loop_timer_cancel(lp, t);
		/* drain what the session sent so it never blocks on us */
		char buf[65536];
		while (recv(sp[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
			;
	}
	sep_session_free(s);
	/* the deferred close notice may still be queued: let it run */
	struct loop_timer *t = loop_timer(lp, 0, stop, NULL);
	loop_run(lp);
	loop_timer_cancel(lp, t);
	close(sp[0]);
	close(sp[1]);
	loop_free(lp);
	return 0;
}
