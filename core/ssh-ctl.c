/* ssh-ctl.c: the control socket of an ssh:// session, through which local clients of
 * the same user share an importer's SSH session (doc/ssh.md): its path, its checks,
 * listening on it and connecting to it. */
#include "ssh.h"
#include "ssh-int.h"
#include "ns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
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

int ssh_ctl_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == geteuid();
}

int ssh_ctl_listen(const struct remote_uri *u, char *path, size_t pathlen, char *err,
                   size_t errlen)
{
	if (ssh_ctl_path(u, 1, path, pathlen, err, errlen) < 0)
		return -1;
	struct sockaddr_un sa;
	if (ctl_addr(path, &sa) < 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* a live control socket belongs to another importer: keep it; a dead one goes */
	int live = ns_probe(path);
	if (live == 1) {
		close(fd);
		snprintf(err, errlen, "%s: another importer holds a session to this host", path);
		errno = EADDRINUSE;
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
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
