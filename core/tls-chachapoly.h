/* tls-chachapoly.h: mbedTLS's one-shot ChaCha20-Poly1305 calls, under the names the
 * link gives them (ld --wrap, mk/deps.mk): calls reach core/tls-chachapoly.c, and
 * mbedTLS's own code is reachable as __real_*, the fallback and the unit test's
 * second opinion. */
#ifndef DIPUS_TLS_CHACHAPOLY_H
#define DIPUS_TLS_CHACHAPOLY_H

#include "mbedtls/chachapoly.h"

int __real_mbedtls_chachapoly_encrypt_and_tag(mbedtls_chachapoly_context *ctx, size_t length,
                                              const unsigned char nonce[12],
                                              const unsigned char *aad, size_t aad_len,
                                              const unsigned char *input, unsigned char *output,
                                              unsigned char tag[16]);
int __real_mbedtls_chachapoly_auth_decrypt(mbedtls_chachapoly_context *ctx, size_t length,
                                           const unsigned char nonce[12],
                                           const unsigned char *aad, size_t aad_len,
                                           const unsigned char tag[16],
                                           const unsigned char *input, unsigned char *output);

/* 1: every call goes to mbedTLS's code, as with $DIPUS_CRYPTO=portable; 0: the fast
 * path. For tests. */
void tls_chachapoly_force_portable(int on);
/* 1 when TLS records' ChaCha20-Poly1305 runs in core/ssh-chachapoly.c's code */
int tls_chachapoly_fast(void);

#endif
