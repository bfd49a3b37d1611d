/* monitor.c: services appearing and vanishing, through inotify.
 *
 * Every directory of the watched scopes is watched, and the root (for scope directories
 * made later). Any event (a socket renamed into place, a directory made, a socket
 * removed, even a queue overflow) schedules one rescan through the resolver a few
 * milliseconds later: the tree is walked again, new directories get their watches
 * (sockets already inside them are found by that same walk), and the difference from
 * the known set becomes the callbacks. Rescanning instead of interpreting each event
 * keeps it exact in every corner (renames across directories, directories made with
 * sockets already in them, overflow) at a cost that is small for trees of the sizes
 * dipus sees; the resolver's own bounds cap the walk. */
#include "monitor.h"
#include "loop.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESCAN_DELAY_MS 20
#define ROOT_POLL_MS 500
#define MAX_WATCHES 4096
#define MAX_DEPTH 33

struct ns_monitor {
	struct loop *lp;
	char *query;
	unsigned scopes;
	ns_monitor_fn *fn;
	void *arg;
	int ifd;
	struct ns_list known;
	struct loop_timer *timer;
	int pass_watches;      /* watches added by this pass over the tree */
	int warned;
	int busy, dead;        /* in a callback; stopped from one */
};

static void add_watch_fd(struct ns_monitor *m, int fd)
{
	char p[64];
	/* bounded: each pass over the tree adds (or finds again) at most MAX_WATCHES */
	if (m->pass_watches++ >= MAX_WATCHES) {
		if (!m->warned++)
			msg("%s: more than %d directories; those beyond are not watched", ns_root(),
			    MAX_WATCHES);
		return;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	/* the fd was opened without following links; the magic link leads to it. Watching
	 * a directory again finds its existing watch. */
	if (inotify_add_watch(m->ifd, p, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
	                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR |
	                                     IN_EXCL_UNLINK) < 0 &&
	    errno == ENOSPC && !m->warned++)
		msg("%s: inotify watch limit reached (raise sysctl fs.inotify.max_user_watches); "
		    "some directories are not watched", ns_root());
}

static void watch_tree(struct ns_monitor *m, int dfd, int depth)
{
	add_watch_fd(m, dfd);
	if (depth > MAX_DEPTH)
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
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
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
	m->pass_watches = 0;
	add_watch_fd(m, rfd);
	static const enum ns_scope sc[] = { NS_LOCAL, NS_EXPORTED, NS_USERS, NS_IMPORTED };
	for (int i = 0; i < 4; i++) {
		if (!(m->scopes & sc[i]))
			continue;
		int fd = openat(rfd, ns_scope_name(sc[i]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* users/: the whole of it is watched (users/<me> may be made later), but only
		 * users/<me> is ever listed; other users' 0700 directories cannot be opened */
		watch_tree(m, fd, 0);
		close(fd);
	}
	close(rfd);
	return 0;
}

/* ---- the difference ---- */

static int same(const struct ns_service *a, const struct ns_service *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->untrusted == b->untrusted &&
	       !strcmp(a->path, b->path);
}

static int find(const struct ns_list *l, const struct ns_service *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (same(&l->v[i], s))
			return 1;
	return 0;
}

static void monitor_free(struct ns_monitor *m)
{
	ns_list_free(&m->known);
	free(m->query);
	free(m);
}

static void rescan(struct loop *lp, void *arg)
{
	struct ns_monitor *m = arg;
	m->timer = NULL;
	if (watch_all(m) < 0)  /* no root (yet, or any more): look again later */
		m->timer = loop_timer(lp, ROOT_POLL_MS, rescan, m);
	struct ns_list now = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve(m->query, m->scopes & NS_ALL, 1, &now, err, sizeof err) < 0) {
		/* the root turned unsafe: report nothing new until it is fixed */
		ns_list_free(&now);
		return;
	}
	struct ns_list old = m->known;
	m->known = now;
	m->busy = 1;
	/* vanished first, so a replaced socket reads as "- path" then "+ path" */
	for (size_t i = 0; i < old.n && !m->dead; i++)
		if (!find(&now, &old.v[i]))
			m->fn(m->arg, 0, &old.v[i]);
	for (size_t i = 0; i < now.n && !m->dead; i++)
		if (!find(&old, &now.v[i]))
			m->fn(m->arg, 1, &now.v[i]);
	m->busy = 0;
	ns_list_free(&old);
	if (m->dead)
		monitor_free(m);
}

static void schedule(struct ns_monitor *m, unsigned ms)
{
	if (!m->timer)
		m->timer = loop_timer(m->lp, ms, rescan, m);
}

static void on_inotify(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct ns_monitor *m = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	/* drain; what happened is read back from the tree itself */
	while (read(fd, buf, sizeof buf) > 0)
		;
	schedule(m, RESCAN_DELAY_MS);
}

struct ns_monitor *ns_monitor_start(struct loop *lp, const char *query, unsigned scopes,
                                    ns_monitor_fn *fn, void *arg, char *err, size_t errlen)
{
	if (!query)
		query = "";
	struct ns_list first = { 0 };
	if (ns_resolve(query, scopes & NS_ALL, 1, &first, err, errlen) < 0) {
		int e = errno;
		ns_list_free(&first);
		errno = e;
		return NULL;  /* unsafe root: say so now */
	}
	ns_list_free(&first);
	struct ns_monitor *m = xcalloc(1, sizeof *m);
	m->lp = lp;
	m->query = xstrdup(query);
	m->scopes = scopes;
	m->fn = fn;
	m->arg = arg;
	m->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->ifd < 0 || loop_watch(lp, m->ifd, LOOP_IN, on_inotify, m) < 0) {
		int e = errno;
		snprintf(err, errlen, "inotify: %s%s", strerror(e), e == EMFILE ? " (raise sysctl "
		         "fs.inotify.max_user_instances)" : "");
		if (m->ifd >= 0)
			close(m->ifd);
		monitor_free(m);
		errno = e;
		return NULL;
	}
	/* watches first, then the snapshot: a change in between is seen by both, never lost */
	if (watch_all(m) < 0)
		m->timer = loop_timer(lp, ROOT_POLL_MS, rescan, m);
	if (scopes & NS_MONITOR_EXISTING)
		schedule(m, 0);  /* known stays empty: everything present is reported as new */
	else
		ns_resolve(m->query, scopes & NS_ALL, 1, &m->known, err, errlen);
	return m;
}

const struct ns_list *ns_monitor_current(const struct ns_monitor *m)
{
	return &m->known;
}

void ns_monitor_stop(struct ns_monitor *m)
{
	if (!m || m->dead)
		return;
	if (m->timer)
		loop_timer_cancel(m->lp, m->timer);
	m->timer = NULL;
	loop_unwatch(m->lp, m->ifd);
	close(m->ifd);
	m->ifd = -1;
	if (m->busy) {
		m->dead = 1;  /* freed when the callbacks return */
		return;
	}
	monitor_free(m);
}
