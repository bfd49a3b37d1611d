/* tls-gcm.c: AES-GCM for TLS records on x86_64 with AES-NI and PCLMULQDQ.
 *
 * Why: mbedTLS 3.6 runs GCM one 16-byte block per call, and multiplies and reduces in
 * GF(2^128) for every block; on the SEP bulk path that was 56% of the exporter's and
 * importer's CPU (doc/build.md). Every TLS 1.3 record goes through mbedTLS's two
 * one-shot calls, mbedtls_gcm_crypt_and_tag and mbedtls_gcm_auth_decrypt (from its PSA
 * layer). The link takes both over (ld --wrap, Makefile) and lands here: AES-CTR with
 * eight blocks in flight, and GHASH of eight blocks against H^8..H^1 with one
 * reduction (aggregated reduction, Gueron and Kounavis, "Intel Carry-Less
 * Multiplication Instruction and its Usage for Computing the GCM Mode").
 *
 * $DIPUS_CRYPTO=portable (read once) sends every call to mbedTLS's code, the path of
 * CPUs without these instructions, so that tests and benchmarks run it anywhere.
 * What this does not take (no AES-NI, PCLMULQDQ or SSSE3 at run time, an IV other
 * than 96 bits, a tag outside 4..16 bytes, a cipher other than AES, huge lengths) goes
 * to mbedTLS's own code unchanged, which also does its argument checks. The key
 * schedule is mbedTLS's: its AES context holds the FIPS-197 expansion in memory order,
 * in both its AES-NI and its table code, so the key never has to be seen here.
 * testsuite/unit/tls-gcm.c checks this against the GCM specification's vectors and
 * against mbedTLS's code on random inputs. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/aes.h"
#include "mbedtls/cipher.h"
#include "mbedtls/gcm.h"
#include "mbedtls/platform_util.h"

#include "tls.h"
#include "tls-gcm.h"

/* -1 unknown, 1 forced portable ($DIPUS_CRYPTO=portable or tls_gcm_force_portable) */
static int portable = -1;

#if defined(__x86_64__) && !defined(MBEDTLS_GCM_ALT) && !defined(MBEDTLS_BLOCK_CIPHER_C)
#define GCM_FAST 1
#include <cpuid.h>
#include <immintrin.h>

#define FAST __attribute__((target("aes,pclmul,ssse3")))

typedef struct {
	__m128i rk[15];     /* round keys 0..nr */
	int nr;
	__m128i h[8];       /* H^1..H^8, byte-reversed (the representation GHASH uses here) */
} gcm_keys;

static int cpu_ok(void)
{
	static int ok = -1;
	if (portable > 0)
		return 0;
	if (ok < 0) {
		unsigned a, b, c, d;
		ok = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL) &&
		     (c & bit_SSSE3);
	}
	return ok;
}

static FAST inline __m128i rev(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* acc += a*b, carry-less, unreduced: lo, mid (the two cross terms), hi */
static FAST inline void clmul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
	                                         _mm_clmulepi64_si128(a, b, 0x10)));
}

/* The 256-bit product of byte-reversed operands, reduced modulo the GCM polynomial:
 * one left shift (the operands' bits are reflected) and the two-phase reduction by
 * x^128 + x^7 + x^2 + x + 1. Both are linear, so a sum of products reduces at once. */
static FAST inline __m128i reduce(__m128i lo, __m128i mid, __m128i hi)
{
	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));

	__m128i clo = _mm_srli_epi32(lo, 31), chi = _mm_srli_epi32(hi, 31);
	__m128i across = _mm_srli_si128(clo, 12);
	lo = _mm_or_si128(_mm_slli_epi32(lo, 1), _mm_slli_si128(clo, 4));
	hi = _mm_or_si128(_mm_or_si128(_mm_slli_epi32(hi, 1), _mm_slli_si128(chi, 4)), across);

	__m128i a = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
	                          _mm_slli_epi32(lo, 25));
	__m128i b = _mm_srli_si128(a, 4);
	lo = _mm_xor_si128(lo, _mm_slli_si128(a, 12));
	__m128i c = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)),
	                          _mm_xor_si128(_mm_srli_epi32(lo, 7), b));
	return _mm_xor_si128(hi, _mm_xor_si128(lo, c));
}

static FAST inline __m128i gfmul(__m128i a, __m128i b)
{
	__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
	clmul_acc(a, b, &lo, &mid, &hi);
	return reduce(lo, mid, hi);
}

static FAST inline __m128i aes_block(const gcm_keys *k, __m128i x)
{
	x = _mm_xor_si128(x, k->rk[0]);
	for (int r = 1; r < k->nr; r++)
		x = _mm_aesenc_si128(x, k->rk[r]);
	return _mm_aesenclast_si128(x, k->rk[k->nr]);
}

/* The round keys from mbedTLS's AES context, H = E(0) and its powers. 0, or -1 when
 * the context is not AES (mbedTLS's code then does the call). */
static FAST int keys_load(const mbedtls_gcm_context *ctx, gcm_keys *k)
{
	const mbedtls_cipher_info_t *info = ctx->cipher_ctx.cipher_info;
	if (!info || !ctx->cipher_ctx.cipher_ctx)
		return -1;
	switch (mbedtls_cipher_info_get_type(info)) {
	case MBEDTLS_CIPHER_AES_128_ECB: case MBEDTLS_CIPHER_AES_192_ECB:
	case MBEDTLS_CIPHER_AES_256_ECB:
		break;
	default:
		return -1;
	}
	const mbedtls_aes_context *aes = ctx->cipher_ctx.cipher_ctx;
	if (aes->nr != 10 && aes->nr != 12 && aes->nr != 14)
		return -1;
	k->nr = aes->nr;
	const unsigned char *rk = (const unsigned char *)(aes->buf + aes->rk_offset);
	for (int r = 0; r <= k->nr; r++)
		k->rk[r] = _mm_loadu_si128((const __m128i *)(rk + 16 * r));
	k->h[0] = rev(aes_block(k, _mm_setzero_si128()));
	for (int i = 1; i < 8; i++)
		k->h[i] = gfmul(k->h[i - 1], k->h[0]);
	return 0;
}

/* y = (y + x) * H for one block of up to 16 bytes (zero-padded) */
static FAST inline __m128i ghash_tail(const gcm_keys *k, __m128i y, const unsigned char *p, size_t n)
{
	unsigned char blk[16] = { 0 };
	memcpy(blk, p, n);
	return gfmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)blk))), k->h[0]);
}

/* GCM with a 96-bit IV: out = in XOR keystream, tag over the ciphertext (which is the
 * output when encrypting, the input when decrypting). in and out may be the same. */
static FAST void gcm_run(const gcm_keys *k, int encrypt, const unsigned char iv[12],
                         const unsigned char *add, size_t add_len,
                         const unsigned char *in, unsigned char *out, size_t len,
                         unsigned char tag[16])
{
	unsigned char j0b[16];
	memcpy(j0b, iv, 12);
	j0b[12] = j0b[13] = j0b[14] = 0;
	j0b[15] = 1;
	__m128i j0 = _mm_loadu_si128((const __m128i *)j0b);
	__m128i ctr = rev(j0);          /* the 32-bit counter now in lane 0, little-endian */
	const __m128i one = _mm_set_epi32(0, 0, 0, 1);
	__m128i y = _mm_setzero_si128();
	const uint64_t abits = (uint64_t)add_len * 8, cbits = (uint64_t)len * 8;

	for (; add_len >= 16; add_len -= 16, add += 16)
		y = gfmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)add))), k->h[0]);
	if (add_len)
		y = ghash_tail(k, y, add, add_len);

	/* eight blocks in flight: the unrolled loops keep them in registers, so the AES
	 * rounds of the eight overlap, and so do the eight carry-less multiplies */
	for (; len >= 128; len -= 128, in += 128, out += 128) {
		__m128i s[8], c[8];
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			ctr = _mm_add_epi32(ctr, one);
			s[i] = _mm_xor_si128(rev(ctr), k->rk[0]);
		}
		for (int r = 1; r < k->nr; r++) {
			__m128i rk = k->rk[r];
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				s[i] = _mm_aesenc_si128(s[i], rk);
		}
		__m128i last = k->rk[k->nr];
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			__m128i x = _mm_loadu_si128((const __m128i *)(in + 16 * i));
			__m128i o = _mm_xor_si128(x, _mm_aesenclast_si128(s[i], last));
			c[i] = encrypt ? o : x;
			_mm_storeu_si128((__m128i *)(out + 16 * i), o);
		}
		__m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;
		c[0] = _mm_xor_si128(rev(c[0]), y);
		clmul_acc(c[0], k->h[7], &lo, &mid, &hi);
#pragma GCC unroll 8
		for (int i = 1; i < 8; i++)
			clmul_acc(rev(c[i]), k->h[7 - i], &lo, &mid, &hi);
		y = reduce(lo, mid, hi);
	}
	for (; len; ) {
		size_t n = len < 16 ? len : 16;
		ctr = _mm_add_epi32(ctr, one);
		__m128i ks = aes_block(k, rev(ctr));
		unsigned char kb[16], cb[16] = { 0 };
		_mm_storeu_si128((__m128i *)kb, ks);
		for (size_t i = 0; i < n; i++) {
			unsigned char x = in[i], o = x ^ kb[i];
			cb[i] = encrypt ? o : x;
			out[i] = o;
		}
		y = gfmul(_mm_xor_si128(y, rev(_mm_loadu_si128((const __m128i *)cb))), k->h[0]);
		in += n, out += n, len -= n;
	}

	/* the lengths block: bits of AAD and of ciphertext, 64-bit big-endian each; in the
	 * byte-reversed representation that is cbits in the low lane, abits in the high */
	y = gfmul(_mm_xor_si128(y, _mm_set_epi64x((long long)abits, (long long)cbits)), k->h[0]);
	_mm_storeu_si128((__m128i *)tag, _mm_xor_si128(rev(y), aes_block(k, j0)));
}

/* 0 when the call is one this file does (96-bit IV, a 4..16-byte tag, a length GCM
 * allows, an AES key), with the keys loaded; -1 to leave it to mbedTLS. */
static int fast_ok(const mbedtls_gcm_context *ctx, size_t length, size_t iv_len,
                   size_t tag_len, gcm_keys *k)
{
	if (!tls_gcm_fast() || iv_len != 12 || tag_len < 4 || tag_len > 16 ||
	    (uint64_t)length > (((uint64_t)1 << 36) - 64))
		return -1;
	return keys_load(ctx, k);
}
#endif /* GCM_FAST */

void tls_gcm_force_portable(int on)
{
	portable = on;
}

int tls_gcm_fast(void)
{
	if (portable < 0) {
		const char *e = getenv("DIPUS_CRYPTO");
		portable = e && !strcmp(e, "portable");
	}
#ifdef GCM_FAST
	return cpu_ok();
#else
	return 0;
#endif
}

int __wrap_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context *ctx, int mode, size_t length,
                                     const unsigned char *iv, size_t iv_len,
                                     const unsigned char *add, size_t add_len,
                                     const unsigned char *input, unsigned char *output,
                                     size_t tag_len, unsigned char *tag)
{
#ifdef GCM_FAST
	gcm_keys k;
	if ((mode == MBEDTLS_GCM_ENCRYPT || mode == MBEDTLS_GCM_DECRYPT) &&
	    fast_ok(ctx, length, iv_len, tag_len, &k) == 0) {
		unsigned char t[16];
		gcm_run(&k, mode == MBEDTLS_GCM_ENCRYPT, iv, add, add_len, input, output, length, t);
		memcpy(tag, t, tag_len);
		mbedtls_platform_zeroize(&k, sizeof k);
		return 0;
	}
#endif
	return __real_mbedtls_gcm_crypt_and_tag(ctx, mode, length, iv, iv_len, add, add_len,
	                                        input, output, tag_len, tag);
}

int __wrap_mbedtls_gcm_auth_decrypt(mbedtls_gcm_context *ctx, size_t length,
                                    const unsigned char *iv, size_t iv_len,
                                    const unsigned char *add, size_t add_len,
                                    const unsigned char *tag, size_t tag_len,
                                    const unsigned char *input, unsigned char *output)
{
#ifdef GCM_FAST
	gcm_keys k;
	if (fast_ok(ctx, length, iv_len, tag_len, &k) == 0) {
		unsigned char t[16], diff = 0;
		gcm_run(&k, 0, iv, add, add_len, input, output, length, t);
		mbedtls_platform_zeroize(&k, sizeof k);
		for (size_t i = 0; i < tag_len; i++)    /* constant time, as mbedTLS's */
			diff |= t[i] ^ tag[i];
		if (diff) {
			mbedtls_platform_zeroize(output, length);
			return MBEDTLS_ERR_GCM_AUTH_FAILED;
		}
		return 0;
	}
#endif
	return __real_mbedtls_gcm_auth_decrypt(ctx, length, iv, iv_len, add, add_len, tag,
	                                       tag_len, input, output);
}
