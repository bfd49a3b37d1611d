/* ssh.h: the SSH transport for ssh:// URIs (doc/ssh.md).
 *
 * A transport is a byte stream to a "dipus serve --stdio" on the far side, over which
 * the caller runs an ordinary SEP client session (core/sep.h). It is one of:
 *
 *  - shared: a connection to the control socket of a local importer that already
 *    holds an SSH session to the same user@host:port
 *    (<root>/users/<me>/.ctl/ssh-<user>@<host>:<port>); that importer serves SEP on it
 *    and forwards LIST/WATCH/CONNECT onto its session, so no new SSH handshake;
 *  - a child: "<self> dbclient -T -o BatchMode=yes -o StrictHostKeyChecking=yes ...
 *    HOST 'dipus serve --stdio'" (or $DIPUS_SSH ... HOST CMD), talking SEP on its
 *    stdin/stdout. Its stderr is captured (bounded) to explain failures. The child
 *    runs in its own session (no controlling tty: it can never prompt) and dies with
 *    its parent (PR_SET_PDEATHSIG).
 *
 * Use:
 *     struct ssh_conn *c = ssh_open(&uri, 0, &code, err, sizeof err);
 *     ... run SEP over ssh_rfd(c) / ssh_wfd(c) (nonblocking; the same socket when
 *         ssh_shared(c)) with a bounded handshake time ...
 *     on any failure of the session (EOF, error, handshake timeout, version mismatch):
 *     code = ssh_failed(c, SSH_WHY_*, sep_reason, err, sizeof err);  -> a clear,
 *         classified reason
 *     ssh_close(c);   (kills and reaps the child)
 *
 * Errors are complete reasons without the "dipus: applet: " prefix, starting with the
 * target ("ssh://user@host:port: host key unknown: ..."); codes are DX_* (util.h):
 * DX_REFUSED for an unknown or changed host key, DX_REMOTE for the rest. */
#ifndef DIPUS_SSH_H
#define DIPUS_SSH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "remote.h"
#include "../dbclient/dipusmux.h"

struct loop;
struct ssh_conn;

#define SSH_ERRBUF 4096          /* bytes of the child's stderr kept (the last ones) */
#define SSH_HANDSHAKE_MS 20000   /* default bound for connect + auth + SEP hello */

/* The bound for connect + login + SEP hello, in ms: $DIPUS_SSH_TIMEOUT (seconds) if
 * set, else SSH_HANDSHAKE_MS. Callers use it for their SEP handshake timer. */
unsigned ssh_handshake_ms(void);

/* ssh_open flags */
#define SSH_NO_SHARE 1u   /* do not try an importer's control socket */

/* The identity file given with -i (overrides $DIPUS_SSH_IDENTITY); NULL to unset. */
void ssh_set_identity(const char *file);

/* Start the transport. Returns NULL with *code and err when it cannot even start
 * (bad URI, $DIPUS_SSH unparsable, no such local command, fork failure). */
struct ssh_conn *ssh_open(const struct remote_uri *u, unsigned flags, int *code, char *err,
                          size_t errlen);
int ssh_rfd(const struct ssh_conn *c);   /* SEP from the far side (nonblocking) */
int ssh_wfd(const struct ssh_conn *c);   /* SEP to the far side (nonblocking) */
int ssh_shared(const struct ssh_conn *c); /* 1: through an importer's control socket */
pid_t ssh_pid(const struct ssh_conn *c);  /* the child, 0 when shared */
const char *ssh_target(const struct ssh_conn *c);  /* "ssh://user@host:port" */
const char *ssh_command(const struct ssh_conn *c); /* the command line run, for messages */

/* Wait (at most ms) until the far side has sent something (SEP's first bytes) or the
 * child failed. 0: data is waiting on ssh_rfd (not consumed); -1: failed, *code and
 * err are set (classified as by ssh_failed). For synchronous callers (dls, dcat). */
int ssh_wait_ready(struct ssh_conn *c, unsigned ms, int *code, char *err, size_t errlen);

/* Direct channels (the embedded dbclient only; doc/ssh.md "Bulk data"): the child
 * opens a direct-streamlocal@openssh.com channel in its SSH session to a remote socket
 * path and relays it to descriptors we hand over, so bulk data skips both SEP hops.
 * ssh_mux_fd: the socket its replies come on (watch it for reading), -1 when this
 * transport has none (shared, $DIPUS_SSH, or gone). ssh_direct_open: ask for channel
 * id to path, relayed to rfd/wfd (one socket: rfd == wfd); the child holds copies,
 * ours stay ours until the reply. 0, or -1 (not sent: use SEP). ssh_direct_replies:
 * when ssh_mux_fd is readable, calls fn for each reply waiting (at most 64 a call):
 * id, kind (DIPUSMUX_*) and a text; 0, or -1 when the mux is gone (closed and
 * forgotten by lp; no more replies). Ask nothing before DIPUSMUX_READY came: a
 * client without the feature never answers. The kinds and FAILED's codes are the
 * wire's own (dipusmux.h, shared with dbclient). */
typedef void ssh_direct_fn(void *arg, uint32_t id, int kind, int code, const char *text);
int ssh_mux_fd(const struct ssh_conn *c);
int ssh_direct_open(struct ssh_conn *c, uint32_t id, int rfd, int wfd, const char *path);
int ssh_direct_replies(struct ssh_conn *c, struct loop *lp, ssh_direct_fn *fn, void *arg);

/* Keep draining the child's stderr on lp (long-lived sessions: the importer), so a
 * chatty remote can never block the SSH client. Keeps the last SSH_ERRBUF bytes. */
void ssh_attach(struct ssh_conn *c, struct loop *lp);
void ssh_detach(struct ssh_conn *c);

/* The session over this transport failed: kind is what the SEP layer knows of it (a
 * code, never decided from its words), why its reason (may be NULL or ""; e.g.
 * "version mismatch: ..."). Stops the child (closes its stdin, waits a little, or not
 * at all after a timeout, then kills it), reads its stderr and exit status, and writes
 * the most precise reason it can into err. Returns the DX_* code. */
enum ssh_why {
	SSH_WHY_ENDED = 0,  /* the session ended or broke: the child's own words tell why */
	SSH_WHY_TIMEOUT,    /* no answer in time: the child is stopped at once */
	SSH_WHY_VERSION,    /* the far side speaks another SEP version */
	SSH_WHY_NOT_SEP,    /* the far side does not speak SEP (its first bytes were not) */
};
int ssh_failed(struct ssh_conn *c, enum ssh_why kind, const char *why, char *err,
               size_t errlen);

/* Close the descriptors, stop and reap the child, free c. NULL is fine. */
void ssh_close(struct ssh_conn *c);

/* Control socket of a session to u: "<root>/users/<me>/.ctl/ssh-<user>@<host>:<port>".
 * With create, makes users/<me>/.ctl (0700) and checks it (owned by me, 0700, no
 * symlink). 0, or -1 with err. */
int ssh_ctl_path(const struct remote_uri *u, int create, char *out, size_t outlen,
                 char *err, size_t errlen);
/* The importer's half: publish u's control socket (0600, in users/<me>/.ctl, by
 * ns_publish's rules: a live one of another importer is never replaced: NULL with errno
 * EADDRINUSE) and serve SEP on it to local clients of this user: LIST and WATCH from
 * the services ops->each reports, CONNECT through ops->connect. label names it in
 * messages. NULL with err when it cannot. */
struct ns_service;
struct ssh_ctl;
struct ssh_ctl_ops {
	/* call fn(fnarg, s) for each service the session mirrors */
	void (*each)(void *arg, void (*fn)(void *fnarg, const struct ns_service *s), void *fnarg);
	/* CONNECT query over the session: a socket that is ours alone, or -1 with *code
	 * (SEP_E_*) and err */
	int (*connect)(void *arg, const char *query, int *code, char *err, size_t errlen);
};
struct ssh_ctl *ssh_ctl_start(struct loop *lp, const struct remote_uri *u, const char *label,
                              const struct ssh_ctl_ops *ops, void *arg, char *err, size_t errlen);
/* A mirrored service appeared (1) or vanished (0): tell the clients' WATCHes. */
void ssh_ctl_notify(struct ssh_ctl *c, int appeared, const struct ns_service *s);
/* Does a client's query match s (its rel exactly, or as the resolver matches)? */
int ssh_ctl_match(const char *q, const struct ns_service *s);
/* Close the clients' sessions and unpublish (NULL is fine). */
void ssh_ctl_stop(struct ssh_ctl *c);

/* "user@host:port" as used in names and messages (user and port filled in with the
 * defaults: the local user name and 22). */
void ssh_canon(const struct remote_uri *u, char *out, size_t outlen);

#endif
