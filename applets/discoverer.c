//config:config DISCOVERER
//config:	bool "discoverer: find exporters on the LAN"
//config:	default y
//config:	depends on DISCOVERY
//config:	help
//config:	  Find dipus exporters on the LAN (mDNS/DNS-SD, _dipus._tcp).
//applet:APPLET(discoverer, "discoverer", PREFIXED, "find dipus exporters on the LAN")
/* discoverer.c: the dipus exporters on the LAN, found over mDNS/DNS-SD (_dipus._tcp).
 *
 *   dipus discoverer            listen ~2 s, print what answered, exit
 *   dipus discoverer -w         "+ ..." / "- ..." lines as exporters come and go
 *
 * The protocol is core/mdns*.c; this prints and looks fingerprints up in known_hosts. */
#include "applets.h"
#include "loop.h"
#include "mdns.h"
#if ENABLE_TLS
#include "tls.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char discoverer_usage[] =
	"usage: dipus discoverer [-w] [--json] [-t SECONDS] [-i IFACE]...\n"
	"\n"
	"Find dipus exporters on the local network (mDNS/DNS-SD, _dipus._tcp): one line per\n"
	"exporter and interface, tab-separated: instance, host, port, interface, addresses\n"
	"(comma-separated), fingerprint, and whether it is pinned in known_hosts here\n"
	"('trusted'), not ('unknown'), or there is none ('no-fp').\n"
	"  -t SECONDS   listen this long (default 2), then print and exit; with -w, stop then\n"
	"  -w           keep listening: '+ LINE' when an exporter appears or changes,\n"
	"               '- LINE' when it goes (goodbye, expiry, interface gone)\n"
	"  --json       one JSON object per line instead (with -w an \"event\" field)\n"
	"  -i IFACE     only this interface (repeatable, up to 8)\n"
	"Exit: 0 found (or -w ended by a signal or -t), 1 none found, 2 usage, 3 no socket.\n"
	"See doc/discoverer.md.\n";

#define MAX_SEEN 64

struct disc {
	int watch, json;
	struct mdns_peer seen[MAX_SEEN];
	unsigned nseen;
};

/* TODO: tls_known_hosts_has_fp() lands in tls.c (another change); until then, this
 * reads known_hosts itself: the fingerprint pinned under any name. 1 yes, 0 no. */
static int fp_trusted(const char *fp)
{
#if ENABLE_TLS
	char path[600], line[512];
	snprintf(path, sizeof path, "%s/known_hosts", tls_conf_dir());
	FILE *f = fopen(path, "re");
	int found = 0;
	size_t fl = strlen(fp);
	while (f && !found && fgets(line, sizeof line, f)) {
		/* "host:port FP": the second field (no sscanf: it would pull in libc's scanf) */
		const char *p = line + strcspn(line, " \t");
		p += strspn(p, " \t");
		found = line[0] != '#' && !strncmp(p, fp, fl) && strchr(" \t\r\n", p[fl]);
	}
	if (f)
		fclose(f);
	return found;
#else
	return 0;
#endif
}

/* s as a JSON string into out: quotes, backslashes and control bytes escaped. */
static void json_esc(char *out, size_t len, const char *s)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = 0;
}

static void print_peer(struct disc *d, int ev, const struct mdns_peer *p)
{
	char addrs[MDNS_MAX_ADDRS * 64] = "", a[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	size_t o = 0;
	for (size_t i = 0; i < p->naddrs; i++) {
		const struct sockaddr_storage *s = &p->addrs[i];
		if (s->ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)s)->sin_addr, a, sizeof a);
		else {
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)s)->sin6_addr, a, INET6_ADDRSTRLEN);
			if (((const struct sockaddr_in6 *)s)->sin6_scope_id)
				snprintf(a + strlen(a), sizeof a - strlen(a), "%%%s", p->ifname);
		}
		if (d->json)
			o += (size_t)snprintf(addrs + o, sizeof addrs - o, "%s\"%s\"", i ? "," : "", a);
		else
			o += (size_t)snprintf(addrs + o, sizeof addrs - o, "%s%s", i ? "," : "", a);
	}
	const char *trust = !*p->fp ? "no-fp" : fp_trusted(p->fp) ? "trusted" : "unknown";
	int r;
	if (d->json) {
		char inst[400], host[1100];
		json_esc(inst, sizeof inst, p->instance);
		json_esc(host, sizeof host, p->host);
		r = printf("{%s%s%s\"instance\":%s,\"host\":%s,\"port\":%u,\"iface\":\"%s\",\"addrs\":[%s],"
		           "\"fp\":\"%s\",\"trusted\":%s,\"sep\":\"%s\"}\n",
		           ev ? "\"event\":\"" : "", ev ? (ev > 0 ? "+" : "-") : "", ev ? "\"," : "", inst, host,
		           p->port, p->ifname, addrs, p->fp, !strcmp(trust, "trusted") ? "true" : "false", p->sep);
	} else {
		char inst[64];
		snprintf(inst, sizeof inst, "%s", p->instance);
		for (char *c = inst; *c; c++)   /* one line per exporter, whatever its name */
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		r = printf("%s%s\t%s\t%u\t%s\t%s\t%s\t%s\n", ev ? (ev > 0 ? "+ " : "- ") : "", inst, p->host, p->port,
		           p->ifname, addrs, *p->fp ? p->fp : "-", trust);
	}
	if (r < 0 || fflush(stdout) != 0)
		exit(errno == EPIPE ? DX_OK : DX_IO);   /* a reader that left ends us */
}

static void on_peer(void *arg, int up, const struct mdns_peer *p)
{
	struct disc *d = arg;
	unsigned i = 0;
	while (i < d->nseen && (d->seen[i].ifindex != p->ifindex || strcmp(d->seen[i].instance, p->instance)))
		i++;
	if (d->watch)
		print_peer(d, up ? 1 : -1, p);
	if (!up) {
		if (i < d->nseen)
			d->seen[i] = d->seen[--d->nseen];
	} else if (i < d->nseen || d->nseen < MAX_SEEN) {
		d->seen[i] = *p;
		d->nseen += i == d->nseen;
	}
}

static void on_stop(struct loop *lp, void *arg)
{
	loop_stop(lp, DX_OK);
}

int discoverer_main(int argc, char **argv)
{
	enum { O_JSON = 256 };
	static const struct opt opts[] = {
		{ 'w', NULL, OPT_NOARG },
		{ 't', NULL, OPT_ARG },
		{ 'i', NULL, OPT_ARG },
		{ O_JSON, "json", OPT_NOARG },
		OPT_END,
	};
	struct optparse op;
	static struct disc d;
	struct mdns_cfg cfg = { 0 };
	unsigned long secs = 0;
	int c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'w': d.watch = 1; break;
		case O_JSON: d.json = 1; break;
		case 't':
			if (parse_uint(optarg, 1, 86400, &secs) < 0)
				return usage_error("-t %s: expected seconds from 1 to 86400", optarg);
			break;
		case 'i':
			if (cfg.nifaces == 8)
				return usage_error("at most 8 -i interfaces");
			if (!if_nametoindex(optarg))
				return usage_error("-i %s: no such interface", optarg);
			cfg.ifaces[cfg.nifaces++] = optarg;
			break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!secs && !d.watch)
		secs = 2;
	signal(SIGPIPE, SIG_IGN);
	struct loop *lp = loop_new();
	loop_signal(lp, SIGTERM, on_stop, NULL);
	loop_signal(lp, SIGINT, on_stop, NULL);
	char err[256];
	struct mdns *m = mdns_new(lp, &cfg, err, sizeof err);
	if (!m)
		die(DX_IO, "%s", err);
	mdns_browse(m, on_peer, &d, err, sizeof err);
	if (secs)
		loop_timer(lp, (unsigned)secs * 1000, on_stop, NULL);
	int rc = loop_run(lp);
	if (!d.watch)
		for (unsigned i = 0; i < d.nseen; i++)
			print_peer(&d, 0, &d.seen[i]);
	mdns_free(m);
	loop_free(lp);
	return rc ? rc : d.watch || d.nseen ? DX_OK : DX_NOMATCH;
}
