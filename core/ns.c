/* ns.c: the dipus namespace: the root and the directory checks, publishing and
 * reaping (doc/namespace.md). The grammar of names and queries is in names.c, the
 * resolver's walk and connecting in ns-walk.c. */
#include "ns-int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#define DEAD_WAITS_MAX 4         /* dead-looking slots one publish waits on */

#define X_RENAME_NOREPLACE 1

const char *const ns_scope_dirs[] = { "local", "exported", "users", "imported" };
const enum ns_scope ns_scope_order[] = { NS_LOCAL, NS_EXPORTED, NS_USERS, NS_IMPORTED };

int ns_scope_index(enum ns_scope s)
{
	for (int i = 0; i < 4; i++)
		if (ns_scope_order[i] == s)
			return i;
	return 0;
}

const char *ns_scope_name(enum ns_scope s)
{
	return ns_scope_dirs[ns_scope_index(s)];
}

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

const char *ns_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

const char *ns_my_user(void)
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

/* ---- directory checks ---- */

const char ns_link_msg[] = "is a symbolic link; dipus never follows links in its tree";

/* The security rule for any directory dipus uses: a directory, owned by root or us,
 * world-writable only with the sticky bit. errno EPERM on refusal. */
int ns_check_dir_stat(const struct stat *st, const char *path, char *err, size_t errlen)
{
	char who[64];
	if (S_ISLNK(st->st_mode))
		return ns_fail(EPERM, err, errlen, "%s: %s (remove it, or set DIPUS_ROOT to the real "
		            "directory)", path, ns_link_msg);
	if (!S_ISDIR(st->st_mode))
		return ns_fail(EPERM, err, errlen, "%s: not a directory (remove it, or set DIPUS_ROOT "
		            "elsewhere)", path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return ns_fail(EPERM, err, errlen, "%s: owned by %s, not by you or root; remove it, or "
		            "set DIPUS_ROOT to a directory of your own", path,
		            ns_user_name(st->st_uid, who, sizeof who));
	if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX))
		return ns_fail(EPERM, err, errlen, "%s: world-writable without the sticky bit; run "
		            "'chmod +t %s' as its owner (or 'dipus mkroot' as root)", path, path);
	return 0;
}

/* Open an existing directory below dirfd without following a link. */
int ns_open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Explain why ns_open_dir_at(dirfd, name) failed with e: a link, a non-directory or one
 * of another user is refused for that reason. */
int ns_fail_open_at(int e, int dirfd, const char *name, const char *path, char *err,
                        size_t errlen)
{
	struct stat st;
	if (e == ENOENT)
		return ns_fail(ENOENT, err, errlen, "%s: does not exist", path);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    ns_check_dir_stat(&st, path, err, errlen) < 0)
		return -1;
	return ns_fail(e == EACCES ? EPERM : e, err, errlen, "%s: %s", path, strerror(e));
}

/* May we remove (or rename over) the entry st in the directory dirfd? */
int ns_may_remove_at(int dirfd, const struct stat *st)
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
		int fd = ns_open_dir_at(rfd, dirs[i]);
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
		return ns_fail(EINVAL, err, errlen, "%s: DIPUS_ROOT must be an absolute path shorter than "
		            "%d bytes (sun_path)", ns_root(), NS_PATH_MAX - 2);
	memcpy(root, ns_root(), len + 1);
	while (len > 1 && root[len - 1] == '/')  /* "dir/" would follow a link */
		root[--len] = 0;
	/* O_NOFOLLOW: the root itself is never a link (its parents are the system's) */
	int fd = ns_open_dir_at(AT_FDCWD, root);
	if (fd < 0 && errno == ENOENT && create) {
		/* a root nobody made is this user's private namespace, if nobody else could
		 * swap it: its parent must be safe too */
		char parent[NS_PATH_MAX], why[NS_ERR_MAX];
		struct stat pst;
		snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(root, '/') - root), root);
		if (stat(parent[0] ? parent : "/", &pst) < 0)
			return ns_fail(ENOENT, err, errlen, "%s: does not exist, nor does its parent", root);
		if (ns_check_dir_stat(&pst, parent, why, sizeof why) < 0)
			return ns_fail(EPERM, err, errlen, "%s: not created, its parent is not safe: %s", root,
			            why);
		/* made by root in a directory only root controls: a shared root, as
		 * 'dipus mkroot' makes it (an exporter that drops to nobody, users' helpers);
		 * otherwise the user's private namespace */
		int shared = geteuid() == 0 && pst.st_uid == 0;
		if (mkdir(root, 0700) < 0 && errno != EEXIST)
			return ns_fail(errno == EACCES ? EPERM : errno, err, errlen, "%s: cannot create: %s",
			            root, strerror(errno));
		fd = ns_open_dir_at(AT_FDCWD, root);
		if (fd >= 0 && shared)
			make_shared(fd);
	}
	struct stat st;
	if (fd < 0)
		return ns_fail_open_at(errno, AT_FDCWD, root, root, err, errlen);
	if (fstat(fd, &st) < 0 || ns_check_dir_stat(&st, root, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Open (creating with mode if asked) one directory below dirfd and check it. A
 * directory of another non-root user is refused. */
int ns_step_dir(int dirfd, const char *name, int create, mode_t mode, const char *path,
                    char *err, size_t errlen)
{
	int fd = ns_open_dir_at(dirfd, name);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
			int e = errno;
			if (e == EACCES || e == EPERM)
				return ns_fail(EPERM, err, errlen, "%s: cannot create: %s (a shared root's "
				            "directories are made by root: 'dipus mkroot')", path, strerror(e));
			return ns_fail(e, err, errlen, "%s: cannot create: %s", path, strerror(e));
		}
		fd = ns_open_dir_at(dirfd, name);
		/* mkdir applies the umask; the mode asked for is the mode wanted (only on a
		 * directory we just made and own: nothing else is ever chmod-ed) */
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_mode & 07777) != mode)
			fchmod(fd, mode);
	}
	if (fd < 0)
		return ns_fail_open_at(errno, dirfd, name, path, err, errlen);
	struct stat st;
	if (fstat(fd, &st) < 0 || ns_check_dir_stat(&st, path, err, errlen) < 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* ---- publishing ---- */

int ns_open_dir(enum ns_scope scope, const char *proto, int create, char *err, size_t errlen)
{
	char rel[NS_PATH_MAX * 3], path[NS_PATH_MAX * 4];
	int users = scope == NS_USERS;
	if (ns_check_proto(proto, err, errlen) < 0)
		return -1;
	snprintf(rel, sizeof rel, "%s%s%s%s", users ? "users/" : ns_scope_name(scope),
	         users ? ns_my_user() : "", *proto ? "/" : "", proto);
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
		int nfd = ns_step_dir(fd, c, top ? own : create, top ? (depth ? 0700 : smode) : 0755, path,
		                   err, errlen);
		close(fd);
		if (nfd < 0) {
			if (errno == ENOENT && create && top)
				snprintf(err, errlen, "%s: does not exist; ask root to run 'dipus mkroot%s%s %s'",
				         path, users ? " -u " : "", users ? ns_my_user() : "", ns_root());
			return -1;
		}
		fd = nfd;
		if (users && depth == 1 &&
		    (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))) {
			close(fd);
			return ns_fail(EPERM, err, errlen, "%s: must be yours alone (mode 0700); run 'chmod 700 "
			            "%s', or ask root for 'dipus mkroot -u %s'", path, path, ns_my_user());
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
		if (!S_ISSOCK(st.st_mode) || !ns_may_remove_at(dfd, &st) || ns_probe_at(dfd, final) != 0 ||
		    *waits >= DEAD_WAITS_MAX)
			return 1;
		/* refused once; dead only if refused again a while later */
		(*waits)++;
		sleep_ms(NS_DEAD_GAP_MS);
		if (ns_probe_at(dfd, final) != 0)
			return 1;
		return replace_dead(dfd, tmp, final, &st) == 0 ? 0 : 1;
	}
	return 1;
}

/* Where a process publishing many instances of one name goes on (the importer with
 * thousands of remote services): the slot after its last, so each publish costs one
 * rename, not one per instance already there. Lowered again by its own unpublish; a
 * slot another process frees below it is found when the search wraps around. A miss
 * (another key in the entry) only means starting at 0. */
#define HINTS 64
#define HINT_MIN 16  /* below this many instances of its own, a search starts at 0 */
static struct { uint64_t key; unsigned next; } hints[HINTS];

static uint64_t hint_key(const char *dir, size_t dirlen, const char *name, const char *host)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a of dir NUL name NUL host */
	for (size_t i = 0; i < dirlen; i++)
		h = (h ^ (unsigned char)dir[i]) * 1099511628211ull;
	h *= 1099511628211ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h *= 1099511628211ull;
	for (const char *p = host; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h | 1;
}

static void hint_lower(const struct ns_service *s)
{
	if (s->n > NS_N_LOW)
		return;  /* a random one: 0..NS_N_LOW are as full as they were */
	const char *slash = strrchr(s->path, '/');
	if (!slash)
		return;
	uint64_t key = hint_key(s->path, (size_t)(slash - s->path), s->name, s->host);
	if (hints[key % HINTS].key == key && s->n < hints[key % HINTS].next)
		hints[key % HINTS].next = s->n;
}

/* A number in lo..hi, not predictable by another user (who would squat it first). */
static unsigned random_in(unsigned lo, unsigned hi)
{
	static uint64_t x;
	if (!x) {
#ifdef SYS_getrandom
		if (syscall(SYS_getrandom, &x, sizeof x, 1 /* GRND_NONBLOCK */) != (long)sizeof x)
#endif
		{
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16);
		}
		x |= 1;
	}
	x ^= x << 13;  /* xorshift64 */
	x ^= x >> 7;
	x ^= x << 17;
	return lo + (unsigned)(x % ((uint64_t)hi - lo + 1));
}

#define RANDOM_TRIES 32  /* random slots above NS_N_LOW tried when 0..NS_N_LOW are full */

struct slot_tally {
	unsigned tried, foreign;  /* slots taken, of them by files not ours */
	uid_t foreign_uid;
};

/* Put tmp at a free name.host...n: the lowest free of 0..NS_N_LOW (from the hint on,
 * wrapping around), else a random free one up to top. 0 placed (*n, final), 1 none
 * free (tally says why), -1 error. */
static int find_slot(int dfd, const char *tmp, const char *name, const char *host, uint64_t key,
                     unsigned top, char *final, size_t flen, unsigned *n, int *waits,
                     struct slot_tally *t)
{
	unsigned start = hints[key % HINTS].key == key ? hints[key % HINTS].next : 0;
	if (start < HINT_MIN)
		start = 0;  /* a few instances: strictly the lowest free, a dead one replaced */
	unsigned nrand = top > NS_N_LOW ? RANDOM_TRIES : 0, tries = NS_N_LOW + 1 + nrand;
	/* 0..NS_N_LOW were all taken at our last publish: the random ones first */
	int full = start > NS_N_LOW && nrand;
	for (unsigned i = 0; i < tries; i++) {
		unsigned j = full ? (i + NS_N_LOW + 1) % tries : i;
		*n = j <= NS_N_LOW ? (start + j) % (NS_N_LOW + 1) : random_in(NS_N_LOW + 1, top);
		snprintf(final, flen, "%s.%s...%u", name, host, *n);
		int r = place(dfd, tmp, final, waits);
		if (r == 0) {
			/* the next publish starts after this one; above NS_N_LOW: "all were full" */
			hints[key % HINTS].key = key;
			hints[key % HINTS].next = *n <= NS_N_LOW ? *n + 1 : NS_N_LOW + 1;
			return 0;
		}
		if (r < 0)
			return -1;
		/* taken: a squatter's file (or another user's socket) is skipped, and counted */
		struct stat sq;
		t->tried++;
		if (fstatat(dfd, final, &sq, AT_SYMLINK_NOFOLLOW) == 0 && sq.st_uid != geteuid()) {
			t->foreign++;
			t->foreign_uid = sq.st_uid;
		}
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
		return xsnprintf(out, outlen, "%s/users/%s", ns_root(), ns_my_user());
	return xsnprintf(out, outlen, "%s/%s", ns_root(), ns_scope_name(scope));
}

int ns_publish_as(enum ns_scope scope, const char *name, const char *host, const char *proto,
                  mode_t mode, gid_t gid, int backlog, struct ns_service *out, char *err,
                  size_t errlen)
{
	if (ns_check_name(name, err, errlen) < 0 || ns_check_proto(proto, err, errlen) < 0 ||
	    ns_check_host(host, err, errlen) < 0)
		return -1;
	ns_listening_forget();  /* this publish's probes: from a listing made for it */
	memset(out, 0, sizeof *out);
	char dirpath[NS_PATH_MAX * 3];
	ns_scope_dir(scope, dirpath, sizeof dirpath);
	size_t dl = strlen(dirpath);
	if (*proto)
		snprintf(dirpath + dl, sizeof dirpath - dl, "/%s", proto);
	/* the longest name of the lowest range (...999) must fit; a random one above it is
	 * drawn only from as many digits as fit */
	size_t plen = strlen(dirpath) + strlen(name) + strlen(host) + 8;
	if (plen >= NS_PATH_MAX)
		return ns_fail(EINVAL, err, errlen, "%s/%s.%s...N: socket path would be %zu bytes; sun_path "
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
		r = ns_sock_at(NS_AT_BIND, fd, dfd, tmp);
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
	/* the digits that fit sun_path (3 were checked above): the random range's size */
	unsigned digits = 3 + (unsigned)(NS_PATH_MAX - 1 - plen), top = NS_N_LOW;
	for (unsigned d = 3; d < digits && d < NS_N_DIGITS; d++)
		top = top * 10 + 9;
	struct slot_tally tally = { 0, 0, 0 };
	uint64_t key = hint_key(dirpath, strlen(dirpath), name, host);
	r = find_slot(dfd, tmp, name, host, key, top, final, sizeof final, &n, &waits, &tally);
	if (r < 0)
		goto fail_errno;
	if (r > 0) {
		char why[200], who[64];
		/* what takes the names, so the user knows whom to ask */
		if (tally.foreign == tally.tried)
			snprintf(why, sizeof why, "every instance slot is taken by files not ours (%u "
			         "tried, of %s; only they or root can remove them)", tally.tried,
			         ns_user_name(tally.foreign_uid, who, sizeof who));
		else
			snprintf(why, sizeof why, "every instance slot is taken (%u tried: %u of them "
			         "ours, %u not ours)", tally.tried, tally.tried - tally.foreign,
			         tally.foreign);
		unlinkat(dfd, tmp, 0);
		close(fd);
		close(dfd);
		return ns_fail(EEXIST, err, errlen, "%s/%s.%s...N: %s", dirpath, name, host, why);
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
	return ns_fail(e == EACCES ? EPERM : e, err, errlen, "%s: %s: %s", dirpath, step, strerror(e));
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
		int dfd = ns_open_parent(path, base);
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
	int dfd = ns_open_parent(s->path, base);
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
	if (r == 0) {
		hint_lower(s);
		prune_dirs(s);
	}
	errno = e;
	return r;
}

int ns_reap_one(const struct ns_service *s, int dry, char *err, size_t errlen)
{
	ns_listening_forget();
	char base[NS_PATH_MAX];
	int dfd = ns_open_parent(s->path, base);
	if (dfd < 0)
		return errno == ENOENT ? 0 : ns_fail(errno, err, errlen, "%s", strerror(errno));
	struct stat st;
	int r = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_ino != s->ino || st.st_dev != s->dev || ns_probe_at(dfd, base) != 0)
		goto out;  /* gone, replaced, or alive again */
	if (!ns_may_remove_at(dfd, &st)) {
		char who[64];
		r = ns_fail(EPERM, err, errlen, "not yours to remove (owned by %s)",
		         ns_user_name(st.st_uid, who, sizeof who));
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
		r = ns_fail(errno, err, errlen, "%s", strerror(errno));
out:;
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}

