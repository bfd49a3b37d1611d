/* sep-cli.c: the client side of SEP: remote URIs for dls, dcat, import (core/remote.h).
 *
 * sep:// and sep+plain:// run the SEP client session over TCP (+TLS 1.3, known_hosts
 * pinning); ssh:// over the SSH transport (core/ssh.h). */
#include "remote.h"
#include "util.h"
#include "sep-xport.h"
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
	int ssh_why;                /* ssh://: how the SEP session failed (sep_xport_ssh_why) */
	int accepted;
	struct loop_timer *timer;
	struct sep_xport *x;        /* the transport */
	struct sep_io io;
	int xport_done;
#if ENABLE_SSH
	struct ssh_conn *ssh;       /* remote_open over the embedded dbclient: direct channels */
	int mux_ready, direct;      /* direct: 1 asked, 2 opened */
	struct ns_service first;    /* the LIST's first match, the direct channel's target */
	int have_first;
#endif
};

#define TLS_HS_MS 10000  /* connect + TLS handshake (sep_xport's default) */

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
		/* "connected"; the pipe stays open for how the transfer ends (remote_end) */
		char ok = 0;
		if (write(c->stfd, &ok, 1) < 0) {}
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
		if (c->accepted && !code)
			cs_finish(c, DX_OK, NULL, NULL, NULL);
		else if (c->accepted)  /* RESET, or the session lost: the data is cut short */
			cs_finish(c, DX_REMOTE, "%s: transfer cut short: %s", c->uristr,
			          text && *text ? text : sep_code_name(code));
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

static void cs_mux_reply(void *arg, uint32_t id, int kind, int code, const char *text)
{
	struct csess *c = arg;
	if (kind == DIPUSMUX_READY) {
		c->mux_ready = 1;
	} else if (kind == DIPUSMUX_OPENED && c->direct == 1) {
		c->direct = 2;
		close(c->fd);  /* dbclient relays it */
		c->fd = -1;
		cs_chan(c, SEP_CH_ACCEPTED, 0, "");
	} else if (kind == DIPUSMUX_FAILED && c->direct == 1) {
		msg_debug("%s: direct channel refused (%s): over SEP", c->uristr, text);
		c->direct = 0;
		cs_connect(c);
	} else if (kind == DIPUSMUX_CLOSED && c->direct == 2) {
		cs_finish(c, DX_OK, NULL, NULL, NULL);
	} else if (kind == DIPUSMUX_CUT && c->direct == 2) {
		/* the session went before the channel's close: what arrived may be short */
		cs_finish(c, DX_REMOTE, "%s: transfer cut short: the SSH session ended (%s)",
		          c->uristr, text);
	}
}

static void cs_mux_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct csess *c = arg;
	if (ssh_direct_replies(c->ssh, lp, cs_mux_reply, c) == 0)
		return;
	/* dbclient is gone before the channel closed: the SSH session was lost under it */
	if (c->direct == 2)
		cs_finish(c, DX_REMOTE, "%s: %s", c->uristr,
		          "transfer cut short: the SSH session ended before the channel did");
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
		c->ssh_why = sep_xport_ssh_why(code, sep_session_ready(c->s));
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
	c->ssh_why = sep_xport_ssh_why(SEP_E_TIMEOUT, 0);
	cs_finish(c, DX_REMOTE, "%s: %s", c->uristr, "no answer in time (SEP handshake)");
}

static void cs_xport_ready(void *arg, int code, int kind, const struct sep_io *io, const char *err)
{
	struct csess *c = arg;
	c->xport_done = 1;
	c->code = code;
	if (io)
		c->io = *io;
	else
		snprintf(c->err, sizeof c->err, "%s", err);
	loop_stop(c->lp, 0);
}

/* Open the transport on a private loop: 0, or -1 with c->code and c->err. */
static int cs_open(struct csess *c)
{
	c->lp = loop_new();
	c->x = sep_xport_open(c->lp, c->u, NULL, cs_xport_ready, c);
	while (!c->xport_done)
		loop_run(c->lp);
	return c->code == DX_OK ? 0 : -1;
}

/* Run a session over the transport until the list is complete or the channel is
 * accepted/over. */
static int cs_run(struct csess *c, unsigned timeout_ms)
{
	struct sep_limits lim;
	sep_limits_default(&lim);
	c->s = sep_session_new(c->lp, &c->io, 0, &lim, NULL, NULL, ns_host(), cs_event, c);
	if (!c->s) {
		snprintf(c->err, sizeof c->err, "%.300s: cannot start a SEP session", c->uristr);
		c->code = DX_REMOTE;
		return -1;
	}
	c->timer = timeout_ms ? loop_timer(c->lp, timeout_ms, cs_timeout, c) : NULL;
#if ENABLE_SSH
	struct ssh_conn *ssh = sep_xport_ssh(c->x);
	c->ssh = NULL;
	if (ssh && !c->out && c->fd >= 0 && ssh_mux_fd(ssh) >= 0 &&
	    loop_watch(c->lp, ssh_mux_fd(ssh), LOOP_IN, cs_mux_io, c) == 0)
		c->ssh = ssh;
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
#if ENABLE_SSH
	if (c->ssh && ssh_mux_fd(c->ssh) >= 0)
		loop_unwatch(c->lp, ssh_mux_fd(c->ssh));
	c->ssh = NULL;
#endif
	sep_xport_free(c->x);
	c->x = NULL;
	if (c->lp)
		loop_free(c->lp);
	c->lp = NULL;
}

/* A failed session over SSH: the child's own words say more than SEP's. */
static void ssh_reason(struct csess *c)
{
#if ENABLE_SSH
	struct ssh_conn *ssh = c->x ? sep_xport_ssh(c->x) : NULL;
	if (ssh && c->code == DX_REMOTE) {
		char e[NS_ERR_MAX];
		c->code = ssh_failed(ssh, c->ssh_why, c->err, e, sizeof e);
		snprintf(c->err, sizeof c->err, "%s", e);
	}
#else
	(void)c;
#endif
}

/* The bound for the handshake and the first answer. */
static unsigned cs_bound(const struct csess *c)
{
#if ENABLE_SSH
	if (c->x && sep_xport_ssh(c->x))
		return ssh_handshake_ms() + 10000;
#endif
	return TLS_HS_MS + 10000;
}

int remote_list(const char *uri, struct ns_list *out, int *code, char *err, size_t errlen)
{
	struct remote_uri u;
	*code = DX_USAGE;
	if (remote_parse(uri, &u, err, errlen) < 0)
		return -1;
	struct csess c = { .u = &u, .out = out, .fd = -1, .stfd = -1 };
	snprintf(c.uristr, sizeof c.uristr, "%s", uri);
	if (cs_open(&c) == 0) {
		cs_run(&c, cs_bound(&c));
		ssh_reason(&c);
	}
	cs_end(&c);
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
	struct csess c = { .u = u, .fd = fd, .stfd = stfd };
	snprintf(c.uristr, sizeof c.uristr, "%s", uri);
	if (cs_open(&c) == 0) {
		/* the timeout covers the handshake and the CONNECT; then the channel runs freely */
		cs_run(&c, cs_bound(&c));
		if (!c.accepted)
			ssh_reason(&c);
	}
	cs_end(&c);
	if (c.stfd >= 0) {
		char buf[NS_ERR_MAX + 1];
		/* before ACCEPT: why not (never 0); after: 0 a clean end, or why it was cut */
		buf[0] = (char)(c.accepted ? c.code : c.code ? c.code : DX_REMOTE);
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
	return remote_open_st(uri, NULL, code, err, errlen);
}

int remote_end(int status, int *code, char *err, size_t errlen)
{
	char buf[NS_ERR_MAX + 1];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(status, buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (got == sizeof buf - 1)
			break;
	}
	close(status);
	*code = DX_OK;
	if (!got || buf[0] == 0)
		return 0;  /* a clean end (or a helper that said nothing: as before) */
	buf[got] = 0;
	*code = (unsigned char)buf[0];
	snprintf(err, errlen, "%s", got > 1 ? buf + 1 : "the transfer was cut short");
	return -1;
}

int remote_open_st(const char *uri, int *status, int *code, char *err, size_t errlen)
{
	if (status)
		*status = -1;
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
	int wst;
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	/* status: one byte code (0: connected), then the reason; after "connected", how
	 * the transfer ends comes the same way (remote_end) */
	char buf[NS_ERR_MAX + 1];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(st[0], buf + got, got ? sizeof buf - 1 - got : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if (buf[0] == 0 || got == sizeof buf - 1)
			break;
	}
	if (got >= 1 && buf[0] == 0) {
		*code = DX_OK;
		if (status)
			*status = st[0];
		else
			close(st[0]);
		return sp[0];
	}
	close(st[0]);
	buf[got] = 0;
	*code = got >= 1 ? (unsigned char)buf[0] : DX_REMOTE;
	snprintf(err, errlen, "%s", got > 1 ? buf + 1 : "the SEP helper process failed");
	close(sp[0]);
	return -1;
}
