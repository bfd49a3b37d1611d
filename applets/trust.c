/* trust.c: pin an exporter's key in known_hosts, as ssh does on first contact.
 *
 *   dipus trust sep://encode       shows encode's fingerprint, asks, pins it */
#include "applets.h"
#include "remote.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char trust_usage[] =
	"usage: dipus trust [--yes] sep://HOST[:PORT]\n"
	"\n"
	"Connect to the exporter, show its key's fingerprint and, once you confirm (on the\n"
	"terminal; --yes for scripts), pin it in known_hosts as HOST:PORT. A key already\n"
	"pinned and still the same is fine; a pinned key that CHANGED is refused, naming\n"
	"both fingerprints. Compare the fingerprint with 'dipus keygen -y' on the exporter.\n"
	"\n"
	"Exit: 0 pinned, 1 not confirmed, 2 usage, 4 the pinned key changed, 5 connection\n"
	"or TLS failure. See doc/keys.md.\n";

static int confirm(const char *hostport, const char *fp)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		msg("%s: no terminal to ask on; check %s and run again with --yes", hostport, fp);
		return 0;
	}
	char q[512], a[16] = "";
	int n = snprintf(q, sizeof q, "The exporter %s has key %s.\nPin it (yes/no)? ", hostport, fp);
	write_all(fd, q, n);
	ssize_t r = read(fd, a, sizeof a - 1);
	close(fd);
	return r > 0 && (!strncmp(a, "yes", 3) || !strncmp(a, "y\n", 2));
}

int trust_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int yes = 0, c;
	while ((c = getopt_long(argc, argv, "yh", longopts, NULL)) != -1) {
		switch (c) {
		case 'y': yes = 1; break;
		case 'h': fputs(trust_usage, stdout); return DX_OK;
		default: return usage_error("unknown option");
		}
	}
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
		die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
	int fd = net_connect(u.host, port, TLS_HANDSHAKE_MS, err, sizeof err);
	if (fd < 0)
		die(DX_REMOTE, "%s", err);
	struct tls_conn *t = tls_conn_new(x, fd, hostport, 1);
	int r = tls_handshake_wait(t, TLS_HANDSHAKE_MS, err, sizeof err);
	const char *fp = tls_peer_fingerprint(t);
	/* the exporter may refuse us (we are not authorized yet) after showing its key:
	 * what we came for is its key, so a later refusal does not matter here */
	if (!fp[0]) {
		msg("%s", err);
		return strstr(err, "CHANGED") ? DX_REFUSED : DX_REMOTE;
	}
	char pinned[TLS_FP_MAX];
	snprintf(pinned, sizeof pinned, "%s", fp);
	tls_conn_free(t);
	close(fd);
	tls_ctx_free(x);
	int k = tls_known_hosts_check(hostport, pinned, err, sizeof err);
	if (k < 0)
		die(DX_REFUSED, "%s", err);
	if (k == 0) {
		printf("%s %s (already pinned)\n", hostport, pinned);
		return DX_OK;
	}
	(void)r;
	if (!yes && !confirm(hostport, pinned))
		return DX_NOMATCH;
	if (tls_known_hosts_add(hostport, pinned, err, sizeof err) < 0)
		die(DX_IO, "%s", err);
	printf("%s %s\n", hostport, pinned);
	return fflush(stdout) ? DX_IO : DX_OK;
}
