/* sep-svr.c: the namespace-backed SEP server side (sep-svr.h). */
#include "sep-svr.h"
#include "loop.h"
#include "monitor.h"
#include "sep.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_RETRY_MS 50   /* a full backlog: tried again after this, */
#define CONNECT_RETRY_MAX 400 /* doubling up to this (each try resolves the query), */
#define CONNECT_WAIT_MS 5000  /* and refused once the service accepted nobody this long */
#define MAX_WATCHES 64        /* WATCH channels of one peer (one sep_svr) */

int sep_svr_check_query(const char *q, char *err, size_t errlen)
{
	return ns_check_net_query(q, err, errlen);  /* names.h */
}

/* "proto/name.host...n" or "name.host...n": an exact service path. Fills the resolver
 * query that narrows the search (the proto, or name.host). 1 if exact, 0 if not. */
static int exact_query(const char *q, char *narrow, size_t len)
{
	const char *slash = strrchr(q, '/');
	const char *base = slash ? slash + 1 : q;
	char name[NS_NAME_MAX], host[NS_HOST_MAX];
	unsigned n;
	if (!strstr(base, "...") || ns_parse_sockname(base, name, host, &n) < 0)
		return 0;
	if (slash)
		return xsnprintf(narrow, len, "%.*s", (int)(slash - q), q) == 0;
	return xsnprintf(narrow, len, "%s.%s", name, host) == 0;
}

int sep_svr_list(unsigned scopes, const char *q, struct ns_list *out, char *err, size_t errlen)
{
	if (!q)
		q = "";
	if (sep_svr_check_query(q, err, errlen) < 0)
		return -1;
	char narrow[NS_PATH_MAX];
	int exact = exact_query(q, narrow, sizeof narrow);
	/* an exact path is looked up by name, not found by listing its directory */
	size_t before = out->n, k = before;
	if (ns_resolve(q, exact ? scopes | NS_EXACT : scopes, 0, out, err, errlen) < 0)
		return -1;
	for (size_t i = before; i < out->n; i++) {
		const struct ns_service *s = &out->v[i];
		if (s->untrusted || !(s->scope & scopes) || (exact && strcmp(s->rel, q)))
			continue;
		if (k != i)
			out->v[k] = *s;
		k++;
	}
	out->n = k;
	return (int)(k - before);
}

/* An exact path: one walk that connects where it finds the socket (ns_connect_exact). */
static int connect_exact(unsigned scopes, const char *q, struct ns_service *svc, int *code,
                         char *err, size_t errlen)
{
	struct ns_service s;
	int fd = ns_connect_exact(q, scopes, &s, err, errlen);
	if (fd >= 0) {
		if (svc)
			*svc = s;
		return fd;
	}
	int e = errno;
	if (!s.path[0] && e != ENOENT) {
		*code = SEP_E_REFUSED;  /* an unusable root: err says why */
	} else if (!s.path[0]) {
		snprintf(err, errlen, "%s: no such service", q);
		*code = SEP_E_NOSERVICE;
	} else {
		snprintf(err, errlen, "%s: %s", s.rel, strerror(e));
		*code = SEP_E_REFUSED;  /* dead, permission denied, gone meanwhile */
	}
	errno = e;  /* EAGAIN: its backlog is full, worth another try */
	return -1;
}

int sep_svr_connect(unsigned scopes, const char *q, struct ns_service *svc, int *code,
                    char *err, size_t errlen)
{
	char narrow[NS_PATH_MAX];
	if (q && sep_svr_check_query(q, err, errlen) == 0 && exact_query(q, narrow, sizeof narrow))
		return connect_exact(scopes, q, svc, code, err, errlen);
	struct ns_list l = { 0 };
	int n = sep_svr_list(scopes, q, &l, err, errlen);
	if (n < 0) {
		*code = errno == EINVAL ? SEP_E_BADQUERY : SEP_E_REFUSED;
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no such service", *q ? q : "(everything)");
		*code = SEP_E_NOSERVICE;
		ns_list_free(&l);
		return -1;
	}
	int fd = -1, first_errno = 0, busy = 0;
	const char *first_rel = NULL;
	for (size_t i = 0; i < l.n && fd < 0; i++) {
		fd = ns_connect_nb(&l.v[i]);  /* never waits: a full backlog is EAGAIN */
		if (fd >= 0) {
			if (svc)
				*svc = l.v[i];
			break;
		}
		busy |= errno == EAGAIN;
		if (!first_errno) {
			first_errno = errno;
			first_rel = l.v[i].rel;
		}
		msg_debug("%s: %s", l.v[i].path, strerror(errno));
	}
	if (fd < 0) {
		/* the most telling reason: permission first, then the first failure */
		snprintf(err, errlen, "%s: %s", first_rel ? first_rel : q, strerror(first_errno));
		*code = SEP_E_REFUSED;  /* dead, permission denied, gone meanwhile */
	}
	ns_list_free(&l);
	errno = fd >= 0 ? 0 : busy ? EAGAIN : first_errno;
	return fd;
}

struct sep_svr_watch {
	struct ns_monitor *m;
	unsigned scopes;
	char q[NS_PATH_MAX];
	int exact;
	sep_svr_watch_fn *fn;
	void *arg;
};

static void watch_event(void *arg, int appeared, const struct ns_service *s)
{
	struct sep_svr_watch *w = arg;
	if (s->untrusted || !(s->scope & w->scopes) || (w->exact && strcmp(s->rel, w->q)))
		return;
	w->fn(w->arg, appeared, s);
}

struct sep_svr_watch *sep_svr_watch_start(struct loop *lp, unsigned scopes, const char *q,
                                          sep_svr_watch_fn *fn, void *arg, char *err,
                                          size_t errlen)
{
	if (!q)
		q = "";
	if (sep_svr_check_query(q, err, errlen) < 0)
		return NULL;
	struct sep_svr_watch *w = xcalloc(1, sizeof *w);
	char narrow[NS_PATH_MAX];
	w->exact = exact_query(q, narrow, sizeof narrow);
	snprintf(w->q, sizeof w->q, "%s", q);
	w->scopes = scopes;
	w->fn = fn;
	w->arg = arg;
	w->m = ns_monitor_start(lp, w->exact ? narrow : q, scopes, watch_event, w, err, errlen);
	if (!w->m) {
		free(w);
		return NULL;
	}
	return w;
}

void sep_svr_watch_stop(struct sep_svr_watch *w)
{
	if (!w)
		return;
	ns_monitor_stop(w->m);
	free(w);
}

/* ---- the SEP server ops ---- */

struct svr_watch {
	struct sep_svr *v;
	struct sep_session *s;
	uint32_t chan;
	struct sep_svr_watch *w;
	struct svr_watch *next;
};

/* A CONNECT whose services all had a full backlog: tried again on a timer (the loop
 * serves everything else meanwhile). A busy service that still accepts is waited for,
 * however long its queue: each connection it accepts for the same query restarts the
 * others' clock (a slow target must not lose channels to a service at its -c limit).
 * Refused after CONNECT_WAIT_MS in which it accepted none: a stuck service. */
struct svr_conn {
	struct sep_svr *v;
	struct sep_session *s;
	uint32_t chan;
	unsigned delay;      /* ms until the next try */
	uint64_t since;      /* the service's last sign of life */
	struct loop_timer *t;
	struct svr_conn *next;
	char q[NS_PATH_MAX];
};

struct sep_svr {
	struct loop *lp;
	unsigned scopes;
	struct svr_watch *watches;
	struct svr_conn *conns;
	char refusal[NS_ERR_MAX];
};

struct sep_svr *sep_svr_new(struct loop *lp, unsigned scopes)
{
	struct sep_svr *v = xcalloc(1, sizeof *v);
	v->lp = lp;
	v->scopes = scopes;
	return v;
}

void sep_svr_free(struct sep_svr *v)
{
	if (!v)
		return;
	while (v->watches) {
		struct svr_watch *w = v->watches;
		v->watches = w->next;
		sep_svr_watch_stop(w->w);
		free(w);
	}
	while (v->conns) {
		struct svr_conn *c = v->conns;
		v->conns = c->next;
		loop_timer_cancel(v->lp, c->t);
		free(c);
	}
	free(v);
}

const char *sep_svr_last_refusal(const struct sep_svr *v)
{
	return v->refusal;
}

static int ops_list(void *arg, const char *query, struct ns_list *out, int *code, char *err,
                    size_t errlen)
{
	struct sep_svr *v = arg;
	int n = sep_svr_list(v->scopes, query, out, err, errlen);
	if (n < 0) {
		*code = errno == EINVAL ? SEP_E_BADQUERY : SEP_E_REFUSED;
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
		return -1;
	}
	return n;
}

static int ops_connect(void *arg, const char *query, int *code, char *err, size_t errlen)
{
	struct sep_svr *v = arg;
	int fd = sep_svr_connect(v->scopes, query, NULL, code, err, errlen);
	if (fd < 0)
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
	return fd;
}

static void conn_unlink(struct svr_conn *c)
{
	for (struct svr_conn **pp = &c->v->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
}

/* the service behind query q accepted a connection: the waiting ones restart their clock */
static void conn_progress(struct sep_svr *v, const char *q)
{
	uint64_t now = now_ms();
	for (struct svr_conn *c = v->conns; c; c = c->next)
		if (!strcmp(c->q, q))
			c->since = now;
}

static void conn_retry(struct loop *lp, void *arg)
{
	struct svr_conn *c = arg;
	struct sep_svr *v = c->v;
	char err[NS_ERR_MAX];
	int code;
	c->t = NULL;
	int fd = sep_svr_connect(v->scopes, c->q, NULL, &code, err, sizeof err);
	if (fd < 0 && errno == EAGAIN && now_ms() - c->since < CONNECT_WAIT_MS) {
		c->delay = c->delay * 2 > CONNECT_RETRY_MAX ? CONNECT_RETRY_MAX : c->delay * 2;
		c->t = loop_timer(lp, c->delay, conn_retry, c);
		return;
	}
	if (fd < 0 && errno == EAGAIN)
		snprintf(err, sizeof err, "%s: the service accepts nobody (its backlog stayed full "
		         "for %d s)", c->q, CONNECT_WAIT_MS / 1000);
	if (fd < 0)
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
	conn_unlink(c);
	if (fd >= 0)
		conn_progress(v, c->q);
	struct sep_session *s = c->s;
	uint32_t chan = c->chan;
	free(c);
	sep_connect_done(s, chan, fd, code, err);
}

static int ops_connect_start(void *arg, struct sep_session *s, uint32_t chan, const char *query,
                             int *code, char *err, size_t errlen)
{
	struct sep_svr *v = arg;
	int fd = sep_svr_connect(v->scopes, query, NULL, code, err, errlen);
	if (fd >= 0) {
		conn_progress(v, query);
		sep_connect_done(s, chan, fd, 0, NULL);
		return 0;
	}
	if (errno != EAGAIN) {
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
		return -1;
	}
	/* a full backlog: the service may accept soon; nothing here waits for it */
	struct svr_conn *c = xcalloc(1, sizeof *c);
	c->v = v;
	c->s = s;
	c->chan = chan;
	snprintf(c->q, sizeof c->q, "%s", query);
	c->delay = CONNECT_RETRY_MS;
	c->since = now_ms();
	c->t = loop_timer(v->lp, c->delay, conn_retry, c);
	c->next = v->conns;
	v->conns = c;
	return 0;
}

static void ops_connect_cancel(void *arg, struct sep_session *s, uint32_t chan)
{
	struct sep_svr *v = arg;
	for (struct svr_conn *c = v->conns; c; c = c->next)
		if (c->s == s && c->chan == chan) {
			conn_unlink(c);
			loop_timer_cancel(v->lp, c->t);
			free(c);
			return;
		}
}

static void ops_watch_event(void *arg, int appeared, const struct ns_service *s)
{
	struct svr_watch *w = arg;
	sep_watch_event(w->s, w->chan, appeared ? SEP_REC_APPEARED : SEP_REC_VANISHED, s);
}

/* A WATCH refused: a bad query, a bound (inotify's, or ours), or an unusable root. */
static int watch_code(int e)
{
	return e == EINVAL ? SEP_E_BADQUERY :
	       e == EMFILE || e == ENFILE || e == ENOSPC || e == ENOMEM ? SEP_E_LIMIT : SEP_E_REFUSED;
}

static int ops_watch_start(void *arg, struct sep_session *s, uint32_t chan, const char *query,
                           int *code, char *err, size_t errlen)
{
	struct sep_svr *v = arg;
	unsigned n = 0;
	for (struct svr_watch *x = v->watches; x; x = x->next)
		n++;
	if (n >= MAX_WATCHES) {
		/* they all share the process's one monitor, but each costs a walk per change */
		*code = SEP_E_LIMIT;
		snprintf(err, errlen, "too many WATCH channels (at most %d per peer)", MAX_WATCHES);
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
		return -1;
	}
	struct svr_watch *w = xcalloc(1, sizeof *w);
	w->v = v;
	w->s = s;
	w->chan = chan;
	/* arm the monitor first, then report what exists: nothing is lost in between */
	w->w = sep_svr_watch_start(v->lp, v->scopes, query, ops_watch_event, w, err, errlen);
	if (!w->w) {
		*code = watch_code(errno);
		snprintf(v->refusal, sizeof v->refusal, "%s", err);
		free(w);
		return -1;
	}
	struct ns_list l = { 0 };
	if (sep_svr_list(v->scopes, query, &l, err, errlen) < 0) {
		*code = watch_code(errno);
		sep_svr_watch_stop(w->w);
		free(w);
		ns_list_free(&l);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		sep_watch_event(s, chan, SEP_REC_PRESENT, &l.v[i]);
	ns_list_free(&l);
	sep_watch_event(s, chan, SEP_REC_SYNC, NULL);
	w->next = v->watches;
	v->watches = w;
	return 0;
}

static void ops_watch_stop(void *arg, struct sep_session *s, uint32_t chan)
{
	struct sep_svr *v = arg;
	for (struct svr_watch **pp = &v->watches; *pp; pp = &(*pp)->next)
		if ((*pp)->s == s && (*pp)->chan == chan) {
			struct svr_watch *w = *pp;
			*pp = w->next;
			sep_svr_watch_stop(w->w);
			free(w);
			return;
		}
}

const struct sep_server_ops sep_svr_ops = {
	.list = ops_list,
	.connect = ops_connect,
	.watch_start = ops_watch_start,
	.watch_stop = ops_watch_stop,
	.connect_start = ops_connect_start,
	.connect_cancel = ops_connect_cancel,
};
