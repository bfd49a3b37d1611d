/* monitor.c: services appearing and vanishing, through inotify.
 *
 * Every directory of the watched scopes is watched; any event (a socket renamed into
 * place, a directory made, a socket removed, even a queue overflow) schedules one
 * rescan through the resolver a few milliseconds later, and the difference from the
 * known set becomes the callbacks. Rescanning instead of interpreting each event
 * keeps it exact in every corner (renames across directories, directories made with
 * sockets already in them, overflow) at a cost that is small for trees of the sizes
 * dipus sees. */
#include "monitor.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#define RESCAN_DELAY_MS 20
#define ROOT_POLL_MS 500
#define MAX_WATCHES 4096

struct ns_monitor {
	struct loop *lp;
	char *query;
	unsigned scopes;
	ns_monitor_fn *fn;
	void *arg;
	int ifd;
	struct ns_list known;
	struct loop_timer *timer;
	int nwatches;
	int warned;
};

static void add_watch_fd(struct ns_monitor *m, int fd)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	if (m->nwatches >= MAX_WATCHES)
		return;
	/* the fd was opened without following links; the magic link leads to it */
	int wd = inotify_add_watch(m->ifd, p, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
	                                          IN_DELETE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK);
	if (wd >= 0)
		m->nwatches++;  /* an upper bound: re-adding a watched dir returns its wd */
	else if (errno == ENOSPC && !m->warned) {
		m->warned = 1;
		msg("inotify watch limit reached (sysctl fs.inotify.max_user_watches); some directories are not watched");
	}
}

static void watch_tree(struct ns_monitor *m, int dfd, int depth)
{
	add_watch_fd(m, dfd);
	if (depth > 32)
		return;
	int dup_fd = dup(dfd);
	if (dup_fd < 0)
		return;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return;
	}
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		watch_tree(m, sub, depth + 1);
		close(sub);
	}
	closedir(d);
}

/* Watch the root (for scope dirs made later) and everything below the scopes. */
static int watch_all(struct ns_monitor *m)
{
	char err[NS_ERR_MAX];
	int rfd = ns_open_root(0, err, sizeof err);
	if (rfd < 0)
		return -1;
	add_watch_fd(m, rfd);
	static const enum ns_scope sc[] = { NS_LOCAL, NS_EXPORTED, NS_USERS, NS_IMPORTED };
	for (int i = 0; i < 4; i++) {
		if (!(m->scopes & sc[i]))
			continue;
		int fd = openat(rfd, ns_scope_name(sc[i]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* users/: the whole of it is watched, but only users/<me> is ever listed */
		watch_tree(m, fd, 0);
		close(fd);
	}
	close(rfd);
	return 0;
}

static int same(const struct ns_service *a, const struct ns_service *b)
{
	return a->ino == b->ino && a->dev == b->dev && !strcmp(a->path, b->path);
}

static int find(const struct ns_list *l, const struct ns_service *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (same(&l->v[i], s))
			return 1;
	return 0;
}

static void rescan(struct loop *lp, void *arg)
{
	struct ns_monitor *m = arg;
	m->timer = NULL;
	if (watch_all(m) < 0) {
		/* no root (yet): look again later */
		m->timer = loop_timer(lp, ROOT_POLL_MS, rescan, m);
	}
	struct ns_list now = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve(m->query, m->scopes, 0, &now, err, sizeof err) < 0) {
		ns_list_free(&now);
		return;
	}
	struct ns_list old = m->known;
	m->known = now;
	/* vanished first, so a replaced socket reads as "- path" then "+ path" */
	for (size_t i = 0; i < old.n; i++)
		if (!find(&now, &old.v[i]))
			m->fn(m->arg, 0, &old.v[i]);
	for (size_t i = 0; i < now.n; i++)
		if (!find(&old, &now.v[i]))
			m->fn(m->arg, 1, &now.v[i]);
	ns_list_free(&old);
}

static void on_inotify(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct ns_monitor *m = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	/* drain; what happened is read back from the tree itself */
	while (read(fd, buf, sizeof buf) > 0)
		;
	if (!m->timer)
		m->timer = loop_timer(lp, RESCAN_DELAY_MS, rescan, m);
}

struct ns_monitor *ns_monitor_start(struct loop *lp, const char *query, unsigned scopes,
                                    ns_monitor_fn *fn, void *arg, char *err, size_t errlen)
{
	struct ns_list probe = { 0 };
	if (ns_resolve(query, scopes, 0, &probe, err, errlen) < 0)
		return NULL;  /* bad query or unsafe root: say so now */
	ns_list_free(&probe);
	struct ns_monitor *m = xcalloc(1, sizeof *m);
	m->lp = lp;
	m->query = xstrdup(query ? query : "");
	m->scopes = scopes;
	m->fn = fn;
	m->arg = arg;
	m->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->ifd < 0) {
		snprintf(err, errlen, "inotify: %s", strerror(errno));
		free(m->query);
		free(m);
		return NULL;
	}
	loop_watch(lp, m->ifd, LOOP_IN, on_inotify, m);
	/* watches first, then the snapshot: a change in between is seen by both, never lost */
	if (watch_all(m) < 0)
		m->timer = loop_timer(lp, ROOT_POLL_MS, rescan, m);
	ns_resolve(m->query, scopes, 0, &m->known, err, errlen);
	return m;
}

const struct ns_list *ns_monitor_current(const struct ns_monitor *m)
{
	return &m->known;
}

void ns_monitor_stop(struct ns_monitor *m)
{
	if (!m)
		return;
	if (m->timer)
		loop_timer_cancel(m->lp, m->timer);
	loop_unwatch(m->lp, m->ifd);
	close(m->ifd);
	ns_list_free(&m->known);
	free(m->query);
	free(m);
}
