/* sep-xport.c: opening a SEP transport on the loop (sep-xport.h). */
#include "sep-xport.h"
#include "loop.h"
#include "sep-tcp.h"
#include "util.h"
#if ENABLE_TLS
#include "tls.h"
#endif
#if ENABLE_SSH
#include "ssh.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XP_DEFAULT_MS 10000

enum { XP_TCP, XP_TLS, XP_DONE };

struct sep_xport {
	struct loop *lp;
	sep_xport_fn *fn;
	void *arg;
	int state, scheme, server, watching;
	int fd;
	char host[256];
	unsigned port;
	char hostport[300];
	struct loop_timer *timer, *kick, *step;
	struct tls_ctx *ctx;
	int own_ctx;
	struct tls_conn *tls;
	struct ssh_conn *ssh;
	char expect[80];
	struct sep_io io;
	int code, kind;
	char err[NS_ERR_MAX];
};

int sep_xport_code(int kind)
{
	return dx_errno(kind, DX_REMOTE);
}

void sep_io_tls(struct sep_io *io, struct tls_conn *c, int fd)
{
#if ENABLE_TLS
	*io = (struct sep_io){ .ctx = c, .read = tls_read, .write = tls_write, .pending = tls_pending,
	                       .wants_write = tls_wants_write, .idle = tls_idle, .rfd = fd, .wfd = fd };
#else
	(void)c;
	sep_io_fd(io, fd, fd);
#endif
}

static void xp_stop_waiting(struct sep_xport *x)
{
	if (x->timer)
		loop_timer_cancel(x->lp, x->timer);
	x->timer = NULL;
	if (x->watching)
		loop_unwatch(x->lp, x->fd);
	x->watching = 0;
}

static void xp_call(struct loop *lp, void *arg)
{
	struct sep_xport *x = arg;
	x->kick = NULL;
	sep_xport_fn *fn = x->fn;
	x->fn = NULL;
	if (fn)
		fn(x->arg, x->code, x->kind, x->code == DX_OK ? &x->io : NULL, x->err);
}

/* The end of the attempt: tell the caller (later if we are inside sep_xport_open). */
static void xp_finish(struct sep_xport *x, int code, int kind, const char *err, int later)
{
	xp_stop_waiting(x);
	x->state = XP_DONE;
	x->code = code;
	x->kind = kind;
	snprintf(x->err, sizeof x->err, "%s", err ? err : "");
	if (code == DX_OK) {
		if (0) {
#if ENABLE_SSH
		} else if (x->ssh) {
			sep_io_fd(&x->io, ssh_rfd(x->ssh), ssh_wfd(x->ssh));
#endif
		} else if (x->tls) {
			sep_io_tls(&x->io, x->tls, x->fd);
		} else {
			sep_io_fd(&x->io, x->fd, x->fd);
		}
	}
	if (later)
		x->kick = loop_timer(x->lp, 0, xp_call, x);
	else
		xp_call(x->lp, x);
}

#if ENABLE_TLS
static void xp_tls_step(struct sep_xport *x)
{
	char err[NS_ERR_MAX];
	int r = tls_handshake(x->tls, err, sizeof err);
	if (r == 1 || r == 2) {
		loop_events(x->lp, x->fd, r == 1 ? LOOP_IN : LOOP_OUT);
		return;
	}
	if (r < 0) {
		int kind = errno;
		xp_finish(x, sep_xport_code(kind), kind, err, 0);
		return;
	}
	xp_finish(x, DX_OK, 0, NULL, 0);
}
#endif

#if ENABLE_TLS
static void xp_first_step(struct loop *lp, void *arg)
{
	struct sep_xport *x = arg;
	x->step = NULL;
	xp_tls_step(x);
}
#endif

static void xp_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct sep_xport *x = arg;
	char err[NS_ERR_MAX];
	if (x->state == XP_TCP) {
		int r = sep_tcp_connect_check(fd, x->host, x->port, err, sizeof err);
		if (r == 1)
			return;
		if (r < 0) {
			xp_finish(x, DX_REMOTE, errno, err, 0);
			return;
		}
		if (x->scheme == REMOTE_SEP_PLAIN) {
			xp_finish(x, DX_OK, 0, NULL, 0);
			return;
		}
#if ENABLE_TLS
		x->state = XP_TLS;
		x->tls = tls_conn_new(x->ctx, fd, x->hostport, 0);
		if (!x->tls) {
			snprintf(err, sizeof err, "%s: cannot start a TLS session", x->hostport);
			xp_finish(x, DX_REMOTE, ENOMEM, err, 0);
			return;
		}
		if (x->expect[0])
			tls_conn_expect(x->tls, x->expect);
#endif
	}
#if ENABLE_TLS
	if (x->state == XP_TLS)
		xp_tls_step(x);
#endif
}

static void xp_timeout(struct loop *lp, void *arg)
{
	struct sep_xport *x = arg;
	x->timer = NULL;
	char err[NS_ERR_MAX];
	snprintf(err, sizeof err, "%s: %s timed out", x->hostport,
	         x->state == XP_TCP ? "connect" : "TLS handshake");
	xp_finish(x, DX_REMOTE, ETIMEDOUT, err, 0);
}

struct sep_xport *sep_xport_open(struct loop *lp, const struct remote_uri *u,
                                 const struct sep_xport_opts *o, sep_xport_fn *fn, void *arg)
{
	struct sep_xport *x = xcalloc(1, sizeof *x);
	x->lp = lp;
	x->fn = fn;
	x->arg = arg;
	x->fd = -1;
	x->scheme = u->scheme;
	x->port = remote_port(u);
	snprintf(x->host, sizeof x->host, "%s", u->host);
	snprintf(x->hostport, sizeof x->hostport, "%s:%u", u->host, x->port);
	char err[NS_ERR_MAX];
	if (u->scheme == REMOTE_SSH) {
#if ENABLE_SSH
		int code;
		x->ssh = ssh_open(u, o ? o->ssh_flags : 0, &code, err, sizeof err);
		if (!x->ssh)
			xp_finish(x, code, EIO, err, 1);
		else
			xp_finish(x, DX_OK, 0, NULL, 1);
#else
		snprintf(err, sizeof err, "ssh://%s: ssh:// is not available in this build (no SSH)", u->host);
		xp_finish(x, dx_errno(ENOTSUP, DX_REMOTE), ENOTSUP, err, 1);
#endif
		return x;
	}
	if (u->scheme == REMOTE_SEP) {
#if ENABLE_TLS
		if (o && o->expect_fp)
			snprintf(x->expect, sizeof x->expect, "%s", o->expect_fp);
		x->ctx = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		x->own_ctx = 1;
		if (!x->ctx) {
			xp_finish(x, dx_errno(errno, DX_REFUSED), errno, err, 1);
			return x;
		}
#else
		snprintf(err, sizeof err, "%s: sep:// is not available in this build (no TLS; "
		         "sep+plain:// is)", x->hostport);
		xp_finish(x, dx_errno(ENOTSUP, DX_REMOTE), ENOTSUP, err, 1);
		return x;
#endif
	}
	x->fd = sep_tcp_connect_start(u->host, x->port, err, sizeof err);
	if (x->fd < 0) {
		xp_finish(x, DX_REMOTE, errno, err, 1);
		return x;
	}
	x->state = XP_TCP;
	x->timer = loop_timer(lp, o && o->timeout_ms ? o->timeout_ms : XP_DEFAULT_MS, xp_timeout, x);
	loop_watch(lp, x->fd, LOOP_OUT, xp_io, x);
	x->watching = 1;
	return x;
}

struct sep_xport *sep_xport_accept(struct loop *lp, int fd, struct tls_ctx *ctx, const char *peer,
                                   sep_xport_fn *fn, void *arg)
{
	struct sep_xport *x = xcalloc(1, sizeof *x);
	x->lp = lp;
	x->fn = fn;
	x->arg = arg;
	x->fd = fd;
	x->server = 1;
	snprintf(x->hostport, sizeof x->hostport, "%s", peer ? peer : "");
	if (!ctx) {
		xp_finish(x, DX_OK, 0, NULL, 1);
		return x;
	}
#if ENABLE_TLS
	x->ctx = ctx;
	x->tls = tls_conn_new(ctx, fd, peer, 0);
	if (!x->tls) {
		char err[NS_ERR_MAX];
		snprintf(err, sizeof err, "cannot start a TLS session (out of memory?)");
		xp_finish(x, DX_REMOTE, ENOMEM, err, 1);
		return x;
	}
	x->state = XP_TLS;
	loop_watch(lp, fd, LOOP_IN, xp_io, x);
	x->watching = 1;
	/* the first step on the loop too: the callback never runs inside this call */
	x->step = loop_timer(lp, 0, xp_first_step, x);
#endif
	return x;
}

void sep_xport_free(struct sep_xport *x)
{
	if (!x)
		return;
	xp_stop_waiting(x);
	if (x->kick)
		loop_timer_cancel(x->lp, x->kick);
	if (x->step)
		loop_timer_cancel(x->lp, x->step);
#if ENABLE_TLS
	if (x->tls)
		tls_conn_free(x->tls);
	if (x->own_ctx)
		tls_ctx_free(x->ctx);
#endif
#if ENABLE_SSH
	if (x->ssh)
		ssh_close(x->ssh);
#endif
	if (x->fd >= 0)
		close(x->fd);
	free(x);
}

const char *sep_xport_hostport(const struct sep_xport *x) { return x->hostport; }
int sep_xport_fd(const struct sep_xport *x) { return x->fd; }
struct tls_conn *sep_xport_tls(const struct sep_xport *x) { return x->tls; }
struct ssh_conn *sep_xport_ssh(const struct sep_xport *x) { return x->ssh; }

int sep_xport_ssh_why(int sep_code, int ready)
{
#if ENABLE_SSH
	if (sep_code == SEP_E_TIMEOUT)
		return SSH_WHY_TIMEOUT;
	if (sep_code == SEP_E_VERSION)
		return SSH_WHY_VERSION;
	if (sep_code == SEP_E_PROTOCOL && !ready)
		return SSH_WHY_NOT_SEP;  /* its first bytes were not SEP's preface */
	return SSH_WHY_ENDED;
#else
	(void)sep_code;
	(void)ready;
	return 0;
#endif
}
