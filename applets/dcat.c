//config:config DCAT
//config:	bool "dcat: pipe data through a service"
//config:	default y
//config:	help
//config:	  Pipe data through a service. See doc/dcat.md.
//applet:APPLET(dcat, "dcat", PLAIN, "pipe data through a service")

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
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char dcat_usage[] =
	"usage: dcat QUERY [FILE|-]...\n"
	"\n"
	"Send the FILEs (stdin when none; - is stdin) to the first service matching QUERY\n"
	"(NAME, NAME.HOST, PROTO prefix, /socket/path, sep://HOST/QUERY, ssh://HOST/QUERY;\n"
	"one that refuses is skipped), half-close, and copy its answer to stdout.\n"
	"\n"
	"Exit: 0 done, 1 no such service or none reachable, 2 usage, 3 I/O error,\n"
	"4 unsafe namespace, 5 remote failure. See doc/dcat.md.\n";

/* The FILE arguments, opened one at a time as the relay reaches them. */
struct inputs {
	char **names;
	int n, next;
	const char *cur;   /* what is being sent now, for messages */
};

static int open_input(const char *name)
{
	/* "-" is a duplicate of stdin, so the relay may close it like a file */
	if (!strcmp(name, "-"))
		return fcntl(0, F_DUPFD_CLOEXEC, 3);
	return open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

static const char *input_name(const char *name)
{
	return strcmp(name, "-") ? name : "stdin";
}

static int next_input(void *arg)
{
	struct inputs *in = arg;
	if (in->next >= in->n)
		return RELAY_NEXT_EOF;
	in->cur = input_name(in->names[in->next]);
	int fd = open_input(in->names[in->next++]);
	return fd >= 0 ? fd : RELAY_NEXT_ERROR;
}

/* Every FILE must be readable before anything is sent. */
static int check_inputs(const struct inputs *in)
{
	for (int i = 0; i < in->n; i++) {
		if (!strcmp(in->names[i], "-"))
			continue;
		int fd = open_input(in->names[i]);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			msg_errno("%s", in->names[i]);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			msg_errno("%s", in->names[i]);
			return -1;
		}
	}
	return 0;
}

/* A local query: connect to the first trusted match that accepts. */
static int open_local(const char *query, char *what, size_t wlen, int *code)
{
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve(query, NS_ALL, 1, &l, err, sizeof err) < 0) {
		msg("%s", err);
		*code = errno == EPERM ? DX_REFUSED : errno == EINVAL ? DX_USAGE : DX_IO;
		return -1;
	}
	int fd = -1, tried = 0, untrusted = 0, last = 0;
	for (size_t i = 0; i < l.n && fd < 0; i++) {
		if (l.v[i].untrusted) {
			untrusted++;  /* below another user's directory: not to be trusted */
			continue;
		}
		tried++;
		fd = ns_connect(&l.v[i]);
		if (fd < 0) {
			last = errno;
			msg_debug("%s: %s", l.v[i].path, strerror(errno));
		} else {
			snprintf(what, wlen, "%s", l.v[i].path);
		}
	}
	ns_list_free(&l);
	if (fd >= 0)
		return fd;
	*code = DX_NOMATCH;
	if (tried)
		msg("%s: no service reachable (%d tried; last: %s)", query, tried, strerror(last));
	else if (untrusted)
		msg("%s: only untrusted matches (see dls -l)", query);
	else
		msg("%s: no such service (searched %s)", query, ns_root());
	return -1;
}

/* The one call that turns a query into a connected stream socket (half-close works
 * both ways), local or remote. -1 with a message printed and *code set. */
static int open_service(const char *query, char *what, size_t wlen, int *status, int *code)
{
	snprintf(what, wlen, "%s", query);
	*status = -1;
#if ENABLE_TLS || ENABLE_SSH
	if (remote_is_uri(query)) {
		char err[NS_ERR_MAX];
		int fd = remote_open_st(query, status, code, err, sizeof err);
		if (fd < 0)
			msg("%s", err);
		return fd;
	}
#endif
	if (remote_is_uri(query)) {
		msg("%s: remote services are not available in this build", query);
		*code = DX_NOMATCH;
		return -1;
	}
	return open_local(query, what, wlen, code);
}

int dcat_main(int argc, char **argv)
{
	static const struct opt opts[] = { OPT_END };
	struct optparse op;
	int c;
	opt_start(&op, argc, argv, opts, 0);
	if ((c = opt_next(&op)) < 0)
		return opt_rc(c);
	if (optind >= argc)
		return usage_error("needs a QUERY");
	const char *query = argv[optind++];
	struct inputs in = { .names = argv + optind, .n = argc - optind, .cur = "stdin" };
	if (check_inputs(&in) < 0)
		return DX_IO;

	/* a closed stdout must show up as EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	int code = DX_OK;
	char what[NS_PATH_MAX + 16];
	int status;  /* a remote's: how its transfer ended */
	int sock = open_service(query, what, sizeof what, &status, &code);
	if (sock < 0)
		return code;

	int first = 0;
	if (in.n) {
		first = next_input(&in);
		if (first < 0) {
			msg_errno("%s", in.cur);
			close(sock);
			return DX_IO;
		}
	}
	/* stdin/stdout are shared with the shell and its other children: the relay never
	 * makes them non-blocking (that flag would leak into every process sharing them) */
	struct relay_opts ro = {
		.bufsize = 256 * 1024,
		.flags = RELAY_B_EPIPE_ENDS | RELAY_SHARED_A | RELAY_CLOSE_INPUTS,
		.next_a_in = next_input,
		.next_arg = &in,
	};
	struct relay_info info;
	relay_run(first, 1, sock, sock, &ro, &info);
	close(sock);
#if ENABLE_TLS || ENABLE_SSH
	/* a remote stream that ended because its session was lost is no success */
	if (status >= 0 && (!info.err || info.side != RELAY_A)) {
		char err[NS_ERR_MAX];
		if (remote_end(status, &code, err, sizeof err) < 0) {
			msg("%s", err);
			return code;
		}
	} else if (status >= 0) {
		close(status);
	}
#endif
	if (!info.err)
		return DX_OK;
	if (info.side == RELAY_A && info.failed_out) {
		if (info.err == EPIPE)
			return DX_OK;  /* stdout's reader went away (dcat x | head -1): a quiet end */
		msg("stdout: %s", strerror(info.err));
	} else if (info.side == RELAY_A) {
		msg("%s: %s", in.cur, strerror(info.err));
	} else {
		msg("%s: %s", what, strerror(info.err));
	}
	return DX_IO;
}
