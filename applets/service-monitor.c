//config:config SERVICE_MONITOR
//config:	bool "service-monitor: services as they appear and vanish"
//config:	default y
//config:	help
//config:	  Print services as they appear and vanish. See doc/service-monitor.md.
//applet:APPLET(service_monitor, "service-monitor", PREFIXED, "print services as they appear and vanish")

/* service-monitor.c: print services as they appear and vanish.
 *
 *   dipus service-monitor audio/     "+ PATH" per service now, then "+ PATH" / "- PATH"
 *
 * The watching is core/monitor.c, the same that dls -w and the SEP servers use. */
#include "applets.h"
#include "loop.h"
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char service_monitor_usage[] =
	"usage: dipus service-monitor [QUERY]\n"
	"\n"
	"Print '+ PATH' for each service that matches QUERY (all when none), then one line\n"
	"per change as it happens: '+ PATH' when a service appears, '- PATH' when it\n"
	"vanishes, each flushed at once. Runs until SIGTERM or SIGINT (exit 0).\n"
	"Exit: 2 usage, 4 unsafe root. See doc/service-monitor.md.\n";

static void on_change(void *arg, int appeared, const struct ns_service *s)
{
	if (s->untrusted)
		return;
	if (printf("%c %s\n", appeared ? '+' : '-', s->path) < 0 || fflush(stdout) != 0)
		exit(errno == EPIPE ? DX_OK : DX_IO);  /* a reader that left ends us */
}

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

int service_monitor_main(int argc, char **argv)
{
	static const struct opt opts[] = { OPT_END };
	struct optparse op;
	int c;
	opt_start(&op, argc, argv, opts, 0);
	if ((c = opt_next(&op)) < 0)
		return opt_rc(c);
	if (argc - optind > 1)
		return usage_error("takes at most one QUERY");
	signal(SIGPIPE, SIG_IGN);
	struct loop *lp = loop_new();
	loop_signal(lp, SIGTERM, on_signal, NULL);
	loop_signal(lp, SIGINT, on_signal, NULL);
	char err[NS_ERR_MAX];
	/* what exists comes first, as '+' lines, through the same callback */
	struct ns_monitor *m = ns_monitor_start(lp, optind < argc ? argv[optind] : "",
	                                        NS_ALL | NS_MONITOR_EXISTING, on_change, NULL,
	                                        err, sizeof err);
	if (!m)
		die(errno == EPERM ? DX_REFUSED : errno == EINVAL ? DX_USAGE : DX_IO, "%s", err);
	int rc = loop_run(lp);
	ns_monitor_stop(m);
	loop_free(lp);
	return rc;
}
