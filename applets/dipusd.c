//config:config DIPUSD
//config:	bool "dipusd: the daemon"
//config:	default y
//config:	depends on TLS
//config:	select NS_SERVER
//config:	help
//config:	  The dipus daemon: exporter, advertiser, discoverer, importers, reaper
//config:	  and services in one process (doc/dipusd.md).
//applet:APPLET(dipusd, "dipusd", PLAIN, "the dipus daemon: exporter, importers and discovery in one")
/* dipusd.c: the dipus daemon (doc/dipusd.md). One process, one event loop: the exporter,
 * the mDNS advertiser and browser, one importer per `import` line and per discovered
 * trusted exporter, the reaper, and the configured services (forked per connection).
 * Foreground; SIGHUP reloads dipusd.conf keeping what did not change; SIGTERM says
 * goodbye, removes proxies and services, exits 0. */
#include "applets.h"
#include "conf.h"
#include "daemon.h"
#include "ipcserver.h"
#include "loop.h"
#include "mdns.h"
#include "ns.h"
#include "sep-exporter.h"
#include "sep-import.h"
#include "sep.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A build without LAN discovery (CONFIG_DISCOVERY off) has no mDNS layer: dipusd then
 * exports and imports what its configuration names. */
#if ENABLE_DISCOVERY
#define HAVE_MDNS 1
#else
#define HAVE_MDNS 0
#pragma weak mdns_new
#pragma weak mdns_advertise
#pragma weak mdns_browse
#pragma weak mdns_free
#endif

const char dipusd_usage[] =
	"usage: dipusd [-f FILE] [-S] [-v] [-d FD] [-p PIDFILE] [-t]\n"
	"\n"
	"The dipus daemon: exports <root>/exported/ over SEP (TLS 1.3, port 7150),\n"
	"advertises it and discovers the other exporters on the LAN (mDNS, _dipus._tcp),\n"
	"imports the trusted ones and the configured remotes, reaps dead sockets and runs\n"
	"the configured services. Runs in the foreground.\n"
	"\n"
	"  -f FILE     configuration (default: dipusd.conf in $DIPUS_CONF, /etc/dipus or\n"
	"              ~/.config/dipus; no file there: the defaults)\n"
	"  -S          log to syslog (facility daemon) instead of stderr\n"
	"  -v          log more: peers, proxies, each reload step\n"
	"  -d FD       once ready, write a newline to descriptor FD and close it (s6);\n"
	"              $NOTIFY_SOCKET (systemd) is told READY=1 in any case\n"
	"  -p PIDFILE  write our pid there; removed at exit\n"
	"  -t          check the configuration and exit (0 good, 2 bad)\n"
	"\n"
	"SIGHUP: reload the configuration and authorized_keys. SIGTERM/SIGINT: stop.\n"
	"See doc/dipusd.md.\n";

#define MAX_SEEN 64          /* discovered exporters remembered at once */
#define DISC_TICK_MS 5000    /* re-check trust and lost sessions of discovered exporters */

struct svc {
	struct conf_service c;
	struct ipcserver *srv;
};

struct imp {
	char uri[256];
	struct sep_import *imp;
};

/* One exporter found by mDNS, known by its key's fingerprint. */
struct seen {
	int used;
	char fp[TLS_FP_MAX];
	char instance[64];
	char uri[128];         /* sep://ADDR:PORT on the interface the answer came in on */
	char ifname[16];
	int present;           /* its records are there */
	int said;              /* "not trusted" logged once */
	struct sep_import *imp;
};

struct dipusd {
	struct loop *lp;
	struct conf conf;
	char conf_path[512];
	int conf_given;        /* -f */
	int verbose;
	struct sep_exporter *ex;
	char fp[TLS_FP_MAX];   /* ours */
	struct mdns *mdns;
	struct svc svcs[CONF_MAX_SERVICES];
	unsigned nsvcs;
	struct imp imps[CONF_MAX_IMPORTS];
	unsigned nimps;
	struct seen seen[MAX_SEEN];
	struct loop_timer *reap_t, *reap2_t, *disc_t;
	struct ns_list suspects;
	int stopping;
};

static int vflag(struct dipusd *d)
{
	return d->verbose || d->conf.verbose;
}

/* ---- services ---- */

static void svc_start(struct dipusd *d, const struct conf_service *c)
{
	struct svc *s = &d->svcs[d->nsvcs];
	struct ipcserver_opts o = {
		.scope = c->scope, .command = c->command, .name = c->name, .proto = c->proto,
		.max_conns = c->max_conns, .backlog = c->backlog, .mode = c->mode, .gid = c->gid,
		.ready_fd = -1, .kill_children = c->kill_children, .verbose = vflag(d) ? 2 : 1,
	};
	char err[NS_ERR_MAX];
	s->c = *c;
	s->srv = ipcserver_start(d->lp, &o, err, sizeof err);
	if (!s->srv)
		msg("service %s (%s:%d): %s", c->name, d->conf_path, c->line, err);
	else if (vflag(d))
		msg("service %s: %s", c->name, ipcserver_path(s->srv));
	d->nsvcs++;
}

/* Make the running services those of c: the unchanged ones stay. */
static void svcs_apply(struct dipusd *d, const struct conf *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < d->nsvcs; i++) {
		int keep = 0;
		for (unsigned j = 0; j < c->nservices && !keep; j++)
			keep = conf_service_eq(&d->svcs[i].c, &c->services[j]);
		/* one that failed to publish is tried again */
		if (keep && d->svcs[i].srv) {
			d->svcs[n++] = d->svcs[i];
			continue;
		}
		if (d->svcs[i].srv && vflag(d))
			msg("service %s: removed", d->svcs[i].c.name);
		ipcserver_stop(d->svcs[i].srv);
	}
	d->nsvcs = n;
	for (unsigned j = 0; j < c->nservices; j++) {
		int have = 0;
		for (unsigned i = 0; i < d->nsvcs && !have; i++)
			have = conf_service_eq(&d->svcs[i].c, &c->services[j]);
		if (!have)
			svc_start(d, &c->services[j]);
	}
}

/* ---- explicit imports ---- */

static void imps_apply(struct dipusd *d, const struct conf *c)
{
	unsigned n = 0;
	char err[NS_ERR_MAX];
	for (unsigned i = 0; i < d->nimps; i++) {
		int keep = 0;
		for (unsigned j = 0; j < c->nimports && !keep; j++)
			keep = !strcmp(d->imps[i].uri, c->imports[j]);
		if (keep) {
			d->imps[n++] = d->imps[i];
			continue;
		}
		msg("import %s: stopped", d->imps[i].uri);
		sep_import_stop(d->imps[i].imp);
	}
	d->nimps = n;
	for (unsigned j = 0; j < c->nimports; j++) {
		int have = 0;
		for (unsigned i = 0; i < d->nimps && !have; i++)
			have = !strcmp(d->imps[i].uri, c->imports[j]);
		if (have)
			continue;
		struct sep_import *imp = sep_import_start(d->lp, c->imports[j], NS_IMPORTED,
		                                          vflag(d) ? SEP_IMPORT_VERBOSE : 0, err,
		                                          sizeof err);
		if (!imp) {
			msg("import %s: %s", c->imports[j], err);
			continue;
		}
		struct imp *m = &d->imps[d->nimps++];
		snprintf(m->uri, sizeof m->uri, "%s", c->imports[j]);
		m->imp = imp;
		if (vflag(d))
			msg("import %s: started", m->uri);
	}
}

/* ---- discovered exporters ---- */

static unsigned disc_imported(struct dipusd *d)
{
	unsigned n = 0;
	for (int i = 0; i < MAX_SEEN; i++)
		n += d->seen[i].imp != NULL;
	return n;
}

static void seen_stop(struct dipusd *d, struct seen *s, const char *why)
{
	if (!s->imp)
		return;
	msg("%s (%s, %s): import stopped: %s", s->instance, s->uri, s->fp, why);
	sep_import_stop(s->imp);
	s->imp = NULL;
}

/* Import a discovered exporter if its key is trusted here; the importer's handshake
 * must then show that very key (sep_import_start_fp). */
static void seen_eval(struct dipusd *d, struct seen *s)
{
	char err[NS_ERR_MAX];
	int want = d->conf.discover && d->conf.trust == CONF_TRUST_KNOWN;
	int trusted = want ? tls_known_hosts_has_fp(s->fp) : 0;
	if (!trusted) {
		if (s->imp)
			seen_stop(d, s, want ? "its key is no longer in known_hosts" : "trust none");
		else if (want && s->present && !s->said) {
			msg("%s (%s): key %s is not trusted here: not imported (pair with it: "
			    "dipus pair; or pin it: dipus trust sep://%s)", s->instance, s->uri, s->fp,
			    s->uri + 6);
			s->said = 1;
		}
		return;
	}
	if (s->imp || !s->present)
		return;
	if (disc_imported(d) >= d->conf.max_discovered) {
		if (!s->said)
			msg("%s (%s): not imported: max-discovered %u reached", s->instance, s->uri,
			    d->conf.max_discovered);
		s->said = 1;
		return;
	}
	s->imp = sep_import_start_fp(d->lp, s->uri, NS_IMPORTED, vflag(d) ? SEP_IMPORT_VERBOSE : 0,
	                             s->fp, err, sizeof err);
	if (!s->imp)
		msg("%s (%s): cannot import: %s", s->instance, s->uri, err);
	else
		msg("%s (%s on %s, %s): importing", s->instance, s->uri, s->ifname, s->fp);
	s->said = 0;
}

static void on_browse(void *arg, int up, const struct mdns_peer *p)
{
	struct dipusd *d = arg;
	if (!p->fp[0] || !tls_fp_valid(p->fp)) {
		if (up && vflag(d))
			msg("%s on %s: no valid fp in its TXT record: ignored", p->instance, p->ifname);
		return;
	}
	if (!strcmp(p->fp, d->fp))
		return;  /* ourselves (another interface, or an echo) */
	struct seen *s = NULL, *free_slot = NULL;
	for (int i = 0; i < MAX_SEEN && !s; i++) {
		if (d->seen[i].used && !strcmp(d->seen[i].fp, p->fp))
			s = &d->seen[i];
		else if (!d->seen[i].used && !free_slot)
			free_slot = &d->seen[i];
	}
	if (!up) {
		if (!s)
			return;
		s->present = 0;
		/* a record that goes is a hint, not proof: a live session stays; a lost one
		 * is not retried */
		if (s->imp && sep_import_up(s->imp)) {
			if (vflag(d))
				msg("%s (%s): its records are gone (expired or said goodbye); its session "
				    "lives: kept until it is lost", s->instance, s->uri);
			return;
		}
		seen_stop(d, s, "its records are gone");
		memset(s, 0, sizeof *s);
		return;
	}
	/* an address on the interface the answer came in on: IPv4 first, else IPv6 */
	char addr[INET6_ADDRSTRLEN + 20] = "";
	for (int pass = 0; pass < 2 && !addr[0]; pass++)
		for (size_t i = 0; i < p->naddrs && !addr[0]; i++) {
			const struct sockaddr_storage *ss = &p->addrs[i];
			char a[INET6_ADDRSTRLEN];
			if (pass == 0 && ss->ss_family == AF_INET) {
				inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof a);
				snprintf(addr, sizeof addr, "%s", a);
			} else if (pass == 1 && ss->ss_family == AF_INET6) {
				const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
				inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
				if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
					snprintf(addr, sizeof addr, "[%s%%%s]", a, p->ifname);
				else
					snprintf(addr, sizeof addr, "[%s]", a);
			}
		}
	if (!addr[0])
		return;
	if (!s) {
		if (!free_slot) {
			msg("%s: more than %d exporters seen: ignored", p->instance, MAX_SEEN);
			return;
		}
		s = free_slot;
		s->used = 1;
		snprintf(s->fp, sizeof s->fp, "%s", p->fp);
	}
	char uri[sizeof s->uri];
	snprintf(uri, sizeof uri, "sep://%s:%u", addr, p->port);
	snprintf(s->instance, sizeof s->instance, "%s", p->instance);
	snprintf(s->ifname, sizeof s->ifname, "%s", p->ifname);
	s->present = 1;
	/* announced (again, or somewhere else): a session that lives stays where it is;
	 * an importer waiting out its backoff (the exporter restarted) connects now */
	if (s->imp && !sep_import_up(s->imp)) {
		sep_import_stop(s->imp);
		s->imp = NULL;
	}
	snprintf(s->uri, sizeof s->uri, "%s", uri);
	seen_eval(d, s);
}

/* Trust may have changed (dipus pair, dipus trust): re-check; and end the imports of
 * exporters whose records and sessions are both gone. */
static void on_disc_tick(struct loop *lp, void *arg)
{
	struct dipusd *d = arg;
	d->disc_t = loop_timer(lp, DISC_TICK_MS, on_disc_tick, d);
	for (int i = 0; i < MAX_SEEN; i++) {
		struct seen *s = &d->seen[i];
		if (!s->used)
			continue;
		if (!s->present && (!s->imp || !sep_import_up(s->imp))) {
			seen_stop(d, s, "its records and its session are gone");
			memset(s, 0, sizeof *s);
			continue;
		}
		seen_eval(d, s);
	}
}

static int same_ifaces(char a[][16], unsigned na, char b[][16], unsigned nb)
{
	if (na != nb)
		return 0;
	for (unsigned i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return 1;
}

static void mdns_down(struct dipusd *d)
{
	for (int i = 0; i < MAX_SEEN; i++)
		if (d->seen[i].used) {
			seen_stop(d, &d->seen[i], "discovery stopped");
			memset(&d->seen[i], 0, sizeof d->seen[i]);
		}
	if (d->mdns)
		mdns_free(d->mdns);  /* goodbyes */
	d->mdns = NULL;
}

/* Advertise (when exporting on an address other hosts can reach) and browse. */
static void mdns_up(struct dipusd *d)
{
	const struct conf *c = &d->conf;
	int adv = c->advertise && d->ex;
	if ((!adv && !c->discover) || !HAVE_MDNS)
		return;
	struct mdns_cfg mc = { .verbose = vflag(d) };
	/* one socket set for both: the interfaces of advertise, else of discover */
	const char (*ifs)[16] = adv && c->nadv_ifaces ? c->adv_ifaces : c->disc_ifaces;
	unsigned nifs = adv && c->nadv_ifaces ? c->nadv_ifaces : c->ndisc_ifaces;
	if (adv && c->discover && !same_ifaces(d->conf.adv_ifaces, c->nadv_ifaces,
	                                      d->conf.disc_ifaces, c->ndisc_ifaces))
		nifs = 0;  /* different lists: every interface */
	for (unsigned i = 0; i < nifs && i < 8; i++)
		mc.ifaces[mc.nifaces++] = ifs[i];
	/* what to advertise: the exporter's addresses; a wildcard means every address of
	 * each interface, loopback ones are never advertised */
	char addrs[SEP_EXPORTER_MAX_LISTEN][64];
	size_t n = adv ? sep_exporter_addrs(d->ex, addrs, SEP_EXPORTER_MAX_LISTEN) : 0;
	unsigned port = 0;
	int reachable = 0, wildcard = 0;
	for (size_t i = 0; i < n; i++) {
		char *colon = strrchr(addrs[i], ':');
		if (!colon)
			continue;
		unsigned p = atoi(colon + 1);
		*colon = 0;
		char *a = addrs[i];
		if (a[0] == '[') {
			a++;
			a[strcspn(a, "]")] = 0;
		}
		if (!strncmp(a, "127.", 4) || !strcmp(a, "::1"))
			continue;
		if (!reachable)
			port = p;
		reachable = 1;
		if (!strcmp(a, "0.0.0.0") || !strcmp(a, "::") || !*a)
			wildcard = 1;
		else if (mc.naddrs < MDNS_MAX_ADDRS)
			mc.addrs[mc.naddrs++] = a;
	}
	if (wildcard)
		mc.naddrs = 0;
	if (adv && !reachable) {
		msg("advertise: the exporter listens on loopback only: nothing to advertise");
		adv = 0;
		if (!c->discover)
			return;
	}
	char err[NS_ERR_MAX];
	d->mdns = mdns_new(d->lp, &mc, err, sizeof err);
	if (!d->mdns) {
		msg("discovery: %s (going on without it)", err);
		return;
	}
	if (adv) {
		if (mdns_advertise(d->mdns, ns_host(), port, d->fp, SEP_VERSIONS, err, sizeof err) < 0)
			msg("advertise: %s", err);
		else if (vflag(d))
			msg("advertising %s port %u, key %s", ns_host(), port, d->fp);
	}
	if (c->discover && mdns_browse(d->mdns, on_browse, d, err, sizeof err) < 0)
		msg("discover: %s", err);
	if (c->discover && !d->disc_t)
		d->disc_t = loop_timer(d->lp, DISC_TICK_MS, on_disc_tick, d);
}

/* ---- exporter ---- */

static int exporter_up(struct dipusd *d, char *err, size_t errlen)
{
	const struct conf *c = &d->conf;
	if (!c->export)
		return 0;
	struct sep_exporter_cfg ec;
	sep_exporter_defaults(&ec);
	for (unsigned i = 0; i < c->nlisten; i++)
		ec.listen[ec.nlisten++] = c->listen[i];
	ec.max_peers = c->max_peers;
	ec.max_channels = c->max_channels;
	ec.handshake_ms = c->handshake_timeout * 1000;
	ec.idle_ms = c->idle_timeout * 1000;
	ec.verbose = vflag(d);
	d->ex = sep_exporter_bind(d->lp, &ec, err, errlen);
	if (!d->ex)
		return -1;
	snprintf(d->fp, sizeof d->fp, "%s", sep_exporter_fingerprint(d->ex));
	return 0;
}

static int exporter_settings_eq(const struct conf *a, const struct conf *b)
{
	if (a->export != b->export || a->nlisten != b->nlisten || a->max_peers != b->max_peers ||
	    a->max_channels != b->max_channels || a->handshake_timeout != b->handshake_timeout ||
	    a->idle_timeout != b->idle_timeout)
		return 0;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]))
			return 0;
	return 1;
}

/* ---- the reaper: refused once now, again NS_DEAD_GAP_MS later: gone ---- */

static void on_reap2(struct loop *lp, void *arg)
{
	struct dipusd *d = arg;
	d->reap2_t = NULL;
	char err[NS_ERR_MAX];
	for (size_t i = 0; i < d->suspects.n; i++) {
		const struct ns_service *s = &d->suspects.v[i];
		if (ns_reap_one(s, 0, err, sizeof err) == 1)
			msg("reaped %s (dead)", s->path);
	}
	ns_list_free(&d->suspects);
}

static void on_reap(struct loop *lp, void *arg)
{
	struct dipusd *d = arg;
	d->reap_t = d->conf.reap_interval ? loop_timer(lp, d->conf.reap_interval * 1000, on_reap, d)
	                                  : NULL;
	if (d->reap2_t)
		return;  /* the last round is not over */
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve("", NS_LOCAL | NS_EXPORTED | NS_IMPORTED | NS_TEMPS, 0, &l, err,
	               sizeof err) < 0) {
		if (vflag(d))
			msg("reaper: %s", err);
		return;
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < l.n; i++) {
		const struct ns_service *s = &l.v[i];
		if (s->temp && now - s->mtime < NS_TEMP_GRACE_S)
			continue;
		if (ns_probe(s->path) == 0)
			ns_list_add(&d->suspects, s);
	}
	ns_list_free(&l);
	if (d->suspects.n)
		d->reap2_t = loop_timer(lp, NS_DEAD_GAP_MS, on_reap2, d);
}

static void reaper_apply(struct dipusd *d, unsigned old_interval)
{
	if (d->reap_t && old_interval == d->conf.reap_interval)
		return;
	if (d->reap_t)
		loop_timer_cancel(d->lp, d->reap_t);
	d->reap_t = NULL;
	if (d->conf.reap_interval)
		d->reap_t = loop_timer(d->lp, d->conf.reap_interval * 1000, on_reap, d);
}

/* ---- signals ---- */

static void shutdown_all(struct dipusd *d)
{
	d->stopping = 1;
	daemon_notify("STOPPING=1");
	if (d->disc_t)
		loop_timer_cancel(d->lp, d->disc_t);
	d->disc_t = NULL;
	mdns_down(d);
	if (d->ex)
		sep_exporter_stop(d->ex);  /* goodbyes to the peers */
	d->ex = NULL;
	struct conf none;
	conf_defaults(&none);
	none.nimports = none.nservices = 0;
	imps_apply(d, &none);      /* proxies removed */
	svcs_apply(d, &none);      /* service sockets removed */
	if (d->reap_t)
		loop_timer_cancel(d->lp, d->reap_t);
	if (d->reap2_t)
		loop_timer_cancel(d->lp, d->reap2_t);
	d->reap_t = d->reap2_t = NULL;
	ns_list_free(&d->suspects);
}

static void on_term(struct loop *lp, void *arg)
{
	struct dipusd *d = arg;
	if (d->stopping)
		return;
	msg("stopping");
	shutdown_all(d);
	loop_stop(lp, DX_OK);
}

static void on_child(struct loop *lp, void *arg)
{
	ipcserver_reap_all();
}

static void on_hup(struct loop *lp, void *arg)
{
	struct dipusd *d = arg;
	if (d->stopping)
		return;
	daemon_notify("RELOADING=1");
	static struct conf nc;  /* large: not on the stack */
	char err[CONF_ERR_MAX];
	if (conf_load(&nc, d->conf_path, !d->conf_given, NULL, err, sizeof err) < 0) {
		msg("reload: %s (keeping the running configuration)", err);
		daemon_notify("READY=1");
		return;
	}
	if (strcmp(nc.user, d->conf.user))
		msg("reload: 'user' changes take a restart (still running as uid %d)", (int)geteuid());
	if (nc.log != d->conf.log && nc.log_set) {
		if (nc.log == CONF_LOG_SYSLOG) {
			daemon_syslog("dipusd");
		} else {
			msg_sink = NULL;
			closelog();
		}
	}
	struct conf old = d->conf;
	d->conf = nc;
	snprintf(d->conf.user, sizeof d->conf.user, "%s", old.user);
	/* the exporter: restarted only when its settings changed (its peers are dropped
	 * then); otherwise only authorized_keys is read again */
	int ex_changed = !exporter_settings_eq(&old, &nc);
	if (ex_changed) {
		mdns_down(d);
		if (d->ex)
			sep_exporter_stop(d->ex);
		d->ex = NULL;
		if (exporter_up(d, err, sizeof err) < 0)
			msg("reload: exporter: %s", err);
		else if (d->ex)
			sep_exporter_run(d->ex);
	} else if (d->ex && sep_exporter_reload_keys(d->ex, err, sizeof err) < 0) {
		msg("reload: authorized_keys: %s", err);
	}
	int mdns_changed = ex_changed || old.advertise != nc.advertise ||
	                   old.discover != nc.discover ||
	                   !same_ifaces(old.adv_ifaces, old.nadv_ifaces, nc.adv_ifaces, nc.nadv_ifaces) ||
	                   !same_ifaces(old.disc_ifaces, old.ndisc_ifaces, nc.disc_ifaces, nc.ndisc_ifaces);
	if (mdns_changed) {
		mdns_down(d);
		mdns_up(d);
	} else {
		for (int i = 0; i < MAX_SEEN; i++)
			if (d->seen[i].used)
				seen_eval(d, &d->seen[i]);
	}
	imps_apply(d, &nc);
	svcs_apply(d, &nc);
	reaper_apply(d, old.reap_interval);
	msg("reloaded %s: %u import%s, %u service%s", d->conf_path, d->nimps,
	    d->nimps == 1 ? "" : "s", d->nsvcs, d->nsvcs == 1 ? "" : "s");
	daemon_notify("READY=1");
}

/* ---- main ---- */

int dipusd_main(int argc, char **argv)
{
	static struct dipusd d;  /* large: not on the stack */
	int c, sys = 0, check_only = 0, ready_fd = -1;
	const char *pidfile = NULL;
	unsigned long v;
	static const struct opt opts[] = {
		{ 'f', NULL, OPT_ARG }, { 'S', NULL, OPT_NOARG }, { 'v', NULL, OPT_NOARG },
		{ 'd', NULL, OPT_ARG }, { 'p', NULL, OPT_ARG }, { 't', NULL, OPT_NOARG }, OPT_END,
	};
	struct optparse op;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'f':
			if (xsnprintf(d.conf_path, sizeof d.conf_path, "%s", optarg))
				return usage_error("-f: path too long");
			d.conf_given = 1;
			break;
		case 'S': sys = 1; break;
		case 'v': d.verbose = 1; break;
		case 'd':
			if (parse_uint(optarg, 3, 1023, &v) < 0)
				return usage_error("-d %s: a descriptor number from 3 to 1023", optarg);
			ready_fd = v;
			break;
		case 'p': pidfile = optarg; break;
		case 't': check_only = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (ready_fd >= 0 && fcntl(ready_fd, F_GETFD) < 0)
		return usage_error("-d %d: not an open descriptor", ready_fd);
	if (!d.conf_given && xsnprintf(d.conf_path, sizeof d.conf_path, "%s/dipusd.conf",
	                               tls_conf_dir()))
		die(DX_USAGE, "%s: path too long", tls_conf_dir());
	char err[CONF_ERR_MAX];
	int found = 0;
	if (conf_load(&d.conf, d.conf_path, !d.conf_given, &found, err, sizeof err) < 0)
		die(errno == EPERM ? DX_REFUSED : DX_USAGE, "%s", err);
	if (check_only) {
		printf("%s: %s\n", d.conf_path, found ? "good" : "absent: the defaults");
		return DX_OK;
	}
	if (sys || d.conf.log == CONF_LOG_SYSLOG)
		daemon_syslog("dipusd");
	/* 0, 1, 2 always open, so no socket lands on them */
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 3)
		;
	if (fd > 2)
		close(fd);
	if (ready_fd >= 0)
		fd_set_cloexec(ready_fd);
	signal(SIGPIPE, SIG_IGN);
	d.lp = loop_new();
	/* signals first: a SIGTERM during the start is handled once the loop runs */
	loop_signal(d.lp, SIGTERM, on_term, &d);
	loop_signal(d.lp, SIGINT, on_term, &d);
	loop_signal(d.lp, SIGHUP, on_hup, &d);
	loop_signal(d.lp, SIGCHLD, on_child, &d);
	char e2[NS_ERR_MAX];
	/* with 'user', the key is that user's (it reads it again at each import after the
	 * drop): it is made, checked and loaded as that user, not as root */
	int as = d.conf.user[0] && daemon_as(d.conf.user) == 0;
	/* a fresh host (a router's first boot) has no key: make one, as keygen would */
	if (tls_key_fingerprint(d.fp, e2, sizeof e2) < 0) {
		if (errno != ENOENT)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", e2);
		if (tls_keygen(0, d.fp, e2, sizeof e2) < 0)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", e2);
		msg("no key yet: made one in %s (%s)", tls_conf_dir(), d.fp);
	}
	if (exporter_up(&d, e2, sizeof e2) < 0)
		die(errno == ENOKEY || errno == EPERM || errno == EACCES ? DX_REFUSED : DX_IO,
		    "exporter: %s", e2);
	if (as && daemon_as_root() < 0)
		die(DX_REFUSED, "user %s: cannot become root again: %s", d.conf.user, strerror(errno));
	if (d.conf.user[0]) {
		/* the root made now, as root (a shared root, mkroot's modes): the user could
		 * not make it in a root-owned parent */
		int rfd = geteuid() == 0 ? ns_open_root(1, e2, sizeof e2) : -1;
		if (rfd >= 0)
			close(rfd);
		if (daemon_drop(d.conf.user, e2, sizeof e2) < 0)
			die(DX_REFUSED, "%s", e2);
		/* importers load the key and read known_hosts at each connect: as the new user */
		char fp2[TLS_FP_MAX];
		if (tls_key_fingerprint(fp2, e2, sizeof e2) < 0)
			die(DX_REFUSED, "user %s: %s (the config dir must be %s's: chown -R %s %s, or "
			    "remove 'user')", d.conf.user, e2, d.conf.user, d.conf.user, tls_conf_dir());
	}
	if (pidfile && daemon_pidfile(pidfile, e2, sizeof e2) < 0)
		die(DX_IO, "-p %s", e2);
	if (d.ex)
		sep_exporter_run(d.ex);
	svcs_apply(&d, &d.conf);
	imps_apply(&d, &d.conf);
	mdns_up(&d);
	reaper_apply(&d, 0);
	msg("started (%s%s): exporter %s, discovery %s, %u import%s, %u service%s, as uid %d",
	    found ? "" : "no ", found ? d.conf_path : "configuration file: defaults",
	    d.ex ? "on" : "off", d.mdns ? "on" : "off", d.nimps, d.nimps == 1 ? "" : "s",
	    d.nsvcs, d.nsvcs == 1 ? "" : "s", (int)geteuid());
	daemon_ready(ready_fd);
	int rc = loop_run(d.lp);
	if (!d.stopping)
		shutdown_all(&d);
	ipcserver_release_all();
	daemon_pidfile_remove();
	loop_free(d.lp);
	msg("stopped");
	return rc;
}
