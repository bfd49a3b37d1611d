//config:config EXPORTER
//config:	bool "exporter: offer exported/ over SEP"
//config:	default y
//config:	depends on TLS
//config:	select NS_SERVER
//config:	help
//config:	  Offer exported/ services to the network over SEP. See doc/exporter.md.
//applet:APPLET(exporter, "exporter", PREFIXED, "offer exported/ services to the network over SEP")

/* exporter.c: dipus exporter: offer exported/ to other hosts over SEP (doc/exporter.md). */
#include "applets.h"
#include "loop.h"
#include "mdns.h"
#include "sep.h"
#include "ns.h"
#include "sep-exporter.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>


const char exporter_usage[] =
	"usage: dipus exporter [--listen ADDR:PORT]... [--plaintext] [-u USER] [--max-peers N]\n"
	"                      [--max-channels N] [--handshake-timeout S] [--idle-timeout S]\n"
	"                      [--window BYTES] [--advertise] [--instance NAME] [-v]\n"
	"\n"
	"Offer the services under <root>/exported/ to other hosts over SEP: TLS 1.3 with\n"
	"mutual authentication (key.pem/cert.pem from 'dipus keygen'; clients' fingerprints\n"
	"in authorized_keys, in $DIPUS_CONF, else /etc/dipus or ~/.config/dipus).\n"
	"\n"
	"  --listen ADDR[:PORT]    where to listen (repeatable; default 0.0.0.0:7150)\n"
	"  --plaintext             SEP over plain TCP, no TLS, no authentication (clients\n"
	"                          must use sep+plain://); trusted networks and tests only\n"
	"  -u USER                 as root: run as USER after binding (default nobody)\n"
	"  --max-peers N           peers at once (default 64)\n"
	"  --max-channels N        open channels per peer (default 256)\n"
	"  --handshake-timeout S   TCP accept to SEP ready, seconds (default 10)\n"
	"  --idle-timeout S        drop a peer silent that long; 0 never (default 600)\n"
	"  --window BYTES          per-channel window: bytes buffered per channel and\n"
	"                          direction (default 262144)\n"
	"  --advertise             announce this exporter on the LAN over mDNS/DNS-SD\n"
	"  --instance NAME         ... under this name (default: the host name); implies\n"
	"                          --advertise. See doc/discoverer.md\n"
	"  -v                      log peers and channels\n"
	"\n"
	"SIGTERM/SIGINT: close every peer and exit 0. See doc/exporter.md.\n";
/* Started as root: become USER for good (supplementary groups, gid, uid), then make
 * sure root cannot be regained. Exits on any failure: an exporter that meant to drop
 * privileges must never go on as root. */
static void drop_privileges(const char *user)
{
	uid_t me = geteuid();
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		die(DX_USAGE, "-u %s: no such user%s%s", user, errno ? ": " : "",
		    errno ? strerror(errno) : "");
	if (me != 0) {
		if (pw->pw_uid != me)
			die(DX_USAGE, "-u %s: only root can change to another user", user);
		return;
	}
	if (pw->pw_uid == 0) {
		msg("warning: -u %s keeps root's privileges: services are reached as root", user);
		return;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (initgroups(user, gid) < 0 && setgroups(1, &gid) < 0)
		die_errno(DX_REFUSED, "-u %s: setgroups", user);
	if (setresgid(gid, gid, gid) < 0)
		die_errno(DX_REFUSED, "-u %s: setgid", user);
	if (setresuid(uid, uid, uid) < 0)
		die_errno(DX_REFUSED, "-u %s: setuid", user);
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (setuid(0) == 0 || seteuid(0) == 0 || getresuid(&r, &e, &s) < 0 ||
	    getresgid(&rg, &eg, &sg) < 0 || r != uid || e != uid || s != uid || rg != gid ||
	    eg != gid || sg != gid)
		die(DX_REFUSED, "-u %s: privileges could not be dropped for good", user);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static struct sep_exporter *the_exporter;

static void on_signal(struct loop *lp, void *arg)
{
	sep_exporter_stop(the_exporter);
	the_exporter = NULL;
	loop_stop(lp, 0);
}

static void on_hup(struct loop *lp, void *arg)
{
	char err[NS_ERR_MAX];
	if (sep_exporter_reload_keys(the_exporter, err, sizeof err) < 0)
		msg("SIGHUP: authorized_keys not reloaded, the keys loaded before stay: %s", err);
	else
		msg("SIGHUP: authorized_keys reloaded");
}

static int parse_ulong(const char *opt, const char *s, unsigned long min, unsigned long max,
                       unsigned long *out)
{
	if (parse_uint(s, min, max, out) < 0)
		return usage_error("%s %s: expected a number from %lu to %lu", opt, s, min, max);
	return 0;
}

int exporter_main(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_PLAIN, O_PEERS, O_CHANS, O_HS, O_IDLE, O_WINDOW, O_ADV, O_INST };
	static const struct opt opts[] = {
		{ O_LISTEN, "listen", OPT_ARG },
		{ O_PLAIN, "plaintext", OPT_NOARG },
		{ O_PEERS, "max-peers", OPT_ARG },
		{ O_CHANS, "max-channels", OPT_ARG },
		{ O_HS, "handshake-timeout", OPT_ARG },
		{ O_IDLE, "idle-timeout", OPT_ARG },
		{ O_WINDOW, "window", OPT_ARG },
		{ O_ADV, "advertise", OPT_NOARG },
		{ O_INST, "instance", OPT_ARG },
		{ 'u', "user", OPT_ARG },
		{ 'v', NULL, OPT_NOARG },
		OPT_END,
	};
	struct optparse op;
	struct sep_exporter_cfg cfg;
	sep_exporter_defaults(&cfg);
	unsigned long max_peers = cfg.max_peers, max_channels = cfg.max_channels,
	              hs_timeout = cfg.handshake_ms / 1000, idle_timeout = cfg.idle_ms / 1000,
	              window = cfg.window;
	const char *listens[16];
	int nlisten = 0;
	const char *user = NULL, *advertise = NULL;
	int c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case O_LISTEN:
			if (nlisten == 16)
				return usage_error("at most 16 --listen addresses");
			listens[nlisten++] = optarg;
			break;
		case O_PLAIN: cfg.plaintext = 1; break;
		case O_PEERS: if (parse_ulong("--max-peers", optarg, 1, 100000, &max_peers)) return DX_USAGE; break;
		case O_CHANS: if (parse_ulong("--max-channels", optarg, 1, 1000000, &max_channels)) return DX_USAGE; break;
		case O_HS: if (parse_ulong("--handshake-timeout", optarg, 1, 3600, &hs_timeout)) return DX_USAGE; break;
		case O_IDLE: if (parse_ulong("--idle-timeout", optarg, 0, 1000000, &idle_timeout)) return DX_USAGE; break;
		case O_WINDOW: if (parse_ulong("--window", optarg, 4096, 16 << 20, &window)) return DX_USAGE; break;
		case O_ADV: advertise = advertise ? advertise : ""; break;
		case O_INST: advertise = optarg; break;
		case 'u': user = optarg; break;
		case 'v': cfg.verbose = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	for (int i = 0; i < nlisten; i++)
		cfg.listen[i] = listens[i];
	cfg.nlisten = (unsigned)nlisten;
	cfg.max_peers = max_peers;
	cfg.max_channels = max_channels;
	cfg.handshake_ms = hs_timeout * 1000;
	cfg.idle_ms = idle_timeout * 1000;
	cfg.window = window;
	char err[NS_ERR_MAX];
	signal(SIGPIPE, SIG_IGN);
	struct loop *lp = loop_new();
	/* key, authorized_keys and the listening sockets before the privilege drop */
	the_exporter = sep_exporter_bind(lp, &cfg, err, sizeof err);
	if (!the_exporter)
		die(dx_errno(errno, DX_IO), "%s", err);
	if (geteuid() == 0 || user)
		drop_privileges(user ? user : "nobody");
	loop_signal(lp, SIGTERM, on_signal, NULL);
	loop_signal(lp, SIGINT, on_signal, NULL);
	loop_signal(lp, SIGHUP, on_hup, NULL);
	sep_exporter_run(the_exporter);
#if ENABLE_DISCOVERY   /* --advertise: mDNS/DNS-SD, doc/discoverer.md */
	char bound[SEP_EXPORTER_MAX_LISTEN][64];   /* what is bound, the default included */
	const char *bl[SEP_EXPORTER_MAX_LISTEN];
	size_t nb = sep_exporter_addrs(the_exporter, bound, SEP_EXPORTER_MAX_LISTEN);
	for (size_t i = 0; i < nb; i++)
		bl[i] = bound[i];
	struct mdns *adv = advertise ? mdns_advertise_listen(lp, bl, nb, advertise,
	    sep_exporter_fingerprint(the_exporter), SEP_VERSIONS, cfg.verbose, err, sizeof err) : NULL;
	if (advertise && !adv)
		msg("--advertise: %s", err);
#else
	if (advertise)
		msg("--advertise: not in this build (CONFIG_DISCOVERY is off)");
#endif
	int rc = loop_run(lp);
#if ENABLE_DISCOVERY
	mdns_free(adv);
#endif
	sep_exporter_stop(the_exporter);
	loop_free(lp);
	return rc;
}
