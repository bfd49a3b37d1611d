/* tls-suites.c: the cipher suite lists of SEP's TLS 1.3, chosen from the CPU.
 *
 * mbedTLS's TLS 1.3 server takes the first suite in the client's list that it has
 * enabled (ssl_tls13_select_ciphersuite in ssl_tls13_server.c): a server's own order
 * is no preference. So the preference is put where it counts on each side:
 * - a client lists its preferred suite first;
 * - a server with fast AES enables all three suites and follows the client;
 *   a server without it enables ChaCha20-Poly1305 only, which every TLS 1.3 stack
 *   offers by default (mbedTLS, OpenSSL, BoringSSL, Go, rustls). $DIPUS_TLS_SUITES=aes
 *   on such a server brings the AES suites back.
 * The result: ChaCha20-Poly1305 whenever either end lacks AES instructions (the slow
 * end bounds the transfer), AES-128-GCM when both have them. */
#include "tls-suites.h"
#include "util.h"

#include "mbedtls/ssl.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_AES
#define HWCAP_AES (1 << 3)
#endif
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1 << 4)
#endif
#endif

static int cpu_probe(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(MBEDTLS_AESNI_C)
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL);
#elif defined(__aarch64__) && defined(__linux__) && defined(MBEDTLS_AESCE_C)
	unsigned long hw = getauxval(AT_HWCAP);
	return (hw & HWCAP_AES) && (hw & HWCAP_PMULL);
#else
	return 0;   /* mbedTLS's AES here is its C tables, whatever the CPU has */
#endif
}

int tls_cpu_has_aes(void)
{
	static int has = -1;
	if (has < 0)
		has = cpu_probe();
	return has;
}

int tls_suites_prefer_chacha(void)
{
	static int warned;
	const char *s = getenv("DIPUS_TLS_SUITES");
	if (s && !strcmp(s, "chacha"))
		return 1;
	if (s && !strcmp(s, "aes"))
		return 0;
	if (s && *s && strcmp(s, "auto") && !warned) {
		warned = 1;
		msg("DIPUS_TLS_SUITES=%.40s: not 'chacha', 'aes' or 'auto' (ignored)", s);
	}
	return !tls_cpu_has_aes();
}

static const int aes_first[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	0,
};
static const int chacha_first[] = {
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	0,
};

const int *tls_suites_for(int server, int chacha)
{
	if (!chacha)
		return aes_first;
	/* a server's order is not honoured (above): the one suite it prefers, alone */
	static const int chacha_only[] = { MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, 0 };
	return server ? chacha_only : chacha_first;
}

const int *tls_suites(int server)
{
	return tls_suites_for(server, tls_suites_prefer_chacha());
}
