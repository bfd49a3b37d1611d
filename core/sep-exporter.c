/* sep-exporter.c: the exporter as a core module (sep-exporter.h, doc/exporter.md):
 * listening sockets, peers through the TLS handshake to a SEP session over sep-svr,
 * and the bounds that keep unauthenticated peers from crowding out the others. */
#include "sep-exporter.h"
#include "loop.h"
#include "ns.h"
#include "sep-svr.h"
#include "sep-tcp.h"
#include "sep-xport.h"
#include "sep-wire.h"
#include "util.h"
#if ENABLE_TLS
#include "tls.h"
#else
/* Without TLS only --plaintext is served: ctx and tls stay NULL. */
static const char *tls_peer_fingerprint(const struct tls_conn *c) { (void)c; return ""; }
static const char *tls_conn_suite(const struct tls_conn *c) { (void)c; return ""; }
static void tls_refuse_busy(int fd) { (void)fd; }
static void tls_ctx_refresh_authorized(struct tls_ctx *x) { (void)x; }
static int tls_ctx_load_authorized(struct tls_ctx *x, char *e, size_t n) { (void)x, (void)e, (void)n; return 0; }
static const char *tls_ctx_fingerprint(const struct tls_ctx *x) { (void)x; return ""; }
static void tls_ctx_free(struct tls_ctx *x) { (void)x; }
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Repeated pre-authentication lines (refusals, handshake failures) under a flood: the
 * first RL_BURST of a window are logged, the rest counted and summed up in one line. */
#define RL_WINDOW_MS 10000
#define RL_BURST 5

struct ratelog {
	uint64_t start;
	unsigned shown, hidden;
	const char *what;          /* "connections refused", for the summary */
};

struct peer {
	struct sep_exporter *ex;
	char addr[64];             /* "host:port", for logs */
	char ip[INET6_ADDRSTRLEN]; /* the source address, for the per-address bound */
	struct sep_xport *x;        /* owns fd, and the TLS session */
	struct tls_conn *tls;       /* sep_xport_tls(x), for the peer's fingerprint */
	struct loop_timer *hs_timer;
	int authed;                /* counted in nauth (else in npre) */
	struct sep_session *sess;
	struct sep_svr *svr;
	struct loop_timer *free_timer;
	char why[NS_ERR_MAX + 64];
	int why_limited;           /* why is a pre-authentication line (rate-limited) */
	struct peer *prev, *next;
};

struct sep_exporter {
	struct loop *lp;
	struct sep_exporter_cfg cfg;
	char listen[SEP_EXPORTER_MAX_LISTEN][300];
	int lfd[SEP_EXPORTER_MAX_LISTEN];
	unsigned nl;
	struct tls_ctx *ctx;
	struct peer *peers;
	unsigned nauth, npre;
	int running;
	struct ratelog rl_busy, rl_pre;
	struct loop_timer *rl_timer;
};

void sep_exporter_defaults(struct sep_exporter_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_peers = 64;
	cfg->max_channels = 256;
	cfg->handshake_ms = 10000;
	cfg->idle_ms = 600000;
	cfg->window = 262144;
}

/* ---- rate-limited logging ---- */

static void rl_flush(struct ratelog *rl, uint64_t now)
{
	if (rl->hidden)
		msg("%u more %s in the last %u s (not logged one by one)", rl->hidden, rl->what,
		    (unsigned)((now - rl->start + 999) / 1000));
	rl->start = now;
	rl->shown = rl->hidden = 0;
}

static void rl_tick(struct loop *lp, void *arg)
{
	struct sep_exporter *ex = arg;
	ex->rl_timer = NULL;
	uint64_t now = now_ms();
	rl_flush(&ex->rl_busy, now);
	rl_flush(&ex->rl_pre, now);
}

static void rl_msg(struct sep_exporter *ex, struct ratelog *rl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rl_msg(struct sep_exporter *ex, struct ratelog *rl, const char *fmt, ...)
{
	uint64_t now = now_ms();
	if (now - rl->start >= RL_WINDOW_MS)
		rl_flush(rl, now);
	if (rl->shown >= RL_BURST) {
		rl->hidden++;
		if (!ex->rl_timer)
			ex->rl_timer = loop_timer(ex->lp, (unsigned)(rl->start + RL_WINDOW_MS - now), rl_tick, ex);
		return;
	}
	rl->shown++;
	char line[NS_ERR_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	msg("%s", line);
}

/* ---- peers ---- */

static void peer_sep_free(struct peer *p)
{
	if (p->free_timer) {
		loop_timer_cancel(p->ex->lp, p->free_timer);
		p->free_timer = NULL;
	}
	if (p->sess) {
		sep_session_free(p->sess);
		p->sess = NULL;
	}
	sep_svr_free(p->svr);
	p->svr = NULL;
}

static void peer_close(struct peer *p, const char *why, int limited)
{
	struct sep_exporter *ex = p->ex;
	if (why) {
		const char *fp = p->tls ? tls_peer_fingerprint(p->tls) : "";
		int show_fp = fp[0] && !strstr(why, fp);
		if (limited)
			rl_msg(ex, &ex->rl_pre, "%s: %s%s%s", p->addr, why, show_fp ? ", key " : "",
			       show_fp ? fp : "");
		else
			msg("%s: %s%s%s", p->addr, why, show_fp ? ", key " : "", show_fp ? fp : "");
	}
	if (p->hs_timer)
		loop_timer_cancel(ex->lp, p->hs_timer);
	peer_sep_free(p);
	sep_xport_free(p->x);
	if (p->prev)
		p->prev->next = p->next;
	else
		ex->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->authed)
		ex->nauth--;
	else
		ex->npre--;
	free(p);
}

static void peer_free_later(struct loop *lp, void *arg)
{
	struct peer *p = arg;
	p->free_timer = NULL;
	peer_close(p, p->why[0] ? p->why : NULL, p->why_limited);
}

/* A peer leaves the pre-authentication budget: 0, or -1 when there is no room (the
 * caller tells it so). */
static int peer_promote(struct peer *p)
{
	struct sep_exporter *ex = p->ex;
	if (p->authed)
		return 0;
	if (ex->nauth >= ex->cfg.max_peers)
		return -1;
	p->authed = 1;
	ex->npre--;
	ex->nauth++;
	return 0;
}

static void peer_session_event(void *arg, int ev, int code, const char *reason)
{
	struct peer *p = arg;
	struct sep_exporter *ex = p->ex;
	if (ev == SEP_SESSION_READY) {
		if (p->hs_timer) {
			loop_timer_cancel(ex->lp, p->hs_timer);
			p->hs_timer = NULL;
		}
		if (peer_promote(p) < 0) {  /* plaintext: the handshake is the SEP one */
			snprintf(p->why, sizeof p->why, "refused: the exporter is busy (%u peers, "
			         "--max-peers %u)", ex->nauth, ex->cfg.max_peers);
			p->why_limited = 1;
			sep_session_close(p->sess, SEP_E_LIMIT, "the exporter is busy (too many peers); "
			                  "try again later");
			return;
		}
		if (ex->cfg.verbose)
			msg("%s: SEP session ready (host %s)", p->addr, sep_peer_host(p->sess));
		return;
	}
	if (ev != SEP_SESSION_CLOSED || p->free_timer)
		return;
	/* never free a session inside its own callback */
	if (p->why[0])
		;  /* said already (busy) */
	else if (code && code != SEP_E_SHUTDOWN) {
		snprintf(p->why, sizeof p->why, "dropped: %s (%s)", reason && *reason ? reason : "session failed",
		         sep_code_name(code));
		p->why_limited = !p->authed;
	} else if (ex->cfg.verbose) {
		snprintf(p->why, sizeof p->why, "closed%s%s", reason && *reason ? ": " : "", reason ? reason : "");
	}
	p->free_timer = loop_timer(ex->lp, 0, peer_free_later, p);
}

static void peer_start_sep(struct peer *p, const struct sep_io *io)
{
	struct sep_exporter *ex = p->ex;
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.max_channels = ex->cfg.max_channels;
	lim.window = ex->cfg.window;
	lim.handshake_ms = ex->cfg.handshake_ms;
	lim.idle_ms = ex->cfg.idle_ms;
	if (lim.idle_ms && lim.keepalive_ms >= lim.idle_ms)
		lim.keepalive_ms = lim.idle_ms / 3 ? lim.idle_ms / 3 : 1;
	p->svr = sep_svr_new(ex->lp, NS_EXPORTED);
	p->sess = sep_session_new(ex->lp, io, 1, &lim, &sep_svr_ops, p->svr, ns_host(),
	                          peer_session_event, p);
	if (!p->sess)
		peer_close(p, "dropped: cannot start a SEP session", 0);
}

static void peer_hs_timeout(struct loop *lp, void *arg)
{
	struct peer *p = arg;
	p->hs_timer = NULL;
	char why[96];
	snprintf(why, sizeof why, "dropped: handshake timed out after %u s (--handshake-timeout)",
	         (p->ex->cfg.handshake_ms + 999) / 1000);
	peer_close(p, why, !p->authed);
}

static void peer_ready(void *arg, int code, int kind, const struct sep_io *io, const char *err)
{
	struct peer *p = arg;
	struct sep_exporter *ex = p->ex;
	if (code != DX_OK) {
		char why[NS_ERR_MAX + 16];
		snprintf(why, sizeof why, "refused: %s", err);
		/* a port check that connects and leaves is no news, unless asked for */
		peer_close(p, kind != ENODATA || ex->cfg.verbose ? why : NULL, 1);
		return;
	}
	if (p->tls && ex->cfg.verbose)
		msg("%s: authenticated, key %s, %s", p->addr, tls_peer_fingerprint(p->tls),
		    tls_conn_suite(p->tls));   /* the suite: doc/tls.md, e2e/sep-suites */
	if (p->tls && peer_promote(p) < 0) {
		/* the peer proved its key but every slot filled meanwhile: it learns why in SEP */
		snprintf(p->why, sizeof p->why, "refused: the exporter is busy (%u peers, --max-peers %u)",
		         ex->nauth, ex->cfg.max_peers);
		p->why_limited = 1;
		peer_start_sep(p, io);
		if (p->sess)
			sep_session_close(p->sess, SEP_E_LIMIT, "the exporter is busy (too many peers); "
			                  "try again later");
		return;
	}
	peer_start_sep(p, io);
}

/* The source address of a connected socket (IPv4-mapped shown as IPv4). */
static void peer_ip(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	snprintf(buf, len, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, len);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, buf, len);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, buf, len);
	}
}

/* Tell a connection we will not serve why, as its protocol can hear it: a TLS alert
 * (the client reports "the exporter is busy"), or for plaintext SEP the preface, HELLO
 * and GOAWAY LIMIT with the reason. Best effort, never blocks. */
static void refuse_busy(struct sep_exporter *ex, int fd)
{
	if (!ex->cfg.plaintext) {
		tls_refuse_busy(fd);
		return;
	}
	uint8_t out[256], *o = out;
	memcpy(o, SEP_PREFACE, SEP_PREFACE_LEN);
	o += SEP_PREFACE_LEN;
	struct sep_hello h = { SEP_VERSION_MIN, SEP_VERSION_MAX, SEP_DEFAULT_WINDOW, 1, "" };
	snprintf(h.host, sizeof h.host, "%s", ns_host());
	size_t n = sep_build_hello(o + SEP_HDR, sizeof out - (o - out) - SEP_HDR, &h);
	if (!n)
		return;
	sep_frame_header(o, SEP_HELLO, 0, (uint32_t)n);
	o += SEP_HDR + n;
	n = sep_build_text(o + SEP_HDR, sizeof out - (o - out) - SEP_HDR, SEP_E_LIMIT,
	                   "the exporter is busy (too many peers); try again later");
	if (!n)
		return;
	sep_frame_header(o, SEP_GOAWAY, 0, (uint32_t)n);
	o += SEP_HDR + n;
	char sink[512];
	while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
		;
	if (send(fd, out, (size_t)(o - out), MSG_NOSIGNAL | MSG_DONTWAIT) == o - out)
		shutdown(fd, SHUT_WR);
}

static void on_accept(struct loop *lp, int lfd, unsigned events, void *arg)
{
	struct sep_exporter *ex = arg;
	for (int i = 0; i < 32 && ex->running; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				rl_msg(ex, &ex->rl_busy, "accept: %s", strerror(errno));
			return;
		}
		char addr[64], ip[INET6_ADDRSTRLEN];
		net_peer_name(fd, addr, sizeof addr);
		peer_ip(fd, ip, sizeof ip);
		unsigned same = 0;
		for (struct peer *q = ex->peers; q; q = q->next)
			same += !q->authed && !strcmp(q->ip, ip);
		const char *busy = NULL;
		char why[160];
		if (ex->nauth >= ex->cfg.max_peers)
			snprintf(why, sizeof why, "%u peers (--max-peers %u)", ex->nauth, ex->cfg.max_peers), busy = why;
		else if (ex->npre >= ex->cfg.max_preauth)
			snprintf(why, sizeof why, "%u peers in the handshake (at most %u)", ex->npre, ex->cfg.max_preauth), busy = why;
		else if (same >= ex->cfg.max_per_addr)
			snprintf(why, sizeof why, "%u peers of %s in the handshake (at most %u from one "
			         "address)", same, ip, ex->cfg.max_per_addr), busy = why;
		if (busy) {
			rl_msg(ex, &ex->rl_busy, "%s: refused: the exporter is busy: %s", addr, busy);
			refuse_busy(ex, fd);
			close(fd);
			continue;
		}
		struct peer *p = xcalloc(1, sizeof *p);
		p->ex = ex;

		snprintf(p->addr, sizeof p->addr, "%s", addr);
		snprintf(p->ip, sizeof p->ip, "%s", ip);
		p->next = ex->peers;
		if (ex->peers)
			ex->peers->prev = p;
		ex->peers = p;
		ex->npre++;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (ex->cfg.handshake_ms)
			p->hs_timer = loop_timer(lp, ex->cfg.handshake_ms, peer_hs_timeout, p);
		if (ex->cfg.verbose)
			msg("%s: connected", addr);
		if (ex->ctx)
			tls_ctx_refresh_authorized(ex->ctx);
		p->x = sep_xport_accept(lp, fd, ex->ctx, addr, peer_ready, p);
		p->tls = sep_xport_tls(p->x);
	}
}

/* ---- the module ---- */

struct sep_exporter *sep_exporter_bind(struct loop *lp, const struct sep_exporter_cfg *cfg,
                                       char *err, size_t errlen)
{
	struct sep_exporter *ex = xcalloc(1, sizeof *ex);
	ex->lp = lp;
	ex->cfg = *cfg;
	struct sep_exporter_cfg *c = &ex->cfg;
	if (!c->max_peers)
		c->max_peers = 64;
	if (!c->max_preauth)
		c->max_preauth = c->max_peers / 4 > 4 ? c->max_peers / 4 : 4;
	if (!c->max_per_addr)
		c->max_per_addr = c->max_preauth / 2 < 4 ? (c->max_preauth / 2 ? c->max_preauth / 2 : 1) : 4;
	if (!c->max_channels)
		c->max_channels = 256;
	if (!c->window)
		c->window = 262144;
	ex->rl_busy.what = "connections refused (the exporter is busy)";
	ex->rl_pre.what = "unauthenticated peers refused or dropped";
	for (unsigned i = 0; i < SEP_EXPORTER_MAX_LISTEN; i++)
		ex->lfd[i] = -1;
	/* the key first (as root it may be readable by root only), authorized_keys with it */
	if (!c->plaintext) {
#if ENABLE_TLS
		ex->ctx = tls_ctx_new(TLS_SERVER, err, errlen);
		if (!ex->ctx) {
			errno = ENOKEY;
			goto fail;
		}
#else
		snprintf(err, errlen, "this build has no TLS: only --plaintext can be served");
		errno = ENOTSUP;
		goto fail;
#endif
	}
	unsigned n = c->nlisten ? c->nlisten : 1;
	if (n > SEP_EXPORTER_MAX_LISTEN)
		n = SEP_EXPORTER_MAX_LISTEN;
	for (unsigned i = 0; i < n; i++) {
		const char *l = c->nlisten ? c->listen[i] : "0.0.0.0";
		const char *close_b = strrchr(l, ']');
		const char *colon = strrchr(close_b ? close_b : l, ':');
		char spec[300];
		if (xsnprintf(spec, sizeof spec, "%s%s", l, colon ? "" : ":7150") < 0) {
			snprintf(err, errlen, "--listen %.64s...: too long", l);
			errno = ENAMETOOLONG;
			goto fail;
		}
		char e[NS_ERR_MAX];
		int fd = net_listen(spec, 128, e, sizeof e);
		if (fd < 0) {
			snprintf(err, errlen, "--listen %s: %s", l, e);
			goto fail;
		}
		fd_set_nonblock(fd, 1);
		fd_set_cloexec(fd);
		snprintf(ex->listen[ex->nl], sizeof ex->listen[0], "%s", spec);
		ex->lfd[ex->nl++] = fd;
	}
	/* the configuration's strings may not outlive this call */
	for (unsigned i = 0; i < SEP_EXPORTER_MAX_LISTEN; i++)
		c->listen[i] = i < ex->nl ? ex->listen[i] : NULL;
	c->nlisten = ex->nl;
	return ex;
fail:;
	int e = errno;
	sep_exporter_stop(ex);
	errno = e;
	return NULL;
}

/* What the user we run as can reach: an exporter with nothing to offer says exactly
 * why and what to run. */
static void check_exported(void)
{
	char err[NS_ERR_MAX], dir[NS_PATH_MAX * 2];
	int fd = ns_open_dir(NS_EXPORTED, "", 0, err, sizeof err);
	if (fd >= 0) {
		close(fd);
		return;
	}
	int e = errno;
	ns_scope_dir(NS_EXPORTED, dir, sizeof dir);
	struct passwd *pw = getpwuid(geteuid());
	char who[96];
	snprintf(who, sizeof who, "user %s (uid %d)", pw ? pw->pw_name : "?", (int)geteuid());
	if (e == ENOENT)
		msg("warning: %s does not exist yet: nothing to offer until it does (as root, "
		    "'dipus mkroot' makes a shared root; or publish a service with 'dipus "
		    "export-pipe')", dir);
	else
		msg("warning: %s cannot reach %s (%s): nothing to offer; as root, run "
		    "'dipus mkroot %s' (a shared root: every user may reach exported/), or start the "
		    "exporter with -u a user who can reach it", who, dir, err, ns_root());
}

void sep_exporter_run(struct sep_exporter *ex)
{
	if (ex->running)
		return;
	check_exported();
	ex->running = 1;
	for (unsigned i = 0; i < ex->nl; i++) {
		loop_watch(ex->lp, ex->lfd[i], LOOP_IN, on_accept, ex);
		if (ex->cfg.verbose)
			msg("listening on %s (%s), as uid %d", ex->listen[i],
			    ex->cfg.plaintext ? "plaintext SEP" : "TLS 1.3", (int)geteuid());
	}
}

int sep_exporter_reload_keys(struct sep_exporter *ex, char *err, size_t errlen)
{
	if (!ex->ctx)
		return 0;
	return tls_ctx_load_authorized(ex->ctx, err, errlen);
}

size_t sep_exporter_addrs(const struct sep_exporter *ex, char out[][64], size_t max)
{
	size_t k = 0;
	for (unsigned i = 0; i < ex->nl && k < max; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		char h[INET6_ADDRSTRLEN];
		if (getsockname(ex->lfd[i], (struct sockaddr *)&ss, &sl) < 0)
			continue;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
			snprintf(out[k++], 64, "%s:%u", h, ntohs(a->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
			snprintf(out[k++], 64, "[%s]:%u", h, ntohs(a->sin6_port));
		}
	}
	return k;
}

const char *sep_exporter_fingerprint(const struct sep_exporter *ex)
{
	return ex->ctx ? tls_ctx_fingerprint(ex->ctx) : "";
}

void sep_exporter_stop(struct sep_exporter *ex)
{
	if (!ex)
		return;
	ex->running = 0;
	for (unsigned i = 0; i < ex->nl; i++) {
		loop_unwatch(ex->lp, ex->lfd[i]);
		close(ex->lfd[i]);
	}
	ex->nl = 0;
	while (ex->peers) {
		struct peer *p = ex->peers;
		if (p->sess)
			sep_session_close(p->sess, SEP_E_SHUTDOWN, "exporter shutting down");
		peer_close(p, ex->cfg.verbose ? "closed: exporter shutting down" : NULL, 0);
	}
	if (ex->rl_timer)
		loop_timer_cancel(ex->lp, ex->rl_timer);
	uint64_t now = now_ms();
	rl_flush(&ex->rl_busy, now);
	rl_flush(&ex->rl_pre, now);
	tls_ctx_free(ex->ctx);
	free(ex);
}
