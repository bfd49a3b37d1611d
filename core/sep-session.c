/* sep-session.c: the SEP session engine: HELLO, channels, credit, bridging to fds.
 *
 * Output: one bounded queue of encoded frames (obuf). Channels stop reading their
 * local descriptor while it is above OUT_HIGH, so the transport's speed paces every
 * channel; control frames always go in (they are small and bounded by the channels).
 * Input: frames are decoded from ibuf and dispatched at once; DATA for a channel is
 * written straight to its descriptor, and only what the descriptor does not take is
 * kept, at most the channel's window (the peer may never send beyond it). */
#include "sep.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_HIGH (512 * 1024)
#define NBUCKETS 256

struct chan {
	uint32_t id;
	uint8_t op;
	uint8_t served;       /* 1: we serve it (server side) */
	uint8_t accepted;
	uint8_t eof_in;       /* in_fd at EOF, EOF frame sent */
	uint8_t eof_recv;     /* peer's EOF received */
	uint8_t out_done;     /* out_fd shut down after the peer's EOF */
	uint8_t gone;         /* freed (deferred) */
	struct chan *next;    /* hash chain */
	uint32_t credit;      /* bytes we may still send */
	uint32_t recv_left;   /* bytes the peer may still send us */
	uint32_t consumed;    /* written out since the last WINDOW */
	int in_fd, out_fd;
	unsigned in_ev, out_ev;
	char *rbuf;           /* received, not yet written to out_fd */
	size_t rlen, roff, rcap;
	sep_record_fn *rec_fn;
	sep_chan_fn *ch_fn;
	void *arg;
};

struct sep_session {
	struct loop *lp;
	struct sep_io io;
	int is_server;
	struct sep_limits lim;
	const struct sep_server_ops *ops;
	void *ops_arg;
	sep_session_fn *fn;
	void *arg;
	char local_host[NS_HOST_MAX];
	char peer_host[NS_HOST_MAX];
	int ready, closed, preface_ok;
	uint32_t peer_window;     /* the peer's initial per-channel window */
	unsigned peer_max_channels;
	struct chan *buckets[NBUCKETS];
	unsigned nchan;
	uint32_t next_id;         /* client: next channel id; server: highest seen */
	uint8_t *ibuf;
	size_t ilen;
	uint8_t *obuf;
	size_t olen, ooff, ocap;
	int paused;               /* output above OUT_HIGH: channels stopped reading */
	uint64_t last_rx;
	struct loop_timer *timer;
	struct loop_timer *close_timer;
	int close_code;
	char close_reason[256];
	unsigned rfd_ev, wfd_ev;
	int in_dispatch;
};

static void session_io(struct loop *lp, int fd, unsigned ev, void *arg);
static void chan_io(struct loop *lp, int fd, unsigned ev, void *arg);
static void chan_update(struct sep_session *s, struct chan *c);
static void fail(struct sep_session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void sep_limits_default(struct sep_limits *l)
{
	l->max_channels = SEP_DEFAULT_MAX_CHANNELS;
	l->window = SEP_DEFAULT_WINDOW;
	l->max_frame = SEP_DEFAULT_MAX_FRAME;
	l->handshake_ms = SEP_DEFAULT_HANDSHAKE_MS;
	l->idle_ms = SEP_DEFAULT_IDLE_MS;
	l->keepalive_ms = SEP_DEFAULT_KEEPALIVE_MS;
	l->max_records = SEP_DEFAULT_MAX_RECORDS;
}

const char *sep_code_name(int code)
{
	static const char *const names[] = { "ok", "protocol error", "version mismatch",
		"limit exceeded", "no such service", "refused", "bad query", "internal error",
		"timed out", "shutting down", "reset" };
	return code >= 0 && code <= SEP_E_RESET ? names[code] : "unknown error";
}

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	return read(((int *)ctx)[0], buf, n);
}

static ssize_t fd_write(void *ctx, const void *buf, size_t n)
{
	int fd = ((int *)ctx)[1];
	struct stat st;
	/* a socket peer that went away must be an error, not a SIGPIPE */
	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		return send(fd, buf, n, MSG_NOSIGNAL);
	return write(fd, buf, n);
}

void sep_io_fd(struct sep_io *io, int rfd, int wfd)
{
	int *ctx = xmalloc(2 * sizeof(int));  /* freed by sep_session_free */
	ctx[0] = rfd;
	ctx[1] = wfd;
	memset(io, 0, sizeof *io);
	io->ctx = ctx;
	io->read = fd_read;
	io->write = fd_write;
	io->rfd = rfd;
	io->wfd = wfd;
	fd_set_nonblock(rfd, 1);
	fd_set_nonblock(wfd, 1);
}

/* ---- output ---- */

static uint8_t *out_reserve(struct sep_session *s, size_t n)
{
	if (s->ooff && s->ooff == s->olen)
		s->ooff = s->olen = 0;
	if (s->olen + n > s->ocap) {
		if (s->ooff) {
			memmove(s->obuf, s->obuf + s->ooff, s->olen - s->ooff);
			s->olen -= s->ooff;
			s->ooff = 0;
		}
		if (s->olen + n > s->ocap) {
			s->ocap = s->olen + n + 64 * 1024;
			s->obuf = xrealloc(s->obuf, s->ocap);
		}
	}
	return s->obuf + s->olen;
}

static void out_frame(struct sep_session *s, uint8_t type, uint32_t chan, const void *p, size_t len)
{
	uint8_t *o = out_reserve(s, SEP_HDR + len);
	sep_frame_header(o, type, chan, (uint32_t)len);
	if (len)
		memcpy(o + SEP_HDR, p, len);
	s->olen += SEP_HDR + len;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void out_reset(struct sep_session *s, uint8_t type, uint32_t chan, int code, const char *text)
{
	uint8_t p[4 + 255];
	size_t tl = strlen(text);
	if (tl > 255)
		tl = 255;
	p[0] = code >> 8;
	p[1] = code;
	p[2] = tl >> 8;
	p[3] = tl;
	memcpy(p + 4, text, tl);
	out_frame(s, type, chan, p, 4 + tl);
}

static size_t out_queued(const struct sep_session *s)
{
	return s->olen - s->ooff;
}

static void update_session_events(struct sep_session *s)
{
	if (s->closed)
		return;
	unsigned want_out = (out_queued(s) || (s->io.wants_write && s->io.wants_write(s->io.ctx))) ? LOOP_OUT : 0;
	if (s->io.rfd == s->io.wfd) {
		unsigned ev = LOOP_IN | want_out;
		if (ev != s->rfd_ev) {
			loop_events(s->lp, s->io.rfd, ev);
			s->rfd_ev = ev;
		}
	} else if (want_out != s->wfd_ev) {
		loop_events(s->lp, s->io.wfd, want_out);
		s->wfd_ev = want_out;
	}
}

static void resume_channels(struct sep_session *s)
{
	for (int b = 0; b < NBUCKETS; b++)
		for (struct chan *c = s->buckets[b]; c; c = c->next)
			chan_update(s, c);
}

static int flush(struct sep_session *s)
{
	while (out_queued(s)) {
		ssize_t n = s->io.write(s->io.ctx, s->obuf + s->ooff, out_queued(s));
		if (n > 0) {
			s->ooff += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		return -1;
	}
	if (!out_queued(s))
		s->ooff = s->olen = 0;
	if (s->paused && out_queued(s) < OUT_HIGH / 2) {
		s->paused = 0;
		resume_channels(s);
	}
	return 0;
}

/* ---- channels ---- */

static struct chan *chan_find(struct sep_session *s, uint32_t id)
{
	for (struct chan *c = s->buckets[id % NBUCKETS]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void chan_unwatch(struct sep_session *s, struct chan *c)
{
	if (c->in_fd >= 0 && c->in_ev != (unsigned)-1)
		loop_unwatch(s->lp, c->in_fd);
	if (c->out_fd >= 0 && c->out_fd != c->in_fd && c->out_ev != (unsigned)-1)
		loop_unwatch(s->lp, c->out_fd);
	c->in_ev = c->out_ev = (unsigned)-1;
}

static void chan_release(struct chan *c)
{
	free((char *)c - sizeof(struct sep_session *));
}

/* Remove a channel: close its descriptors; no callback. */
static void chan_free(struct sep_session *s, struct chan *c)
{
	struct chan **pp = &s->buckets[c->id % NBUCKETS];
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	s->nchan--;
	chan_unwatch(s, c);
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0 && c->out_fd != c->in_fd)
		close(c->out_fd);
	if (c->served && c->op == SEP_OP_WATCH && s->ops && s->ops->watch_stop)
		s->ops->watch_stop(s->ops_arg, s, c->id);
	free(c->rbuf);
	chan_release(c);
}

static void chan_end(struct sep_session *s, struct chan *c, int code, const char *text)
{
	sep_chan_fn *cf = c->ch_fn;
	sep_record_fn *rf = c->rec_fn;
	void *arg = c->arg;
	chan_free(s, c);
	if (cf)
		cf(arg, SEP_CH_CLOSED, code, text);
	else if (rf)
		rf(arg, code ? SEP_REC_ERROR : SEP_REC_END, NULL, code, text);
}

/* Reset a channel towards the peer and drop it. */
static void chan_reset(struct sep_session *s, struct chan *c, int code, const char *text)
{
	out_reset(s, SEP_RESET, c->id, code, text);
	chan_end(s, c, code, text);
}

static int is_sock(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Both directions finished: the channel is complete. */
static void chan_check_done(struct sep_session *s, struct chan *c)
{
	if (c->eof_recv && !c->rlen && !c->out_done && c->out_fd >= 0) {
		c->out_done = 1;
		if (is_sock(c->out_fd))
			shutdown(c->out_fd, SHUT_WR);
		else if (c->out_fd != c->in_fd) {
			loop_unwatch(s->lp, c->out_fd);
			close(c->out_fd);
			c->out_fd = -1;
		}
	}
	if (c->eof_in && c->out_done)
		chan_end(s, c, 0, "");
}

static void chan_update(struct sep_session *s, struct chan *c)
{
	if (c->in_fd < 0 && c->out_fd < 0)
		return;
	unsigned in = (c->accepted && !c->eof_in && c->credit > 0 && !s->paused) ? LOOP_IN : 0;
	unsigned out = c->rlen ? LOOP_OUT : 0;
	if (c->in_fd == c->out_fd) {
		unsigned ev = in | out;
		if (ev != c->in_ev) {
			if (c->in_ev == (unsigned)-1 ? loop_watch(s->lp, c->in_fd, ev, chan_io, c) == 0
			                             : loop_events(s->lp, c->in_fd, ev) == 0)
				c->in_ev = ev;
		}
		return;
	}
	if (c->in_fd >= 0 && in != c->in_ev) {
		if (c->in_ev == (unsigned)-1 ? loop_watch(s->lp, c->in_fd, in, chan_io, c) == 0
		                             : loop_events(s->lp, c->in_fd, in) == 0)
			c->in_ev = in;
	}
	if (c->out_fd >= 0 && out != c->out_ev) {
		if (c->out_ev == (unsigned)-1 ? loop_watch(s->lp, c->out_fd, out, chan_io, c) == 0
		                              : loop_events(s->lp, c->out_fd, out) == 0)
			c->out_ev = out;
	}
}

static void send_window(struct sep_session *s, struct chan *c, int force)
{
	if (!c->consumed || (!force && c->consumed < s->lim.window / 4))
		return;
	uint8_t p[4];
	put32(p, c->consumed);
	out_frame(s, SEP_WINDOW, c->id, p, 4);
	c->recv_left += c->consumed;
	c->consumed = 0;
}

/* Write what the channel holds to out_fd. -1 if the channel was reset. */
static int chan_drain(struct sep_session *s, struct chan *c)
{
	while (c->rlen) {
		ssize_t n = c->out_fd == c->in_fd || is_sock(c->out_fd)
		                ? send(c->out_fd, c->rbuf + c->roff, c->rlen, MSG_NOSIGNAL)
		                : write(c->out_fd, c->rbuf + c->roff, c->rlen);
		if (n > 0) {
			c->roff += n;
			c->rlen -= n;
			c->consumed += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		char t[128];
		snprintf(t, sizeof t, "service side: %s", n < 0 ? strerror(errno) : "closed");
		chan_reset(s, c, SEP_E_RESET, t);
		return -1;
	}
	if (!c->rlen) {
		/* nothing held: give the memory back (1,000 idle channels stay small) */
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = c->roff = 0;
	}
	send_window(s, c, c->rlen == 0);
	return 0;
}

/* Read from in_fd into one DATA frame. */
static void chan_pump_in(struct sep_session *s, struct chan *c)
{
	size_t want = c->credit < s->lim.max_frame ? c->credit : s->lim.max_frame;
	if (!want || c->eof_in || s->paused)
		return;
	uint8_t *o = out_reserve(s, SEP_HDR + want);
	ssize_t n = read(c->in_fd, o + SEP_HDR, want);
	if (n > 0) {
		sep_frame_header(o, SEP_DATA, c->id, (uint32_t)n);
		s->olen += SEP_HDR + n;
		c->credit -= n;
		if (out_queued(s) > OUT_HIGH)
			s->paused = 1;
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		if (n < 0) {
			char t[128];
			snprintf(t, sizeof t, "service side: %s", strerror(errno));
			chan_reset(s, c, SEP_E_RESET, t);
			return;
		}
		c->eof_in = 1;
		out_frame(s, SEP_EOF, c->id, NULL, 0);
		chan_check_done(s, c);
	}
}

static void chan_io(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct chan *c = arg;
	/* the session pointer sits just before the channel (chan_alloc) */
	struct sep_session *s = *(struct sep_session **)((char *)c - sizeof(struct sep_session *));
	uint32_t id = c->id;
	if ((ev & (LOOP_OUT | LOOP_ERR | LOOP_HUP)) && fd == c->out_fd && c->rlen) {
		if (chan_drain(s, c) < 0)
			goto out;
	}
	if ((ev & (LOOP_IN | LOOP_HUP | LOOP_ERR)) && fd == c->in_fd)
		chan_pump_in(s, c);
	c = chan_find(s, id);
	if (c) {
		chan_check_done(s, c);
		c = chan_find(s, id);
		if (c)
			chan_update(s, c);
	}
out:
	flush(s);
	update_session_events(s);
}

/* Channels carry a hidden back pointer just before them (see chan_io). */
static struct chan *chan_alloc(struct sep_session *s, uint32_t id, uint8_t op)
{
	char *mem = xcalloc(1, sizeof(struct sep_session *) + sizeof(struct chan));
	*(struct sep_session **)mem = s;
	struct chan *c = (struct chan *)(mem + sizeof(struct sep_session *));
	c->id = id;
	c->op = op;
	c->in_fd = c->out_fd = -1;
	c->in_ev = c->out_ev = (unsigned)-1;
	c->recv_left = s->lim.window;
	c->next = s->buckets[id % NBUCKETS];
	s->buckets[id % NBUCKETS] = c;
	s->nchan++;
	return c;
}


/* ---- session end ---- */

static void closed_cb(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->close_timer = NULL;
	if (s->fn)
		s->fn(s->arg, SEP_SESSION_CLOSED, s->close_code, s->close_reason);
}

static void session_end(struct sep_session *s, int code, const char *reason, int send_goaway)
{
	if (s->closed)
		return;
	if (send_goaway) {
		out_reset(s, SEP_GOAWAY, 0, code, reason);
		flush(s);  /* best effort: the peer learns why */
	}
	s->closed = 1;
	s->close_code = code;
	snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
	loop_unwatch(s->lp, s->io.rfd);
	if (s->io.wfd != s->io.rfd)
		loop_unwatch(s->lp, s->io.wfd);
	if (s->timer) {
		loop_timer_cancel(s->lp, s->timer);
		s->timer = NULL;
	}
	for (int b = 0; b < NBUCKETS; b++)
		while (s->buckets[b])
			chan_end(s, s->buckets[b], code ? code : SEP_E_SHUTDOWN, reason[0] ? reason : "session closed");
	/* the owner hears of it from the loop, never from inside its own call */
	s->close_timer = loop_timer(s->lp, 0, closed_cb, s);
}

static void fail(struct sep_session *s, int code, const char *fmt, ...)
{
	char r[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r, sizeof r, fmt, ap);
	va_end(ap);
	session_end(s, code, r, 1);
}

/* ---- frames in ---- */

static int parse_text(const struct sep_frame *f, int *code, char *text, size_t cap)
{
	if (f->len < 4)
		return -1;
	*code = f->p[0] << 8 | f->p[1];
	size_t tl = (size_t)f->p[2] << 8 | f->p[3];
	if (4 + tl != f->len)
		return -1;
	if (tl >= cap)
		tl = cap - 1;
	for (size_t i = 0; i < tl; i++)
		text[i] = (f->p[4 + i] < 0x20 || f->p[4 + i] == 0x7f) ? '?' : (char)f->p[4 + i];
	text[tl] = 0;
	return 0;
}

static void send_records(struct sep_session *s, uint32_t id, const struct ns_list *l, unsigned max)
{
	uint8_t buf[1024];
	for (size_t i = 0; i < l->n && i < max; i++) {
		size_t n = sep_build_record(buf, sizeof buf, SEP_REC_PRESENT, &l->v[i]);
		if (n)
			out_frame(s, SEP_RECORD, id, buf, n);
	}
}

void sep_watch_event(struct sep_session *s, uint32_t chan, int event, const struct ns_service *svc)
{
	struct chan *c = chan_find(s, chan);
	if (!c || s->closed)
		return;
	uint8_t buf[1024];
	size_t n = sep_build_record(buf, sizeof buf, event, svc);
	if (n) {
		out_frame(s, SEP_RECORD, chan, buf, n);
		flush(s);
		update_session_events(s);
	}
}

static void handle_open(struct sep_session *s, const struct sep_frame *f)
{
	if (!s->is_server)
		return fail(s, SEP_E_PROTOCOL, "OPEN sent to a client");
	if (f->chan <= s->next_id)
		return fail(s, SEP_E_PROTOCOL, "OPEN with channel id %u not above %u", f->chan, s->next_id);
	if (f->len < 7)
		return fail(s, SEP_E_PROTOCOL, "short OPEN");
	uint8_t op = f->p[0];
	uint32_t win = get32(f->p + 1);
	size_t ql = (size_t)f->p[5] << 8 | f->p[6];
	if (7 + ql != f->len || ql >= NS_PATH_MAX)
		return fail(s, SEP_E_PROTOCOL, "bad OPEN query length");
	if (op < SEP_OP_LIST || op > SEP_OP_CONNECT)
		return fail(s, SEP_E_PROTOCOL, "OPEN with unknown operation %u", op);
	s->next_id = f->chan;
	char q[NS_PATH_MAX];
	memcpy(q, f->p + 7, ql);
	q[ql] = 0;
	if (memchr(q, 0, ql)) {
		out_reset(s, SEP_RESET, f->chan, SEP_E_BADQUERY, "NUL in query");
		return;
	}
	if (s->nchan >= s->lim.max_channels) {
		out_reset(s, SEP_RESET, f->chan, SEP_E_LIMIT, "too many channels");
		return;
	}
	char err[NS_ERR_MAX] = "";
	int code = SEP_E_INTERNAL;
	uint8_t wp[4];
	put32(wp, s->lim.window);
	if (op == SEP_OP_LIST) {
		struct ns_list l = { 0 };
		if (!s->ops || !s->ops->list || s->ops->list(s->ops_arg, q, &l, &code, err, sizeof err) < 0) {
			out_reset(s, SEP_RESET, f->chan, code, err[0] ? err : "cannot list");
			ns_list_free(&l);
			return;
		}
		out_frame(s, SEP_ACCEPT, f->chan, wp, 4);
		send_records(s, f->chan, &l, s->lim.max_records);
		out_frame(s, SEP_EOF, f->chan, NULL, 0);
		ns_list_free(&l);
		return;
	}
	struct chan *c = chan_alloc(s, f->chan, op);
	c->served = 1;
	c->credit = win;
	if (op == SEP_OP_WATCH) {
		out_frame(s, SEP_ACCEPT, f->chan, wp, 4);
		c->accepted = 1;
		if (!s->ops || !s->ops->watch_start ||
		    s->ops->watch_start(s->ops_arg, s, f->chan, q, &code, err, sizeof err) < 0) {
			c->op = 0;  /* nothing to stop */
			chan_reset(s, c, code, err[0] ? err : "cannot watch");
		}
		return;
	}
	int fd = s->ops && s->ops->connect ? s->ops->connect(s->ops_arg, q, &code, err, sizeof err) : -1;
	if (fd < 0) {
		/* refused: the peer's other channels go on */
		out_reset(s, SEP_RESET, f->chan, code, err[0] ? err : "cannot connect");
		s->nchan--;
		s->buckets[c->id % NBUCKETS] = c->next;
		chan_release(c);
		return;
	}
	fd_set_nonblock(fd, 1);
	c->in_fd = c->out_fd = fd;
	c->accepted = 1;
	out_frame(s, SEP_ACCEPT, f->chan, wp, 4);
	chan_update(s, c);
}

static void handle_data(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	if (c->op != SEP_OP_CONNECT || !c->accepted || c->eof_recv)
		return fail(s, SEP_E_PROTOCOL, "DATA on channel %u that takes none", c->id);
	if (f->len > c->recv_left)
		return fail(s, SEP_E_PROTOCOL, "DATA beyond credit on channel %u (%u > %u)", c->id,
		            f->len, c->recv_left);
	c->recv_left -= f->len;
	const uint8_t *p = f->p;
	size_t n = f->len;
	if (!c->rlen && c->out_fd >= 0) {
		/* straight through when the service takes it */
		ssize_t w = send(c->out_fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(c->out_fd, p, n);
		if (w > 0) {
			p += w;
			n -= w;
			c->consumed += w;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			char t[128];
			snprintf(t, sizeof t, "service side: %s", strerror(errno));
			return chan_reset(s, c, SEP_E_RESET, t);
		}
	}
	if (n) {
		if (c->roff + c->rlen + n > c->rcap) {
			if (c->roff) {
				memmove(c->rbuf, c->rbuf + c->roff, c->rlen);
				c->roff = 0;
			}
			if (c->rlen + n > c->rcap) {
				c->rcap = c->rlen + n;
				c->rbuf = xrealloc(c->rbuf, c->rcap);
			}
		}
		memcpy(c->rbuf + c->roff + c->rlen, p, n);
		c->rlen += n;
	}
	send_window(s, c, c->rlen == 0);
	chan_update(s, c);
}

static void handle_frame(struct sep_session *s, const struct sep_frame *f)
{
	if (!s->ready) {
		if (f->type != SEP_HELLO || f->chan != 0)
			return fail(s, SEP_E_PROTOCOL, "expected HELLO, got frame type %u", f->type);
		if (f->len < 9)
			return fail(s, SEP_E_PROTOCOL, "short HELLO");
		uint8_t vmin = f->p[0], vmax = f->p[1];
		if (vmin > 1 || vmax < 1)
			return fail(s, SEP_E_VERSION, "peer speaks SEP versions %u..%u, we speak 1", vmin, vmax);
		s->peer_window = get32(f->p + 2);
		s->peer_max_channels = (unsigned)f->p[6] << 8 | f->p[7];
		size_t hl = f->p[8];
		if (9 + hl != f->len || hl >= NS_HOST_MAX)
			return fail(s, SEP_E_PROTOCOL, "bad HELLO host name");
		memcpy(s->peer_host, f->p + 9, hl);
		s->peer_host[hl] = 0;
		for (size_t i = 0; i < hl; i++)
			if (s->peer_host[i] <= ' ' || s->peer_host[i] == '/' || s->peer_host[i] == 0x7f)
				return fail(s, SEP_E_PROTOCOL, "bad HELLO host name");
		if (s->peer_window < 1024)
			return fail(s, SEP_E_PROTOCOL, "HELLO window %u below 1024", s->peer_window);
		s->ready = 1;
		if (s->fn)
			s->fn(s->arg, SEP_SESSION_READY, 0, "");
		return;
	}
	if (f->chan == 0) {
		switch (f->type) {
		case SEP_PING:
			if (f->len != 8)
				return fail(s, SEP_E_PROTOCOL, "PING of %u bytes", f->len);
			out_frame(s, SEP_PONG, 0, f->p, 8);
			return;
		case SEP_PONG:
			return;
		case SEP_GOAWAY: {
			int code;
			char t[256];
			if (parse_text(f, &code, t, sizeof t) < 0)
				return fail(s, SEP_E_PROTOCOL, "bad GOAWAY");
			char r[300];
			snprintf(r, sizeof r, "peer closed the session: %s%s%s", sep_code_name(code),
			         t[0] ? ": " : "", t);
			return session_end(s, code, r, 0);
		}
		default:
			return fail(s, SEP_E_PROTOCOL, "frame type %u on channel 0", f->type);
		}
	}
	if (f->type == SEP_OPEN)
		return handle_open(s, f);
	struct chan *c = chan_find(s, f->chan);
	if (!c) {
		/* a channel that ended while this was in flight is fine; one never opened is not */
		int known = s->is_server ? f->chan <= s->next_id : f->chan < s->next_id;
		if (!known)
			return fail(s, SEP_E_PROTOCOL, "frame type %u on channel %u never opened", f->type, f->chan);
		return;
	}
	switch (f->type) {
	case SEP_ACCEPT:
		if (c->served || c->accepted || f->len != 4)
			return fail(s, SEP_E_PROTOCOL, "unexpected ACCEPT on channel %u", c->id);
		c->accepted = 1;
		c->credit = get32(f->p);
		if (c->ch_fn)
			c->ch_fn(c->arg, SEP_CH_ACCEPTED, 0, "");
		if ((c = chan_find(s, f->chan)))
			chan_update(s, c);
		return;
	case SEP_RESET: {
		int code;
		char t[256];
		if (parse_text(f, &code, t, sizeof t) < 0)
			return fail(s, SEP_E_PROTOCOL, "bad RESET");
		return chan_end(s, c, code ? code : SEP_E_RESET, t);
	}
	case SEP_DATA:
		return handle_data(s, c, f);
	case SEP_EOF:
		if (f->len || c->eof_recv)
			return fail(s, SEP_E_PROTOCOL, "bad EOF on channel %u", c->id);
		if (c->op == SEP_OP_LIST && !c->served)
			return chan_end(s, c, 0, "");
		if (c->op == SEP_OP_WATCH)
			return chan_end(s, c, 0, "");
		c->eof_recv = 1;
		chan_check_done(s, c);
		if ((c = chan_find(s, f->chan)))
			chan_update(s, c);
		return;
	case SEP_WINDOW: {
		if (f->len != 4)
			return fail(s, SEP_E_PROTOCOL, "bad WINDOW");
		uint64_t cr = (uint64_t)c->credit + get32(f->p);
		if (cr > 0x7fffffff)
			return fail(s, SEP_E_PROTOCOL, "WINDOW overflow on channel %u", c->id);
		c->credit = (uint32_t)cr;
		chan_update(s, c);
		return;
	}
	case SEP_RECORD: {
		if (c->served || !c->rec_fn)
			return fail(s, SEP_E_PROTOCOL, "RECORD on channel %u", c->id);
		int ev;
		struct ns_service svc;
		if (sep_parse_record(f, &ev, &svc) < 0)
			return fail(s, SEP_E_PROTOCOL, "malformed RECORD on channel %u", c->id);
		c->rec_fn(c->arg, ev, ev == SEP_REC_SYNC ? NULL : &svc, 0, "");
		return;
	}
	default:
		return fail(s, SEP_E_PROTOCOL, "unknown frame type %u", f->type);
	}
}

static void read_input(struct sep_session *s)
{
	size_t cap = SEP_HDR + SEP_MAX_PAYLOAD;
	for (int rounds = 0; rounds < 64 && !s->closed; rounds++) {
		ssize_t n = s->io.read(s->io.ctx, s->ibuf + s->ilen, cap - s->ilen);
		if (n == 0) {
			session_end(s, s->ready ? SEP_E_SHUTDOWN : SEP_E_PROTOCOL,
			            s->ready ? "peer closed the connection" : "connection closed before HELLO", 0);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			char r[128];
			snprintf(r, sizeof r, "transport: %s", strerror(errno));
			session_end(s, SEP_E_SHUTDOWN, r, 0);
			return;
		}
		s->ilen += n;
		s->last_rx = now_ms();
		size_t off = 0;
		if (!s->preface_ok) {
			size_t k = s->ilen < SEP_PREFACE_LEN ? s->ilen : SEP_PREFACE_LEN;
			if (memcmp(s->ibuf, SEP_PREFACE, k)) {
				if (s->ibuf[0] == 0x16)
					fail(s, SEP_E_PROTOCOL, "the peer speaks TLS; this end speaks plaintext SEP");
				else
					fail(s, SEP_E_PROTOCOL, "the peer does not speak SEP");
				return;
			}
			if (s->ilen < SEP_PREFACE_LEN)
				continue;
			s->preface_ok = 1;
			off = SEP_PREFACE_LEN;
		}
		s->in_dispatch = 1;
		while (!s->closed) {
			struct sep_frame f;
			int r = sep_frame_decode(s->ibuf + off, s->ilen - off, &f);
			if (r < 0) {
				fail(s, SEP_E_PROTOCOL, "frame of %u bytes over the limit",
				     (unsigned)get32(s->ibuf + off));
				break;
			}
			if (r == 0)
				break;
			handle_frame(s, &f);
			off += r;
		}
		s->in_dispatch = 0;
		if (s->closed)
			return;
		memmove(s->ibuf, s->ibuf + off, s->ilen - off);
		s->ilen -= off;
		if (!(s->io.pending && s->io.pending(s->io.ctx)) && n < (ssize_t)(cap / 2))
			break;
	}
}

static void session_io(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct sep_session *s = arg;
	if (s->closed)
		return;
	if (fd == s->io.rfd && (ev & (LOOP_IN | LOOP_HUP | LOOP_ERR)))
		read_input(s);
	if (s->closed)
		return;
	if (flush(s) < 0) {
		session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
		return;
	}
	update_session_events(s);
}

static void tick(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->timer = NULL;
	uint64_t now = now_ms(), quiet = now - s->last_rx;
	if (!s->ready) {
		fail(s, SEP_E_TIMEOUT, "no HELLO within %u ms", s->lim.handshake_ms);
		return;
	}
	if (s->lim.idle_ms && quiet >= s->lim.idle_ms) {
		fail(s, SEP_E_TIMEOUT, "nothing received for %u ms", s->lim.idle_ms);
		return;
	}
	if (quiet >= s->lim.keepalive_ms) {
		uint8_t p[8];
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(now >> (8 * i));
		out_frame(s, SEP_PING, 0, p, 8);
		flush(s);
		update_session_events(s);
	}
	s->timer = loop_timer(lp, s->lim.keepalive_ms / 2 + 1, tick, s);
}

struct sep_session *sep_session_new(struct loop *lp, const struct sep_io *io, int is_server,
                                    const struct sep_limits *lim, const struct sep_server_ops *ops,
                                    void *ops_arg, const char *local_host, sep_session_fn *fn,
                                    void *arg)
{
	struct sep_session *s = xcalloc(1, sizeof *s);
	s->lp = lp;
	s->io = *io;
	s->is_server = is_server;
	if (lim)
		s->lim = *lim;
	else
		sep_limits_default(&s->lim);
	if (s->lim.max_frame > 64 * 1024)
		s->lim.max_frame = 64 * 1024;
	s->ops = ops;
	s->ops_arg = ops_arg;
	s->fn = fn;
	s->arg = arg;
	snprintf(s->local_host, sizeof s->local_host, "%s", local_host ? local_host : ns_host());
	s->ibuf = xmalloc(SEP_HDR + SEP_MAX_PAYLOAD);
	s->next_id = 0;
	s->last_rx = now_ms();
	/* preface and HELLO go out at once: both sides speak first */
	memcpy(out_reserve(s, SEP_PREFACE_LEN), SEP_PREFACE, SEP_PREFACE_LEN);
	s->olen += SEP_PREFACE_LEN;
	uint8_t h[9 + NS_HOST_MAX];
	size_t hl = strlen(s->local_host);
	h[0] = 1;
	h[1] = 1;
	put32(h + 2, s->lim.window);
	h[6] = (uint8_t)(s->lim.max_channels >> 8);
	h[7] = (uint8_t)s->lim.max_channels;
	h[8] = (uint8_t)hl;
	memcpy(h + 9, s->local_host, hl);
	out_frame(s, SEP_HELLO, 0, h, 9 + hl);
	s->rfd_ev = LOOP_IN | LOOP_OUT;
	loop_watch(lp, s->io.rfd, s->io.rfd == s->io.wfd ? LOOP_IN | LOOP_OUT : LOOP_IN, session_io, s);
	if (s->io.wfd != s->io.rfd) {
		s->wfd_ev = LOOP_OUT;
		loop_watch(lp, s->io.wfd, LOOP_OUT, session_io, s);
	}
	s->timer = loop_timer(lp, s->lim.handshake_ms, tick, s);
	return s;
}

void sep_session_close(struct sep_session *s, int code, const char *reason)
{
	session_end(s, code, reason ? reason : "", 1);
}

void sep_session_free(struct sep_session *s)
{
	if (!s)
		return;
	if (!s->closed) {
		s->fn = NULL;
		session_end(s, SEP_E_SHUTDOWN, "closed", 1);
	}
	if (s->close_timer)
		loop_timer_cancel(s->lp, s->close_timer);
	if (s->io.read == fd_read)
		free(s->io.ctx);
	free(s->ibuf);
	free(s->obuf);
	free(s);
}

const char *sep_peer_host(const struct sep_session *s)
{
	return s->peer_host;
}

int sep_session_ready(const struct sep_session *s)
{
	return s->ready && !s->closed;
}

unsigned sep_session_channels(const struct sep_session *s)
{
	return s->nchan;
}

/* ---- client operations ---- */

static uint32_t client_open(struct sep_session *s, uint8_t op, const char *query, struct chan **out)
{
	if (s->closed || s->nchan >= (s->peer_max_channels ? s->peer_max_channels : s->lim.max_channels))
		return 0;
	size_t ql = strlen(query ? query : "");
	if (ql >= NS_PATH_MAX)
		return 0;
	uint32_t id = ++s->next_id;
	uint8_t p[7 + NS_PATH_MAX];
	p[0] = op;
	put32(p + 1, s->lim.window);
	p[5] = (uint8_t)(ql >> 8);
	p[6] = (uint8_t)ql;
	memcpy(p + 7, query ? query : "", ql);
	out_frame(s, SEP_OPEN, id, p, 7 + ql);
	*out = chan_alloc(s, id, op);
	flush(s);
	update_session_events(s);
	return id;
}

uint32_t sep_list(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg)
{
	struct chan *c;
	uint32_t id = client_open(s, SEP_OP_LIST, query, &c);
	if (id) {
		c->rec_fn = fn;
		c->arg = arg;
	}
	return id;
}

uint32_t sep_watch(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg)
{
	struct chan *c;
	uint32_t id = client_open(s, SEP_OP_WATCH, query, &c);
	if (id) {
		c->rec_fn = fn;
		c->arg = arg;
	}
	return id;
}

uint32_t sep_connect(struct sep_session *s, const char *query, int in_fd, int out_fd,
                     sep_chan_fn *fn, void *arg)
{
	struct chan *c;
	uint32_t id = client_open(s, SEP_OP_CONNECT, query, &c);
	if (!id)
		return 0;
	c->ch_fn = fn;
	c->arg = arg;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	fd_set_nonblock(in_fd, 1);
	if (out_fd != in_fd)
		fd_set_nonblock(out_fd, 1);
	return id;
}

void sep_channel_cancel(struct sep_session *s, uint32_t chan)
{
	struct chan *c = chan_find(s, chan);
	if (!c)
		return;
	c->ch_fn = NULL;
	c->rec_fn = NULL;
	out_reset(s, SEP_RESET, chan, SEP_E_RESET, "cancelled");
	chan_free(s, c);
	flush(s);
	update_session_events(s);
}
