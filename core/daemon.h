/* daemon.h: what a daemon owes its supervisor (doc/dipusd.md): readiness on a
 * descriptor in s6's style and on $NOTIFY_SOCKET for systemd, a pid file, syslog. */
#ifndef DIPUS_DAEMON_H
#define DIPUS_DAEMON_H

#include <stddef.h>

/* Ready: write a newline to fd and close it (s6's notification-fd; -1: none), and send
 * "READY=1" to $NOTIFY_SOCKET when it is set. */
void daemon_ready(int fd);
/* Send one state line ("RELOADING=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET,
 * when it is set; nothing otherwise. 0, or -1 on failure. */
int daemon_notify(const char *state);
/* Write our pid to path (through a temporary file and rename, so a reader never sees
 * half of it). 0, or -1 with err. daemon_pidfile_remove() removes it if it still holds
 * our pid. */
int daemon_pidfile(const char *path, char *err, size_t errlen);
void daemon_pidfile_remove(void);
/* From now on msg() and friends go to syslog (facility daemon, ident "dipusd"), not
 * to stderr. */
void daemon_syslog(const char *ident);

/* As root: become user for good (groups, gid, uid; no way back, no new privileges).
 * Not root: fine if we are user already. 0, or -1 with err. */
int daemon_drop(const char *user, char *err, size_t errlen);
/* As root: act as user (effective ids only, the way back kept), so that files of
 * user's (its key) are used as user would; daemon_as_root() goes back. 0 or -1. */
int daemon_as(const char *user);
int daemon_as_root(void);

#endif
