/* ns.c: the dipus namespace: root and directory checks, names, the resolver,
 * publishing, connecting and reaping (doc/namespace.md).
 *
 * Every walk goes from the root's directory fd down with openat(O_NOFOLLOW) and
 * fstatat(AT_SYMLINK_NOFOLLOW), so no path component is ever followed through a
 * symlink; sockets are bound and connected to as /proc/self/fd/DIRFD/NAME (or from
 * inside the directory) for the same reason. */
#include "ns.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
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

#define WALK_MAX_DEPTH 32        /* proto components */
#define WALK_MAX_SOCKETS 16384   /* sockets listed by one resolve */
#define WALK_MAX_DIRENTS 131072  /* directory entries looked at by one resolve */
#define DEAD_WAITS_MAX 4         /* dead-looking slots one publish waits on */

#define X_RENAME_NOREPLACE 1

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

int ns_clean_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	if (in[0] != '/' || outlen < 2) {
		errno = EINVAL;
		return -1;
	}
	out[o++] = '/';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* "//" and "/./" say nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* up one, lexically: what a link would make of it is not asked */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o + (o > 1) + n >= outlen) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	out[o] = 0;
	return 0;
}

/* The default root: CONFIG_DEFAULT_ROOT, or where its parent does not exist (Android
 * has no /tmp) the same name in $TMPDIR. */
static const char *default_root(void)
{
	static char def[NS_PATH_MAX];
	if (def[0])
		return def;
	const char *d = CONFIG_DEFAULT_ROOT, *base = strrchr(d, '/');
	const char *tmp = getenv("TMPDIR");
	char parent[NS_PATH_MAX];
	struct stat st;
	snprintf(parent, sizeof parent, "%.*s", base ? (int)(base - d) : 0, d);
	if (base && tmp && tmp[0] == '/' && stat(parent[0] ? parent : "/", &st) < 0 &&
	    errno == ENOENT && !xsnprintf(parent, sizeof parent, "%s%s", tmp, base) &&
	    !ns_clean_path(parent, def, sizeof def))
		return def;
	snprintf(def, sizeof def, "%s", d);
	return def;
}

const char *ns_root(void)
{
	/* the root as the walk sees it: "//", "." and ".." spelled away, no trailing '/'
	 * (so "/tmp/link/." is the link /tmp/link, and refused as one) */
	static char clean[NS_PATH_MAX], seen[NS_PATH_MAX];
	const char *r = getenv("DIPUS_ROOT");
	if (!r || !*r)
		return default_root();
	if (r[0] != '/' || strlen(r) >= NS_PATH_MAX)
		return r;  /* refused by ns_open_root as it is */
	if (strcmp(r, seen)) {
		snprintf(seen, sizeof seen, "%s", r);
		if (ns_clean_path(r, clean, sizeof clean) < 0)
			snprintf(clean, sizeof clean, "%s", r);
	}
	return clean;
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

static const char *my_user(void)
{
	static char name[64];
	if (!name[0]) {
		struct passwd *pw = getpwuid(geteuid());
		if (pw && strlen(pw->pw_name) < sizeof name && !strchr(pw->pw_name, '/') &&
		    pw->pw_name[0] != '.')
			snprintf(name, sizeof name, "%s", pw->pw_name);
		else
			snprintf(name, sizeof name, "%u", (unsigned)geteuid());
	}
	return name;
}

static int fail(int e, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

/* ---- directory checks ---- */

static const char link_msg[] = "is a symbolic link; dipus never follows links in its tree";

/* The security rule for any directory dipus uses: a directory, owned by root or us,
 * world-writable only with the sticky bit. errno EPERM on refusal. */
static int check_dir_stat(const struct stat *st, const char *path, char *err, size_t errlen)
{
	char who[64];
	if (S_ISLNK(st->st_mode))
		return fail(EPERM, err, errlen, "%s: %s (remove it, or set DIPUS_ROOT to the real "
		            "directory)", path, link_msg);
	if (!S_ISDIR(st->st_mode))
		return fail(EPERM, err, errlen, "%s: not a directory (remove it, or set DIPUS_ROOT "
		            "elsewhere)", path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return fail(EPERM, err, errlen, "%s: owned by %s, not by you or root; remove it, or "
		            "set DIPUS_ROOT to a directory of your own", path,
		            user_name(st->st_uid, who, sizeof who));
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX))
		return fail(EPERM, err, errlen, "%s: world-writable without the sticky bit; run "
		            "'chmod +t %s' as its owner (or 'dipus mkroot' as root)", path, path);
	return 0;
}

/* Open an existing directory below dirfd without following a link. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Explain why open_dir_at(dirfd, name) failed with e: a link, a non-directory or one
 * of another user is refused for that reason. */
static int fail_open_at(int e, int dirfd, const char *name, const char *path, char *err,
                        size_t errlen)
{
	struct stat st;
	if (e == ENOENT)
		return fail(ENOENT, err, errlen, "%s: does not exist", path);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    check_dir_stat(&st, path, err, errlen) < 0)
		return -1;
	return fail(e == EACCES ? EPERM : e, err, errlen, "%s: %s", path, strerror(e));
}

/* May we remove (or rename over) the entry st in the directory dirfd? */
static int may_remove_at(int dirfd, const struct stat *st)
{
	struct stat d;
	uid_t me = geteuid();
	if (me == 0)
		return 1;
	/* dipus is never set-uid: the real ids are the effective ones (the plain system
	 * call: musl's faccessat() carries an AT_EACCESS emulation we do not need) */
	if (fstat(dirfd, &d) < 0 || syscall(SYS_faccessat, dirfd, ".", W_OK | X_OK) < 0)
		return 0;
	return !(d.st_mode & S_ISVTX) || st->st_uid == me || d.st_uid == me;
}

/* A root we just made as root: mkroot's modes (the root and local/, exported/ 1777,
 * imported/ and users/ 0755), the scope directories made now, so that a user (or an
 * exporter dropped to nobody) finds them. Only what this process made is chmod-ed. */
static void make_shared(int rfd)
{
	static const char *const dirs[] = { "local", "exported", "imported", "users" };
	struct stat st;
	if (fstat(rfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 07777) != 0700)
		return;  /* not the directory our mkdir made */
	fchmod(rfd, 01777);
	for (int i = 0; i < 4; i++) {
		if (mkdirat(rfd, dirs[i], 0700) < 0)
			continue;  /* someone was quicker: ns_open_dir's checks judge it */
		int fd = open_dir_at(rfd, dirs[i]);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && st.st_uid == 0)
				fchmod(fd, i < 2 ? 01777 : 0755);
			close(fd);
		}
	}
}

int ns_open_root(int create, char *err, size_t errlen)
{
	char root[NS_PATH_MAX];
	size_t len = strlen(ns_root());
	if (ns_root()[0] != '/' || len + 2 >= NS_PATH_MAX)
		return fail(EINVAL, err, errlen, "%s: DIPUS_ROOT must be an absolute path shorter than "
		            "%d bytes (sun_path)", ns_root(), NS_PATH_MAX - 2);
	memcpy(root, ns_root(), len + 1);
	while (len > 1 && root[len - 1] == '/')  /* "dir/" would follow a link */
		root[--len] = 0;
	/* O_NOFOLLOW: the root itself is never a link (its parents are the system's) */
	int fd = open_dir_at(AT_FDCWD, root);
	if (fd < 0 && errno == ENOENT && create) {
		/* a root nobody made is this user's private namespace, if nobody else could
		 * swap it: its parent must be safe too */
		char parent[NS_PATH_MAX], why[NS_ERR_MAX];
		struct stat pst;
		snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(root, '/') - root), root);
		if (stat(parent[0] ? parent : "/", &pst) < 0)
			return fail(ENOENT, err, errlen, "%s: does not exist, nor does its parent", root);
		if (check_dir_stat(&pst, parent, why, sizeof why) < 0)
			return fail(EPERM, err, errlen, "%s: not created, its parent is not safe: %s", root,
			            why);
		/* made by root in a directory only root controls: a shared root, as
		 * 'dipus mkroot' makes it (an exporter that drops to nobody, users' helpers);
		 * otherwise the user's private namespace */
		int shared = geteuid() == 0 && pst.st_uid == 0;
		if (mkdir(root, 0700) < 0 && errno != EEXIST)
			return fail(errno == EACCES ? EPERM : errno, err, errlen, "%s: cannot create: %s",
			            root, strerror(errno));
		fd = open_dir_at(AT_FDCWD, root);
		if (fd >= 0 && shared)
			make_shared(fd);
	}
	struct stat st;
	if (fd < 0)
		return fail_open_at(errno, AT_FDCWD, root, root, err, errlen);
	if (fstat(fd, &st) < 0 || check_dir_stat(&st, root, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Open (creating with mode if asked) one directory below dirfd and check it. A
 * directory of another non-root user is refused. */
static int step_dir(int dirfd, const char *name, int create, mode_t mode, const char *path,
                    char *err, size_t errlen)
{
	int fd = open_dir_at(dirfd, name);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
			int e = errno;
			if (e == EACCES || e == EPERM)
				return fail(EPERM, err, errlen, "%s: cannot create: %s (a shared root's "
				            "directories are made by root: 'dipus mkroot')", path, strerror(e));
			return fail(e, err, errlen, "%s: cannot create: %s", path, strerror(e));
		}
		fd = open_dir_at(dirfd, name);
		/* mkdir applies the umask; the mode asked for is the mode wanted (only on a
		 * directory we just made and own: nothing else is ever chmod-ed) */
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_mode & 07777) != mode)
			fchmod(fd, mode);
	}
	if (fd < 0)
		return fail_open_at(errno, dirfd, name, path, err, errlen);
	struct stat st;
	if (fstat(fd, &st) < 0 || check_dir_stat(&st, path, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* ---- names ---- */

/* The first run of n dots in s (n = 2 or 3), or NULL. */
static const char *dots(const char *s, int n)
{
	for (; *s; s++)
		if (s[0] == '.' && s[1] == '.' && (n == 2 || s[2] == '.'))
			return s;
	return NULL;
}

static int bad_char(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

int ns_check_proto(const char *proto, char *err, size_t errlen)
{
	if (!*proto)
		return 0;
	if (strlen(proto) >= NS_PATH_MAX)
		return fail(EINVAL, err, errlen, "%.40s...: protocol path too long", proto);
	const char *p = proto;
	for (int depth = 1;; depth++) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (depth > WALK_MAX_DEPTH)
			return fail(EINVAL, err, errlen, "%.40s...: a protocol path has at most %d "
			            "components (the resolver looks no deeper)", proto, WALK_MAX_DEPTH);
		if (n == 0)
			return fail(EINVAL, err, errlen, "%s: empty component in the protocol path "
			            "(write a/b, not a//b or a/)", proto);
		if (p[0] == '.')
			return fail(EINVAL, err, errlen, "%s: a protocol component may not start with '.' "
			            "(no '.' or '..')", proto);
		for (size_t i = 0; i < n; i++)
			if (bad_char(p[i]))
				return fail(EINVAL, err, errlen, "%s: space or control character in the "
				            "protocol path", proto);
		if (!e)
			return 0;
		p = e + 1;
	}
}

int ns_check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0)
		return fail(EINVAL, err, errlen, "empty service name");
	if (n >= NS_NAME_MAX)
		return fail(EINVAL, err, errlen, "%s: service name longer than %d bytes", name,
		            NS_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];
		if (c == '.' || c == '/')
			return fail(EINVAL, err, errlen, "%s: a service name may not contain '%c'", name, c);
		if (bad_char(c))
			return fail(EINVAL, err, errlen, "%s: space or control character in the service "
			            "name", name);
	}
	return 0;
}

static int check_host(const char *host, char *err, size_t errlen)
{
	size_t n = strlen(host);
	int bad = !n || n >= NS_HOST_MAX || strchr(host, '/') || dots(host, 2) ||
	          host[0] == '.' || host[n - 1] == '.';
	for (size_t i = 0; i < n && !bad; i++)
		bad = bad_char(host[i]);
	if (bad)
		return fail(EINVAL, err, errlen, "%s: not usable as a host name (set DIPUS_HOST)", host);
	return 0;
}

int ns_parse_arg(const char *arg, char name[NS_NAME_MAX], char proto[NS_PATH_MAX], char *err,
                 size_t errlen)
{
	const char *slash = strchr(arg, '/');
	size_t nlen = slash ? (size_t)(slash - arg) : strlen(arg);
	if (nlen == 0)
		return fail(EINVAL, err, errlen, "%s: empty service name (NAME/PROTO: the name comes "
		            "first)", arg);
	if (nlen >= NS_NAME_MAX)
		return fail(EINVAL, err, errlen, "%.*s: service name longer than %d bytes", (int)nlen,
		            arg, NS_NAME_MAX - 1);
	memcpy(name, arg, nlen);
	name[nlen] = 0;
	if (ns_check_name(name, err, errlen) < 0)
		return -1;
	const char *p = slash ? slash + 1 : "";
	/* "name/" is refused as an empty component, naming the whole argument */
	if (ns_check_proto(slash && !*p ? arg : p, err, errlen) < 0)
		return -1;
	snprintf(proto, NS_PATH_MAX, "%s", p);
	return 0;
}

int ns_parse_sockname(const char *base, char name[NS_NAME_MAX], char host[NS_HOST_MAX], unsigned *n)
{
	const char *dot = strchr(base, '.');
	if (!dot || dot == base || (size_t)(dot - base) >= NS_NAME_MAX)
		return -1;
	const char *sep = dots(dot + 1, 3);
	if (!sep || sep == dot + 1 || (size_t)(sep - dot - 1) >= NS_HOST_MAX)
		return -1;
	const char *num = sep + 3;
	size_t nl = strlen(num);
	if (!nl || nl > 3 || (nl > 1 && num[0] == '0'))
		return -1;
	for (const char *q = num; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	memcpy(name, base, dot - base);
	name[dot - base] = 0;
	memcpy(host, dot + 1, sep - dot - 1);
	host[sep - dot - 1] = 0;
	*n = (unsigned)strtoul(num, NULL, 10);
	return 0;
}

/* ---- queries ---- */

enum qkind { Q_ALL, Q_WORD, Q_NAME_HOST, Q_PROTO, Q_ABS, Q_REL /* NS_EXACT */ };

struct query {
	enum qkind kind;
	char a[NS_PATH_MAX];      /* word, name, proto prefix or path */
	char b[NS_HOST_MAX];      /* host */
};

static int parse_query(const char *q, int allow_abs, struct query *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!q || !*q)
		return 0;  /* Q_ALL */
	size_t n = strlen(q);
	if (n >= NS_PATH_MAX)
		return fail(EINVAL, err, errlen, "%.40s...: query too long (at most %d bytes)", q,
		            NS_PATH_MAX - 1);
	for (const char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(EINVAL, err, errlen, "control character in the query");
	memcpy(out->a, q, n + 1);
	if (q[0] == '/') {
		if (!allow_abs)
			return fail(EINVAL, err, errlen, "%s: absolute paths are not accepted here", q);
		/* one spelling: "//", "." and ".." would otherwise walk around the root's
		 * no-link rule (the inside-the-root test is on this form) */
		ns_clean_path(q, out->a, sizeof out->a);
		out->kind = Q_ABS;
		return 0;
	}
	if (strchr(q, '/')) {
		/* a proto prefix; a trailing slash is harmless */
		while (n && out->a[n - 1] == '/')
			out->a[--n] = 0;
		out->kind = Q_PROTO;
		return ns_check_proto(out->a, err, errlen);
	}
	char *dot = strchr(out->a, '.');
	if (dot) {
		if (dot == out->a || !dot[1] || strlen(dot + 1) >= NS_HOST_MAX)
			return fail(EINVAL, err, errlen, "%s: not a NAME.HOST query", q);
		*dot = 0;
		memcpy(out->b, dot + 1, strlen(dot + 1) + 1);
		out->kind = Q_NAME_HOST;
		return 0;
	}
	out->kind = Q_WORD;
	return 0;
}

int ns_check_query(const char *query, int allow_abs, char *err, size_t errlen)
{
	struct query q;
	return parse_query(query, allow_abs, &q, err, errlen);
}

/* Does proto start with the whole components of prefix? */
static int proto_has_prefix(const char *proto, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!n)
		return 1;
	return !strncmp(proto, prefix, n) && (proto[n] == 0 || proto[n] == '/');
}

static int match_parsed(const struct query *q, const struct ns_service *s)
{
	if (s->temp)
		return q->kind == Q_ALL;
	switch (q->kind) {
	case Q_ALL:
		return 1;
	case Q_WORD:
		/* a bare word: a name, or the first component of a proto */
		return !strcmp(s->name, q->a) || proto_has_prefix(s->proto, q->a);
	case Q_NAME_HOST:
		return !strcmp(s->name, q->a) && !strcmp(s->host, q->b);
	case Q_PROTO:
		return proto_has_prefix(s->proto, q->a);
	case Q_ABS:
		return !strcmp(s->path, q->a);
	case Q_REL:
		return !strcmp(s->rel, q->a);
	}
	return 0;
}

void ns_select(const char *query, unsigned scopes, const struct ns_list *in, struct ns_list *out)
{
	struct query q;
	char err[NS_ERR_MAX];
	if (parse_query(query, 1, &q, err, sizeof err) < 0)
		return;
	for (size_t i = 0; i < in->n; i++)
		if ((in->v[i].scope & scopes) && match_parsed(&q, &in->v[i]))
			ns_list_add(out, &in->v[i]);
}

int ns_match(const char *query, const struct ns_service *s)
{
	struct query q;
	char err[NS_ERR_MAX];
	if (parse_query(query, 1, &q, err, sizeof err) < 0)
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
	int sx = scope_index(x->scope), sy = scope_index(y->scope);
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

enum { AT_BIND, AT_CONNECT };
static int sock_at(int op, int sock, int dirfd, const char *base);

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
 * CONNECT); without them the walk lists, and an NS_EXACT query still matches. */
#define WALK_FOLLOW (ENABLE_EXPORTER || ENABLE_SERVE || ENABLE_DIPUSD)

/* What a listing says of a socket: its owner, mode, times and identity, from its stat. */
static void svc_set_stat(struct ns_service *s, const struct stat *st)
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
		if (bad_char(*c))  /* spaces or control characters: not a name dipus makes */
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
		int fd = open_dir_at(dirfd, nm);
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
	svc_set_stat(&s, &st);
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
		enum ns_scope sc = scope_order[i];
		/* the same checks as for publishing; an unsafe scope directory, or another
		 * user's private tree, holds nothing we would use */
		if (!(scopes & sc) || (fd = ns_open_dir(sc, "", 0, ignored, sizeof ignored)) < 0)
			continue;
		snprintf(scopedir, sizeof scopedir, "%s%s%s", scope_dirs[i], sc == NS_USERS ? "/" : "",
		         sc == NS_USERS ? my_user() : "");
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
	svc_set_stat(&s, &st);
	ns_list_add(out, &s);
	return 1;
}

int ns_resolve(const char *query, unsigned scopes, int allow_abs, struct ns_list *out, char *err,
               size_t errlen)
{
	struct query q;
	if (scopes & NS_EXACT) {
		/* whatever the path, only the entries on it are looked up, each by name with
		 * the walk's checks (none starting with '.': never "..") */
		if (!query || xsnprintf(q.a, sizeof q.a, "%s", query))
			return 0;  /* no service has a path that long */
		q.kind = Q_REL;
	} else if (parse_query(query, allow_abs, &q, err, errlen) < 0) {
		return -1;
	}
	const char *root = ns_root();
	size_t rl = strlen(root);
	if (q.kind == Q_ABS && !(strncmp(q.a, root, rl) == 0 && q.a[rl] == '/'))
		return resolve_outside(q.a, out);
	/* an exact path: only the directories on it are walked (nothing elsewhere can
	 * match) */
	struct ns_list all = { 0 };
	struct walk w = { .root = root, .out = &all, .temps = !!(scopes & NS_TEMPS) };
	if (walk_all(&w, scopes, WALK_FOLLOW && q.kind == Q_REL ? q.a : nothing, err, errlen) < 0) {
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
	if (fd >= 0 && sock_at(AT_CONNECT, fd, dirfd, nm) == 0) {
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

/* Scope directory i (scope_order) below the open root, for a connecting walk:
 * ns_open_dir's checks of an existing one (users/<me> ours alone, 0700), with the root
 * opened and checked once per CONNECT instead of once more per scope. */
static int open_scope_at(int rfd, int i, char *err, size_t errlen)
{
	int fd = step_dir(rfd, scope_dirs[i], 0, 0, scope_dirs[i], err, errlen);
	if (fd < 0 || scope_order[i] != NS_USERS)
		return fd;
	int ufd = step_dir(fd, my_user(), 0, 0, my_user(), err, errlen);
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
		enum ns_scope sc = scope_order[i];
		if (!(scopes & sc) || (fd = open_scope_at(rfd, i, ignored, sizeof ignored)) < 0)
			continue;
		snprintf(scopedir, sizeof scopedir, "%s%s%s", scope_dirs[i], sc == NS_USERS ? "/" : "",
		         sc == NS_USERS ? my_user() : "");
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
static int sock_at(int op, int sock, int dirfd, const char *base)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r, e;
	if (!xsnprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, base)) {
		r = op == AT_BIND ? bind(sock, (struct sockaddr *)&sa, sizeof sa)
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
		r = op == AT_BIND ? bind(sock, (struct sockaddr *)&sa, sizeof sa)
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
static int open_parent(const char *given, char base[NS_PATH_MAX])
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
		int nfd = strcmp(c, ".") && strcmp(c, "..") ? open_dir_at(fd, c) : (errno = EINVAL, -1);
		int en = errno;
		close(fd);
		errno = en;
		fd = nfd;
	}
	return fd;
}

/* A non-blocking probe of dirfd/base: 1 live (accepted, or its backlog is full), 0
 * refused (dead), -1 not a socket or not ours to judge (errno). */
static int probe_at(int dirfd, const char *base)
{
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = ENOTSOCK;
		return -1;
	}
	/* listening, says the kernel: alive, and nobody's command ran to find out. Not
	 * seen (dead, or listened to from another network namespace) or no sock_diag: a
	 * connect, which a dead socket refuses without anything running. */
	if (ns_listening(st.st_dev, st.st_ino) == 1)
		return 1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = sock_at(AT_CONNECT, fd, dirfd, base);
	int e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
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
	int dfd = open_parent(s->path, base);
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
	if (fd >= 0 && sock_at(AT_CONNECT, fd, dfd, base) < 0) {
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
	int dfd = open_parent(path, base);
	if (dfd < 0)
		return -1;
	int r = probe_at(dfd, base);
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}

/* ---- publishing ---- */

int ns_open_dir(enum ns_scope scope, const char *proto, int create, char *err, size_t errlen)
{
	char rel[NS_PATH_MAX * 3], path[NS_PATH_MAX * 4];
	int users = scope == NS_USERS;
	if (ns_check_proto(proto, err, errlen) < 0)
		return -1;
	snprintf(rel, sizeof rel, "%s%s%s%s", users ? "users/" : ns_scope_name(scope),
	         users ? my_user() : "", *proto ? "/" : "", proto);
	snprintf(path, sizeof path, "%s", ns_root());
	int fd = ns_open_root(create, err, errlen);
	struct stat st;
	if (fd < 0)
		return -1;
	fstat(fd, &st);
	/* A shared (root-owned) root's scope dirs are root's to make (dipus mkroot), sticky
	 * like /tmp; a user's own root is private, its scope dirs plain 0755. */
	int own = create && st.st_uid == geteuid();
	mode_t smode = !users && scope != NS_IMPORTED && st.st_uid == 0 ? 01777 : 0755;
	for (int depth = 0;; depth++) {
		char *c = rel, *e = strchr(c, '/');
		if (e)
			*e = 0;
		size_t pl = strlen(path);
		snprintf(path + pl, sizeof path - pl, "/%s", c);
		int top = depth <= users;
		int nfd = step_dir(fd, c, top ? own : create, top ? (depth ? 0700 : smode) : 0755, path,
		                   err, errlen);
		close(fd);
		if (nfd < 0) {
			if (errno == ENOENT && create && top)
				snprintf(err, errlen, "%s: does not exist; ask root to run 'dipus mkroot%s%s %s'",
				         path, users ? " -u " : "", users ? my_user() : "", ns_root());
			return -1;
		}
		fd = nfd;
		if (users && depth == 1 &&
		    (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))) {
			close(fd);
			return fail(EPERM, err, errlen, "%s: must be yours alone (mode 0700); run 'chmod 700 "
			            "%s', or ask root for 'dipus mkroot -u %s'", path, path, my_user());
		}
		if (!e)
			return fd;
		memmove(rel, e + 1, strlen(e + 1) + 1);
	}
}

static int rename2(int dfd, const char *from, const char *to, unsigned flags)
{
#ifdef SYS_renameat2
	return (int)syscall(SYS_renameat2, dfd, from, dfd, to, flags);
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int renameat_noreplace(int dfd, const char *from, const char *to)
{
	if (rename2(dfd, from, to, X_RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	/* no renameat2 here: check, then rename (a window of microseconds, see
	 * doc/namespace.md) */
	struct stat st;
	if (fstatat(dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dfd, from, dfd, to);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Put our socket tmp at final, where the dead socket `dead` is: if it is still that
 * file, rename over it (atomic: clients see the dead socket or ours, never nothing).
 * 0 placed, -1 not. */
static int replace_dead(int dfd, const char *tmp, const char *final, const struct stat *dead)
{
	struct stat st;
	if (fstatat(dfd, final, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_file(&st, dead))
		return -1;
	return renameat(dfd, tmp, dfd, final);
}

/* Try to put tmp at final. 0 placed, 1 taken (try the next n), -1 error (errno). */
static int place(int dfd, const char *tmp, const char *final, int *waits)
{
	for (int tries = 0; tries < 4; tries++) {
		if (renameat_noreplace(dfd, tmp, final) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
		/* taken: a live socket is never replaced, a dead one is, a non-socket never */
		struct stat st;
		if (fstatat(dfd, final, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;  /* gone meanwhile: try the name again */
			return 1;
		}
		if (!S_ISSOCK(st.st_mode) || !may_remove_at(dfd, &st) || probe_at(dfd, final) != 0 ||
		    *waits >= DEAD_WAITS_MAX)
			return 1;
		/* refused once; dead only if refused again a while later */
		(*waits)++;
		sleep_ms(NS_DEAD_GAP_MS);
		if (probe_at(dfd, final) != 0)
			return 1;
		return replace_dead(dfd, tmp, final, &st) == 0 ? 0 : 1;
	}
	return 1;
}

int ns_publish(enum ns_scope scope, const char *name, const char *proto, mode_t mode, gid_t gid,
               int backlog, struct ns_service *out, char *err, size_t errlen)
{
	return ns_publish_as(scope, name, ns_host(), proto, mode, gid, backlog, out, err, errlen);
}

enum ns_scope ns_import_scope(enum ns_scope want)
{
	char err[NS_ERR_MAX];
	struct stat st;
	if (want != NS_IMPORTED || geteuid() == 0)
		return want;
	int fd = ns_open_root(0, err, sizeof err);
	int shared = fd >= 0 && fstat(fd, &st) == 0 && st.st_uid != geteuid();
	if (fd >= 0)
		close(fd);
	return shared ? NS_USERS : want;
}

int ns_scope_dir(enum ns_scope scope, char *out, size_t outlen)
{
	if (scope == NS_USERS)
		return xsnprintf(out, outlen, "%s/users/%s", ns_root(), my_user());
	return xsnprintf(out, outlen, "%s/%s", ns_root(), ns_scope_name(scope));
}

int ns_publish_as(enum ns_scope scope, const char *name, const char *host, const char *proto,
                  mode_t mode, gid_t gid, int backlog, struct ns_service *out, char *err,
                  size_t errlen)
{
	if (ns_check_name(name, err, errlen) < 0 || ns_check_proto(proto, err, errlen) < 0 ||
	    check_host(host, err, errlen) < 0)
		return -1;
	ns_listening_forget();  /* this publish's probes: from a listing made for it */
	memset(out, 0, sizeof *out);
	char dirpath[NS_PATH_MAX * 3];
	ns_scope_dir(scope, dirpath, sizeof dirpath);
	size_t dl = strlen(dirpath);
	if (*proto)
		snprintf(dirpath + dl, sizeof dirpath - dl, "/%s", proto);
	/* the longest name we might take: ...999 */
	size_t plen = strlen(dirpath) + strlen(name) + strlen(host) + 8;
	if (plen >= NS_PATH_MAX)
		return fail(EINVAL, err, errlen, "%s/%s.%s...N: socket path would be %zu bytes; sun_path "
		            "holds %d (shorten DIPUS_ROOT, the protocol or the name)", dirpath, name,
		            host, plen, NS_PATH_MAX - 1);
	int dfd = ns_open_dir(scope, proto, 1, err, errlen);
	if (dfd < 0)
		return -1;
	static unsigned seq;
	char tmp[64], final[NS_PATH_MAX];
	const char *step = "socket";
	int r = -1, e, waits = 0;
	unsigned n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	e = errno;
	if (fd < 0)
		goto fail;
	step = "bind";
	for (int i = 0, again = 0; i < 8 && r < 0; i++) {
		/* a stale one of an earlier process with our pid: the next number */
		snprintf(tmp, sizeof tmp, ".tmp.%d.%u", (int)getpid(), seq++);
		r = sock_at(AT_BIND, fd, dfd, tmp);
		e = errno;
		if (r < 0 && e == ENOENT && again++ < 2) {
			/* the directory went with its last socket (prune_dirs) meanwhile */
			close(dfd);
			if ((dfd = ns_open_dir(scope, proto, 1, err, errlen)) < 0) {
				close(fd);
				return -1;
			}
			continue;
		}
		if (r < 0 && e != EADDRINUSE)
			break;
	}
	if (r < 0)
		goto fail;
	step = "setting the socket's mode or group";
	if (syscall(SYS_fchmodat, dfd, tmp, mode & 0777) < 0 ||
	    (gid != (gid_t)-1 && fchownat(dfd, tmp, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0))
		goto fail_errno;
	step = "listen";
	if (listen(fd, backlog > 0 ? backlog : 64) < 0)
		goto fail_errno;
	step = "rename";
	unsigned squat = 0;
	uid_t squat_uid = 0;
	for (;; n++) {
		if (n > NS_N_MAX) {
			char why[160], who[64];
			errno = EEXIST;
			/* what takes the names, so the user knows whom to ask */
			if (squat)
				snprintf(why, sizeof why, "all 1000 instance names are taken, %u of them by "
				         "files that are not sockets, of %s (only they or root can remove them)",
				         squat, user_name(squat_uid, who, sizeof who));
			else
				snprintf(why, sizeof why, "1000 instances already published");
			step = why;
			unlinkat(dfd, tmp, 0);
			close(fd);
			close(dfd);
			return fail(EEXIST, err, errlen, "%s/%s.%s...N: %s", dirpath, name, host, why);
		}
		snprintf(final, sizeof final, "%s.%s...%u", name, host, n);
		r = place(dfd, tmp, final, &waits);
		if (r == 0)
			break;
		if (r < 0)
			goto fail_errno;
		/* taken: a squatter's file is skipped like any other, and counted */
		struct stat sq;
		if (fstatat(dfd, final, &sq, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(sq.st_mode) &&
		    sq.st_uid != geteuid()) {
			squat++;
			squat_uid = sq.st_uid;
		}
	}
	struct stat st;
	if (fstatat(dfd, final, &st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&st, 0, sizeof st);
	close(dfd);
	/* lengths were checked against sun_path above */
	xsnprintf(out->path, sizeof out->path, "%s/%s", dirpath, final);
	xsnprintf(out->rel, sizeof out->rel, "%s%s%s", proto, *proto ? "/" : "", final);
	snprintf(out->proto, sizeof out->proto, "%s", proto);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->host, sizeof out->host, "%s", host);
	out->n = n;
	out->scope = scope;
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->mode = st.st_mode & 07777;
	out->mtime = st.st_mtime;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return fd;
fail_errno:
	e = errno;
	unlinkat(dfd, tmp, 0);
fail:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return fail(e == EACCES ? EPERM : e, err, errlen, "%s: %s: %s", dirpath, step, strerror(e));
}

/* After the last socket of a proto directory went: remove the proto directories of
 * s that are now empty and ours, deepest first, never the scope directory. rmdir()
 * itself refuses one that is not empty; a publisher that opened one just before is
 * told ENOENT at bind and opens it afresh (ns_publish_as). */
static void prune_dirs(const struct ns_service *s)
{
	char scope[NS_PATH_MAX], path[NS_PATH_MAX], base[NS_PATH_MAX];
	if (!s->proto[0] || ns_scope_dir(s->scope, scope, sizeof scope) ||
	    xsnprintf(path, sizeof path, "%s/%s", scope, s->proto))
		return;
	size_t sl = strlen(scope);
	for (int i = 0; i <= WALK_MAX_DEPTH && strlen(path) > sl; i++) {
		int dfd = open_parent(path, base);
		struct stat st;
		int gone = dfd >= 0 && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		           S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
		           unlinkat(dfd, base, AT_REMOVEDIR) == 0;
		if (dfd >= 0)
			close(dfd);
		if (!gone)
			return;
		*strrchr(path, '/') = 0;
	}
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
	else
		errno = ESTALE;
	int e = errno;
	close(dfd);
	if (r == 0)
		prune_dirs(s);
	errno = e;
	return r;
}

int ns_reap_one(const struct ns_service *s, int dry, char *err, size_t errlen)
{
	ns_listening_forget();
	char base[NS_PATH_MAX];
	int dfd = open_parent(s->path, base);
	if (dfd < 0)
		return errno == ENOENT ? 0 : fail(errno, err, errlen, "%s", strerror(errno));
	struct stat st;
	int r = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_ino != s->ino || st.st_dev != s->dev || probe_at(dfd, base) != 0)
		goto out;  /* gone, replaced, or alive again */
	if (!may_remove_at(dfd, &st)) {
		char who[64];
		r = fail(EPERM, err, errlen, "not yours to remove (owned by %s)",
		         user_name(st.st_uid, who, sizeof who));
		goto out;
	}
	if (dry) {
		r = 1;
		goto out;
	}
	/* the file we judged, still (checked above, microseconds ago): remove it */
	if (unlinkat(dfd, base, 0) == 0)
		r = 1;
	else if (errno != ENOENT)
		r = fail(errno, err, errlen, "%s", strerror(errno));
out:;
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}
