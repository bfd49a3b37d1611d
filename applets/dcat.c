/* dcat.c: pipe data through a service.
 *
 *   dcat lame foo.wav | dcat madplay
 *
 * Connects to the first service matching QUERY (the next one when one refuses),
 * sends the FILEs in order (stdin when none), half-closes, and copies what the
 * service sends back to stdout until it closes. The copying is core/relay.c. */
#include "applets.h"
#include "ns.h"
#include "relay.h"
#if ENABLE_TLS || ENABLE_SSH
#include "remote.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char dcat_usage[] =
	"usage: dcat QUERY [FILE|-]...\n"
	"\n"
	"Send the FILEs (stdin when none; - is stdin) to the first service that matches\n"
	"QUERY, then copy what it answers to stdout until it closes.\n"
	"\n"
	"QUERY: NAME, NAME.HOST, a PROTO prefix (audio/x-wav/to/audio/mpeg), an absolute\n"
	"socket path, or sep://HOST[:PORT]/QUERY, ssh://[USER@]HOST[:PORT]/QUERY.\n"
	"Matches are tried in dls's order (this host's first); one that refuses is skipped.\n"
	"\n"
	"Exit: 0 done, 1 no such service or none reachable, 2 usage, 3 I/O error,\n"
	"4 unsafe namespace, 5 remote failure. See doc/dcat.md.\n";

struct inputs {
	int *fds;
	const char **names;
	int n, next;
};

static int next_input(void *arg)
{
	struct inputs *in = arg;
	return in->next < in->n ? in->fds[in->next++] : -1;
}

/* Connect to the first reachable local match; -1 with a message and *code set. */
static int connect_local(const char *query, int *code)
{
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX];
	int n = ns_resolve(query, NS_ALL, 1, &l, err, sizeof err);
	if (n < 0) {
		msg("%s", err);
		*code = errno == EPERM ? DX_REFUSED : DX_USAGE;
		return -1;
	}
	int fd = -1, tried = 0, last = 0;
	for (size_t i = 0; i < l.n && fd < 0; i++) {
		if (l.v[i].untrusted)
			continue;  /* below another user's directory: not to be trusted */
		tried++;
		fd = ns_connect(&l.v[i]);
		if (fd < 0) {
			last = errno;
			msg_debug("%s: %s", l.v[i].path, strerror(errno));
		}
	}
	ns_list_free(&l);
	if (fd >= 0)
		return fd;
	*code = DX_NOMATCH;
	if (!tried)
		msg("%s: no such service (searched %s)", query, ns_root());
	else
		msg("%s: no service reachable (%d tried; last: %s)", query, tried, strerror(last));
	return -1;
}

int dcat_main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "+h")) != -1) {
		if (c == 'h') {
			fputs(dcat_usage, stdout);
			return DX_OK;
		}
		return usage_error("unknown option");
	}
	if (optind >= argc)
		return usage_error("needs a QUERY");
	const char *query = argv[optind++];

	/* open every FILE before connecting: a typo must not half-send the others */
	struct inputs in = { 0 };
	int nfiles = argc - optind;
	in.fds = xcalloc(nfiles ? nfiles : 1, sizeof *in.fds);
	in.names = xcalloc(nfiles ? nfiles : 1, sizeof *in.names);
	if (!nfiles) {
		in.fds[in.n] = 0;
		in.names[in.n++] = "stdin";
	}
	for (int i = optind; i < argc; i++) {
		int fd = strcmp(argv[i], "-") ? open(argv[i], O_RDONLY | O_CLOEXEC) : 0;
		if (fd < 0)
			die_errno(DX_IO, "%s", argv[i]);
		in.fds[in.n] = fd;
		in.names[in.n++] = strcmp(argv[i], "-") ? argv[i] : "stdin";
	}

	signal(SIGPIPE, SIG_IGN);
	int code = DX_OK, sock;
#if ENABLE_TLS || ENABLE_SSH
	if (remote_is_uri(query)) {
		char err[NS_ERR_MAX];
		sock = remote_open(query, &code, err, sizeof err);
		if (sock < 0)
			msg("%s", err);
	} else
#endif
	if (!strncmp(query, "sep://", 6) || !strncmp(query, "sep+plain://", 12) ||
	    !strncmp(query, "ssh://", 6)) {
		msg("%s: remote services are not available in this build (no TLS or SSH)", query);
		sock = -1;
		code = DX_NOMATCH;
	} else {
		sock = connect_local(query, &code);
	}
	if (sock < 0)
		return code;

	struct relay_opts ro = { .flags = RELAY_B_EPIPE_ENDS, .next_a_in = next_input, .next_arg = &in };
	struct relay_info info;
	in.next = 1;
	relay_run(in.fds[0], 1, sock, sock, &ro, &info);
	close(sock);
	if (!info.err)
		return DX_OK;
	if (info.side == RELAY_A && info.failed_out && info.err == EPIPE)
		return DX_OK;  /* stdout closed (dcat x | head -1): a quiet end */
	if (info.side == RELAY_A) {
		int cur = in.next > 0 ? in.next - 1 : 0;
		msg("%s: %s", info.failed_out ? "stdout" : in.names[cur], strerror(info.err));
	} else {
		msg("%s: %s", query, strerror(info.err));
	}
	return DX_IO;
}
