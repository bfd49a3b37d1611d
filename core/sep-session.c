/* sep-session.c: the SEP session engine: preface and HELLO, channels, credit, bridging
 * channels to local descriptors, keepalive, the end of a session (doc/sep.md).
 *
 * Output: one queue of encoded frames (obuf), written to the transport as it takes
 * them. Three marks bound it:
 *   OUT_HIGH  channels stop reading their local descriptor (resumed below half), so
 *             the transport's speed paces every channel and DATA never piles up;
 *   OUT_STOP  the engine stops reading the transport: what a peer makes us send
 *             (PONG, WINDOW, LIST answers) can only grow while the peer reads it;
 *   OUT_MAX   the session is closed (LIMIT): the peer does not read at all while
 *             WATCH events keep coming.
 * Input: frames are decoded in ibuf and dispatched at once; DATA for a channel is
 * written straight to its descriptor, and only what the descriptor does not take is
 * kept, never more than the channel's window (the peer may never send beyond it).
 * A descriptor is registered on the loop only while we want something from it, so
 * a hung-up socket of a stalled channel cannot wake the loop again and again. */
#include "sep-wire.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_HIGH (512 * 1024)
#define OUT_STOP (1024 * 1024)
#define OUT_MAX (8 * 1024 * 1024)
#define OBUF_KEEP (128 * 1024)   /* an empty output queue bigger than this is freed */
#define LINGER_MS 1000           /* at most this long to get GOAWAY out after the end */
#define READ_ROUNDS 64           /* transport reads per wakeup (then others get a turn) */
#define NBUCKETS 256
#define IBUF_MAP ((SEP_HDR + SEP_MAX_PAYLOAD + 4095) & ~(size_t)4095)
#define UNWATCHED ((unsigned)-1)

struct chan {
	struct sep_session *s;
	struct chan *next;       /* hash chain */
	uint32_t id;
	uint8_t op;
	uint8_t served;          /* 1: we serve it (server side) */
	uint8_t accepted;
	uint8_t eof_in;          /* in_fd at EOF, our EOF frame queued */
	uint8_t eof_recv;        /* the peer's EOF received */
	uint8_t out_done;        /* out_fd shut down after the peer's EOF was delivered */
	uint8_t in_file, out_file;  /* the loop cannot watch it (regular file): always ready */
	uint8_t out_sock;
	uint8_t sole;            /* in_fd == out_fd, a socket no other descriptor refers to */
	uint8_t accept_due;      /* server CONNECT: accepted here, ACCEPT not sent yet */
	uint8_t pending;         /* server CONNECT: connect_start's answer not in yet */
	uint8_t fresh;           /* client CONNECT: on the session's fresh list */
	uint32_t credit;         /* bytes we may still send */
	uint32_t early;          /* client CONNECT: bytes sent before the ACCEPT (sep.md 4.1) */
	uint32_t recv_left;      /* bytes the peer may still send us */
	uint32_t consumed;       /* delivered to out_fd since our last WINDOW */
	int in_fd, out_fd;
	unsigned in_ev, out_ev;  /* registered masks, UNWATCHED when not on the loop */
	struct loop_timer *kick; /* services an always-ready (file) descriptor */
	struct loop_timer *atimer;  /* accept_due: the ACCEPT goes out at the latest then */
	struct chan *fresh_next;
	char *rbuf;              /* received, not yet written to out_fd (only while non-empty) */
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
	int ready, closed, preface_ok, lingering;
	unsigned peer_max_channels;
	uint32_t peer_window;    /* the peer's HELLO window: early credit on our CONNECTs */
	unsigned version;        /* agreed in HELLO */
	int got_paths;           /* client: the peer's PATHS came */
	struct sep_paths paths;  /* server: the directories we offer; client: the peer's */
	struct chan *buckets[NBUCKETS];
	struct chan *fresh;       /* new CONNECTs: read once before the OPEN goes out */
	unsigned nchan;
	uint32_t last_id;         /* client: last id opened; server: highest id seen */
	uint8_t *ibuf;            /* IBUF_MAP bytes, mapped (xmap) */
	size_t ilen;
	uint8_t *obuf;
	size_t olen, ooff, ocap;
	size_t opeak;             /* most queued since the queue last ran empty */
	int paused;               /* output above OUT_HIGH: channels stopped reading */
	uint64_t last_rx;
	int idle_due;             /* a keepalive PING or PONG: tell io.idle once it is out */
	struct loop_timer *timer;       /* handshake, keepalive, idle */
	struct loop_timer *close_timer; /* the deferred SEP_SESSION_CLOSED */
	struct loop_timer *linger_timer;
	struct loop_timer *rkick;       /* read on: the transport holds decrypted bytes */
	struct loop_timer *fkick;       /* the output of this loop iteration goes out */
	int close_code;
	char close_reason[256];
	unsigned rfd_ev, wfd_ev;        /* registered masks, UNWATCHED when not */
};

static void session_io(struct loop *lp, int fd, unsigned ev, void *arg);
static void schedule_tick(struct sep_session *s);
static void tick(struct loop *lp, void *arg);
static void chan_io(struct loop *lp, int fd, unsigned ev, void *arg);
static void chan_update(struct sep_session *s, struct chan *c);
static void session_end(struct sep_session *s, int code, const char *reason, int send_goaway);
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
	l->accept_delay_ms = SEP_DEFAULT_ACCEPT_DELAY_MS;
}

const char *sep_code_name(int code)
{
	static const char *const names[] = { "ok", "protocol error", "version mismatch",
		"limit exceeded", "no such service", "refused", "bad query", "internal error",
		"timed out", "shutting down", "reset" };
	return code >= 0 && code <= SEP_E_RESET ? names[code] : "unknown error";
}

/* ---- plain descriptors as a transport ---- */

struct fd_io {
	int rfd, wfd, wsock;
};

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	return read(((struct fd_io *)ctx)->rfd, buf, n);
}

static ssize_t fd_write(void *ctx, const void *buf, size_t n)
{
	struct fd_io *x = ctx;
	/* a socket peer that went away must be an error, not a SIGPIPE */
	return x->wsock ? send(x->wfd, buf, n, MSG_NOSIGNAL) : write(x->wfd, buf, n);
}

static int is_sock(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

void sep_io_fd(struct sep_io *io, int rfd, int wfd)
{
	struct fd_io *x = xmalloc(sizeof *x);  /* freed by sep_session_free */
	x->rfd = rfd;
	x->wfd = wfd;
	x->wsock = is_sock(wfd);
	memset(io, 0, sizeof *io);
	io->ctx = x;
	io->read = fd_read;
	io->write = fd_write;
	io->rfd = rfd;
	io->wfd = wfd;
	fd_set_nonblock(rfd, 1);
	fd_set_nonblock(wfd, 1);
}

/* ---- output ---- */

static size_t out_queued(const struct sep_session *s)
{
	return s->olen - s->ooff;
}

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
	if (s->olen + n > s->opeak)
		s->opeak = s->olen + n;
	return s->obuf + s->olen;
}

static void out_frame(struct sep_session *s, uint8_t type, uint32_t chan, const void *p, size_t len)
{
	if (s->closed)
		return;
	uint8_t *o = out_reserve(s, SEP_HDR + len);
	sep_frame_header(o, type, chan, (uint32_t)len);
	if (len)
		memcpy(o + SEP_HDR, p, len);
	s->olen += SEP_HDR + len;
}

static void out_u32(struct sep_session *s, uint8_t type, uint32_t chan, uint32_t v)
{
	uint8_t p[4];
	out_frame(s, type, chan, p, sep_build_u32(p, v));
}

/* RESET (channel) or GOAWAY (channel 0) with a code and a text. */
static void out_text(struct sep_session *s, uint8_t type, uint32_t chan, int code, const char *text)
{
	uint8_t p[4 + SEP_MAX_TEXT];
	out_frame(s, type, chan, p, sep_build_text(p, sizeof p, code, text));
}

/* Is the transport worth reading now? Not while our answers pile up unread. */
static int want_read(const struct sep_session *s)
{
	return !s->closed && out_queued(s) <= OUT_STOP;
}

static void read_kick(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->rkick = NULL;
	session_io(lp, s->io.rfd, LOOP_IN, s);
}

static void set_fd_events(struct sep_session *s, int fd, unsigned *cur, unsigned want)
{
	if (want == *cur || (!want && *cur == UNWATCHED))
		return;
	if (!want) {
		loop_unwatch(s->lp, fd);
		*cur = UNWATCHED;
	} else if ((*cur == UNWATCHED ? loop_watch(s->lp, fd, want, session_io, s)
	                              : loop_events(s->lp, fd, want)) == 0) {
		*cur = want;
	}
}

static void update_session_events(struct sep_session *s)
{
	if (s->closed && !s->lingering)
		return;
	unsigned in = want_read(s) ? LOOP_IN : 0;
	unsigned out = (out_queued(s) || (!s->closed && s->io.wants_write && s->io.wants_write(s->io.ctx)))
	                       ? LOOP_OUT : 0;
	if (s->io.rfd == s->io.wfd) {
		set_fd_events(s, s->io.rfd, &s->rfd_ev, in | out);
	} else {
		set_fd_events(s, s->io.rfd, &s->rfd_ev, in);
		set_fd_events(s, s->io.wfd, &s->wfd_ev, out);
	}
	/* bytes the transport already holds (TLS) wake nobody through the fd */
	if (in && !s->rkick && s->io.pending && s->io.pending(s->io.ctx))
		s->rkick = loop_timer(s->lp, 0, read_kick, s);
}

static void resume_channels(struct sep_session *s)
{
	for (int b = 0; b < NBUCKETS; b++)
		for (struct chan *c = s->buckets[b]; c; c = c->next)
			chan_update(s, c);
}

/* Write what the transport takes. -1 when it failed. */
static int flush(struct sep_session *s)
{
	if (!out_queued(s) && s->io.wants_write && s->io.wants_write(s->io.ctx)) {
		/* the transport holds output of its own (TLS): a zero-length write pushes it */
		if (s->io.write(s->io.ctx, s->obuf ? (void *)s->obuf : (void *)s, 0) < 0 &&
		    errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
	}
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
	if (!out_queued(s)) {
		/* A keepalive went out: one side heard nothing for a keepalive period, so the
		 * transport's buffers of the last burst are dead weight while the session
		 * stays quiet (TLS gives back their pages) */
		if (s->idle_due && s->io.idle)
			s->io.idle(s->io.ctx);
		s->idle_due = 0;
		/* A big buffer goes back only after a burst that did not need it: a bulk
		 * transfer drains the queue again and again, and freeing at each drain was an
		 * mmap, a munmap and its page faults every 600 KiB. An idle session frees it
		 * at its next small write (a PING at the latest). */
		int shrink = s->opeak <= OBUF_KEEP;
		s->ooff = s->olen = s->opeak = 0;
		if (s->ocap > OBUF_KEEP && shrink) {
			free(s->obuf);
			s->obuf = NULL;
			s->ocap = 0;
		}
	}
	if (s->paused && out_queued(s) < OUT_HIGH / 2 && !s->closed) {
		s->paused = 0;
		resume_channels(s);
	}
	return 0;
}

static void chan_try_in(struct sep_session *s, struct chan *c);

static void flush_kick(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->fkick = NULL;
	/* a new CONNECT's first bytes are often there already (a client writes right after
	 * its connect): read them now, so they go out with the OPEN in one record */
	while (s->fresh && !s->closed) {
		struct chan *c = s->fresh;
		s->fresh = c->fresh_next;
		c->fresh = 0;
		chan_try_in(s, c);
	}
	if (s->closed)
		return;
	if (flush(s) < 0)
		return session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
	update_session_events(s);
}

/* Frames queued by a channel (or a new OPEN) go out after the callbacks of this loop
 * iteration, with what the others queued meanwhile: one write, so one TLS record
 * (one send, one AEAD call, one wakeup of the peer) where each callback would have
 * made its own, e.g. a connection's EOF and the next connection's OPEN. The loop runs
 * due timers after each batch of events, so this is never later than that batch. */
static void flush_later(struct sep_session *s)
{
	if (!s->fkick && !s->closed)
		s->fkick = loop_timer(s->lp, 0, flush_kick, s);
}

/* ---- channels ---- */

static struct chan *chan_find(struct sep_session *s, uint32_t id)
{
	for (struct chan *c = s->buckets[id % NBUCKETS]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static struct chan *chan_alloc(struct sep_session *s, uint32_t id, uint8_t op)
{
	struct chan *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->id = id;
	c->op = op;
	c->in_fd = c->out_fd = -1;
	c->in_ev = c->out_ev = UNWATCHED;
	c->recv_left = s->lim.window;
	c->next = s->buckets[id % NBUCKETS];
	s->buckets[id % NBUCKETS] = c;
	s->nchan++;
	return c;
}

/* Remove a channel: stop its watch, close its descriptors; no callback. */
static void chan_free(struct sep_session *s, struct chan *c)
{
	struct chan **pp = &s->buckets[c->id % NBUCKETS];
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	s->nchan--;
	/* closing the only descriptor of a file takes it off epoll: no EPOLL_CTL_DEL */
	if (c->in_ev != UNWATCHED && c->sole)
		loop_forget(s->lp, c->in_fd);
	else if (c->in_ev != UNWATCHED)
		loop_unwatch(s->lp, c->in_fd);
	if (c->out_ev != UNWATCHED && c->out_fd != c->in_fd)
		loop_unwatch(s->lp, c->out_fd);
	if (c->kick)
		loop_timer_cancel(s->lp, c->kick);
	if (c->atimer)
		loop_timer_cancel(s->lp, c->atimer);
	if (c->fresh)
		for (struct chan **fp = &s->fresh; *fp; fp = &(*fp)->fresh_next)
			if (*fp == c) {
				*fp = c->fresh_next;
				break;
			}
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0 && c->out_fd != c->in_fd)
		close(c->out_fd);
	if (c->served && c->op == SEP_OP_WATCH && s->ops && s->ops->watch_stop)
		s->ops->watch_stop(s->ops_arg, s, c->id);
	if (c->pending && s->ops && s->ops->connect_cancel)
		s->ops->connect_cancel(s->ops_arg, s, c->id);
	free(c->rbuf);
	free(c);
}

/* The channel is over: free it, then tell its owner. */
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

/* A served CONNECT's ACCEPT, if it has not gone out yet: before any other frame of the
 * channel, so the peer always sees ACCEPT first (doc/sep.md 4.1). */
static void accept_send(struct sep_session *s, struct chan *c)
{
	if (!c->accept_due)  /* (never while pending: the ACCEPT waits for the service) */
		return;
	c->accept_due = 0;
	if (c->atimer)
		loop_timer_cancel(s->lp, c->atimer);
	c->atimer = NULL;
	out_u32(s, SEP_ACCEPT, c->id, s->lim.window);
}

static void accept_timeout(struct loop *lp, void *arg)
{
	struct chan *c = arg;
	struct sep_session *s = c->s;
	c->atimer = NULL;
	accept_send(s, c);
	flush_later(s);
}

/* Reset a channel towards the peer and end it here. */
static void chan_reset(struct sep_session *s, struct chan *c, int code, const char *text)
{
	accept_send(s, c);
	out_text(s, SEP_RESET, c->id, code, text);
	chan_end(s, c, code, text);
}

static void chan_local_error(struct sep_session *s, struct chan *c, const char *what, int err)
{
	char t[128];
	snprintf(t, sizeof t, "%s: %s", what, err ? strerror(err) : "closed");
	chan_reset(s, c, SEP_E_RESET, t);
}

/* Deliver the peer's EOF once everything before it is written; end the channel when
 * both directions are done. */
static void chan_check_done(struct sep_session *s, struct chan *c)
{
	if (c->eof_recv && !c->rlen && !c->out_done && c->out_fd >= 0) {
		c->out_done = 1;
		if (c->sole && c->eof_in) {
			/* both directions are done: the close below says EOF as well */
		} else if (c->out_sock) {
			shutdown(c->out_fd, SHUT_WR);
		} else if (c->out_fd != c->in_fd) {
			if (c->out_ev != UNWATCHED)
				loop_unwatch(s->lp, c->out_fd);
			c->out_ev = UNWATCHED;
			close(c->out_fd);
			c->out_fd = -1;
		}
	}
	if (c->eof_in && c->out_done)
		chan_end(s, c, 0, "");
}

static void chan_kick(struct loop *lp, void *arg)
{
	struct chan *c = arg;
	struct sep_session *s = c->s;
	uint32_t id = c->id;
	c->kick = NULL;
	if (c->in_file && c->in_ev == UNWATCHED)
		chan_io(lp, c->in_fd, LOOP_IN, c);
	if ((c = chan_find(s, id)) && c->out_file && c->out_ev == UNWATCHED && c->rlen)
		chan_io(lp, c->out_fd, LOOP_OUT, c);
}

/* Register fd for want (nothing at all when want is 0); a descriptor the loop cannot
 * watch (a regular file) is always ready: serviced from a timer instead. */
static void chan_watch(struct sep_session *s, struct chan *c, int fd, unsigned *cur,
                       uint8_t *file, unsigned want)
{
	if (*file) {
		if (want && !c->kick)
			c->kick = loop_timer(s->lp, 0, chan_kick, c);
		return;
	}
	if (want == *cur || (!want && *cur == UNWATCHED))
		return;
	if (!want) {
		loop_unwatch(s->lp, fd);
		*cur = UNWATCHED;
		return;
	}
	if ((*cur == UNWATCHED ? loop_watch(s->lp, fd, want, chan_io, c) : loop_events(s->lp, fd, want)) == 0) {
		*cur = want;
	} else if (errno == EPERM) {
		*file = 1;
		*cur = UNWATCHED;
		if (!c->kick)
			c->kick = loop_timer(s->lp, 0, chan_kick, c);
	}
}

/* DATA may go out once the channel is accepted, or at once on a CONNECT we opened:
 * early data within the server's HELLO window saves a round trip per connection. */
static int may_send(const struct chan *c)
{
	return c->accepted || (c->op == SEP_OP_CONNECT && !c->served);
}

static void chan_update(struct sep_session *s, struct chan *c)
{
	if (s->closed || (c->in_fd < 0 && c->out_fd < 0))
		return;
	unsigned in = (may_send(c) && !c->eof_in && c->credit > 0 && !s->paused && c->in_fd >= 0) ? LOOP_IN : 0;
	unsigned out = c->rlen && c->out_fd >= 0 ? LOOP_OUT : 0;
	if (c->in_fd == c->out_fd) {
		chan_watch(s, c, c->in_fd, &c->in_ev, &c->in_file, in | out);
		c->out_ev = c->in_ev;
		c->out_file = c->in_file;
		return;
	}
	if (c->in_fd >= 0)
		chan_watch(s, c, c->in_fd, &c->in_ev, &c->in_file, in);
	if (c->out_fd >= 0)
		chan_watch(s, c, c->out_fd, &c->out_ev, &c->out_file, out);
}

/* Grant the peer what we delivered, once that is a quarter window: the peer's credit
 * stays above three quarters of the window minus what we hold (and what is on the
 * way), so it never stalls on a channel we drained; granting
 * sooner (say, whenever our buffer runs empty) would only cost a frame, a TLS record
 * and a wakeup of the peer per small write: two per request/answer exchange. */
static void send_window(struct sep_session *s, struct chan *c)
{
	if (!c->consumed || c->consumed < s->lim.window / 4)
		return;
	accept_send(s, c);
	out_u32(s, SEP_WINDOW, c->id, c->consumed);
	c->recv_left += c->consumed;
	c->consumed = 0;
}

static ssize_t chan_write(struct chan *c, const void *p, size_t n)
{
	return c->out_sock ? send(c->out_fd, p, n, MSG_NOSIGNAL) : write(c->out_fd, p, n);
}

/* Write what the channel holds to out_fd. -1 if the channel was reset. */
static int chan_drain(struct sep_session *s, struct chan *c)
{
	while (c->rlen) {
		ssize_t n = chan_write(c, c->rbuf + c->roff, c->rlen);
		if (n > 0) {
			c->roff += n;
			c->rlen -= n;
			c->consumed += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		chan_local_error(s, c, "service side", n < 0 ? errno : 0);
		return -1;
	}
	if (!c->rlen) {
		/* nothing held: give the memory back (1,000 idle channels stay small) */
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = c->roff = 0;
	}
	send_window(s, c);
	return 0;
}

/* Read from in_fd into one DATA frame (within credit), or send EOF. */
static void chan_pump_in(struct sep_session *s, struct chan *c)
{
	size_t want = c->credit < s->lim.max_frame ? c->credit : s->lim.max_frame;
	if (!want || c->eof_in || s->paused || !may_send(c) || s->closed)
		return;
	accept_send(s, c);  /* with the first DATA (or EOF): one record, one wakeup of the peer */
	/* within the room of a queue that holds only small frames: a DATA behind one (a
	 * new CONNECT's behind its OPEN) must not double the buffer past what malloc then
	 * maps and unmaps per connection; a busy queue (bulk data) grows as before */
	size_t room = s->ocap - out_queued(s);
	if (out_queued(s) < 4096 && room > SEP_HDR + 4096 && room - SEP_HDR < want)
		want = room - SEP_HDR;
	uint8_t *o = out_reserve(s, SEP_HDR + want);
	ssize_t n = read(c->in_fd, o + SEP_HDR, want);
	if (n > 0) {
		sep_frame_header(o, SEP_DATA, c->id, (uint32_t)n);
		s->olen += SEP_HDR + n;
		c->credit -= n;
		if (!c->accepted)
			c->early += n;
		if (out_queued(s) > OUT_HIGH)
			s->paused = 1;
	} else if (n == 0) {
		c->eof_in = 1;
		out_frame(s, SEP_EOF, c->id, NULL, 0);
		chan_check_done(s, c);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		chan_local_error(s, c, "service side", errno);
	}
}

static void chan_io(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct chan *c = arg;
	struct sep_session *s = c->s;
	uint32_t id = c->id;
	if ((ev & (LOOP_OUT | LOOP_ERR | LOOP_HUP)) && fd == c->out_fd && c->rlen) {
		if (chan_drain(s, c) < 0)
			goto out;
	}
	if ((ev & (LOOP_IN | LOOP_HUP | LOOP_ERR)) && fd == c->in_fd)
		chan_pump_in(s, c);
	if ((c = chan_find(s, id))) {
		chan_check_done(s, c);
		if ((c = chan_find(s, id)))
			chan_update(s, c);
	}
out:
	if (out_queued(s))
		flush_later(s);
	else
		update_session_events(s);
}

/* Read a new CONNECT's local side once without waiting for the loop (flush_kick). */
static void chan_try_in(struct sep_session *s, struct chan *c)
{
	uint32_t id = c->id;
	if (c->in_file || c->in_ev == UNWATCHED || !(c->in_ev & LOOP_IN))
		return;
	chan_pump_in(s, c);
	if ((c = chan_find(s, id))) {
		chan_check_done(s, c);
		if ((c = chan_find(s, id)))
			chan_update(s, c);
	}
}

/* ---- session end ---- */

static void closed_cb(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->close_timer = NULL;
	if (s->fn)
		s->fn(s->arg, SEP_SESSION_CLOSED, s->close_code, s->close_reason);
}

/* Stop every watch and timer; the owner hears of the end from the loop. */
static void session_finish(struct sep_session *s)
{
	s->lingering = 0;
	if (s->rfd_ev != UNWATCHED)
		loop_unwatch(s->lp, s->io.rfd);
	if (s->io.wfd != s->io.rfd && s->wfd_ev != UNWATCHED)
		loop_unwatch(s->lp, s->io.wfd);
	s->rfd_ev = s->wfd_ev = UNWATCHED;
	if (s->linger_timer)
		loop_timer_cancel(s->lp, s->linger_timer);
	s->linger_timer = NULL;
	if (!s->close_timer)
		s->close_timer = loop_timer(s->lp, 0, closed_cb, s);
}

static void linger_over(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->linger_timer = NULL;
	session_finish(s);
}

static void session_end(struct sep_session *s, int code, const char *reason, int send_goaway)
{
	if (s->closed)
		return;
	if (send_goaway)
		out_text(s, SEP_GOAWAY, 0, code, reason);
	s->closed = 1;
	s->close_code = code;
	snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
	if (s->timer)
		loop_timer_cancel(s->lp, s->timer);
	s->timer = NULL;
	if (s->rkick)
		loop_timer_cancel(s->lp, s->rkick);
	s->rkick = NULL;
	if (s->fkick)
		loop_timer_cancel(s->lp, s->fkick);
	s->fkick = NULL;
	for (int b = 0; b < NBUCKETS; b++)
		while (s->buckets[b])
			chan_end(s, s->buckets[b], code ? code : SEP_E_SHUTDOWN, reason[0] ? reason : "session closed");
	/* the peer should learn why: write what is queued (GOAWAY last) for a short while */
	if (send_goaway && flush(s) == 0 && out_queued(s)) {
		s->lingering = 1;
		update_session_events(s);
		s->linger_timer = loop_timer(s->lp, LINGER_MS, linger_over, s);
		return;
	}
	session_finish(s);
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

/* ---- frames in: one small handler per type ---- */

static void handle_hello(struct sep_session *s, const struct sep_frame *f)
{
	struct sep_hello h;
	if (f->type != SEP_HELLO || f->chan != 0)
		return fail(s, SEP_E_PROTOCOL, "expected HELLO, got frame type %u (%s) on channel %u",
		            f->type, sep_type_name(f->type), f->chan);
	const char *why = sep_parse_hello(f, &h);
	if (why)
		return fail(s, SEP_E_PROTOCOL, "%s", why);
	if (h.vmin > SEP_VERSION_MAX || h.vmax < SEP_VERSION_MIN)
		return fail(s, SEP_E_VERSION, "peer speaks SEP versions %u..%u, we speak %u..%u",
		            h.vmin, h.vmax, SEP_VERSION_MIN, SEP_VERSION_MAX);
	if (h.window < SEP_MIN_WINDOW || h.window > SEP_MAX_CREDIT)
		return fail(s, SEP_E_PROTOCOL, "HELLO window %u out of range", h.window);
	if (!h.max_channels)
		return fail(s, SEP_E_PROTOCOL, "HELLO allows no channels");
	memcpy(s->peer_host, h.host, sizeof s->peer_host);
	s->peer_max_channels = h.max_channels;
	s->peer_window = h.window;
	s->version = h.vmax < SEP_VERSION_MAX ? h.vmax : SEP_VERSION_MAX;
	s->ready = 1;
	/* SEP/2: a server that offers its directories says so before anything else */
	if (s->is_server && s->version >= 2) {
		uint8_t pp[4 * (2 + NS_PATH_MAX)];
		size_t n = sep_build_paths(pp, sizeof pp, &s->paths);
		if (n)
			out_frame(s, SEP_PATHS, 0, pp, n);
	}
	if (s->timer)
		loop_timer_cancel(s->lp, s->timer);  /* the handshake timer: keepalive from now */
	s->timer = NULL;
	schedule_tick(s);
	if (s->fn)
		s->fn(s->arg, SEP_SESSION_READY, 0, "");
}

static void send_records(struct sep_session *s, uint32_t id, const struct ns_list *l, unsigned max)
{
	uint8_t buf[SEP_RECORD_MIN + NS_NAME_MAX + NS_HOST_MAX + NS_PATH_MAX];
	for (size_t i = 0; i < l->n && i < max; i++) {
		size_t n = sep_build_record(buf, sizeof buf, SEP_REC_PRESENT, &l->v[i]);
		if (n)
			out_frame(s, SEP_RECORD, id, buf, n);
	}
}

void sep_watch_event(struct sep_session *s, uint32_t chan, int event, const struct ns_service *svc)
{
	struct chan *c = chan_find(s, chan);
	if (!c || s->closed || !c->served || c->op != SEP_OP_WATCH)
		return;
	uint8_t buf[SEP_RECORD_MIN + NS_NAME_MAX + NS_HOST_MAX + NS_PATH_MAX];
	size_t n = sep_build_record(buf, sizeof buf, event, svc);
	if (!n)
		return;
	out_frame(s, SEP_RECORD, chan, buf, n);
	if (flush(s) < 0)
		return session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
	if (out_queued(s) > OUT_MAX)
		return fail(s, SEP_E_LIMIT, "the peer does not read (%zu bytes queued)", out_queued(s));
	update_session_events(s);
}

static void open_list(struct sep_session *s, uint32_t id, const char *q)
{
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX] = "";
	int code = SEP_E_INTERNAL;
	if (!s->ops || !s->ops->list || s->ops->list(s->ops_arg, q, &l, &code, err, sizeof err) < 0) {
		out_text(s, SEP_RESET, id, code, err[0] ? err : "cannot list");
	} else {
		out_u32(s, SEP_ACCEPT, id, s->lim.window);
		send_records(s, id, &l, s->lim.max_records);
		out_frame(s, SEP_EOF, id, NULL, 0);
	}
	ns_list_free(&l);
}

static void open_watch(struct sep_session *s, uint32_t id, const char *q, uint32_t win)
{
	char err[NS_ERR_MAX] = "";
	int code = SEP_E_INTERNAL;
	struct chan *c = chan_alloc(s, id, SEP_OP_WATCH);
	c->served = 1;
	c->accepted = 1;
	c->credit = win;
	out_u32(s, SEP_ACCEPT, id, s->lim.window);
	if (!s->ops || !s->ops->watch_start ||
	    s->ops->watch_start(s->ops_arg, s, id, q, &code, err, sizeof err) < 0) {
		if ((c = chan_find(s, id))) {
			c->op = 0;  /* nothing to stop */
			chan_reset(s, c, code, err[0] ? err : "cannot watch");
		}
	}
}

/* A served CONNECT's service socket is in: the channel carries it from now on. */
static void connect_attach(struct sep_session *s, struct chan *c, int fd)
{
	uint32_t id = c->id;
	c->in_fd = c->out_fd = fd;
	c->out_sock = c->sole = 1;  /* a non-blocking stream socket of ours (sep_server_ops) */
	/* accepted here (the client's early data is taken); the ACCEPT itself goes out with
	 * the service's first frame (one TLS record and one wakeup of the peer less per
	 * connection), or after accept_delay_ms (accept_send) */
	c->accepted = 1;
	if (s->lim.accept_delay_ms && c->recv_left) {
		c->accept_due = 1;
		c->atimer = loop_timer(s->lp, s->lim.accept_delay_ms, accept_timeout, c);
	} else {
		out_u32(s, SEP_ACCEPT, id, s->lim.window);
	}
	/* what the client sent while the connect was pending goes out now */
	chan_check_done(s, c);
	if ((c = chan_find(s, id)))
		chan_update(s, c);
}

static void open_connect(struct sep_session *s, uint32_t id, const char *q, uint32_t win)
{
	char err[NS_ERR_MAX] = "";
	int code = SEP_E_INTERNAL;
	if (s->ops && s->ops->connect_start) {
		/* asynchronous: the channel takes the client's early data (buffered, at most
		 * the window) while the server connects; ACCEPT or RESET when it knows */
		struct chan *c = chan_alloc(s, id, SEP_OP_CONNECT);
		c->served = 1;
		c->credit = win;
		c->accepted = 1;
		c->pending = 1;
		if (s->ops->connect_start(s->ops_arg, s, id, q, &code, err, sizeof err) < 0 &&
		    (c = chan_find(s, id)) && c->pending) {
			c->pending = 0;  /* nothing to cancel */
			out_text(s, SEP_RESET, id, code, err[0] ? err : "cannot connect");
			chan_end(s, c, code, err);
		}
		return;
	}
	int fd = s->ops && s->ops->connect ? s->ops->connect(s->ops_arg, q, &code, err, sizeof err) : -1;
	if (fd < 0) {
		/* refused: the peer's other channels go on */
		out_text(s, SEP_RESET, id, code, err[0] ? err : "cannot connect");
		return;
	}
	struct chan *c = chan_alloc(s, id, SEP_OP_CONNECT);
	c->served = 1;
	c->credit = win;
	connect_attach(s, c, fd);
}

void sep_connect_done(struct sep_session *s, uint32_t chan, int fd, int code, const char *err)
{
	struct chan *c = chan_find(s, chan);
	if (!c || s->closed || !c->pending) {
		if (fd >= 0)
			close(fd);
		return;
	}
	c->pending = 0;
	if (fd < 0) {
		out_text(s, SEP_RESET, chan, code, err && *err ? err : "cannot connect");
		chan_end(s, c, code, err ? err : "");
	} else {
		connect_attach(s, c, fd);
	}
	if (flush(s) < 0)
		return session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
	update_session_events(s);
}

static void handle_open(struct sep_session *s, const struct sep_frame *f)
{
	struct sep_open o;
	if (!s->is_server)
		return fail(s, SEP_E_PROTOCOL, "OPEN sent to a client");
	if (f->chan <= s->last_id)
		return fail(s, SEP_E_PROTOCOL, "OPEN with channel id %u not above %u (channel id used twice)",
		            f->chan, s->last_id);
	const char *why = sep_parse_open(f, &o);
	if (why)
		return fail(s, SEP_E_PROTOCOL, "%s (op %u, channel %u)", why, f->len ? f->p[0] : 0, f->chan);
	s->last_id = f->chan;
	if (memchr(o.query, 0, o.query_len))
		return out_text(s, SEP_RESET, f->chan, SEP_E_BADQUERY, "NUL in query");
	if (o.op != SEP_OP_LIST && s->nchan >= s->lim.max_channels)
		return out_text(s, SEP_RESET, f->chan, SEP_E_LIMIT, "too many channels");
	if (o.op == SEP_OP_LIST)
		open_list(s, f->chan, o.query);
	else if (o.op == SEP_OP_WATCH)
		open_watch(s, f->chan, o.query, o.window);
	else
		open_connect(s, f->chan, o.query, o.window);
}

static void handle_accept(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	uint32_t win;
	if (c->served || c->accepted)
		return fail(s, SEP_E_PROTOCOL, "unexpected ACCEPT on channel %u", c->id);
	if (sep_parse_u32(f, &win) || win < SEP_MIN_WINDOW || win > SEP_MAX_CREDIT)
		return fail(s, SEP_E_PROTOCOL, "bad ACCEPT on channel %u", c->id);
	if (win < c->early)
		return fail(s, SEP_E_PROTOCOL, "ACCEPT window %u below the %u bytes sent before it on channel %u",
		            win, c->early, c->id);
	uint32_t id = c->id;
	c->accepted = 1;
	c->credit = win - c->early;  /* the window counts what we sent before it came */
	if (c->ch_fn)
		c->ch_fn(c->arg, SEP_CH_ACCEPTED, 0, "");
	if ((c = chan_find(s, id)))
		chan_update(s, c);
}

static void handle_reset(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	int code;
	char t[256];
	if (sep_parse_text(f, &code, t, sizeof t))
		return fail(s, SEP_E_PROTOCOL, "bad RESET on channel %u", c->id);
	chan_end(s, c, code ? code : SEP_E_RESET, t[0] ? t : sep_code_name(code ? code : SEP_E_RESET));
}

static void handle_data(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	if (c->op != SEP_OP_CONNECT || !c->accepted)
		return fail(s, SEP_E_PROTOCOL, "DATA on channel %u that takes none", c->id);
	if (c->eof_recv)
		return fail(s, SEP_E_PROTOCOL, "DATA after EOF on channel %u", c->id);
	if (f->len == 0 || f->len > SEP_MAX_DATA)
		return fail(s, SEP_E_PROTOCOL, "DATA of %u bytes on channel %u", f->len, c->id);
	if (f->len > c->recv_left)
		return fail(s, SEP_E_PROTOCOL, "DATA beyond credit on channel %u (%u > %u)", c->id,
		            f->len, c->recv_left);
	c->recv_left -= f->len;
	if (!c->recv_left)
		accept_send(s, c);  /* the client can send no more before it: at once */
	const uint8_t *p = f->p;
	size_t n = f->len;
	if (!c->rlen && c->out_fd >= 0 && !c->out_done) {
		/* straight through when the service takes it */
		ssize_t w = chan_write(c, p, n);
		if (w > 0) {
			p += w;
			n -= w;
			c->consumed += w;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return chan_local_error(s, c, "service side", errno);
		}
	}
	if (n) {
		/* keep the rest: at most the window, since recv_left never grows past it */
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
	send_window(s, c);
	chan_update(s, c);
}

static void handle_eof(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	if (f->len)
		return fail(s, SEP_E_PROTOCOL, "EOF with a payload on channel %u", c->id);
	if (c->eof_recv)
		return fail(s, SEP_E_PROTOCOL, "second EOF on channel %u", c->id);
	if (!c->accepted)
		return fail(s, SEP_E_PROTOCOL, "EOF before ACCEPT on channel %u", c->id);
	if (c->op != SEP_OP_CONNECT)  /* a LIST is complete; a WATCH is cancelled or over */
		return chan_end(s, c, 0, "");
	uint32_t id = c->id;
	c->eof_recv = 1;
	chan_check_done(s, c);
	if ((c = chan_find(s, id)))
		chan_update(s, c);
}

static void handle_window(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	uint32_t inc;
	if (sep_parse_u32(f, &inc))
		return fail(s, SEP_E_PROTOCOL, "bad WINDOW on channel %u", c->id);
	if (c->op != SEP_OP_CONNECT)  /* LIST and WATCH carry no DATA, so no credit */
		return fail(s, SEP_E_PROTOCOL, "WINDOW on channel %u that takes none", c->id);
	if (!c->accepted)
		return fail(s, SEP_E_PROTOCOL, "WINDOW before ACCEPT on channel %u", c->id);
	uint64_t cr = (uint64_t)c->credit + inc;
	if (cr > SEP_MAX_CREDIT)
		return fail(s, SEP_E_PROTOCOL, "WINDOW overflow on channel %u", c->id);
	c->credit = (uint32_t)cr;
	chan_update(s, c);
}

static void handle_record(struct sep_session *s, struct chan *c, const struct sep_frame *f)
{
	int ev;
	struct ns_service svc;
	if (c->served || c->op == SEP_OP_CONNECT || !c->accepted)
		return fail(s, SEP_E_PROTOCOL, "unexpected RECORD on channel %u", c->id);
	if (sep_parse_record(f, &ev, &svc) < 0)
		return fail(s, SEP_E_PROTOCOL, "malformed RECORD on channel %u", c->id);
	if (c->op == SEP_OP_LIST && ev != SEP_REC_PRESENT)
		return fail(s, SEP_E_PROTOCOL, "RECORD event %d in a LIST on channel %u", ev, c->id);
	if (c->rec_fn)
		c->rec_fn(c->arg, ev, ev == SEP_REC_SYNC ? NULL : &svc, 0, "");
}

static void handle_session_frame(struct sep_session *s, const struct sep_frame *f)
{
	int code;
	char t[256], r[300];
	switch (f->type) {
	case SEP_PING:
		if (f->len != 8)
			return fail(s, SEP_E_PROTOCOL, "PING of %u bytes", f->len);
		s->idle_due = 1;  /* the peer heard nothing from us for a keepalive period */
		return out_frame(s, SEP_PONG, 0, f->p, 8);
	case SEP_PONG:
		if (f->len != 8)
			return fail(s, SEP_E_PROTOCOL, "PONG of %u bytes", f->len);
		return;
	case SEP_PATHS: {
		if (s->version < 2 || s->is_server || s->got_paths)
			return fail(s, SEP_E_PROTOCOL, "unexpected PATHS");
		const char *why = sep_parse_paths(f, &s->paths);
		if (why)
			return fail(s, SEP_E_PROTOCOL, "%s", why);
		s->got_paths = 1;
		return;
	}
	case SEP_GOAWAY:
		if (sep_parse_text(f, &code, t, sizeof t))
			return fail(s, SEP_E_PROTOCOL, "bad GOAWAY");
		snprintf(r, sizeof r, "peer closed the session: %s%s%s", sep_code_name(code),
		         t[0] ? ": " : "", t);
		return session_end(s, code, r, 0);
	default:
		return fail(s, SEP_E_PROTOCOL, "frame type %u (%s) on channel 0", f->type,
		            sep_type_name(f->type));
	}
}

static void handle_frame(struct sep_session *s, const struct sep_frame *f)
{
	if (!s->ready)
		return handle_hello(s, f);
	if (f->type < SEP_HELLO || f->type > (s->version >= 2 ? SEP_PATHS : SEP_GOAWAY))
		return fail(s, SEP_E_PROTOCOL, "unknown frame type %u", f->type);
	if (f->chan == 0)
		return handle_session_frame(s, f);
	if (f->type == SEP_OPEN)
		return handle_open(s, f);
	struct chan *c = chan_find(s, f->chan);
	if (!c) {
		/* a channel that ended while this was in flight is fine; one never opened is not */
		if (f->chan > s->last_id)
			return fail(s, SEP_E_PROTOCOL, "frame type %u (%s) on channel %u never opened",
			            f->type, sep_type_name(f->type), f->chan);
		return;
	}
	switch (f->type) {
	case SEP_ACCEPT:
		return handle_accept(s, c, f);
	case SEP_RESET:
		return handle_reset(s, c, f);
	case SEP_DATA:
		return handle_data(s, c, f);
	case SEP_EOF:
		return handle_eof(s, c, f);
	case SEP_WINDOW:
		return handle_window(s, c, f);
	case SEP_RECORD:
		return handle_record(s, c, f);
	default:  /* HELLO, PING, PONG, GOAWAY, PATHS */
		return fail(s, SEP_E_PROTOCOL, "frame type %u (%s) on channel %u", f->type,
		            sep_type_name(f->type), f->chan);
	}
}

/* The preface, byte by byte as it comes: 0 to go on, -1 when the session ended. */
static int check_preface(struct sep_session *s)
{
	size_t k = s->ilen < SEP_PREFACE_LEN ? s->ilen : SEP_PREFACE_LEN;
	if (memcmp(s->ibuf, SEP_PREFACE, k)) {
		if (s->ibuf[0] == 0x16)
			fail(s, SEP_E_PROTOCOL, "the peer speaks TLS; this end speaks plaintext SEP");
		else if (k >= 4 && !memcmp(s->ibuf, "SEP/", 4))
			fail(s, SEP_E_VERSION, "the peer speaks another SEP version (its preface is not SEP/1)");
		else
			fail(s, SEP_E_PROTOCOL, "the peer does not speak SEP");
		return -1;
	}
	if (k == SEP_PREFACE_LEN)
		s->preface_ok = 1;
	return 0;
}

/* The payload length in a frame header (its first 4 bytes, big-endian). */
static uint32_t frame_len(const uint8_t *h)
{
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static void read_input(struct sep_session *s)
{
	const size_t cap = SEP_HDR + SEP_MAX_PAYLOAD;
	for (int rounds = 0; rounds < READ_ROUNDS && want_read(s); rounds++) {
		size_t want = cap - s->ilen;
		if (s->preface_ok && s->ilen >= SEP_HDR) {
			/* the frame at the front is known: read no further than its end, so a big
			 * frame never leaves a tail to move down after it (bulk data would copy
			 * up to a quarter of itself again) */
			size_t flen = SEP_HDR + (size_t)frame_len(s->ibuf);
			if (flen <= cap && flen > s->ilen)
				want = flen - s->ilen;
		}
		ssize_t n = s->io.read(s->io.ctx, s->ibuf + s->ilen, want);
		if (n == 0) {
			if (!s->ready && !s->ilen && !s->preface_ok)
				/* not a byte of SEP: a probe (dipus trust, a port check), not an error */
				session_end(s, SEP_E_SHUTDOWN, "connection closed before HELLO", 0);
			else if (!s->ready)
				session_end(s, SEP_E_PROTOCOL, "connection closed before HELLO", 0);
			else if (s->ilen)
				session_end(s, SEP_E_PROTOCOL, "connection closed in the middle of a frame", 0);
			else
				session_end(s, SEP_E_SHUTDOWN, "peer closed the connection", 0);
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
			if (check_preface(s) < 0)
				return;
			if (!s->preface_ok)
				continue;
			off = SEP_PREFACE_LEN;
		}
		while (!s->closed) {
			struct sep_frame f;
			int r = sep_frame_decode(s->ibuf + off, s->ilen - off, &f);
			if (r < 0) {
				fail(s, SEP_E_PROTOCOL, "frame of %u bytes over the limit", frame_len(s->ibuf + off));
				break;
			}
			if (r == 0)
				break;
			handle_frame(s, &f);
			off += r;
		}
		if (s->closed)
			return;
		/* only when a frame was taken: musl's memmove copies a buffer onto itself
		 * backwards, byte by byte (it was 11% of the importer's CPU) */
		if (off) {
			memmove(s->ibuf, s->ibuf + off, s->ilen - off);
			s->ilen -= off;
		}
		if (!(s->io.pending && s->io.pending(s->io.ctx)) && (size_t)n < want / 2)
			break;
	}
}

static void session_io(struct loop *lp, int fd, unsigned ev, void *arg)
{
	struct sep_session *s = arg;
	if (s->closed) {
		/* lingering: only GOAWAY and what came before it are still going out */
		if (!s->lingering)
			return;
		if (flush(s) < 0 || !out_queued(s))
			session_finish(s);
		return;
	}
	if (fd == s->io.rfd && (ev & (LOOP_IN | LOOP_HUP | LOOP_ERR)))
		read_input(s);
	if (s->closed)
		return;
	if (flush(s) < 0)
		return session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
	if (fd == s->io.wfd && fd != s->io.rfd && (ev & (LOOP_ERR | LOOP_HUP)) && !out_queued(s))
		return session_end(s, SEP_E_SHUTDOWN, "transport closed (write side)", 0);
	update_session_events(s);
}

static void schedule_tick(struct sep_session *s)
{
	unsigned every = s->lim.keepalive_ms ? s->lim.keepalive_ms : s->lim.idle_ms;
	if (every)
		s->timer = loop_timer(s->lp, every / 2 + 1, tick, s);
}

static void tick(struct loop *lp, void *arg)
{
	struct sep_session *s = arg;
	s->timer = NULL;
	uint64_t now = now_ms(), quiet = now - s->last_rx;
	if (!s->ready)
		return fail(s, SEP_E_TIMEOUT, "no HELLO within %u ms", s->lim.handshake_ms);
	if (s->lim.idle_ms && quiet >= s->lim.idle_ms) {
		if (!want_read(s))
			return fail(s, SEP_E_TIMEOUT, "the peer read nothing for %u ms (%zu bytes queued)",
			            s->lim.idle_ms, out_queued(s));
		return fail(s, SEP_E_TIMEOUT, "nothing received for %u ms", s->lim.idle_ms);
	}
	if (s->lim.keepalive_ms && quiet >= s->lim.keepalive_ms) {
		uint8_t p[8];
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(now >> (8 * i));
		out_frame(s, SEP_PING, 0, p, 8);
		s->idle_due = 1;
		if (flush(s) < 0)
			return session_end(s, SEP_E_SHUTDOWN, "transport closed while writing", 0);
		update_session_events(s);
	}
	schedule_tick(s);
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
	/* what the wire can say */
	if (!s->lim.max_frame || s->lim.max_frame > SEP_MAX_DATA)
		s->lim.max_frame = SEP_MAX_DATA;
	if (s->lim.window < SEP_MIN_WINDOW)
		s->lim.window = SEP_MIN_WINDOW;
	if (s->lim.window > SEP_MAX_CREDIT)
		s->lim.window = SEP_MAX_CREDIT;
	if (!s->lim.max_channels)
		s->lim.max_channels = 1;
	if (s->lim.max_channels > 65535)
		s->lim.max_channels = 65535;
	s->ops = ops;
	s->ops_arg = ops_arg;
	s->fn = fn;
	s->arg = arg;
	snprintf(s->local_host, sizeof s->local_host, "%s", local_host ? local_host : ns_host());
	for (char *p = s->local_host; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == 0x7f)
			*p = '_';
	/* a mapping of its own: a session's frames are mostly small, and only the pages a
	 * frame was ever read into are resident (from malloc, the 66 KiB would share pages
	 * earlier allocations wrote: 8-12 KiB of an idle session's memory) */
	s->ibuf = xmap(IBUF_MAP);
	s->last_rx = now_ms();
	s->rfd_ev = s->wfd_ev = UNWATCHED;
	/* preface and HELLO go out at once: both sides speak first */
	memcpy(out_reserve(s, SEP_PREFACE_LEN), SEP_PREFACE, SEP_PREFACE_LEN);
	s->olen += SEP_PREFACE_LEN;
	struct sep_hello h = { SEP_VERSION_MIN, SEP_VERSION_MAX, s->lim.window,
		               (uint16_t)s->lim.max_channels, "" };
	memcpy(h.host, s->local_host, sizeof h.host);
	uint8_t hp[9 + NS_HOST_MAX];
	out_frame(s, SEP_HELLO, 0, hp, sep_build_hello(hp, sizeof hp, &h));
	update_session_events(s);
	if (s->lim.handshake_ms)
		s->timer = loop_timer(lp, s->lim.handshake_ms, tick, s);
	return s;
}

int sep_session_offer_dir(struct sep_session *s, unsigned scope, const char *dir)
{
	int i = sep_scope_index(scope);
	if (!s->is_server || s->ready || i < 0 || !sep_paths_dir_ok(dir))
		return -1;
	strcpy(s->paths.dir[i], dir);  /* sep_paths_dir_ok: shorter than NS_PATH_MAX */
	return 0;
}

const char *sep_peer_dir(const struct sep_session *s, unsigned scope)
{
	int i = sep_scope_index(scope);
	if (s->is_server || !s->got_paths || i < 0 || !s->paths.dir[i][0])
		return NULL;
	return s->paths.dir[i];
}

unsigned sep_session_version(const struct sep_session *s)
{
	return s->ready ? s->version : 0;
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
	if (s->lingering)
		session_finish(s);
	if (s->close_timer)
		loop_timer_cancel(s->lp, s->close_timer);
	if (s->io.read == fd_read)
		free(s->io.ctx);
	munmap(s->ibuf, IBUF_MAP);
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

size_t sep_session_buffered(const struct sep_session *s)
{
	size_t n = out_queued(s);
	for (int b = 0; b < NBUCKETS; b++)
		for (const struct chan *c = s->buckets[b]; c; c = c->next)
			n += c->rlen;
	return n;
}

/* ---- client operations ---- */

static struct chan *client_open(struct sep_session *s, uint8_t op, const char *query)
{
	unsigned max = s->lim.max_channels;
	if (s->peer_max_channels && s->peer_max_channels < max)
		max = s->peer_max_channels;
	if (s->closed || s->is_server || s->nchan >= max || s->last_id == UINT32_MAX)
		return NULL;
	uint8_t p[7 + SEP_MAX_QUERY];
	size_t n = sep_build_open(p, sizeof p, op, s->lim.window, query ? query : "");
	if (!n)
		return NULL;
	uint32_t id = ++s->last_id;
	out_frame(s, SEP_OPEN, id, p, n);
	struct chan *c = chan_alloc(s, id, op);
	/* from the loop (with what else this iteration queues): a failed write ends the
	 * session there, and the caller never hears from inside its call */
	flush_later(s);
	return c;
}

/* LIST and WATCH: channels answered with RECORDs */
static uint32_t client_records(struct sep_session *s, uint8_t op, const char *query,
                               sep_record_fn *fn, void *arg)
{
	struct chan *c = client_open(s, op, query);
	if (!c)
		return 0;
	c->rec_fn = fn;
	c->arg = arg;
	return c->id;
}

uint32_t sep_list(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg)
{
	return client_records(s, SEP_OP_LIST, query, fn, arg);
}

uint32_t sep_watch(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg)
{
	return client_records(s, SEP_OP_WATCH, query, fn, arg);
}

static uint32_t connect_fds(struct sep_session *s, const char *query, int in_fd, int out_fd,
                            int sole, sep_chan_fn *fn, void *arg)
{
	struct chan *c = client_open(s, SEP_OP_CONNECT, query);
	if (!c)
		return 0;
	c->ch_fn = fn;
	c->arg = arg;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	if (sole) {
		c->out_sock = c->sole = 1;
	} else {
		c->out_sock = (uint8_t)is_sock(out_fd);
		fd_set_nonblock(in_fd, 1);
		if (out_fd != in_fd)
			fd_set_nonblock(out_fd, 1);
	}
	c->credit = s->peer_window;  /* 0 before the peer's HELLO: then we wait for ACCEPT */
	chan_update(s, c);
	if (c->credit) {
		c->fresh = 1;
		c->fresh_next = s->fresh;
		s->fresh = c;
	}
	return c->id;
}

uint32_t sep_connect(struct sep_session *s, const char *query, int in_fd, int out_fd,
                     sep_chan_fn *fn, void *arg)
{
	return connect_fds(s, query, in_fd, out_fd, 0, fn, arg);
}

uint32_t sep_connect_sock(struct sep_session *s, const char *query, int fd, sep_chan_fn *fn,
                          void *arg)
{
	return connect_fds(s, query, fd, fd, 1, fn, arg);
}

void sep_channel_cancel(struct sep_session *s, uint32_t chan)
{
	struct chan *c = chan_find(s, chan);
	if (!c)
		return;
	out_text(s, SEP_RESET, chan, SEP_E_RESET, "cancelled");
	chan_free(s, c);
	if (flush(s) < 0 && !s->rkick)
		s->rkick = loop_timer(s->lp, 0, read_kick, s);
	update_session_events(s);
}
