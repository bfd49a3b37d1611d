/* tls-chachapoly.c: ChaCha20-Poly1305 (RFC 8439 AEAD) for TLS records.
 *
 * Why: on CPUs without AES instructions SEP's TLS uses TLS_CHACHA20_POLY1305_SHA256
 * (core/tls-suites.c), and mbedTLS 3.6 computes it one 64-byte ChaCha20 block at a
 * time and Poly1305 with 32-bit limbs. Every TLS 1.3 record goes through its two
 * one-shot calls (from its PSA layer), which the link takes over (ld --wrap,
 * mk/deps.mk) as it does for GCM (core/tls-gcm.c). Here they run on the ChaCha20 and
 * Poly1305 the SSH client already has (core/ssh-chachapoly.c: several blocks at once
 * on vectors, 44-bit Poly1305 limbs where there is a 64-bit multiply).
 *
 * The key is read from mbedTLS's context (ChaCha20 state words 4-11, as
 * mbedtls_chacha20_setkey stores it). Poly1305 is one-shot there, so the MAC input
 * (AAD, padding, ciphertext, padding, lengths) is put together in a buffer of a
 * record's size: one copy of the record, a few per cent of the cost. What does not fit
 * (an AAD over 64 bytes, more than a record) and $DIPUS_CRYPTO=portable go to
 * mbedTLS's code. dipus runs one thread per process, so the buffer is static.
 * testsuite/unit/tls-chachapoly.c checks this against RFC 8439 and mbedTLS. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "tls-chachapoly.h"
#include "ssh-chachapoly.h"

#include "mbedtls/platform_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REC_MAX (16384 + 256)   /* a TLS 1.3 record's plaintext, type and padding */
#define AAD_MAX 64

static int portable = -1;

void tls_chachapoly_force_portable(int on)
{
	portable = on;
}

int tls_chachapoly_fast(void)
{
	if (portable < 0) {
		const char *e = getenv("DIPUS_CRYPTO");
		portable = e && !strcmp(e, "portable");
	}
	return !portable;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t mac_in[AAD_MAX + REC_MAX + 16 + 16];

/* tag over (aad, ct) with the one-time key of block 0; ct of length len */
static void aead_tag(const uint8_t key[32], uint64_t ctr_hi, const uint8_t *n8,
                     const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                     uint8_t tag[16])
{
	static const uint8_t zero[32];
	uint8_t pk[32];
	ssh_chacha20_xor(pk, zero, 32, key, ctr_hi, n8);
	size_t a = (aad_len + 15) & ~(size_t)15, c = (len + 15) & ~(size_t)15;
	memset(mac_in, 0, a + c);
	memcpy(mac_in, aad, aad_len);
	memcpy(mac_in + a, ct, len);
	le64(mac_in + a + c, aad_len);
	le64(mac_in + a + c + 8, len);
	ssh_poly1305(tag, mac_in, a + c + 16, pk);
	mbedtls_platform_zeroize(pk, sizeof pk);
}

/* 0 and the key when this call is ours, -1 to leave it to mbedTLS */
static int ours(const mbedtls_chachapoly_context *ctx, size_t length, size_t aad_len,
                uint8_t key[32])
{
	if (!tls_chachapoly_fast() || length > REC_MAX || aad_len > AAD_MAX)
		return -1;
	for (int i = 0; i < 8; i++)
		le32(key + 4 * i, ctx->chacha20_ctx.state[4 + i]);
	return 0;
}

/* RFC 8439's 32-bit block counter and 96-bit nonce as ssh_chacha20_xor's 64-bit
 * counter and 64-bit nonce: counter | nonce[0..3] << 32, nonce[4..11] (a record never
 * carries the 32-bit counter over) */
static uint64_t ctr_hi(const unsigned char nonce[12])
{
	return ((uint64_t)nonce[0] | (uint64_t)nonce[1] << 8 | (uint64_t)nonce[2] << 16 |
	        (uint64_t)nonce[3] << 24) << 32;
}

int __wrap_mbedtls_chachapoly_encrypt_and_tag(mbedtls_chachapoly_context *ctx, size_t length,
                                              const unsigned char nonce[12],
                                              const unsigned char *aad, size_t aad_len,
                                              const unsigned char *input, unsigned char *output,
                                              unsigned char tag[16])
{
	uint8_t key[32];
	if (ours(ctx, length, aad_len, key) < 0)
		return __real_mbedtls_chachapoly_encrypt_and_tag(ctx, length, nonce, aad, aad_len,
		                                                 input, output, tag);
	uint64_t hi = ctr_hi(nonce);
	ssh_chacha20_xor(output, input, length, key, hi | 1, nonce + 4);
	aead_tag(key, hi, nonce + 4, aad, aad_len, output, length, tag);
	mbedtls_platform_zeroize(key, sizeof key);
	return 0;
}

int __wrap_mbedtls_chachapoly_auth_decrypt(mbedtls_chachapoly_context *ctx, size_t length,
                                           const unsigned char nonce[12],
                                           const unsigned char *aad, size_t aad_len,
                                           const unsigned char tag[16],
                                           const unsigned char *input, unsigned char *output)
{
	uint8_t key[32], t[16], diff = 0;
	if (ours(ctx, length, aad_len, key) < 0)
		return __real_mbedtls_chachapoly_auth_decrypt(ctx, length, nonce, aad, aad_len, tag,
		                                              input, output);
	uint64_t hi = ctr_hi(nonce);
	aead_tag(key, hi, nonce + 4, aad, aad_len, input, length, t);
	for (int i = 0; i < 16; i++)    /* constant time, as mbedTLS's */
		diff |= t[i] ^ tag[i];
	if (diff) {
		mbedtls_platform_zeroize(key, sizeof key);
		mbedtls_platform_zeroize(output, length);
		return MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED;
	}
	ssh_chacha20_xor(output, input, length, key, hi | 1, nonce + 4);
	mbedtls_platform_zeroize(key, sizeof key);
	return 0;
}
