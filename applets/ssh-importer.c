//config:config SSH_IMPORTER
//config:	bool "ssh-importer: import from several hosts over SSH"
//config:	default y
//config:	depends on SSH
//config:	help
//config:	  Import from several hosts over SSH. See doc/ssh-importer.md.
//applet:APPLET(ssh_importer, "ssh-importer", PREFIXED, "import from several hosts over SSH")

/* ssh-importer.c: dipus ssh-importer [-i FILE] [-q] HOST...: import from several hosts
 * over SSH at once, one importer module per host on one loop (doc/ssh-importer.md). */
#include "applets.h"
#include "loop.h"
#include "remote.h"
#include "sep-import.h"
#include "ssh.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ssh_importer_usage[] =
	"usage: dipus ssh-importer [-i FILE] [-q] HOST...\n"
	"\n"
	"Import the services of several hosts over SSH at once, until SIGTERM/SIGINT.\n"
	"  HOST: [user@]host[:port][/PREFIX] or ssh://[user@]host[:port][/PREFIX]\n"
	"Each host: one SSH session (the embedded dbclient, or $DIPUS_SSH) running\n"
	"'dipus serve --stdio' there (or $DIPUS_REMOTE); proxies for its services in\n"
	"users/<me>/ (0700: only you can use them); live; reconnects with backoff; a\n"
	"failing host never stops the others. Proxies are removed on exit.\n"
	"\n"
	"  -i FILE  identity file (else $DIPUS_SSH_IDENTITY, else ~/.ssh/id_dropbear,\n"
	"           id_ed25519, id_ecdsa, id_rsa; formats: doc/ssh.md)\n"
	"  -q       quiet: do not log proxies appearing and vanishing\n"
	"  -h       this help\n";

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, 0);
}

int ssh_importer_main(int argc, char **argv)
{
	unsigned flags = SEP_IMPORT_VERBOSE;
	int c;
	static const struct opt opts[] = { { 'i', NULL, OPT_ARG }, { 'q', NULL, OPT_NOARG }, OPT_END };
	struct optparse op;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'i':
			ssh_set_identity(optarg);
			break;
		case 'q':
			flags &= ~SEP_IMPORT_VERBOSE;
			break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind >= argc)
		return usage_error("which hosts? ([user@]host[:port] ...)");
	int n = argc - optind;
	char **uris = xcalloc(n, sizeof *uris);
	char err[NS_ERR_MAX];
	int rc = DX_OK;
	for (int i = 0; i < n && rc == DX_OK; i++) {
		const char *h = argv[optind + i];
		size_t len = strlen(h) + 7;
		uris[i] = xmalloc(len);
		if (!strncmp(h, "ssh://", 6))
			snprintf(uris[i], len, "%s", h);
		else if (strstr(h, "://"))
			rc = usage_error("%s: only ssh:// hosts (use 'dipus import' for sep://)", h);
		else
			snprintf(uris[i], len, "ssh://%s", h);
		struct remote_uri u;
		if (rc == DX_OK && remote_parse(uris[i], &u, err, sizeof err))
			rc = usage_error("%s", err);
		for (int j = 0; j < i && rc == DX_OK; j++)
			if (!strcmp(uris[j], uris[i]))
				rc = usage_error("%s: given twice", h);
	}
	struct loop *lp = NULL;
	struct sep_import **imps = xcalloc(n, sizeof *imps);
	if (rc == DX_OK) {
		lp = loop_new();
		signal(SIGPIPE, SIG_IGN);
		loop_signal(lp, SIGTERM, on_signal, NULL);
		loop_signal(lp, SIGINT, on_signal, NULL);
		loop_signal(lp, SIGHUP, on_signal, NULL);
		for (int i = 0; i < n; i++) {
			imps[i] = sep_import_start(lp, uris[i], NS_USERS, flags, err, sizeof err);
			if (!imps[i]) {
				msg("%s", err);
				rc = DX_IO;
				break;
			}
		}
		if (rc == DX_OK)
			rc = loop_run(lp);
	}
	for (int i = 0; i < n; i++) {
		sep_import_stop(imps[i]);
		free(uris[i]);
	}
	free(imps);
	free(uris);
	loop_free(lp);
	return rc;
}
