//config:config SERVE
//config:	bool "serve: SEP on stdin/stdout (far side of ssh://)"
//config:	default y
//config:	depends on TLS || SSH
//config:	select NS_SERVER
//config:	help
//config:	  A SEP session on stdin/stdout (the far side of ssh://). See doc/serve.md.
//applet:APPLET(serve, "serve", PREFIXED, "a SEP session on stdin/stdout (the far side of ssh://)")

/* serve.c: dipus serve --stdio: a SEP session on stdin/stdout, the far side of ssh://
 * (doc/serve.md). Offers local/, exported/ and users/<self>/ through core/sep-svr as
 * the invoking user, so the kernel's permission checks decide access; ends when stdin
 * closes. */
#include "applets.h"
#include "loop.h"
#include "ns.h"
#include "sep.h"
#include "sep-svr.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVE_SCOPES (NS_LOCAL | NS_EXPORTED | NS_USERS)

const char serve_usage[] =
	"usage: dipus serve --stdio\n"
	"\n"
	"A SEP session on stdin/stdout: what 'ssh://' runs on the far side (through the\n"
	"embedded dbclient or $DIPUS_SSH, as 'dipus serve --stdio' or $DIPUS_REMOTE).\n"
	"Offers every service the invoking user can reach here: local/, exported/ and\n"
	"users/<self>/; connects as that user (the kernel's permission checks decide);\n"
	"watches for services appearing and vanishing. Ends when stdin closes.\n"
	"\n"
	"  --stdio  serve on stdin/stdout (required)\n"
	"  -h       this help\n";

struct serve {
	struct loop *lp;
	int rc;
	int closed;
};

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

static void on_session(void *arg, int ev, int code, const char *reason)
{
	struct serve *sv = arg;
	if (ev != SEP_SESSION_CLOSED)
		return;
	sv->closed = 1;
	/* the peer closing (stdin EOF, GOAWAY) is the normal end */
	if (code && code != SEP_E_SHUTDOWN) {
		msg("session ended: %s%s%s", sep_code_name(code), reason && *reason ? ": " : "",
		    reason ? reason : "");
		sv->rc = DX_REMOTE;
	}
	loop_stop(sv->lp, sv->rc);
}

/* The SEP session over fds 0/1 with sep-svr's namespace-backed operations. */
static int serve_session(struct serve *sv, char *err, size_t errlen)
{
	struct sep_svr *v = sep_svr_new(sv->lp, SERVE_SCOPES);
	if (!v) {
		snprintf(err, errlen, "cannot start the namespace server");
		return DX_IO;
	}
	struct sep_io io;
	sep_io_fd(&io, 0, 1);
	struct sep_limits lim;
	sep_limits_default(&lim);
	struct sep_session *s = sep_session_new(sv->lp, &io, 1, &lim, &sep_svr_ops, v, ns_host(),
	                                        on_session, sv);
	if (!s) {
		sep_svr_free(v);
		snprintf(err, errlen, "cannot start a SEP session on stdin/stdout");
		return DX_IO;
	}
	/* SEP/2: where the offered scopes are, so an SSH client can open its bulk channels
	 * straight to a service's socket (doc/ssh.md); only an absolute root can be named */
	for (unsigned sc = NS_LOCAL; sc <= NS_IMPORTED; sc <<= 1) {
		char dir[NS_PATH_MAX];
		if ((SERVE_SCOPES & sc) && !ns_scope_dir(sc, dir, sizeof dir))
			sep_session_offer_dir(s, sc, dir);
	}
	loop_run(sv->lp);
	if (!sv->closed)
		sep_session_close(s, SEP_E_SHUTDOWN, "serve is stopping");
	sep_session_free(s);
	sep_svr_free(v);
	return sv->rc;
}

int serve_main(int argc, char **argv)
{
	enum { O_STDIO = 256 };
	static const struct opt opts[] = { { O_STDIO, "stdio", OPT_NOARG }, OPT_END };
	struct optparse op;
	int stdio = 0, c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0)
		stdio = 1;    /* --stdio, the only option */
	if (c < 0)
		return opt_rc(c);
	if (optind < argc)
		return usage_error("no arguments expected after the options");
	if (!stdio)
		return usage_error("--stdio is required (the only mode)");
	if (isatty(0) || isatty(1))
		die(DX_USAGE, "stdin/stdout is a terminal: serve speaks binary SEP to a program "
		              "(ssh runs it as 'dipus serve --stdio')");
	char err[NS_ERR_MAX];
	/* the namespace must be usable before we answer anything */
	int rfd = ns_open_root(0, err, sizeof err);
	if (rfd < 0 && errno != ENOENT)
		die(DX_REFUSED, "%s", err);
	if (rfd >= 0)
		close(rfd);

	struct serve sv = { .lp = loop_new(), .rc = DX_OK };
	signal(SIGPIPE, SIG_IGN);
	loop_signal(sv.lp, SIGTERM, on_signal, &sv);
	loop_signal(sv.lp, SIGHUP, on_signal, &sv);
	loop_signal(sv.lp, SIGINT, on_signal, &sv);
	err[0] = 0;
	int rc = serve_session(&sv, err, sizeof err);
	if (rc != DX_OK && err[0])
		msg("%s", err);
	loop_free(sv.lp);
	return rc;
}
