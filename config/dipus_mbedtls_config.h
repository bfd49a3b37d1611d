/* dipus_mbedtls_config.h: the mbedTLS 3.6 configuration of dipus (MBEDTLS_CONFIG_FILE).
 *
 * Only what SEP over TLS and keygen use, so the binary and the attack surface stay
 * small: TLS 1.3 client and server with mutual certificate authentication (ephemeral
 * ECDHE only), X25519 and P-256 key exchange, ECDSA P-256 signatures, self-signed
 * X.509 certificates read and written, AES-GCM and ChaCha20-Poly1305, SHA-256/384,
 * a CTR-DRBG seeded from the kernel (getrandom). No TLS 1.2, no RSA, no PSK, no
 * session tickets, no file-system or socket helpers (dipus brings its own fds). */
#ifndef DIPUS_MBEDTLS_CONFIG_H
#define DIPUS_MBEDTLS_CONFIG_H

/* System support */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME          /* certificate validity, TLS 1.3 ticket ages */
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_DEPRECATED_REMOVED

/* Randomness: the kernel's getrandom() through the entropy module, into CTR-DRBG */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* Symmetric ciphers: the TLS 1.3 suites AES-128/256-GCM and ChaCha20-Poly1305 */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES     /* tables in .rodata, not built in RAM at start */
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
/* Hardware AES and carry-less multiply for GCM where the CPU has them, chosen at run
 * time (cpuid / HWCAP), with the C tables as the fallback: the bulk of SEP's cost.
 * AESCE only on aarch64 (on 32-bit Arm it needs -march=armv8-a+crypto at build time). */
#define MBEDTLS_AESNI_C            /* x86/x86_64; nothing elsewhere */
#if defined(__aarch64__)
#define MBEDTLS_AESCE_C
#endif

/* Hashes: SHA-256 (fingerprints, suites), SHA-384 (TLS_AES_256_GCM_SHA384), HKDF */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C

/* Public key: ECDSA P-256 keys, ECDHE X25519 and P-256 */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C         /* keygen writes key.pem */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* X.509: parse peers' certificates, write our self-signed one */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C

/* PSA crypto: TLS 1.3 in mbedTLS 3.6 runs its key schedule through PSA */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
/* PSA otherwise copies every record into a fresh heap buffer and back (the guard for
 * buffers shared with an untrusted party, which dipus never passes): 12% of the TLS
 * proxy's CPU in memmove, calloc and free, measured. */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS

/* TLS: 1.3 only, both roles, ephemeral (EC)DHE key exchange, certificates both ways */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE  /* fingerprints are taken after the handshake */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_CONTENT_LEN 16384
/* Memory: large blocks (the record buffers) are mapped, not malloc'd, so an idle
 * session's buffers are resident only where records were written (core/tls-mem.c) */
/* Records we send carry up to 16 KiB: with 4 KiB ones, a send() and a packet train per
 * 4 KiB, bench/sep's ChaCha20-Poly1305 transfer ran at a third less. PSA fills the
 * unused rest of a signature's output buffer, the whole output record buffer, at each
 * handshake; tls.c hands those pages back after it (dipus_tls_trim, core/tls-mem.c). */
#define MBEDTLS_SSL_OUT_CONTENT_LEN 16384
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO dipus_tls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO dipus_tls_free
#include "../core/tls-mem.h"

/* MBEDTLS_ERROR_C is off: its strings cost 14 KB. core/tls.c words the failures a
 * user meets itself (unknown or changed key, no certificate, not TLS 1.3, not TLS) and
 * prints the rest as mbedTLS's -0xNNNN code. */

#endif
