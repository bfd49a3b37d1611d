/* sep-svr: the namespace-backed SEP server ops against a real root: the code each
 * refusal carries (decided from errno and codes, never from message text). */
#include "loop.h"
#include "ns.h"
#include "sep.h"
#include "sep-svr.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK_PREFIX "sep-svr/"
#include "check.h"

static char dir[] = "/tmp/dipus-sep-svr-unit.XXXXXX";

/* OPEN CONNECT with q: the fd, or -1 and the code */
static int connect_code(struct sep_svr *v, const char *q, int *code, char *err, size_t len)
{
	*code = 0;
	err[0] = 0;
	int fd = sep_svr_ops.connect(v, q, code, err, len);
	if (fd >= 0)
		close(fd);
	return fd;
}

static void test_codes(struct loop *lp)
{
	struct sep_svr *v = sep_svr_new(lp, NS_EXPORTED);
	char err[NS_ERR_MAX];
	int code;
	/* names no service can have: the query is bad, not the service refused */
	static const char *bad[] = { ".tmp.1.0", "...", "echo.", ".x", "a/../b", "/etc/passwd",
	                             "a//b", "." };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[80];
		snprintf(name, sizeof name, "CONNECT '%s' is BADQUERY", bad[i]);
		int fd = connect_code(v, bad[i], &code, err, sizeof err);
		CHECK(fd < 0 && code == SEP_E_BADQUERY, name, "fd %d code %d (%s)", fd, code, err);
	}
	int fd = connect_code(v, "nosuch", &code, err, sizeof err);
	CHECK(fd < 0 && code == SEP_E_NOSERVICE, "CONNECT to nothing is NOSERVICE",
	      "fd %d code %d (%s)", fd, code, err);
	fd = connect_code(v, "p/nosuch.h...0", &code, err, sizeof err);
	CHECK(fd < 0 && code == SEP_E_NOSERVICE, "exact CONNECT to nothing is NOSERVICE",
	      "fd %d code %d (%s)", fd, code, err);
	/* a dead socket: refused */
	struct ns_service s;
	int l = ns_publish(NS_EXPORTED, "dead", "p", 0666, (gid_t)-1, 4, &s, err, sizeof err);
	CHECK(l >= 0, "publish", "%s", err);
	if (l >= 0)
		close(l);  /* still there, nobody listening */
	fd = connect_code(v, "dead", &code, err, sizeof err);
	CHECK(fd < 0 && code == SEP_E_REFUSED, "CONNECT to a dead socket is REFUSED",
	      "fd %d code %d (%s)", fd, code, err);
	struct ns_list out = { 0 };
	int r = sep_svr_ops.list(v, "echo.", &out, &code, err, sizeof err);
	CHECK(r < 0 && code == SEP_E_BADQUERY, "LIST 'echo.' is BADQUERY", "r %d code %d", r, code);
	ns_list_free(&out);
	unlink(s.path);
	sep_svr_free(v);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char root[64];
	snprintf(root, sizeof root, "%s/root", dir);
	setenv("DIPUS_ROOT", root, 1);
	setenv("DIPUS_HOST", "h", 1);
	struct loop *lp = loop_new();
	test_codes(lp);
	loop_free(lp);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		failures++;
	return check_status();
}
