/* tls-suites.h: which TLS 1.3 cipher suites SEP offers, from the CPU (doc/tls.md).
 *
 * AES-GCM is the fastest suite where the CPU has AES and carry-less multiply
 * instructions that this build of mbedTLS uses (x86 AES-NI + PCLMULQDQ, aarch64 AES +
 * PMULL); elsewhere (MIPS, 32-bit Arm, RISC-V, older CPUs) mbedTLS's table AES is
 * several times slower than ChaCha20-Poly1305, so that is preferred. */
#ifndef DIPUS_TLS_SUITES_H
#define DIPUS_TLS_SUITES_H

/* 1 when this CPU has the AES instructions this build uses (probed once), else 0 */
int tls_cpu_has_aes(void);

/* 1 to prefer ChaCha20-Poly1305, 0 for AES-GCM: $DIPUS_TLS_SUITES ("chacha", "aes",
 * or "auto"/unset for the CPU's choice; anything else is warned about once and
 * ignored), read at each call. */
int tls_suites_prefer_chacha(void);

/* The zero-terminated list for mbedtls_ssl_conf_ciphersuites, for a server or a
 * client, with tls_suites_prefer_chacha()'s choice; static storage. */
const int *tls_suites(int server);
/* The same for a given choice (the unit test's entry) */
const int *tls_suites_for(int server, int chacha);

#endif
