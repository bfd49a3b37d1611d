/* sep-xport.h: the one way to open a SEP transport, on the loop (issue: one client
 * transport layer). A client opens a URI (plain TCP, TLS 1.3 over TCP, or SSH) and is
 * called back once with a ready struct sep_io, or a DX_* code and a reason; a server
 * runs the TLS handshake of an accepted socket the same way. The importer and the
 * exporter use it on their loop; remote_list/remote_open (sep-cli.c) on a private one.
 * The xport keeps owning what it opened (socket, TLS session, SSH child): free the SEP
 * session first, then the xport. */
#ifndef DIPUS_SEP_XPORT_H
#define DIPUS_SEP_XPORT_H

#include <stddef.h>
#include "sep.h"
#include "uri.h"

struct loop;
struct sep_xport;
struct tls_ctx;
struct tls_conn;
struct ssh_conn;

struct sep_xport_opts {
	const char *expect_fp;   /* sep://: the exporter must show exactly this key, pinned
	                          * under any name (tls_conn_expect); NULL: known_hosts by host:port */
	unsigned timeout_ms;     /* TCP connect + TLS handshake; 0: TLS_HANDSHAKE_MS (10 s).
	                          * ssh:// has none here: its bound is SEP's hello (ssh_handshake_ms) */
	unsigned ssh_flags;      /* ssh_open flags (SSH_NO_SHARE) */
};

/* Called once, from the loop (never from inside sep_xport_open): code DX_OK and io
 * ready for sep_session_new(), or a DX_* code, err the complete reason and kind an
 * errno value telling what happened (tls.h: EACCES, EPERM, EBUSY, ...; ETIMEDOUT). */
typedef void sep_xport_fn(void *arg, int code, int kind, const struct sep_io *io, const char *err);

/* Client: open u. Never NULL; failures (even a missing feature: "sep:// is not
 * available in this build (no TLS)") come through fn. */
struct sep_xport *sep_xport_open(struct loop *lp, const struct remote_uri *u,
                                 const struct sep_xport_opts *o, sep_xport_fn *fn, void *arg);
/* Server: the TLS handshake of an accepted non-blocking socket fd (the xport owns it
 * from now on) with ctx (TLS_SERVER), peer "host:port" for messages; no time bound
 * (the caller has its own). ctx NULL: plaintext, ready at once. */
struct sep_xport *sep_xport_accept(struct loop *lp, int fd, struct tls_ctx *ctx, const char *peer,
                                   sep_xport_fn *fn, void *arg);
/* Close everything the xport opened (the socket, TLS session with close_notify, the SSH
 * child), cancel its callback. NULL is fine. */
void sep_xport_free(struct sep_xport *x);

const char *sep_xport_hostport(const struct sep_xport *x);  /* "host:port", for messages */
int sep_xport_fd(const struct sep_xport *x);                /* the socket, -1 for ssh:// */
struct tls_conn *sep_xport_tls(const struct sep_xport *x);  /* NULL without TLS */
struct ssh_conn *sep_xport_ssh(const struct sep_xport *x);  /* NULL unless ssh:// */

/* The sep_io over a TLS session on fd (the one place it is built). */
void sep_io_tls(struct sep_io *io, struct tls_conn *c, int fd);

/* How a SEP session over ssh:// failed, for ssh_failed: a SEP_E_* code (0: none, the
 * transport ended), and whether HELLO had been exchanged -> an enum ssh_why (ssh.h).
 * The one place SEP's codes become SSH's classification: a code, never the words. */
int sep_xport_ssh_why(int sep_code, int ready);

/* errno of a failure -> the DX_* exit code (keys refused by us: DX_REFUSED). */
int sep_xport_code(int kind);

#endif
