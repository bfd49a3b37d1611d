/* tls.c: mbedTLS glue: keys, fingerprints, pins, TLS 1.3 sessions (doc/tls.md).
 *
 * Certificates are self-signed, so X.509 chain building is not the trust decision:
 * the verify callback replaces it with the peer key's fingerprint looked up in
 * known_hosts (client) or authorized_keys (server). mbedTLS insists on a CA chain for
 * required verification; our own certificate stands in, and is never what decides. */
#include "tls.h"
#include "util.h"

#define MBEDTLS_ALLOW_PRIVATE_ACCESS  /* out_left: is an encrypted record still queued */
#include "mbedtls/base64.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha256.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* net_sockets.c is not built (dipus brings its own sockets); its codes, for our BIO */
#define MBEDTLS_ERR_NET_RECV_FAILED -0x004C
#define MBEDTLS_ERR_NET_SEND_FAILED -0x004E

#define KEY_FILE "key.pem"
#define CERT_FILE "cert.pem"
#define PEM_MAX 8192

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int rng_ready;

static int rng_init(char *err, size_t errlen)
{
	if (rng_ready)
		return 0;
	if (psa_crypto_init() != PSA_SUCCESS) {
		snprintf(err, errlen, "TLS: cannot initialise PSA crypto");
		return -1;
	}
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	int r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	                              (const unsigned char *)"dipus", 5);
	if (r) {
		snprintf(err, errlen, "TLS: cannot seed the random generator (-0x%04x)", -r);
		return -1;
	}
	rng_ready = 1;
	return 0;
}

static void tls_strerror(int r, char *buf, size_t len)
{
	/* no MBEDTLS_ERROR_C (size): the code, which mbedTLS's headers explain */
	snprintf(buf, len, "mbedTLS error -0x%04x", (unsigned)-r);
}

const char *tls_conf_dir(void)
{
	static char dir[512];
	const char *c = getenv("DIPUS_CONF");
	if (c && *c)
		return c;
	if (geteuid() == 0)
		return "/etc/dipus";
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : "/";
	}
	snprintf(dir, sizeof dir, "%s/.config/dipus", home);
	return dir;
}

static int conf_path(char *buf, size_t len, const char *file)
{
	return xsnprintf(buf, len, "%s/%s", tls_conf_dir(), file);
}

/* "SHA256:" + base64 (no padding) of the SHA-256 of the SubjectPublicKeyInfo DER. */
static int pk_fingerprint(mbedtls_pk_context *pk, char fp[TLS_FP_MAX])
{
	unsigned char der[512], hash[32], b64[64];
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
	if (n < 0)
		return -1;
	if (mbedtls_sha256(der + sizeof der - n, n, hash, 0))
		return -1;
	size_t olen;
	if (mbedtls_base64_encode(b64, sizeof b64, &olen, hash, sizeof hash))
		return -1;
	while (olen && b64[olen - 1] == '=')
		olen--;
	snprintf(fp, TLS_FP_MAX, "SHA256:%.*s", (int)olen, b64);
	return 0;
}

/* Read a file that must be ours and not readable by others (as OpenSSH does for keys). */
static int read_private(const char *path, unsigned char *buf, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no key; run 'dipus keygen' first", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: permissions %04o are too open (or not yours); it must be "
		         "yours alone: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		errno = EPERM;
		return -1;
	}
	ssize_t n = read_full(fd, buf, len - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = 0;
	return (int)n + 1;  /* PEM parsers want the NUL counted */
}

static int load_key(mbedtls_pk_context *pk, char *err, size_t errlen)
{
	char path[512];
	unsigned char pem[PEM_MAX];
	if (rng_init(err, errlen) < 0 || conf_path(path, sizeof path, KEY_FILE) < 0)
		return -1;
	int n = read_private(path, pem, sizeof pem, err, errlen);
	if (n < 0)
		return -1;
	int r = mbedtls_pk_parse_key(pk, pem, n, NULL, 0, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_platform_zeroize(pem, sizeof pem);
	if (r) {
		char e[128];
		tls_strerror(r, e, sizeof e);
		snprintf(err, errlen, "%s: not a usable key: %s", path, e);
		return -1;
	}
	return 0;
}

int tls_key_fingerprint(char fp[TLS_FP_MAX], char *err, size_t errlen)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	int r = load_key(&pk, err, errlen);
	if (r == 0 && pk_fingerprint(&pk, fp) < 0) {
		snprintf(err, errlen, "cannot compute the key's fingerprint");
		r = -1;
	}
	mbedtls_pk_free(&pk);
	return r;
}

/* Write a whole file under a temporary name, then rename it into place. */
static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode,
                      char *err, size_t errlen)
{
	char tmp[600];
	if (xsnprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) < 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int ensure_conf_dir(char *err, size_t errlen)
{
	const char *d = tls_conf_dir();
	char parent[512];
	snprintf(parent, sizeof parent, "%s", d);
	/* ~/.config may not exist yet */
	char *s = strrchr(parent, '/');
	if (s && s != parent) {
		*s = 0;
		mkdir(parent, 0700);
	}
	if (mkdir(d, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d, strerror(errno));
		return -1;
	}
	struct stat st;
	if (lstat(d, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: not a directory of yours", d);
		return -1;
	}
	return 0;
}

int tls_keygen(int force, char fp[TLS_FP_MAX], char *err, size_t errlen)
{
	char kpath[512], cpath[512];
	if (rng_init(err, errlen) < 0 || ensure_conf_dir(err, errlen) < 0 ||
	    conf_path(kpath, sizeof kpath, KEY_FILE) < 0 || conf_path(cpath, sizeof cpath, CERT_FILE) < 0)
		return -1;
	struct stat st;
	if (!force && lstat(kpath, &st) == 0) {
		snprintf(err, errlen, "%s: a key exists already; -f replaces it (peers that pinned "
		         "it will refuse the new one)", kpath);
		errno = EEXIST;
		return -1;
	}
	mbedtls_pk_context pk;
	mbedtls_x509write_cert crt;
	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&crt);
	unsigned char *pem = xcalloc(1, PEM_MAX);
	int rc = -1, r;
	char subject[128];
	struct utsname u;
	const char *host = getenv("DIPUS_HOST");
	if (!host || !*host)
		host = uname(&u) == 0 ? u.nodename : "dipus";
	/* a CN with a comma or equals sign would change the name's meaning */
	snprintf(subject, sizeof subject, "CN=%.60s", host);
	for (char *p = subject + 3; *p; p++)
		if (*p == ',' || *p == '=' || *p == '+' || *p == '\\')
			*p = '_';
	unsigned char serial[16];
	if ((r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) ||
	    (r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
	                             mbedtls_ctr_drbg_random, &drbg)) ||
	    (r = mbedtls_ctr_drbg_random(&drbg, serial, sizeof serial)))
		goto out;
	serial[0] &= 0x7f;  /* a positive serial */
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, &pk);
	if ((r = mbedtls_x509write_crt_set_subject_name(&crt, subject)) ||
	    (r = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) ||
	    (r = mbedtls_x509write_crt_set_serial_raw(&crt, serial, sizeof serial)) ||
	    (r = mbedtls_x509write_crt_set_validity(&crt, "20250101000000", "20991231235959")) ||
	    (r = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)))
		goto out;
	if ((r = mbedtls_pk_write_key_pem(&pk, pem, PEM_MAX)))
		goto out;
	if (write_file(kpath, pem, strlen((char *)pem), 0600, err, errlen) < 0)
		goto done;
	memset(pem, 0, PEM_MAX);
	if ((r = mbedtls_x509write_crt_pem(&crt, pem, PEM_MAX, mbedtls_ctr_drbg_random, &drbg)))
		goto out;
	if (write_file(cpath, pem, strlen((char *)pem), 0644, err, errlen) < 0)
		goto done;
	if (pk_fingerprint(&pk, fp) < 0) {
		snprintf(err, errlen, "cannot compute the key's fingerprint");
		goto done;
	}
	rc = 0;
	goto done;
out: {
	char e[128];
	tls_strerror(r, e, sizeof e);
	snprintf(err, errlen, "key generation failed: %s", e);
}
done:
	mbedtls_platform_zeroize(pem, PEM_MAX);
	free(pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	return rc;
}

/* ---- pins ---- */

/* The first two blank-separated words of line (no scanf: it would add 10 KB). */
static int two_words(char *line, char **a, char **b)
{
	char *save;
	*a = strtok_r(line, " \t\r\n", &save);
	*b = *a ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	return *a ? (*b ? 2 : 1) : 0;
}

static FILE *open_conf(const char *file, char *path, size_t plen)
{
	if (conf_path(path, plen, file) < 0)
		return NULL;
	return fopen(path, "re");
}

int tls_known_hosts_check(const char *hostport, const char *fp, char *err, size_t errlen)
{
	char path[512], line[512];
	FILE *f = open_conf("known_hosts", path, sizeof path);
	if (!f)
		return 1;
	int lineno = 0, rc = 1;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *h, *k;
		if (line[0] == '#' || two_words(line, &h, &k) != 2 || strcmp(h, hostport))
			continue;
		if (!strcmp(k, fp)) {
			rc = 0;
			break;
		}
		snprintf(err, errlen, "%s: the exporter's key has CHANGED: pinned %s, now %s "
		         "(if that is expected, remove line %d of %s and run 'dipus trust' again)",
		         hostport, k, fp, lineno, path);
		rc = -1;
		break;
	}
	fclose(f);
	return rc;
}

int tls_known_hosts_add(const char *hostport, const char *fp, char *err, size_t errlen)
{
	char path[512];
	if (ensure_conf_dir(err, errlen) < 0 || conf_path(path, sizeof path, "known_hosts") < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	char line[400];
	int n = snprintf(line, sizeof line, "%s %s\n", hostport, fp);
	if (fd < 0 || write_all(fd, line, n) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int tls_authorized(const char *fp, char *err, size_t errlen)
{
	char path[512], line[512];
	FILE *f = open_conf("authorized_keys", path, sizeof path);
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		char *k, *comment;
		if (line[0] != '#' && two_words(line, &k, &comment) >= 1 && !strcmp(k, fp)) {
			rc = 1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* ---- sessions ---- */

struct tls_ctx {
	enum tls_role role;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	int fd;
	enum tls_role role;
	char peer[256];
	int trust_unknown;
	char fp[TLS_FP_MAX];
	char why[1024];           /* the verify callback's reason */
	unsigned char first[4];   /* first bytes the peer sent: "is it TLS at all?" */
	size_t nfirst;
	size_t pending_write;     /* length of the write mbedTLS still has queued */
};

static const int tls13_suites[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	0,
};

static int verify(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_conn *c = arg;
	if (depth != 0)
		return 0;
	char fp[TLS_FP_MAX];
	if (pk_fingerprint(&crt->pk, fp) < 0) {
		snprintf(c->why, sizeof c->why, "cannot read the peer's key");
		*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
		return 0;
	}
	snprintf(c->fp, sizeof c->fp, "%s", fp);
	char err[1024] = "";
	int ok;
	if (c->role == TLS_CLIENT) {
		int r = tls_known_hosts_check(c->peer, fp, err, sizeof err);
		ok = r == 0 || (r == 1 && c->trust_unknown);
		if (r == 1 && !ok)
			snprintf(err, sizeof err, "%s: unknown exporter key %s; check it and pin it with "
			         "'dipus trust sep://%s'", c->peer, fp, c->peer);
	} else {
		int r = tls_authorized(fp, err, sizeof err);
		ok = r == 1;
		if (r == 0)
			snprintf(err, sizeof err, "key %s is not in %s/authorized_keys", fp, tls_conf_dir());
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

static int bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_conn *c = arg;
	ssize_t n = recv(c->fd, buf, len, 0);
	if (n > 0 && c->nfirst < sizeof c->first) {
		size_t k = sizeof c->first - c->nfirst;
		if (k > (size_t)n)
			k = n;
		memcpy(c->first + c->nfirst, buf, k);
		c->nfirst += k;
	}
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
	if (load_key(&x->key, err, errlen) < 0)
		goto fail;
	if (conf_path(path, sizeof path, CERT_FILE) < 0 ||
	    (r = mbedtls_x509_crt_parse_file(&x->cert, path))) {
		snprintf(err, errlen, "%s: cannot read the certificate (run 'dipus keygen -f')", path);
		goto fail;
	}
	if ((r = mbedtls_ssl_config_defaults(&x->conf,
	                                     role == TLS_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
	                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT))) {
		snprintf(err, errlen, "TLS configuration failed (-0x%04x)", -r);
		goto fail;
	}
	mbedtls_ssl_conf_min_tls_version(&x->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_max_tls_version(&x->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_ciphersuites(&x->conf, tls13_suites);
	mbedtls_ssl_conf_rng(&x->conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_authmode(&x->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&x->conf, &x->cert, NULL);
	if ((r = mbedtls_ssl_conf_own_cert(&x->conf, &x->cert, &x->key))) {
		snprintf(err, errlen, "%s: certificate does not match the key (run 'dipus keygen -f')", path);
		goto fail;
	}
	return x;
fail:
	tls_ctx_free(x);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *x)
{
	if (!x)
		return;
	mbedtls_ssl_config_free(&x->conf);
	mbedtls_x509_crt_free(&x->cert);
	mbedtls_pk_free(&x->key);
	free(x);
}

struct tls_conn *tls_conn_new(struct tls_ctx *x, int fd, const char *peer, int trust_unknown)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->role = x->role;
	c->trust_unknown = trust_unknown;
	snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &x->conf)) {
		mbedtls_ssl_free(&c->ssl);
		free(c);
		return NULL;
	}
	if (x->role == TLS_CLIENT)
		mbedtls_ssl_set_hostname(&c->ssl, NULL);  /* the identity is the pinned key */
	mbedtls_ssl_set_verify(&c->ssl, verify, c);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return c;
}

int tls_handshake(struct tls_conn *c, char *err, size_t errlen)
{
	int r = mbedtls_ssl_handshake(&c->ssl);
	if (r == 0)
		return 0;
	if (r == MBEDTLS_ERR_SSL_WANT_READ)
		return 1;
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 2;
	const char *who = c->role == TLS_CLIENT ? c->peer : "client";
	if (c->why[0]) {
		snprintf(err, errlen, "%s", c->why);
	} else if (c->nfirst && c->first[0] != 0x16 && c->first[0] != 0x15 && c->first[0] != 0x17) {
		/* not a TLS record at all */
		if (c->role == TLS_CLIENT)
			snprintf(err, errlen, "%s: the exporter does not speak TLS (a --plaintext exporter? "
			         "then use sep+plain://)", who);
		else
			snprintf(err, errlen, "%s: the peer does not speak TLS (plaintext SEP to a TLS exporter?)", who);
	} else if (r == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE ||
	           r == MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME ||
	           (c->role == TLS_SERVER && r == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE && !c->fp[0])) {
		snprintf(err, errlen, "%s: no client certificate (every SEP peer must present its key)", who);
	} else if (r == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION) {
		snprintf(err, errlen, "%s: not TLS 1.3 (SEP requires TLS 1.3)", who);
	} else if (r == MBEDTLS_ERR_NET_RECV_FAILED || r == MBEDTLS_ERR_NET_SEND_FAILED ||
	           r == MBEDTLS_ERR_SSL_CONN_EOF) {
		snprintf(err, errlen, "%s: connection closed during the TLS handshake%s", who,
		         c->role == TLS_CLIENT ? " (is our key in the exporter's authorized_keys? "
		                                 "'dipus keygen -y' prints it)" : "");
	} else {
		char e[160];
		tls_strerror(r, e, sizeof e);
		snprintf(err, errlen, "%s: TLS handshake failed: %s", who, e);
	}
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

ssize_t tls_read(void *conn, void *buf, size_t n)
{
	struct tls_conn *c = conn;
	int r = mbedtls_ssl_read(&c->ssl, buf, n);
	if (r > 0)
		return r;
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE ||
	    r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
		errno = EAGAIN;
		return -1;
	}
	errno = r == MBEDTLS_ERR_NET_RECV_FAILED ? ECONNRESET : EPROTO;
	return -1;
}

ssize_t tls_write(void *conn, const void *buf, size_t n)
{
	struct tls_conn *c = conn;
	/* after WANT_WRITE mbedTLS must be called again with the same bytes: the caller's
	 * buffer still starts with them, but may have grown, so ask for the same length */
	if (c->pending_write && n > c->pending_write)
		n = c->pending_write;
	int r = mbedtls_ssl_write(&c->ssl, buf, n);
	if (r >= 0) {
		c->pending_write = 0;
		return r;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
		c->pending_write = n;
		errno = EAGAIN;
		return -1;
	}
	errno = r == MBEDTLS_ERR_NET_SEND_FAILED ? EPIPE : EPROTO;
	return -1;
}

size_t tls_pending(void *conn)
{
	struct tls_conn *c = conn;
	return mbedtls_ssl_get_bytes_avail(&c->ssl) + (mbedtls_ssl_check_pending(&c->ssl) ? 1 : 0);
}

int tls_wants_write(void *conn)
{
	struct tls_conn *c = conn;
	return c->ssl.out_left > 0 || c->pending_write > 0;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	mbedtls_ssl_close_notify(&c->ssl);
	mbedtls_ssl_free(&c->ssl);
	free(c);
}

int tls_peek_is_tls(int fd)
{
	unsigned char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n != 1)
		return -1;
	return b == 0x16;
}
