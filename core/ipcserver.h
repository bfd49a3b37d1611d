/* ipcserver.h: the super-server behind local-pipe and export-pipe (and dipusd): publish
 * a service socket, and for each connection run a command with the connection as its
 * stdin and stdout, in the spirit of s6-ipcserver (doc/local-pipe.md). */
#ifndef DIPUS_IPCSERVER_H
#define DIPUS_IPCSERVER_H

#include <stddef.h>
#include <sys/types.h>
#include "ns.h"

#define IPCSERVER_MAX_DEFAULT 40
#define IPCSERVER_BACKLOG_DEFAULT 64

struct ipcserver_opts {
	enum ns_scope scope;      /* NS_LOCAL or NS_EXPORTED */
	const char *command;      /* run through /bin/sh -c */
	const char *name, *proto;
	unsigned max_conns;       /* concurrent children; more wait in the backlog */
	int backlog;
	mode_t mode;              /* socket permissions */
	gid_t gid;                /* socket group or (gid_t)-1 */
	int ready_fd;             /* once listening, write the socket path and a newline
	                           * here, then point it at /dev/null (s6's -1); or -1 */
	int kill_children;        /* on SIGTERM/SIGINT/SIGHUP also SIGTERM the children,
	                           * SIGKILL those left after 2 s */
	int verbose;              /* 0 quiet (no warnings), 1 warnings, 2 log each child */
};

/* Publish and serve until SIGTERM/SIGINT/SIGHUP; removes the socket on the way out
 * (if it is still ours). Each child: /bin/sh -c COMMAND, the connection on 0 and 1,
 * stderr ours, default signal dispositions and an empty mask, DIPUS_PEER_UID/GID/PID
 * (SO_PEERCRED) and DIPUS_SERVICE in its environment, no other descriptor of ours.
 * Uses SIGCHLD, SIGTERM, SIGINT, SIGHUP through its own loop, and ignores SIGPIPE.
 * Returns a DX_* exit code (messages already printed). */
int ipcserver_run(const struct ipcserver_opts *o);

/* The same on an existing loop (dipusd runs its services in-process): publish now and
 * serve from lp; o and its strings are copied. The loop's owner handles SIGCHLD and
 * calls ipcserver_reap_all() from it; o->ready_fd is not used. NULL with err (errno
 * EPERM/EACCES refused, EINVAL bad name, else I/O). */
struct ipcserver;
struct loop;
struct ipcserver *ipcserver_start(struct loop *lp, const struct ipcserver_opts *o, char *err,
                                  size_t errlen);
/* Unpublish and stop accepting. With kill_children the children get SIGTERM (SIGKILL
 * after 2 s); the server's memory lives on until its last child is reaped. NULL is fine. */
void ipcserver_stop(struct ipcserver *s);
/* Reap the children of every server of this process (waitpid on their own pids only). */
void ipcserver_reap_all(void);
/* At exit: stop and free every server left (children are left to finish). */
void ipcserver_release_all(void);
/* The published socket's path. */
const char *ipcserver_path(const struct ipcserver *s);

/* Parse the common command line of local-pipe/export-pipe into o (core/opt.h). Returns
 * 0, or -1 after -h/--help printed the applet's usage, or the exit code to return
 * (message printed). */
int ipcserver_parse_args(int argc, char **argv, struct ipcserver_opts *o);

/* The whole main of local-pipe and export-pipe: parse, publish in scope, serve. */
int ipcserver_main(int argc, char **argv, enum ns_scope scope);

#endif
