/* dls.c: list services, here and on other hosts.
 *
 *   dls                      NAME HOST PROTO SCOPE table, this host's first
 *   socat - UNIX-CONNECT:$(dls -1 -f lame)
 *
 * Listing is the one resolver (core/ns.c); -w adds the monitor (core/monitor.c). */
#include "applets.h"
#include "loop.h"
#include "monitor.h"
#include "ns.h"
#if ENABLE_TLS || ENABLE_SSH
#include "remote.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

const char dls_usage[] =
	"usage: dls [-1] [-f] [-l] [--json] [-w] [QUERY...]\n"
	"\n"
	"List the services that match any QUERY (all when none), this host's first.\n"
	"QUERY: NAME, NAME.HOST, a PROTO prefix, an absolute path, sep://HOST[:PORT][/QUERY]\n"
	"or ssh://[USER@]HOST[:PORT][/QUERY].\n"
	"\n"
	"  (default)  a table: NAME HOST PROTO SCOPE\n"
	"  -1         one NAME.HOST per line\n"
	"  -f         full socket paths, one per line (with or without -1)\n"
	"  -l         also owner, group, mode, and sockets below untrusted directories\n"
	"  --json     one JSON object per line with every field\n"
	"  -w         then keep watching: '+ ' or '- ' and the same line per change\n"
	"\n"
	"Exit: 0 something matched, 1 nothing did, 2 usage, 4 unsafe root, 5 remote failure.\n"
	"See doc/dls.md.\n";

enum fmt { F_TABLE, F_ONE, F_PATH, F_LONG, F_JSON };

static enum fmt fmt;
static int header_done;
static const char *remote_prefix;  /* the URI a remote entry came from, or NULL */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *owner(uid_t u, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(u);
	if (pw)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)u);
	return buf;
}

static const char *group(gid_t g, char *buf, size_t n)
{
	struct group *gr = getgrgid(g);
	if (gr)
		snprintf(buf, n, "%s", gr->gr_name);
	else
		snprintf(buf, n, "%u", (unsigned)g);
	return buf;
}

static const char *scope_col(const struct ns_service *s)
{
	return remote_prefix ? remote_prefix : ns_scope_name(s->scope);
}

static void print_one(const struct ns_service *s, const char *mark)
{
	char u[64], g[64];
	if (mark)
		fputs(mark, stdout);
	switch (fmt) {
	case F_ONE:
		printf("%s.%s\n", s->name, s->host);
		break;
	case F_PATH:
		if (remote_prefix)
			printf("%s/%s\n", remote_prefix, s->rel);
		else
			printf("%s\n", s->path);
		break;
	case F_TABLE:
		if (!header_done++ && !mark)
			printf("%-16s %-20s %-28s %s\n", "NAME", "HOST", "PROTO", "SCOPE");
		printf("%-16s %-20s %-28s %s\n", s->name, s->host, *s->proto ? s->proto : "-",
		       scope_col(s));
		break;
	case F_LONG:
		if (!header_done++ && !mark)
			printf("%-10s %-10s %-5s %-16s %-20s %-28s %-9s %s\n", "OWNER", "GROUP", "MODE",
			       "NAME", "HOST", "PROTO", "SCOPE", "FLAGS");
		printf("%-10s %-10s %04o  %-16s %-20s %-28s %-9s %s\n", owner(s->uid, u, sizeof u),
		       group(s->gid, g, sizeof g), (unsigned)s->mode, s->name, s->host,
		       *s->proto ? s->proto : "-", scope_col(s), s->untrusted ? "UNTRUSTED" : "-");
		break;
	case F_JSON:
		printf("{\"name\":");
		json_str(s->name);
		printf(",\"host\":");
		json_str(s->host);
		printf(",\"proto\":");
		json_str(s->proto);
		printf(",\"scope\":");
		json_str(remote_prefix ? "remote" : ns_scope_name(s->scope));
		printf(",\"n\":%u,\"path\":", s->n);
		json_str(s->path);
		printf(",\"rel\":");
		json_str(s->rel);
		if (remote_prefix) {
			printf(",\"remote\":");
			json_str(remote_prefix);
		}
		printf(",\"owner\":");
		json_str(owner(s->uid, u, sizeof u));
		printf(",\"group\":");
		json_str(group(s->gid, g, sizeof g));
		printf(",\"mode\":\"%04o\",\"untrusted\":%s}\n", (unsigned)s->mode,
		       s->untrusted ? "true" : "false");
		break;
	}
}

static int already(const struct ns_list *l, size_t upto, const struct ns_service *s)
{
	for (size_t i = 0; i < upto; i++)
		if (!strcmp(l->v[i].path, s->path))
			return 1;
	return 0;
}

static void on_change(void *arg, int appeared, const struct ns_service *s)
{
	if (s->untrusted && fmt != F_LONG && fmt != F_JSON)
		return;
	print_one(s, appeared ? "+ " : "- ");
	fflush(stdout);
}

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

static int watch(int nq, char **queries)
{
	struct loop *lp = loop_new();
	loop_signal(lp, SIGTERM, on_signal, NULL);
	loop_signal(lp, SIGINT, on_signal, NULL);
	struct ns_monitor *m[64];
	int n = 0;
	for (int i = 0; i < (nq ? nq : 1) && n < 64; i++) {
		char err[NS_ERR_MAX];
		m[n] = ns_monitor_start(lp, nq ? queries[i] : "", NS_ALL, on_change, NULL, err, sizeof err);
		if (!m[n])
			die(DX_USAGE, "%s", err);
		n++;
	}
	int rc = loop_run(lp);
	for (int i = 0; i < n; i++)
		ns_monitor_stop(m[i]);
	loop_free(lp);
	return rc;
}

int dls_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int one = 0, full = 0, lng = 0, json = 0, w = 0, c;
	while ((c = getopt_long(argc, argv, "1flwh", longopts, NULL)) != -1) {
		switch (c) {
		case '1': one = 1; break;
		case 'f': full = 1; break;
		case 'l': lng = 1; break;
		case 'j': json = 1; break;
		case 'w': w = 1; break;
		case 'h': fputs(dls_usage, stdout); return DX_OK;
		default: return usage_error("unknown option");
		}
	}
	fmt = json ? F_JSON : full ? F_PATH : one ? F_ONE : lng ? F_LONG : F_TABLE;
	int nq = argc - optind;
	char **queries = argv + optind;
	int rc = DX_OK, matched = 0;
	struct ns_list l = { 0 };
	for (int i = 0; i < (nq ? nq : 1); i++) {
		const char *q = nq ? queries[i] : "";
		char err[NS_ERR_MAX];
		if (!strncmp(q, "sep://", 6) || !strncmp(q, "sep+plain://", 12) || !strncmp(q, "ssh://", 6)) {
#if ENABLE_TLS || ENABLE_SSH
			struct ns_list r = { 0 };
			int code = DX_OK;
			int n = remote_list(q, &r, &code, err, sizeof err);
			if (n < 0) {
				msg("%s", err);
				rc = code;
			} else if (n == 0) {
				msg("%s: no such service", q);
			}
			/* entries are named by where they came from */
			char base[NS_PATH_MAX];
			const char *slash = strchr(strstr(q, "://") + 3, '/');
			snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - q) : (int)strlen(q), q);
			remote_prefix = base;
			for (size_t k = 0; k < r.n; k++)
				print_one(&r.v[k], NULL);
			remote_prefix = NULL;
			matched += n > 0 ? n : 0;
			ns_list_free(&r);
#else
			msg("%s: remote queries are not available in this build (no TLS or SSH)", q);
			rc = DX_NOMATCH;
#endif
			continue;
		}
		size_t before = l.n;
		int n = ns_resolve(q, NS_ALL, 1, &l, err, sizeof err);
		if (n < 0) {
			msg("%s", err);
			return errno == EPERM ? DX_REFUSED : DX_USAGE;
		}
		int shown = 0;
		for (size_t k = before; k < l.n; k++) {
			if (already(&l, before, &l.v[k]))
				continue;
			if (l.v[k].untrusted && !lng && !json)
				continue;  /* below another user's directory: shown by -l only */
			print_one(&l.v[k], NULL);
			shown++;
		}
		if (!shown && nq && !w)
			msg("%s: no such service (searched %s)", q, ns_root());
		matched += shown;
	}
	ns_list_free(&l);
	if (fflush(stdout) != 0)
		die_errno(DX_IO, "stdout");
	if (w)
		return watch(nq, queries);
	if (rc != DX_OK)
		return rc;
	return matched ? DX_OK : DX_NOMATCH;
}
