/* ssh-ctl.c: the control socket of an ssh:// session, both halves (doc/ssh.md): local
 * clients of the same user connect to it (ssh_open) to share an importer's SSH session;
 * the importer publishes it and serves SEP on it (ssh_ctl_start), answering from the
 * services it mirrors and connecting through its session (struct ssh_ctl_ops). */
#include "ssh.h"
#include "ssh-int.h"
#include "loop.h"
#include "ns.h"
#include "sep.h"
#include "sep-svr.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

const char *ssh_local_user(void)
{
	static char name[64];
	if (!name[0]) {
		struct passwd *pw = getpwuid(geteuid());
		if (pw && strlen(pw->pw_name) < sizeof name)
			strcpy(name, pw->pw_name);
		else
			snprintf(name, sizeof name, "%u", (unsigned)geteuid());
	}
	return name;
}

void ssh_canon(const struct remote_uri *u, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s@%s:%u", u->user[0] ? u->user : ssh_local_user(), u->host,
	         u->port ? u->port : SSH_DEFAULT_PORT);
}

int ssh_ctl_path(const struct remote_uri *u, int create, char *out, size_t outlen,
                 char *err, size_t errlen)
{
	char canon[340];
	ssh_canon(u, canon, sizeof canon);
	int ufd = ns_open_dir(NS_USERS, "", create, err, errlen);
	if (ufd < 0)
		return -1;
	if (create && mkdirat(ufd, ".ctl", 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s/users/%s/.ctl: %s", ns_root(), ssh_local_user(), strerror(errno));
		close(ufd);
		return -1;
	}
	int cfd = openat(ufd, ".ctl", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(ufd);
	if (cfd < 0) {
		snprintf(err, errlen, "%s/users/%s/.ctl: %s", ns_root(), ssh_local_user(),
		         errno == ELOOP || errno == ENOTDIR ? "not a directory (a symlink?)" :
		         strerror(errno));
		return -1;
	}
	struct stat st;
	int bad = fstat(cfd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077);
	close(cfd);
	if (bad) {
		snprintf(err, errlen, "%s/users/%s/.ctl: must be a directory owned by %s with mode "
		         "0700 (fix: chmod 700 it, or remove it)", ns_root(), ssh_local_user(), ssh_local_user());
		return -1;
	}
	if (xsnprintf(out, outlen, "%s/users/%s/.ctl/ssh-%s", ns_root(), ssh_local_user(), canon) ||
	    strlen(out) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "control socket path for %s too long under %s", canon, ns_root());
		return -1;
	}
	return 0;
}

static int ctl_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Peers of a control socket must be this user. */
static int ctl_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == geteuid();
}

int ssh_ctl_connect(const struct remote_uri *u, char *path, size_t pathlen)
{
	char err[NS_ERR_MAX];
	if (ssh_ctl_path(u, 0, path, pathlen, err, sizeof err) < 0)
		return -1;
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return -1;
	struct sockaddr_un sa;
	if (ctl_addr(path, &sa) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	/* the importer at the other end must be us, too */
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
		close(fd);
		return -1;
	}
	fd_set_nonblock(fd, 1);
	return fd;
}

/* ---- publishing ------------------------------------------------------------------
 * The control socket has one fixed name, hidden from the resolver (.ctl is no proto),
 * which ns_publish's grammar (NAME.HOST...N under a proto) cannot name; it is published
 * by ns_publish's rules all the same: bound under a temporary name, its mode set by
 * the umask, listening before it appears, linked into place without replacing
 * anything (link() fails on an existing name); a socket already there is replaced only
 * when the kernel lists nobody listening on it; and it goes with ns_unpublish, only if
 * it is still the one we bound. */
static int ctl_publish(const struct remote_uri *u, struct ns_service *out, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (ssh_ctl_path(u, 1, out->path, sizeof out->path, err, errlen) < 0)
		return -1;
	char tmp[NS_PATH_MAX];
	static unsigned seq;
	if (xsnprintf(tmp, sizeof tmp, "%.*s/.tmp.%d.%u", (int)(strrchr(out->path, '/') - out->path),
	              out->path, (int)getpid(), seq++)) {
		snprintf(err, errlen, "%s: path too long", out->path);
		return -1;
	}
	struct sockaddr_un sa;
	ctl_addr(tmp, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	struct stat me;
	if (rc < 0 || listen(fd, 64) < 0 || lstat(tmp, &me) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	out->dev = me.st_dev;
	out->ino = me.st_ino;
	for (int tries = 0;; tries++) {
		if (link(tmp, out->path) == 0)
			break;
		struct stat st;
		if (errno != EEXIST || tries || lstat(out->path, &st) < 0) {
			snprintf(err, errlen, "%s: %s", out->path, strerror(errno));
			goto fail;
		}
		/* never replace anything but a socket of ours, nor a live one (asked of the
		 * kernel, not by connecting) */
		int live = S_ISSOCK(st.st_mode) ? ns_listening(st.st_dev, st.st_ino) : 1;
		if (live < 0)
			live = ns_probe(out->path) == 1;
		if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
			snprintf(err, errlen, "%s: not a socket of ours; left alone", out->path);
			errno = EEXIST;
			goto fail;
		}
		if (live) {
			snprintf(err, errlen, "%s: another importer holds a session to this host",
			         out->path);
			errno = EADDRINUSE;
			goto fail;
		}
		struct ns_service dead = *out;
		dead.dev = st.st_dev;
		dead.ino = st.st_ino;
		ns_unpublish(&dead, -1);
	}
	unlink(tmp);
	out->scope = NS_USERS;
	return fd;
fail:
	{
		int e = errno;
		unlink(tmp);
		close(fd);
		errno = e;
	}
	return -1;
}

/* ---- serving: the importer's half -------------------------------------------------
 * Local SEP clients of the same user (dcat/dls ssh://) reach the remote through the
 * importer's session: LIST and WATCH are answered from the services it mirrors (what
 * the WATCH on the remote reported), CONNECT goes through ops->connect. */
struct ctl_watch {
	struct sep_session *s;
	uint32_t chan;
	char q[NS_PATH_MAX];
	struct ctl_watch *next;
};

struct ctl_peer {
	struct ssh_ctl *ctl;
	int fd;
	struct sep_session *s;
	struct loop_timer *free_timer;
	struct ctl_peer *next;
};

struct ssh_ctl {
	struct loop *lp;
	const struct ssh_ctl_ops *ops;
	void *arg;
	char label[600];            /* for messages: the importer's URI */
	int fd;                     /* listening */
	struct ns_service pub;      /* what we published (ns_unpublish) */
	struct ctl_peer *peers;
	struct ctl_watch *watches;
};

int ssh_ctl_match(const char *q, const struct ns_service *r)
{
	if (!q || !*q)
		return 1;
	if (!strcmp(q, r->rel))
		return 1;
	return ns_match(q, r) == 1;
}

struct ctl_each {
	const char *q;
	struct ns_list *out;                 /* LIST: the matches go here */
	struct sep_session *s;               /* WATCH: the snapshot goes there */
	uint32_t chan;
	int n;
};

static void ctl_each_one(void *arg, const struct ns_service *r)
{
	struct ctl_each *e = arg;
	if (!ssh_ctl_match(e->q, r))
		return;
	e->n++;
	if (e->out)
		ns_list_add(e->out, r);
	else
		sep_watch_event(e->s, e->chan, SEP_REC_PRESENT, r);
}

static int ctl_list(void *arg, const char *query, struct ns_list *out, int *code, char *err,
                    size_t errlen)
{
	struct ctl_peer *cp = arg;
	if (sep_svr_check_query(query, err, errlen) < 0) {
		*code = SEP_E_BADQUERY;
		return -1;
	}
	struct ctl_each e = { .q = query, .out = out };
	cp->ctl->ops->each(cp->ctl->arg, ctl_each_one, &e);
	return e.n;
}

static int ctl_connect(void *arg, const char *query, int *code, char *err, size_t errlen)
{
	struct ctl_peer *cp = arg;
	return cp->ctl->ops->connect(cp->ctl->arg, query, code, err, errlen);
}

static int ctl_watch_start(void *arg, struct sep_session *s, uint32_t chan, const char *query,
                           int *code, char *err, size_t errlen)
{
	struct ctl_peer *cp = arg;
	if (sep_svr_check_query(query, err, errlen) < 0) {
		*code = SEP_E_BADQUERY;
		return -1;
	}
	struct ctl_watch *w = xcalloc(1, sizeof *w);
	w->s = s;
	w->chan = chan;
	snprintf(w->q, sizeof w->q, "%s", query ? query : "");
	struct ctl_each e = { .q = w->q, .s = s, .chan = chan };
	cp->ctl->ops->each(cp->ctl->arg, ctl_each_one, &e);
	sep_watch_event(s, chan, SEP_REC_SYNC, NULL);
	w->next = cp->ctl->watches;
	cp->ctl->watches = w;
	return 0;
}

static void ctl_watch_stop(void *arg, struct sep_session *s, uint32_t chan)
{
	struct ctl_peer *cp = arg;
	for (struct ctl_watch **pp = &cp->ctl->watches; *pp; pp = &(*pp)->next)
		if ((*pp)->s == s && (*pp)->chan == chan) {
			struct ctl_watch *w = *pp;
			*pp = w->next;
			free(w);
			return;
		}
}

static const struct sep_server_ops ctl_ops = {
	.list = ctl_list,
	.connect = ctl_connect,
	.watch_start = ctl_watch_start,
	.watch_stop = ctl_watch_stop,
};

void ssh_ctl_notify(struct ssh_ctl *c, int appeared, const struct ns_service *r)
{
	if (!c)
		return;
	for (struct ctl_watch *w = c->watches; w; w = w->next)
		if (ssh_ctl_match(w->q, r))
			sep_watch_event(w->s, w->chan, appeared ? SEP_REC_APPEARED : SEP_REC_VANISHED, r);
}

static void ctl_peer_free(struct ctl_peer *cp)
{
	struct ssh_ctl *c = cp->ctl;
	for (struct ctl_peer **pp = &c->peers; *pp; pp = &(*pp)->next)
		if (*pp == cp) {
			*pp = cp->next;
			break;
		}
	if (cp->free_timer)
		loop_timer_cancel(c->lp, cp->free_timer);
	for (struct ctl_watch **pp = &c->watches; *pp;) {
		if ((*pp)->s == cp->s) {
			struct ctl_watch *w = *pp;
			*pp = w->next;
			free(w);
		} else
			pp = &(*pp)->next;
	}
	if (cp->s)
		sep_session_free(cp->s);
	close(cp->fd);
	free(cp);
}

static void ctl_peer_free_later(struct loop *lp, void *arg)
{
	struct ctl_peer *cp = arg;
	cp->free_timer = NULL;
	ctl_peer_free(cp);
}

static void ctl_peer_event(void *arg, int ev, int code, const char *reason)
{
	struct ctl_peer *cp = arg;
	if (ev == SEP_SESSION_CLOSED && !cp->free_timer)
		cp->free_timer = loop_timer(cp->ctl->lp, 0, ctl_peer_free_later, cp);
}

static void ctl_accept(struct loop *lp, int lfd, unsigned events, void *arg)
{
	struct ssh_ctl *c = arg;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!ctl_peer_ok(fd)) {
			msg("%s: control socket: a peer of another user; dropped", c->label);
			close(fd);
			continue;
		}
		struct ctl_peer *cp = xcalloc(1, sizeof *cp);
		cp->ctl = c;
		cp->fd = fd;
		struct sep_io io;
		sep_io_fd(&io, fd, fd);
		struct sep_limits lim;
		sep_limits_default(&lim);
		cp->s = sep_session_new(lp, &io, 1, &lim, &ctl_ops, cp, ns_host(), ctl_peer_event, cp);
		if (!cp->s) {
			close(fd);
			free(cp);
			continue;
		}
		cp->next = c->peers;
		c->peers = cp;
	}
}

struct ssh_ctl *ssh_ctl_start(struct loop *lp, const struct remote_uri *u, const char *label,
                              const struct ssh_ctl_ops *ops, void *arg, char *err, size_t errlen)
{
	struct ssh_ctl *c = xcalloc(1, sizeof *c);
	c->fd = ctl_publish(u, &c->pub, err, errlen);
	if (c->fd < 0 || loop_watch(lp, c->fd, LOOP_IN, ctl_accept, c) < 0) {
		int e = c->fd < 0 ? errno : EMFILE;
		if (c->fd >= 0) {
			snprintf(err, errlen, "%s: cannot watch it", c->pub.path);
			ns_unpublish(&c->pub, c->fd);
			close(c->fd);
		}
		free(c);
		errno = e;
		return NULL;
	}
	c->lp = lp;
	c->ops = ops;
	c->arg = arg;
	snprintf(c->label, sizeof c->label, "%s", label);
	return c;
}

void ssh_ctl_stop(struct ssh_ctl *c)
{
	if (!c)
		return;
	while (c->peers)
		ctl_peer_free(c->peers);
	loop_unwatch(c->lp, c->fd);
	ns_unpublish(&c->pub, c->fd);  /* before the close: while we listen it is ours */
	close(c->fd);
	free(c);
}
