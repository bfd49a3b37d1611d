/* tls-chachapoly.c: the ChaCha20-Poly1305 that TLS records use (core/tls-chachapoly.c,
 * reached through the link's --wrap of mbedTLS's one-shot calls).
 *
 * RFC 8439 section 2.8.2's AEAD vector, also through mbedTLS's own code (__real_...),
 * so a wrong vector cannot pass; then against mbedTLS's code on random keys, nonces,
 * AAD and every length from 0 to 700 bytes and record sizes, both directions, in
 * place, forged tags, ciphertexts and AAD (refused, output wiped), and calls left to
 * mbedTLS (over a record). Twice: through the fast path, and forced to the portable
 * one (mbedTLS's code, $DIPUS_CRYPTO=portable). */
#include "tls-chachapoly.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path = "";   /* fast or portable: a prefix of every name */
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

static mbedtls_chachapoly_context *keyed(const unsigned char key[32])
{
	static mbedtls_chachapoly_context ctx;
	mbedtls_chachapoly_free(&ctx);
	mbedtls_chachapoly_init(&ctx);
	if (mbedtls_chachapoly_setkey(&ctx, key) != 0) {
		printf("FAIL: setkey\n");
		exit(1);
	}
	return &ctx;
}

static void rfc_vector(void)
{
	static const char text[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
	                           "tip for the future, sunscreen would be it.";
	unsigned char key[32], nonce[12], aad[12], want[114], wtag[16], out[114], tag[16];
	unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key);
	unhex("070000004041424344454647", nonce);
	unhex("50515253c0c1c2c3c4c5c6c7", aad);
	unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	      "3ff4def08e4b7a9de576d26586cec64b6116", want);
	unhex("1ae10b594f09e26a7e902ecbd0600691", wtag);
	const unsigned char *p = (const unsigned char *)text;
	mbedtls_chachapoly_context *ctx = keyed(key);

	int rc = __real_mbedtls_chachapoly_encrypt_and_tag(ctx, 114, nonce, aad, 12, p, out, tag);
	CHECK(rc == 0 && !memcmp(out, want, 114) && !memcmp(tag, wtag, 16),
	      "RFC 8439 2.8.2: mbedTLS's own code gives the RFC's result", "rc %d", rc);
	memset(out, 0, sizeof out);
	rc = mbedtls_chachapoly_encrypt_and_tag(ctx, 114, nonce, aad, 12, p, out, tag);
	CHECK(rc == 0 && !memcmp(out, want, 114) && !memcmp(tag, wtag, 16),
	      "RFC 8439 2.8.2: encrypt", "rc %d", rc);
	memset(out, 0xa5, sizeof out);
	rc = mbedtls_chachapoly_auth_decrypt(ctx, 114, nonce, aad, 12, wtag, want, out);
	CHECK(rc == 0 && !memcmp(out, p, 114), "RFC 8439 2.8.2: decrypt and verify", "rc %d", rc);
}

static uint64_t seed = 0x2545f4914f6cdd1du;
static void rnd(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		p[i] = (unsigned char)(seed >> 24);
	}
}

#define MAXLEN 16700

static void against_mbedtls(void)
{
	static unsigned char p[MAXLEN], c1[MAXLEN], c2[MAXLEN], d[MAXLEN];
	static const size_t big[] = { 1024, 4093, 16384, 16385, 16640, 16641, MAXLEN };
	unsigned char key[32], nonce[12], a[80], t1[16], t2[16];
	int bad_enc = 0, bad_dec = 0, bad_inplace = 0, bad_forged = 0, runs = 0;
	char what[200] = "";

	for (size_t n = 0; n < 700 + sizeof big / sizeof big[0]; n++) {
		size_t len = n < 700 ? n : big[n - 700];
		size_t al = n < 700 ? (n * 7) % 41 : (n % 2 ? 5 : 70);   /* 70: over 64, mbedTLS's */
		rnd(key, 32), rnd(nonce, 12), rnd(a, al), rnd(p, len);
		if (n % 11 == 0)
			memset(nonce, 0xff, 4);   /* the counter-high word all ones */
		mbedtls_chachapoly_context *ctx = keyed(key);
		runs++;
		__real_mbedtls_chachapoly_encrypt_and_tag(ctx, len, nonce, a, al, p, c1, t1);
		int rc = mbedtls_chachapoly_encrypt_and_tag(ctx, len, nonce, a, al, p, c2, t2);
		if (rc || memcmp(c1, c2, len) || memcmp(t1, t2, 16))
			if (!bad_enc++)
				snprintf(what, sizeof what, "encrypt: %zu bytes, %zu AAD", len, al);
		rc = mbedtls_chachapoly_auth_decrypt(ctx, len, nonce, a, al, t1, c1, d);
		if (rc || memcmp(d, p, len))
			if (!bad_dec++)
				snprintf(what, sizeof what, "decrypt: %zu bytes, rc %d", len, rc);
		memcpy(d, p, len);
		rc = mbedtls_chachapoly_encrypt_and_tag(ctx, len, nonce, a, al, d, d, t2);
		if (rc || memcmp(d, c1, len) || memcmp(t2, t1, 16) ||
		    mbedtls_chachapoly_auth_decrypt(ctx, len, nonce, a, al, t1, d, d) || memcmp(d, p, len))
			if (!bad_inplace++)
				snprintf(what, sizeof what, "in place: %zu bytes", len);
		unsigned char ft[16];
		memcpy(ft, t1, 16);
		memcpy(c2, c1, len);
		if (n % 3 == 0 || len == 0)
			ft[n % 16] ^= 1;
		else if (n % 3 == 1)
			c2[n % len] ^= 0x80;
		else if (al)
			a[n % al] ^= 4;
		else
			ft[0] ^= 0x40;
		memset(d, 0x5a, len);
		rc = mbedtls_chachapoly_auth_decrypt(ctx, len, nonce, a, al, ft, c2, d);
		size_t nz = 0;
		for (size_t i = 0; i < len; i++)
			nz += d[i] != 0;
		if (rc != MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED || nz)
			if (!bad_forged++)
				snprintf(what, sizeof what, "forged: %zu bytes, rc %d", len, rc);
	}
	char name[160];
	snprintf(name, sizeof name, "encryption equals mbedTLS's on %d random cases (0..700 bytes, "
	         "records and over, AAD 0..70)", runs);
	CHECK(!bad_enc, name, "%d differ; first %s", bad_enc, what);
	CHECK(!bad_dec, "decryption of mbedTLS's ciphertexts gives the plaintext", "%d; %s", bad_dec, what);
	CHECK(!bad_inplace, "in place (input == output) both ways", "%d; %s", bad_inplace, what);
	CHECK(!bad_forged, "a forged tag, ciphertext or AAD is refused and the output wiped",
	      "%d accepted; first %s", bad_forged, what);
}

int main(void)
{
	CHECK((void *)mbedtls_chachapoly_encrypt_and_tag != (void *)__real_mbedtls_chachapoly_encrypt_and_tag &&
	      (void *)mbedtls_chachapoly_auth_decrypt != (void *)__real_mbedtls_chachapoly_auth_decrypt,
	      "mbedTLS's one-shot ChaCha20-Poly1305 calls are routed to core/tls-chachapoly.c",
	      "not wrapped");
	tls_chachapoly_force_portable(0);
	path = "fast: ";
	CHECK(tls_chachapoly_fast(), "core/tls-chachapoly.c does the records", "it does not");
	rfc_vector();
	against_mbedtls();
	tls_chachapoly_force_portable(1);
	path = "portable: ";
	CHECK(!tls_chachapoly_fast(), "forced: mbedTLS's code does every call", "the fast path is on");
	rfc_vector();
	against_mbedtls();
	return check_status();
}
