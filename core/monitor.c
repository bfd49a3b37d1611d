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
 * dipus sees; the resolver's own bounds cap the walk.
 *
 * One inotify instance per loop (a hub), shared by every monitor of the process: an
 * exporter's WATCH channels, an importer, dls -w. A rescan walks the tree once for all
 * of them and each monitor takes its own query's part of that one listing. So a peer
 * opening hundreds of WATCH channels costs one inotify instance, not one each (the
 * per-user limit, fs.inotify.max_user_instances, is 128 by default). */
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

struct hub {
	struct loop *lp;
	int ifd;
	struct ns_monitor *mons;
	struct loop_timer *timer;
	unsigned scopes;       /* what the monitors watch together */
	int pass_watches;      /* watches added by this pass over the tree */
	int warned;
	int busy;              /* in a rescan: monitors stopped now are freed after it */
	struct hub *next;
};

struct ns_monitor {
	struct hub *h;
	struct ns_monitor *next;
	char *query;
	unsigned scopes;
	ns_monitor_fn *fn;
	void *arg;
	struct ns_list known;
	struct ns_list pend;   /* fixed, NS_MONITOR_EXISTING: reported at the first rescan */
	int fixed;             /* an absolute path outside the root: as at start, never rescanned */
	int dead;              /* stopped during a rescan */
};

static struct hub *hubs;

static void add_watch_fd(struct hub *h, int fd)
{
	char p[64];
	/* bounded: each pass over the tree adds (or finds again) at most MAX_WATCHES */
	if (h->pass_watches++ >= MAX_WATCHES) {
		if (!h->warned++)
			msg("%s: more than %d directories; those beyond are not watched", ns_root(),
			    MAX_WATCHES);
		return;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	/* the fd was opened without following links; the magic link leads to it. Watching
	 * a directory again finds its existing watch. */
	if (inotify_add_watch(h->ifd, p, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
	                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR |
	                                     IN_EXCL_UNLINK) < 0 &&
	    errno == ENOSPC && !h->warned++)
		msg("%s: inotify watch limit reached (raise sysctl fs.inotify.max_user_watches); "
		    "some directories are not watched", ns_root());
}

static void watch_tree(struct hub *h, int dfd, int depth)
{
	add_watch_fd(h, dfd);
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
		watch_tree(h, sub, depth + 1);
		close(sub);
	}
	closedir(d);
}

/* Watch the root (for scope dirs made later) and everything below the scopes. */
static int watch_all(struct hub *h)
{
	char err[NS_ERR_MAX];
	int rfd = ns_open_root(0, err, sizeof err);
	if (rfd < 0)
		return -1;
	h->pass_watches = 0;
	add_watch_fd(h, rfd);
	static const enum ns_scope sc[] = { NS_LOCAL, NS_EXPORTED, NS_USERS, NS_IMPORTED };
	for (int i = 0; i < 4; i++) {
		if (!(h->scopes & sc[i]))
			continue;
		int fd = openat(rfd, ns_scope_name(sc[i]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* users/: the whole of it is watched (users/<me> may be made later), but only
		 * users/<me> is ever listed; other users' 0700 directories cannot be opened */
		watch_tree(h, fd, 0);
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
	ns_list_free(&m->pend);
	free(m->query);
	free(m);
}

static void hub_free(struct hub *h)
{
	for (struct hub **pp = &hubs; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	if (h->timer)
		loop_timer_cancel(h->lp, h->timer);
	loop_unwatch(h->lp, h->ifd);
	close(h->ifd);
	free(h);
}

/* Monitors stopped during a rescan, and the hub when none is left. */
static void hub_sweep(struct hub *h)
{
	for (struct ns_monitor **pp = &h->mons; *pp;) {
		struct ns_monitor *m = *pp;
		if (m->dead) {
			*pp = m->next;
			monitor_free(m);
		} else {
			pp = &m->next;
		}
	}
	if (!h->mons)
		hub_free(h);
}

/* One monitor's part of the listing, and its callbacks. */
static void report(struct ns_monitor *m, const struct ns_list *all)
{
	struct ns_list now = { 0 };
	ns_select(m->query, m->scopes & NS_ALL, all, &now);
	struct ns_list old = m->known;
	m->known = now;
	/* vanished first, so a replaced socket reads as "- path" then "+ path" */
	for (size_t i = 0; i < old.n && !m->dead; i++)
		if (!find(&now, &old.v[i]))
			m->fn(m->arg, 0, &old.v[i]);
	for (size_t i = 0; i < now.n && !m->dead; i++)
		if (!find(&old, &now.v[i]))
			m->fn(m->arg, 1, &now.v[i]);
	ns_list_free(&old);
}

static void rescan(struct loop *lp, void *arg)
{
	struct hub *h = arg;
	h->timer = NULL;
	if (watch_all(h) < 0)  /* no root (yet, or any more): look again later */
		h->timer = loop_timer(lp, ROOT_POLL_MS, rescan, h);
	struct ns_list all = { 0 };
	char err[NS_ERR_MAX];
	/* the root turned unsafe: report nothing new until it is fixed */
	if (ns_resolve("", h->scopes & NS_ALL, 0, &all, err, sizeof err) >= 0) {
		h->busy = 1;
		/* monitors started by a callback join at the head: not in this pass (they
		 * took their own snapshot) */
		for (struct ns_monitor *m = h->mons; m; m = m->next) {
			if (m->dead || (m->fixed && !m->pend.n))
				continue;
			report(m, m->fixed ? &m->pend : &all);
			if (m->fixed)
				ns_list_free(&m->pend);
		}
		h->busy = 0;
	}
	ns_list_free(&all);
	hub_sweep(h);
}

static void schedule(struct hub *h, unsigned ms)
{
	if (!h->timer)
		h->timer = loop_timer(h->lp, ms, rescan, h);
}

static void on_inotify(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct hub *h = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	/* drain; what happened is read back from the tree itself */
	while (read(fd, buf, sizeof buf) > 0)
		;
	schedule(h, RESCAN_DELAY_MS);
}

/* The loop's hub, made on first use. NULL with errno and err (no inotify). */
static struct hub *hub_get(struct loop *lp, char *err, size_t errlen)
{
	for (struct hub *h = hubs; h; h = h->next)
		if (h->lp == lp)
			return h;
	struct hub *h = xcalloc(1, sizeof *h);
	h->lp = lp;
	h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ifd < 0 || loop_watch(lp, h->ifd, LOOP_IN, on_inotify, h) < 0) {
		int e = errno;
		snprintf(err, errlen, "inotify: %s%s", strerror(e), e == EMFILE ? " (raise sysctl "
		         "fs.inotify.max_user_instances)" : "");
		if (h->ifd >= 0)
			close(h->ifd);
		free(h);
		errno = e;
		return NULL;
	}
	h->next = hubs;
	hubs = h;
	return h;
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
	struct hub *h = hub_get(lp, err, errlen);
	if (!h) {
		int e = errno;
		ns_list_free(&first);
		errno = e;
		return NULL;
	}
	struct ns_monitor *m = xcalloc(1, sizeof *m);
	m->h = h;
	m->query = xstrdup(query);
	m->scopes = scopes;
	m->fn = fn;
	m->arg = arg;
	/* an absolute path outside the root is only ever what it was at start */
	char clean[NS_PATH_MAX];
	const char *root = ns_root();
	size_t rl = strlen(root);
	m->fixed = query[0] == '/' && !ns_clean_path(query, clean, sizeof clean) &&
	           !(strncmp(clean, root, rl) == 0 && clean[rl] == '/');
	m->next = h->mons;
	h->mons = m;
	/* watches first, then the snapshot: a change in between is seen by both, never lost */
	h->scopes |= scopes & NS_ALL;
	if (watch_all(h) < 0)
		schedule(h, ROOT_POLL_MS);
	if (scopes & NS_MONITOR_EXISTING) {
		schedule(h, 0);  /* known stays empty: everything present is reported as new */
		if (m->fixed)
			m->pend = first;
		else
			ns_list_free(&first);
	} else {
		m->known = first;
	}
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
	m->dead = 1;
	if (!m->h->busy)
		hub_sweep(m->h);  /* else freed when the rescan's callbacks return */
}
