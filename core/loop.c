/* loop.c: epoll-based event loop with one-shot timers and signalfd signals. */
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct watch {
	loop_io_fn *fn;
	void *arg;
	unsigned events;
	int active;
};

struct loop_timer {
	uint64_t due;
	loop_fn *fn;
	void *arg;
	struct loop_timer *next;
};

struct sigwatch {
	int signo;
	loop_fn *fn;
	void *arg;
};

struct loop {
	int epfd;
	struct watch *w;      /* indexed by fd */
	int nw;               /* size of w */
	int nactive;          /* watched fds */
	struct loop_timer *timers; /* sorted by due */
	int sigfd;
	sigset_t sigs;
	struct sigwatch sigw[8];
	int nsig;
	int stop, code;
};

static sigset_t blocked_by_loops;

struct loop *loop_new(void)
{
	struct loop *lp = xcalloc(1, sizeof *lp);
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0)
		die_errno(DX_IO, "epoll_create1");
	lp->sigfd = -1;
	sigemptyset(&lp->sigs);
	return lp;
}

void loop_free(struct loop *lp)
{
	if (!lp)
		return;
	while (lp->timers) {
		struct loop_timer *t = lp->timers;
		lp->timers = t->next;
		free(t);
	}
	if (lp->sigfd >= 0)
		close(lp->sigfd);
	close(lp->epfd);
	free(lp->w);
	free(lp);
}

int loop_watch(struct loop *lp, int fd, unsigned events, loop_io_fn *fn, void *arg)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd >= lp->nw) {
		int n = lp->nw ? lp->nw : 64;
		while (n <= fd)
			n *= 2;
		lp->w = xrealloc(lp->w, n * sizeof *lp->w);
		memset(lp->w + lp->nw, 0, (n - lp->nw) * sizeof *lp->w);
		lp->nw = n;
	}
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int op = lp->w[fd].active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(lp->epfd, op, fd, &ev) < 0)
		return -1;
	if (!lp->w[fd].active)
		lp->nactive++;
	lp->w[fd] = (struct watch){ fn, arg, events, 1 };
	return 0;
}

int loop_events(struct loop *lp, int fd, unsigned events)
{
	if (fd < 0 || fd >= lp->nw || !lp->w[fd].active) {
		errno = ENOENT;
		return -1;
	}
	if (lp->w[fd].events == events)
		return 0;
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -1;
	lp->w[fd].events = events;
	return 0;
}

void loop_unwatch(struct loop *lp, int fd)
{
	if (fd < 0 || fd >= lp->nw || !lp->w[fd].active)
		return;
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	lp->w[fd].active = 0;
	lp->nactive--;
}

void loop_forget(struct loop *lp, int fd)
{
	if (fd < 0 || fd >= lp->nw || !lp->w[fd].active)
		return;
	lp->w[fd].active = 0;
	lp->nactive--;
}

struct loop_timer *loop_timer(struct loop *lp, unsigned ms, loop_fn *fn, void *arg)
{
	struct loop_timer *t = xmalloc(sizeof *t);
	t->due = now_ms() + ms;
	t->fn = fn;
	t->arg = arg;
	struct loop_timer **pp = &lp->timers;
	while (*pp && (*pp)->due <= t->due)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return t;
}

void loop_timer_cancel(struct loop *lp, struct loop_timer *t)
{
	for (struct loop_timer **pp = &lp->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
}

static void sig_ready(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		for (int i = 0; i < lp->nsig; i++)
			if (lp->sigw[i].signo == (int)si.ssi_signo)
				lp->sigw[i].fn(lp, lp->sigw[i].arg);
}

int loop_signal(struct loop *lp, int signo, loop_fn *fn, void *arg)
{
	if (lp->nsig == (int)(sizeof lp->sigw / sizeof lp->sigw[0])) {
		errno = ENOSPC;
		return -1;
	}
	sigaddset(&lp->sigs, signo);
	sigaddset(&blocked_by_loops, signo);
	if (sigprocmask(SIG_BLOCK, &lp->sigs, NULL) < 0)
		return -1;
	int fd = signalfd(lp->sigfd, &lp->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (lp->sigfd < 0) {
		lp->sigfd = fd;
		if (loop_watch(lp, fd, LOOP_IN, sig_ready, NULL) < 0)
			return -1;
		lp->nactive--; /* a signal watch alone does not keep the loop running */
	}
	lp->sigw[lp->nsig++] = (struct sigwatch){ signo, fn, arg };
	return 0;
}

void loop_child_sigreset(void)
{
	for (int s = 1; s < 65; s++)
		if (sigismember(&blocked_by_loops, s) == 1)
			signal(s, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &blocked_by_loops, NULL);
}

void loop_stop(struct loop *lp, int code)
{
	lp->stop = 1;
	lp->code = code;
}

int loop_run(struct loop *lp)
{
	struct epoll_event evs[64];
	lp->stop = 0;
	while (!lp->stop && (lp->nactive > 0 || lp->timers)) {
		int timeout = -1;
		if (lp->timers) {
			uint64_t now = now_ms();
			timeout = lp->timers->due <= now ? 0 : (int)(lp->timers->due - now);
		}
		int n = epoll_wait(lp->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno(DX_IO, "epoll_wait");
		}
		for (int i = 0; i < n && !lp->stop; i++) {
			int fd = evs[i].data.fd;
			/* an earlier callback in this batch may have removed or replaced it */
			if (fd >= lp->nw || !lp->w[fd].active)
				continue;
			struct watch w = lp->w[fd];
			w.fn(lp, fd, evs[i].events, w.arg);
		}
		uint64_t now = now_ms();
		while (!lp->stop && lp->timers && lp->timers->due <= now) {
			struct loop_timer *t = lp->timers;
			lp->timers = t->next;
			loop_fn *fn = t->fn;
			void *arg = t->arg;
			free(t);
			fn(lp, arg);
		}
	}
	return lp->code;
}
