/* sep-import.c: the importer (sep-import.h, doc/import.md): one SEP session per remote,
 * its services mirrored as local proxy sockets, live through WATCH, restored after
 * reconnects with capped exponential backoff. */
#include "sep-import.h"
#include "loop.h"
#include "remote.h"
#include "util.h"
#if ENABLE_TLS
#include "tls.h"
#endif
#include "sep-xport.h"
#include "sep-svr.h"
#include "sep.h"
#if ENABLE_SSH
#include "ssh.h"
#endif

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

enum { IMP_IDLE, IMP_TCP, IMP_TLS, IMP_HELLO, IMP_UP };

/* A proxied connection on a SEP channel: the session closes its descriptor when the
 * channel ends; we keep a duplicate so that, when the whole session is lost, the client
 * sees its end only after the proxies are gone (doc/import.md, "A lost session"). */
struct held {
	struct sep_import *imp;
	sep_chan_fn *fn;            /* the channel's own callback */
	int fd;                     /* our duplicate of the client's connection */
	struct held *next;
};

struct proxy {
	struct sep_import *imp;
	struct ns_service remote;   /* the remote service (rel, proto, name, host) */
	struct ns_service local;    /* our proxy socket (dev/ino: ours to remove) */
	int fd;                     /* listening */
	struct proxy *next;
};

struct sep_import {
	struct loop *lp;
	struct remote_uri uri;
	char uristr[600];
	char expect_fp[80];         /* sep://: the key the exporter must show ("" any pinned) */
	enum ns_scope scope;
	mode_t mode;
	unsigned flags;
	int state, stopping;
	struct proxy *proxies;
	unsigned backoff_ms;
	uint64_t up_since;
	struct loop_timer *retry, *hs_timer;
	char lasterr[NS_ERR_MAX];
	struct sep_xport *x;        /* the transport (sep-xport.h) */
	struct sep_io io;
#if ENABLE_SSH
	struct ssh_conn *ssh;       /* sep_xport_ssh(x) once it is ready */
	int mux_fd;                 /* ssh_mux_fd(ssh) as watched, or -1 */
	struct direct_req *direct;  /* direct-channel requests awaiting their answer */
	unsigned ndirect;
	uint32_t direct_id;
	int direct_ready;           /* dbclient said it takes requests */
	int direct_off;             /* the server forbids them: SEP carries everything */
	unsigned direct_streak;     /* refused, then fine over SEP, in a row */
	uint64_t direct_pause_until; /* after such a streak: SEP only until then */
#endif
	struct sep_session *sess;
	struct loop_timer *fail_timer;
	char why[NS_ERR_MAX];
	int why_code;               /* why's SEP_E_* (0: not SEP's) */
	int warned_limit;
	int flapping;               /* the last session was lost for the reason logged before */
	struct ssh_ctl *ctl;        /* ssh://: the control socket we serve (NULL: none) */
	struct held *held;          /* proxied connections on SEP channels */
};

static void imp_failed(struct sep_import *imp, int sep_code, const char *why);
static void ctl_notify(struct sep_import *imp, int appeared, const struct ns_service *r);

/* ---- SEP glue ---- */

static void chan_event(void *arg, int ev, int code, const char *text)
{
	struct sep_import *imp = arg;
	if (ev == SEP_CH_CLOSED && code && (imp->flags & SEP_IMPORT_VERBOSE))
		msg("%s: channel closed: %s (%s)", imp->uristr, text && *text ? text : "reset",
		    sep_code_name(code));
}

static void held_close(struct sep_import *imp, struct held *h)
{
	for (struct held **pp = &imp->held; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	close(h->fd);
	free(h);
}

static void held_event(void *arg, int ev, int code, const char *text)
{
	struct held *h = arg;
	struct sep_import *imp = h->imp;
	h->fn(imp, ev, code, text);
	/* the session's end: imp_teardown closes it, after removing the proxies */
	if (ev == SEP_CH_CLOSED && !(imp->sess && !sep_session_ready(imp->sess)))
		held_close(imp, h);
}

static int sess_connect_sep(struct sep_import *imp, const char *rel, int fd, sep_chan_fn *fn)
{
	if (!imp->sess || imp->state != IMP_UP)
		return -1;
	struct held *h = xcalloc(1, sizeof *h);
	h->imp = imp;
	h->fn = fn;
	h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (h->fd < 0) {  /* out of descriptors: refused like any other accept */
		free(h);
		return -1;
	}
	if (!sep_connect_sock(imp->sess, rel, fd, held_event, h)) {
		close(h->fd);
		free(h);
		if (!imp->warned_limit) {
			msg("%s: %s: refused: too many channels on this session (the exporter allows %u)",
			    imp->uristr, rel, sep_session_channels(imp->sess));
			imp->warned_limit = 1;
		}
		return -1;
	}
	h->next = imp->held;
	imp->held = h;
	imp->warned_limit = 0;
	return 0;
}

#if ENABLE_SSH
/* ---- ssh://: bulk data on direct channels (doc/ssh.md "Bulk data") ----
 * A proxied connection is handed to the embedded dbclient, which opens a
 * direct-streamlocal channel in the same SSH session straight to the remote socket
 * (the directory from serve's PATHS + the record's path). The SSH server connects as
 * the remote user, so the kernel decides access as it does for serve. When the server
 * refuses (forwarding disabled, permission denied, gone), the connection, still
 * untouched, goes over SEP as before. */
#define IMP_DIRECT_PENDING 64

struct direct_req {
	uint32_t id;
	int fd;                  /* the accepted connection: ours until the answer */
	char rel[NS_PATH_MAX];   /* for the SEP fallback */
	struct direct_req *next;
};

static int direct_try(struct sep_import *imp, const struct ns_service *remote, int fd)
{
	const char *dir;
	char path[NS_PATH_MAX];
	if (!imp->ssh || imp->mux_fd < 0 || !imp->direct_ready || imp->direct_off ||
	    (imp->direct_pause_until && now_ms() < imp->direct_pause_until) ||
	    imp->ndirect >= IMP_DIRECT_PENDING ||
	    !(dir = sep_peer_dir(imp->sess, remote->scope)) ||
	    xsnprintf(path, sizeof path, "%s/%s", dir, remote->rel))
		return -1;
	uint32_t id = ++imp->direct_id;
	if (ssh_direct_open(imp->ssh, id, fd, fd, path) < 0)
		return -1;
	struct direct_req *r = xcalloc(1, sizeof *r);
	r->id = id;
	r->fd = fd;
	snprintf(r->rel, sizeof r->rel, "%s", remote->rel);
	r->next = imp->direct;
	imp->direct = r;
	imp->ndirect++;
	return 0;
}

/* A connection the SSH server refused but serve accepted: the server forbids socket
 * forwarding without saying so (OpenSSH's AllowStreamLocalForwarding no answers
 * "connect failed"). A few in a row and SEP carries everything for a while; one could
 * be a burst over a small listen backlog. */
#define IMP_DIRECT_STREAK 3
#define IMP_DIRECT_PAUSE_MS 60000

static void fallback_event(void *arg, int ev, int code, const char *text)
{
	struct sep_import *imp = arg;
	if (ev == SEP_CH_ACCEPTED && ++imp->direct_streak >= IMP_DIRECT_STREAK) {
		imp->direct_streak = 0;
		imp->direct_pause_until = now_ms() + IMP_DIRECT_PAUSE_MS;
		msg_debug("%s: the SSH server refuses what serve accepts: SEP only for %u s",
		          imp->uristr, IMP_DIRECT_PAUSE_MS / 1000);
	}
	chan_event(arg, ev, code, text);
}

static struct direct_req *direct_take(struct sep_import *imp, uint32_t id)
{
	for (struct direct_req **pp = &imp->direct; *pp; pp = &(*pp)->next) {
		struct direct_req *r = *pp;
		if (r->id == id) {
			*pp = r->next;
			imp->ndirect--;
			return r;
		}
	}
	return NULL;
}

static void direct_answer(void *arg, uint32_t id, int kind, int code, const char *text)
{
	struct sep_import *imp = arg;
	if (kind == DIPUSMUX_READY) {
		imp->direct_ready = 1;
		return;
	}
	/* an opened channel's end (CLOSED, CUT): dbclient closed its fds, nothing is ours */
	struct direct_req *r = kind == DIPUSMUX_CLOSED || kind == DIPUSMUX_CUT ? NULL :
	                       direct_take(imp, id);
	if (!r)
		return;
	if (kind == DIPUSMUX_OPENED) {
		close(r->fd);  /* dbclient relays it now */
		imp->direct_streak = 0;
	} else {
		/* forbidden, or a server that has no such channel type: that holds for
		 * every channel, stop asking */
		if ((code == DIPUSMUX_OPEN_PROHIBITED || code == DIPUSMUX_OPEN_UNKNOWN_CHANNEL_TYPE) &&
		    !imp->direct_off) {
			imp->direct_off = 1;
			msg_debug("%s: the SSH server refuses direct channels (%s): SEP carries the data",
			          imp->uristr, text);
		}
		if (sess_connect_sep(imp, r->rel, r->fd, fallback_event) < 0)
			close(r->fd);
	}
	free(r);
}

static void direct_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct sep_import *imp = arg;
	if (ssh_direct_replies(imp->ssh, lp, direct_answer, imp) < 0) {
		/* dbclient is gone or broken: pending connections go over SEP (its session is
		 * going too, most likely: then they are closed with it) */
		imp->mux_fd = -1;
		while (imp->direct)
			direct_answer(imp, imp->direct->id, DIPUSMUX_FAILED, 0, "");
	}
}

static void direct_start(struct sep_import *imp)
{
	imp->mux_fd = ssh_mux_fd(imp->ssh);
	imp->direct_off = imp->direct_ready = 0;
	imp->direct_streak = 0;
	imp->direct_pause_until = 0;
	if (imp->mux_fd >= 0 && loop_watch(imp->lp, imp->mux_fd, LOOP_IN, direct_io, imp) < 0)
		imp->mux_fd = -1;
}

static void direct_stop(struct sep_import *imp)
{
	if (imp->mux_fd >= 0)
		loop_unwatch(imp->lp, imp->mux_fd);
	imp->mux_fd = -1;
	while (imp->direct) {
		struct direct_req *r = imp->direct;
		imp->direct = r->next;
		close(r->fd);
		free(r);
	}
	imp->ndirect = 0;
}
#endif

static int sess_connect(struct sep_import *imp, const struct ns_service *remote, int fd)
{
	if (!imp->sess || imp->state != IMP_UP)
		return -1;
#if ENABLE_SSH
	if (direct_try(imp, remote, fd) == 0)
		return 0;
#endif
	return sess_connect_sep(imp, remote->rel, fd, chan_event);
}

static void sess_free(struct sep_import *imp)
{
	if (imp->fail_timer) {
		loop_timer_cancel(imp->lp, imp->fail_timer);
		imp->fail_timer = NULL;
	}
	if (imp->sess) {
		sep_session_free(imp->sess);
		imp->sess = NULL;
	}
}

static struct proxy *proxy_find(struct sep_import *imp, const char *rel)
{
	for (struct proxy *p = imp->proxies; p; p = p->next)
		if (!strcmp(p->remote.rel, rel))
			return p;
	return NULL;
}

static void proxy_accept(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct proxy *p = arg;
	for (int i = 0; i < 64; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				msg_debug("%s: accept: %s", p->local.path, strerror(errno));
			return;
		}
		if (sess_connect(p->imp, &p->remote, c) < 0)
			close(c);
	}
}

static void proxy_add(struct sep_import *imp, const struct ns_service *r)
{
	if (proxy_find(imp, r->rel))
		return;
	if (!ns_names_ok(r->name, r->host, r->proto)) {  /* names.h: as the namespace's own */
		msg("%s: %s: not a usable service name; ignored", imp->uristr, r->rel);
		return;
	}
	struct proxy *p = xcalloc(1, sizeof *p);
	p->imp = imp;
	p->remote = *r;
	char err[NS_ERR_MAX];
	/* the remote's host in the name, so "dcat lame.encode" finds it */
	p->fd = ns_publish_as(imp->scope, r->name, r->host, r->proto, imp->mode, (gid_t)-1, 128,
	                      &p->local, err, sizeof err);
	if (p->fd >= 0)
		fd_set_nonblock(p->fd, 1);
	if (p->fd < 0) {
		msg("%s: %s: cannot make a proxy: %s", imp->uristr, r->rel, err);
		free(p);
		return;
	}
	loop_watch(imp->lp, p->fd, LOOP_IN, proxy_accept, p);
	p->next = imp->proxies;
	imp->proxies = p;
	if (imp->flags & SEP_IMPORT_VERBOSE)
		msg("%s: + %s (%s)", imp->uristr, p->local.path, r->rel);
	ctl_notify(imp, 1, &p->remote);
}

static void proxy_free(struct sep_import *imp, struct proxy *p)
{
	loop_unwatch(imp->lp, p->fd);
	ns_unpublish(&p->local, p->fd);
	close(p->fd);
	if (imp->flags & SEP_IMPORT_VERBOSE)
		msg("%s: - %s", imp->uristr, p->local.path);
	free(p);
}

static void proxy_del(struct sep_import *imp, const char *rel)
{
	for (struct proxy **pp = &imp->proxies; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->remote.rel, rel)) {
			struct proxy *p = *pp;
			*pp = p->next;
			ctl_notify(imp, 0, &p->remote);
			proxy_free(imp, p);
			return;
		}
}

static void proxies_clear(struct sep_import *imp)
{
	while (imp->proxies) {
		struct proxy *p = imp->proxies;
		imp->proxies = p->next;
		proxy_free(imp, p);
	}
}

size_t sep_import_count(const struct sep_import *imp)
{
	size_t n = 0;
	for (const struct proxy *p = imp ? imp->proxies : NULL; p; p = p->next)
		n++;
	return n;
}


/* ---- ssh:// session sharing: the control socket (doc/ssh.md, core/ssh-ctl.c) ----
 * Local SEP clients of the same user (dcat/dls ssh://) reach the remote through our
 * session: ssh-ctl answers LIST and WATCH from the mirror (what the WATCH on the remote
 * reported, i.e. what matches our PREFIX); CONNECT opens a channel on the SSH session
 * (a direct channel when exactly one service matches) joined through a socketpair to
 * the client's channel, each leg with its own credit. */
#if ENABLE_SSH
static void ctl_each(void *arg, void (*fn)(void *fnarg, const struct ns_service *s), void *fnarg)
{
	struct sep_import *imp = arg;
	for (struct proxy *p = imp->proxies; p; p = p->next)
		fn(fnarg, &p->remote);
}

static int ctl_connect(void *arg, const char *query, int *code, char *err, size_t errlen)
{
	struct sep_import *imp = arg;
	int sp[2];
	if (!imp->sess || imp->state != IMP_UP) {
		*code = SEP_E_SHUTDOWN;
		snprintf(err, errlen, "the shared session is down");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
		*code = SEP_E_INTERNAL;
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* exactly one service matches in our mirror: a direct channel to it, as for the
	 * proxies (more than one: serve's CONNECT picks, in its resolver order) */
	struct proxy *only = NULL;
	int matches = 0;
	for (struct proxy *p = imp->proxies; p && matches < 2; p = p->next) {
		if (ssh_ctl_match(query, &p->remote)) {
			only = p;
			matches++;
		}
	}
	if (matches == 1 && direct_try(imp, &only->remote, sp[1]) == 0)
		return sp[0];
	if (!sep_connect_sock(imp->sess, query, sp[1], chan_event, imp)) {
		close(sp[0]);
		close(sp[1]);
		*code = SEP_E_LIMIT;
		snprintf(err, errlen, "too many channels on the shared session");
		return -1;
	}
	return sp[0];
}

static const struct ssh_ctl_ops ctl_ops = { .each = ctl_each, .connect = ctl_connect };

static void ctl_notify(struct sep_import *imp, int appeared, const struct ns_service *r)
{
	ssh_ctl_notify(imp->ctl, appeared, r);
}

static void ctl_start(struct sep_import *imp)
{
	if (!imp->ssh || ssh_shared(imp->ssh) || imp->ctl)
		return;
	char err[NS_ERR_MAX];
	imp->ctl = ssh_ctl_start(imp->lp, &imp->uri, imp->uristr, &ctl_ops, imp, err, sizeof err);
	if (!imp->ctl) {
		if (errno != EADDRINUSE)
			msg("%s: no session sharing: %s", imp->uristr, err);
		else
			msg_debug("%s: %s", imp->uristr, err);
	}
}

static void ctl_stop(struct sep_import *imp)
{
	ssh_ctl_stop(imp->ctl);
	imp->ctl = NULL;
}
#else
static void ctl_notify(struct sep_import *imp, int appeared, const struct ns_service *r) {}
static void ctl_start(struct sep_import *imp) {}
static void ctl_stop(struct sep_import *imp) {}
#endif

static void imp_schedule(struct sep_import *imp);
static void imp_session_start(struct sep_import *imp);

/* Everything about the current attempt/session goes; proxies too. */
static void imp_teardown(struct sep_import *imp)
{
	ctl_stop(imp);
	proxies_clear(imp);
	if (imp->hs_timer) {
		loop_timer_cancel(imp->lp, imp->hs_timer);
		imp->hs_timer = NULL;
	}
	sess_free(imp);
	/* the proxies are gone: now their clients see the end */
	while (imp->held)
		held_close(imp, imp->held);
#if ENABLE_SSH
	direct_stop(imp);
	if (imp->ssh) {
		loop_unwatch(imp->lp, ssh_rfd(imp->ssh));
		if (ssh_wfd(imp->ssh) != ssh_rfd(imp->ssh))
			loop_unwatch(imp->lp, ssh_wfd(imp->ssh));
		imp->ssh = NULL;  /* sep_xport_free closes it */
	}
#endif
	sep_xport_free(imp->x);
	imp->x = NULL;
}

/* The session or the attempt failed (sep_code: SEP_E_*, 0 when not SEP's): log once per
 * change of reason, back off, retry. */
static void imp_failed(struct sep_import *imp, int sep_code, const char *why)
{
	char reason[NS_ERR_MAX];
	snprintf(reason, sizeof reason, "%s", why && *why ? why : "connection lost");
#if ENABLE_SSH
	if (imp->ssh) {
		char e[NS_ERR_MAX];
		ssh_failed(imp->ssh, sep_xport_ssh_why(sep_code, imp->sess && sep_session_ready(imp->sess)),
		           reason, e, sizeof e);
		snprintf(reason, sizeof reason, "%s", e);
	}
#endif
	int was_up = imp->state == IMP_UP;
	size_t n = sep_import_count(imp);
	imp_teardown(imp);
	if (was_up && now_ms() - imp->up_since >= SEP_IMPORT_BACKOFF_MAX_MS) {
		imp->backoff_ms = 0;
		imp->lasterr[0] = 0;  /* a session that lasted: losing it is news again */
	}
	/* one line per change of reason (-v: every one), even for a session that comes up
	 * and is lost again each time for the same reason */
	int news = strcmp(reason, imp->lasterr) != 0;
	imp->flapping = was_up && !news;
	if (was_up && (news || (imp->flags & SEP_IMPORT_VERBOSE)))
		msg("%s: session lost (%s); %zu prox%s removed, reconnecting", imp->uristr, reason, n,
		    n == 1 ? "y" : "ies");
	else if (!was_up && news)
		msg("%s: %s; retrying", imp->uristr, reason);
	snprintf(imp->lasterr, sizeof imp->lasterr, "%s", reason);
	imp->state = IMP_IDLE;
	imp_schedule(imp);
}

#if ENABLE_SSH
static void imp_hs_timeout(struct loop *lp, void *arg)
{
	struct sep_import *imp = arg;
	imp->hs_timer = NULL;
	imp_failed(imp, SEP_E_TIMEOUT, "connect or handshake timed out");
}
#endif

static void imp_xport_ready(void *arg, int code, int kind, const struct sep_io *io, const char *err)
{
	struct sep_import *imp = arg;
	if (code != DX_OK) {
		imp_failed(imp, 0, err);
		return;
	}
	imp->io = *io;
#if ENABLE_SSH
	imp->ssh = sep_xport_ssh(imp->x);
	if (imp->ssh) {
		ssh_attach(imp->ssh, imp->lp);
		direct_start(imp);
		/* connect + login + SEP hello: SSH's own bound */
		imp->hs_timer = loop_timer(imp->lp, ssh_handshake_ms(), imp_hs_timeout, imp);
	}
#endif
	imp_session_start(imp);
}

static void imp_connect(struct loop *lp, void *arg)
{
	struct sep_import *imp = arg;
	imp->retry = NULL;
	struct sep_xport_opts o = { .expect_fp = imp->expect_fp[0] ? imp->expect_fp : NULL };
	imp->state = IMP_TCP;
	imp->x = sep_xport_open(imp->lp, &imp->uri, &o, imp_xport_ready, imp);
}

static void imp_schedule(struct sep_import *imp)
{
	if (imp->stopping)
		return;
	unsigned ms = imp->backoff_ms;
	imp->backoff_ms = ms ? (ms * 2 > SEP_IMPORT_BACKOFF_MAX_MS ? SEP_IMPORT_BACKOFF_MAX_MS : ms * 2)
	                     : SEP_IMPORT_BACKOFF_MIN_MS;
	imp->retry = loop_timer(imp->lp, ms, imp_connect, imp);
}

static void imp_fail_later(struct loop *lp, void *arg)
{
	struct sep_import *imp = arg;
	imp->fail_timer = NULL;
	imp_failed(imp, imp->why_code, imp->why);
}

static void imp_record(void *arg, int event, const struct ns_service *s, int code, const char *text)
{
	struct sep_import *imp = arg;
	switch (event) {
	case SEP_REC_PRESENT:
	case SEP_REC_APPEARED:
		proxy_add(imp, s);
		break;
	case SEP_REC_VANISHED:
		proxy_del(imp, s->rel);
		break;
	case SEP_REC_SYNC:
		if (imp->flags & SEP_IMPORT_VERBOSE)
			msg("%s: %zu service%s imported", imp->uristr, sep_import_count(imp),
			    sep_import_count(imp) == 1 ? "" : "s");
		break;
	case SEP_REC_END:
	case SEP_REC_ERROR:
		/* the watch ended: without it we are not live; start over */
		if (!imp->fail_timer) {
			imp->why_code = code;
			snprintf(imp->why, sizeof imp->why, "watch ended: %s%s%s",
			         text && *text ? text : "", text && *text ? ": " : "", sep_code_name(code));
			imp->fail_timer = loop_timer(imp->lp, 0, imp_fail_later, imp);
		}
		break;
	}
}

static void imp_session_event(void *arg, int ev, int code, const char *reason)
{
	struct sep_import *imp = arg;
	if (ev == SEP_SESSION_READY) {
		if (imp->hs_timer) {
			loop_timer_cancel(imp->lp, imp->hs_timer);
			imp->hs_timer = NULL;
		}
		imp->state = IMP_UP;
		imp->up_since = now_ms();
		if ((imp->lasterr[0] && !imp->flapping) || (imp->flags & SEP_IMPORT_VERBOSE))
			msg("%s: connected to %s", imp->uristr, sep_peer_host(imp->sess));
		ctl_start(imp);
		if (!sep_watch(imp->sess, imp->uri.query, imp_record, imp)) {
			imp->why_code = 0;
			snprintf(imp->why, sizeof imp->why, "cannot start WATCH");
			imp->fail_timer = loop_timer(imp->lp, 0, imp_fail_later, imp);
		}
		return;
	}
	if (ev == SEP_SESSION_CLOSED && !imp->fail_timer) {
		imp->why_code = code;
		snprintf(imp->why, sizeof imp->why, "%s%s%s", reason && *reason ? reason : "closed",
		         code ? ": " : "", code ? sep_code_name(code) : "");
		imp->fail_timer = loop_timer(imp->lp, 0, imp_fail_later, imp);
	}
}

static void imp_session_start(struct sep_import *imp)
{
	imp->state = IMP_HELLO;
	struct sep_limits lim;
	sep_limits_default(&lim);
	imp->sess = sep_session_new(imp->lp, &imp->io, 0, &lim, NULL, NULL, ns_host(), imp_session_event, imp);
	if (!imp->sess)
		imp_failed(imp, 0, "cannot start a SEP session");
}

struct sep_import *sep_import_start(struct loop *lp, const char *uri, enum ns_scope scope,
                                    unsigned flags, char *err, size_t errlen)
{
	return sep_import_start_fp(lp, uri, scope, flags, NULL, err, errlen);
}

struct sep_import *sep_import_start_fp(struct loop *lp, const char *uri, enum ns_scope scope,
                                       unsigned flags, const char *expect_fp, char *err,
                                       size_t errlen)
{
	struct sep_import *imp = xcalloc(1, sizeof *imp);
	if (remote_parse(uri, &imp->uri, err, errlen) < 0) {
		free(imp);
		return NULL;
	}
	if (expect_fp) {
#if ENABLE_TLS
		int fp_ok = tls_fp_valid(expect_fp);
#else
		int fp_ok = 0;
#endif
		if (imp->uri.scheme != REMOTE_SEP || !fp_ok) {
			snprintf(err, errlen, "%s: %s", uri, imp->uri.scheme != REMOTE_SEP ?
			         "an expected key needs sep:// (TLS)" : "not a fingerprint (SHA256:...)");
			free(imp);
			errno = EINVAL;
			return NULL;
		}
		snprintf(imp->expect_fp, sizeof imp->expect_fp, "%s", expect_fp);
	}
	if (sep_svr_check_query(imp->uri.query, err, errlen) < 0) {
		free(imp);
		return NULL;
	}
	int dfd = ns_open_dir(scope = ns_import_scope(scope), "", 1, err, errlen);  /* a user's: users/<me>/ */
	if (dfd < 0) {
		free(imp);
		return NULL;
	}
	close(dfd);
	imp->lp = lp;
	imp->scope = scope;
	imp->mode = scope == NS_USERS ? 0600 : 0666;
	imp->flags = flags;
#if ENABLE_SSH
	imp->mux_fd = -1;
#endif
	snprintf(imp->uristr, sizeof imp->uristr, "%s", uri);
	imp_schedule(imp);
	return imp;
}

void sep_import_stop(struct sep_import *imp)
{
	if (!imp)
		return;
	imp->stopping = 1;
	if (imp->retry)
		loop_timer_cancel(imp->lp, imp->retry);
	imp_teardown(imp);
	/* the session's close during the teardown may have scheduled the failure path */
	if (imp->fail_timer)
		loop_timer_cancel(imp->lp, imp->fail_timer);
	free(imp);
}

int sep_import_up(const struct sep_import *imp)
{
	return imp->state == IMP_UP;
}
