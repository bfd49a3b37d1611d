//config:config IMPORT
//config:	bool "import: mirror a remote host's services"
//config:	default y
//config:	depends on TLS || SSH
//config:	help
//config:	  Mirror a remote host's services as local proxy sockets. See doc/import.md.
//applet:APPLET(import, "import", PREFIXED, "mirror a remote host's services as local proxy sockets")

/* import.c: dipus import [-v] URI[/PREFIX]...: run one importer per URI until SIGTERM. */
#include "applets.h"
#include "loop.h"
#include "remote.h"
#include "sep-import.h"

#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

const char import_usage[] =
	"usage: dipus import [-v] [--fingerprint FP] URI[/PREFIX]...\n"
	"\n"
	"Mirror the services of remote hosts as local proxy sockets until SIGTERM/SIGINT.\n"
	"  URI: sep://host[:port]         SEP over TLS 1.3 (port 7150 by default)\n"
	"       sep+plain://host[:port]   SEP over plain TCP (the exporter runs --plaintext)\n"
	"       ssh://[user@]host[:port]  SEP over SSH (dipus serve --stdio on the far side)\n"
	"  /PREFIX  only the remote services matching this query (e.g. /audio, /lame)\n"
	"Proxies: imported/<proto>/<name>.<host>...<n> (ssh://: users/<me>/...), one\n"
	"SEP session per URI shared by all its proxies; live; reconnects with backoff\n"
	"(0.25 s doubling to 30 s); removed on exit.\n"
	"\n"
	"  --fingerprint FP  sep://: the exporter must show exactly this key, pinned in\n"
	"                    known_hosts under any name (not necessarily this host:port)\n"
	"  -v   log proxies appearing and vanishing, and each (re)connect\n"
	"  -h   this help\n";

struct run {
	struct sep_import **imps;
	int n;
};

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, 0);
}

int import_main(int argc, char **argv)
{
	unsigned flags = 0;
	int c;
	const char *fp = NULL;
	static const struct opt opts[] = { { 'v', NULL, OPT_NOARG }, { 'F', "fingerprint", OPT_ARG },
	                                   OPT_END };
	struct optparse op;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0) {
		if (c == 'v')
			flags |= SEP_IMPORT_VERBOSE;
		else if (c == 'F')
			fp = optarg;
	}
	if (c < 0)
		return opt_rc(c);
	if (optind >= argc)
		return usage_error("which remote? (sep://host, sep+plain://host, ssh://host)");
	char err[NS_ERR_MAX];
	for (int i = optind; i < argc; i++) {
		struct remote_uri u;
		if (!remote_is_uri(argv[i]))
			return usage_error("%s: not a remote URI (sep://, sep+plain:// or ssh://)", argv[i]);
		if (remote_parse(argv[i], &u, err, sizeof err))
			return usage_error("%s", err);
	}
	struct loop *lp = loop_new();
	signal(SIGPIPE, SIG_IGN);
	loop_signal(lp, SIGTERM, on_signal, NULL);
	loop_signal(lp, SIGINT, on_signal, NULL);
	loop_signal(lp, SIGHUP, on_signal, NULL);
	int n = argc - optind;
	struct sep_import **imps = xcalloc(n, sizeof *imps);
	int rc = DX_OK;
	for (int i = 0; i < n; i++) {
		const char *uri = argv[optind + i];
		imps[i] = sep_import_start_fp(lp, uri, !strncmp(uri, "ssh://", 6) ? NS_USERS : NS_IMPORTED,
		                              flags, fp, err, sizeof err);
		if (!imps[i]) {
			msg("%s", err);
			rc = errno == EINVAL ? DX_USAGE : DX_IO;
			break;
		}
	}
	if (rc == DX_OK)
		rc = loop_run(lp);
	for (int i = 0; i < n; i++)
		sep_import_stop(imps[i]);
	free(imps);
	loop_free(lp);
	return rc;
}
