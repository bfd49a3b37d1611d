/* ssh-chachapoly.h: ChaCha20 and Poly1305 for the embedded dbclient's
 * chacha20-poly1305@openssh.com (dbclient/chachapoly.c), in place of
 * libtomcrypt's portable one-block-at-a-time C. See ssh-chachapoly.c. */
#ifndef DIPUS_SSH_CHACHAPOLY_H
#define DIPUS_SSH_CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

/* out = in XOR ChaCha20(key, block counter, nonce), len bytes (in == out allowed).
 * The layout is the original one OpenSSH uses: state words 12-13 are a 64-bit block
 * counter, 14-15 a 64-bit nonce (8 bytes, as given). RFC 8439's 32-bit counter and
 * 96-bit nonce are the same state with counter = ctr32 | nonce[0..3] << 32 and
 * nonce = nonce[4..11], as long as the 32-bit counter does not wrap. */
void ssh_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len,
                      const uint8_t key[32], uint64_t counter, const uint8_t nonce[8]);

/* tag = Poly1305(key, msg): one-shot (RFC 8439 section 2.5) */
void ssh_poly1305(uint8_t tag[16], const uint8_t *msg, size_t len, const uint8_t key[32]);

/* The portable forms the fast ones fall back to, exported for the unit test, which
 * checks them all against RFC 8439 and against each other. */
void ssh_chacha20_xor_scalar(uint8_t *out, const uint8_t *in, size_t len,
                             const uint8_t key[32], uint64_t counter, const uint8_t nonce[8]);
/* without the 8-block AVX2 path (x86_64 CPUs that have it): the 128-bit-vector one */
void ssh_chacha20_xor_v128(uint8_t *out, const uint8_t *in, size_t len,
                           const uint8_t key[32], uint64_t counter, const uint8_t nonce[8]);
/* 1: ssh_chacha20_xor and ssh_poly1305 use the portable forms only, as with
 * $DIPUS_CRYPTO=portable; 0: the fast ones. For tests. */
void ssh_chachapoly_force_portable(int on);
void ssh_poly1305_32(uint8_t tag[16], const uint8_t *msg, size_t len, const uint8_t key[32]);

#endif
