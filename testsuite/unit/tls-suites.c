/* tls-suites.c: the cipher suite choice (core/tls-suites.c).
 *
 * The CPU probe against /proc/cpuinfo (x86: aes and pclmulqdq flags; aarch64: aes and
 * pmull features; elsewhere this build has no AES instructions to use); the lists each
 * side configures, with $DIPUS_TLS_SUITES and without; and real TLS 1.3 handshakes
 * between a client and a server in this process, for every pairing of the override:
 * the suite they agree on is ChaCha20-Poly1305 when either end asks for it. */
#include "tls.h"
#include "tls-suites.h"
#include "util.h"

#include "mbedtls/ssl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#define CHECK_PREFIX "tls-suites/"
#include "check.h"

#define CHACHA "TLS1-3-CHACHA20-POLY1305-SHA256"
#define AES128 "TLS1-3-AES-128-GCM-SHA256"

/* 1 if /proc/cpuinfo's first line starting with key lists both words, 0 if not, -1
 * when there is no such line (e.g. an emulator showing the host's cpuinfo) */
static __attribute__((unused)) int cpuinfo_has(const char *key, const char *w1, const char *w2)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int r = -1;
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, key, strlen(key)))
			continue;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		int n = 0;
		for (char *w = strtok(colon + 1, " \t\n"); w; w = strtok(NULL, " \t\n"))
			n |= (!strcmp(w, w1)) | (!strcmp(w, w2)) << 1;
		r = n == 3;
		break;
	}
	if (f)
		fclose(f);
	return r;
}

static void test_cpu(void)
{
	int has = tls_cpu_has_aes();
#if defined(__x86_64__) || defined(__i386__)
	int want = cpuinfo_has("flags", "aes", "pclmulqdq");
	const char *what = "x86: AES-NI and PCLMULQDQ";
#elif defined(__aarch64__)
	int want = cpuinfo_has("Features", "aes", "pmull");
	const char *what = "aarch64: AES and PMULL";
	if (want < 0) {   /* qemu-user shows the host's cpuinfo: the auxv it passes instead */
		unsigned long hw = getauxval(AT_HWCAP);
		want = (hw & (1 << 3)) && (hw & (1 << 4));   /* HWCAP_AES, HWCAP_PMULL */
		what = "aarch64: AES and PMULL in AT_HWCAP (no cpuinfo features here)";
	}
#else
	int want = 0;
	const char *what = "no AES instructions this build uses (mbedTLS's C tables)";
#endif
	char name[160];
	snprintf(name, sizeof name, "CPU probe as the system reports it (%s): %s", what,
	         has ? "has AES" : "no AES");
	CHECK(has == want, name, "probe %d, expected %d", has, want);
}

static int list_is(const int *l, const int *want)
{
	for (;; l++, want++) {
		if (*l != *want)
			return 0;
		if (!*l)
			return 1;
	}
}

static void test_lists(void)
{
	static const int aes_first[] = { MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
		MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384, 0 };
	static const int chacha_first[] = { MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
		MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384, 0 };
	static const int chacha_only[] = { MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, 0 };

	CHECK(list_is(tls_suites_for(0, 0), aes_first) && list_is(tls_suites_for(1, 0), aes_first),
	      "AES: both sides list AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM", "differs");
	CHECK(list_is(tls_suites_for(0, 1), chacha_first),
	      "ChaCha: a client lists ChaCha20-Poly1305 first, then the AES suites", "differs");
	CHECK(list_is(tls_suites_for(1, 1), chacha_only),
	      "ChaCha: a server enables ChaCha20-Poly1305 alone", "differs");

	unsetenv("DIPUS_TLS_SUITES");
	CHECK(tls_suites_prefer_chacha() == !tls_cpu_has_aes(), "unset: the CPU decides", "no");
	setenv("DIPUS_TLS_SUITES", "auto", 1);
	CHECK(tls_suites_prefer_chacha() == !tls_cpu_has_aes(), "DIPUS_TLS_SUITES=auto: the CPU decides", "no");
	setenv("DIPUS_TLS_SUITES", "chacha", 1);
	CHECK(tls_suites_prefer_chacha() == 1 && list_is(tls_suites(1), chacha_only) &&
	      list_is(tls_suites(0), chacha_first), "DIPUS_TLS_SUITES=chacha", "not ChaCha");
	setenv("DIPUS_TLS_SUITES", "aes", 1);
	CHECK(tls_suites_prefer_chacha() == 0 && list_is(tls_suites(1), aes_first) &&
	      list_is(tls_suites(0), aes_first), "DIPUS_TLS_SUITES=aes", "not AES");

	/* a bad value: one warning, naming the variable, and the CPU's choice */
	fflush(stderr);
	int saved = dup(2), p[2];
	if (saved < 0 || pipe(p) < 0)
		exit(2);
	dup2(p[1], 2);
	setenv("DIPUS_TLS_SUITES", "blowfish", 1);
	int c1 = tls_suites_prefer_chacha(), c2 = tls_suites_prefer_chacha();
	fflush(stderr);
	dup2(saved, 2);
	close(saved), close(p[1]);
	char buf[512];
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = 0;
	int lines = 0;
	for (char *s = buf; (s = strchr(s, '\n')); s++)
		lines++;
	CHECK(c1 == !tls_cpu_has_aes() && c2 == c1 && lines == 1 &&
	      strstr(buf, "DIPUS_TLS_SUITES=blowfish: not 'chacha', 'aes' or 'auto' (ignored)"),
	      "DIPUS_TLS_SUITES=blowfish: warned once, the CPU decides", "choice %d, stderr '%s'",
	      c1, buf);
	unsetenv("DIPUS_TLS_SUITES");
}

/* One handshake in this process over a socketpair: the suite both ends report, or an
 * error in why. client/server: the value of $DIPUS_TLS_SUITES when each side's
 * configuration is made (NULL: unset). */
static int handshake(const char *client, const char *server, char *suite, char *why, size_t len)
{
	char err[1024] = "";
	int sp[2], rc = -1;
	struct tls_ctx *cx = NULL, *sx = NULL;
	struct tls_conn *c = NULL, *s = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
		exit(2);
	if (server) setenv("DIPUS_TLS_SUITES", server, 1); else unsetenv("DIPUS_TLS_SUITES");
	sx = tls_ctx_new(TLS_SERVER, err, sizeof err);
	if (client) setenv("DIPUS_TLS_SUITES", client, 1); else unsetenv("DIPUS_TLS_SUITES");
	cx = tls_ctx_new(TLS_CLIENT, err, sizeof err);
	unsetenv("DIPUS_TLS_SUITES");
	if (!sx || !cx) {
		snprintf(why, len, "ctx: %s", err);
		goto out;
	}
	c = tls_conn_new(cx, sp[0], "peer:7150", 0);
	s = tls_conn_new(sx, sp[1], "client", 0);
	int cd = 1, sd = 1;
	for (int i = 0; i < 200 && (cd || sd); i++) {
		if (cd && (cd = tls_handshake(c, err, sizeof err)) < 0)
			break;
		if (sd && (sd = tls_handshake(s, err, sizeof err)) < 0)
			break;
		struct pollfd p[2] = { { .fd = sp[0], .events = POLLIN }, { .fd = sp[1], .events = POLLIN } };
		if (cd || sd)
			poll(p, 2, 100);
	}
	if (cd || sd) {
		snprintf(why, len, "handshake: %s", err[0] ? err : "did not finish");
		goto out;
	}
	const char *a = tls_conn_suite(c), *b = tls_conn_suite(s);
	if (!a[0] || strcmp(a, b)) {
		snprintf(why, len, "client '%s', server '%s'", a, b);
		goto out;
	}
	snprintf(suite, 64, "%s", a);
	rc = 0;
out:
	if (c) tls_conn_free(c);
	if (s) tls_conn_free(s);
	tls_ctx_free(cx);
	tls_ctx_free(sx);
	close(sp[0]), close(sp[1]);
	return rc;
}

static void test_handshakes(void)
{
	static const struct { const char *c, *s, *want; } m[] = {
		{ "aes", "aes", AES128 },
		{ "chacha", "chacha", CHACHA },
		{ "chacha", "aes", CHACHA },      /* the client's first choice, taken */
		{ "aes", "chacha", CHACHA },      /* the server offers nothing else */
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		char suite[64] = "", why[1200] = "", name[160];
		snprintf(name, sizeof name, "handshake: client %s, server %s: %s", m[i].c, m[i].s,
		         m[i].want);
		int r = handshake(m[i].c, m[i].s, suite, why, sizeof why);
		CHECK(r == 0 && !strcmp(suite, m[i].want), name, "%s", r ? why : suite);
	}
	char suite[64] = "", why[1200] = "";
	int r = handshake(NULL, NULL, suite, why, sizeof why);
	const char *want = tls_cpu_has_aes() ? AES128 : CHACHA;
	char name[160];
	snprintf(name, sizeof name, "handshake, both sides' CPU choice: %s", want);
	CHECK(r == 0 && !strcmp(suite, want), name, "%s", r ? why : suite);
}

int main(void)
{
	char dir[] = "/tmp/dipus-unit-suites.XXXXXX", fp[TLS_FP_MAX], err[1024];
	if (!mkdtemp(dir))
		return 2;
	setenv("DIPUS_CONF", dir, 1);
	if (tls_keygen(0, fp, err, sizeof err) < 0 || tls_authorize_add(fp, "self", err, sizeof err) < 0 ||
	    tls_known_hosts_add("peer:7150", fp, err, sizeof err) < 0) {
		printf("FAIL: tls-suites: setup: %s\n", err);
		return 1;
	}
	test_cpu();
	test_lists();
	test_handshakes();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_status();
}
