/* monitor.h: watch the namespace for services appearing and vanishing (inotify over the
 * whole tree, including directories created later). Used by service-monitor, dls -w,
 * the SEP servers' WATCH and the importers. */
#ifndef DIPUS_MONITOR_H
#define DIPUS_MONITOR_H

#include "ns.h"

struct loop;
struct ns_monitor;

/* appeared: 1 for a new service, 0 for one that vanished. */
typedef void ns_monitor_fn(void *arg, int appeared, const struct ns_service *s);

/* Start watching services matching query (same forms as ns_resolve; absolute paths
 * not accepted) in scopes. The set present at start is ns_monitor_current(); every
 * later change is one callback, within about 50 ms. Returns NULL with err on failure
 * (unsafe root, no inotify). A root that does not exist yet is waited for. */
struct ns_monitor *ns_monitor_start(struct loop *lp, const char *query, unsigned scopes,
                                    ns_monitor_fn *fn, void *arg, char *err, size_t errlen);
/* The services known now, in resolver order (valid until the next loop turn). */
const struct ns_list *ns_monitor_current(const struct ns_monitor *m);
void ns_monitor_stop(struct ns_monitor *m);

#endif
