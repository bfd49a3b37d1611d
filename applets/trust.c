//config:config TRUST
//config:	bool "trust: pin an exporter's key"
//config:	default y
//config:	depends on TLS
//config:	help
//config:	  Pin a SEP exporter's key in known_hosts. See doc/keys.md.
//applet:APPLET(trust, "trust", PREFIXED, "pin a SEP exporter's key in known_hosts")

/* trust.c: pin an exporter's key in known_hosts, as ssh does on first contact; and,
 * on an exporter, authorize a client's key.
 *
 *   dipus trust sep://encode                 shows encode's fingerprint, asks, pins it
 *   dipus trust --authorize SHA256:... alice  appends to authorized_keys */
#include "applets.h"
#include "remote.h"
#include "sep-tcp.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char trust_usage[] =
	"usage: dipus trust [--yes] sep://HOST[:PORT]\n"
	"       dipus trust --authorize SHA256:... [COMMENT...]\n"
	"\n"
	"Connect to the exporter (TLS 1.3), show its key's fingerprint and, once you confirm\n"
	"(on the terminal; --yes for scripts), pin it in known_hosts as HOST:PORT (default\n"
	"port 7150). A key already pinned and still the same is fine; a pinned key that\n"
	"CHANGED is refused, naming both fingerprints. Compare the fingerprint with\n"
	"'dipus keygen -y' on the exporter.\n"
	"\n"
	"--authorize (on an exporter): let the client with this key in, by appending it to\n"
	"authorized_keys; the client's 'dipus keygen -y' prints it.\n"
	"\n"
	"Exit: 0 pinned/authorized, 1 not confirmed, 2 usage, 3 I/O error, 4 the pinned key\n"
	"changed or a config file is unsafe, 5 connection or TLS failure. See doc/keys.md.\n";

static int confirm(const char *hostport, const char *fp)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		msg("%s: no terminal to ask on; check %s and run again with --yes", hostport, fp);
		return 0;
	}
	char q[512], a[16] = "";
	int n = snprintf(q, sizeof q, "The exporter %s has key %s.\nPin it (yes/no)? ", hostport, fp);
	if (write_all(fd, q, n) < 0) {
		close(fd);
		return 0;
	}
	ssize_t r = read(fd, a, sizeof a - 1);
	close(fd);
	return r > 0 && (!strcmp(a, "yes\n") || !strcmp(a, "y\n") || !strcmp(a, "YES\n"));
}

static int authorize(int argc, char **argv)
{
	if (argc < 1)
		return usage_error("--authorize needs a fingerprint");
	char comment[256] = "", err[1024];
	for (int i = 1; i < argc; i++) {
		size_t l = strlen(comment);
		snprintf(comment + l, sizeof comment - l, "%s%s", l ? " " : "", argv[i]);
	}
	if (!tls_fp_valid(argv[0]))
		return usage_error("%s: not a fingerprint (SHA256: and 43 base64 characters, as "
		                   "'dipus keygen -y' prints)", argv[0]);
	int r = tls_authorize_add(argv[0], comment, err, sizeof err);
	if (r < 0)
		die(dx_errno(errno, DX_IO), "%s", err);
	printf("%s%s\n", argv[0], r ? " (already authorized)" : "");
	return fflush(stdout) ? DX_IO : DX_OK;
}

int trust_main(int argc, char **argv)
{
	enum { O_AUTHORIZE = 256 };
	static const struct opt opts[] = {
		{ 'y', "yes", OPT_NOARG }, { O_AUTHORIZE, "authorize", OPT_NOARG }, OPT_END,
	};
	struct optparse op;
	int yes = 0, auth = 0, c;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'y': yes = 1; break;
		case O_AUTHORIZE: auth = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (auth)
		return authorize(argc - optind, argv + optind);
	if (argc - optind != 1)
		return usage_error("needs one sep://HOST[:PORT]");
	struct remote_uri u;
	char err[1024];
	if (remote_parse(argv[optind], &u, err, sizeof err) < 0 || u.scheme != REMOTE_SEP)
		return usage_error("%s: needs sep://HOST[:PORT]", argv[optind]);
	unsigned port = u.port ? u.port : SEP_DEFAULT_PORT;
	char hostport[300];
	snprintf(hostport, sizeof hostport, "%s:%u", u.host, port);
	struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
	if (!x)
		die(dx_errno(errno, DX_IO), "%s", err);
	int fd = net_connect(u.host, port, TLS_HANDSHAKE_MS, err, sizeof err);
	if (fd < 0)
		die(DX_REMOTE, "%s", err);
	struct tls_conn *t = tls_conn_new(x, fd, hostport, 1);
	if (!t)
		die(DX_REMOTE, "%s: cannot start a TLS session", hostport);
	/* Pin only a key the exporter proved it holds (its CertificateVerify and Finished
	 * checked). It may refuse our own key right after that: not our concern here, we
	 * may not be in its authorized_keys yet. */
	int failed = tls_handshake_wait(t, TLS_HANDSHAKE_MS, err, sizeof err) < 0 &&
	             !tls_peer_verified(t);
	int kind = errno;
	char fp[TLS_FP_MAX];
	snprintf(fp, sizeof fp, "%s", tls_peer_fingerprint(t));
	tls_conn_free(t);
	close(fd);
	tls_ctx_free(x);
	if (failed) {
		msg("%s", err);
		return dx_errno(kind, DX_REMOTE);  /* EPERM: the pinned key CHANGED */
	}
	int k = tls_known_hosts_check(hostport, fp, err, sizeof err);
	if (k < 0)
		die(DX_REFUSED, "%s", err);
	if (k == 0) {
		printf("%s %s (already pinned)\n", hostport, fp);
		return fflush(stdout) ? DX_IO : DX_OK;
	}
	if (!yes && !confirm(hostport, fp))
		return DX_NOMATCH;
	if (tls_known_hosts_add(hostport, fp, err, sizeof err) < 0)
		die(dx_errno(errno, DX_IO), "%s", err);
	printf("%s %s\n", hostport, fp);
	return fflush(stdout) ? DX_IO : DX_OK;
}
