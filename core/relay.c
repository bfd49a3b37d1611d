/* relay.c: the one relay engine (relay.h, doc/relay.md).
 *
 * Each direction moves bytes from its input to its output through a bounded buffer:
 * a pipe and two splice() calls when the kernel allows it (the bytes never pass
 * through user space), else a heap buffer with read()/write(). A direction is always
 * in one of two states: its buffer is empty, so it waits for its input, or it holds
 * bytes, so it waits for its output. It never waits on both, so an EAGAIN from a full
 * pipe is never mistaken for a quiet input, and nothing spins.
 *
 * Descriptors are registered once on the loop (events 0 when not waited on, so a hangup
 * is still seen). A hangup or error reported on a descriptor is level-triggered: the
 * descriptor is then "parked" (unregistered and treated as always ready, like a regular
 * file), so it cannot wake the loop again and again while the relay waits elsewhere.
 * An output that hung up and is nobody's input ends its direction at once (EPIPE), so
 * "dcat x | head -1" ends when head does, not at the next byte. */
#include "relay.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_OTHER, K_SOCK, K_FIFO, K_FILE };

#define MAX_SLOTS 6
#define ROUNDS 16          /* operations per direction per wake-up: fairness in a shared loop */
#define GATED_CHUNK 4096   /* largest write to a blocking descriptor after POLLOUT */
#define BUF_MAX (16u << 20)

struct slot {
	int fd;            /* -1: free */
	int kind;
	int flags0;        /* file status flags at start, -1 unknown */
	int set_nb;        /* we set O_NONBLOCK: put flags0 back at the end */
	int nb;            /* O_NONBLOCK in effect */
	int watched;       /* registered on the loop */
	int always;        /* always ready: not pollable (regular file), or parked */
	int hup;           /* a hangup or error was reported */
	unsigned ready;    /* readiness reported since the last gated operation */
};

struct dir {
	int in, out;       /* slot indexes */
	int splice;        /* 1: through pipe[], 0: through buf */
	int pipe[2];
	char *buf;
	size_t len, off, cap;
	int eof, closed;   /* input at EOF; output half-closed (direction done) */
	unsigned want;     /* LOOP_IN: waits for in, LOOP_OUT: waits for out */
};

struct relay {
	struct loop *lp;
	struct slot s[MAX_SLOTS];
	struct dir d[2];
	struct relay_opts o;
	relay_done_fn *done;
	void *arg;
	struct relay_info info;
	struct loop_timer *kick;
	int finished;
	int busy;
};

static void relay_io(struct loop *lp, int fd, unsigned events, void *arg);

static int slot_of(const struct relay *r, int fd)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (r->s[i].fd == fd && fd >= 0)
			return i;
	return -1;
}

static int add_slot(struct relay *r, int fd, int shared)
{
	int i = slot_of(r, fd);
	if (i >= 0)
		return i;
	for (i = 0; i < MAX_SLOTS && r->s[i].fd >= 0; i++)
		;
	if (i == MAX_SLOTS)  /* cannot happen: 4 descriptors plus one input being replaced */
		die(DX_IO, "relay: out of slots");
	struct slot *s = &r->s[i];
	memset(s, 0, sizeof *s);
	s->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0)
		s->kind = S_ISSOCK(st.st_mode) ? K_SOCK : S_ISFIFO(st.st_mode) ? K_FIFO
		        : (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) ? K_FILE : K_OTHER;
	s->flags0 = fcntl(fd, F_GETFL);
	s->nb = s->flags0 >= 0 && (s->flags0 & O_NONBLOCK);
	if (s->kind != K_FILE && loop_watch(r->lp, fd, 0, relay_io, r) == 0)
		s->watched = 1;
	else
		s->always = 1;  /* a regular file, or something else epoll refuses (EPERM) */
	if (!s->always && !s->nb && !shared && s->flags0 >= 0 &&
	    fcntl(fd, F_SETFL, s->flags0 | O_NONBLOCK) == 0)
		s->nb = s->set_nb = 1;
	return i;
}

/* Forget a slot: unregister it and give the descriptor its flags back. */
static void drop_slot(struct relay *r, int i)
{
	struct slot *s = &r->s[i];
	if (s->watched)
		loop_unwatch(r->lp, s->fd);
	if (s->set_nb)
		fcntl(s->fd, F_SETFL, s->flags0);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

/* Is slot i the input of a direction that may still read it? */
static int live_input(const struct relay *r, int i)
{
	for (int k = 0; k < 2; k++)
		if (!r->d[k].closed && !r->d[k].eof && r->d[k].in == i)
			return 1;
	return 0;
}

static int slot_used(const struct relay *r, int i)
{
	for (int k = 0; k < 2; k++)
		if (!r->d[k].closed && (r->d[k].in == i || r->d[k].out == i))
			return 1;
	return 0;
}

static void fail(struct relay *r, int dir, int out, int err)
{
	if (r->info.err)
		return;
	r->info.err = err ? err : EIO;
	r->info.failed_out = out;
	/* direction 0 reads A and writes B */
	r->info.side = (dir == 0) == !out ? RELAY_A : RELAY_B;
}

/* A blocking descriptor (shared, so we may not set O_NONBLOCK) that the kernel cannot
 * operate on without blocking per call: act on it only after the loop said it is ready,
 * once per report. Pipes with SPLICE_F_NONBLOCK and sockets with MSG_DONTWAIT are safe. */
static int gated(const struct slot *s, int splice_mode)
{
	if (s->always || s->nb)
		return 0;
	if (s->kind == K_FIFO && splice_mode)
		return 0;
	if (s->kind == K_SOCK && !splice_mode)
		return 0;
	return 1;
}

static void unpark(struct slot *s)
{
	/* a parked descriptor said EAGAIN after all (a FIFO got a new writer): poll it again */
	if (s->always && s->kind != K_FILE && !s->watched) {
		s->always = 0;
		s->hup = 0;
	}
}

static ssize_t do_in(struct relay *r, struct dir *d)
{
	struct slot *s = &r->s[d->in];
	int g = gated(s, d->splice);
	if (g && !(s->ready & LOOP_IN)) {
		errno = EAGAIN;
		return -1;
	}
	ssize_t n;
	if (d->splice) {
		n = splice(s->fd, NULL, d->pipe[1], NULL, d->cap - d->len,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} else {
		if (d->off && d->off + d->len == d->cap) {
			memmove(d->buf, d->buf + d->off, d->len);
			d->off = 0;
		}
		char *p = d->buf + d->off + d->len;
		size_t room = d->cap - d->off - d->len;
		if (s->kind == K_SOCK)
			n = recv(s->fd, p, room, s->nb ? 0 : MSG_DONTWAIT);
		else
			n = read(s->fd, p, room);
	}
	if (g)
		s->ready &= ~LOOP_IN;
	if (n < 0 && errno == EAGAIN)
		unpark(s);
	return n;
}

static ssize_t do_out(struct relay *r, struct dir *d)
{
	struct slot *s = &r->s[d->out];
	int g = gated(s, d->splice);
	if (g && !(s->ready & LOOP_OUT)) {
		errno = EAGAIN;
		return -1;
	}
	size_t len = d->len;
	if (g && len > GATED_CHUNK)
		len = GATED_CHUNK;
	ssize_t n;
	if (d->splice)
		n = splice(d->pipe[0], NULL, s->fd, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else if (s->kind == K_SOCK)
		n = send(s->fd, d->buf + d->off, len, MSG_NOSIGNAL | (s->nb ? 0 : MSG_DONTWAIT));
	else
		n = write(s->fd, d->buf + d->off, len);
	if (g)
		s->ready &= ~LOOP_OUT;
	if (n < 0 && errno == EAGAIN)
		unpark(s);
	return n;
}

/* This direction cannot splice (a terminal, some devices): move what the pipe holds
 * into a heap buffer and copy from now on. */
static int to_buffer(struct dir *d)
{
	d->buf = xmalloc(d->cap);
	size_t got = 0;
	while (got < d->len) {
		ssize_t m = read(d->pipe[0], d->buf + got, d->len - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return -1;
		got += m;
	}
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	d->splice = 0;
	d->off = 0;
	return 0;
}

static void half_close(struct relay *r, struct dir *d)
{
	d->closed = 1;
	d->want = 0;
	if (r->o.flags & RELAY_KEEP_OUT)
		return;
	struct slot *s = &r->s[d->out];
	if (s->kind == K_SOCK) {
		shutdown(s->fd, SHUT_WR);
		return;
	}
	const struct dir *other = d == &r->d[0] ? &r->d[1] : &r->d[0];
	if (other->in == d->out)
		return;  /* one descriptor both ways (a terminal): cannot close half of it */
	int fd = s->fd;
	drop_slot(r, d->out);  /* before close: the number may be reused at once */
	d->out = -1;
	close(fd);
}

/* The output of direction i failed with err. */
static void out_failed(struct relay *r, int i, int err)
{
	struct dir *d = &r->d[i];
	if (i == 0 && (r->o.flags & RELAY_B_EPIPE_ENDS) && (err == EPIPE || err == ECONNRESET)) {
		/* B stopped reading: what we would still send is moot; keep B->A going */
		d->eof = d->closed = 1;
		d->len = 0;
		d->want = 0;
		return;
	}
	fail(r, i, 1, err);
}

/* The A->B input moves on to the next descriptor (dcat's next FILE). */
static void swap_input(struct relay *r, struct dir *d, int next)
{
	int old = d->in;
	d->in = add_slot(r, next, !!(r->o.flags & RELAY_SHARED_A));
	if (old != d->in && !slot_used(r, old)) {
		int fd = r->s[old].fd;
		drop_slot(r, old);
		if (r->o.flags & RELAY_CLOSE_INPUTS)
			close(fd);
	}
}

/* EOF on direction i's input: 0 to go on, -1 failed. */
static int input_eof(struct relay *r, int i)
{
	struct dir *d = &r->d[i];
	if (i == 0 && r->o.next_a_in) {
		errno = 0;
		int fd = r->o.next_a_in(r->o.next_arg);
		if (fd >= 0) {
			swap_input(r, d, fd);
			return 0;
		}
		if (fd != RELAY_NEXT_EOF) {
			fail(r, 0, 0, errno);
			return -1;
		}
	}
	d->eof = 1;
	return 0;
}

/* Move what can be moved now on direction i; leaves d->want set for the loop. */
static void step_dir(struct relay *r, int i)
{
	struct dir *d = &r->d[i];
	for (int round = 0; round < ROUNDS; round++) {
		int progress = 0;
		if (!d->eof && d->len < d->cap) {
			ssize_t n = do_in(r, d);
			if (n > 0) {
				d->len += n;
				progress = 1;
			} else if (n == 0) {
				if (input_eof(r, i) < 0)
					return;
				progress = 1;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* nothing to read now (or, with bytes held, maybe a full pipe) */
			} else if (errno == EINTR) {
				progress = 1;
			} else if (i == 1 && errno == ECONNRESET && (r->o.flags & RELAY_B_EPIPE_ENDS)) {
				d->eof = 1;  /* B closed with our bytes unread: its answer is complete */
				progress = 1;
			} else if (d->splice && (errno == EINVAL || errno == ENOSYS)) {
				if (to_buffer(d) < 0) {
					fail(r, i, 0, errno);
					return;
				}
				progress = 1;
			} else {
				fail(r, i, 0, errno);
				return;
			}
		}
		if (d->len > 0) {
			ssize_t n = do_out(r, d);
			if (n > 0) {
				d->len -= n;
				d->off = d->len ? d->off + n : 0;
				r->info.bytes[i] += n;
				progress = 1;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				/* wait for the output */
			} else if (n < 0 && errno == EINTR) {
				progress = 1;
			} else if (n < 0 && d->splice && errno == EINVAL) {
				if (to_buffer(d) < 0) {
					fail(r, i, 1, errno);
					return;
				}
				progress = 1;
			} else {
				out_failed(r, i, n < 0 ? errno : EIO);
				return;
			}
		}
		if (d->eof && d->len == 0) {
			half_close(r, d);
			return;
		}
		if (!progress)
			break;
	}
	/* empty: wait for input; holding bytes: wait for the output, and only for it */
	d->want = d->len > 0 ? LOOP_OUT : LOOP_IN;
}

/* An output that hung up (a pipe nobody reads, a socket shut both ways, a terminal
 * gone) and that no live direction reads from is broken for good. */
static void check_broken(struct relay *r)
{
	for (int i = 0; i < 2 && !r->info.err; i++) {
		struct dir *d = &r->d[i];
		if (d->closed)
			continue;
		struct slot *s = &r->s[d->out];
		if (!s->hup || live_input(r, d->out))
			continue;
		out_failed(r, i, EPIPE);
	}
}

static void finish(struct relay *r)
{
	r->finished = 1;
	if (r->kick) {
		loop_timer_cancel(r->lp, r->kick);
		r->kick = NULL;
	}
	for (int i = 0; i < MAX_SLOTS; i++)
		if (r->s[i].fd >= 0 && r->s[i].watched) {
			loop_unwatch(r->lp, r->s[i].fd);
			r->s[i].watched = 0;
		}
	if (r->done)
		r->done(r, &r->info, r->arg);  /* last: it may free r */
}

static void on_kick(struct loop *lp, void *arg);

/* Tell the loop what each descriptor waits for; always-ready ones get a zero timer. */
static void rearm(struct relay *r)
{
	unsigned ev[MAX_SLOTS] = { 0 };
	int used[MAX_SLOTS] = { 0 };
	for (int k = 0; k < 2; k++) {
		const struct dir *d = &r->d[k];
		if (d->closed)
			continue;
		used[d->in] = used[d->out] = 1;
		if (d->want == LOOP_IN)
			ev[d->in] |= LOOP_IN;
		else if (d->want == LOOP_OUT)
			ev[d->out] |= LOOP_OUT;
	}
	int kick = 0;
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &r->s[i];
		if (s->fd < 0)
			continue;
		if (!used[i]) {
			/* no live direction needs it: not even its hangups matter */
			if (s->watched)
				loop_unwatch(r->lp, s->fd);
			s->watched = 0;
			continue;
		}
		if (s->always) {
			kick |= ev[i] != 0;
			continue;
		}
		if (!s->watched) {
			if (loop_watch(r->lp, s->fd, ev[i], relay_io, r) == 0) {
				s->watched = 1;
			} else {
				s->always = 1;
				kick |= ev[i] != 0;
			}
		} else {
			loop_events(r->lp, s->fd, ev[i]);
		}
	}
	if (kick && !r->kick)
		r->kick = loop_timer(r->lp, 0, on_kick, r);
}

static void run(struct relay *r)
{
	if (r->finished || r->busy)
		return;
	r->busy = 1;
	for (int i = 0; i < 2 && !r->info.err; i++)
		if (!r->d[i].closed)
			step_dir(r, i);
	if (!r->info.err)
		check_broken(r);
	r->busy = 0;
	if (r->info.err || (r->d[0].closed && r->d[1].closed))
		finish(r);
	else
		rearm(r);
}

static void on_kick(struct loop *lp, void *arg)
{
	struct relay *r = arg;
	r->kick = NULL;
	run(r);
}

static void relay_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct relay *r = arg;
	int i = slot_of(r, fd);
	if (i < 0)
		return;
	struct slot *s = &r->s[i];
	s->ready |= events & (LOOP_IN | LOOP_OUT);
	if (events & (LOOP_ERR | LOOP_HUP)) {
		/* level-triggered and not maskable: park it (see the top of this file) */
		s->ready |= LOOP_IN | LOOP_OUT;
		s->hup = 1;
		loop_unwatch(lp, fd);
		s->watched = 0;
		s->always = 1;
	}
	run(r);
}

static void init_dir(struct relay *r, struct dir *d, int in, int out)
{
	d->in = in;
	d->out = out;
	d->cap = r->o.bufsize;
	d->pipe[0] = d->pipe[1] = -1;
	/* into a blocking socket we may not make non-blocking, only send(MSG_DONTWAIT)
	 * is safe, and that needs a buffer */
	const struct slot *o = &r->s[out];
	int can_splice = !(o->kind == K_SOCK && !o->nb);
	if (can_splice && pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		/* the pipe is the buffer: as large as asked if the kernel lets us */
		int sz = fcntl(d->pipe[1], F_SETPIPE_SZ, (int)d->cap);
		if (sz < 0)
			sz = fcntl(d->pipe[1], F_GETPIPE_SZ);
		if (sz > 0)
			d->cap = (size_t)sz;
		d->splice = 1;
	} else {
		d->pipe[0] = d->pipe[1] = -1;
		d->buf = xmalloc(d->cap);
	}
}

struct relay *relay_start(struct loop *lp, int a_in, int a_out, int b_in, int b_out,
                          const struct relay_opts *opts, relay_done_fn *done, void *arg)
{
	struct relay *r = xcalloc(1, sizeof *r);
	r->lp = lp;
	for (int i = 0; i < MAX_SLOTS; i++)
		r->s[i].fd = -1;
	if (opts)
		r->o = *opts;
	if (!r->o.bufsize)
		r->o.bufsize = RELAY_BUF_DEFAULT;
	if (r->o.bufsize > BUF_MAX)
		r->o.bufsize = BUF_MAX;
	r->done = done;
	r->arg = arg;
	int sa = !!(r->o.flags & RELAY_SHARED_A), sb = !!(r->o.flags & RELAY_SHARED_B);
	int ai = add_slot(r, a_in, sa), ao = add_slot(r, a_out, sa);
	int bi = add_slot(r, b_in, sb), bo = add_slot(r, b_out, sb);
	init_dir(r, &r->d[0], ai, bo);
	init_dir(r, &r->d[1], bi, ao);
	/* the first step on the next turn: done is never called from in here */
	r->kick = loop_timer(lp, 0, on_kick, r);
	return r;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	if (!r->finished) {
		r->done = NULL;
		finish(r);
	}
	for (int i = 0; i < 2; i++) {
		if (r->d[i].pipe[0] >= 0) {
			close(r->d[i].pipe[0]);
			close(r->d[i].pipe[1]);
		}
		free(r->d[i].buf);
	}
	/* give the descriptors their flags back */
	for (int i = 0; i < MAX_SLOTS; i++)
		if (r->s[i].fd >= 0 && r->s[i].set_nb)
			fcntl(r->s[i].fd, F_SETFL, r->s[i].flags0);
	free(r);
}

static void run_done(struct relay *r, const struct relay_info *info, void *arg)
{
	*(struct relay_info *)arg = *info;
}

int relay_run(int a_in, int a_out, int b_in, int b_out, const struct relay_opts *opts,
              struct relay_info *info)
{
	struct loop *lp = loop_new();
	memset(info, 0, sizeof *info);
	struct relay *r = relay_start(lp, a_in, a_out, b_in, b_out, opts, run_done, info);
	loop_run(lp);
	relay_free(r);
	loop_free(lp);
	return info->err;
}
