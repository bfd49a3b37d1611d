/* monitor.h: watch the namespace for services appearing and vanishing (inotify over the
 * whole tree, including directories created later). Used by service-monitor, dls -w,
 * the exporter's watch and the importers. */
#ifndef DIPUS_MONITOR_H
#define DIPUS_MONITOR_H

#include "ns.h"

struct loop;
struct ns_monitor;

/* appeared: 1 for a new service, 0 for one that vanished. */
typedef void ns_monitor_fn(void *arg, int appeared, const struct ns_service *s);

/* Start watching services matching query (same forms as ns_resolve) in scopes.
 * Services that exist at start are NOT reported (call ns_resolve first; the monitor is
 * armed before it returns, so nothing between the two is lost twice or missed: a service
 * present in both is reported by ns_resolve only). Returns NULL with err on failure. */
struct ns_monitor *ns_monitor_start(struct loop *lp, const char *query, unsigned scopes,
                                    ns_monitor_fn *fn, void *arg, char *err, size_t errlen);
void ns_monitor_stop(struct ns_monitor *m);

#endif
