//config:config PAIR
//config:	bool "pair: two hosts trust each other, both ways, in one step"
//config:	default y
//config:	depends on TLS
//config:	help
//config:	  dipus pair: two hosts trust each other both ways after a person
//config:	  compared a code on both screens (doc/keys.md).
//applet:APPLET(pair, "pair", PREFIXED, "make two hosts trust each other (both ways, confirmed by a person)")
/* pair.c: dipus pair: one step for two hosts to trust each other both ways, without
 * silent trust on first use (doc/keys.md, "Pairing").
 *
 *   A$ dipus pair                 waits (60 s) for one partner on TCP 7151
 *   B$ dipus pair A               joins
 *
 * Over TLS 1.3 (each side proves its key; neither needs to know the other's), the
 * joiner commits to a random nonce, the waiter answers with its own, the joiner opens
 * its commitment; each side shows the other's fingerprint and a 6-digit code hashed
 * from both keys and both nonces. A person checks that the two screens show the same
 * code and says yes on each; only when both said yes does each host add the other's
 * key to known_hosts (import it) and authorized_keys (let it import us). A
 * man in the middle holds other keys, so the codes differ; the commitment keeps it
 * from searching for keys that would make them agree (1 chance in 10^6 per try). */
#include "applets.h"
#include "ns.h"
#include "tls.h"

#include "mbedtls/sha256.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAIR_PORT 7151
#define PAIR_MAGIC "DIPUS-PAIR/1"
#define LINE_MAX_ 512

const char pair_usage[] =
	"usage: dipus pair [-y] [-t SECONDS] [-p PORT] [-l ADDR] [HOST[:PORT]]\n"
	"\n"
	"Make two hosts trust each other, both ways, in one step: run 'dipus pair' on one\n"
	"(it waits for a partner) and 'dipus pair HOST' on the other within the time.\n"
	"Both show the other's key fingerprint and a 6-digit code; when the codes on the\n"
	"two screens are the same, answer y on both. Each host then adds the other's key\n"
	"to known_hosts (so it imports from it, also when discovered on the LAN) and to\n"
	"authorized_keys (so the other may import from it). dipusd picks the change up.\n"
	"\n"
	"  -y          do not ask: accept the code (scripts, tests; the check is then yours)\n"
	"  -t SECONDS  how long to wait for the partner and the answers (60)\n"
	"  -p PORT     the pairing port (7151); HOST:PORT when joining\n"
	"  -l ADDR     listen on this address only (default: every address)\n"
	"\n"
	"The exporter's port for known_hosts is 7150. Exit 0 paired, 1 the person said no\n"
	"or the codes were not confirmed, 3 no partner in time, 4 refused, 5 protocol or\n"
	"TLS failure. See doc/keys.md.\n";

struct pc {
	int fd;
	struct tls_conn *tls;
	uint64_t deadline;
	char buf[LINE_MAX_];
	size_t nbuf;
};

static int left_ms(struct pc *p)
{
	uint64_t now = now_ms();
	return now >= p->deadline ? 0 : (int)(p->deadline - now);
}

static int wait_fd(struct pc *p, short ev)
{
	struct pollfd pfd = { p->fd, ev, 0 };
	int ms = left_ms(p);
	if (!ms)
		return -1;
	int r = poll(&pfd, 1, ms);
	return r > 0 ? 0 : -1;
}

static int send_line(struct pc *p, const char *line)
{
	size_t len = strlen(line), off = 0;
	while (off < len || tls_wants_write(p->tls)) {
		ssize_t w = off < len ? tls_write(p->tls, line + off, len - off) : tls_write(p->tls, "", 0);
		if (w > 0)
			off += w;
		else if (w < 0 && errno != EAGAIN)
			return -1;
		else if (w <= 0 && wait_fd(p, POLLOUT) < 0)
			return -1;
		if (off >= len && !tls_wants_write(p->tls))
			break;
	}
	return 0;
}

/* one line without its newline; -1 on EOF, error or timeout */
static int recv_line(struct pc *p, char *out, size_t outlen)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->nbuf);
		if (nl) {
			size_t n = nl - p->buf;
			if (n >= outlen)
				return -1;
			memcpy(out, p->buf, n);
			out[n] = 0;
			memmove(p->buf, nl + 1, p->nbuf - n - 1);
			p->nbuf -= n + 1;
			return 0;
		}
		if (p->nbuf == sizeof p->buf)
			return -1;
		ssize_t r = tls_read(p->tls, p->buf + p->nbuf, sizeof p->buf - p->nbuf);
		if (r > 0)
			p->nbuf += r;
		else if (r == 0 || errno != EAGAIN)
			return -1;
		else if (!tls_pending(p->tls) && wait_fd(p, POLLIN) < 0)
			return -1;
	}
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(const char *s, unsigned char *b, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = v;
	}
	return 0;
}

/* the value of KEY= in a line of space-separated KEY=VALUE words */
static int field(const char *line, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	for (const char *s = line; (s = strstr(s, key)); s += kl)
		if ((s == line || s[-1] == ' ') && s[kl] == '=') {
			size_t n = strcspn(s + kl + 1, " ");
			if (n >= outlen)
				return -1;
			memcpy(out, s + kl + 1, n);
			out[n] = 0;
			return 0;
		}
	return -1;
}

/* the code: SHA-256 over both keys (joiner's first) and both nonces, as 6 digits */
static unsigned pair_code(const char *fp_join, const char *fp_wait, const unsigned char nj[32],
                          const unsigned char nw[32])
{
	mbedtls_sha256_context h;
	unsigned char d[32];
	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts(&h, 0);
	mbedtls_sha256_update(&h, (const unsigned char *)PAIR_MAGIC, sizeof PAIR_MAGIC);
	mbedtls_sha256_update(&h, (const unsigned char *)fp_join, strlen(fp_join) + 1);
	mbedtls_sha256_update(&h, (const unsigned char *)fp_wait, strlen(fp_wait) + 1);
	mbedtls_sha256_update(&h, nj, 32);
	mbedtls_sha256_update(&h, nw, 32);
	mbedtls_sha256_finish(&h, d);
	mbedtls_sha256_free(&h);
	uint32_t v = (uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
	return v % 1000000;
}

static int ask(const char *question, int yes, int ms)
{
	fprintf(stderr, "%s ", question);
	if (yes) {
		fprintf(stderr, "yes (-y)\n");
		return 1;
	}
	fflush(stderr);
	struct pollfd pfd = { 0, POLLIN, 0 };
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	char ans[16];
	ssize_t n = read(0, ans, sizeof ans - 1);
	if (n <= 0)
		return 0;
	ans[n] = 0;
	return ans[0] == 'y' || ans[0] == 'Y';
}

static int keep_host_name(const char *s)
{
	if (!*s || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}

int pair_main(int argc, char **argv)
{
	int yes = 0, c;
	unsigned long secs = 60, port = PAIR_PORT;
	const char *laddr = NULL;
	while ((c = getopt(argc, argv, "yt:p:l:h")) != -1) {
		switch (c) {
		case 'y': yes = 1; break;
		case 't':
			if (parse_uint(optarg, 1, 3600, &secs) < 0)
				return usage_error("-t %s: seconds from 1 to 3600", optarg);
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &port) < 0)
				return usage_error("-p %s: a port number", optarg);
			break;
		case 'l': laddr = optarg; break;
		case 'h': fputs(pair_usage, stdout); return DX_OK;
		default: return usage_error("unknown option");
		}
	}
	if (argc - optind > 1)
		return usage_error("at most one HOST");
	const char *host = optind < argc ? argv[optind] : NULL;
	int joiner = host != NULL;
	char err[1024], myfp[TLS_FP_MAX];
	/* a fresh host has no key yet: make it (as dipusd would) */
	if (tls_key_fingerprint(myfp, err, sizeof err) < 0) {
		if (errno != ENOENT)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
		if (tls_keygen(0, myfp, err, sizeof err) < 0)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
		msg("no key yet: made one in %s", tls_conf_dir());
	}
	struct tls_ctx *ctx = tls_ctx_new(joiner ? TLS_CLIENT : TLS_SERVER, err, sizeof err);
	if (!ctx)
		die(DX_REFUSED, "%s", err);
	struct pc p = { .fd = -1, .deadline = now_ms() + secs * 1000 };
	char peername[300];
	if (joiner) {
		char h[256];
		unsigned long pport = port;
		const char *cb = host[0] == '[' ? strchr(host, ']') : NULL;
		const char *colon = strrchr(cb ? cb : host, ':');
		if (colon && (cb || !strchr(host, ':') || colon == strchr(host, ':'))) {
			if (parse_uint(colon + 1, 1, 65535, &pport) < 0)
				return usage_error("%s: bad port", host);
			snprintf(h, sizeof h, "%.*s", (int)(colon - host), host);
		} else {
			snprintf(h, sizeof h, "%s", host);
		}
		if (h[0] == '[') {
			memmove(h, h + 1, strlen(h));
			h[strcspn(h, "]")] = 0;
		}
		/* the partner may start a moment later: retry until the time is up */
		for (;;) {
			p.fd = net_connect(h, pport, left_ms(&p) ? left_ms(&p) : 1, err, sizeof err);
			if (p.fd >= 0 && wait_fd(&p, POLLOUT) == 0) {
				int e = 0;
				socklen_t el = sizeof e;
				getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &e, &el);
				if (!e)
					break;
				snprintf(err, sizeof err, "%s:%lu: %s", h, pport, strerror(e));
			}
			if (p.fd >= 0)
				close(p.fd);
			p.fd = -1;
			if (left_ms(&p) < 300)
				die(DX_IO, "no partner at %s in %lu s: %s", host, secs, err);
			usleep(250000);
		}
		snprintf(peername, sizeof peername, "%s:%lu", h, pport);
	} else {
		char spec[300];
		if (!laddr)
			snprintf(spec, sizeof spec, ":%lu", port);
		else if (strchr(laddr, ':'))
			snprintf(spec, sizeof spec, "[%s]:%lu", laddr, port);
		else
			snprintf(spec, sizeof spec, "%s:%lu", laddr, port);
		int lfd = net_listen(spec, 4, err, sizeof err);
		if (lfd < 0)
			die(DX_IO, "listen on port %lu: %s", port, err);
		fprintf(stderr, "dipus: pair: waiting %lu s for 'dipus pair THIS-HOST' on the other "
		        "host (port %lu); this key is %s\n", secs, port, myfp);
		struct pollfd pfd = { lfd, POLLIN, 0 };
		if (poll(&pfd, 1, left_ms(&p)) <= 0)
			die(DX_IO, "no partner in %lu s", secs);
		p.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		close(lfd);  /* one partner per run */
		if (p.fd < 0)
			die_errno(DX_IO, "accept");
		net_peer_name(p.fd, peername, sizeof peername);
	}
	fd_set_nonblock(p.fd, 1);
	/* either side accepts any key that proves itself: the person decides below */
	p.tls = tls_conn_new(ctx, p.fd, peername, 1);
	if (!p.tls)
		die(DX_IO, "cannot start TLS");
	if (tls_handshake_wait(p.tls, left_ms(&p) ? left_ms(&p) : 1, err, sizeof err) < 0)
		die(DX_REMOTE, "%s: TLS: %s", peername, err);
	char peerfp[TLS_FP_MAX];
	snprintf(peerfp, sizeof peerfp, "%s", tls_peer_fingerprint(p.tls));
	if (!tls_peer_verified(p.tls) || !tls_fp_valid(peerfp))
		die(DX_REMOTE, "%s: the partner did not prove a key", peername);
	if (!strcmp(peerfp, myfp))
		die(DX_USAGE, "%s: that is this host's own key", peername);

	unsigned char mine[32], theirs[32], commit[32];
	if (getrandom(mine, sizeof mine, 0) != sizeof mine)
		die_errno(DX_IO, "getrandom");
	char line[LINE_MAX_], hx[65], f[80], peerhost[80] = "";
	const char *me = ns_host();
	if (joiner) {
		mbedtls_sha256(mine, 32, commit, 0);
		hex(commit, 32, hx);
		snprintf(line, sizeof line, "%s C=%s H=%s\n", PAIR_MAGIC, hx, me);
		if (send_line(&p, line) < 0 || recv_line(&p, line, sizeof line) < 0)
			die(DX_REMOTE, "%s: the partner left", peername);
		if (strncmp(line, PAIR_MAGIC " ", sizeof PAIR_MAGIC) || field(line, "N", f, sizeof f) ||
		    unhex(f, theirs, 32))
			die(DX_REMOTE, "%s: not a dipus pair partner", peername);
		field(line, "H", peerhost, sizeof peerhost);
		hex(mine, 32, hx);
		snprintf(line, sizeof line, "N=%s\n", hx);
		if (send_line(&p, line) < 0)
			die(DX_REMOTE, "%s: the partner left", peername);
	} else {
		if (recv_line(&p, line, sizeof line) < 0 ||
		    strncmp(line, PAIR_MAGIC " ", sizeof PAIR_MAGIC) || field(line, "C", f, sizeof f) ||
		    unhex(f, commit, 32))
			die(DX_REMOTE, "%s: not a dipus pair partner", peername);
		field(line, "H", peerhost, sizeof peerhost);
		hex(mine, 32, hx);
		snprintf(line, sizeof line, "%s N=%s H=%s\n", PAIR_MAGIC, hx, me);
		if (send_line(&p, line) < 0 || recv_line(&p, line, sizeof line) < 0 ||
		    field(line, "N", f, sizeof f) || unhex(f, theirs, 32))
			die(DX_REMOTE, "%s: the partner left", peername);
		unsigned char chk[32];
		mbedtls_sha256(theirs, 32, chk, 0);
		if (memcmp(chk, commit, 32))
			die(DX_REMOTE, "%s: the partner's nonce does not match its commitment: refused",
			    peername);
	}
	if (!keep_host_name(peerhost))
		snprintf(peerhost, sizeof peerhost, "unnamed");
	unsigned code = joiner ? pair_code(myfp, peerfp, mine, theirs)
	                       : pair_code(peerfp, myfp, theirs, mine);
	fprintf(stderr, "\n  partner: %s at %s\n  its key: %s\n  this key: %s\n\n"
	        "  code: %03u %03u\n\n", peerhost, peername, peerfp, myfp, code / 1000, code % 1000);
	int ok = ask("Does the other host show the same code? [y/N]", yes, left_ms(&p));
	snprintf(line, sizeof line, "%s\n", ok ? "YES" : "NO");
	int sent = send_line(&p, line) == 0;
	char answer[16] = "";
	if (ok && sent && recv_line(&p, answer, sizeof answer) < 0)
		answer[0] = 0;
	tls_conn_free(p.tls);
	close(p.fd);
	tls_ctx_free(ctx);
	if (!ok)
		die(DX_NOMATCH, "not confirmed here: nothing was changed");
	if (strcmp(answer, "YES"))
		die(DX_NOMATCH, "not confirmed on the other host: nothing was changed");
	/* both said yes: each side trusts the other, both ways */
	char addr[300], comment[160];
	snprintf(addr, sizeof addr, "%s", peername);
	char *colon = strrchr(addr, ':');
	if (colon)
		*colon = 0;
	char hostport[320];
	snprintf(hostport, sizeof hostport, "%s:%d", addr, SEP_DEFAULT_PORT);
	if (hostport[0] != '[' && strchr(addr, ':'))
		snprintf(hostport, sizeof hostport, "[%s]:%d", addr, SEP_DEFAULT_PORT);
	int r = tls_known_hosts_add(hostport, peerfp, err, sizeof err);
	if (r < 0)
		die(errno == EPERM ? DX_REFUSED : DX_IO, "known_hosts: %s", err);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(comment, sizeof comment, "%s paired %04d-%02d-%02d", peerhost, tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday);
	if (tls_authorize_add(peerfp, comment, err, sizeof err) < 0)
		die(errno == EPERM ? DX_REFUSED : DX_IO, "authorized_keys: %s", err);
	printf("paired with %s (%s): trusted in known_hosts and authorized_keys in %s\n", peerhost,
	       peerfp, tls_conf_dir());
	return fflush(stdout) ? DX_IO : DX_OK;
}
