//config:config EXPORTER
//config:	bool "exporter: offer exported/ over SEP"
//config:	default y
//config:	depends on TLS
//config:	help
//config:	  Offer exported/ services to the network over SEP. See doc/exporter.md.
//applet:APPLET(exporter, "exporter", PREFIXED, "offer exported/ services to the network over SEP")

/* exporter.c: dipus exporter: offer exported/ to other hosts over SEP (doc/exporter.md). */
#include "applets.h"
#include "loop.h"
#include "mdns.h"
#include "ns.h"
#include "sep-svr.h"
#include "sep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define SEP_VERSIONS STR(SEP_VERSION_MIN) "-" STR(SEP_VERSION_MAX)   /* TXT sep= */

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
#include "tls.h"
#include <fcntl.h>

/* As root, the exporter drops to USER, who cannot read root's config dir (0700): the
 * peers' fingerprints are copied, before the drop, into a private directory of USER
 * ($DIPUS_CONF from then on), removed at exit. Changes to authorized_keys then need a
 * restart (doc/exporter.md). */
static char authdir[64];
static char conf_dir_orig[512];

static void authcopy_remove(void)
{
	if (!authdir[0])
		return;
	char p[96];
	snprintf(p, sizeof p, "%s/authorized_keys", authdir);
	unlink(p);
	rmdir(authdir);
	authdir[0] = 0;
}

static void authcopy_make(uid_t uid, gid_t gid)
{
	char src[512];
	if (xsnprintf(src, sizeof src, "%s/authorized_keys", tls_conf_dir()))
		die(DX_IO, "%s: path too long", tls_conf_dir());
	snprintf(conf_dir_orig, sizeof conf_dir_orig, "%s", tls_conf_dir());
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0 && errno != ENOENT)
		die_errno(DX_IO, "%s", src);
	snprintf(authdir, sizeof authdir, "/tmp/dipus-exporter.XXXXXX");
	if (!mkdtemp(authdir))
		die_errno(DX_IO, "mkdtemp");
	char dst[96];
	snprintf(dst, sizeof dst, "%s/authorized_keys", authdir);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		die_errno(DX_IO, "%s", dst);
	char buf[4096];
	ssize_t n;
	while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write_all(out, buf, n) < 0)
			die_errno(DX_IO, "%s", dst);
	if (in >= 0)
		close(in);
	if (fchown(out, uid, gid) < 0 || chown(authdir, uid, gid) < 0)
		die_errno(DX_IO, "%s", authdir);
	close(out);
	atexit(authcopy_remove);
	setenv("DIPUS_CONF", authdir, 1);
}

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
	authcopy_make(uid, gid);
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

struct exporter;

struct peer {
	struct exporter *ex;
	int fd;
	char addr[64];
	struct tls_conn *tls;
	struct loop_timer *hs_timer;
	struct loop_timer *idle_timer;
	int ready;                  /* SEP session running */
	uint64_t last_rx;
	unsigned nchan;
	struct sep_session *sess;
	struct sep_svr *svr;
	struct loop_timer *free_timer;
	char why[NS_ERR_MAX + 64];
	struct peer *prev, *next;
};

struct exporter {
	struct loop *lp;
	int lfd[16];
	int nl;
	int plaintext, verbose;
	unsigned long max_peers, max_channels, hs_timeout, idle_timeout, window;
	struct tls_ctx *ctx;
	struct peer *peers;
	unsigned npeers;
	int stopping;
};

static void peer_sep_free(struct peer *p);
static void peer_start_sep(struct peer *p);

static void peer_close(struct peer *p, const char *why)
{
	struct exporter *ex = p->ex;
	if (why) {
		/* name the real config dir, not the private copy (authcopy_make) */
		char buf[NS_ERR_MAX + 128];
		const char *at = authdir[0] ? strstr(why, authdir) : NULL;
		if (at) {
			snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - why), why, conf_dir_orig,
			         at + strlen(authdir));
			why = buf;
		}
		const char *fp = p->tls ? tls_peer_fingerprint(p->tls) : "";
		int show_fp = fp[0] && !strstr(why, fp);
		msg("%s: %s%s%s", p->addr, why, show_fp ? ", key " : "", show_fp ? fp : "");
	}
	if (p->hs_timer)
		loop_timer_cancel(ex->lp, p->hs_timer);
	if (p->idle_timer)
		loop_timer_cancel(ex->lp, p->idle_timer);
	peer_sep_free(p);
	loop_unwatch(ex->lp, p->fd);
	if (p->tls)
		tls_conn_free(p->tls);
	close(p->fd);
	if (p->prev)
		p->prev->next = p->next;
	else
		ex->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	ex->npeers--;
	free(p);
}

/* ---- SEP ---- */

static void peer_free_later(struct loop *lp, void *arg)
{
	struct peer *p = arg;
	p->free_timer = NULL;
	peer_close(p, p->why[0] ? p->why : NULL);
}

static void peer_session_event(void *arg, int ev, int code, const char *reason)
{
	struct peer *p = arg;
	if (ev == SEP_SESSION_READY) {
		if (p->hs_timer) {
			loop_timer_cancel(p->ex->lp, p->hs_timer);
			p->hs_timer = NULL;
		}
		if (p->ex->verbose)
			msg("%s: SEP session ready (host %s)", p->addr, sep_peer_host(p->sess));
		return;
	}
	if (ev != SEP_SESSION_CLOSED || p->free_timer)
		return;
	/* never free a session inside its own callback */
	if (code && code != SEP_E_SHUTDOWN)
		snprintf(p->why, sizeof p->why, "dropped: %s (%s)", reason && *reason ? reason : "session failed",
		         sep_code_name(code));
	else if (p->ex->verbose)
		snprintf(p->why, sizeof p->why, "closed%s%s", reason && *reason ? ": " : "", reason ? reason : "");
	p->free_timer = loop_timer(p->ex->lp, 0, peer_free_later, p);
}

static void peer_sep_free(struct peer *p)
{
	if (p->free_timer) {
		loop_timer_cancel(p->ex->lp, p->free_timer);
		p->free_timer = NULL;
	}
	if (p->sess) {
		sep_session_free(p->sess);
		p->sess = NULL;
	}
	sep_svr_free(p->svr);
	p->svr = NULL;
}

static void peer_start_sep(struct peer *p)
{
	struct exporter *ex = p->ex;
	struct sep_io io;
	if (p->tls) {
		io = (struct sep_io){ .ctx = p->tls, .read = tls_read, .write = tls_write,
		                      .pending = tls_pending, .wants_write = tls_wants_write,
		                      .rfd = p->fd, .wfd = p->fd };
	} else {
		sep_io_fd(&io, p->fd, p->fd);
	}
	if (ex->verbose && p->tls)
		msg("%s: authenticated, key %s, %s", p->addr, tls_peer_fingerprint(p->tls),
		    tls_conn_suite(p->tls));
	loop_unwatch(ex->lp, p->fd);
	struct sep_limits lim;
	sep_limits_default(&lim);
	lim.max_channels = ex->max_channels;
	lim.window = ex->window;
	lim.handshake_ms = ex->hs_timeout * 1000;
	lim.idle_ms = ex->idle_timeout ? ex->idle_timeout * 1000 : 0;
	if (lim.idle_ms && lim.keepalive_ms >= lim.idle_ms)
		lim.keepalive_ms = lim.idle_ms / 3 ? lim.idle_ms / 3 : 1;
	p->svr = sep_svr_new(ex->lp, NS_EXPORTED);
	p->sess = sep_session_new(ex->lp, &io, 1, &lim, &sep_svr_ops, p->svr, ns_host(),
	                          peer_session_event, p);
	if (!p->sess)
		peer_close(p, "dropped: cannot start a SEP session");
}

static void peer_hs_timeout(struct loop *lp, void *arg)
{
	struct peer *p = arg;
	p->hs_timer = NULL;
	char why[96];
	snprintf(why, sizeof why, "dropped: handshake timed out after %lu s (--handshake-timeout)",
	         p->ex->hs_timeout);
	peer_close(p, why);
}

static void peer_hs_step(struct peer *p)
{
	char err[NS_ERR_MAX];
	int r = tls_handshake(p->tls, err, sizeof err);
	if (r == 1 || r == 2) {
		loop_events(p->ex->lp, p->fd, r == 1 ? LOOP_IN : LOOP_OUT);
		return;
	}
	if (r < 0) {
		char why[NS_ERR_MAX + 16];
		snprintf(why, sizeof why, "refused: %s", err);
		peer_close(p, why);
		return;
	}
	peer_start_sep(p);
}

static void peer_hs_io(struct loop *lp, int fd, unsigned events, void *arg)
{
	peer_hs_step(arg);
}

static void on_accept(struct loop *lp, int lfd, unsigned events, void *arg)
{
	struct exporter *ex = arg;
	for (int i = 0; i < 32 && !ex->stopping; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				msg_errno("accept");
			return;
		}
		char addr[64];
		net_peer_name(fd, addr, sizeof addr);
		if (ex->npeers >= ex->max_peers) {
			msg("%s: refused: too many peers (--max-peers %lu)", addr, ex->max_peers);
			close(fd);
			continue;
		}
		struct peer *p = xcalloc(1, sizeof *p);
		p->ex = ex;
		p->fd = fd;
		snprintf(p->addr, sizeof p->addr, "%s", addr);
		p->next = ex->peers;
		if (ex->peers)
			ex->peers->prev = p;
		ex->peers = p;
		ex->npeers++;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (ex->hs_timeout)
			p->hs_timer = loop_timer(lp, ex->hs_timeout * 1000, peer_hs_timeout, p);
		if (ex->verbose)
			msg("%s: connected", addr);
		if (ex->plaintext) {
			peer_start_sep(p);
			continue;
		}
		p->tls = tls_conn_new(ex->ctx, fd, addr, 0);
		if (!p->tls) {
			peer_close(p, "dropped: cannot start a TLS session (out of memory?)");
			continue;
		}
		loop_watch(lp, fd, LOOP_IN, peer_hs_io, p);
		peer_hs_step(p);
	}
}


static void on_signal(struct loop *lp, void *arg)
{
	struct exporter *ex = arg;
	ex->stopping = 1;
	for (int i = 0; i < ex->nl; i++) {
		loop_unwatch(lp, ex->lfd[i]);
		close(ex->lfd[i]);
	}
	ex->nl = 0;
	while (ex->peers) {
		struct peer *p = ex->peers;
		if (p->sess)
			sep_session_close(p->sess, SEP_E_SHUTDOWN, "exporter shutting down");
		peer_close(p, ex->verbose ? "closed: exporter shutting down" : NULL);
	}
	loop_stop(lp, 0);
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
	struct exporter ex = {
		.max_peers = 64, .max_channels = 256, .hs_timeout = 10, .idle_timeout = 600,
		.window = 262144,
	};
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
		case O_PLAIN: ex.plaintext = 1; break;
		case O_PEERS: if (parse_ulong("--max-peers", optarg, 1, 100000, &ex.max_peers)) return DX_USAGE; break;
		case O_CHANS: if (parse_ulong("--max-channels", optarg, 1, 1000000, &ex.max_channels)) return DX_USAGE; break;
		case O_HS: if (parse_ulong("--handshake-timeout", optarg, 1, 3600, &ex.hs_timeout)) return DX_USAGE; break;
		case O_IDLE: if (parse_ulong("--idle-timeout", optarg, 0, 1000000, &ex.idle_timeout)) return DX_USAGE; break;
		case O_WINDOW: if (parse_ulong("--window", optarg, 4096, 16 << 20, &ex.window)) return DX_USAGE; break;
		case O_ADV: advertise = advertise ? advertise : ""; break;
		case O_INST: advertise = optarg; break;
		case 'u': user = optarg; break;
		case 'v': ex.verbose = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!nlisten)
		listens[nlisten++] = "0.0.0.0:7150";
	char err[NS_ERR_MAX];
	/* key and certificate first (as root they may be readable by root only) */
	if (!ex.plaintext) {
		ex.ctx = tls_ctx_new(TLS_SERVER, err, sizeof err);
		if (!ex.ctx)
			die(DX_REFUSED, "%s", err);
	}
	for (int i = 0; i < nlisten; i++) {
		char spec[300];
		const char *l = listens[i];
		const char *close_b = strrchr(l, ']');
		const char *colon = strrchr(close_b ? close_b : l, ':');
		snprintf(spec, sizeof spec, "%s%s", l, colon ? "" : ":7150");
		int fd = net_listen(spec, 128, err, sizeof err);
		if (fd < 0)
			die(DX_IO, "--listen %s: %s", l, err);
		fd_set_nonblock(fd, 1);
		fd_set_cloexec(fd);
		ex.lfd[ex.nl++] = fd;
	}
	if (geteuid() == 0 || user)
		drop_privileges(user ? user : "nobody");
	/* the namespace must be usable by who we are now */
	int rfd = ns_open_root(0, err, sizeof err);
	if (rfd < 0)
		msg("warning: %s (nothing to offer until it exists)", err);
	else
		close(rfd);
	signal(SIGPIPE, SIG_IGN);
	ex.lp = loop_new();
	loop_signal(ex.lp, SIGTERM, on_signal, &ex);
	loop_signal(ex.lp, SIGINT, on_signal, &ex);
	for (int i = 0; i < ex.nl; i++)
		loop_watch(ex.lp, ex.lfd[i], LOOP_IN, on_accept, &ex);
	if (ex.verbose)
		for (int i = 0; i < nlisten; i++)
			msg("listening on %s (%s), as uid %d", listens[i],
			    ex.plaintext ? "plaintext SEP" : "TLS 1.3", (int)geteuid());
#if ENABLE_DISCOVERY   /* --advertise: mDNS/DNS-SD, doc/discoverer.md */
	struct mdns *adv = advertise ? mdns_advertise_listen(ex.lp, listens, (size_t)nlisten, advertise,
	    ex.ctx ? tls_ctx_fingerprint(ex.ctx) : "", SEP_VERSIONS, ex.verbose, err, sizeof err) : NULL;
	if (advertise && !adv)
		msg("--advertise: %s", err);
#else
	if (advertise)
		msg("--advertise: not in this build (CONFIG_DISCOVERY is off)");
#endif
	int rc = loop_run(ex.lp);
#if ENABLE_DISCOVERY
	mdns_free(adv);
#endif
	loop_free(ex.lp);
	tls_ctx_free(ex.ctx);
	return rc;
}
