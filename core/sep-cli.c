/* sep-cli.c: the client side of SEP: remote URIs for dls, dcat, import (core/remote.h).
 *
 * sep:// and sep+plain:// run the SEP client session over TCP (+TLS 1.3, known_hosts
 * pinning); ssh:// over the SSH transport (core/ssh.h). */
#include "remote.h"
#include "util.h"
#if ENABLE_TLS
#include "tls.h"
#endif
#include "sep-cli.h"
#include "sep.h"
#include "loop.h"
#if ENABLE_SSH
#include "ssh.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- URIs ---- */

static const struct {
	const char *prefix;
	enum remote_scheme scheme;
} schemes[] = {
	{ "sep://", REMOTE_SEP },
	{ "sep+plain://", REMOTE_SEP_PLAIN },
	{ "ssh://", REMOTE_SSH },
};

int remote_is_uri(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (!strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix)))
			return 1;
	return 0;
}

/* scheme://[user@]host[:port][/QUERY]; host may be [v6]. The query is passed to the
 * remote as it is (no percent-decoding, no normalisation): the remote's resolver
 * decides, so "%2e%2e" is a literal name and "../x" or "/abs" are refused there. */
int remote_parse(const char *s, struct remote_uri *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *p = NULL;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (!strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix))) {
			u->scheme = schemes[i].scheme;
			p = s + strlen(schemes[i].prefix);
			break;
		}
	if (!p) {
		snprintf(err, errlen, "%s: not a remote URI (sep://, sep+plain:// or ssh://)", s);
		return -1;
	}
	const char *slash = strchr(p, '/');
	size_t alen = slash ? (size_t)(slash - p) : strlen(p);
	char auth[512];
	if (alen >= sizeof auth) {
		snprintf(err, errlen, "%.64s...: host part too long", s);
		return -1;
	}
	memcpy(auth, p, alen);
	auth[alen] = 0;
	char *h = auth;
	char *at = strrchr(auth, '@');
	if (at) {
		if (u->scheme != REMOTE_SSH) {
			snprintf(err, errlen, "%s: a user name is only meaningful for ssh://", s);
			return -1;
		}
		*at = 0;
		if (!auth[0] || strlen(auth) >= sizeof u->user) {
			snprintf(err, errlen, "%s: bad user name", s);
			return -1;
		}
		strcpy(u->user, auth);
		h = at + 1;
	}
	char *port = NULL;
	if (*h == '[') {
		char *e = strchr(h, ']');
		if (!e || (e[1] && e[1] != ':')) {
			snprintf(err, errlen, "%s: bad [address]", s);
			return -1;
		}
		*e = 0;
		h++;
		if (e[1] == ':')
			port = e + 2;
	} else {
		char *c = strchr(h, ':');
		if (c) {
			*c = 0;
			port = c + 1;
		}
	}
	if (!*h) {
		snprintf(err, errlen, "%s: no host", s);
		return -1;
	}
	if (strlen(h) >= sizeof u->host) {
		snprintf(err, errlen, "%.64s...: host name too long", s);
		return -1;
	}
	for (const char *c = h; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@' || *c == '\\') {
			snprintf(err, errlen, "%s: bad host name", s);
			return -1;
		}
	strcpy(u->host, h);
	if (port) {
		unsigned long v;
		if (parse_uint(port, 1, 65535, &v)) {
			snprintf(err, errlen, "%s: bad port '%s' (1-65535)", s, port);
			return -1;
		}
		u->port = v;
	}
	if (slash) {
		const char *q = slash + 1;
		if (strlen(q) >= sizeof u->query) {
			snprintf(err, errlen, "%.64s...: query too long", s);
			return -1;
		}
		strcpy(u->query, q);
	}
	return 0;
}

/* ---- TCP ---- */

/* Start a nonblocking TCP connect to host:port (first address that does not fail at
 * once). Returns the fd (connect may be in progress) or -1 with err. */
int sep_tcp_connect_start(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char ps[8];
	snprintf(ps, sizeof ps, "%u", port);
	int r = getaddrinfo(host, ps, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%s:%u: %s", host, port, gai_strerror(r));
		return -1;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(e ? e : ECONNREFUSED));
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* 0 connected, 1 still in progress, -1 failed (err). */
int sep_tcp_connect_check(int fd, const char *host, unsigned port, char *err, size_t errlen)
{
	int e = 0;
	socklen_t l = sizeof e;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return 1;
	if (e) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(e));
		return -1;
	}
	return 0;
}

/* ---- the transport under a synchronous client session (dls, dcat) ---- */

struct xport {
	int fd;
	int rfd, wfd;
#if ENABLE_TLS
	struct tls_ctx *ctx;
	struct tls_conn *tls;
#endif
#if ENABLE_SSH
	struct ssh_conn *ssh;
#endif
	char hostport[300];
};

static void xport_close(struct xport *x)
{
#if ENABLE_TLS
	if (x->tls)
		tls_conn_free(x->tls);
	x->tls = NULL;
	tls_ctx_free(x->ctx);
	x->ctx = NULL;
#endif
#if ENABLE_SSH
	if (x->ssh)
		ssh_close(x->ssh);
	x->ssh = NULL;
#endif
	if (x->fd >= 0)
		close(x->fd);
	x->fd = x->rfd = x->wfd = -1;
}

/* A refusal of keys is DX_REFUSED (the user must act: trust, authorize); the rest is
 * DX_REMOTE. */
static int tls_code(const char *err)
{
	return strstr(err, "CHANGED") || strstr(err, "unknown exporter key") ? DX_REFUSED : DX_REMOTE;
}

static int xport_open(const struct remote_uri *u, struct xport *x, int *code, char *err,
                      size_t errlen)
{
	memset(x, 0, sizeof *x);
	x->fd = x->rfd = x->wfd = -1;
	*code = DX_REMOTE;
	if (u->scheme == REMOTE_SSH) {
#if ENABLE_SSH
		x->ssh = ssh_open(u, 0, code, err, errlen);
		if (!x->ssh)
			return -1;
		x->rfd = ssh_rfd(x->ssh);
		x->wfd = ssh_wfd(x->ssh);
		return 0;
#else
		snprintf(err, errlen, "ssh://%s: ssh:// is not available in this build", u->host);
		return -1;
#endif
	}
	unsigned port = u->port ? u->port : SEP_DEFAULT_PORT;
	snprintf(x->hostport, sizeof x->hostport, "%s:%u", u->host, port);
#if ENABLE_TLS
	x->fd = net_connect(u->host, port, TLS_HANDSHAKE_MS, err, errlen);
#else
	x->fd = -1;
	snprintf(err, errlen, "%s: sep:// is not available in this build (no TLS)", x->hostport);
#endif
	if (x->fd < 0)
		return -1;
	x->rfd = x->wfd = x->fd;
	if (u->scheme == REMOTE_SEP_PLAIN)
		return 0;
#if ENABLE_TLS
	x->ctx = tls_ctx_new(TLS_CLIENT, err, errlen);
	if (!x->ctx) {
		*code = DX_REFUSED;
		xport_close(x);
		return -1;
	}
	x->tls = tls_conn_new(x->ctx, x->fd, x->hostport, 0);
	if (!x->tls || tls_handshake_wait(x->tls, TLS_HANDSHAKE_MS, err, errlen) < 0) {
		if (!x->tls)
			snprintf(err, errlen, "%s: cannot start a TLS session", x->hostport);
		*code = tls_code(err);
		xport_close(x);
		return -1;
	}
#endif
	return 0;
}

/* ---- a synchronous client session (dls, dcat's helper) ---- */

struct csess {
	struct loop *lp;
	struct sep_session *s;
	const struct remote_uri *u;
	char uristr[300];
	int done, code;             /* code: DX_* */
	char err[NS_ERR_MAX];
	struct ns_list *out;
	int count;
	int fd, stfd;               /* remote_open: the bridged end, the status pipe */
	int accepted;
	struct loop_timer *timer;
#if ENABLE_SSH
	struct ssh_conn *ssh;       /* remote_open over the embedded dbclient: direct channels */
	int mux_ready, direct;      /* direct: 1 asked, 2 opened */
	struct ns_service first;    /* the LIST's first match, the direct channel's target */
	int have_first;
#endif
};

#if ENABLE_TLS
#define TLS_HS_MS TLS_HANDSHAKE_MS
#else
#define TLS_HS_MS 10000
#endif

static int sep_to_dx(int code)
{
	switch (code) {
	case SEP_E_NOSERVICE: return DX_NOMATCH;
	case SEP_E_REFUSED: return DX_NOMATCH;
	case SEP_E_BADQUERY: return DX_REFUSED;
	default: return DX_REMOTE;
	}
}

static void cs_finish(struct csess *c, int code, const char *fmt, const char *a, const char *b)
{
	if (c->done)
		return;
	c->done = 1;
	c->code = code;
	if (fmt)
		snprintf(c->err, sizeof c->err, fmt, a ? a : "", b ? b : "");
	loop_stop(c->lp, 0);
}

static void cs_list_rec(void *arg, int event, const struct ns_service *s, int code, const char *text)
{
	struct csess *c = arg;
	if (event == SEP_REC_PRESENT) {
		struct ns_list *l = c->out;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->v = xrealloc(l->v, l->cap * sizeof *l->v);
		}
		struct ns_service v = *s;
		char base[600];
		snprintf(base, sizeof base, "%s", c->uristr);
		char *sl = strstr(base, "://");
		sl = sl ? strchr(sl + 3, '/') : NULL;
		if (sl)
			*sl = 0;
		if (xsnprintf(v.path, sizeof v.path, "%s/%s", base, s->rel))
			v.path[0] = 0;
		l->v[l->n++] = v;
		c->count++;
	} else if (event == SEP_REC_END) {
		cs_finish(c, DX_OK, NULL, NULL, NULL);
	} else if (event == SEP_REC_ERROR) {
		if (code == SEP_E_NOSERVICE)
			cs_finish(c, DX_OK, NULL, NULL, NULL);
		else
			cs_finish(c, sep_to_dx(code), "%s: %s", c->uristr, text && *text ? text : sep_code_name(code));
	}
}

static void cs_chan(void *arg, int ev, int code, const char *text)
{
	struct csess *c = arg;
	if (ev == SEP_CH_ACCEPTED) {
		c->accepted = 1;
		if (c->timer)
			loop_timer_cancel(c->lp, c->timer);
		c->timer = NULL;
		char ok = 0;
		if (write(c->stfd, &ok, 1) < 0) {}
		close(c->stfd);
		c->stfd = -1;
		if (!getenv("DIPUS_DEBUG")) {
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, 2);
				close(null);
			}
		}
		return;
	}
	if (ev == SEP_CH_CLOSED) {
		if (c->accepted)
			cs_finish(c, DX_OK, NULL, NULL, NULL);
		else
			cs_finish(c, code ? sep_to_dx(code) : DX_REMOTE, "%s: %s", c->uristr,
			          text && *text ? text : sep_code_name(code));
	}
}

static void cs_connect(struct csess *c)
{
	if (sep_connect(c->s, c->u->query, c->fd, c->fd, cs_chan, c))
		c->fd = -1;  /* the engine owns it now */
	else
		cs_finish(c, DX_REMOTE, "%s: %s", c->uristr, "the session cannot open a channel");
}

#if ENABLE_SSH
/* remote_open over the embedded dbclient (doc/ssh.md "Bulk data"): LIST the query,
 * then ask dbclient for a direct-streamlocal channel to the first match's socket
 * (serve's PATHS + its path), which dbclient relays to our end of the socketpair
 * itself; on any refusal, SEP's CONNECT as without. */
static void cs_pick_rec(void *arg, int event, const struct ns_service *s, int code, const char *text)
{
	struct csess *c = arg;
	if (event == SEP_REC_PRESENT && !c->have_first) {
		c->first = *s;
		c->have_first = 1;
	}
	if (event != SEP_REC_END && event != SEP_REC_ERROR)
		return;
	const char *dir = c->have_first ? sep_peer_dir(c->s, c->first.scope) : NULL;
	char path[NS_PATH_MAX];
	if (dir && c->mux_ready && !xsnprintf(path, sizeof path, "%s/%s", dir, c->first.rel) &&
	    ssh_direct_open(c->ssh, 1, c->fd, c->fd, path) == 0) {
		c->direct = 1;
		return;
	}
	cs_connect(c);  /* no match, an error, or no direct channel: SEP says what it is */
}

static void cs_mux_reply(void *arg, uint32_t id, int kind, const char *text)
{
	struct csess *c = arg;
	if (kind == SSH_DIRECT_READY) {
		c->mux_ready = 1;
	} else if (kind == SSH_DIRECT_OPENED && c->direct == 1) {
		c->direct = 2;
		close(c->fd);  /* dbclient relays it */
		c->fd = -1;
		cs_chan(c, SEP_CH_ACCEPTED, 0, "");
	} else if (kind == SSH_DIRECT_FAILED && c->direct == 1) {
		msg_debug("%s: direct channel refused (%s): over SEP", c->uristr, text);
		c->direct = 0;
		cs_connect(c);
	} else if (kind == SSH_DIRECT_CLOSED && c->direct == 2) {
		cs_finish(c, DX_OK, NULL, NULL, NULL);
	}
}

static void cs_mux_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct csess *c = arg;
	if (ssh_direct_replies(c->ssh, lp, cs_mux_reply, c) == 0)
		return;
	/* dbclient is gone: with the data, if it carried it; else SEP tries */
	if (c->direct == 2)
		cs_finish(c, DX_OK, NULL, NULL, NULL);
	else if (c->direct == 1)
		cs_connect(c);
	c->direct = 0;
}
#endif

static void cs_event(void *arg, int ev, int code, const char *reason)
{
	struct csess *c = arg;
	if (ev == SEP_SESSION_READY) {
		sep_record_fn *on_rec = c->out ? cs_list_rec : NULL;
#if ENABLE_SSH
		if (!c->out && c->ssh && ssh_mux_fd(c->ssh) >= 0)
			on_rec = cs_pick_rec;  /* LIST, then a direct channel to the first match */
#endif
		if (!on_rec)
			return cs_connect(c);
		if (!sep_list(c->s, c->u->query, on_rec, c))
			cs_finish(c, DX_REMOTE, "%s: %s", c->uristr, "the session cannot open a channel");
		return;
	}
	if (ev == SEP_SESSION_CLOSED) {
		char why[NS_ERR_MAX];
		snprintf(why, sizeof why, "%s (%s)", reason && *reason ? reason : "session closed",
		         sep_code_name(code));
		if (c->u->scheme == REMOTE_SEP_PLAIN && !sep_session_ready(c->s) && strlen(why) < 300)
			strcat(why, "; is it a TLS exporter? then use sep://");
		cs_finish(c, DX_REMOTE, "%s: %s", c->uristr, why);
	}
}

static void cs_timeout(struct loop *lp, void *arg)
{
	struct csess *c = arg;
	c->timer = NULL;
	cs_finish(c, DX_REMOTE, "%s: %s", c->uristr, "no answer in time (SEP handshake)");
}

/* Run a session over x until the list is complete or the channel is accepted/over. */
static int cs_run(struct csess *c, struct xport *x, unsigned timeout_ms)
{
	struct sep_io io;
#if ENABLE_TLS
	if (x->tls)
		io = (struct sep_io){ .ctx = x->tls, .read = tls_read, .write = tls_write,
		                      .pending = tls_pending, .wants_write = tls_wants_write,
		                      .rfd = x->fd, .wfd = x->fd };
	else
#endif
		sep_io_fd(&io, x->rfd, x->wfd);
	c->lp = loop_new();
	struct sep_limits lim;
	sep_limits_default(&lim);
	c->s = sep_session_new(c->lp, &io, 0, &lim, NULL, NULL, ns_host(), cs_event, c);
	if (!c->s) {
		snprintf(c->err, sizeof c->err, "%.300s: cannot start a SEP session", c->uristr);
		c->code = DX_REMOTE;
		loop_free(c->lp);
		return -1;
	}
	c->timer = timeout_ms ? loop_timer(c->lp, timeout_ms, cs_timeout, c) : NULL;
#if ENABLE_SSH
	c->ssh = NULL;
	if (x->ssh && !c->out && c->fd >= 0 && ssh_mux_fd(x->ssh) >= 0 &&
	    loop_watch(c->lp, ssh_mux_fd(x->ssh), LOOP_IN, cs_mux_io, c) == 0)
		c->ssh = x->ssh;
#endif
	loop_run(c->lp);
	if (c->timer && !c->done)
		loop_timer_cancel(c->lp, c->timer);
	return c->done ? 0 : -1;
}

static void cs_end(struct csess *c)
{
	if (c->s)
		sep_session_free(c->s);
	c->s = NULL;
	if (c->lp)
		loop_free(c->lp);
	c->lp = NULL;
}

#if ENABLE_SSH
static void ssh_reason(struct xport *x, struct csess *c)
{
	if (x->ssh && c->code == DX_REMOTE) {
		char e[NS_ERR_MAX];
		c->code = ssh_failed(x->ssh, c->err, e, sizeof e);
		snprintf(c->err, sizeof c->err, "%s", e);
	}
}
#endif

int remote_list(const char *uri, struct ns_list *out, int *code, char *err, size_t errlen)
{
	struct remote_uri u;
	*code = DX_USAGE;
	if (remote_parse(uri, &u, err, errlen) < 0)
		return -1;
	struct xport x;
	if (xport_open(&u, &x, code, err, errlen) < 0)
		return -1;
	struct csess c = { .u = &u, .out = out, .fd = -1, .stfd = -1 };
	snprintf(c.uristr, sizeof c.uristr, "%s", uri);
	unsigned ms = TLS_HS_MS;
#if ENABLE_SSH
	if (x.ssh)
		ms = ssh_handshake_ms();
#endif
	cs_run(&c, &x, ms + 10000);
	cs_end(&c);
#if ENABLE_SSH
	ssh_reason(&x, &c);
#endif
	xport_close(&x);
	if (c.code != DX_OK) {
		*code = c.code;
		snprintf(err, errlen, "%s", c.err);
		return -1;
	}
	*code = DX_OK;
	return c.count;
}

/* The helper process of remote_open: connect, open the channel on fd, report on stfd,
 * relay until the channel ends. */
static int helper_run(const struct remote_uri *u, const char *uri, int fd, int stfd)
{
	char err[NS_ERR_MAX];
	int code;
	struct xport x;
	struct csess c = { .u = u, .fd = fd, .stfd = stfd };
	snprintf(c.uristr, sizeof c.uristr, "%s", uri);
	if (xport_open(u, &x, &code, err, sizeof err) < 0) {
		c.code = code;
		snprintf(c.err, sizeof c.err, "%s", err);
	} else {
		unsigned ms = TLS_HS_MS;
#if ENABLE_SSH
		if (x.ssh)
			ms = ssh_handshake_ms();
#endif
		/* the timeout covers the handshake and the CONNECT; then the channel runs freely */
		c.lp = NULL;
		cs_run(&c, &x, ms + 10000);
		cs_end(&c);
#if ENABLE_SSH
		if (!c.accepted)
			ssh_reason(&x, &c);
#endif
		xport_close(&x);
	}
	if (c.stfd >= 0) {
		char buf[NS_ERR_MAX + 1];
		buf[0] = (char)(c.code ? c.code : DX_REMOTE);
		size_t n = strlen(c.err);
		memcpy(buf + 1, c.err, n);
		if (write_all(c.stfd, buf, n + 1) < 0) {}
		close(c.stfd);
	}
	if (c.fd >= 0)
		close(c.fd);
	return c.accepted ? 0 : c.code;
}

/* remote_open: a helper process runs the SEP session and bridges one end of a
 * socketpair to the remote channel; the caller gets the other end, an ordinary
 * connected stream socket (half-close works: the helper maps shutdown/EOF to SEP
 * half-close both ways). The helper is a grandchild (the intermediate child exits at
 * once and is reaped here), so no zombie is ever left; it exits when the channel ends.
 * It reports "connected" or the failure (code and reason) through a pipe before the
 * caller returns. Cost: one fork per remote_open, one more copy of the data. */
static void helper_fds(int *keep, int nkeep)
{
	/* move what we keep to 3.., /dev/null on 0 and 1, close the rest */
	int tmp[8];
	for (int i = 0; i < nkeep; i++)
		tmp[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 64);
	for (int i = 0; i < nkeep; i++) {
		dup3(tmp[i], 3 + i, O_CLOEXEC);
		close(tmp[i]);
		keep[i] = 3 + i;
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		int dfd = dirfd(d);
		while ((e = readdir(d))) {
			char *end;
			long fd = strtol(e->d_name, &end, 10);
			if (*end || fd <= 2 + nkeep || fd == dfd)
				continue;
			close((int)fd);
		}
		closedir(d);
	}
}

int remote_open(const char *uri, int *code, char *err, size_t errlen)
{
	struct remote_uri u;
	*code = DX_USAGE;
	if (remote_parse(uri, &u, err, errlen) < 0)
		return -1;
	*code = DX_IO;
	int sp[2], st[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sp[0]); close(sp[1]); close(st[0]); close(st[1]);
		return -1;
	}
	if (pid == 0) {
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		int keep[2] = { sp[1], st[1] };
		close(sp[0]);
		close(st[0]);
		helper_fds(keep, 2);
		signal(SIGPIPE, SIG_IGN);
		_exit(helper_run(&u, uri, keep[0], keep[1]));
	}
	close(sp[1]);
	close(st[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* status: one byte code (0: connected), then the reason */
	char buf[NS_ERR_MAX + 1];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(st[0], buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (buf[0] == 0 || got == sizeof buf - 1)
			break;
	}
	close(st[0]);
	if (got >= 1 && buf[0] == 0) {
		*code = DX_OK;
		return sp[0];
	}
	buf[got] = 0;
	*code = got >= 1 ? (unsigned char)buf[0] : DX_REMOTE;
	snprintf(err, errlen, "%s", got > 1 ? buf + 1 : "the SEP helper process failed");
	close(sp[0]);
	return -1;
}
