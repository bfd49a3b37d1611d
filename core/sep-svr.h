/* sep-svr.h: the namespace-backed SEP server side: what an exporter (NS_EXPORTED) or
 * "dipus serve --stdio" (NS_LOCAL|NS_EXPORTED|NS_USERS) offers to a peer.
 *
 * Queries come from the network and are relative to the offered scopes: absolute
 * paths, empty components and "." / ".." components are refused; nothing is decoded
 * ("%2e%2e" is a literal name and matches nothing). Besides the resolver's forms
 * (name, name.host, proto prefix), a full relative service path
 * "proto/name.host...n" (as LIST returns in rel) matches exactly that service: the
 * importer connects its proxies that way. Sockets below an untrusted directory are
 * never listed nor connected; symlinks are never followed (ns_resolve/ns_connect);
 * non-sockets are not services. Connections are made with the process's own
 * credentials, so the kernel's permission checks apply. */
#ifndef DIPUS_SEP_SVR_H
#define DIPUS_SEP_SVR_H

#include <stddef.h>
#include "ns.h"

struct loop;
struct ns_monitor;

/* 0 if q is an acceptable network query, else -1 with the reason in err, errno EINVAL. */
int sep_svr_check_query(const char *q, char *err, size_t errlen);

/* The services in scopes matching q, resolver order, untrusted ones left out.
 * Returns the count, or -1 with err (refused query, unusable root). */
int sep_svr_list(unsigned scopes, const char *q, struct ns_list *out, char *err, size_t errlen);

/* Connect to the first service in scopes matching q that accepts (moving on to the next
 * match when one refuses). Returns a connected, nonblocking, close-on-exec fd, or -1
 * with *code (SEP_E_BADQUERY a query no service can match, SEP_E_NOSERVICE nothing
 * matched, SEP_E_REFUSED nothing accepted, permission denied, an unusable root) and
 * err. *svc (may be NULL) gets the service. Codes come from errno, never from err. */
int sep_svr_connect(unsigned scopes, const char *q, struct ns_service *svc, int *code,
                    char *err, size_t errlen);

/* Watch services in scopes matching q appear (1) and vanish (0), untrusted ones left
 * out. Existing services are not reported (ns_monitor semantics). NULL with err. */
typedef void sep_svr_watch_fn(void *arg, int appeared, const struct ns_service *s);
struct sep_svr_watch;
struct sep_svr_watch *sep_svr_watch_start(struct loop *lp, unsigned scopes, const char *q,
                                          sep_svr_watch_fn *fn, void *arg, char *err,
                                          size_t errlen);
void sep_svr_watch_stop(struct sep_svr_watch *w);

/* The SEP server ops (core/sep.h) over the above: one struct sep_svr per session (or
 * shared), its scope mask fixed. Pass &sep_svr_ops and the sep_svr as ops/ops_arg to
 * sep_session_new(). sep_svr_free() stops any watch still running. */
struct sep_server_ops;
struct sep_svr;
extern const struct sep_server_ops sep_svr_ops;
struct sep_svr *sep_svr_new(struct loop *lp, unsigned scopes);
void sep_svr_free(struct sep_svr *v);
/* Channels refused for a bound or a bad query, for logs: the last reason, "" if none. */
const char *sep_svr_last_refusal(const struct sep_svr *v);

#endif
