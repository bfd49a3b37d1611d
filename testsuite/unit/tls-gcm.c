/* tls-gcm.c: the AES-GCM that TLS records use (core/tls-gcm.c, reached through the
 * link's --wrap of mbedTLS's one-shot GCM calls).
 *
 * Against the GCM specification's test cases (McGrew and Viega, cases 2, 3, 4, 16),
 * each also through mbedTLS's own code (__real_...), so a wrong vector here cannot
 * pass; then against mbedTLS's code on random keys, IVs, AAD and every length from 0
 * to 700 bytes and some record sizes, both directions, in place, short tags, a
 * non-96-bit IV (left to mbedTLS), and forged tags and ciphertexts (refused, output
 * wiped). All of it twice where the CPU has the fast path: once through it, once
 * forced to the portable one (mbedTLS's C GCM, what CPUs without AES-NI run), which is
 * all that runs elsewhere: its results are still held to the spec's vectors. */
#include "tls.h"
#include "tls-gcm.h"

#include "mbedtls/gcm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path = "";   /* which GCM is under test, a prefix of every name */
#define CHECK_PREFIX path
#include "check.h"

static size_t unhex(const char *h, unsigned char *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static const char *hex(const unsigned char *p, size_t n)
{
	static char bufs[2][2 * 128 + 1];
	static int which;
	char *buf = bufs[which ^= 1];    /* two in one printf */
	if (n > 128)
		n = 128;
	for (size_t i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
	buf[2 * n] = 0;
	return buf;
}

static mbedtls_gcm_context *keyed(const unsigned char *key, unsigned bits)
{
	static mbedtls_gcm_context ctx;
	mbedtls_gcm_free(&ctx);
	mbedtls_gcm_init(&ctx);
	if (mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, bits) != 0) {
		printf("FAIL: setkey %u\n", bits);
		exit(1);
	}
	return &ctx;
}

struct vec {
	const char *name, *k, *iv, *a, *p, *c, *t;
};

static const char P64[] =
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
static const char P60[] =
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char A20[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const struct vec vecs[] = {
	{ "spec case 2 (AES-128, one zero block)", "00000000000000000000000000000000",
	  "000000000000000000000000", "", "00000000000000000000000000000000",
	  "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "spec case 3 (AES-128, 64 bytes)", "feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "", P64,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "spec case 4 (AES-128, AAD, 60 bytes)", "feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", A20, P60,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
	{ "spec case 16 (AES-256, AAD, 60 bytes)",
	  "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", A20, P60,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void spec_vectors(void)
{
	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
		const struct vec *v = &vecs[i];
		unsigned char k[32], iv[12], a[32], p[64], c[64], t[16], out[64], tag[16], rt[16];
		size_t kl = unhex(v->k, k), al = unhex(v->a, a), pl = unhex(v->p, p);
		unhex(v->iv, iv), unhex(v->c, c), unhex(v->t, t);
		char name[160];
		mbedtls_gcm_context *ctx = keyed(k, (unsigned)kl * 8);

		int rc = __real_mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, pl, iv, 12, a,
		                                          al, p, out, 16, rt);
		snprintf(name, sizeof name, "%s: mbedTLS's own code gives the spec's result", v->name);
		CHECK(rc == 0 && !memcmp(out, c, pl) && !memcmp(rt, t, 16), name, "tag %s", hex(rt, 16));

		rc = mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, pl, iv, 12, a, al, p, out,
		                               16, tag);
		snprintf(name, sizeof name, "%s: encrypt", v->name);
		CHECK(rc == 0 && !memcmp(out, c, pl) && !memcmp(tag, t, 16), name,
		      "rc %d ciphertext %s tag %s", rc, hex(out, pl), hex(tag, 16));

		memset(out, 0xa5, sizeof out);
		rc = mbedtls_gcm_auth_decrypt(ctx, pl, iv, 12, a, al, t, 16, c, out);
		snprintf(name, sizeof name, "%s: decrypt and verify", v->name);
		CHECK(rc == 0 && !memcmp(out, p, pl), name, "rc %d", rc);
	}
}

static uint64_t seed = 0x9e3779b97f4a7c15u;
static void rnd(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		p[i] = (unsigned char)(seed >> 24);
	}
}

#define MAXLEN 16400

static void against_mbedtls(void)
{
	static unsigned char p[MAXLEN], c1[MAXLEN], c2[MAXLEN], d[MAXLEN];
	static const unsigned bits[] = { 128, 192, 256 };
	static const size_t big[] = { 1024, 1040, 4093, 16384, 16385, MAXLEN };
	unsigned char key[32], iv[16], a[48], t1[16], t2[16];
	int bad_enc = 0, bad_dec = 0, bad_inplace = 0, bad_forged = 0, runs = 0;
	char what[200] = "";

	for (unsigned b = 0; b < 3; b++) {
		for (size_t n = 0; n < 700 + sizeof big / sizeof big[0]; n++) {
			size_t len = n < 700 ? n : big[n - 700];
			size_t al = (n * 7) % 41, tl = n % 5 == 0 ? 12 : 16;
			rnd(key, sizeof key), rnd(iv, 12), rnd(a, al), rnd(p, len);
			mbedtls_gcm_context *ctx = keyed(key, bits[b]);
			runs++;

			__real_mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, len, iv, 12, a, al,
			                                 p, c1, tl, t1);
			int rc = mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, len, iv, 12, a, al,
			                                   p, c2, tl, t2);
			if (rc || memcmp(c1, c2, len) || memcmp(t1, t2, tl)) {
				if (!bad_enc++)
					snprintf(what, sizeof what, "encrypt: %u-bit key, %zu bytes, %zu AAD",
					         bits[b], len, al);
			}
			rc = mbedtls_gcm_auth_decrypt(ctx, len, iv, 12, a, al, t1, tl, c1, d);
			if (rc || memcmp(d, p, len)) {
				if (!bad_dec++)
					snprintf(what, sizeof what, "decrypt: %u-bit key, %zu bytes", bits[b], len);
			}
			/* in place, as TLS does it */
			memcpy(d, p, len);
			rc = mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, len, iv, 12, a, al, d, d,
			                               tl, t2);
			if (rc || memcmp(d, c1, len) || memcmp(t2, t1, tl) ||
			    mbedtls_gcm_auth_decrypt(ctx, len, iv, 12, a, al, t1, tl, d, d) ||
			    memcmp(d, p, len)) {
				if (!bad_inplace++)
					snprintf(what, sizeof what, "in place: %zu bytes", len);
			}
			/* forged: one bit of the tag, of the ciphertext, or of the AAD */
			unsigned char ft[16];
			memcpy(ft, t1, 16);
			memcpy(c2, c1, len);
			if (n % 3 == 0 || len == 0)
				ft[n % tl] ^= 1;
			else if (n % 3 == 1)
				c2[n % len] ^= 0x80;
			else if (al)
				a[n % al] ^= 4;
			else
				ft[0] ^= 0x40;
			memset(d, 0x5a, len);
			rc = mbedtls_gcm_auth_decrypt(ctx, len, iv, 12, a, al, ft, tl, c2, d);
			size_t nz = 0;
			for (size_t i = 0; i < len; i++)
				nz += d[i] != 0;
			if (rc != MBEDTLS_ERR_GCM_AUTH_FAILED || nz) {
				if (!bad_forged++)
					snprintf(what, sizeof what, "forged: %zu bytes, rc %d", len, rc);
			}
		}
	}
	char name[120];
	snprintf(name, sizeof name, "encryption equals mbedTLS's on %d random cases "
	         "(0..700 bytes, records, 128/192/256-bit keys)", runs);
	CHECK(!bad_enc, name, "%d differ; first %s", bad_enc, what);
	CHECK(!bad_dec, "decryption of mbedTLS's ciphertexts gives the plaintext",
	      "%d wrong; first %s", bad_dec, what);
	CHECK(!bad_inplace, "in place (input == output) both ways", "%d wrong; %s", bad_inplace, what);
	CHECK(!bad_forged, "a forged tag, ciphertext or AAD is refused and the output wiped",
	      "%d accepted; first %s", bad_forged, what);

	/* an IV other than 96 bits is mbedTLS's: results still agree */
	rnd(iv, 16), rnd(p, 100);
	mbedtls_gcm_context *ctx = keyed(key, 128);
	__real_mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, 100, iv, 16, a, 5, p, c1, 16, t1);
	int rc = mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, 100, iv, 16, a, 5, p, c2, 16, t2);
	CHECK(rc == 0 && !memcmp(c1, c2, 100) && !memcmp(t1, t2, 16), "a 128-bit IV (mbedTLS's path)",
	      "rc %d", rc);
	/* a tag length GCM does not allow is refused, as by mbedTLS */
	rc = mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, 100, iv, 12, a, 5, p, c2, 3, t2);
	CHECK(rc == MBEDTLS_ERR_GCM_BAD_INPUT, "a 3-byte tag is refused", "rc %d", rc);
}

int main(void)
{
	/* the link must have routed mbedTLS's calls here (ld --wrap), or all below would
	 * only test mbedTLS against itself */
	CHECK((void *)mbedtls_gcm_crypt_and_tag != (void *)__real_mbedtls_gcm_crypt_and_tag &&
	      (void *)mbedtls_gcm_auth_decrypt != (void *)__real_mbedtls_gcm_auth_decrypt,
	      "mbedTLS's one-shot GCM calls are routed to core/tls-gcm.c", "not wrapped");
	tls_gcm_force_portable(0);
	if (tls_gcm_fast()) {
		path = "fast: ";
		printf("PASS: the eight-block AES-NI/PCLMULQDQ GCM is in use on this CPU\n");
		spec_vectors();
		against_mbedtls();
	} else {
		fprintf(stderr, "tls-gcm: no AES-NI/PCLMULQDQ here (or not x86_64): the portable "
		        "path only\n");
	}
	tls_gcm_force_portable(1);
	path = "portable: ";
	CHECK(!tls_gcm_fast(), "forced: mbedTLS's GCM does every call", "the fast path is on");
	spec_vectors();
	against_mbedtls();
	return check_status();
}
