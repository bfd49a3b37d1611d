/* tls.c: keys, pins and TLS sessions (core/tls.c).
 *
 * Fingerprints against a reference vector computed by OpenSSL; keygen (modes, no
 * silent overwrite); refusal of key and pin files others could read or write;
 * known_hosts (comments, case, [v6], several pins, changed key, overlong lines,
 * appending); authorized_keys; and real TLS 1.3 sessions over socketpairs, the server
 * in a forked child with its own config dir: mutual auth and data both ways with
 * EAGAIN semantics, close_notify, a refused client key, a changed and an unknown
 * exporter key, plaintext peers both ways, a cut connection, fork-safe randomness;
 * a record buffer's pages handed back after a handshake (tls-mem.c). */
#include "tls.h"
#include "tls-mem.h"
#include "util.h"

#include "psa/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* A P-256 key and certificate made by openssl, and the fingerprint OpenSSL computes:
 * openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
 *     openssl dgst -sha256 -binary | base64 | tr -d = */
static const char fixed_key[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIFOBeuPEgGNi/K0pJnTQvt4eouTYTxXxSjfqEPxTNFqLoAoGCCqGSM49\n"
	"AwEHoUQDQgAE2PNYJ4k+S0yu32h8i1xHcKSGZ1BE2YIFawsP/SJoW5SyTgwT5Eai\n"
	"zfdTuOIWZcgo+rl+I+DcgySlznZooQNQIQ==\n"
	"-----END EC PRIVATE KEY-----\n";
static const char fixed_crt[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBdjCCAR2gAwIBAgIUSc6fSIN6MLKopu1Jom030YfoW84wCgYIKoZIzj0EAwIw\n"
	"EDEOMAwGA1UEAwwFZml4ZWQwIBcNMjYxMTI0MTgwNTE3WhgPMjEyNjEwMzExODA1\n"
	"MTdaMBAxDjAMBgNVBAMMBWZpeGVkMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
	"2PNYJ4k+S0yu32h8i1xHcKSGZ1BE2YIFawsP/SJoW5SyTgwT5EaizfdTuOIWZcgo\n"
	"+rl+I+DcgySlznZooQNQIaNTMFEwHQYDVR0OBBYEFEvfBVrOu+qFOhLZO3d7lNM6\n"
	"YwXOMB8GA1UdIwQYMBaAFEvfBVrOu+qFOhLZO3d7lNM6YwXOMA8GA1UdEwEB/wQF\n"
	"MAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgKRCBSrAFFI+hE5MhRLURUF7BZgdI4pwt\n"
	"o4akYJx0p9ICIHERgDYaCEft7603cJpvQMgYiaTgkbFIEkHqCEHO3208\n"
	"-----END CERTIFICATE-----\n";
static const char fixed_fp[] = "SHA256:PmYCCPRtQA2wBq+lvpaC5O77G2RhPtJsIjsw7ab2r0s";
static const char fp_a[] = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char fp_b[] = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

static char base[256];

static void conf(const char *name)
{
	char d[400];
	snprintf(d, sizeof d, "%s/%s", base, name);
	setenv("DIPUS_CONF", d, 1);
}

static void put(const char *file, const char *text, mode_t mode)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", tls_conf_dir(), file);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0) {
		perror(p);
		exit(2);
	}
	fchmod(fd, mode);
	close(fd);
}

static mode_t mode_of(const char *file)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", tls_conf_dir(), file);
	return stat(p, &st) < 0 ? (mode_t)-1 : st.st_mode & 07777;
}

static void do_chmod(const char *file, mode_t mode)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", tls_conf_dir(), file);
	if (chmod(p, mode) < 0)
		perror(p);
}

static int has(const char *s, const char *sub)
{
	return strstr(s, sub) != NULL;
}

/* ---- files ---- */

static void test_fingerprint_format(void)
{
	CHECK(tls_fp_valid(fixed_fp) && tls_fp_valid(fp_a), "fp/valid", "rejected");
	CHECK(!tls_fp_valid("SHA256:PmYCCPRtQA2wBq+lvpaC5O77G2RhPtJsIjsw7ab2r0s=") &&
	      !tls_fp_valid("SHA256:PmYCCPRtQA2wBq+lvpaC5O77G2RhPtJsIjsw7ab2r0") &&
	      !tls_fp_valid("sha256:PmYCCPRtQA2wBq+lvpaC5O77G2RhPtJsIjsw7ab2r0s") &&
	      !tls_fp_valid("SHA256:PmYCCPRtQA2wBq+lvpaC5O77G2RhPtJsIjsw7ab2r-s") &&
	      !tls_fp_valid("MD5:aa") && !tls_fp_valid(""),
	      "fp/invalid-forms", "accepted");
	conf("fixed");
	mkdir(tls_conf_dir(), 0700);
	put("key.pem", fixed_key, 0600);
	put("cert.pem", fixed_crt, 0644);
	char fp[TLS_FP_MAX] = "", err[1024] = "";
	int r = tls_key_fingerprint(fp, err, sizeof err);
	CHECK(r == 0 && !strcmp(fp, fixed_fp), "fp/openssl-reference-vector",
	      "r %d, got '%s', want '%s' (%s)", r, fp, fixed_fp, err);
	char e2[1024];
	struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, e2, sizeof e2);
	CHECK(x && !strcmp(tls_ctx_fingerprint(x), fixed_fp), "fp/ctx-own-fingerprint", "%s", x ? tls_ctx_fingerprint(x) : e2);
	tls_ctx_free(x);
}

static void test_keygen(char fpa[TLS_FP_MAX])
{
	char fp[TLS_FP_MAX], fp2[TLS_FP_MAX], err[1024] = "";
	conf("a");
	int r = tls_keygen(0, fp, err, sizeof err);
	CHECK(r == 0 && tls_fp_valid(fp), "keygen/creates", "r %d fp '%s': %s", r, fp, err);
	CHECK(mode_of("key.pem") == 0600 && mode_of("cert.pem") == 0644 && mode_of(".") == 0700,
	      "keygen/modes", "key %o cert %o dir %o", (unsigned)mode_of("key.pem"),
	      (unsigned)mode_of("cert.pem"), (unsigned)mode_of("."));
	r = tls_key_fingerprint(fp2, err, sizeof err);
	CHECK(r == 0 && !strcmp(fp, fp2), "keygen/-y-same", "'%s' vs '%s'", fp, fp2);
	err[0] = 0;
	errno = 0;
	r = tls_keygen(0, fp2, err, sizeof err);
	CHECK(r < 0 && errno == EEXIST && has(err, "a key exists already; -f replaces it"),
	      "keygen/refuses-overwrite", "r %d errno %d: %s", r, errno, err);
	tls_key_fingerprint(fp2, err, sizeof err);
	CHECK(!strcmp(fp, fp2), "keygen/key-unchanged", "'%s' vs '%s'", fp, fp2);
	r = tls_keygen(1, fp2, err, sizeof err);
	CHECK(r == 0 && strcmp(fp, fp2), "keygen/-f-new-key", "r %d: %s", r, err);
	char fp3[TLS_FP_MAX];
	tls_key_fingerprint(fp3, err, sizeof err);
	CHECK(!strcmp(fp2, fp3), "keygen/-f-fingerprint-is-the-key's", "'%s' vs '%s'", fp2, fp3);
	snprintf(fpa, TLS_FP_MAX, "%s", fp2);

	/* a config dir others can write to is refused, not used */
	conf("open");
	mkdir(tls_conf_dir(), 0700);
	chmod(tls_conf_dir(), 0777);
	errno = 0;
	r = tls_keygen(0, fp, err, sizeof err);
	CHECK(r < 0 && errno == EPERM && has(err, "0777") && has(err, "chmod 700"),
	      "keygen/world-writable-dir-refused", "r %d errno %d: %s", r, errno, err);
}

static void test_key_permissions(void)
{
	char fp[TLS_FP_MAX], err[1024] = "";
	conf("a");
	static const mode_t loose[] = { 0644, 0640, 0604, 0660, 0606 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		do_chmod("key.pem", loose[i]);
		err[0] = 0;
		errno = 0;
		int r = tls_key_fingerprint(fp, err, sizeof err);
		char want[64], name[64];
		snprintf(want, sizeof want, "key.pem: permissions %04o are too open; chmod 600", (unsigned)loose[i]);
		snprintf(name, sizeof name, "key-perms/%04o-refused", (unsigned)loose[i]);
		CHECK(r < 0 && errno == EPERM && has(err, want), name, "r %d errno %d: %s", r, errno, err);
	}
	do_chmod("key.pem", 0644);
	struct tls_ctx *x = tls_ctx_new(TLS_SERVER, err, sizeof err);
	CHECK(!x && has(err, "too open"), "key-perms/ctx-refuses-too", "%s", x ? "accepted" : err);
	tls_ctx_free(x);
	do_chmod("key.pem", 0400);
	int r = tls_key_fingerprint(fp, err, sizeof err);
	CHECK(r == 0, "key-perms/0400-ok", "%s", err);
	do_chmod("key.pem", 0600);

	/* a symlink in place of the key */
	char p[600], q[600];
	snprintf(p, sizeof p, "%s/key.pem", tls_conf_dir());
	snprintf(q, sizeof q, "%s/real.pem", tls_conf_dir());
	rename(p, q);
	if (symlink("real.pem", p) < 0)
		perror("symlink");
	errno = 0;
	r = tls_key_fingerprint(fp, err, sizeof err);
	CHECK(r < 0 && errno == EPERM && has(err, "symlink"), "key-perms/symlink-refused", "r %d: %s", r, err);
	unlink(p);
	rename(q, p);

	if (geteuid() == 0) {
		if (chown(p, 65534, 65534) < 0)
			perror("chown");
		errno = 0;
		r = tls_key_fingerprint(fp, err, sizeof err);
		CHECK(r < 0 && errno == EPERM && has(err, "not by you"), "key-perms/other-owner-refused",
		      "r %d: %s", r, err);
		if (chown(p, 0, 0) < 0)
			perror("chown");
	} else {
		printf("SKIP: key-perms/other-owner-refused: needs root to give the key away\n");
	}

	/* a certificate of another key */
	char crt[600], saved[600];
	snprintf(crt, sizeof crt, "%s/cert.pem", tls_conf_dir());
	snprintf(saved, sizeof saved, "%s/cert.saved", tls_conf_dir());
	rename(crt, saved);
	put("cert.pem", fixed_crt, 0644);
	x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
	CHECK(!x && has(err, "not the certificate of key.pem"), "key/cert-of-another-key-refused",
	      "%s", x ? "accepted" : err);
	tls_ctx_free(x);
	rename(saved, crt);
}

static void test_known_hosts(void)
{
	char err[1024] = "", text[2048];
	conf("kh");
	mkdir(tls_conf_dir(), 0700);
	CHECK(tls_known_hosts_check("host.example:7150", fp_a, err, sizeof err) == 1,
	      "known_hosts/no-file-not-pinned", "%s", err);
	/* an overlong line whose tail looks like a pin must not become one */
	char longc[700];
	memset(longc, 'x', sizeof longc);
	memcpy(longc, "# ", 2);
	snprintf(longc + 500, sizeof longc - 500, " evil:7150 %s", fp_b);
	snprintf(text, sizeof text,
	         "# pins\n"
	         "\n"
	         "other:7150 %s\n"
	         "host.example:7150 %s\n"
	         "   \t\n"
	         "%s\n"
	         "[::1]:7150 %s\n"
	         "rot:7150 %s\n"
	         "rot:7150 %s\n"
	         "comment:7150 %s trailing words\n", fp_b, fp_a, longc, fp_a, fp_a, fp_b, fp_a);
	put("known_hosts", text, 0644);
	CHECK(tls_known_hosts_check("host.example:7150", fp_a, err, sizeof err) == 0,
	      "known_hosts/pinned-same", "%s", err);
	CHECK(tls_known_hosts_check("HOST.Example:7150", fp_a, err, sizeof err) == 0,
	      "known_hosts/host-case-insensitive", "%s", err);
	CHECK(tls_known_hosts_check("host.example:7151", fp_a, err, sizeof err) == 1,
	      "known_hosts/other-port-not-pinned", "%s", err);
	CHECK(tls_known_hosts_check("host.exampl:7150", fp_a, err, sizeof err) == 1,
	      "known_hosts/no-prefix-match", "%s", err);
	CHECK(tls_known_hosts_check("::1:7150", fp_a, err, sizeof err) == 0 &&
	      tls_known_hosts_check("[::1]:7150", fp_a, err, sizeof err) == 0,
	      "known_hosts/ipv6-with-or-without-brackets", "%s", err);
	CHECK(tls_known_hosts_check("rot:7150", fp_a, err, sizeof err) == 0 &&
	      tls_known_hosts_check("rot:7150", fp_b, err, sizeof err) == 0,
	      "known_hosts/any-pin-of-the-host", "%s", err);
	CHECK(tls_known_hosts_check("comment:7150", fp_a, err, sizeof err) == 0,
	      "known_hosts/trailing-words-ignored", "%s", err);
	CHECK(tls_known_hosts_check("evil:7150", fp_b, err, sizeof err) == 1,
	      "known_hosts/overlong-line-skipped-whole", "the tail of a long line was read as a pin");
	err[0] = 0;
	int r = tls_known_hosts_check("host.example:7150", fp_b, err, sizeof err);
	char path[600];
	snprintf(path, sizeof path, "line 4 of %s/known_hosts", tls_conf_dir());
	CHECK(r == -1 && has(err, "CHANGED") && has(err, fp_a) && has(err, fp_b) && has(err, path),
	      "known_hosts/changed-key-names-both-and-the-line", "r %d: %s", r, err);

	/* appending: a last line without newline stays a line of its own */
	put("known_hosts", "x:1 SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0644);
	r = tls_known_hosts_add("new.example:7150", fp_b, err, sizeof err);
	CHECK(r == 0 && tls_known_hosts_check("new.example:7150", fp_b, err, sizeof err) == 0 &&
	      tls_known_hosts_check("x:1", fp_a, err, sizeof err) == 0,
	      "known_hosts/add-after-unterminated-line", "r %d: %s", r, err);
	CHECK(tls_known_hosts_add("a b:1", fp_a, err, sizeof err) < 0 &&
	      tls_known_hosts_add("#x:1", fp_a, err, sizeof err) < 0 &&
	      tls_known_hosts_add("x:1\nevil:1", fp_a, err, sizeof err) < 0 &&
	      tls_known_hosts_add("ok:1", "SHA256:short", err, sizeof err) < 0,
	      "known_hosts/add-refuses-malformed", "accepted");

	/* a pin file others could write is refused: it decides whom we trust */
	do_chmod("known_hosts", 0666);
	errno = 0;
	r = tls_known_hosts_check("new.example:7150", fp_b, err, sizeof err);
	CHECK(r == -1 && errno == EPERM && has(err, "0666"), "known_hosts/world-writable-refused",
	      "r %d: %s", r, err);
	r = tls_known_hosts_add("n2:1", fp_b, err, sizeof err);
	CHECK(r == -1 && has(err, "0666"), "known_hosts/add-to-world-writable-refused", "r %d: %s", r, err);
	do_chmod("known_hosts", 0620);
	r = tls_known_hosts_check("new.example:7150", fp_b, err, sizeof err);
	CHECK(r == -1, "known_hosts/group-writable-refused", "r %d", r);
	do_chmod("known_hosts", 0644);
}

static void test_authorized_keys(void)
{
	char err[1024] = "", text[1024];
	conf("ak");
	mkdir(tls_conf_dir(), 0700);
	CHECK(tls_authorized(fp_a, err, sizeof err) == 0, "authorized_keys/no-file", "%s", err);
	snprintf(text, sizeof text,
	         "# who may connect\n"
	         "%s laptop of alice\n"
	         "\n"
	         "  \t%s\tbob\r\n"
	         "#%s commented out\n", fp_a, fixed_fp, fp_b);
	put("authorized_keys", text, 0600);
	CHECK(tls_authorized(fp_a, err, sizeof err) == 1, "authorized_keys/with-comment", "%s", err);
	CHECK(tls_authorized(fixed_fp, err, sizeof err) == 1, "authorized_keys/blanks-and-crlf", "%s", err);
	CHECK(tls_authorized(fp_b, err, sizeof err) == 0, "authorized_keys/commented-out", "accepted");
	CHECK(tls_authorized("laptop", err, sizeof err) == 0, "authorized_keys/comment-is-no-key", "accepted");
	do_chmod("authorized_keys", 0646);
	errno = 0;
	int r = tls_authorized(fp_a, err, sizeof err);
	CHECK(r == -1 && errno == EPERM && has(err, "0646"), "authorized_keys/world-writable-refused",
	      "r %d: %s", r, err);
	do_chmod("authorized_keys", 0644);
	r = tls_authorize_add(fp_b, "carol's phone", err, sizeof err);
	CHECK(r == 0 && tls_authorized(fp_b, err, sizeof err) == 1, "authorized_keys/add", "r %d: %s", r, err);
	r = tls_authorize_add(fp_b, "", err, sizeof err);
	CHECK(r == 1, "authorized_keys/add-twice-says-so", "r %d", r);
	CHECK(tls_authorize_add("SHA256:nope", "", err, sizeof err) < 0 &&
	      tls_authorize_add(fp_a, "two\nlines", err, sizeof err) < 0,
	      "authorized_keys/add-refuses-malformed", "accepted");
	CHECK(tls_authorize_add(fixed_fp, "x\ny", err, sizeof err) < 0, "authorized_keys/add-one-line-comment",
	      "accepted");
}

/* ---- sessions ---- */

#define HS_MS 5000

/* Pump one non-blocking write fully (waiting on the fd at EAGAIN). */
static int write_fully(struct tls_conn *t, int fd, const unsigned char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = tls_write(t, buf + off, len - off);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, HS_MS) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Read until len bytes, EOF (0) or error; -2 on timeout. */
static ssize_t read_fully(struct tls_conn *t, int fd, unsigned char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = tls_read(t, buf + off, len - off);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n == 0)
			return off;
		if (errno != EAGAIN)
			return -1;
		if (tls_pending(t))
			continue;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, HS_MS) <= 0)
			return -2;
	}
	return off;
}

enum srv_mode { SRV_ECHO, SRV_HANDSHAKE_ONLY, SRV_CUT };

/* The server, in a child with config dir "a": exit 0 if it did what the mode asks,
 * 10 + r if the handshake failed (its error on the pipe). */
static pid_t server(int fd, enum srv_mode mode, int errpipe)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	conf("a");
	char err[1024] = "";
	struct tls_ctx *x = tls_ctx_new(TLS_SERVER, err, sizeof err);
	if (!x) {
		dprintf(errpipe, "ctx: %s", err);
		_exit(9);
	}
	struct tls_conn *t = tls_conn_new(x, fd, "client", 0);
	if (tls_handshake_wait(t, HS_MS, err, sizeof err) < 0) {
		dprintf(errpipe, "%s|fp=%s", err, tls_peer_fingerprint(t));
		_exit(10);
	}
	if (mode == SRV_HANDSHAKE_ONLY) {
		tls_conn_free(t);
		_exit(0);
	}
	if (mode == SRV_CUT) {
		write_fully(t, fd, (const unsigned char *)"partial", 7);
		shutdown(fd, SHUT_RDWR);  /* no close_notify: a cut */
		_exit(0);
	}
	/* echo until close_notify */
	unsigned char buf[20000];
	for (;;) {
		ssize_t n = tls_read(t, buf, sizeof buf);
		if (n > 0) {
			if (write_fully(t, fd, buf, n) < 0)
				_exit(3);
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN) {
			dprintf(errpipe, "read: %s %s", strerror(errno), tls_conn_error(t));
			_exit(4);
		}
		if (tls_pending(t))
			continue;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, HS_MS) <= 0)
			_exit(5);
	}
	tls_conn_free(t);
	_exit(0);
}

static int finish(pid_t pid, int errpipe, char *why, size_t len)
{
	int st = 0;
	waitpid(pid, &st, 0);
	ssize_t n = read(errpipe, why, len - 1);
	why[n > 0 ? n : 0] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

struct pair { int cfd, sfd, ep[2]; };

static void pair_open(struct pair *p)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(p->ep, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("socketpair");
		exit(2);
	}
	p->cfd = sp[0];
	p->sfd = sp[1];
}

/* len bytes (pattern mult) through the echo server, reads and writes interleaved so that
 * the echo cannot deadlock on full buffers; 1 when they came back equal */
static int echo_round(struct tls_conn *t, int fd, size_t len, unsigned mult, char *why, size_t wlen)
{
	unsigned char *out = malloc(len), *in = malloc(len);
	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)(i * mult + (i >> 9));
	size_t sent = 0, got = 0;
	int ok = 1;
	uint64_t end = now_ms() + 10000;
	while (got < len && ok && now_ms() < end) {
		if (sent < len) {
			ssize_t n = tls_write(t, out + sent, len - sent);
			if (n > 0)
				sent += n;
			else if (errno != EAGAIN)
				ok = 0;
		}
		ssize_t n = tls_read(t, in + got, len - got);
		if (n > 0)
			got += n;
		else if (n == 0 || errno != EAGAIN)
			ok = 0;
		else if (!tls_pending(t)) {
			struct pollfd pf = { .fd = fd, .events = POLLIN | (sent < len || tls_wants_write(t) ? POLLOUT : 0) };
			poll(&pf, 1, 100);
		}
	}
	ok = ok && got == len && !memcmp(in, out, len);
	if (!ok)
		snprintf(why, wlen, "got %zu of %zu: %s", got, len, tls_conn_error(t));
	free(out);
	free(in);
	return ok;
}

/* this process's resident pages (/proc/self/statm's second field), read from fd with no
 * allocation, so that nothing but the call measured moves it */
static long resident_pages(int fd)
{
	char b[128];
	long size, res;
	ssize_t n = fd >= 0 ? pread(fd, b, sizeof b - 1, 0) : -1;
	if (n <= 0)
		return -1;
	b[n] = 0;
	return sscanf(b, "%ld %ld", &size, &res) == 2 ? res : -1;
}

static void test_sessions(const char *fpa)
{
	char err[1024], why[1200], fpb[TLS_FP_MAX], kh[200];
	/* client "b": its key authorized on "a", a's key pinned as srv:7150 */
	conf("b");
	tls_keygen(0, fpb, err, sizeof err);
	snprintf(kh, sizeof kh, "srv:7150 %s\n", fpa);
	put("known_hosts", kh, 0644);
	conf("a");
	put("authorized_keys", "", 0600);
	tls_authorize_add(fpb, "b", err, sizeof err);

	/* mutual auth, data both ways, close_notify */
	{
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_ECHO, p.ep[1]);
		close(p.sfd);
		conf("b");
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = x ? tls_conn_new(x, p.cfd, "srv:7150", 0) : NULL;
		int r = t ? tls_handshake_wait(t, HS_MS, err, sizeof err) : -1;
		CHECK(r == 0 && !strcmp(tls_peer_fingerprint(t), fpa) && tls_peer_verified(t),
		      "session/mutual-auth", "r %d fp '%s': %s", r, t ? tls_peer_fingerprint(t) : "", err);
		if (r == 0) {
			char e1[300] = "", e2[300] = "";
			int ok1 = echo_round(t, p.cfd, 300000, 7, e1, sizeof e1);
			CHECK(ok1, "session/300KB-echo", "%s", e1);
			/* what a quiet SEP session does: the record buffers' pages go back (both
			 * were written in full by 16 KiB records: 4 pages each past the first), and
			 * the next records are whole and in order */
			int sfd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
			resident_pages(sfd);  /* once first: a sanitizer's interceptors set up on first use */
			long before = resident_pages(sfd);
			tls_idle(t);
			long after = resident_pages(sfd);
			close(sfd);
			CHECK(before > 0 && after > 0 && before - after >= 6, "session/idle-gives-back-record-pages",
			      "resident pages %ld -> %ld", before, after);
			int ok2 = ok1 && echo_round(t, p.cfd, 100000, 11, e2, sizeof e2);
			CHECK(ok2, "session/echo-after-idle-trim", "%s", ok1 ? e2 : "the first echo failed");
		}
		tls_conn_free(t);  /* close_notify */
		tls_ctx_free(x);
		close(p.cfd);
		int st = finish(pid, p.ep[0], why, sizeof why);
		CHECK(st == 0, "session/server-sees-close_notify-as-eof", "exit %d: %s", st, why);
		close(p.ep[0]);
		close(p.ep[1]);
	}

	/* the writer's EAGAIN: a reader that stops, then resumes */
	{
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_HANDSHAKE_ONLY, p.ep[1]);
		conf("b");
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = tls_conn_new(x, p.cfd, "srv:7150", 0);
		int r = tls_handshake_wait(t, HS_MS, err, sizeof err);
		finish(pid, p.ep[0], why, sizeof why);  /* the server is gone, sfd stays open, unread */
		/* less than one record (TLS output records are 4 KiB, one byte of which is the
		 * TLS 1.3 content type): each write is then one whole record, queued or sent */
		unsigned char chunk[4000];
		memset(chunk, 'x', sizeof chunk);
		size_t total = 0;
		ssize_t n = 0;
		while (r == 0 && total < (64u << 20) && (n = tls_write(t, chunk, sizeof chunk)) > 0)
			total += n;
		int again = n < 0 && errno == EAGAIN;
		CHECK(again && tls_wants_write(t), "session/write-eagain-when-full",
		      "after %zu bytes: n %zd errno %d wants %d", total, n, errno, tls_wants_write(t));
		/* offering fewer bytes than the record queued is refused, not duplicated */
		n = tls_write(t, chunk, 10);
		CHECK(n < 0 && errno == EINVAL, "session/retry-with-fewer-bytes-refused", "n %zd errno %d", n, errno);
		/* drain the peer's side raw; the queued record then goes out once */
		char sink[65536];
		while (read(p.sfd, sink, sizeof sink) > 0)
			;
		n = tls_write(t, chunk, sizeof chunk);
		CHECK(n == (ssize_t)sizeof chunk, "session/write-resumes", "n %zd errno %d", n, errno);
		tls_conn_free(t);
		tls_ctx_free(x);
		close(p.cfd);
		close(p.sfd);
		close(p.ep[0]);
		close(p.ep[1]);
	}

	/* a client key that is not in authorized_keys */
	{
		conf("c");
		char fpc[TLS_FP_MAX];
		tls_keygen(0, fpc, err, sizeof err);
		put("known_hosts", kh, 0644);
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_ECHO, p.ep[1]);
		close(p.sfd);
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = tls_conn_new(x, p.cfd, "srv:7150", 0);
		int r = tls_handshake_wait(t, HS_MS, err, sizeof err);
		int client_saw = 0;
		if (r == 0) {
			unsigned char b[16];
			write_fully(t, p.cfd, (const unsigned char *)"hello", 5);
			ssize_t n = read_fully(t, p.cfd, b, sizeof b);
			client_saw = n == -1 && errno == EACCES && has(tls_conn_error(t), "refused our key") &&
			             has(tls_conn_error(t), fpc);
			snprintf(err, sizeof err, "read %zd: %s", n, tls_conn_error(t));
		} else {
			client_saw = 1;  /* the server's refusal cut our handshake short */
		}
		CHECK(client_saw, "refuse/unknown-client-key-client-told", "%s", err);
		CHECK(tls_peer_verified(t) && !strcmp(tls_peer_fingerprint(t), fpa),
		      "refuse/server-key-proven-anyway", "verified %d", tls_peer_verified(t));
		tls_conn_free(t);
		tls_ctx_free(x);
		close(p.cfd);
		int st = finish(pid, p.ep[0], why, sizeof why);
		CHECK(st == 10 && has(why, "is not in") && has(why, "authorized_keys") && has(why, fpc),
		      "refuse/unknown-client-key-server-says-which", "exit %d: %s", st, why);
		close(p.ep[0]);
		close(p.ep[1]);
	}

	/* the exporter's key changed / is unknown */
	for (int k = 0; k < 3; k++) {
		conf("b");
		if (k == 0)
			snprintf(kh, sizeof kh, "srv:7150 %s\n", fp_a);  /* pinned to another key */
		else
			snprintf(kh, sizeof kh, "other:7150 %s\n", fpa);  /* not pinned */
		put("known_hosts", kh, 0644);
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_HANDSHAKE_ONLY, p.ep[1]);
		close(p.sfd);
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = tls_conn_new(x, p.cfd, "srv:7150", k == 2);
		err[0] = 0;
		int r = tls_handshake_wait(t, HS_MS, err, sizeof err);
		if (k == 0)
			CHECK(r < 0 && has(err, "CHANGED") && has(err, fp_a) && has(err, fpa),
			      "refuse/changed-server-key", "r %d: %s", r, err);
		else if (k == 1)
			CHECK(r < 0 && has(err, "unknown exporter key") && has(err, fpa) && has(err, "dipus trust"),
			      "refuse/unknown-server-key", "r %d: %s", r, err);
		else
			CHECK(r == 0 && !strcmp(tls_peer_fingerprint(t), fpa), "trust/unknown-key-accepted-for-trust",
			      "r %d: %s", r, err);
		tls_conn_free(t);
		tls_ctx_free(x);
		close(p.cfd);
		int st = finish(pid, p.ep[0], why, sizeof why);
		if (k == 0)
			CHECK(st == 10 && has(why, "refused") && has(why, fpa), "refuse/server-told-client-refused-it",
			      "exit %d: %s", st, why);
		close(p.ep[0]);
		close(p.ep[1]);
	}
	conf("b");
	snprintf(kh, sizeof kh, "srv:7150 %s\n", fpa);
	put("known_hosts", kh, 0644);

	/* plaintext SEP to a TLS server: a clear reason, at once */
	{
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_HANDSHAKE_ONLY, p.ep[1]);
		close(p.sfd);
		uint64_t t0 = now_ms();
		if (write(p.cfd, "SEP/1\r\n\0\0\0\0\0\0\0\0\0\0", 17) != 17)
			perror("write");
		int st = finish(pid, p.ep[0], why, sizeof why);
		CHECK(st == 10 && has(why, "does not speak TLS") && now_ms() - t0 < 3000,
		      "plaintext/client-to-tls-server", "exit %d after %llu ms: %s", st,
		      (unsigned long long)(now_ms() - t0), why);
		close(p.cfd);
		close(p.ep[0]);
		close(p.ep[1]);
	}
	/* a TLS client answered by plaintext SEP */
	{
		struct pair p;
		pair_open(&p);
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = tls_conn_new(x, p.cfd, "srv:7150", 0);
		if (write(p.sfd, "SEP/1\r\n\0\0\0\0\0\0\0\0\0\0", 17) != 17)
			perror("write");
		int r = tls_handshake_wait(t, HS_MS, err, sizeof err);
		CHECK(r < 0 && has(err, "does not speak TLS") && has(err, "sep+plain://"),
		      "plaintext/tls-client-to-plain-server", "r %d: %s", r, err);
		tls_conn_free(t);
		tls_ctx_free(x);
		close(p.cfd);
		close(p.sfd);
		close(p.ep[0]);
		close(p.ep[1]);
	}

	/* a connection cut without close_notify is an error, not an EOF */
	{
		struct pair p;
		pair_open(&p);
		pid_t pid = server(p.sfd, SRV_CUT, p.ep[1]);
		close(p.sfd);
		struct tls_ctx *x = tls_ctx_new(TLS_CLIENT, err, sizeof err);
		struct tls_conn *t = tls_conn_new(x, p.cfd, "srv:7150", 0);
		int r = tls_handshake_wait(t, HS_MS, err, sizeof err);
		unsigned char b[64];
		ssize_t n = r == 0 ? read_fully(t, p.cfd, b, 7) : -3;
		int e = 0;
		ssize_t m = n == 7 ? read_fully(t, p.cfd, b, sizeof b) : -3;
		e = errno;
		CHECK(n == 7 && m == -1 && e == ECONNRESET && has(tls_conn_error(t), "close_notify"),
		      "session/cut-is-not-eof", "n %zd m %zd errno %d: %s", n, m, e, tls_conn_error(t));
		finish(pid, p.ep[0], why, sizeof why);
		tls_conn_free(t);
		tls_ctx_free(x);
		close(p.cfd);
		close(p.ep[0]);
		close(p.ep[1]);
	}
}

/* two processes after fork() never draw the same bytes (PSA reseeds in the child) */
static void test_fork_rng(void)
{
	unsigned char a[32], b[32];
	int pp[2];
	if (psa_crypto_init() != PSA_SUCCESS || pipe(pp) < 0) {
		printf("FAIL: rng/fork: no PSA\n");
		failures++;
		return;
	}
	psa_generate_random(a, sizeof a);  /* the generator is in use before the fork */
	pid_t pid = fork();
	if (pid == 0) {
		psa_generate_random(b, sizeof b);
		_exit(write(pp[1], b, sizeof b) == sizeof b ? 0 : 1);
	}
	psa_generate_random(a, sizeof a);
	waitpid(pid, NULL, 0);
	ssize_t n = read(pp[0], b, sizeof b);
	CHECK(n == sizeof b && memcmp(a, b, sizeof a), "rng/fork-child-differs", "same bytes in parent and child");
	close(pp[0]);
	close(pp[1]);
}

/* dipus_tls_trim: a mapped block written in full (as PSA leaves the output record
 * buffer after a handshake) keeps its first page resident and intact; the pages past
 * it are no longer resident and read as zeros */
static void test_mem_trim(void)
{
	size_t len = 16384 + 400;
	unsigned char *p = dipus_tls_calloc(1, len), vec[8] = { 0 };
	/* the block's offset in its page, whatever tls-mem.c chose */
	size_t off = (uintptr_t)p & 4095, pages = (len + off + 4095) / 4096;
	if (!p || pages > sizeof vec) {
		printf("FAIL: tls-mem/trim: no block\n");
		failures++;
		return;
	}
	memset(p, 0xa5, len);
	dipus_tls_trim(p);
	int r = mincore(p - off, pages * 4096, vec);
	unsigned rest = 0;
	for (size_t i = 1; i < pages; i++)
		rest += vec[i] & 1;
	CHECK(r == 0 && (vec[0] & 1) && rest == 0, "tls-mem/trim-pages-returned",
	      "mincore %d: first page %s, %u of %zu later pages resident", r, vec[0] & 1 ? "in" : "out",
	      rest, pages - 1);
	CHECK(p[0] == 0xa5 && p[4096 - off - 1] == 0xa5 && p[4096 - off] == 0 && p[len - 1] == 0,
	      "tls-mem/trim-first-page-kept", "bytes %02x %02x | %02x %02x", p[0], p[4096 - off - 1],
	      p[4096 - off], p[len - 1]);
	dipus_tls_free(p);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(base, sizeof base, "%s/dipus-unit-tls.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 2;
	}
	setenv("DIPUS_HOST", "unit-test", 1);
	char fpa[TLS_FP_MAX] = "";
	test_fingerprint_format();
	test_keygen(fpa);
	test_key_permissions();
	test_known_hosts();
	test_authorized_keys();
	test_fork_rng();
	test_mem_trim();
	test_sessions(fpa);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd)) {}
	return check_status();
}
