/* monitor.h: watch the namespace for services appearing and vanishing (inotify over the
 * whole tree, including directories created later). Used by service-monitor, dls -w,
 * the SEP servers' WATCH and the importers. */
#ifndef DIPUS_MONITOR_H
#define DIPUS_MONITOR_H

#include "ns.h"

struct loop;
struct ns_monitor;

/* Flag for ns_monitor_start's scopes: report the services present at start through the
 * callback too (appeared=1, in resolver order, from the loop's first turn, before any
 * change). Without it they are only in ns_monitor_current(). */
#define NS_MONITOR_EXISTING 0x1000u

/* appeared: 1 for a new service, 0 for one that vanished. A socket replaced under the
 * same path is reported as vanished, then appeared. The callback may call
 * ns_monitor_stop() on its own monitor. */
typedef void ns_monitor_fn(void *arg, int appeared, const struct ns_service *s);

/* Start watching services matching query (same forms as ns_resolve; an absolute path
 * outside the root is reported as it is at start, never watched) in scopes (a mask of enum ns_scope, | NS_MONITOR_EXISTING).
 * Untrusted sockets are reported too, flagged (callers skip them as they list them).
 * Every later change is one callback, within about 50 ms. Returns NULL with err and
 * errno on failure (EINVAL bad query, EPERM unsafe root, other: no inotify). A root
 * that does not exist yet is waited for (looked for every 500 ms). */
struct ns_monitor *ns_monitor_start(struct loop *lp, const char *query, unsigned scopes,
                                    ns_monitor_fn *fn, void *arg, char *err, size_t errlen);
/* The services known now, in resolver order (valid until the next loop turn). */
const struct ns_list *ns_monitor_current(const struct ns_monitor *m);
void ns_monitor_stop(struct ns_monitor *m);

#endif
