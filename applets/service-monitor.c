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
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char service_monitor_usage[] =
	"usage: dipus service-monitor [QUERY]\n"
	"\n"
	"Print '+ PATH' for each service that matches QUERY (all when none), then one line\n"
	"per change as it happens: '+ PATH' when a service appears, '- PATH' when it\n"
	"vanishes. Lines are flushed one by one. Runs until SIGTERM or SIGINT (exit 0).\n"
	"Sockets below another user's directory are not reported. See doc/service-monitor.md.\n";

static void print(const char *mark, const struct ns_service *s)
{
	if (s->untrusted)
		return;
	if (printf("%s %s\n", mark, s->path) < 0 || fflush(stdout) != 0)
		exit(errno == EPIPE ? DX_OK : DX_IO);  /* a reader that left ends us */
}

static void on_change(void *arg, int appeared, const struct ns_service *s)
{
	print(appeared ? "+" : "-", s);
}

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

int service_monitor_main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(service_monitor_usage, stdout);
		return DX_OK;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1]))
		return usage_error("takes at most one QUERY");
	signal(SIGPIPE, SIG_IGN);
	struct loop *lp = loop_new();
	loop_signal(lp, SIGTERM, on_signal, NULL);
	loop_signal(lp, SIGINT, on_signal, NULL);
	char err[NS_ERR_MAX];
	struct ns_monitor *m = ns_monitor_start(lp, argc == 2 ? argv[1] : "", NS_ALL, on_change, NULL,
	                                        err, sizeof err);
	if (!m)
		die(errno == EPERM ? DX_REFUSED : DX_USAGE, "%s", err);
	const struct ns_list *now = ns_monitor_current(m);
	for (size_t i = 0; i < now->n; i++)
		print("+", &now->v[i]);
	int rc = loop_run(lp);
	ns_monitor_stop(m);
	loop_free(lp);
	return rc;
}
