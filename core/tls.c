/* tls.c: TLS 1.3 sessions over mbedTLS: contexts, the handshake, records (doc/tls.md).
 * Keys are tls-keys.c's, the pin files tls-pins.c's (tls-int.h joins them).
 *
 * Certificates are self-signed, so X.509 chain building is not the trust decision:
 * the verify callback replaces it with the peer key's fingerprint looked up in
 * known_hosts (client) or authorized_keys (server). mbedTLS insists on a CA chain for
 * required verification; our own certificate stands in, and is never what decides. */
#include "tls.h"
#include "tls-int.h"
#include "tls-mem.h"
#include "tls-suites.h"
#include "util.h"

#define MBEDTLS_ALLOW_PRIVATE_ACCESS  /* out_left: is an encrypted record still queued */
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

/* mbedTLS reads MBEDTLS_CONFIG_FILE with a quoted #include from its own include dir,
 * where its default (full) mbedtls_config.h would win over a file of the same name:
 * ours has a name of its own, and this checks that it is the one in use. */
#ifndef DIPUS_MBEDTLS_CONFIG_H
#error "mbedTLS is not configured by config/dipus_mbedtls_config.h (MBEDTLS_CONFIG_FILE)"
#endif

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* net_sockets.c is not built (dipus brings its own sockets); its codes, for our BIO */
#define MBEDTLS_ERR_NET_RECV_FAILED -0x004C
#define MBEDTLS_ERR_NET_SEND_FAILED -0x004E


/* ---- sessions ---- */

struct tls_ctx {
	enum tls_role role;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	char fp[TLS_FP_MAX];      /* our own key's, for messages */
	/* server: authorized_keys as loaded (tls_ctx_load_authorized), never read again
	 * behind the caller's back: an exporter loads it before dropping privileges */
	char (*auth)[TLS_FP_MAX];
	size_t nauth;
	int auth_any;             /* a "*" line: any key that proves itself */
	char auth_path[512];      /* for messages */
	struct stat auth_st;      /* the file as loaded (st_ino 0: there was none) */
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	const struct tls_ctx *ctx;
	int fd;
	char peer[256];
	int trust_unknown;
	char expect[TLS_FP_MAX];  /* client: the key the peer must show (tls_conn_expect) */
	int eof;                  /* the transport reached EOF */
	int verified;             /* the peer proved it holds the key of fp */
	int got_data;             /* application data arrived */
	char fp[TLS_FP_MAX];
	char why[1024];           /* the verify callback's reason, or the last error */
	int why_errno;            /* its kind: EACCES unknown key, EPERM changed pin, ... */
	unsigned char first[4];   /* first bytes the peer sent: "is it TLS at all?" */
	size_t nfirst;
	size_t pending_write;     /* bytes of an application record mbedTLS still has queued */
	size_t raoff, ralen;      /* read ahead: ra[raoff..] holds ralen bytes not yet given */
	unsigned char ra[4096];   /* to mbedTLS (several small records come in one recv) */
};

static const uint16_t tls_groups[] = {
	MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1, 0,
};
static const uint16_t tls_sig_algs[] = {
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_NONE,
};

/* The trust decision, in place of chain building: the peer's certificate is called at
 * depth 0 (it is self-signed; a longer chain keeps mbedTLS's own NOT_TRUSTED flags for
 * the other links and fails). The certificate's names and dates mean nothing; its key
 * is the identity, and the handshake proves the peer holds it (CertificateVerify). */
static int verify(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_conn *c = arg;
	if (depth != 0)
		return 0;
	char fp[TLS_FP_MAX];
	if (tls_pk_fingerprint(&crt->pk, fp) < 0) {
		snprintf(c->why, sizeof c->why, "cannot read the peer's key");
		*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
		return 0;
	}
	snprintf(c->fp, sizeof c->fp, "%s", fp);
	char err[1024] = "";
	int ok;
	if (c->ctx->role == TLS_CLIENT && c->expect[0]) {
		/* found by its key (discovery): that key, and trusted here under any name */
		ok = !strcmp(fp, c->expect) && tls_known_hosts_has_fp(fp);
		c->why_errno = strcmp(fp, c->expect) ? EPERM : ENOKEY;
		if (strcmp(fp, c->expect))
			snprintf(err, sizeof err, "%s: the exporter showed key %s, not the expected %s",
			         c->peer, fp, c->expect);
		else if (!ok)
			snprintf(err, sizeof err, "%s: key %s is not trusted here (not in %s/known_hosts)",
			         c->peer, fp, tls_conf_dir());
	} else if (c->ctx->role == TLS_CLIENT) {
		int r = tls_known_hosts_check(c->peer, fp, err, sizeof err);
		c->why_errno = r < 0 ? errno : ENOKEY;
		ok = r == 0 || (r == 1 && c->trust_unknown);
		if (r == 1 && !ok)
			snprintf(err, sizeof err, "%s: unknown exporter key %s; check it and pin it with "
			         "'dipus trust sep://%s'", c->peer, fp, c->peer);
	} else {
		ok = c->ctx->auth_any || c->trust_unknown;  /* dipus pair: a person decides */
		for (size_t i = 0; !ok && i < c->ctx->nauth; i++)
			ok = !strcmp(c->ctx->auth[i], fp);
		if (!ok)
			snprintf(err, sizeof err, "key %s is not in %s", fp, c->ctx->auth_path);
	}
	if (ok) {
		*flags = 0;  /* the pinned key is the identity; self-signed is expected */
	} else {
		snprintf(c->why, sizeof c->why, "%s", err);
		*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	}
	return 0;
}

static int bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tls_conn *c = arg;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* mbedTLS asks for a record's 5-byte header, then for its body: two recv calls per
 * record. Reading ahead into ra takes in one call what the socket holds (the several
 * small records of a request, say); a big body beyond what ra holds is read straight
 * into mbedTLS's buffer. mbedTLS hears WANT_READ only when ra is empty and the socket
 * too, so the descriptor's readiness still tells when to call again (tls_pending()
 * counts ra for the rest). */
static ssize_t bio_fill(struct tls_conn *c, unsigned char *buf, size_t len)
{
	if (c->ralen) {
		size_t k = len < c->ralen ? len : c->ralen;
		memcpy(buf, c->ra + c->raoff, k);
		c->raoff += k;
		c->ralen -= k;
		if (k == len)
			return (ssize_t)k;
		/* the rest of a big body: what the socket has now, or just what ra held */
		ssize_t n = recv(c->fd, buf + k, len - k, 0);
		if (n == 0)
			c->eof = 1;
		return (ssize_t)k + (n > 0 ? n : 0);
	}
	if (len >= sizeof c->ra)
		return recv(c->fd, buf, len, 0);
	ssize_t n = recv(c->fd, c->ra, sizeof c->ra, 0);
	if (n <= 0)
		return n;
	size_t k = len < (size_t)n ? len : (size_t)n;
	memcpy(buf, c->ra, k);
	c->raoff = k;
	c->ralen = (size_t)n - k;
	return (ssize_t)k;
}

static int bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_conn *c = arg;
	ssize_t n = bio_fill(c, buf, len);
	if (n > 0 && c->nfirst < sizeof c->first) {
		size_t k = sizeof c->first - c->nfirst;
		if (k > (size_t)n)
			k = n;
		memcpy(c->first + c->nfirst, buf, k);
		c->nfirst += k;
	}
	if (n == 0)
		c->eof = 1;
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

struct tls_ctx *tls_ctx_new(enum tls_role role, char *err, size_t errlen)
{
	struct tls_ctx *x = xcalloc(1, sizeof *x);
	x->role = role;
	mbedtls_ssl_config_init(&x->conf);
	mbedtls_x509_crt_init(&x->cert);
	mbedtls_pk_init(&x->key);
	char path[512];
	int r;
	if (tls_load_key(&x->key, err, errlen) < 0)
		goto fail;
	if (tls_conf_path(path, sizeof path, CERT_FILE, err, errlen) < 0)
		goto fail;
	unsigned char *pem = xmalloc(PEM_MAX);
	int n = tls_read_pem(path, 0, pem, PEM_MAX, err, errlen);
	r = n < 0 ? -1 : mbedtls_x509_crt_parse(&x->cert, pem, (size_t)n);
	free(pem);
	if (n < 0)
		goto fail;
	if (r) {
		snprintf(err, errlen, "%s: cannot read the certificate (run 'dipus keygen -f')", path);
		errno = EINVAL;
		goto fail;
	}
	/* a certificate of another key would fail every handshake, far from the cause */
	if (mbedtls_pk_check_pair(&x->cert.pk, &x->key, tls_rng, NULL) || x->cert.next ||
	    tls_pk_fingerprint(&x->key, x->fp) < 0) {
		snprintf(err, errlen, "%s: not the certificate of key.pem (run 'dipus keygen -f')", path);
		errno = EINVAL;
		goto fail;
	}
	if ((r = mbedtls_ssl_config_defaults(&x->conf,
	                                     role == TLS_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
	                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT))) {
		snprintf(err, errlen, "TLS configuration failed (-0x%04x)", (unsigned)-r);
		errno = EINVAL;
		goto fail;
	}
	mbedtls_ssl_conf_min_tls_version(&x->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_max_tls_version(&x->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_ciphersuites(&x->conf, tls_suites(role == TLS_SERVER)); /* tls-suites.c */
	mbedtls_ssl_conf_groups(&x->conf, tls_groups);
	mbedtls_ssl_conf_sig_algs(&x->conf, tls_sig_algs);
	mbedtls_ssl_conf_rng(&x->conf, tls_rng, NULL);
	/* required both ways: a server without a client certificate fails the handshake */
	mbedtls_ssl_conf_authmode(&x->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	/* mbedTLS insists on a CA list for required verification; ours stands in (it is no
	 * CA: basicConstraints CA=false), and the verify callback decides */
	mbedtls_ssl_conf_ca_chain(&x->conf, &x->cert, NULL);
	if ((r = mbedtls_ssl_conf_own_cert(&x->conf, &x->cert, &x->key))) {
		snprintf(err, errlen, "TLS configuration failed (-0x%04x)", (unsigned)-r);
		errno = ENOMEM;
		goto fail;
	}
	if (role == TLS_SERVER && tls_ctx_load_authorized(x, err, errlen) < 0)
		goto fail;
	return x;
fail:
	tls_ctx_free(x);
	return NULL;
}

int tls_ctx_load_authorized(struct tls_ctx *x, char *err, size_t errlen)
{
	char path[512], line[512];
	FILE *f = tls_open_pins("authorized_keys", path, sizeof path, err, errlen);
	if (!f && errno != ENOENT)
		return -1;
	char(*v)[TLS_FP_MAX] = NULL;
	size_t n = 0, cap = 0;
	int any = 0, lineno = 0, w;
	char *k, *comment;
	while (f && (w = tls_next_pin(f, line, sizeof line, &lineno, &k, &comment)) >= 0) {
		if (w < 1)
			continue;
		if (!strcmp(k, "*")) {
			any = 1;
			continue;
		}
		if (!tls_fp_valid(k))
			continue;  /* never matches a fingerprint, as before */
		if (n == TLS_AUTH_MAX) {
			snprintf(err, errlen, "%s: more than %d keys", path, TLS_AUTH_MAX);
			free(v);
			fclose(f);
			errno = E2BIG;
			return -1;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		snprintf(v[n++], TLS_FP_MAX, "%s", k);
	}
	memset(&x->auth_st, 0, sizeof x->auth_st);
	if (f) {
		fstat(fileno(f), &x->auth_st);
		fclose(f);
	}
	free(x->auth);
	x->auth = v;
	x->nauth = n;
	x->auth_any = any;
	snprintf(x->auth_path, sizeof x->auth_path, "%s", path);
	return 0;
}

void tls_ctx_refresh_authorized(struct tls_ctx *x)
{
	struct stat st;
	if (!x->auth_path[0])
		return;
	if (stat(x->auth_path, &st) < 0) {
		if (errno != ENOENT || !x->auth_st.st_ino)
			return;  /* unreachable now (a dropped user): what was loaded stays */
		memset(&st, 0, sizeof st);
	}
	if (st.st_ino == x->auth_st.st_ino && st.st_dev == x->auth_st.st_dev &&
	    st.st_size == x->auth_st.st_size && st.st_mtim.tv_sec == x->auth_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == x->auth_st.st_mtim.tv_nsec)
		return;
	char err[512];
	if (tls_ctx_load_authorized(x, err, sizeof err) < 0)
		msg("%s (the keys loaded before stay in force)", err);
}

size_t tls_ctx_authorized_count(const struct tls_ctx *x, int *any)
{
	if (any)
		*any = x->auth_any;
	return x->nauth;
}

void tls_ctx_free(struct tls_ctx *x)
{
	if (!x)
		return;
	free(x->auth);
	mbedtls_ssl_config_free(&x->conf);
	mbedtls_x509_crt_free(&x->cert);
	mbedtls_pk_free(&x->key);
	free(x);
}

const char *tls_ctx_fingerprint(const struct tls_ctx *x)
{
	return x->fp;
}

struct tls_conn *tls_conn_new(struct tls_ctx *x, int fd, const char *peer, int trust_unknown)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->ctx = x;
	c->trust_unknown = trust_unknown;
	snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &x->conf) ||
	    (x->role == TLS_CLIENT && mbedtls_ssl_set_hostname(&c->ssl, NULL))) {
		mbedtls_ssl_free(&c->ssl);
		free(c);
		return NULL;
	}
	/* client: no host name check, explicitly (the identity is the pinned key) */
	mbedtls_ssl_set_verify(&c->ssl, verify, c);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return c;
}

int tls_conn_expect(struct tls_conn *c, const char *fp)
{
	if (c->ctx->role != TLS_CLIENT || !tls_fp_valid(fp)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(c->expect, sizeof c->expect, "%s", fp);
	return 0;
}

/* Why the peer ended the connection with a fatal alert (its code is still in in_msg). */
static int alert_reason(struct tls_conn *c, char *err, size_t errlen)
{
	const char *who = c->ctx->role == TLS_CLIENT ? c->peer : "client";
	unsigned a = c->ssl.in_msg ? c->ssl.in_msg[1] : 0;
	switch (a) {
	case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
	case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
	case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
	case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
	case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
	case MBEDTLS_SSL_ALERT_MSG_CERT_REQUIRED:
		if (c->ctx->role == TLS_CLIENT)
			snprintf(err, errlen, "%s: the exporter refused our key %s (add it to the exporter's "
			         "authorized_keys; 'dipus keygen -y' prints it)", who, c->ctx->fp);
		else
			snprintf(err, errlen, "%s: the client refused our key %s (not pinned there, or pinned "
			         "to another key)", who, c->ctx->fp);
		return EACCES;
	case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
		snprintf(err, errlen, "%s: the peer does not speak TLS 1.3 (SEP requires it)", who);
		return EPROTONOSUPPORT;
	case MBEDTLS_SSL_ALERT_MSG_USER_CANCELED:
		/* what tls_refuse_busy() sends: the exporter's own bounds, not our key */
		snprintf(err, errlen, "%s: the exporter is busy (too many peers or handshakes at once); "
		         "try again later", who);
		return EBUSY;
	case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
	case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
		snprintf(err, errlen, "%s: no TLS parameters in common (SEP uses TLS 1.3, ECDHE "
		         "X25519/P-256, ECDSA P-256)", who);
		return EPROTO;
	default:
		snprintf(err, errlen, "%s: the peer ended the connection with TLS alert %u", who, a);
		return EPROTO;
	}
}

/* Client: has the server's Finished been checked (and so its CertificateVerify)? The
 * states that follow it in a TLS 1.3 client handshake; PSK modes are not built, so a
 * certificate was always part of it. */
static int server_proven(const struct tls_conn *c)
{
	switch (c->ssl.state) {
	case MBEDTLS_SSL_CLIENT_CCS_AFTER_SERVER_FINISHED:
	case MBEDTLS_SSL_END_OF_EARLY_DATA:
	case MBEDTLS_SSL_CLIENT_CERTIFICATE:
	case MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY:
	case MBEDTLS_SSL_CLIENT_FINISHED:
	case MBEDTLS_SSL_FLUSH_BUFFERS:
	case MBEDTLS_SSL_HANDSHAKE_WRAPUP:
	case MBEDTLS_SSL_HANDSHAKE_OVER:
		return c->fp[0] != 0;
	default:
		return 0;
	}
}

int tls_handshake(struct tls_conn *c, char *err, size_t errlen)
{
	int r = mbedtls_ssl_handshake(&c->ssl);
	if (c->ctx->role == TLS_CLIENT && !c->verified && server_proven(c))
		c->verified = 1;
	if (r == 0) {
		c->verified = c->fp[0] != 0;
		tls_idle(c);  /* the handshake wrote all of the output buffer (tls-mem.c) */
		return 0;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_READ)
		return 1;
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 2;
	int client = c->ctx->role == TLS_CLIENT;
	const char *who = client ? c->peer : "client";
	int e = EPROTO;
	if (c->why[0]) {
		snprintf(err, errlen, "%s", c->why);
		e = c->why_errno ? c->why_errno : EACCES;  /* the verify callback refused the key */
	} else if (c->nfirst && c->first[0] != 0x16 && c->first[0] != 0x15 && c->first[0] != 0x17) {
		/* not a TLS record at all */
		if (client)
			snprintf(err, errlen, "%s: the exporter does not speak TLS (a --plaintext exporter? "
			         "then use sep+plain://)", who);
		else
			snprintf(err, errlen, "%s: the peer does not speak TLS (plaintext SEP to a TLS exporter?)", who);
	} else if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		e = alert_reason(c, err, errlen);
	} else if (!client && c->ssl.state == MBEDTLS_SSL_CLIENT_CERTIFICATE && !c->fp[0] &&
	           (r == MBEDTLS_ERR_SSL_INVALID_MAC || r == MBEDTLS_ERR_SSL_CONN_EOF ||
	            r == MBEDTLS_ERR_NET_RECV_FAILED)) {
		/* the client saw our certificate and gave up; its alert, if any, comes sealed
		 * with keys that do not match ours yet (it reads as a bad record) */
		snprintf(err, errlen, "%s: the client ended the handshake after seeing our key %s: it "
		         "most likely refused it (not pinned there, or pinned to another key)", who,
		         c->ctx->fp);
		e = EACCES;
	} else if (r == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
	           (!client && r == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE && !c->fp[0])) {
		snprintf(err, errlen, "%s: no client certificate (every SEP peer must present its key)", who);
		e = EACCES;
	} else if (r == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION) {
		snprintf(err, errlen, "%s: not TLS 1.3 (SEP requires TLS 1.3)", who);
	} else if (!client && !c->nfirst && (r == MBEDTLS_ERR_NET_RECV_FAILED ||
	                                     r == MBEDTLS_ERR_SSL_CONN_EOF)) {
		/* connected and left without a byte: a probe (a port check), not an attack */
		snprintf(err, errlen, "%s: connection closed before the TLS handshake began", who);
		e = ENODATA;
	} else if (r == MBEDTLS_ERR_NET_RECV_FAILED || r == MBEDTLS_ERR_NET_SEND_FAILED ||
	           r == MBEDTLS_ERR_SSL_CONN_EOF) {
		e = ECONNRESET;
		snprintf(err, errlen, "%s: connection closed during the TLS handshake%s", who,
		         client ? " (is our key in the exporter's authorized_keys? "
		                  "'dipus keygen -y' prints it)" : "");
	} else {
		char es[160];
		tls_strerror(r, es, sizeof es);
		snprintf(err, errlen, "%s: TLS handshake failed: %s", who, es);
	}
	errno = e;
	return -1;
}

int tls_handshake_wait(struct tls_conn *c, unsigned ms, char *err, size_t errlen)
{
	uint64_t end = now_ms() + ms;
	for (;;) {
		int r = tls_handshake(c, err, errlen);
		if (r <= 0)
			return r;
		uint64_t now = now_ms();
		if (now >= end) {
			snprintf(err, errlen, "%s: TLS handshake timed out after %u ms",
			         c->peer[0] ? c->peer : "peer", ms);
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = c->fd, .events = r == 1 ? POLLIN : POLLOUT };
		poll(&p, 1, (int)(end - now));
	}
}

const char *tls_peer_fingerprint(const struct tls_conn *c)
{
	return c->fp;
}

int tls_peer_verified(const struct tls_conn *c)
{
	return c->verified;
}

const char *tls_conn_suite(const struct tls_conn *c)
{
	const char *s = mbedtls_ssl_get_ciphersuite(&c->ssl);
	return s ? s : "";
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->why;
}

ssize_t tls_read(void *conn, void *buf, size_t n)
{
	struct tls_conn *c = conn;
	int r = mbedtls_ssl_read(&c->ssl, buf, n);
	if (r > 0) {
		c->got_data = 1;
		return r;
	}
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (c->ctx->role == TLS_CLIENT && !c->got_data && r != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE &&
	    ((r == 0 && n > 0 && c->eof) || r == MBEDTLS_ERR_SSL_INVALID_MAC ||
	     r == MBEDTLS_ERR_NET_RECV_FAILED)) {
		/* A TLS 1.3 server checks our certificate after our handshake is over; its
		 * alert is sealed with keys we have dropped already (it reads as a bad record)
		 * or lost in a reset. Before any data, that is what a cut means. */
		snprintf(c->why, sizeof c->why, "%s: the exporter ended the connection right after "
		         "the handshake: it most likely refused our key %s (add it to the exporter's "
		         "authorized_keys; 'dipus keygen -y' prints it)", c->peer, c->ctx->fp);
		errno = EACCES;
		return -1;
	}
	if (r == 0 && n > 0 && c->eof) {
		/* the transport ended without close_notify: a cut, not an end (it could be an
		 * attacker's forged FIN truncating the stream) */
		snprintf(c->why, sizeof c->why, "%s: connection cut without TLS close_notify",
		         c->peer[0] ? c->peer : "peer");
		errno = ECONNRESET;
		return -1;
	}
	if (r == 0 || r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE ||
	    r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
		errno = EAGAIN;
		return -1;
	}
	if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		errno = alert_reason(c, c->why, sizeof c->why);
		return -1;
	}
	snprintf(c->why, sizeof c->why, "%s: TLS: %s", c->peer[0] ? c->peer : "peer",
	         r == MBEDTLS_ERR_NET_RECV_FAILED ? "receive failed" : "bad record (corrupted or forged data)");
	errno = r == MBEDTLS_ERR_NET_RECV_FAILED ? ECONNRESET : EPROTO;
	return -1;
}

ssize_t tls_write(void *conn, const void *buf, size_t n)
{
	struct tls_conn *c = conn;
	/* after WANT_WRITE mbedTLS must be called again with the same bytes (it sends the
	 * record it built and returns the length asked for): the caller's buffer still
	 * starts with them but may have grown, so ask for exactly that length again */
	if (c->pending_write) {
		if (n < c->pending_write) {
			errno = EINVAL;  /* a caller that dropped bytes it offered: a bug */
			return -1;
		}
		n = c->pending_write;
		if (c->ssl.out_left == 0) {
			/* the queued record left already (a flush elsewhere): never build it twice */
			c->pending_write = 0;
			return (ssize_t)n;
		}
	}
	int r = mbedtls_ssl_write(&c->ssl, buf, n);
	if (r >= 0) {
		c->pending_write = 0;
		return r;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
		if (c->ssl.out_left > 0 && !c->pending_write) {
			int max = mbedtls_ssl_get_max_out_record_payload(&c->ssl);
			c->pending_write = max > 0 && n > (size_t)max ? (size_t)max : n;
		}
		errno = EAGAIN;
		return -1;
	}
	snprintf(c->why, sizeof c->why, "%s: TLS: send failed", c->peer[0] ? c->peer : "peer");
	errno = r == MBEDTLS_ERR_NET_SEND_FAILED ? EPIPE : EPROTO;
	return -1;
}

size_t tls_pending(void *conn)
{
	struct tls_conn *c = conn;
	return mbedtls_ssl_get_bytes_avail(&c->ssl) + (mbedtls_ssl_check_pending(&c->ssl) ? 1 : 0) +
	       c->ralen;
}

void tls_idle(void *conn)
{
	struct tls_conn *c = conn;
	if (!c->ssl.out_left)
		dipus_tls_trim(c->ssl.out_buf);
	if (!c->ssl.in_left && !tls_pending(c))
		dipus_tls_trim(c->ssl.in_buf);
}

int tls_wants_write(void *conn)
{
	struct tls_conn *c = conn;
	return c->ssl.out_left > 0;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	mbedtls_ssl_close_notify(&c->ssl);
	mbedtls_ssl_free(&c->ssl);
	free(c);
}

void tls_refuse_busy(int fd)
{
	/* a plaintext fatal alert record (legal before ServerHello): TLS 1.2 record header
	 * as TLS 1.3 sends it, level fatal, user_canceled (no TLS alert says "busy"; this
	 * one is never sent otherwise, so the client can tell) */
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02,
	                                       MBEDTLS_SSL_ALERT_MSG_USER_CANCELED };
	char sink[512];
	while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
		;  /* unread input would turn our close into a reset that may beat the alert */
	if (send(fd, alert, sizeof alert, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof alert)
		shutdown(fd, SHUT_WR);
}

int tls_peek_is_tls(int fd)
{
	unsigned char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n != 1)
		return -1;
	return b == 0x16;
}

