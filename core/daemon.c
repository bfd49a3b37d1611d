/* daemon.c: readiness, pid file and syslog for dipusd (doc/dipusd.md). */
#include "daemon.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

int daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
		msg("NOTIFY_SOCKET=%s: not a socket path", path);
		return -1;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0;  /* an abstract socket */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	                   offsetof(struct sockaddr_un, sun_path) + len);
	int e = errno;
	close(fd);
	if (w < 0) {
		errno = e;
		msg_errno("NOTIFY_SOCKET=%s", path);
		return -1;
	}
	return 0;
}

void daemon_ready(int fd)
{
	if (fd >= 0) {
		if (write_all(fd, "\n", 1) < 0)
			msg_errno("readiness notification on descriptor %d", fd);
		close(fd);
	}
	daemon_notify("READY=1");
}

static char pidpath[512];
static pid_t pidfile_pid;

int daemon_pidfile(const char *path, char *err, size_t errlen)
{
	char tmp[540];
	if (xsnprintf(pidpath, sizeof pidpath, "%s", path) ||
	    xsnprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid())) {
		snprintf(err, errlen, "%s: path too long", path);
		pidpath[0] = 0;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		pidpath[0] = 0;
		return -1;
	}
	char line[24];
	int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (write_all(fd, line, n) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		pidpath[0] = 0;
		return -1;
	}
	pidfile_pid = getpid();
	return 0;
}

void daemon_pidfile_remove(void)
{
	if (!pidpath[0] || getpid() != pidfile_pid)
		return;
	char buf[24] = "";
	int fd = open(pidpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		/* only our own: another instance may have taken it over */
		if (n > 0 && atoi(buf) == (int)pidfile_pid)
			unlink(pidpath);
	}
	pidpath[0] = 0;
}

static void to_syslog(const char *text, size_t len)
{
	int prio = strstr(text, "warning") ? LOG_WARNING : LOG_NOTICE;
	syslog(prio, "%.*s", (int)len, text);
}

void daemon_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	msg_sink = to_syslog;
}

int daemon_drop(const char *user, char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user %s: no such user%s%s", user, errno ? ": " : "",
		         errno ? strerror(errno) : "");
		errno = EINVAL;
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (uid == geteuid())
			return 0;
		snprintf(err, errlen, "user %s: only root can change to another user", user);
		errno = EPERM;
		return -1;
	}
	if (uid == 0)
		return 0;
	if ((initgroups(user, gid) < 0 && setgroups(1, &gid) < 0) || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "user %s: cannot change to it: %s", user, strerror(errno));
		return -1;
	}
	uid_t r, e, s;
	gid_t rg, eg, sg;
	/* never go on with a way back to root */
	if (setuid(0) == 0 || seteuid(0) == 0 || getresuid(&r, &e, &s) < 0 ||
	    getresgid(&rg, &eg, &sg) < 0 || r != uid || e != uid || s != uid || rg != gid ||
	    eg != gid || sg != gid) {
		snprintf(err, errlen, "user %s: privileges could not be dropped for good", user);
		errno = EPERM;
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

int daemon_as(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw || geteuid() != 0)
		return -1;
	return setegid(pw->pw_gid) < 0 || seteuid(pw->pw_uid) < 0 ? -1 : 0;
}

int daemon_as_root(void)
{
	return seteuid(0) < 0 || setegid(0) < 0 ? -1 : 0;
}
