/* tls-gcm.h: mbedTLS's own one-shot GCM calls, under the names the link gives them.
 *
 * The link wraps mbedtls_gcm_crypt_and_tag and mbedtls_gcm_auth_decrypt (ld --wrap,
 * mk/deps.mk): calls to them reach core/tls-gcm.c, and mbedTLS's code is reachable as
 * __real_*. core/tls-gcm.c falls back to it; the unit test and bench/gcm compare with it. */
#ifndef DIPUS_TLS_GCM_H
#define DIPUS_TLS_GCM_H

#include "mbedtls/gcm.h"

int __real_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context *ctx, int mode, size_t length,
                                     const unsigned char *iv, size_t iv_len,
                                     const unsigned char *add, size_t add_len,
                                     const unsigned char *input, unsigned char *output,
                                     size_t tag_len, unsigned char *tag);
int __real_mbedtls_gcm_auth_decrypt(mbedtls_gcm_context *ctx, size_t length,
                                    const unsigned char *iv, size_t iv_len,
                                    const unsigned char *add, size_t add_len,
                                    const unsigned char *tag, size_t tag_len,
                                    const unsigned char *input, unsigned char *output);

/* 1: every call goes to mbedTLS's code (the path of CPUs without AES-NI), as with
 * $DIPUS_CRYPTO=portable; 0: the fast path where the CPU has it. For tests. */
void tls_gcm_force_portable(int on);

#endif
