/* ns-walk.c: the namespace's resolver: queries matched against services, lists in
 * resolver order, the walk down the tree, connecting and probing (doc/namespace.md).
 *
 * Every walk goes from the root's directory fd down with openat(O_NOFOLLOW) and
 * fstatat(AT_SYMLINK_NOFOLLOW), so no path component is ever followed through a
 * symlink; sockets are bound and connected to as /proc/self/fd/DIRFD/NAME (or from
 * inside the directory) for the same reason. */
#include "ns-int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WALK_MAX_SOCKETS 16384   /* sockets listed by one resolve */
#define WALK_MAX_DIRENTS 131072  /* directory entries looked at by one resolve */

static int proto_has_prefix(const char *proto, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!n)
		return 1;
	return !strncmp(proto, prefix, n) && (proto[n] == 0 || proto[n] == '/');
}

static int match_parsed(const struct ns_query *q, const struct ns_service *s)
{
	if (s->temp)
		return q->kind == NS_Q_ALL;
	switch (q->kind) {
	case NS_Q_ALL:
		return 1;
	case NS_Q_WORD:
		/* a bare word: a name, or the first component of a proto */
		return !strcmp(s->name, q->a) || proto_has_prefix(s->proto, q->a);
	case NS_Q_NAME_HOST:
		return !strcmp(s->name, q->a) && !strcmp(s->host, q->b);
	case NS_Q_PROTO:
		return proto_has_prefix(s->proto, q->a);
	case NS_Q_ABS:
		return !strcmp(s->path, q->a);
	case NS_Q_REL:
		return !strcmp(s->rel, q->a);
	}
	return 0;
}

void ns_select(const char *query, unsigned scopes, const struct ns_list *in, struct ns_list *out)
{
	struct ns_query q;
	char err[NS_ERR_MAX];
	if (ns_parse_query(query, 1, &q, err, sizeof err) < 0)
		return;
	for (size_t i = 0; i < in->n; i++)
		if ((in->v[i].scope & scopes) && match_parsed(&q, &in->v[i]))
			ns_list_add(out, &in->v[i]);
}

int ns_match(const char *query, const struct ns_service *s)
{
	struct ns_query q;
	char err[NS_ERR_MAX];
	if (ns_parse_query(query, 1, &q, err, sizeof err) < 0)
		return 0;
	return match_parsed(&q, s);
}

/* ---- lists ---- */

void ns_list_add(struct ns_list *l, const struct ns_service *s)
{
	if (l->n == l->cap) {
		/* from 4: most lists hold one service (a connect's), and 16 (8 KiB) is the
		 * size that musl's malloc maps and unmaps afresh each time */
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = *s;
}

void ns_list_free(struct ns_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static const char *sort_host;

/* Whose a socket is: ours or root's (0) before another ordinary user's (1), so that
 * nobody's socket shadows ours or root's for the same query. */
static int owner_rank(const struct ns_service *s)
{
	return !(s->uid == geteuid() || s->uid == 0);
}

/* This host's (0); another host's through an import (1); another host's name on a
 * socket in local/ or exported/, which anyone may publish (2): it never shadows the
 * real one. */
static int host_rank(const struct ns_service *s)
{
	if (!strcmp(s->host, sort_host))
		return 0;
	return s->scope == NS_LOCAL || s->scope == NS_EXPORTED ? 2 : 1;
}

static __attribute__((noinline)) int cmp_service(const struct ns_service *x, const struct ns_service *y)
{
	int ox = owner_rank(x), oy = owner_rank(y);
	if (ox != oy)
		return ox - oy;
	int hx = host_rank(x), hy = host_rank(y);
	if (hx != hy)
		return hx - hy;
	int sx = ns_scope_index(x->scope), sy = ns_scope_index(y->scope);
	if (sx != sy)
		return sx - sy;
	return strcmp(x->path, y->path);
}

/* A Shell sort (libc's qsort is big, and nothing else needs it). */
void ns_sort(struct ns_list *l)
{
	sort_host = ns_host();
	struct ns_service t;
	for (size_t gap = l->n; gap > 1;) {
		gap = gap < 5 ? 1 : gap * 5 / 11;
		for (size_t i = gap; i < l->n; i++) {
			size_t j = i;
			t = l->v[i];
			for (; j >= gap && cmp_service(&l->v[j - gap], &t) > 0; j -= gap)
				l->v[j] = l->v[j - gap];
			l->v[j] = t;
		}
	}
}

/* ---- the walk ---- */

struct walk {
	const char *root;
	enum ns_scope scope;
	const char *scopedir;          /* "local", "users/alice", ... */
	int temps;                     /* also temporary publish names */
	struct ns_list *out;
	size_t sockets, dirents;
	int truncated;
	uid_t dir_owner[WALK_MAX_DEPTH + 1];  /* the directories below the scope dir */
	int dir_open[WALK_MAX_DEPTH + 1];     /* world-writable without sticky */
	int depth;
	/* ns_connect_exact: connect to the first trusted socket found, from the walk's
	 * directory fd (cfd: the connection, cerr: the first failure) */
	int conn, cfd, cerr, ctrusted;
	uid_t root_uid;                 /* imported/ holds the importer's sockets only */
	const char *crel;               /* the path asked for (a directory there is none) */
	struct ns_service *csvc;
};

static int is_temp_name(const char *nm)
{
	return !strncmp(nm, ".tmp", 4) || !strncmp(nm, ".reap.", 6);
}

static void walk_dir(struct walk *w, int dirfd, const char *rel, char *follow);
static void walk_connect(struct walk *w, int dirfd, const char *nm, const struct ns_service *s);
static char nothing[1];  /* no path to follow (walk_dir cuts a follow path in place) */
/* Following a path instead of listing is for the SEP servers' exact lookups (one per
 * CONNECT): a build that serves the namespace to the network (CONFIG_NS_SERVER, which
 * those applets select); without it the walk lists, and an NS_EXACT query still matches. */
#define WALK_FOLLOW ENABLE_NS_SERVER

/* What a listing says of a socket: its owner, mode, times and identity, from its stat. */
void ns_svc_set_stat(struct ns_service *s, const struct stat *st)
{
	s->uid = st->st_uid;
	s->gid = st->st_gid;
	s->mode = st->st_mode & 07777;
	s->mtime = st->st_mtime;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
}

/* One entry nm of the directory dirfd (rel: that directory below the scope dir): a
 * socket with a service name is listed, a directory walked. With a non-empty follow
 * only a directory is of interest: the walk goes on down follow's components. */
static void walk_entry(struct walk *w, int dirfd, const char *rel, const char *nm, char *follow)
{
	w->dirents++;
	int temp = 0;
	if (nm[0] == '.') {
		/* ., .., temporary publish names, control directories: never services */
		if (!w->temps || !is_temp_name(nm) || follow)
			return;
		temp = 1;
	}
	for (const char *c = nm; *c; c++)
		if (ns_bad_char(*c))  /* spaces or control characters: not a name dipus makes */
			return;
	struct stat st;
	if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	char sub[NS_PATH_MAX];
	if (xsnprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm) < 0)
		return;  /* unreachable by path: sun_path would not hold it */
	if (S_ISDIR(st.st_mode) && !temp) {
		if (w->depth >= WALK_MAX_DEPTH)
			return;
		int fd = ns_open_dir_at(dirfd, nm);
		if (fd < 0)
			return;  /* a link swapped in meanwhile, or not ours to read */
		struct stat dst;
		if (fstat(fd, &dst) < 0) {
			close(fd);
			return;
		}
		w->dir_owner[w->depth] = dst.st_uid;
		w->dir_open[w->depth] = (dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX);
		w->depth++;
		walk_dir(w, fd, sub, follow ? follow : nothing);
		w->depth--;
		return;
	}
	if (!S_ISSOCK(st.st_mode) || follow)  /* symlinks, regular files: never services */
		return;
	struct ns_service s;
	memset(&s, 0, sizeof s);
	if (temp)
		s.temp = 1;
	else if (ns_parse_sockname(nm, s.name, s.host, &s.n) < 0)
		return;
	if (xsnprintf(s.path, sizeof s.path, "%s/%s/%s", w->root, w->scopedir, sub) < 0)
		return;
	snprintf(s.rel, sizeof s.rel, "%s", sub);
	snprintf(s.proto, sizeof s.proto, "%s", rel);
	s.scope = w->scope;
	ns_svc_set_stat(&s, &st);
	for (int i = 0; i < w->depth; i++)
		if ((w->dir_owner[i] != 0 && w->dir_owner[i] != st.st_uid) || w->dir_open[i])
			s.untrusted = 1;
	/* imported/ is the importer's: root's in a shared root (a user's imports go to
	 * users/<me>/), the owner's in a private one. Anyone else's socket there is a
	 * squatter in a place made for proxies. */
	if (w->scope == NS_IMPORTED && st.st_uid != w->root_uid)
		s.untrusted = 1;
	if (WALK_FOLLOW && w->conn)
		return walk_connect(w, dirfd, nm, &s);
	ns_list_add(w->out, &s);
	w->sockets++;
}

/* Walk the directory dirfd (closed after), rel below the scope dir. With a non-empty
 * follow ("a/b"), only what lies below dirfd/follow can match the query: the entries
 * on that path are looked up by name (the same checks as when listed: no link, the
 * owners of the directories passed for the trust rule), nothing else is listed. */
static void walk_dir(struct walk *w, int dirfd, const char *rel, char *follow)
{
	if (WALK_FOLLOW && *follow) {
		/* the next component, cut out in place (and put back: each scope follows it) */
		char *e = strchr(follow, '/');
		if (e)
			*e = 0;
		walk_entry(w, dirfd, rel, follow, e ? e + 1 : e);
		if (e)
			*e = '/';
		close(dirfd);
		return;
	}
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (w->sockets >= WALK_MAX_SOCKETS || w->dirents >= WALK_MAX_DIRENTS) {
			w->truncated = 1;
			break;
		}
		walk_entry(w, dirfd, rel, de->d_name, NULL);
	}
	closedir(d);
}

/* Walk every selected scope (below follow in each) with w (its root, out and temps
 * set). Returns -1 only for an unsafe root. */
static int walk_all(struct walk *w, unsigned scopes, char *follow, char *err, size_t errlen)
{
	int fd = ns_open_root(0, err, errlen);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat rst;
	w->root_uid = fstat(fd, &rst) == 0 ? rst.st_uid : 0;
	close(fd);
	char scopedir[NS_PATH_MAX], ignored[NS_ERR_MAX];
	for (int i = 0; i < 4; i++) {
		enum ns_scope sc = ns_scope_order[i];
		/* the same checks as for publishing; an unsafe scope directory, or another
		 * user's private tree, holds nothing we would use */
		if (!(scopes & sc) || (fd = ns_open_dir(sc, "", 0, ignored, sizeof ignored)) < 0)
			continue;
		snprintf(scopedir, sizeof scopedir, "%s%s%s", ns_scope_dirs[i], sc == NS_USERS ? "/" : "",
		         sc == NS_USERS ? ns_my_user() : "");
		w->scope = sc;
		w->scopedir = scopedir;
		w->depth = 0;
		walk_dir(w, fd, "", follow);
	}
	static int warned;
	if (w->truncated && !warned++)
		msg("%s: too many entries; the listing is incomplete", ns_root());
	return 0;
}

/* An absolute path outside the root: exactly that socket, never through a final link. */
static int resolve_outside(const char *path, struct ns_list *out)
{
	struct stat st;
	if (strlen(path) >= NS_PATH_MAX || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	struct ns_service s;
	memset(&s, 0, sizeof s);
	snprintf(s.path, sizeof s.path, "%s", path);
	const char *base = strrchr(path, '/') + 1;
	if (ns_parse_sockname(base, s.name, s.host, &s.n) < 0) {
		snprintf(s.name, sizeof s.name, "%.*s", NS_NAME_MAX - 1, base);
		s.host[0] = 0;
	}
	snprintf(s.rel, sizeof s.rel, "%s", path);
	s.scope = NS_LOCAL;
	ns_svc_set_stat(&s, &st);
	ns_list_add(out, &s);
	return 1;
}

int ns_resolve(const char *query, unsigned scopes, int allow_abs, struct ns_list *out, char *err,
               size_t errlen)
{
	struct ns_query q;
	if (scopes & NS_EXACT) {
		/* whatever the path, only the entries on it are looked up, each by name with
		 * the walk's checks (none starting with '.': never "..") */
		if (!query || xsnprintf(q.a, sizeof q.a, "%s", query))
			return 0;  /* no service has a path that long */
		q.kind = NS_Q_REL;
	} else if (ns_parse_query(query, allow_abs, &q, err, errlen) < 0) {
		return -1;
	}
	const char *root = ns_root();
	size_t rl = strlen(root);
	if (q.kind == NS_Q_ABS && !(strncmp(q.a, root, rl) == 0 && q.a[rl] == '/'))
		return resolve_outside(q.a, out);
	/* an exact path: only the directories on it are walked (nothing elsewhere can
	 * match) */
	struct ns_list all = { 0 };
	struct walk w = { .root = root, .out = &all, .temps = !!(scopes & NS_TEMPS) };
	if (walk_all(&w, scopes, WALK_FOLLOW && q.kind == NS_Q_REL ? q.a : nothing, err, errlen) < 0) {
		int e = errno;
		ns_list_free(&all);
		errno = e;
		return -1;
	}
	ns_sort(&all);
	size_t before = out->n;
	for (size_t i = 0; i < all.n; i++)
		if (match_parsed(&q, &all.v[i]))
			ns_list_add(out, &all.v[i]);
	ns_list_free(&all);
	return (int)(out->n - before);
}

/* A trusted socket found by a connecting walk (ns_connect_exact): connect to it through
 * the directory the walk holds (the checks are the walk's: no link followed, a socket,
 * the trust rule), unless an earlier one took the connection. */
static void walk_connect(struct walk *w, int dirfd, const char *nm, const struct ns_service *s)
{
	if (s->untrusted || w->cfd >= 0 || strcmp(s->rel, w->crel))
		return;
	w->ctrusted++;
	/* non-blocking: a full backlog is EAGAIN at once, never a wait on the loop */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && ns_sock_at(NS_AT_CONNECT, fd, dirfd, nm) == 0) {
		w->cfd = fd;
		*w->csvc = *s;
		return;
	}
	int e = errno;
	if (fd >= 0)
		close(fd);
	msg_debug("%s: %s", s->path, strerror(e));
	if (!w->cerr) {
		w->cerr = e;
		*w->csvc = *s;
	}
}

/* Scope directory i (ns_scope_order) below the open root, for a connecting walk:
 * ns_open_dir's checks of an existing one (users/<me> ours alone, 0700), with the root
 * opened and checked once per CONNECT instead of once more per scope. */
static int open_scope_at(int rfd, int i, char *err, size_t errlen)
{
	int fd = ns_step_dir(rfd, ns_scope_dirs[i], 0, 0, ns_scope_dirs[i], err, errlen);
	if (fd < 0 || ns_scope_order[i] != NS_USERS)
		return fd;
	int ufd = ns_step_dir(fd, ns_my_user(), 0, 0, ns_my_user(), err, errlen);
	struct stat st;
	close(fd);
	if (ufd >= 0 && (fstat(ufd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))) {
		close(ufd);
		return -1;
	}
	return ufd;
}

int ns_connect_exact(const char *rel, unsigned scopes, struct ns_service *svc, char *err,
                     size_t errlen)
{
	char path[NS_PATH_MAX], scopedir[NS_PATH_MAX], ignored[NS_ERR_MAX];
	struct walk w = { .root = ns_root(), .conn = 1, .cfd = -1, .crel = rel, .csvc = svc };
	memset(svc, 0, sizeof *svc);
	if (!WALK_FOLLOW || xsnprintf(path, sizeof path, "%s", rel)) {
		errno = ENOENT;
		return -1;
	}
	/* walk_all's walk, the root opened once: an unsafe root is refused (err), a
	 * missing one holds nothing (ENOENT) */
	int fd, rfd = ns_open_root(0, err, errlen);
	if (rfd < 0)
		return -1;
	struct stat rst;
	w.root_uid = fstat(rfd, &rst) == 0 ? rst.st_uid : 0;
	for (int i = 0; i < 4 && w.cfd < 0; i++) {
		enum ns_scope sc = ns_scope_order[i];
		if (!(scopes & sc) || (fd = open_scope_at(rfd, i, ignored, sizeof ignored)) < 0)
			continue;
		snprintf(scopedir, sizeof scopedir, "%s%s%s", ns_scope_dirs[i], sc == NS_USERS ? "/" : "",
		         sc == NS_USERS ? ns_my_user() : "");
		w.scope = sc;
		w.scopedir = scopedir;
		w.depth = 0;
		walk_dir(&w, fd, "", path);
	}
	close(rfd);
	if (w.cfd >= 0)
		return w.cfd;
	errno = w.ctrusted ? w.cerr : ENOENT;
	return -1;
}

/* ---- reaching a socket without following links ---- */

/* bind() or connect() sock to dirfd/base without resolving any path component again:
 * through /proc/self/fd/DIRFD/BASE, or (no /proc, or that would not fit sun_path) from
 * inside the directory, returning to the working directory after. */
int ns_sock_at(int op, int sock, int dirfd, const char *base)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r, e;
	if (!xsnprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, base)) {
		r = op == NS_AT_BIND ? bind(sock, (struct sockaddr *)&sa, sizeof sa)
		                  : connect(sock, (struct sockaddr *)&sa, sizeof sa);
		if (r == 0 || errno != ENOENT || !access("/proc/self/fd", F_OK))
			return r;
	}
	/* no /proc, or that path would not fit: from inside the directory */
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || xsnprintf(sa.sun_path, sizeof sa.sun_path, "%s", base) || fchdir(dirfd) < 0) {
		e = cwd < 0 ? errno : ENAMETOOLONG;
		r = -1;
	} else {
		r = op == NS_AT_BIND ? bind(sock, (struct sockaddr *)&sa, sizeof sa)
		                  : connect(sock, (struct sockaddr *)&sa, sizeof sa);
		e = errno;
		if (fchdir(cwd) < 0)
			die_errno(DX_IO, "cannot return to the working directory");
	}
	if (cwd >= 0)
		close(cwd);
	errno = e;
	return r;
}

/* Open the directory that holds path: from the root with O_NOFOLLOW when path is in
 * the tree, else the parent as the system resolves it. base receives the last part. */
int ns_open_parent(const char *given, char base[NS_PATH_MAX])
{
	char dir[NS_PATH_MAX], err[NS_ERR_MAX], path[NS_PATH_MAX];
	if (given[0] != '/' || ns_clean_path(given, path, sizeof path) < 0) {
		errno = EINVAL;
		return -1;
	}
	const char *root = ns_root(), *slash = strrchr(path, '/');
	size_t rl = strlen(root);
	if (!slash[1] ||
	    xsnprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(base, NS_PATH_MAX, "%s", slash + 1);
	if (strncmp(path, root, rl) || path[rl] != '/')
		return open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = ns_open_root(0, err, sizeof err);
	for (char *c = dir + rl, *e; fd >= 0 && c; c = e) {
		if ((e = strchr(c, '/')))
			*e++ = 0;
		if (!*c)
			continue;
		int nfd = strcmp(c, ".") && strcmp(c, "..") ? ns_open_dir_at(fd, c) : (errno = EINVAL, -1);
		int en = errno;
		close(fd);
		errno = en;
		fd = nfd;
	}
	return fd;
}

/* A probe of dirfd/base that reaches no service: 1 live (a socket is bound to it), 0
 * refused (dead), -1 not a socket or not ours to judge (errno). */
int ns_probe_at(int dirfd, const char *base)
{
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = ENOTSOCK;
		return -1;
	}
	/* listening, says the kernel: alive, and nobody's command ran to find out. Not
	 * seen (dead, or listened to from another network namespace) or no sock_diag (a
	 * kernel without unix_diag; qemu-user): a datagram socket's connect, which finds
	 * the socket bound to this file without ever reaching it (a stream connect would
	 * be accepted: a pipe helper would run its command). Nobody bound: refused, dead.
	 * A stream socket bound (listening, or about to: bind-then-listen): EPROTOTYPE,
	 * live; a datagram one: connected, live. */
	if (ns_listening(st.st_dev, st.st_ino) == 1)
		return 1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = ns_sock_at(NS_AT_CONNECT, fd, dirfd, base);
	int e = errno;
	close(fd);
	if (r == 0 || e == EPROTOTYPE)
		return 1;
	errno = e;
	return e == ECONNREFUSED ? 0 : -1;
}

static int connect_svc(const struct ns_service *s, int nonblock);

int ns_connect(const struct ns_service *s)
{
	return connect_svc(s, 0);
}

int ns_connect_nb(const struct ns_service *s)
{
	return connect_svc(s, SOCK_NONBLOCK);
}

static int connect_svc(const struct ns_service *s, int nonblock)
{
	char base[NS_PATH_MAX];
	int dfd = ns_open_parent(s->path, base);
	if (dfd < 0)
		return -1;
	struct stat st;
	int fd = -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto out;
	if (!S_ISSOCK(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | nonblock, 0);
	if (fd >= 0 && ns_sock_at(NS_AT_CONNECT, fd, dfd, base) < 0) {
		int e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
out:;
	int e = errno;
	close(dfd);
	errno = e;
	return fd;
}

int ns_probe(const char *path)
{
	ns_listening_forget();  /* one probe: the kernel's answer of now */
	return ns_probe_many(path);
}

int ns_probe_many(const char *path)
{
	char base[NS_PATH_MAX];
	int dfd = ns_open_parent(path, base);
	if (dfd < 0)
		return -1;
	int r = ns_probe_at(dfd, base);
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}

