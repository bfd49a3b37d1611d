/* ipcserver.h: the super-server behind local-pipe and export-pipe (and dipusd): publish
 * a service socket, and for each connection run a command with the connection as its
 * stdin and stdout, in the spirit of s6-ipcserver (doc/local-pipe.md). */
#ifndef DIPUS_IPCSERVER_H
#define DIPUS_IPCSERVER_H

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
	int ready_fd;             /* print the socket path here once listening, or -1 */
	int kill_children;        /* on SIGTERM/SIGINT, also SIGTERM the children */
	int verbose;              /* 0 quiet, 1 normal, 2 log each connection */
};

/* Publish and serve until SIGTERM/SIGINT/SIGHUP; removes the socket on the way out.
 * Returns a DX_* exit code (messages already printed). */
int ipcserver_run(const struct ipcserver_opts *o);

/* Parse the common command line of local-pipe/export-pipe into o. Returns 0, or the
 * exit code to return (usage printed). */
int ipcserver_parse_args(int argc, char **argv, struct ipcserver_opts *o);

/* The whole main of local-pipe and export-pipe: parse, publish in scope, serve. */
int ipcserver_main(int argc, char **argv, enum ns_scope scope, const char *usage);

#endif
