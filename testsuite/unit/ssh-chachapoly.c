/* ssh-chachapoly.c: core/ssh-chachapoly.c, the embedded dbclient's ChaCha20 and
 * Poly1305: RFC 8439's test vectors (block function, encryption, Poly1305 and its
 * appendix A.3 edge cases of the final reduction), the fast forms against the portable
 * ones on every length and alignment that matters (8- and 4-block vector paths, tails), and one
 * chacha20-poly1305@openssh.com packet computed independently (OpenSSH's
 * PROTOCOL.chacha20poly1305). Interop with real peers is e2e/ssh-*'s job. */
#include "ssh-chachapoly.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_PREFIX "ssh-chachapoly/"
#include "check.h"

static size_t unhex(uint8_t *out, const char *h)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void key_0_31(uint8_t k[32])
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)i;
}

typedef void chacha_fn(uint8_t *, const uint8_t *, size_t, const uint8_t *, uint64_t, const uint8_t *);
typedef void poly_fn(uint8_t *, const uint8_t *, size_t, const uint8_t *);

/* RFC 8439's 96-bit nonce and 32-bit counter as our 64-bit counter and nonce */
static void rfc_chacha(chacha_fn *f, uint8_t *out, const uint8_t *in, size_t len,
                       const uint8_t key[32], uint32_t ctr, const uint8_t nonce[12])
{
	uint64_t c = ctr | (uint64_t)(nonce[0] | nonce[1] << 8 | nonce[2] << 16 | (uint32_t)nonce[3] << 24) << 32;
	f(out, in, len, key, c, nonce + 4);
}

static void test_chacha_rfc(const char *form, chacha_fn *f)
{
	char name[128];
	uint8_t key[32], nonce[12], want[256], got[256], zero[64] = {0};
	key_0_31(key);
	/* 2.3.2: the block function (keystream = encryption of zeros) */
	unhex(nonce, "000000090000004a00000000");
	size_t n = unhex(want, "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
	                       "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
	rfc_chacha(f, got, zero, 64, key, 1, nonce);
	snprintf(name, sizeof name, "%s: RFC 8439 2.3.2 block function", form);
	CHECK(n == 64 && !memcmp(got, want, 64), name, "keystream differs");
	/* 2.4.2: encrypting the sunscreen text */
	static const char text[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
	                           "tip for the future, sunscreen would be it.";
	unhex(nonce, "000000000000004a00000000");
	n = unhex(want, "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
	                "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
	                "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
	                "5af90bbf74a35be6b40b8eedf2785e42874d");
	rfc_chacha(f, got, (const uint8_t *)text, sizeof text - 1, key, 1, nonce);
	snprintf(name, sizeof name, "%s: RFC 8439 2.4.2 encryption (114 bytes)", form);
	CHECK(n == sizeof text - 1 && !memcmp(got, want, n), name, "ciphertext differs");
	/* in place, then back */
	memcpy(got, text, n);
	rfc_chacha(f, got, got, n, key, 1, nonce);
	rfc_chacha(f, got, got, n, key, 1, nonce);
	snprintf(name, sizeof name, "%s: in place, twice, is the identity", form);
	CHECK(!memcmp(got, text, n), name, "differs");
}

static void test_chacha_fast_vs_scalar(void)
{
	enum { MAX = 2100 };
	uint8_t *in = malloc(MAX + 16), *a = malloc(MAX + 16), *b = malloc(MAX + 16), *v = malloc(MAX + 16);
	uint8_t key[32], nonce[8];
	int bad = 0, bad128 = 0;
	srand(8439);
	for (size_t i = 0; i < MAX + 16; i++)
		in[i] = (uint8_t)rand();
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)rand();
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)rand();
	/* every length up to 8 vector rounds and past, misaligned; counters that carry from
	 * word 12 into word 13 inside a 4- or 8-block group, and the 64-bit wrap */
	static const uint64_t ctrs[] = {0, 1, 0xfffffffdu, 0xfffffff9u, 0xffffffffffffffffull - 2};
	for (size_t c = 0; c < sizeof ctrs / sizeof ctrs[0]; c++)
		for (size_t len = 0; len <= MAX; len += (len < 600 ? 1 : 37)) {
			size_t off = len % 13;
			ssh_chacha20_xor(a + off, in + off, len, key, ctrs[c], nonce);
			ssh_chacha20_xor_v128(v + off, in + off, len, key, ctrs[c], nonce);
			ssh_chacha20_xor_scalar(b + off, in + off, len, key, ctrs[c], nonce);
			bad += memcmp(a + off, b + off, len) != 0;
			bad128 += memcmp(v + off, b + off, len) != 0;
		}
	CHECK(!bad, "fast ChaCha20 = portable ChaCha20 (lengths 0..2100, misaligned, counter carries)",
	      "%d cases differ", bad);
	CHECK(!bad128, "128-bit-vector ChaCha20 = portable ChaCha20 (the same cases)", "%d cases differ", bad128);
	free(in), free(a), free(b), free(v);
}

static void test_poly_rfc(const char *form, poly_fn *f)
{
	char name[128];
	uint8_t key[32], msg[128], tag[16], want[16];
	unhex(key, "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
	unhex(want, "a8061dc1305136c6c22b8baf0c0127a9");
	f(tag, (const uint8_t *)"Cryptographic Forum Research Group", 34, key);
	snprintf(name, sizeof name, "%s: RFC 8439 2.5.2", form);
	CHECK(!memcmp(tag, want, 16), name, "tag differs");
	/* A.3 #5-#11: the carries and the final reduction mod 2^130-5 */
	static const struct { const char *key, *msg, *tag; } v[] = {
		{"02000000000000000000000000000000" "00000000000000000000000000000000",
		 "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000"},
		{"02000000000000000000000000000000" "ffffffffffffffffffffffffffffffff",
		 "02000000000000000000000000000000", "03000000000000000000000000000000"},
		{"01000000000000000000000000000000" "00000000000000000000000000000000",
		 "ffffffffffffffffffffffffffffffff" "f0ffffffffffffffffffffffffffffff"
		 "11000000000000000000000000000000", "05000000000000000000000000000000"},
		{"01000000000000000000000000000000" "00000000000000000000000000000000",
		 "ffffffffffffffffffffffffffffffff" "fbfefefefefefefefefefefefefefefe"
		 "01010101010101010101010101010101", "00000000000000000000000000000000"},
		{"02000000000000000000000000000000" "00000000000000000000000000000000",
		 "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff"},
		{"01000000000000000400000000000000" "00000000000000000000000000000000",
		 "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
		 "0000000000000000000000000000000001000000000000000000000000000000",
		 "14000000000000005500000000000000"},
		{"01000000000000000400000000000000" "00000000000000000000000000000000",
		 "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
		 "00000000000000000000000000000000", "13000000000000000000000000000000"},
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		unhex(key, v[i].key);
		size_t n = unhex(msg, v[i].msg);
		unhex(want, v[i].tag);
		f(tag, msg, n, key);
		if (memcmp(tag, want, 16)) {
			printf("  %s: A.3 #%zu differs\n", form, i + 5);
			bad++;
		}
	}
	snprintf(name, sizeof name, "%s: RFC 8439 A.3 #5-#11 (carries, reduction)", form);
	CHECK(!bad, name, "%d of 7 differ", bad);
}

static void test_poly_fast_vs_32(void)
{
	enum { MAX = 1100 };
	uint8_t *m = malloc(MAX), key[32], a[16], b[16];
	int bad = 0;
	srand(1305);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < MAX; i++)
			m[i] = round == 1 ? 0xff : (uint8_t)rand();
		for (int i = 0; i < 32; i++)
			key[i] = round == 2 ? 0xff : (uint8_t)rand();
		for (size_t len = 0; len <= MAX; len++) {
			ssh_poly1305(a, m, len, key);
			ssh_poly1305_32(b, m, len, key);
			bad += memcmp(a, b, 16) != 0;
		}
	}
	CHECK(!bad, "fast Poly1305 = 26-bit-limb Poly1305 (lengths 0..1100, all-ones messages and keys)",
	      "%d cases differ", bad);
	free(m);
}

/* chacha20-poly1305@openssh.com, packet number 7, 64-byte key 00..3f (K_2 = bytes 0-31
 * for the payload and the Poly1305 key, K_1 = bytes 32-63 for the length), a 300-byte
 * payload: computed with an independent implementation (Python's cryptography) */
static void test_openssh_packet_as(const char *as)
{
	uint8_t key[64], pkt[304], out[320], want[320], pk[32];
	static const uint8_t zero[32];
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	pkt[0] = 0, pkt[1] = 0, pkt[2] = 300 >> 8, pkt[3] = 300 & 0xff;
	for (int i = 0; i < 300; i++)
		pkt[4 + i] = (uint8_t)(i * 7 + 3);
	uint8_t seq[8] = {0, 0, 0, 0, 0, 0, 0, 7};
	ssh_chacha20_xor(out, pkt, 4, key + 32, 0, seq);
	ssh_chacha20_xor(out + 4, pkt + 4, 300, key, 1, seq);
	ssh_chacha20_xor(pk, zero, 32, key, 0, seq);
	ssh_poly1305(out + 304, out, 304, pk);
	size_t n = unhex(want,
		"a39afd862b4c045b51a5076a572ff2a080d1b64047c8b1bef175a027ebd8a21f479dd68847bd005dea64f9adb7f04f1e"
		"240c4e3b24f6f1b7f0553577f176bf1a7400e24dc60834e2fea4b912dfea86f3715bd8dc5bf752f4b263a996ade6447b"
		"e1b5e4aa033fe1e0ea8fe8e391b848eb2cb0f1bb7157e1ed02386a95cd3a1c391faafe7d9eb2e05953071f199fc9d149"
		"213a2931d3bdf5767d103914af8083365839e198ba3d439e264fb0b2f2cbc50fcee4ddf804f4280dd29c6e59e9be2aa9"
		"63237135392eb503ebe4c65c11867a301f558c5346bd35f2951cdb3562953ddfc447da9f290846e4a7b88e895d17cd86"
		"1ee61cafda14d5f55f9405c8a0032e482ec846b56deb33aa24ccffd82d5537883325aae945c24ab4eed11c437379ed80"
		"93f936ad5b17900ae494117d84503177d98d85f79ac753fda9d420afd4c11616");
	char name[120];
	snprintf(name, sizeof name, "%schacha20-poly1305@openssh.com: length and payload", as);
	CHECK(n == 320 && !memcmp(out, want, 304), name, "ciphertext differs");
	snprintf(name, sizeof name, "%schacha20-poly1305@openssh.com: tag", as);
	CHECK(n == 320 && !memcmp(out + 304, want + 304, 16), name, "tag differs");
}

static void test_openssh_packet(void)
{
	test_openssh_packet_as("");
}

int main(void)
{
	test_chacha_rfc("ChaCha20 fast", ssh_chacha20_xor);
	test_chacha_rfc("ChaCha20 128-bit vectors", ssh_chacha20_xor_v128);
	test_chacha_rfc("ChaCha20 portable", ssh_chacha20_xor_scalar);
	test_chacha_fast_vs_scalar();
	test_poly_rfc("Poly1305 fast", ssh_poly1305);
	test_poly_rfc("Poly1305 26-bit", ssh_poly1305_32);
	test_poly_fast_vs_32();
	test_openssh_packet();
	/* the switch that tests and benchmarks use ($DIPUS_CRYPTO=portable): the entry
	 * points the cipher calls then run the portable forms, still to the vectors */
	ssh_chachapoly_force_portable(1);
	test_chacha_rfc("ChaCha20 entry point forced portable", ssh_chacha20_xor);
	test_poly_rfc("Poly1305 entry point forced portable", ssh_poly1305);
	test_openssh_packet_as("forced portable: ");
	ssh_chachapoly_force_portable(0);
	return check_status();
}
