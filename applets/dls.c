//config:config DLS
//config:	bool "dls: list services"
//config:	default y
//config:	help
//config:	  List services here and on other hosts. See doc/dls.md.
//applet:APPLET(dls, "dls", PLAIN, "list services here and on other hosts")

/* dls.c: list services, here and on other hosts.
 *
 *   dls                      NAME HOST PROTO SCOPE table, this host's first
 *   socat - UNIX-CONNECT:$(dls -1 -f lame)
 *
 * Listing is the one resolver (core/ns.c); -w adds the monitor (core/monitor.c); a
 * remote query is one call to list_remote(). */
#include "applets.h"
#include "loop.h"
#include "monitor.h"
#include "ns.h"
#include "remote.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static int watching;
static char **queries;   /* the local queries */
static int nqueries;
static int header_done;

static const char *owner(const struct ns_service *s)
{
	static char buf[32];
	struct passwd *pw = getpwuid(s->uid);
	if (pw)
		return pw->pw_name;
	snprintf(buf, sizeof buf, "%u", (unsigned)s->uid);
	return buf;
}

static const char *group(const struct ns_service *s)
{
	static char buf[32];
	struct group *gr = getgrgid(s->gid);
	if (gr)
		return gr->gr_name;
	snprintf(buf, sizeof buf, "%u", (unsigned)s->gid);
	return buf;
}

/* ---- output ---- */

/* A JSON string: quotes, backslashes and control characters escaped; bytes that are
 * not UTF-8 become U+FFFD (file names are bytes, JSON is text). */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	putchar('"');
	while (*s) {
		unsigned char c = *s;
		if (c == '"' || c == '\\') {
			printf("\\%c", c);
			s++;
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
			s++;
		} else if (c < 0x80) {
			putchar(c);
			s++;
		} else {
			/* a lead byte and its continuation bytes, or U+FFFD */
			int len = c >= 0xf8 || c < 0xc2 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2, i = 1;
			while (i < len && (s[i] & 0xc0) == 0x80)
				i++;
			if (len && i == len) {
				fwrite(s, 1, len, stdout);
				s += len;
			} else {
				fputs("\\ufffd", stdout);
				s++;
			}
		}
	}
	putchar('"');
}

/* key (with its opening punctuation, up to the closing quote) and a JSON string */
static void jfield(const char *key, const char *val)
{
	printf("%s\":", key);
	json_str(val);
}

static const char *scope_col(const struct ns_service *s, const char *origin)
{
	return origin ? origin : ns_scope_name(s->scope);
}

static const char *proto_col(const struct ns_service *s)
{
	return *s->proto ? s->proto : "-";
}

static void print_header(void)
{
	if (header_done++)
		return;
	if (fmt == F_TABLE)
		printf("%-16s %-20s %-28s %s\n", "NAME", "HOST", "PROTO", "SCOPE");
	else if (fmt == F_LONG)
		printf("%-10s %-10s %-5s %-16s %-20s %-28s %-9s %s\n", "OWNER", "GROUP", "MODE", "NAME",
		       "HOST", "PROTO", "SCOPE", "FLAGS");
}

/* origin: NULL for this host's tree, else the remote URI it came from.
 * event: NULL in a plain listing, else "present", "appeared" or "vanished" (-w). */
static void print_row(const struct ns_service *s, const char *origin, const char *event)
{
	if (!event || !strcmp(event, "present"))
		print_header();
	const char *mark = !event || !strcmp(event, "present") ? "" :
	                   !strcmp(event, "appeared") ? "+ " : "- ";
	switch (fmt) {
	case F_ONE:
		printf("%s%s.%s\n", mark, s->name, s->host);
		break;
	case F_PATH:
		if (origin)
			printf("%s%s/%s\n", mark, origin, s->rel);
		else
			printf("%s%s\n", mark, s->path);
		break;
	case F_TABLE:
		printf("%s%-16s %-20s %-28s %s\n", mark, s->name, s->host, proto_col(s), scope_col(s, origin));
		break;
	case F_LONG:
		printf("%s%-10s %-10s %04o  %-16s %-20s %-28s %-9s %s\n", mark, owner(s), group(s),
		       (unsigned)s->mode, s->name, s->host, proto_col(s), scope_col(s, origin),
		       s->untrusted ? "UNTRUSTED" : "-");
		break;
	case F_JSON:
		jfield("{\"name", s->name);
		jfield(",\"host", s->host);
		jfield(",\"proto", s->proto);
		jfield(",\"scope", origin ? "remote" : ns_scope_name(s->scope));
		printf(",\"n\":%u", s->n);
		jfield(",\"path", s->path);
		jfield(",\"rel", s->rel);
		if (origin)
			jfield(",\"remote", origin);
		jfield(",\"owner", owner(s));
		jfield(",\"group", group(s));
		printf(",\"uid\":%u,\"gid\":%u,\"mode\":\"%04o\",\"untrusted\":%s",
		       (unsigned)s->uid, (unsigned)s->gid, (unsigned)s->mode,
		       s->untrusted ? "true" : "false");
		if (event)
			jfield(",\"event", event);
		puts("}");
		break;
	}
}

/* Sockets below another user's directory are shown by -l and --json only. */
static int shown(const struct ns_service *s)
{
	return !s->untrusted || fmt == F_LONG || fmt == F_JSON;
}

/* ---- sources ---- */

/* A remote host's services, each named by where it came from (the URI up to its
 * query). Returns the count, or -1 with a message and *code. */
static int list_remote(const char *uri, int *code)
{
#if ENABLE_TLS || ENABLE_SSH
	char err[NS_ERR_MAX], origin[NS_ERR_MAX];
	struct ns_list r = { 0 };
	int n = remote_list(uri, &r, code, err, sizeof err);
	if (n < 0)
		msg("%s", err);
	else if (!n)
		msg("%s: no such service", uri);
	const char *slash = strchr(strstr(uri, "://") + 3, '/');
	snprintf(origin, sizeof origin, "%.*s", slash ? (int)(slash - uri) : (int)strlen(uri), uri);
	for (size_t k = 0; k < r.n; k++)
		print_row(&r.v[k], origin, NULL);
	ns_list_free(&r);
	return n;
#else
	msg("%s: remote queries are not available in this build (no TLS or SSH)", uri);
	*code = DX_NOMATCH;
	return -1;
#endif
}

/* Print s if a query wants it (marking which); 1 if printed. */
static int offer(const struct ns_service *s, const char *event, unsigned char *hit)
{
	if (!shown(s))
		return 0;
	int want = !nqueries;
	for (int i = 0; i < nqueries; i++)
		if (ns_match(queries[i], s)) {
			want = 1;
			if (hit)
				hit[i] = 1;
		}
	if (want)
		print_row(s, NULL, event);
	return want;
}

static void on_change(void *arg, int appeared, const struct ns_service *s)
{
	if (offer(s, appeared ? "appeared" : "vanished", NULL) && fflush(stdout) != 0)
		exit(errno == EPIPE ? DX_OK : DX_IO);  /* a reader that left ends us */
}

static void on_signal(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

static int outside_root(const char *q)
{
	size_t rl = strlen(ns_root());
	return q[0] == '/' && (strncmp(q, ns_root(), rl) || q[rl] != '/');
}

int dls_main(int argc, char **argv)
{
	enum { O_JSON = 256 };
	static const struct opt opts[] = {
		{ '1', NULL, OPT_NOARG }, { 'f', NULL, OPT_NOARG }, { 'l', NULL, OPT_NOARG },
		{ 'w', NULL, OPT_NOARG }, { O_JSON, "json", OPT_NOARG }, OPT_END,
	};
	struct optparse op;
	int one = 0, full = 0, lng = 0, json = 0, c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case '1': one = 1; break;
		case 'f': full = 1; break;
		case 'l': lng = 1; break;
		case O_JSON: json = 1; break;
		case 'w': watching = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	fmt = json ? F_JSON : full ? F_PATH : one ? F_ONE : lng ? F_LONG : F_TABLE;

	/* local and remote queries apart; every local one checked before anything runs */
	int nargs = argc - optind;
	char **args = argv + optind;
	queries = xcalloc(nargs + 1, sizeof *queries);
	for (int i = 0; i < nargs; i++) {
		char err[NS_ERR_MAX];
		if (remote_is_uri(args[i])) {
			if (watching)
				return usage_error("%s: -w watches local services only", args[i]);
			continue;
		}
		if (ns_check_query(args[i], 1, err, sizeof err) < 0)
			return usage_error("%s", err);
		queries[nqueries++] = args[i];
	}
	unsigned char *hit = xcalloc(nargs + 1, 1);
	struct loop *lp = NULL;
	struct ns_monitor *m = NULL;
	struct ns_list all = { 0 };
	const struct ns_list *src = &all;
	int code = DX_OK, matched = 0;
	char err[NS_ERR_MAX];
	if (watching) {
		/* armed before the listing: nothing that appears in between is lost */
		signal(SIGPIPE, SIG_IGN);
		lp = loop_new();
		loop_signal(lp, SIGTERM, on_signal, NULL);
		loop_signal(lp, SIGINT, on_signal, NULL);
		m = ns_monitor_start(lp, "", NS_ALL, on_change, NULL, err, sizeof err);
		if (!m)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
		src = ns_monitor_current(m);
		if (fmt == F_TABLE || fmt == F_LONG)
			print_header();
	} else if (nqueries || !nargs) {
		/* everything once, in resolver order; each query picks from it */
		if (ns_resolve("", NS_ALL, 0, &all, err, sizeof err) < 0)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
		for (int i = 0; i < nqueries; i++)
			if (outside_root(queries[i]))
				ns_resolve(queries[i], NS_ALL, 1, &all, err, sizeof err);
	}
	for (size_t i = 0; i < src->n; i++)
		matched += offer(&src->v[i], watching ? "present" : NULL, hit);
	ns_list_free(&all);
	for (int i = 0; i < nqueries && !watching; i++)
		if (!hit[i])
			msg("%s: no such service (searched %s)", queries[i], ns_root());
	free(hit);
	/* then each remote query's services, in the order given */
	for (int i = 0; i < nargs; i++) {
		int n = remote_is_uri(args[i]) ? list_remote(args[i], &code) : 0;
		matched += n > 0 ? n : 0;
	}
	if (fflush(stdout) != 0)
		die_errno(DX_IO, "stdout");
	if (watching) {
		code = loop_run(lp);
		ns_monitor_stop(m);
		loop_free(lp);
	}
	free(queries);
	if (code != DX_OK || watching)
		return code;
	return matched ? DX_OK : DX_NOMATCH;
}
