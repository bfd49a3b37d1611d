/* ssh-key.c: private keys for dbclient, which reads only dropbear's format: which files
 * are in it, and OpenSSH ed25519 keys converted into it in memory (a memfd, never a
 * file). Part of the SSH transport (ssh-int.h). */
#include "ssh-int.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is this a private key file dbclient can read (dropbear's own format)? OpenSSH and
 * PEM files start with "-----BEGIN"; dropbear's with a 4-byte length of "ssh-..." or
 * "ecdsa-...". */
int ssh_key_is_dropbear(const char *path, int *openssh)
{
	*openssh = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	struct stat st;
	unsigned char b[16];
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, b, sizeof b) : -1;
	close(fd);
	if (n < 11)
		return 0;
	if (!memcmp(b, "-----BEGIN", 10)) {
		*openssh = 1;
		return 0;
	}
	unsigned len = (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3];
	return len > 0 && len < 64 && (!memcmp(b + 4, "ssh-", 4) || !memcmp(b + 4, "ecdsa-", 6));
}


/* ---- OpenSSH ed25519 keys for dbclient ------------------------------------------
 * dbclient reads private keys only in dropbear's format. An unencrypted OpenSSH
 * ed25519 key ("openssh-key-v1", cipher "none") carries the same 64 bytes dropbear
 * wants (seed and public key), so it is rewritten in memory into dropbear's format
 * ("ssh-ed25519" string, then the 64 bytes as a string) in a memfd, which the child
 * reads as /proc/self/fd/N. Nothing is written to disk. Other OpenSSH keys (RSA,
 * ECDSA, encrypted ones) are not converted: doc/ssh.md. */

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z') return ch - 'A';
	if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9') return ch - '0' + 52;
	if (ch == '+') return 62;
	if (ch == '/') return 63;
	return -1;
}

struct rd { const unsigned char *p; size_t left; };

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int rd_str(struct rd *r, const unsigned char **s, uint32_t *len)
{
	if (rd_u32(r, len) < 0 || *len > r->left)
		return -1;
	*s = r->p;
	r->p += *len;
	r->left -= *len;
	return 0;
}

static int str_is(const unsigned char *s, uint32_t len, const char *want)
{
	return len == strlen(want) && !memcmp(s, want, len);
}

/* 1: converted into out[83]; 0: not an unencrypted OpenSSH ed25519 key; sets *why for
 * an OpenSSH key that cannot be used. */
static int openssh_ed25519(const char *path, unsigned char out[83], const char **why)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char end[] = "-----END OPENSSH PRIVATE KEY-----";
	char text[8192];
	unsigned char bin[6144];
	int ok = 0;
	*why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read_full(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	char *b = strstr(text, begin), *e = b ? strstr(b, end) : NULL;
	if (!b || !e)
		goto out;
	size_t nb = 0;
	unsigned acc = 0;
	int bits = 0;
	for (char *q = b + sizeof begin - 1; q < e; q++) {
		int v = b64val((unsigned char)*q);
		if (v < 0)
			continue;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (nb >= sizeof bin)
				goto out;
			bin[nb++] = (unsigned char)(acc >> bits);
		}
	}
	static const char magic[] = "openssh-key-v1";
	if (nb < sizeof magic || memcmp(bin, magic, sizeof magic))
		goto out;
	struct rd r = { bin + sizeof magic, nb - sizeof magic };
	const unsigned char *cipher, *kdf, *kdfopt, *pub, *priv, *type, *kpub, *kpriv;
	uint32_t lc, lk, lo, nkeys, lp, lpr, lt, lkp, lkpr, c1, c2;
	if (rd_str(&r, &cipher, &lc) < 0 || rd_str(&r, &kdf, &lk) < 0 ||
	    rd_str(&r, &kdfopt, &lo) < 0 || rd_u32(&r, &nkeys) < 0 || nkeys != 1 ||
	    rd_str(&r, &pub, &lp) < 0 || rd_str(&r, &priv, &lpr) < 0)
		goto out;
	if (!str_is(cipher, lc, "none")) {
		*why = "encrypted with a passphrase, which dipus cannot ask for";
		goto out;
	}
	struct rd pr = { priv, lpr };
	if (rd_u32(&pr, &c1) < 0 || rd_u32(&pr, &c2) < 0 || c1 != c2 ||
	    rd_str(&pr, &type, &lt) < 0)
		goto out;
	if (!str_is(type, lt, "ssh-ed25519")) {
		*why = "not ed25519 (only OpenSSH ed25519 keys are converted for dbclient)";
		goto out;
	}
	if (rd_str(&pr, &kpub, &lkp) < 0 || lkp != 32 || rd_str(&pr, &kpriv, &lkpr) < 0 ||
	    lkpr != 64 || memcmp(kpriv + 32, kpub, 32))
		goto out;
	static const unsigned char hdr[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
	                                     '5', '5', '1', '9', 0, 0, 0, 64 };
	memcpy(out, hdr, sizeof hdr);
	memcpy(out + sizeof hdr, kpriv, 64);
	ok = 1;
out:
	explicit_bzero(text, sizeof text);
	explicit_bzero(bin, sizeof bin);
	return ok;
}

/* A memfd holding path's key in dropbear's format, or -1 (not convertible). */
int ssh_key_memfd(const char *path)
{
	unsigned char key[83];
	const char *why;
	if (!openssh_ed25519(path, key, &why)) {
		if (why)
			msg_debug("%s: %s", path, why);
		return -1;
	}
	int fd = memfd_create("dipus-ssh-key", MFD_CLOEXEC);
	if (fd >= 0 && write_all(fd, key, sizeof key) != (ssize_t)sizeof key) {
		close(fd);
		fd = -1;
	}
	explicit_bzero(key, sizeof key);
	return fd;
}
