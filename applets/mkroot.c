/* mkroot.c: create a root shared by several users (as root).
 *
 * The root and local/, exported/, imported/ are root's, mode 1777 (sticky, like /tmp:
 * anyone may publish, nobody may remove another's socket); users/ is 0755 with one
 * users/<name>/ 0700 per user for private (SSH) imports. Idempotent. */
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
	"with local/, exported/, imported/ (1777, like /tmp) and users/ (0755), and\n"
	"users/USER/ (0700, owned by USER) for each -u. Running it again is harmless.\n"
	"An existing root owned by another user, or a symlink, is refused.\n"
	"See doc/mkroot.md.\n";

/* Make (or keep) dirfd/name as a root-owned directory of mode, never via a link. */
static int make_dir(int dirfd, const char *name, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		die_errno(DX_IO, "%s", path);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			die(DX_REFUSED, "%s: exists and is not a directory (a symlink?); remove it first", path);
		die_errno(DX_IO, "%s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_errno(DX_IO, "%s", path);
	if (st.st_uid != 0 && st.st_uid != uid)
		die(DX_REFUSED, "%s: exists and is owned by uid %u; remove it first", path,
		    (unsigned)st.st_uid);
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		die_errno(DX_IO, "%s", path);
	return fd;
}

int mkroot_main(int argc, char **argv)
{
	const char *users[64];
	int nusers = 0, c;
	while ((c = getopt(argc, argv, "u:h")) != -1) {
		switch (c) {
		case 'u':
			if (nusers == 64)
				return usage_error("at most 64 -u");
			users[nusers++] = optarg;
			break;
		case 'h': fputs(mkroot_usage, stdout); return DX_OK;
		default: return usage_error("unknown option");
		}
	}
	if (argc - optind > 1)
		return usage_error("takes at most one DIR");
	if (argc - optind == 1)
		setenv("DIPUS_ROOT", argv[optind], 1);
	if (geteuid() != 0)
		die(DX_REFUSED, "must be run as root (a shared root belongs to root)");
	const char *root = ns_root();
	if (root[0] != '/')
		die(DX_USAGE, "%s: the root must be an absolute path", root);
	char parent[NS_PATH_MAX], path[NS_PATH_MAX * 2];
	if (xsnprintf(parent, sizeof parent, "%s", root) < 0)
		die(DX_USAGE, "%s: path too long", root);
	char *slash = strrchr(parent, '/');
	const char *base = root + (slash - parent) + 1;
	if (slash == parent)
		parent[1] = 0;
	else
		*slash = 0;
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		die_errno(DX_IO, "%s", parent);
	int rfd = make_dir(pfd, base, root, 01777, 0, 0);
	close(pfd);
	static const char *const scopes[] = { "local", "exported", "imported" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", root, scopes[i]);
		close(make_dir(rfd, scopes[i], path, 01777, 0, 0));
	}
	snprintf(path, sizeof path, "%s/users", root);
	int ufd = make_dir(rfd, "users", path, 0755, 0, 0);
	for (int i = 0; i < nusers; i++) {
		struct passwd *pw = getpwnam(users[i]);
		if (!pw)
			die(DX_USAGE, "-u %s: no such user", users[i]);
		snprintf(path, sizeof path, "%s/users/%s", root, users[i]);
		close(make_dir(ufd, users[i], path, 0700, pw->pw_uid, pw->pw_gid));
	}
	close(ufd);
	close(rfd);
	return DX_OK;
}
