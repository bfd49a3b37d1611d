/* ns: core/ns.c without the applets: names (parse, validate), query forms and matching,
 * resolver order, sun_path limits, root creation, publish/connect/unpublish, dead-slot
 * replacement, and that none of it leaves a descriptor open. */
#include "ns.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_PREFIX "ns/"
#include "check.h"
static char dir[] = "/tmp/dipus-ns-unit.XXXXXX";

static int fd_count(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- names ---- */

static void test_parse_arg(void)
{
	char name[NS_NAME_MAX], proto[NS_PATH_MAX], err[NS_ERR_MAX];
	int r = ns_parse_arg("lame/audio/x-wav/to/audio/mpeg", name, proto, err, sizeof err);
	CHECK(r == 0 && !strcmp(name, "lame") && !strcmp(proto, "audio/x-wav/to/audio/mpeg"),
	      "parse_arg NAME/PROTO", "r=%d name=%s proto=%s", r, name, proto);
	r = ns_parse_arg("madplay", name, proto, err, sizeof err);
	CHECK(r == 0 && !strcmp(name, "madplay") && !proto[0], "parse_arg NAME (empty proto)",
	      "r=%d name=%s proto=%s", r, name, proto);

	static const struct {
		const char *arg, *want;
	} bad[] = {
		{ "", "empty service name" },
		{ "/audio", "empty service name" },
		{ "a.b", "a.b: a service name may not contain '.'" },
		{ "a b", "space or control character in the service name" },
		{ "a\tb", "space or control character in the service name" },
		{ "x/a/../b", "may not start with '.' (no '.' or '..')" },
		{ "x/./b", "may not start with '.'" },
		{ "x/.hidden", "may not start with '.'" },
		{ "x/a//b", "a//b: empty component in the protocol path" },
		{ "x/", "x/: empty component" },
		{ "x/a/", "empty component" },
		{ "x/a b", "space or control character in the protocol path" },
		{ "0123456789012345678901234567890123456789012345678901234567890123",
		  "service name longer than 63 bytes" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char label[128];
		xsnprintf(label, sizeof label, "parse_arg refuses '%s'", bad[i].arg);
		err[0] = 0;
		errno = 0;
		r = ns_parse_arg(bad[i].arg, name, proto, err, sizeof err);
		CHECK(r < 0 && errno == EINVAL && strstr(err, bad[i].want), label, "r=%d errno=%d err=%s",
		      r, errno, err);
	}
	r = ns_parse_arg("012345678901234567890123456789012345678901234567890123456789012", name, proto,
	                 err, sizeof err);
	CHECK(r == 0 && strlen(name) == 63, "parse_arg takes a 63-byte name", "r=%d %s", r, err);
	r = ns_parse_arg("x/a.b/c-d_e+f", name, proto, err, sizeof err);
	CHECK(r == 0 && !strcmp(proto, "a.b/c-d_e+f"), "dots inside a proto component are fine",
	      "r=%d %s", r, err);
}

static void test_sockname(void)
{
	char name[NS_NAME_MAX], host[NS_HOST_MAX];
	unsigned n = 99;
	int r = ns_parse_sockname("lame.stereo...0", name, host, &n);
	CHECK(r == 0 && !strcmp(name, "lame") && !strcmp(host, "stereo") && n == 0,
	      "sockname name.host...0", "r=%d %s %s %u", r, name, host, n);
	r = ns_parse_sockname("madplay.box.example.org...12", name, host, &n);
	CHECK(r == 0 && !strcmp(name, "madplay") && !strcmp(host, "box.example.org") && n == 12,
	      "sockname with a dotted host", "r=%d %s %s %u", r, name, host, n);
	r = ns_parse_sockname("sq.h...123456789", name, host, &n);
	CHECK(r == 0 && n == 123456789, "sockname past 999 (a publisher behind squatters)",
	      "r=%d %u", r, n);
	static const char *const bad[] = { "lame", "lame...0", ".tmp.1.2", "x.h", "x.h...",
	                                   "x.h...a", "x.h...1000000000", "x.h...01", "x....0",
	                                   "x.h...1.2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char label[64];
		xsnprintf(label, sizeof label, "sockname refuses '%s'", bad[i]);
		CHECK(ns_parse_sockname(bad[i], name, host, &n) < 0, label, "accepted");
	}
}

/* ---- queries ---- */

static struct ns_service svc(const char *proto, const char *name, const char *host)
{
	struct ns_service s;
	memset(&s, 0, sizeof s);
	xsnprintf(s.proto, sizeof s.proto, "%s", proto);
	xsnprintf(s.name, sizeof s.name, "%s", name);
	xsnprintf(s.host, sizeof s.host, "%s", host);
	xsnprintf(s.rel, sizeof s.rel, "%s%s%s.%s...0", proto, *proto ? "/" : "", name, host);
	xsnprintf(s.path, sizeof s.path, "/r/local/%s", s.rel);
	s.scope = NS_LOCAL;
	return s;
}

static void test_match(void)
{
	struct ns_service lame = svc("audio/x-wav/to/audio/mpeg", "lame", "stereo");
	struct ns_service text = svc("text/plain", "cat", "box.lan");
	struct ns_service mad = svc("", "madplay", "stereo");
	static const struct {
		const char *q;
		int lame, text, mad;
	} t[] = {
		{ "", 1, 1, 1 },
		{ "lame", 1, 0, 0 },
		{ "madplay", 0, 0, 1 },
		{ "text", 0, 1, 0 },           /* a word also matches a first proto component */
		{ "audio", 1, 0, 0 },
		{ "audio/x-wav/to/audio/mpeg", 1, 0, 0 },
		{ "audio/x-wav/to", 1, 0, 0 },
		{ "audio/x-wav/", 1, 0, 0 },   /* a trailing slash is harmless */
		{ "audio/x-w", 0, 0, 0 },      /* whole components only */
		{ "x-wav/to", 0, 0, 0 },       /* a prefix, from the start */
		{ "lame.stereo", 1, 0, 0 },
		{ "lame.other", 0, 0, 0 },
		{ "cat.box.lan", 0, 1, 0 },    /* split at the first dot */
		{ "/r/local/madplay.stereo...0", 0, 0, 1 },
		{ "/r/local/madplay", 0, 0, 0 },
		{ "stereo", 0, 0, 0 },         /* a host alone is not a query */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int a = ns_match(t[i].q, &lame), b = ns_match(t[i].q, &text), c = ns_match(t[i].q, &mad);
		char label[96];
		xsnprintf(label, sizeof label, "query '%s'", t[i].q);
		CHECK(a == t[i].lame && b == t[i].text && c == t[i].mad, label,
		      "lame %d text %d madplay %d", a, b, c);
	}
	static const struct {
		const char *q;
		int abs;
		const char *want;
	} bad[] = {
		{ "/abs/path", 0, "absolute paths are not accepted here" },
		{ ".host", 1, "not a NAME.HOST query" },
		{ "name.", 1, "not a NAME.HOST query" },
		{ "a//b", 1, "empty component" },
		{ "a/../b", 1, "may not start with '.'" },
		{ "a\nb", 1, "control character in the query" },
	};
	char err[NS_ERR_MAX];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char label[96];
		xsnprintf(label, sizeof label, "bad query #%zu refused", i);
		err[0] = 0;
		int r = ns_check_query(bad[i].q, bad[i].abs, err, sizeof err);
		CHECK(r < 0 && errno == EINVAL && strstr(err, bad[i].want), label, "r=%d err=%s", r, err);
	}
	char longq[200];
	memset(longq, 'a', sizeof longq - 1);
	longq[sizeof longq - 1] = 0;
	CHECK(ns_check_query(longq, 1, err, sizeof err) < 0 && strstr(err, "query too long"),
	      "a query longer than sun_path is refused", "%s", err);
}

static void test_sort(void)
{
	setenv("DIPUS_HOST", "me", 1);
	struct ns_list l = { 0 };
	const char *hosts[] = { "other", "me" };
	enum ns_scope scopes[] = { NS_IMPORTED, NS_USERS, NS_EXPORTED, NS_LOCAL };
	for (int i = 0; i < 400; i++) {
		struct ns_service s = svc("p", "n", hosts[i % 2]);
		s.scope = scopes[(i / 2) % 4];
		xsnprintf(s.path, sizeof s.path, "/r/%s/%03d", ns_scope_name(s.scope), (i * 7919) % 400);
		ns_list_add(&l, &s);
	}
	ns_sort(&l);
	int ok = 1;
	for (size_t i = 1; i < l.n && ok; i++) {
		const struct ns_service *a = &l.v[i - 1], *b = &l.v[i];
		/* another host's name on a local/ or exported/ socket comes after its imports */
		int ha = strcmp(a->host, "me") ? (a->scope & (NS_LOCAL | NS_EXPORTED) ? 2 : 1) : 0;
		int hb = strcmp(b->host, "me") ? (b->scope & (NS_LOCAL | NS_EXPORTED) ? 2 : 1) : 0;
		int sa = 0, sb = 0;
		for (int k = 0; k < 4; k++) {
			if (scopes[3 - k] == a->scope)
				sa = k;
			if (scopes[3 - k] == b->scope)
				sb = k;
		}
		ok = ha < hb || (ha == hb && (sa < sb || (sa == sb && strcmp(a->path, b->path) <= 0)));
	}
	CHECK(ok && l.n == 400, "resolver order: this host, other hosts' imports, other hosts' names in local/exported; local exported users imported; path",
	      "out of order");
	ns_list_free(&l);
}

/* ---- the tree ---- */

static void test_limits_and_publish(void)
{
	char root[256], err[NS_ERR_MAX];
	struct ns_service s, s2;
	int before = fd_count();

	/* a root that does not exist is created 0700, when its parent is safe */
	xsnprintf(root, sizeof root, "%s/r", dir);
	setenv("DIPUS_ROOT", root, 1);
	setenv("DIPUS_HOST", "h", 1);
	int fd = ns_publish(NS_LOCAL, "echo", "text/plain", 0666, (gid_t)-1, 8, &s, err, sizeof err);
	struct stat st;
	/* (made by root in a directory of root's: a shared root, mkroot's 1777) */
	CHECK(fd >= 0 && stat(root, &st) == 0 &&
	      (st.st_mode & 07777) == (geteuid() == 0 ? 01777u : 0700u),
	      "a missing root is created 0700 on first publish (1777 by root)", "fd=%d err=%s", fd, err);
	char want[256];
	xsnprintf(want, sizeof want, "%s/local/text/plain/echo.h...0", root);
	CHECK(!strcmp(s.path, want) && !strcmp(s.rel, "text/plain/echo.h...0") && s.n == 0,
	      "published as <root>/local/<proto>/<name>.<host>...0", "path %s rel %s", s.path, s.rel);
	CHECK(lstat(s.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0666,
	      "the socket has the mode asked for", "mode %o", (unsigned)st.st_mode);

	int fd2 = ns_publish(NS_LOCAL, "echo", "text/plain", 0600, (gid_t)-1, 8, &s2, err, sizeof err);
	CHECK(fd2 >= 0 && s2.n == 1, "a second instance gets ...1", "fd=%d n=%u err=%s", fd2, s2.n, err);

	struct ns_list l = { 0 };
	int n = ns_resolve("echo", NS_ALL, 0, &l, err, sizeof err);
	CHECK(n == 2 && l.v[0].n == 0 && l.v[1].n == 1 && !l.v[0].untrusted,
	      "resolve finds both, in path order", "n=%d", n);
	int c = n > 0 ? ns_connect(&l.v[0]) : -1;
	CHECK(c >= 0, "ns_connect reaches a published socket", "%s", strerror(errno));
	if (c >= 0)
		close(c);
	ns_list_free(&l);

	/* the temporary name never shows */
	n = ns_resolve("", NS_ALL, 0, &l, err, sizeof err);
	int tmp = 0;
	for (size_t i = 0; i < l.n; i++)
		tmp |= strstr(l.v[i].path, "/.tmp") != NULL;
	CHECK(n == 2 && !tmp, "no temporary publish name is listed", "n=%d", n);
	ns_list_free(&l);

	/* dead: the listener closed without unpublishing; replaced by the next publisher */
	close(fd);
	CHECK(ns_probe(s.path) == 0, "a closed listener's socket probes dead", "probe %d",
	      ns_probe(s.path));
	CHECK(ns_connect(&s) < 0 && errno == ECONNREFUSED, "ns_connect to it: ECONNREFUSED",
	      "%s", strerror(errno));
	uint64_t t0 = now_ms();
	fd = ns_publish(NS_LOCAL, "echo", "text/plain", 0666, (gid_t)-1, 8, &s, err, sizeof err);
	uint64_t dt = now_ms() - t0;
	CHECK(fd >= 0 && s.n == 0 && dt >= NS_DEAD_GAP_MS, "a dead ...0 is replaced after two refusals",
	      "fd=%d n=%u after %llu ms: %s", fd, s.n, (unsigned long long)dt, err);
	CHECK(ns_probe(s.path) == 1, "...and the new one is live", "probe %d", ns_probe(s.path));

	/* a non-socket is never replaced */
	char p[300];
	xsnprintf(p, sizeof p, "%s/local/text/plain/file.h...0", root);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	int fd3 = ns_publish(NS_LOCAL, "file", "text/plain", 0666, (gid_t)-1, 8, &s2, err, sizeof err);
	CHECK(fd3 >= 0 && s2.n == 1 && lstat(p, &st) == 0 && S_ISREG(st.st_mode),
	      "a regular file named like ...0 is kept; the socket takes ...1", "n=%u", s2.n);
	if (fd3 >= 0) {
		ns_unpublish(&s2, fd3);
		close(fd3);
	}

	/* under another host's name (an importer's proxy) */
	fd3 = ns_publish_as(NS_IMPORTED, "mad", "far.example", "audio", 0666, (gid_t)-1, 8, &s2, err,
	                    sizeof err);
	xsnprintf(want, sizeof want, "%s/imported/audio/mad.far.example...0", root);
	CHECK(fd3 >= 0 && !strcmp(s2.path, want) && !strcmp(s2.host, "far.example"),
	      "ns_publish_as names another host", "fd=%d path=%s err=%s", fd3, s2.path, err);
	CHECK(ns_publish_as(NS_LOCAL, "x", "a/b", "", 0666, (gid_t)-1, 8, &s2, err, sizeof err) < 0 &&
	      strstr(err, "not usable as a host name"), "...but not a host with a '/'", "%s", err);
	if (fd3 >= 0) {
		ns_unpublish(&s2, fd3);
		close(fd3);
	}

	/* unpublish removes only our own inode */
	CHECK(ns_unpublish(&s, fd) == 0 && lstat(s.path, &st) < 0, "unpublish removes our socket",
	      "%s", strerror(errno));
	close(fd);
	if (fd2 >= 0)
		close(fd2);

	/* sun_path: refused with the length, never truncated */
	char longroot[200];
	xsnprintf(longroot, sizeof longroot, "%s/%s", dir,
	         "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr");
	setenv("DIPUS_ROOT", longroot, 1);
	fd = ns_publish(NS_LOCAL, "abcdefghijklmnopqrstuvwxyz", "some/proto", 0666, (gid_t)-1, 8, &s,
	                err, sizeof err);
	CHECK(fd < 0 && strstr(err, "socket path would be") && strstr(err, "sun_path holds 107"),
	      "an over-long socket path is refused with its length", "fd=%d err=%s", fd, err);
	CHECK(stat(longroot, &st) < 0, "...before anything is created", "root exists");
	/* exactly at the limit: 107 bytes fits */
	size_t room = 107 - strlen(longroot) - strlen("/local/") - strlen(".h...999");
	char name[NS_NAME_MAX];
	if (room > 0 && room < NS_NAME_MAX) {
		memset(name, 'n', room);
		name[room] = 0;
		fd = ns_publish(NS_LOCAL, name, "", 0666, (gid_t)-1, 8, &s, err, sizeof err);
		CHECK(fd >= 0 && strlen(s.path) == 105, "a path of 107 bytes (with ...999) fits",
		      "fd=%d len=%zu err=%s", fd, strlen(s.path), err);
		c = fd >= 0 ? ns_connect(&s) : -1;
		CHECK(c >= 0, "...and is reachable", "%s", strerror(errno));
		if (c >= 0)
			close(c);
		if (fd >= 0) {
			ns_unpublish(&s, fd);
			close(fd);
		}
		name[room] = 'n';
		name[room + 1] = 0;
		fd = ns_publish(NS_LOCAL, name, "", 0666, (gid_t)-1, 8, &s, err, sizeof err);
		CHECK(fd < 0 && strstr(err, "would be 108 bytes"), "one byte more is refused",
		      "fd=%d err=%s", fd, err);
		if (fd >= 0)
			close(fd);
	}
	CHECK(fd_count() == before, "no descriptor left open", "%d before, %d after", before,
	      fd_count());
}

static void test_unsafe(void)
{
	char root[256], err[NS_ERR_MAX];
	/* a symlinked root */
	xsnprintf(root, sizeof root, "%s/link", dir);
	char real[256];
	xsnprintf(real, sizeof real, "%s/real", dir);
	mkdir(real, 0700);
	symlink(real, root);
	setenv("DIPUS_ROOT", root, 1);
	struct ns_list l = { 0 };
	int n = ns_resolve("", NS_ALL, 0, &l, err, sizeof err);
	CHECK(n < 0 && errno == EPERM && strstr(err, "is a symbolic link"), "a symlinked root is refused",
	      "n=%d err=%s", n, err);
	ns_list_free(&l);
	/* a world-writable root without the sticky bit */
	xsnprintf(root, sizeof root, "%s/open", dir);
	mkdir(root, 0777);
	chmod(root, 0777);
	setenv("DIPUS_ROOT", root, 1);
	n = ns_resolve("", NS_ALL, 0, &l, err, sizeof err);
	CHECK(n < 0 && errno == EPERM && strstr(err, "world-writable without the sticky bit"),
	      "a world-writable root without +t is refused", "n=%d err=%s", n, err);
	/* not created in an unsafe parent */
	xsnprintf(root, sizeof root, "%s/open/sub", dir);
	setenv("DIPUS_ROOT", root, 1);
	struct ns_service s;
	int fd = ns_publish(NS_LOCAL, "x", "", 0666, (gid_t)-1, 8, &s, err, sizeof err);
	struct stat st;
	CHECK(fd < 0 && strstr(err, "not created, its parent is not safe") && stat(root, &st) < 0,
	      "no root is created in an unsafe parent", "fd=%d err=%s", fd, err);
	/* a relative root */
	setenv("DIPUS_ROOT", "relative/root", 1);
	n = ns_resolve("", NS_ALL, 0, &l, err, sizeof err);
	CHECK(n < 0 && strstr(err, "must be an absolute path"), "a relative DIPUS_ROOT is refused",
	      "n=%d err=%s", n, err);
	/* a root that does not exist is an empty namespace */
	xsnprintf(root, sizeof root, "%s/none", dir);
	setenv("DIPUS_ROOT", root, 1);
	n = ns_resolve("", NS_ALL, 0, &l, err, sizeof err);
	CHECK(n == 0 && stat(root, &st) < 0, "a missing root lists nothing and is not created by listing",
	      "n=%d", n);
}

/* ns_connect_exact: the SEP servers' CONNECT of an exact path, in one walk */
static void test_connect_exact(void)
{
	char root[256], err[NS_ERR_MAX], p[400], q[400];
	int before = fd_count();
	xsnprintf(root, sizeof root, "%s/x", dir);
	setenv("DIPUS_ROOT", root, 1);
	setenv("DIPUS_HOST", "h", 1);
	struct ns_service s, got;
	int lfd = ns_publish(NS_EXPORTED, "echo", "a/b", 0666, (gid_t)-1, 8, &s, err, sizeof err);
	int fd = ns_connect_exact("a/b/echo.h...0", NS_EXPORTED, &got, err, sizeof err);
	int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0, fdf = fd >= 0 ? fcntl(fd, F_GETFD) : 0;
	CHECK(lfd >= 0 && fd >= 0 && (fl & O_NONBLOCK) && (fdf & FD_CLOEXEC) &&
	      !strcmp(got.rel, "a/b/echo.h...0") && !strcmp(got.path, s.path) && got.scope == NS_EXPORTED,
	      "ns_connect_exact: connected (non-blocking, close-on-exec) and the service named",
	      "fd %d flags %x/%x rel '%s' err %s", fd, fl, fdf, got.rel, strerror(errno));
	if (fd >= 0)
		close(fd);
	errno = 0;
	fd = ns_connect_exact("a/b/echo.h...0", NS_LOCAL | NS_IMPORTED, &got, err, sizeof err);
	CHECK(fd < 0 && errno == ENOENT && !got.path[0], "...only in the scopes asked for", "fd %d %s",
	      fd, strerror(errno));
	/* links are never followed: neither the socket's name nor a directory on the way */
	xsnprintf(p, sizeof p, "%s/exported/a/b/link.h...0", root);
	symlink(s.path, p);
	xsnprintf(p, sizeof p, "%s/exported/ln", root);
	xsnprintf(q, sizeof q, "%s/exported/a/b", root);
	symlink(q, p);
	errno = 0;
	fd = ns_connect_exact("a/b/link.h...0", NS_EXPORTED, &got, err, sizeof err);
	int e1 = errno;
	fd = fd < 0 ? ns_connect_exact("ln/echo.h...0", NS_EXPORTED, &got, err, sizeof err) : fd;
	CHECK(fd < 0 && e1 == ENOENT && errno == ENOENT, "...never through a symbolic link",
	      "fd %d errno %s / %s", fd, strerror(e1), strerror(errno));
	errno = 0;
	fd = ns_connect_exact("a/../a/b/echo.h...0", NS_EXPORTED, &got, err, sizeof err);
	CHECK(fd < 0 && errno == ENOENT, "...never up through ..", "fd %d %s", fd, strerror(errno));
	/* a directory with the service's name is none, whatever it holds */
	struct ns_service in;
	int ifd = ns_publish(NS_EXPORTED, "in", "a/b/dir.h...0", 0666, (gid_t)-1, 8, &in, err, sizeof err);
	errno = 0;
	fd = ns_connect_exact("a/b/dir.h...0", NS_EXPORTED, &got, err, sizeof err);
	CHECK(ifd >= 0 && fd < 0 && errno == ENOENT, "...a directory named like a service is not one",
	      "ifd %d fd %d %s", ifd, fd, strerror(errno));
	if (ifd >= 0) {
		ns_unpublish(&in, ifd);
		close(ifd);
	}
	if (geteuid() == 0) {
		/* below a directory of another non-root user: untrusted, never connected */
		struct ns_service u;
		int ufd = ns_publish(NS_EXPORTED, "u", "o", 0666, (gid_t)-1, 8, &u, err, sizeof err);
		xsnprintf(p, sizeof p, "%s/exported/o", root);
		if (chown(p, 65534, 65534) < 0) {}
		errno = 0;
		fd = ns_connect_exact("o/u.h...0", NS_EXPORTED, &got, err, sizeof err);
		CHECK(ufd >= 0 && fd < 0 && errno == ENOENT, "...a socket below another user's directory is skipped",
		      "ufd %d fd %d %s", ufd, fd, strerror(errno));
		if (ufd >= 0)
			close(ufd);
	}
	/* a dead socket: the connect's error, with the service */
	close(lfd);
	errno = 0;
	fd = ns_connect_exact("a/b/echo.h...0", NS_EXPORTED, &got, err, sizeof err);
	CHECK(fd < 0 && errno == ECONNREFUSED && !strcmp(got.rel, "a/b/echo.h...0"),
	      "...a dead socket: ECONNREFUSED, naming it", "fd %d %s rel '%s'", fd, strerror(errno), got.rel);
	CHECK(fd_count() == before, "ns_connect_exact leaves no descriptor open", "%d before, %d after",
	      before, fd_count());
}

/* what the resolver cannot see is refused at publish; empty proto directories go with
 * the last socket in them */
static void test_depth_and_dirs(void)
{
	char root[256], err[NS_ERR_MAX], proto[NS_PATH_MAX], p[300];
	struct ns_service s, s2;
	struct stat st;
	char shortdir[] = "/tmp/dnd.XXXXXX";  /* 33 components fit sun_path below it */
	if (!mkdtemp(shortdir))
		return;
	chmod(shortdir, 0755);
	xsnprintf(root, sizeof root, "%s/d", shortdir);
	setenv("DIPUS_ROOT", root, 1);
	setenv("DIPUS_HOST", "h", 1);
	proto[0] = 0;
	for (int i = 0; i < 33; i++)
		strcat(proto, i ? "/p" : "p");
	errno = 0;
	int fd = ns_publish(NS_LOCAL, "d", proto, 0666, (gid_t)-1, 8, &s, err, sizeof err);
	CHECK(fd < 0 && errno == EINVAL && strstr(err, "32"),
	      "a proto of 33 components is refused at publish", "fd %d: %s", fd, err);
	if (fd >= 0)
		close(fd);
	proto[strlen(proto) - 2] = 0;  /* 32 components */
	fd = ns_publish(NS_LOCAL, "d", proto, 0666, (gid_t)-1, 8, &s, err, sizeof err);
	struct ns_list l = { 0 };
	int n = ns_resolve("d", NS_ALL, 0, &l, err, sizeof err);
	CHECK(fd >= 0 && n == 1, "...32 are published and resolved", "fd %d n %d: %s", fd, n, err);
	ns_list_free(&l);
	if (fd >= 0) {
		ns_unpublish(&s, fd);
		close(fd);
	}
	xsnprintf(p, sizeof p, "%s/local/p", root);
	CHECK(lstat(p, &st) < 0 && errno == ENOENT, "unpublish removes the empty proto directories",
	      "%s still there", p);
	xsnprintf(p, sizeof p, "%s/local", root);
	CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode), "...not the scope directory", "%s gone", p);

	int f1 = ns_publish(NS_LOCAL, "a", "x/y", 0666, (gid_t)-1, 8, &s, err, sizeof err);
	int f2 = ns_publish(NS_LOCAL, "b", "x/y", 0666, (gid_t)-1, 8, &s2, err, sizeof err);
	if (f1 >= 0) {
		ns_unpublish(&s, f1);
		close(f1);
	}
	xsnprintf(p, sizeof p, "%s/local/x/y", root);
	CHECK(f2 >= 0 && lstat(p, &st) == 0, "...a directory still holding a socket stays", "%s", err);
	if (f2 >= 0) {
		ns_unpublish(&s2, f2);
		close(f2);
	}
	xsnprintf(p, sizeof p, "%s/local/x", root);
	CHECK(lstat(p, &st) < 0, "...and goes with its last socket", "%s still there", p);
	xsnprintf(p, sizeof p, "rm -rf '%s'", shortdir);
	if (system(p) != 0)
		fprintf(stderr, "could not remove %s\n", shortdir);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(dir, 0755);
	test_parse_arg();
	test_sockname();
	test_match();
	test_sort();
	test_limits_and_publish();
	test_unsafe();
	test_connect_exact();
	test_depth_and_dirs();
	char cmd[300];
	xsnprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_status();
}
