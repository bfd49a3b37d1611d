//config:config MKROOT
//config:	bool "mkroot: create a shared root"
//config:	default y
//config:	help
//config:	  Create a root shared by several users (as root). See doc/mkroot.md.
//applet:APPLET(mkroot, "mkroot", PREFIXED, "create a root shared by several users (as root)")

/* mkroot.c: create a root shared by several users (as root).
 *
 * The root and local/, exported/ are root's, mode 1777 (sticky, like /tmp: anyone may
 * publish, nobody may remove another's socket); imported/ is root's 0755 (root's
 * importer's proxies, where nobody else may put a socket); users/ is 0755 with one
 * users/<name>/ 0700 per user for private imports. Idempotent: running it again
 * restores those owners and modes. */
#include "applets.h"
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char mkroot_usage[] =
	"usage: dipus mkroot [-u USER]... [DIR]\n"
	"\n"
	"As root: create the shared root DIR (default $DIPUS_ROOT, else " CONFIG_DEFAULT_ROOT ")\n"
	"with local/, exported/ (1777, like /tmp), imported/ and users/ (0755), and\n"
	"users/USER/ (0700, owned by USER) for each -u. Running it again is harmless.\n"
	"An existing root or directory owned by another user, or a symlink, is refused\n"
	"(exit 4). See doc/mkroot.md.\n";

/* Make (or keep) dirfd/name as a directory of uid:gid and mode, never via a link. An
 * existing one must be root's or uid's already: nobody else's is taken over. */
static int make_dir(int dirfd, const char *name, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		die_errno(DX_IO, "%s: cannot create", path);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		die(DX_REFUSED, "%s: is a symbolic link or not a directory; remove it first", path);
	if (fd < 0 || fstat(fd, &st) < 0)
		die_errno(DX_IO, "%s", path);
	if (st.st_uid != 0 && st.st_uid != uid) {
		struct passwd *pw = getpwuid(st.st_uid);
		die(DX_REFUSED, "%s: exists and is owned by uid %u (%s); remove it first (it is not "
		    "a directory dipus made)", path, (unsigned)st.st_uid, pw ? pw->pw_name : "?");
	}
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		die_errno(DX_IO, "%s", path);
	return fd;
}

int mkroot_main(int argc, char **argv)
{
	const char *users[64];
	static const struct opt opts[] = { { 'u', NULL, OPT_ARG }, OPT_END };
	struct optparse op;
	int nusers = 0, c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		if (nusers == 64)
			return usage_error("at most 64 -u");
		users[nusers++] = optarg;     /* -u, the only option */
	}
	if (c < 0)
		return opt_rc(c);
	if (argc - optind > 1)
		return usage_error("takes at most one DIR");
	if (argc - optind == 1)
		setenv("DIPUS_ROOT", argv[optind], 1);
	char path[NS_PATH_MAX * 2], parent[NS_PATH_MAX];
	const char *root = ns_root();
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	const char *base = root + len;
	while (base > root && base[-1] != '/')
		base--;
	size_t blen = root + len - base;
	if (root[0] != '/' || len + 2 >= NS_PATH_MAX || !blen ||
	    (base[0] == '.' && (blen == 1 || (blen == 2 && base[1] == '.'))))
		return usage_error("%s: not usable as the root (an absolute path to a directory, "
		                   "short enough for UNIX sockets)", root);
	for (int i = 0; i < nusers; i++)
		if (!getpwnam(users[i]) || strchr(users[i], '/') || users[i][0] == '.')
			return usage_error("-u %s: no such user", users[i]);
	if (geteuid() != 0)
		die(DX_REFUSED, "must be run as root (a shared root belongs to root; a private root "
		    "needs no mkroot: it is made on first use)");
	snprintf(parent, sizeof parent, "%.*s", base - root > 1 ? (int)(base - root - 1) : 1, root);
	snprintf(path, sizeof path, "%.*s", (int)len, root);
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* whoever controls the parent could swap the root: it must be root's alone */
	struct stat pst;
	if (pfd < 0 || fstat(pfd, &pst) < 0)
		die_errno(DX_IO, "%s", parent);
	if (pst.st_uid != 0 || ((pst.st_mode & S_IWOTH) && !(pst.st_mode & S_ISVTX)))
		die(DX_REFUSED, "%s: a shared root must be in a directory only root controls (this "
		    "one is not root's, or is world-writable without the sticky bit)", parent);
	snprintf(parent, sizeof parent, "%.*s", (int)blen, base);
	int rfd = make_dir(pfd, parent, path, 01777, 0, 0);
	close(pfd);
	static const char *const dirs[] = { "local", "exported", "imported", "users" };
	int ufd = -1;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%.*s/%s", (int)len, root, dirs[i]);
		/* imported/ is root's importer's alone (a user's imports go to users/<me>/) */
		ufd = make_dir(rfd, dirs[i], path, i < 2 ? 01777 : 0755, 0, 0);
		if (i < 3)
			close(ufd);
	}
	for (int i = 0; i < nusers; i++) {
		struct passwd *pw = getpwnam(users[i]);
		snprintf(path, sizeof path, "%.*s/users/%s", (int)len, root, users[i]);
		close(make_dir(ufd, users[i], path, 0700, pw->pw_uid, pw->pw_gid));
	}
	close(ufd);
	close(rfd);
	return DX_OK;
}
