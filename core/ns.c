/* ns.c: the dipus namespace: root and directory checks, names, the resolver,
 * publishing and connecting (doc/namespace.md).
 *
 * Every walk goes from the root's directory fd down with openat(O_NOFOLLOW), so no
 * path component is ever followed through a symlink; sockets are reached as
 * /proc/self/fd/DIRFD/NAME for the same reason. */
#include "ns.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define WALK_MAX_DEPTH 32      /* proto components */
#define WALK_MAX_ENTRIES 65536 /* sockets listed by one resolve */

static const char *const scope_dirs[] = { "local", "exported", "users", "imported" };
static const enum ns_scope scope_order[] = { NS_LOCAL, NS_EXPORTED, NS_USERS, NS_IMPORTED };

static int scope_index(enum ns_scope s)
{
	for (int i = 0; i < 4; i++)
		if (scope_order[i] == s)
			return i;
	return 0;
}

const char *ns_scope_name(enum ns_scope s)
{
	return scope_dirs[scope_index(s)];
}

const char *ns_root(void)
{
	const char *r = getenv("DIPUS_ROOT");
	return (r && *r) ? r : CONFIG_DEFAULT_ROOT;
}

const char *ns_host(void)
{
	static char host[NS_HOST_MAX];
	const char *h = getenv("DIPUS_HOST");
	if (h && *h)
		return h;
	if (!host[0]) {
		struct utsname u;
		if (uname(&u) == 0 && u.nodename[0] && strlen(u.nodename) < sizeof host)
			memcpy(host, u.nodename, strlen(u.nodename) + 1);
		else
			snprintf(host, sizeof host, "localhost");
	}
	return host;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/* The security rule for any directory dipus uses: a directory, owned by root or us,
 * world-writable only with the sticky bit. */
static int check_dir_stat(const struct stat *st, const char *path, char *err, size_t errlen)
{
	char who[64];
	if (S_ISLNK(st->st_mode)) {
		snprintf(err, errlen, "%s: is a symbolic link; dipus never follows links in its tree "
		         "(remove it, or set DIPUS_ROOT to the real directory)", path);
		return -1;
	}
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "%s: not a directory (remove it, or set DIPUS_ROOT elsewhere)", path);
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by %s, not by you or root; remove it, or set "
		         "DIPUS_ROOT to a directory of your own",
		         path, user_name(st->st_uid, who, sizeof who));
		return -1;
	}
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s: world-writable without the sticky bit; run 'chmod +t %s' "
		         "as its owner (or 'dipus mkroot' as root)", path, path);
		return -1;
	}
	return 0;
}

/* Open an existing directory below dirfd without following a link; errno ELOOP or
 * ENOTDIR for a link or a non-directory. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int fail_open(int e, const char *path, char *err, size_t errlen)
{
	struct stat st;
	/* O_NOFOLLOW|O_DIRECTORY on a link says ENOTDIR: tell the two apart */
	if (e == ENOTDIR && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		e = ELOOP;
	if (e == ELOOP || e == ENOTDIR)
		errno = EPERM;  /* a security refusal, not a plain I/O error */
	else
		errno = e;
	if (e == ELOOP)
		snprintf(err, errlen, "%s: is a symbolic link; dipus never follows links in its tree "
		         "(remove it, or set DIPUS_ROOT to the real directory)", path);
	else if (e == ENOTDIR)
		snprintf(err, errlen, "%s: not a directory", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(e));
	return -1;
}

int ns_open_root(int create, char *err, size_t errlen)
{
	const char *root = ns_root();
	if (root[0] != '/') {
		snprintf(err, errlen, "%s: DIPUS_ROOT must be an absolute path", root);
		return -1;
	}
	size_t len = strlen(root);
	if (len + 2 >= NS_PATH_MAX) {
		snprintf(err, errlen, "%s: root path too long for UNIX sockets (sun_path holds %d bytes)",
		         root, NS_PATH_MAX - 1);
		return -1;
	}
	char parent[NS_PATH_MAX], base[NS_PATH_MAX];
	snprintf(parent, sizeof parent, "%s", root);
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = 0;
	char *slash = strrchr(parent, '/');
	snprintf(base, sizeof base, "%s", slash + 1);
	if (slash == parent)
		parent[1] = 0;
	else
		*slash = 0;
	if (!base[0]) {
		snprintf(err, errlen, "%s: the root cannot be /", root);
		return -1;
	}
	/* the parent (e.g. /tmp) is the system's; only the root itself is checked */
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return fail_open(errno, parent, err, errlen);
	int fd = open_dir_at(pfd, base);
	if (fd < 0 && errno == ENOENT && create) {
		/* a root nobody made is this user's private namespace */
		if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			close(pfd);
			snprintf(err, errlen, "%s: cannot create: %s", root, strerror(e));
			return -1;
		}
		fd = open_dir_at(pfd, base);
	}
	int e = errno;
	close(pfd);
	if (fd < 0) {
		if (e == ENOENT) {
			snprintf(err, errlen, "%s: does not exist", root);
			errno = ENOENT;
			return -1;
		}
		fail_open(e, root, err, errlen);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || check_dir_stat(&st, root, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Open (creating with mode if asked) one directory below dirfd and check it. A
 * directory of another non-root user is refused for publishing. */
static int step_dir(int dirfd, const char *name, int create, mode_t mode, const char *path,
                    char *err, size_t errlen)
{
	int fd = open_dir_at(dirfd, name);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
			int e = errno;
			if (e == EACCES || e == EPERM)
				snprintf(err, errlen, "%s: cannot create: %s (a shared root's directories are "
				         "made by root: 'dipus mkroot')", path, strerror(e));
			else
				snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
			errno = e;
			return -1;
		}
		fd = open_dir_at(dirfd, name);
		/* mkdir applies the umask; the mode asked for is the mode wanted */
		if (fd >= 0)
			fchmod(fd, mode);
	}
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			snprintf(err, errlen, "%s: does not exist", path);
			errno = ENOENT;
			return -1;
		}
		fail_open(e, path, err, errlen);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || check_dir_stat(&st, path, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static const char *my_user(void)
{
	static char name[64];
	if (!name[0]) {
		struct passwd *pw = getpwuid(geteuid());
		if (pw)
			snprintf(name, sizeof name, "%s", pw->pw_name);
		else
			snprintf(name, sizeof name, "%u", (unsigned)geteuid());
	}
	return name;
}

/* Validate a proto path: components not empty, not starting with '.', printable. */
static int check_proto(const char *proto, char *err, size_t errlen)
{
	if (!*proto)
		return 0;
	const char *p = proto;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0) {
			snprintf(err, errlen, "%s: empty component in the protocol path", proto);
			return -1;
		}
		if (p[0] == '.') {
			snprintf(err, errlen, "%s: a protocol component may not start with '.' (no '.' or '..')",
			         proto);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f) {
				snprintf(err, errlen, "%s: space or control character in the protocol path", proto);
				return -1;
			}
		if (!e)
			return 0;
		p = e + 1;
	}
}

static int check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0) {
		snprintf(err, errlen, "empty service name");
		return -1;
	}
	if (n >= NS_NAME_MAX) {
		snprintf(err, errlen, "%s: service name longer than %d bytes", name, NS_NAME_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];
		if (c == '.' || c == '/') {
			snprintf(err, errlen, "%s: a service name may not contain '%c'", name, c);
			return -1;
		}
		if (c <= ' ' || c == 0x7f) {
			snprintf(err, errlen, "%s: space or control character in the service name", name);
			return -1;
		}
	}
	return 0;
}

static int check_host(const char *host, char *err, size_t errlen)
{
	size_t n = strlen(host);
	if (!n || n >= NS_HOST_MAX || strchr(host, '/') || strstr(host, "..") || host[0] == '.' ||
	    host[n - 1] == '.') {
		snprintf(err, errlen, "%s: not a usable host name (set DIPUS_HOST)", host);
		return -1;
	}
	return 0;
}

int ns_parse_arg(const char *arg, char name[NS_NAME_MAX], char proto[NS_PATH_MAX], char *err,
                 size_t errlen)
{
	const char *slash = strchr(arg, '/');
	size_t nlen = slash ? (size_t)(slash - arg) : strlen(arg);
	if (nlen >= NS_NAME_MAX) {
		snprintf(err, errlen, "%.*s: service name longer than %d bytes", (int)nlen, arg,
		         NS_NAME_MAX - 1);
		return -1;
	}
	memcpy(name, arg, nlen);
	name[nlen] = 0;
	if (check_name(name, err, errlen) < 0)
		return -1;
	const char *p = slash ? slash + 1 : "";
	if (strlen(p) >= NS_PATH_MAX) {
		snprintf(err, errlen, "%s: protocol path too long", p);
		return -1;
	}
	snprintf(proto, NS_PATH_MAX, "%s", p);
	return check_proto(proto, err, errlen);
}

int ns_parse_sockname(const char *base, char name[NS_NAME_MAX], char host[NS_HOST_MAX], unsigned *n)
{
	const char *dot = strchr(base, '.');
	if (!dot || dot == base || (size_t)(dot - base) >= NS_NAME_MAX)
		return -1;
	const char *sep = strstr(dot + 1, "...");
	if (!sep || sep == dot + 1 || (size_t)(sep - dot - 1) >= NS_HOST_MAX)
		return -1;
	const char *num = sep + 3;
	if (!*num || strlen(num) > 6)
		return -1;
	for (const char *q = num; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	if (strchr(sep + 3, '.'))
		return -1;
	memcpy(name, base, dot - base);
	name[dot - base] = 0;
	memcpy(host, dot + 1, sep - dot - 1);
	host[sep - dot - 1] = 0;
	*n = (unsigned)strtoul(num, NULL, 10);
	return 0;
}

/* ---- the resolver ---- */

enum qkind { Q_ALL, Q_NAME, Q_NAME_HOST, Q_PROTO, Q_ABS };

struct query {
	enum qkind kind;
	char a[NS_PATH_MAX];  /* name, proto prefix or path */
	char b[NS_HOST_MAX];  /* host */
};

static int parse_query(const char *q, int allow_abs, struct query *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!q || !*q) {
		out->kind = Q_ALL;
		return 0;
	}
	if (strlen(q) >= NS_PATH_MAX) {
		snprintf(err, errlen, "%.40s...: query too long", q);
		return -1;
	}
	if (q[0] == '/') {
		if (!allow_abs) {
			snprintf(err, errlen, "%s: absolute paths are not accepted here", q);
			return -1;
		}
		out->kind = Q_ABS;
		snprintf(out->a, sizeof out->a, "%s", q);
		return 0;
	}
	if (strchr(q, '/')) {
		/* a proto prefix; a trailing slash is harmless */
		snprintf(out->a, sizeof out->a, "%s", q);
		size_t n = strlen(out->a);
		while (n && out->a[n - 1] == '/')
			out->a[--n] = 0;
		if (check_proto(out->a, err, errlen) < 0)
			return -1;
		out->kind = Q_PROTO;
		return 0;
	}
	const char *dot = strchr(q, '.');
	if (dot) {
		if ((size_t)(dot - q) >= NS_NAME_MAX || strlen(dot + 1) >= NS_HOST_MAX || !dot[1] ||
		    dot == q) {
			snprintf(err, errlen, "%s: not a name.host query", q);
			return -1;
		}
		out->kind = Q_NAME_HOST;
		memcpy(out->a, q, dot - q);
		out->a[dot - q] = 0;
		snprintf(out->b, sizeof out->b, "%s", dot + 1);
		return 0;
	}
	out->kind = Q_NAME;
	snprintf(out->a, sizeof out->a, "%s", q);
	return 0;
}

static int proto_has_prefix(const char *proto, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(proto, prefix, n) && (proto[n] == 0 || proto[n] == '/');
}

static int match_parsed(const struct query *q, const struct ns_service *s, int as_proto)
{
	switch (q->kind) {
	case Q_ALL:
		return 1;
	case Q_NAME:
		return as_proto ? proto_has_prefix(s->proto, q->a) : !strcmp(s->name, q->a);
	case Q_NAME_HOST:
		return !strcmp(s->name, q->a) && !strcmp(s->host, q->b);
	case Q_PROTO:
		return proto_has_prefix(s->proto, q->a);
	case Q_ABS:
		return !strcmp(s->path, q->a);
	}
	return 0;
}

int ns_match(const char *query, const struct ns_service *s)
{
	struct query q;
	char err[NS_ERR_MAX];
	if (parse_query(query, 1, &q, err, sizeof err) < 0)
		return 0;
	/* a bare word matches a name, or else the first proto component */
	return match_parsed(&q, s, 0) || (q.kind == Q_NAME && match_parsed(&q, s, 1));
}

static void list_add(struct ns_list *l, const struct ns_service *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
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

struct walk {
	const char *root;
	enum ns_scope scope;
	const char *scopedir;          /* "local", "users/alice", ... */
	struct ns_list *out;
	size_t entries;
	uid_t dir_owners[WALK_MAX_DEPTH + 1];
	int depth;
};

static void walk_dir(struct walk *w, int dirfd, const char *rel)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) && w->entries < WALK_MAX_ENTRIES) {
		const char *nm = de->d_name;
		if (nm[0] == '.')  /* ., .., temporary publish names, control sockets */
			continue;
		struct stat st;
		if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char sub[NS_PATH_MAX];
		if (xsnprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (w->depth >= WALK_MAX_DEPTH)
				continue;
			int fd = open_dir_at(dirfd, nm);
			if (fd < 0)
				continue;
			w->dir_owners[w->depth++] = st.st_uid;
			walk_dir(w, fd, sub);
			w->depth--;
			continue;
		}
		if (!S_ISSOCK(st.st_mode))  /* symlinks, regular files: never services */
			continue;
		struct ns_service s;
		memset(&s, 0, sizeof s);
		if (ns_parse_sockname(nm, s.name, s.host, &s.n) < 0)
			continue;
		if (xsnprintf(s.path, sizeof s.path, "%s/%s/%s", w->root, w->scopedir, sub) < 0)
			continue;  /* unreachable by path: sun_path would not hold it */
		snprintf(s.rel, sizeof s.rel, "%s", sub);
		snprintf(s.proto, sizeof s.proto, "%s", rel);
		s.scope = w->scope;
		s.uid = st.st_uid;
		s.gid = st.st_gid;
		s.mode = st.st_mode & 07777;
		s.dev = st.st_dev;
		s.ino = st.st_ino;
		for (int i = 0; i < w->depth; i++)
			if (w->dir_owners[i] != 0 && w->dir_owners[i] != st.st_uid)
				s.untrusted = 1;
		list_add(w->out, &s);
		w->entries++;
	}
	closedir(d);
}

static int cmp_service(const void *a, const void *b)
{
	const struct ns_service *x = a, *y = b;
	const char *me = ns_host();
	int hx = strcmp(x->host, me) != 0, hy = strcmp(y->host, me) != 0;
	if (hx != hy)
		return hx - hy;
	int sx = scope_index(x->scope), sy = scope_index(y->scope);
	if (sx != sy)
		return sx - sy;
	return strcmp(x->path, y->path);
}

/* Walk every selected scope into all. Returns -1 only for an unsafe root. */
static int walk_all(unsigned scopes, struct ns_list *all, char *err, size_t errlen)
{
	int rfd = ns_open_root(0, err, errlen);
	if (rfd < 0)
		return errno == ENOENT ? 0 : -1;
	for (int i = 0; i < 4; i++) {
		enum ns_scope sc = scope_order[i];
		if (!(scopes & sc))
			continue;
		char scopedir[NS_PATH_MAX];
		int fd;
		if (sc == NS_USERS) {
			snprintf(scopedir, sizeof scopedir, "users/%s", my_user());
			int ufd = open_dir_at(rfd, "users");
			if (ufd < 0)
				continue;
			fd = open_dir_at(ufd, my_user());
			close(ufd);
			/* another user's private tree is never ours to list */
			struct stat st;
			if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid())) {
				close(fd);
				fd = -1;
			}
		} else {
			snprintf(scopedir, sizeof scopedir, "%s", scope_dirs[i]);
			fd = open_dir_at(rfd, scope_dirs[i]);
		}
		if (fd < 0)
			continue;
		struct stat st;
		char ignored[NS_ERR_MAX];
		if (fstat(fd, &st) < 0 || check_dir_stat(&st, scopedir, ignored, sizeof ignored) < 0) {
			close(fd);
			continue;
		}
		struct walk w = { .root = ns_root(), .scope = sc, .scopedir = scopedir, .out = all };
		walk_dir(&w, fd, "");
	}
	close(rfd);
	return 0;
}

/* An absolute path outside the root: exactly that socket, never through a final link. */
static int resolve_outside(const char *path, struct ns_list *out)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || strlen(path) >= NS_PATH_MAX)
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
	s.uid = st.st_uid;
	s.gid = st.st_gid;
	s.mode = st.st_mode & 07777;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	list_add(out, &s);
	return 1;
}

int ns_resolve(const char *query, unsigned scopes, int allow_abs, struct ns_list *out, char *err,
               size_t errlen)
{
	struct query q;
	if (parse_query(query, allow_abs, &q, err, errlen) < 0)
		return -1;
	const char *root = ns_root();
	size_t rl = strlen(root);
	if (q.kind == Q_ABS && !(strncmp(q.a, root, rl) == 0 && q.a[rl] == '/')) {
		return resolve_outside(q.a, out);
	}
	struct ns_list all = { 0 };
	if (walk_all(scopes, &all, err, errlen) < 0) {
		ns_list_free(&all);
		return -1;
	}
	qsort(all.v, all.n, sizeof *all.v, cmp_service);
	size_t before = out->n;
	for (size_t i = 0; i < all.n; i++)
		if (match_parsed(&q, &all.v[i], 0))
			list_add(out, &all.v[i]);
	/* a bare word that names no service is a one-component proto prefix */
	if (out->n == before && q.kind == Q_NAME)
		for (size_t i = 0; i < all.n; i++)
			if (match_parsed(&q, &all.v[i], 1))
				list_add(out, &all.v[i]);
	ns_list_free(&all);
	return (int)(out->n - before);
}

/* ---- reaching a socket without following links ---- */

/* Open the directory that holds path: from the root with O_NOFOLLOW when path is in
 * the tree, else the parent as the system resolves it. base receives the last part. */
static int open_parent(const char *path, char base[NS_PATH_MAX])
{
	const char *root = ns_root();
	size_t rl = strlen(root);
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1] || strlen(path) >= NS_PATH_MAX) {
		errno = EINVAL;
		return -1;
	}
	snprintf(base, NS_PATH_MAX, "%s", slash + 1);
	if (strncmp(path, root, rl) || path[rl] != '/') {
		char dir[NS_PATH_MAX];
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		return open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	char err[NS_ERR_MAX];
	int fd = ns_open_root(0, err, sizeof err);
	if (fd < 0)
		return -1;
	const char *p = path + rl + 1;
	while (p < slash + 1) {
		const char *e = strchr(p, '/');
		if (!e || e > slash)
			break;
		char comp[NS_PATH_MAX];
		snprintf(comp, sizeof comp, "%.*s", (int)(e - p), p);
		int nfd = comp[0] ? open_dir_at(fd, comp) : dup(fd);
		int en = errno;
		close(fd);
		if (nfd < 0) {
			errno = en;
			return -1;
		}
		fd = nfd;
		p = e + 1;
	}
	return fd;
}

static int sockaddr_at(int dirfd, const char *base, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (xsnprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd, base) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int ns_connect(const struct ns_service *s)
{
	char base[NS_PATH_MAX];
	int dfd = open_parent(s->path, base);
	if (dfd < 0)
		return -1;
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		close(dfd);
		errno = e;
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		close(dfd);
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
		return -1;
	}
	struct sockaddr_un sa;
	int fd = -1;
	if (sockaddr_at(dfd, base, &sa) == 0)
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	int e = errno;
	close(dfd);
	errno = e;
	return fd;
}

int ns_probe(const char *path)
{
	struct ns_service s;
	memset(&s, 0, sizeof s);
	snprintf(s.path, sizeof s.path, "%s", path);
	int fd = ns_connect(&s);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ECONNREFUSED ? 0 : -1;
}

/* liveness of base in dirfd: 1 live, 0 dead, -1 not a socket or unknown */
static int probe_at(int dirfd, const char *base)
{
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
		return -1;
	struct sockaddr_un sa;
	if (sockaddr_at(dirfd, base, &sa) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(fd);
	if (r == 0)
		return 1;
	return e == ECONNREFUSED ? 0 : -1;
}

/* ---- publishing ---- */

int ns_open_dir(enum ns_scope scope, const char *proto, int create, char *err, size_t errlen)
{
	if (check_proto(proto, err, errlen) < 0)
		return -1;
	int rfd = ns_open_root(create, err, errlen);
	if (rfd < 0)
		return -1;
	struct stat rst;
	fstat(rfd, &rst);
	/* a shared (root-owned) root's scope dirs are root's to make, sticky like /tmp */
	mode_t scope_mode = rst.st_uid == 0 ? 01777 : 0755;
	if (rst.st_uid == 0 && geteuid() != 0)
		create = create ? 2 : 0;  /* 2: may create below the scope dir only */
	char path[NS_PATH_MAX * 2];
	const char *root = ns_root();
	int fd;
	if (scope == NS_USERS) {
		snprintf(path, sizeof path, "%s/users", root);
		int ufd = step_dir(rfd, "users", create == 1, 0755, path, err, errlen);
		close(rfd);
		if (ufd < 0)
			return -1;
		snprintf(path, sizeof path, "%s/users/%s", root, my_user());
		fd = step_dir(ufd, my_user(), create == 1, 0700, path, err, errlen);
		close(ufd);
		if (fd < 0 && errno == ENOENT && create == 2)
			snprintf(err, errlen, "%s: does not exist; ask root to run 'dipus mkroot -u %s'", path,
			         my_user());
		if (fd >= 0) {
			struct stat st;
			fstat(fd, &st);
			if (st.st_uid != geteuid()) {
				snprintf(err, errlen, "%s: not owned by you; it must be yours alone (0700)", path);
				close(fd);
				return -1;
			}
		}
	} else {
		const char *sd = ns_scope_name(scope);
		snprintf(path, sizeof path, "%s/%s", root, sd);
		fd = step_dir(rfd, sd, create == 1, scope_mode, path, err, errlen);
		close(rfd);
		if (fd < 0 && errno == ENOENT && create == 2)
			snprintf(err, errlen, "%s: does not exist; ask root to run 'dipus mkroot'", path);
	}
	if (fd < 0)
		return -1;
	const char *p = proto;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char comp[NS_PATH_MAX];
		snprintf(comp, sizeof comp, "%.*s", (int)n, p);
		size_t pl = strlen(path);
		snprintf(path + pl, sizeof path - pl, "/%s", comp);
		int nfd = step_dir(fd, comp, create != 0, 0755, path, err, errlen);
		close(fd);
		if (nfd < 0)
			return -1;
		fd = nfd;
		p += n;
		if (*p == '/')
			p++;
	}
	return fd;
}

static int renameat_noreplace(int dfd, const char *from, const char *to)
{
#ifdef SYS_renameat2
	long r = syscall(SYS_renameat2, dfd, from, dfd, to, 1 /* RENAME_NOREPLACE */);
	if (r == 0 || (errno != ENOSYS && errno != EINVAL))
		return (int)r;
#endif
	/* no renameat2: check, then rename (a small window; see doc/namespace.md) */
	struct stat st;
	if (fstatat(dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dfd, from, dfd, to);
}

int ns_publish(enum ns_scope scope, const char *name, const char *proto, mode_t mode, gid_t gid,
               int backlog, struct ns_service *out, char *err, size_t errlen)
{
	const char *host = ns_host();
	if (check_name(name, err, errlen) < 0 || check_proto(proto, err, errlen) < 0 ||
	    check_host(host, err, errlen) < 0)
		return -1;
	memset(out, 0, sizeof *out);
	const char *root = ns_root();
	char scopedir[NS_PATH_MAX];
	if (scope == NS_USERS)
		snprintf(scopedir, sizeof scopedir, "users/%s", my_user());
	else
		snprintf(scopedir, sizeof scopedir, "%s", ns_scope_name(scope));
	/* the longest name we might take: ...999999 */
	char longest[NS_PATH_MAX * 2];
	int plen = snprintf(longest, sizeof longest, "%s/%s/%s%s%s.%s...999", root, scopedir, proto,
	                    *proto ? "/" : "", name, host);
	if (plen >= NS_PATH_MAX) {
		snprintf(err, errlen, "%s/%s/%s%s%s.%s...N: socket path would be %d bytes; sun_path holds "
		         "%d (shorten DIPUS_ROOT, the protocol or the name)", root, scopedir, proto,
		         *proto ? "/" : "", name, host, plen, NS_PATH_MAX - 1);
		return -1;
	}
	int dfd = ns_open_dir(scope, proto, 1, err, errlen);
	if (dfd < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		close(dfd);
		return -1;
	}
	char tmp[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmp, sizeof tmp, ".tmp.%d.%ld", (int)getpid(), (long)(ts.tv_nsec ^ ts.tv_sec));
	struct sockaddr_un sa;
	char final[NS_NAME_MAX + NS_HOST_MAX + 16];
	struct stat st;
	if (sockaddr_at(dfd, tmp, &sa) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "%s/%s/%s: bind: %s", root, scopedir, proto, strerror(errno));
		goto fail;
	}
	if (fchmodat(dfd, tmp, mode & 0777, 0) < 0 ||
	    (gid != (gid_t)-1 && fchownat(dfd, tmp, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0)) {
		snprintf(err, errlen, "%s/%s/%s: setting the socket's mode or group: %s", root, scopedir,
		         proto, strerror(errno));
		goto fail_unlink;
	}
	if (listen(fd, backlog > 0 ? backlog : 64) < 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail_unlink;
	}
	for (unsigned n = 0; n < 1000; n++) {
		snprintf(final, sizeof final, "%s.%s...%u", name, host, n);
		if (renameat_noreplace(dfd, tmp, final) == 0)
			goto published;
		if (errno != EEXIST) {
			snprintf(err, errlen, "%s: rename: %s", final, strerror(errno));
			goto fail_unlink;
		}
		/* taken: a live socket is never replaced, a dead one is, a non-socket never */
		if (probe_at(dfd, final) == 0 && probe_at(dfd, final) == 0 &&
		    renameat(dfd, tmp, dfd, final) == 0)
			goto published;
	}
	snprintf(err, errlen, "%s.%s: 1000 instances already published", name, host);
	goto fail_unlink;
published:
	fstatat(dfd, final, &st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	/* lengths were checked against sun_path above */
	if (xsnprintf(out->path, sizeof out->path, "%s/%s/%s%s%s", root, scopedir, proto,
	              *proto ? "/" : "", final) < 0 ||
	    xsnprintf(out->rel, sizeof out->rel, "%s%s%s", proto, *proto ? "/" : "", final) < 0)
		abort();
	snprintf(out->proto, sizeof out->proto, "%s", proto);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->host, sizeof out->host, "%s", host);
	out->n = (unsigned)strtoul(strstr(final, "...") + 3, NULL, 10);
	out->scope = scope;
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->mode = st.st_mode & 07777;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return fd;
fail_unlink:
	unlinkat(dfd, tmp, 0);
fail:
	close(fd);
	close(dfd);
	return -1;
}

int ns_unpublish(const struct ns_service *s, int listen_fd)
{
	(void)listen_fd;
	char base[NS_PATH_MAX];
	int dfd = open_parent(s->path, base);
	if (dfd < 0)
		return -1;
	struct stat st;
	int r = -1;
	/* only if it is still the socket we bound: someone may have replaced it */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_ino == s->ino && st.st_dev == s->dev)
		r = unlinkat(dfd, base, 0);
	close(dfd);
	return r;
}
