/* sep-svr.c: the namespace-backed SEP server side (sep-svr.h). */
#include "sep-svr.h"
#include "monitor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sep_svr_check_query(const char *q, char *err, size_t errlen)
{
	if (!q || !*q)
		return 0;
	if (strlen(q) >= NS_PATH_MAX) {
		snprintf(err, errlen, "query too long");
		return -1;
	}
	if (q[0] == '/') {
		snprintf(err, errlen, "%s: absolute paths are not offered", q);
		return -1;
	}
	for (const char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen, "control character in the query");
			return -1;
		}
	const char *p = q;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 && e) {
			snprintf(err, errlen, "%s: empty path component", q);
			return -1;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "%s: '.' and '..' are not allowed in a query", q);
			return -1;
		}
		if (!e)
			return 0;
		p = e + 1;
	}
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
	struct ns_list all = { 0 };
	int n = ns_resolve(exact ? narrow : q, scopes, 0, &all, err, errlen);
	if (n < 0) {
		ns_list_free(&all);
		return -1;
	}
	int count = 0;
	for (size_t i = 0; i < all.n; i++) {
		const struct ns_service *s = &all.v[i];
		if (s->untrusted || !(s->scope & scopes))
			continue;
		if (exact && strcmp(s->rel, q))
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->v = xrealloc(out->v, out->cap * sizeof *out->v);
		}
		out->v[out->n++] = *s;
		count++;
	}
	ns_list_free(&all);
	return count;
}

int sep_svr_connect(unsigned scopes, const char *q, struct ns_service *svc, int *code,
                    char *err, size_t errlen)
{
	struct ns_list l = { 0 };
	int n = sep_svr_list(scopes, q, &l, err, errlen);
	if (n < 0) {
		*code = DX_REFUSED;
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no such service", *q ? q : "(everything)");
		*code = DX_NOMATCH;
		ns_list_free(&l);
		return -1;
	}
	int fd = -1, first_errno = 0;
	const char *first_rel = NULL;
	for (size_t i = 0; i < l.n && fd < 0; i++) {
		fd = ns_connect(&l.v[i]);
		if (fd >= 0) {
			if (svc)
				*svc = l.v[i];
			break;
		}
		if (!first_errno) {
			first_errno = errno;
			first_rel = l.v[i].rel;
		}
		msg_debug("%s: %s", l.v[i].path, strerror(errno));
	}
	if (fd < 0) {
		/* the most telling reason: permission first, then the first failure */
		snprintf(err, errlen, "%s: %s", first_rel ? first_rel : q, strerror(first_errno));
		*code = (first_errno == EACCES || first_errno == EPERM) ? DX_REFUSED :
		        first_errno == ECONNREFUSED || first_errno == ENOENT ? DX_NOMATCH : DX_IO;
	} else {
		fd_set_nonblock(fd, 1);
		fd_set_cloexec(fd);
	}
	ns_list_free(&l);
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
