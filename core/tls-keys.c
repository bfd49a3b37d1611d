/* tls-keys.c: this host's key and certificate: generation (keygen), loading, the
 * fingerprint of a public key; and the random generator every TLS operation draws
 * from (doc/tls.md, doc/keys.md). Part of tls.c's split: tls-int.h. */
#include "tls.h"
#include "tls-int.h"
#include "util.h"

#include "mbedtls/base64.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Randomness: PSA's generator, a CTR-DRBG seeded from the kernel (getrandom()) by
 * mbedTLS's entropy module. It is the one every TLS operation uses anyway (ECDHE, ECDSA
 * signatures), and it reseeds itself in a child after fork(): a private DRBG here would
 * not, and two forked processes would then draw the same "random" bytes. */
static int rng_ready;

int tls_rng(void *arg, unsigned char *buf, size_t len)
{
	(void)arg;
	return psa_generate_random(buf, len) == PSA_SUCCESS ? 0 : MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
}

int tls_rng_init(char *err, size_t errlen)
{
	if (rng_ready)
		return 0;
	unsigned char probe[16];
	if (psa_crypto_init() != PSA_SUCCESS || tls_rng(NULL, probe, sizeof probe)) {
		snprintf(err, errlen, "TLS: cannot initialise the random generator (no entropy?)");
		return -1;
	}
	rng_ready = 1;
	return 0;
}

void tls_strerror(int r, char *buf, size_t len)
{
	/* no MBEDTLS_ERROR_C (size): the code, which mbedTLS's headers explain */
	snprintf(buf, len, "mbedTLS error -0x%04x", (unsigned)-r);
}

/* "SHA256:" + base64 (no padding) of the SHA-256 of the SubjectPublicKeyInfo DER. */
int tls_pk_fingerprint(mbedtls_pk_context *pk, char fp[TLS_FP_MAX])
{
	unsigned char der[512], hash[32], b64[64];
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
	if (n <= 0)
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

/* A private key: a regular file, ours alone (OpenSSH's rule for identity files). */
static int check_private(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		errno = EPERM;
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by you (uid %u); a private key must be "
		         "yours alone", path, (unsigned)st.st_uid, (unsigned)geteuid());
		errno = EPERM;
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: permissions %04o are too open; chmod 600 %s", path,
		         (unsigned)(st.st_mode & 07777), path);
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Read key.pem (private: checked as OpenSSH checks identity files) or cert.pem into
 * buf, NUL-terminated; returns the length + 1, as PEM parsers want the NUL counted.
 * Never through a symlink. mbedTLS's own file reader is not built in. */
int tls_read_pem(const char *path, int private, unsigned char *buf, size_t len, char *err,
                    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no %s; run 'dipus keygen' first", path,
			         private ? "key" : "certificate");
		else if (errno == ELOOP)
			snprintf(err, errlen, "%s: a symlink; it must be a file of its own", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (errno == ELOOP)
			errno = EPERM;
		return -1;
	}
	if (private && check_private(fd, path, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	ssize_t n = read_full(fd, buf, len);
	int e = errno;
	close(fd);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(e) : "too large");
		errno = n < 0 ? e : EFBIG;
		return -1;
	}
	buf[n] = 0;
	return (int)n + 1;
}

int tls_load_key(mbedtls_pk_context *pk, char *err, size_t errlen)
{
	char path[512];
	unsigned char pem[PEM_MAX];
	if (tls_rng_init(err, errlen) < 0 || tls_conf_path(path, sizeof path, KEY_FILE, err, errlen) < 0)
		return -1;
	int n = tls_read_pem(path, 1, pem, sizeof pem, err, errlen);
	if (n < 0)
		return -1;
	int r = mbedtls_pk_parse_key(pk, pem, n, NULL, 0, tls_rng, NULL);
	mbedtls_platform_zeroize(pem, sizeof pem);
	if (r || !mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY)) {
		char e[128];
		tls_strerror(r, e, sizeof e);
		snprintf(err, errlen, "%s: not a usable EC key (%s); 'dipus keygen -f' makes a new one",
		         path, r ? e : "wrong type");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int tls_key_fingerprint(char fp[TLS_FP_MAX], char *err, size_t errlen)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	int r = tls_load_key(&pk, err, errlen);
	if (r == 0 && tls_pk_fingerprint(&pk, fp) < 0) {
		snprintf(err, errlen, "cannot compute the key's fingerprint");
		errno = EINVAL;
		r = -1;
	}
	mbedtls_pk_free(&pk);
	return r;
}

/* Write a whole file under a temporary name, then move it into place: rename() when
 * replacing is allowed, link() otherwise (fails with EEXIST if the file appeared). */
static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode,
                      int replace, char *err, size_t errlen)
{
	char tmp[600];
	if (xsnprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid()) < 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (replace ? rename(tmp, path) < 0 : link(tmp, path) < 0) {
		int e = errno;
		if (e == EEXIST)
			snprintf(err, errlen, "%s: a key exists already; -f replaces it (peers that pinned "
			         "it will refuse the new one)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (!replace)
		unlink(tmp);
	return 0;
}

int tls_keygen(int force, char fp[TLS_FP_MAX], char *err, size_t errlen)
{
	char kpath[512], cpath[512];
	if (tls_rng_init(err, errlen) < 0 || tls_ensure_conf_dir(err, errlen) < 0 ||
	    tls_conf_path(kpath, sizeof kpath, KEY_FILE, err, errlen) < 0 ||
	    tls_conf_path(cpath, sizeof cpath, CERT_FILE, err, errlen) < 0)
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
		if (*p == ',' || *p == '=' || *p == '+' || *p == '\\' || *p == '"' || *p == ';' ||
		    (unsigned char)*p < 0x20)
			*p = '_';
	unsigned char serial[16];
	if ((r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) ||
	    (r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), tls_rng, NULL)) ||
	    (r = tls_rng(NULL, serial, sizeof serial)))
		goto out;
	serial[0] &= 0x7f;  /* a positive serial */
	serial[0] |= 0x01;  /* and a 16-byte one */
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
	/* the key first, linked into place without -f, so two keygens never mix a key with
	 * the other's certificate; tls_ctx_new checks that they belong together */
	if ((r = mbedtls_pk_write_key_pem(&pk, pem, PEM_MAX)))
		goto out;
	if (write_file(kpath, pem, strlen((char *)pem), 0600, force, err, errlen) < 0)
		goto done;
	memset(pem, 0, PEM_MAX);
	if ((r = mbedtls_x509write_crt_pem(&crt, pem, PEM_MAX, tls_rng, NULL)))
		goto out;
	if (write_file(cpath, pem, strlen((char *)pem), 0644, 1, err, errlen) < 0)
		goto done;
	if (tls_pk_fingerprint(&pk, fp) < 0) {
		snprintf(err, errlen, "cannot compute the key's fingerprint");
		goto done;
	}
	rc = 0;
	goto done;
out: {
	char e[128];
	tls_strerror(r, e, sizeof e);
	snprintf(err, errlen, "key generation failed: %s", e);
	errno = EIO;
}
done:
	mbedtls_platform_zeroize(pem, PEM_MAX);
	free(pem);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&pk);
	return rc;
}
