/* ssh-chachapoly.c: ChaCha20 and Poly1305 (RFC 8439) for the embedded dbclient.
 *
 * dropbear's libtomcrypt computes ChaCha20 one 64-byte block at a time and Poly1305
 * with 26-bit limbs, in portable C: the dbclient applet spent most of a core on them
 * and capped SSH bulk transfers at about half of OpenSSH's rate. Here ChaCha20 runs
 * four blocks at once on 128-bit vectors (GCC/clang vector extensions: SSE2 on x86_64,
 * NEON on arm; other targets get scalar code from the same source), eight at once on
 * x86_64 CPUs with AVX2 (chosen at run time), and Poly1305 uses 44-bit limbs with
 * 64x64->128-bit products where the compiler has unsigned __int128. Built at -O2
 * (mk/deps.mk).
 * The portable forms stay as the fallback (and as the unit test's second opinion).
 * Nothing here is secret-dependent in timing: no table lookups, no branches on data.
 *
 * Linked twice: into libdipus (for testsuite/unit/ssh-chachapoly.c) and, with every
 * symbol made local, into the dbclient partial link (mk/deps.mk). */
#include "ssh-chachapoly.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
#endif

/* little-endian loads and stores; memcpy so that they compile to one move (and are
 * inlined even at -Os: as byte-wise calls they took a tenth of Poly1305's time) */
static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#elif !defined(__BYTE_ORDER__)
	v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
	return v;
}

static inline void st32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
#elif defined(__BYTE_ORDER__)
	memcpy(p, &v, 4);
#else
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
#endif
}

/* ---- ChaCha20 ---- */

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define ROT16(v) ROTL(v, 16)   /* redefined for AVX2 below */
#define ROT8(v) ROTL(v, 8)
#define QR(a, b, c, d) \
	a += b; d ^= a; d = ROT16(d); \
	c += d; b ^= c; b = ROTL(b, 12); \
	a += b; d ^= a; d = ROT8(d); \
	c += d; b ^= c; b = ROTL(b, 7)
#define DOUBLE_ROUND(x) \
	QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]); \
	QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]); \
	QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]); \
	QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14])

static void chacha_init(uint32_t s[16], const uint8_t key[32], uint64_t counter, const uint8_t nonce[8])
{
	s[0] = 0x61707865; /* "expand 32-byte k" */
	s[1] = 0x3320646e;
	s[2] = 0x79622d32;
	s[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		s[4 + i] = ld32(key + 4 * i);
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	s[14] = ld32(nonce);
	s[15] = ld32(nonce + 4);
}

/* one block of keystream XORed into out; n <= 64 bytes; advances the counter */
static void chacha_block_xor(uint32_t s[16], uint8_t *out, const uint8_t *in, size_t n)
{
	uint32_t x[16];
	uint8_t ks[64];
	memcpy(x, s, sizeof x);
	for (int i = 0; i < 10; i++) {
		DOUBLE_ROUND(x);
	}
	for (int i = 0; i < 16; i++)
		st32(ks + 4 * i, x[i] + s[i]);
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] ^ ks[i];
	if (++s[12] == 0)
		s[13]++;
}

void ssh_chacha20_xor_scalar(uint8_t *out, const uint8_t *in, size_t len,
                             const uint8_t key[32], uint64_t counter, const uint8_t nonce[8])
{
	uint32_t s[16];
	chacha_init(s, key, counter, nonce);
	for (; len; ) {
		size_t n = len < 64 ? len : 64;
		chacha_block_xor(s, out, in, n);
		out += n, in += n, len -= n;
	}
}

#if defined(__GNUC__)
typedef uint32_t v4u32 __attribute__((vector_size(16)));
typedef uint8_t v16u8 __attribute__((vector_size(16)));
#if defined(__clang__)
#define SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (v4u32){i, j, k, l})
#endif

/* four consecutive blocks (256 bytes) at once: vector i holds state word i of each
 * block, so the rounds are the scalar ones on vectors; advances the counter by 4 */
static void chacha_4blocks_xor(uint32_t s[16], uint8_t *out, const uint8_t *in)
{
	v4u32 x[16], o[16];
	for (int i = 0; i < 16; i++)
		o[i] = (v4u32){s[i], s[i], s[i], s[i]};
	uint64_t c = (uint64_t)s[13] << 32 | s[12];
	for (uint32_t j = 0; j < 4; j++) {
		o[12][j] = (uint32_t)(c + j);
		o[13][j] = (uint32_t)((c + j) >> 32);
	}
	memcpy(x, o, sizeof x);
	for (int i = 0; i < 10; i++) {
		DOUBLE_ROUND(x);
	}
	for (int i = 0; i < 16; i++)
		x[i] += o[i];
	/* block j is lane j of every word: a 4x4 transpose of each group of 4 words
	 * gives block j's 16-byte chunk g */
	for (int g = 0; g < 4; g++) {
		v4u32 a = x[4 * g], b = x[4 * g + 1], c2 = x[4 * g + 2], d = x[4 * g + 3];
		v4u32 ab_lo = SHUF(a, b, 0, 4, 1, 5), cd_lo = SHUF(c2, d, 0, 4, 1, 5);
		v4u32 ab_hi = SHUF(a, b, 2, 6, 3, 7), cd_hi = SHUF(c2, d, 2, 6, 3, 7);
		v4u32 w[4] = {SHUF(ab_lo, cd_lo, 0, 1, 4, 5), SHUF(ab_lo, cd_lo, 2, 3, 6, 7),
		              SHUF(ab_hi, cd_hi, 0, 1, 4, 5), SHUF(ab_hi, cd_hi, 2, 3, 6, 7)};
		for (int j = 0; j < 4; j++) {
			v16u8 k, t;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
			w[j] = (w[j] << 24) | ((w[j] << 8) & 0xff0000) | ((w[j] >> 8) & 0xff00) | (w[j] >> 24);
#endif
			memcpy(&k, &w[j], 16);
			memcpy(&t, in + 64 * j + 16 * g, 16);
			t ^= k;
			memcpy(out + 64 * j + 16 * g, &t, 16);
		}
	}
	c += 4;
	s[12] = (uint32_t)c;
	s[13] = (uint32_t)(c >> 32);
}
#endif

#if defined(__GNUC__) && defined(__x86_64__)
/* Eight blocks on 256-bit AVX2 vectors, for CPUs that have it (checked at run time:
 * the binary stays baseline x86_64). The same rounds; rotations by 16 and 8 are byte
 * shuffles; the transpose is the 4-way one within each 128-bit half, then the halves
 * are regrouped: the low halves are blocks 0-3, the high halves blocks 4-7. */
typedef uint32_t v8u32 __attribute__((vector_size(32)));
typedef uint8_t v32u8 __attribute__((vector_size(32)));
#if defined(__clang__)
#define SHUF8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define BSHUF(v, ...) ((v8u32)__builtin_shufflevector((v32u8)(v), (v32u8)(v), __VA_ARGS__))
#else
#define SHUF8(a, b, ...) __builtin_shuffle(a, b, (v8u32){__VA_ARGS__})
#define BSHUF(v, ...) ((v8u32)__builtin_shuffle((v32u8)(v), (v32u8){__VA_ARGS__}))
#endif
#undef ROT16
#undef ROT8
#define ROT16(v) BSHUF(v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, \
                       18, 19, 16, 17, 22, 23, 20, 21, 26, 27, 24, 25, 30, 31, 28, 29)
#define ROT8(v) BSHUF(v, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, \
                      19, 16, 17, 18, 23, 20, 21, 22, 27, 24, 25, 26, 31, 28, 29, 30)

__attribute__((target("avx2")))
static void chacha_8blocks_xor(uint32_t s[16], uint8_t *out, const uint8_t *in, size_t nblk8)
{
	for (; nblk8; nblk8--, out += 512, in += 512) {
		v8u32 x[16], o[16];
		for (int i = 0; i < 16; i++)
			o[i] = (v8u32){s[i], s[i], s[i], s[i], s[i], s[i], s[i], s[i]};
		uint64_t c = (uint64_t)s[13] << 32 | s[12];
		for (uint32_t j = 0; j < 8; j++) {
			o[12][j] = (uint32_t)(c + j);
			o[13][j] = (uint32_t)((c + j) >> 32);
		}
		memcpy(x, o, sizeof x);
		for (int i = 0; i < 10; i++) {
			DOUBLE_ROUND(x);
		}
		for (int i = 0; i < 16; i++)
			x[i] += o[i];
		v8u32 w[4][4]; /* [g][j]: chunk g of block j (low half) and of block j+4 (high) */
		for (int g = 0; g < 4; g++) {
			v8u32 a = x[4 * g], b = x[4 * g + 1], c2 = x[4 * g + 2], d = x[4 * g + 3];
			v8u32 ab_lo = SHUF8(a, b, 0, 8, 1, 9, 4, 12, 5, 13), cd_lo = SHUF8(c2, d, 0, 8, 1, 9, 4, 12, 5, 13);
			v8u32 ab_hi = SHUF8(a, b, 2, 10, 3, 11, 6, 14, 7, 15), cd_hi = SHUF8(c2, d, 2, 10, 3, 11, 6, 14, 7, 15);
			w[g][0] = SHUF8(ab_lo, cd_lo, 0, 1, 8, 9, 4, 5, 12, 13);
			w[g][1] = SHUF8(ab_lo, cd_lo, 2, 3, 10, 11, 6, 7, 14, 15);
			w[g][2] = SHUF8(ab_hi, cd_hi, 0, 1, 8, 9, 4, 5, 12, 13);
			w[g][3] = SHUF8(ab_hi, cd_hi, 2, 3, 10, 11, 6, 7, 14, 15);
		}
		for (int j = 0; j < 4; j++)
			for (int h = 0; h < 2; h++) {
				/* chunks 2h and 2h+1 of block j (low halves) and of block j+4 (high) */
				v8u32 k0 = SHUF8(w[2 * h][j], w[2 * h + 1][j], 0, 1, 2, 3, 8, 9, 10, 11);
				v8u32 k1 = SHUF8(w[2 * h][j], w[2 * h + 1][j], 4, 5, 6, 7, 12, 13, 14, 15);
				v32u8 t;
				memcpy(&t, in + 64 * j + 32 * h, 32);
				t ^= (v32u8)k0;
				memcpy(out + 64 * j + 32 * h, &t, 32);
				memcpy(&t, in + 64 * (j + 4) + 32 * h, 32);
				t ^= (v32u8)k1;
				memcpy(out + 64 * (j + 4) + 32 * h, &t, 32);
			}
		c += 8;
		s[12] = (uint32_t)c;
		s[13] = (uint32_t)(c >> 32);
	}
}

/* CPUID leaf 7 says AVX2, and the OS saves the YMM registers (OSXSAVE, XCR0 bits 1-2);
 * by hand, as __builtin_cpu_supports would link libgcc's 2.5 KB CPU model */
static int have_avx2(void)
{
	static int have = -1;
	if (have < 0) {
		unsigned a, b, c, d, lo, hi;
		have = 0;
		if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
			__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
			if ((lo & 6) == 6 && __get_cpuid_max(0, NULL) >= 7) {
				__cpuid_count(7, 0, a, b, c, d);
				have = (b & bit_AVX2) != 0;
			}
		}
	}
	return have;
}
#endif

/* $DIPUS_CRYPTO=portable (read once) or the test hook: the portable forms only (what a
 * compiler without vector extensions or a 64-bit multiply gets), so that tests and
 * benchmarks run them on any machine */
static int portable = -1;

void ssh_chachapoly_force_portable(int on)
{
	portable = on;
}

static int use_portable(void)
{
	if (portable < 0) {
		const char *e = getenv("DIPUS_CRYPTO");
		portable = e && !strcmp(e, "portable");
	}
	return portable;
}

static void chacha_xor(uint8_t *out, const uint8_t *in, size_t len,
                       const uint8_t key[32], uint64_t counter, const uint8_t nonce[8], int wide)
{
	uint32_t s[16];
	if (use_portable()) {
		ssh_chacha20_xor_scalar(out, in, len, key, counter, nonce);
		return;
	}
	chacha_init(s, key, counter, nonce);
#if defined(__GNUC__) && defined(__x86_64__)
	if (wide && len >= 512 && have_avx2()) {
		chacha_8blocks_xor(s, out, in, len / 512);
		out += len / 512 * 512, in += len / 512 * 512, len %= 512;
	}
#endif
#if defined(__GNUC__)
	for (; len >= 256; out += 256, in += 256, len -= 256)
		chacha_4blocks_xor(s, out, in);
#endif
	for (; len; ) {
		size_t n = len < 64 ? len : 64;
		chacha_block_xor(s, out, in, n);
		out += n, in += n, len -= n;
	}
}

void ssh_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len,
                      const uint8_t key[32], uint64_t counter, const uint8_t nonce[8])
{
	chacha_xor(out, in, len, key, counter, nonce, 1);
}

void ssh_chacha20_xor_v128(uint8_t *out, const uint8_t *in, size_t len,
                           const uint8_t key[32], uint64_t counter, const uint8_t nonce[8])
{
	chacha_xor(out, in, len, key, counter, nonce, 0);
}

/* ---- Poly1305 ---- */

/* the last, partial block: the message bytes, then 1, then zeros, and no 2^128 bit */
static size_t poly_last(uint8_t blk[16], const uint8_t *msg, size_t len)
{
	size_t n = len % 16;
	memset(blk, 0, 16);
	memcpy(blk, msg + len - n, n);
	blk[n] = 1;
	return n;
}

/* 26-bit limbs, 32x32->64-bit products (poly1305-donna-32's arithmetic) */
void ssh_poly1305_32(uint8_t tag[16], const uint8_t *msg, size_t len, const uint8_t key[32])
{
	const uint32_t r0 = ld32(key) & 0x3ffffff, r1 = (ld32(key + 3) >> 2) & 0x3ffff03,
	               r2 = (ld32(key + 6) >> 4) & 0x3ffc0ff, r3 = (ld32(key + 9) >> 6) & 0x3f03fff,
	               r4 = (ld32(key + 12) >> 8) & 0x00fffff;
	const uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
	uint32_t h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, c;
	uint8_t blk[16];
	size_t full = len / 16, tail = len % 16;
	for (size_t b = 0; b < full + (tail != 0); b++) {
		const uint8_t *m = msg + 16 * b;
		uint32_t hibit = 1u << 24;
		if (b == full) {
			poly_last(blk, msg, len);
			m = blk;
			hibit = 0;
		}
		h0 += ld32(m) & 0x3ffffff;
		h1 += (ld32(m + 3) >> 2) & 0x3ffffff;
		h2 += (ld32(m + 6) >> 4) & 0x3ffffff;
		h3 += (ld32(m + 9) >> 6) & 0x3ffffff;
		h4 += (ld32(m + 12) >> 8) | hibit;
		uint64_t d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 + (uint64_t)h3 * s2 + (uint64_t)h4 * s1;
		uint64_t d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 + (uint64_t)h3 * s3 + (uint64_t)h4 * s2;
		uint64_t d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 + (uint64_t)h3 * s4 + (uint64_t)h4 * s3;
		uint64_t d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 + (uint64_t)h3 * r0 + (uint64_t)h4 * s4;
		uint64_t d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 + (uint64_t)h3 * r1 + (uint64_t)h4 * r0;
		c = (uint32_t)(d0 >> 26); h0 = (uint32_t)d0 & 0x3ffffff;
		d1 += c; c = (uint32_t)(d1 >> 26); h1 = (uint32_t)d1 & 0x3ffffff;
		d2 += c; c = (uint32_t)(d2 >> 26); h2 = (uint32_t)d2 & 0x3ffffff;
		d3 += c; c = (uint32_t)(d3 >> 26); h3 = (uint32_t)d3 & 0x3ffffff;
		d4 += c; c = (uint32_t)(d4 >> 26); h4 = (uint32_t)d4 & 0x3ffffff;
		h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff;
		h1 += c;
	}
	/* fully carry h, then h mod p = h or h - p, chosen without a branch */
	c = h1 >> 26; h1 &= 0x3ffffff;
	h2 += c; c = h2 >> 26; h2 &= 0x3ffffff;
	h3 += c; c = h3 >> 26; h3 &= 0x3ffffff;
	h4 += c; c = h4 >> 26; h4 &= 0x3ffffff;
	h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff;
	h1 += c;
	uint32_t g0 = h0 + 5; c = g0 >> 26; g0 &= 0x3ffffff;
	uint32_t g1 = h1 + c; c = g1 >> 26; g1 &= 0x3ffffff;
	uint32_t g2 = h2 + c; c = g2 >> 26; g2 &= 0x3ffffff;
	uint32_t g3 = h3 + c; c = g3 >> 26; g3 &= 0x3ffffff;
	uint32_t g4 = h4 + c - (1u << 26);
	uint32_t mask = (g4 >> 31) - 1; /* all ones when h >= p */
	h0 = (h0 & ~mask) | (g0 & mask);
	h1 = (h1 & ~mask) | (g1 & mask);
	h2 = (h2 & ~mask) | (g2 & mask);
	h3 = (h3 & ~mask) | (g3 & mask);
	h4 = (h4 & ~mask) | (g4 & mask);
	/* tag = (h + s) mod 2^128 */
	uint64_t f;
	f = (uint64_t)(h0 | h1 << 26) + ld32(key + 16);
	st32(tag, (uint32_t)f);
	f = (uint64_t)(h1 >> 6 | h2 << 20) + ld32(key + 20) + (f >> 32);
	st32(tag + 4, (uint32_t)f);
	f = (uint64_t)(h2 >> 12 | h3 << 14) + ld32(key + 24) + (f >> 32);
	st32(tag + 8, (uint32_t)f);
	f = (uint64_t)(h3 >> 18 | h4 << 8) + ld32(key + 28) + (f >> 32);
	st32(tag + 12, (uint32_t)f);
}

#if defined(__SIZEOF_INT128__)
typedef unsigned __int128 u128;

static inline uint64_t ld64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
#else
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
#endif
}

/* 44-, 44- and 42-bit limbs, 64x64->128-bit products (poly1305-donna-64's arithmetic):
 * 3 limbs instead of 5, 9 multiplications per block instead of 25 */
void ssh_poly1305(uint8_t tag[16], const uint8_t *msg, size_t len, const uint8_t key[32])
{
	if (use_portable()) {
		ssh_poly1305_32(tag, msg, len, key);
		return;
	}
	const uint64_t M44 = 0xfffffffffff, M42 = 0x3ffffffffff;
	uint64_t t0 = ld64(key), t1 = ld64(key + 8);
	const uint64_t r0 = t0 & 0xffc0fffffff, r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff,
	               r2 = (t1 >> 24) & 0x00ffffffc0f;
	const uint64_t s1 = r1 * (5 << 2), s2 = r2 * (5 << 2);
	uint64_t h0 = 0, h1 = 0, h2 = 0, c;
	uint8_t blk[16];
	size_t full = len / 16, tail = len % 16;
	for (size_t b = 0; b < full + (tail != 0); b++) {
		const uint8_t *m = msg + 16 * b;
		uint64_t hibit = (uint64_t)1 << 40;
		if (b == full) {
			poly_last(blk, msg, len);
			m = blk;
			hibit = 0;
		}
		t0 = ld64(m);
		t1 = ld64(m + 8);
		h0 += t0 & M44;
		h1 += ((t0 >> 44) | (t1 << 20)) & M44;
		h2 += ((t1 >> 24) & M42) | hibit;
		u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
		u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
		u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
		c = (uint64_t)(d0 >> 44); h0 = (uint64_t)d0 & M44;
		d1 += c; c = (uint64_t)(d1 >> 44); h1 = (uint64_t)d1 & M44;
		d2 += c; c = (uint64_t)(d2 >> 42); h2 = (uint64_t)d2 & M42;
		h0 += c * 5; c = h0 >> 44; h0 &= M44;
		h1 += c;
	}
	c = h1 >> 44; h1 &= M44;
	h2 += c; c = h2 >> 42; h2 &= M42;
	h0 += c * 5; c = h0 >> 44; h0 &= M44;
	h1 += c; c = h1 >> 44; h1 &= M44;
	h2 += c; c = h2 >> 42; h2 &= M42;
	h0 += c * 5; c = h0 >> 44; h0 &= M44;
	h1 += c;
	uint64_t g0 = h0 + 5; c = g0 >> 44; g0 &= M44;
	uint64_t g1 = h1 + c; c = g1 >> 44; g1 &= M44;
	uint64_t g2 = h2 + c - ((uint64_t)1 << 42);
	uint64_t mask = (g2 >> 63) - 1; /* all ones when h >= p */
	h0 = (h0 & ~mask) | (g0 & mask);
	h1 = (h1 & ~mask) | (g1 & mask);
	h2 = (h2 & ~mask) | (g2 & mask);
	t0 = ld64(key + 16);
	t1 = ld64(key + 24);
	h0 += t0 & M44; c = h0 >> 44; h0 &= M44;
	h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c; c = h1 >> 44; h1 &= M44;
	h2 += ((t1 >> 24) & M42) + c; h2 &= M42;
	t0 = h0 | (h1 << 44);
	t1 = (h1 >> 20) | (h2 << 24);
	st32(tag, (uint32_t)t0);
	st32(tag + 4, (uint32_t)(t0 >> 32));
	st32(tag + 8, (uint32_t)t1);
	st32(tag + 12, (uint32_t)(t1 >> 32));
}
#else
void ssh_poly1305(uint8_t tag[16], const uint8_t *msg, size_t len, const uint8_t key[32])
{
	ssh_poly1305_32(tag, msg, len, key);
}
#endif
