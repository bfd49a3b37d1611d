/* relay.c: the one relay engine (doc/relay.md).
 *
 * Each direction moves bytes from its input to its output through a bounded
 * buffer: a pipe and two splice() calls when the kernel allows it (no copy through
 * user space), else a heap buffer with read()/write(). With the pipe in between,
 * an EAGAIN always names the side that blocks, so a direction waits on exactly one
 * event and never spins. Regular files (which epoll cannot watch) are always ready. */
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

struct dir {
	int in, out;
	int splice;        /* 1: through pipe[], 0: through buf */
	int pipe[2];
	char *buf;
	size_t len, off;   /* bytes held (buf or pipe), and buf's read offset */
	size_t cap;
	int eof, closed;   /* input at EOF; output half-closed */
	int want_in, want_out;
};

#define MAX_FDS 4

struct relay {
	struct loop *lp;
	struct dir d[2];
	struct relay_opts o;
	relay_done_fn *done;
	void *arg;
	struct relay_info info;
	int fds[MAX_FDS];
	int fd_flags[MAX_FDS];  /* original O_* flags, restored at the end */
	int pollable[MAX_FDS];
	int watched[MAX_FDS];
	int nfds;
	int finished;
	int in_step;
};

static int fd_slot(struct relay *r, int fd)
{
	if (fd < 0)
		return -1;
	for (int i = 0; i < r->nfds; i++)
		if (r->fds[i] == fd)
			return i;
	return -1;
}

static int is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void swap_input(struct relay *r, struct dir *d, int next);

static void fail(struct relay *r, int dir, int out, int err)
{
	if (r->info.err)
		return;
	r->info.err = err;
	r->info.failed_out = out;
	/* direction 0 reads A and writes B */
	r->info.side = (dir == 0) == !out ? RELAY_A : RELAY_B;
}

static void half_close(struct relay *r, struct dir *d)
{
	if (d->closed)
		return;
	d->closed = 1;
	if (r->o.flags & RELAY_KEEP_OUT)
		return;
	if (is_socket(d->out)) {
		shutdown(d->out, SHUT_WR);
		return;
	}
	const struct dir *other = d == &r->d[0] ? &r->d[1] : &r->d[0];
	if (d->out == other->in)
		return;
	/* forget it before closing: its number may be reused at once */
	int i = fd_slot(r, d->out);
	if (i >= 0) {
		if (r->watched[i])
			loop_unwatch(r->lp, d->out);
		r->watched[i] = r->pollable[i] = 0;
		r->fd_flags[i] = -1;
		r->fds[i] = -1;
	}
	close(d->out);
}

/* Move what can be moved now. Returns after EAGAIN on each blocked side, EOF, or an
 * error; sets want_in / want_out for the loop. */
static void step_dir(struct relay *r, int i)
{
	struct dir *d = &r->d[i];
	d->want_in = d->want_out = 0;
	for (int rounds = 0; rounds < 64 && !r->info.err; rounds++) {
		int progress = 0;
		if (!d->eof && d->len < d->cap) {
			ssize_t n;
			if (d->splice)
				n = splice(d->in, NULL, d->pipe[1], NULL, d->cap - d->len,
				           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = read(d->in, d->buf + d->off + d->len, d->cap - d->off - d->len);
			if (n > 0) {
				d->len += n;
				r->info.bytes[i] += n;
				progress = 1;
			} else if (n == 0) {
				int next = (i == 0 && r->o.next_a_in) ? r->o.next_a_in(r->o.next_arg) : -1;
				if (next >= 0) {
					swap_input(r, d, next);
					progress = 1;
				} else {
					d->eof = 1;
				}
			} else if (i == 1 && errno == ECONNRESET && (r->o.flags & RELAY_B_EPIPE_ENDS)) {
				/* B closed with our bytes unread: its answer is complete */
				d->eof = 1;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				d->want_in = 1;
			} else if (errno == EINTR) {
				progress = 1;
			} else if (d->splice && (errno == EINVAL || errno == ENOSYS) && d->len == 0) {
				/* this pair of descriptors cannot splice: copy instead */
				d->splice = 0;
				d->buf = xmalloc(d->cap);
				d->off = 0;
				progress = 1;
			} else {
				fail(r, i, 0, errno);
				return;
			}
		}
		if (d->len > 0) {
			ssize_t n;
			if (d->splice)
				n = splice(d->pipe[0], NULL, d->out, NULL, d->len,
				           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			else
				n = write(d->out, d->buf + d->off, d->len);
			if (n > 0) {
				d->len -= n;
				d->off = d->len ? d->off + n : 0;
				progress = 1;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				d->want_out = 1;
			} else if (n < 0 && errno == EINTR) {
				progress = 1;
			} else if (n < 0 && d->splice && errno == EINVAL) {
				/* e.g. a tty: drain the pipe through a buffer from now on */
				d->buf = xmalloc(d->cap);
				ssize_t m = read(d->pipe[0], d->buf, d->len);
				if (m < 0) {
					fail(r, i, 1, errno);
					return;
				}
				d->len = m;
				d->off = 0;
				d->splice = 0;
				progress = 1;
			} else if (i == 0 && n < 0 && (errno == EPIPE || errno == ECONNRESET) &&
			           (r->o.flags & RELAY_B_EPIPE_ENDS)) {
				d->eof = 1;
				d->len = 0;
				d->closed = 1;
				return;
			} else {
				fail(r, i, 1, n < 0 ? errno : EIO);
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
	/* stopped by the round limit while still able to go on: ask again */
	if (!d->want_in && !d->want_out && !r->info.err) {
		if (!d->eof && d->len < d->cap)
			d->want_in = 1;
		if (d->len)
			d->want_out = 1;
	}
}

static int dir_done(const struct dir *d)
{
	return d->closed;
}

static void finish(struct relay *r)
{
	if (r->finished)
		return;
	r->finished = 1;
	for (int i = 0; i < r->nfds; i++)
		if (r->watched[i]) {
			loop_unwatch(r->lp, r->fds[i]);
			r->watched[i] = 0;
		}
	if (r->done)
		r->done(r, &r->info, r->arg);
}

static void relay_io(struct loop *lp, int fd, unsigned events, void *arg);

/* Recompute what each descriptor waits for; regular files are stepped again at once
 * by the callers' loop since they are always ready. */
static void rearm(struct relay *r)
{
	unsigned ev[MAX_FDS] = { 0 };
	for (int i = 0; i < 2; i++) {
		struct dir *d = &r->d[i];
		if (d->closed)
			continue;
		int in = fd_slot(r, d->in), out = fd_slot(r, d->out);
		if (d->want_in && in >= 0)
			ev[in] |= LOOP_IN;
		if (d->want_out && out >= 0)
			ev[out] |= LOOP_OUT;
	}
	for (int i = 0; i < r->nfds; i++) {
		if (!r->pollable[i] || r->fds[i] < 0)
			continue;
		if (!r->watched[i]) {
			if (loop_watch(r->lp, r->fds[i], ev[i], relay_io, r) == 0)
				r->watched[i] = 1;
			else
				r->pollable[i] = 0;
		} else {
			loop_events(r->lp, r->fds[i], ev[i]);
		}
	}
}

static void run_steps(struct relay *r)
{
	if (r->in_step)
		return;
	r->in_step = 1;
	for (int guard = 0; guard < 1024; guard++) {
		for (int i = 0; i < 2; i++)
			if (!dir_done(&r->d[i]))
				step_dir(r, i);
		if (r->info.err || (dir_done(&r->d[0]) && dir_done(&r->d[1])))
			break;
		/* only a direction blocked on a never-ready (regular file) fd needs another turn */
		int again = 0;
		for (int i = 0; i < 2; i++) {
			struct dir *d = &r->d[i];
			if (d->closed)
				continue;
			int in = fd_slot(r, d->in), out = fd_slot(r, d->out);
			if ((d->want_in && in >= 0 && !r->pollable[in]) ||
			    (d->want_out && out >= 0 && !r->pollable[out]))
				again = 1;
		}
		if (!again)
			break;
	}
	r->in_step = 0;
	if (r->info.err || (dir_done(&r->d[0]) && dir_done(&r->d[1])))
		finish(r);
	else
		rearm(r);
}

static void relay_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	run_steps(arg);
}


static void add_fd(struct relay *r, int fd)
{
	if (fd_slot(r, fd) >= 0)
		return;
	int i = r->nfds++;
	r->fds[i] = fd;
	r->fd_flags[i] = fcntl(fd, F_GETFL);
	struct stat st;
	r->pollable[i] = !(fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)));
	if (r->pollable[i] && r->fd_flags[i] >= 0)
		fcntl(fd, F_SETFL, r->fd_flags[i] | O_NONBLOCK);
}

/* The A->B input moves on to the next descriptor (dcat's next FILE). */
static void swap_input(struct relay *r, struct dir *d, int next)
{
	int i = fd_slot(r, d->in);
	int shared = d->in == d->out || d->in == r->d[1].out || d->in == r->d[1].in;
	if (i >= 0 && !shared) {
		if (r->watched[i])
			loop_unwatch(r->lp, d->in);
		if (r->pollable[i] && r->fd_flags[i] >= 0)
			fcntl(d->in, F_SETFL, r->fd_flags[i]);
		if (r->o.flags & RELAY_CLOSE_INPUTS)
			close(d->in);
		/* reuse the slot */
		r->fds[i] = r->fds[--r->nfds];
		r->fd_flags[i] = r->fd_flags[r->nfds];
		r->pollable[i] = r->pollable[r->nfds];
		r->watched[i] = r->watched[r->nfds];
	}
	d->in = next;
	add_fd(r, next);
}

static void init_dir(struct relay *r, struct dir *d, int in, int out)
{
	d->in = in;
	d->out = out;
	d->cap = r->o.bufsize;
	d->pipe[0] = d->pipe[1] = -1;
	if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		/* the pipe is the buffer: make it as large as asked (best effort) */
		int sz = fcntl(d->pipe[1], F_SETPIPE_SZ, (int)d->cap);
		if (sz > 0)
			d->cap = (size_t)sz;
		d->splice = 1;
	} else {
		d->buf = xmalloc(d->cap);
	}
}

struct relay *relay_start(struct loop *lp, int a_in, int a_out, int b_in, int b_out,
                          const struct relay_opts *opts, relay_done_fn *done, void *arg)
{
	struct relay *r = xcalloc(1, sizeof *r);
	r->lp = lp;
	if (opts)
		r->o = *opts;
	if (!r->o.bufsize)
		r->o.bufsize = RELAY_BUF_DEFAULT;
	r->done = done;
	r->arg = arg;
	add_fd(r, a_in);
	add_fd(r, a_out);
	add_fd(r, b_in);
	add_fd(r, b_out);
	init_dir(r, &r->d[0], a_in, b_out);
	init_dir(r, &r->d[1], b_in, a_out);
	run_steps(r);
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
	/* give shared descriptors (a terminal, the shell's pipes) their flags back */
	for (int i = 0; i < r->nfds; i++)
		if (r->fd_flags[i] >= 0 && r->pollable[i])
			fcntl(r->fds[i], F_SETFL, r->fd_flags[i]);
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
