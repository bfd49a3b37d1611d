/* tls.h: keys, pinned fingerprints and TLS 1.3 sessions for SEP (doc/keys.md, doc/tls.md).
 *
 * Identity is a key, not a name: every host has an ECDSA P-256 key and a self-signed
 * certificate; peers are recognised by the SHA-256 fingerprint of their public key,
 * pinned in known_hosts (client) and authorized_keys (exporter), as SSH does.
 * Errors are complete reasons written to err (no "dipus: applet:" prefix). */
#ifndef DIPUS_TLS_H
#define DIPUS_TLS_H

#include <stddef.h>
#include <sys/types.h>

#define TLS_FP_MAX 64           /* "SHA256:" + 43 base64 characters + NUL */
#define TLS_HANDSHAKE_MS 10000  /* default bound on a handshake */

/* $DIPUS_CONF, else /etc/dipus for root, else ~/.config/dipus. Looked up at each use:
 * the pin files are read at every handshake from the dir current then. */
const char *tls_conf_dir(void);

/* Create key.pem (0600) and cert.pem in the config dir (made 0700 if missing).
 * Refuses to overwrite unless force (errno EEXIST). Writes the fingerprint into fp.
 * 0 or -1 (errno EPERM: an unsafe config dir). */
int tls_keygen(int force, char fp[TLS_FP_MAX], char *err, size_t errlen);
/* Fingerprint of the existing key. 0 or -1; errno EPERM when key.pem is refused for
 * its owner or permissions ("key.pem: permissions 0644 are too open; chmod 600 ..."). */
int tls_key_fingerprint(char fp[TLS_FP_MAX], char *err, size_t errlen);
/* 1 if fp is "SHA256:" and 43 base64 characters (no padding). */
int tls_fp_valid(const char *fp);

/* Pin files are refused (-1, errno EPERM) unless owned by us or root and not writable
 * by group or others, as sshd's StrictModes does; lines starting with # are comments.
 * known_hosts: "host:port SHA256:..." lines ("[v6]:port" and "v6:port" are the same;
 * host names match without case). 0 pinned and equal (any of the host's lines), 1 not
 * pinned, -1 pinned to another key (err names both fingerprints and the line to
 * remove) or an unreadable/unsafe file. */
int tls_known_hosts_check(const char *hostport, const char *fp, char *err, size_t errlen);
int tls_known_hosts_add(const char *hostport, const char *fp, char *err, size_t errlen);
/* 1 if fp is pinned in known_hosts under any name (a discovered exporter is found by
 * its key, not by the address it answered from), else 0 (also for an unreadable file). */
int tls_known_hosts_has_fp(const char *fp);
/* authorized_keys: "SHA256:... [comment]" lines; a line "*" lets any key that proves
 * itself in the handshake in (opt-in, doc/keys.md). tls_authorized reads the file and
 * matches fp exactly (not "*"): 1 listed, 0 not, -1 error. */
int tls_authorized(const char *fp, char *err, size_t errlen);
/* Append "fp comment" to authorized_keys (made 0600): 0 added, 1 there already, -1. */
int tls_authorize_add(const char *fp, const char *comment, char *err, size_t errlen);

/* A configuration: our key and certificate, TLS 1.3 only, mutual authentication. */
enum tls_role { TLS_CLIENT, TLS_SERVER };
struct tls_ctx;
struct tls_ctx *tls_ctx_new(enum tls_role role, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *x);
/* Server: authorized_keys is read into memory when the context is made (a file that is
 * unsafe or unreadable fails tls_ctx_new), and again here (SIGHUP); handshakes then
 * never read the file. On -1 the keys loaded before stay in force. */
#define TLS_AUTH_MAX 4096
int tls_ctx_load_authorized(struct tls_ctx *x, char *err, size_t errlen);
/* Load it again if the file changed since (a stat per call): adding a key needs no
 * restart. A file we cannot reach any more (after a privilege drop) changes nothing. */
void tls_ctx_refresh_authorized(struct tls_ctx *x);
/* How many keys are loaded; *any set if "*" is among them. */
size_t tls_ctx_authorized_count(const struct tls_ctx *x, int *any);
const char *tls_ctx_fingerprint(const struct tls_ctx *x);  /* our own key's */

/* One session over a connected, non-blocking socket fd (the caller owns the fd).
 * Client: peer is "host:port", checked against known_hosts; with trust_unknown an
 * unpinned key is accepted (dipus trust) and can be read with tls_peer_fingerprint.
 * Server: the client's key must be in authorized_keys; no certificate, no entry; with
 * trust_unknown any key the client proves is let in (dipus pair, where a person checks). */
struct tls_conn;
struct tls_conn *tls_conn_new(struct tls_ctx *x, int fd, const char *peer, int trust_unknown);
/* Client, before the handshake: the exporter must show exactly the key fp, and fp must
 * be pinned in known_hosts under any name (tls_known_hosts_has_fp), whatever host:port
 * it was reached at: for an exporter found by its key (discovery). Otherwise the
 * handshake fails: errno EPERM "showed key X, not the expected Y" (both named), or
 * ENOKEY "not trusted here". -1/EINVAL for a server or a malformed fp. */
int tls_conn_expect(struct tls_conn *c, const char *fp);
/* Advance the handshake: 0 done, 1 wants the fd readable, 2 writable, -1 failed
 * (err says why: unknown key, changed key, no certificate, not TLS 1.3, not TLS; errno
 * the kind: ENOKEY the exporter's key is not pinned here, EPERM a changed pin (or not
 * the expected key), EACCES our key refused (either side), EBUSY the exporter
 * is busy, ENODATA the peer left before sending a byte (a probe), ECONNRESET the
 * connection ended, EPROTO anything else). */
int tls_handshake(struct tls_conn *c, char *err, size_t errlen);
/* Drive the handshake to the end within ms, polling the fd. 0 or -1 with err. */
int tls_handshake_wait(struct tls_conn *c, unsigned ms, char *err, size_t errlen);
/* The peer's key, set when its certificate arrives (also when it is then refused, for
 * the log); proven only once tls_handshake returned 0. "" before. */
const char *tls_peer_fingerprint(const struct tls_conn *c);
/* 1 once the peer proved it holds that key. A client knows it before its handshake is
 * over: an exporter that then refuses our key has still shown its own (dipus trust). */
int tls_peer_verified(const struct tls_conn *c);
/* The negotiated cipher suite's name ("TLS1-3-CHACHA20-POLY1305-SHA256"), after the
 * handshake; "" before (the choice: core/tls-suites.c) */
const char *tls_conn_suite(const struct tls_conn *c);
/* After tls_read/tls_write failed (not EAGAIN): why, in words ("the exporter refused our
 * key SHA256:... (add it to ...)"); errno is EACCES for a refused key, ECONNRESET for a
 * connection cut without close_notify, EPROTO for bad records. "" if nothing to say. */
const char *tls_conn_error(const struct tls_conn *c);

/* The sep_io shape: -1/EAGAIN when it would block, 0 at the peer's close_notify (an
 * EOF without it is -1/ECONNRESET: a truncation is not an end). After a write returned
 * EAGAIN, the next write must offer at least the same bytes again (as mbedTLS needs). */
ssize_t tls_read(void *conn, void *buf, size_t n);
ssize_t tls_write(void *conn, const void *buf, size_t n);
size_t tls_pending(void *conn);   /* decrypted bytes waiting inside TLS */
int tls_wants_write(void *conn);  /* 1 while an encrypted record waits for the fd */
/* A quiet session (sep_io's idle): its record buffers' pages past the first go back to
 * the kernel where they hold nothing still needed (core/tls-mem.c) */
void tls_idle(void *conn);
void tls_conn_free(struct tls_conn *c); /* sends close_notify (best effort) */

/* Server: refuse a just-accepted connection because of our own bounds, telling the
 * client so (its handshake fails with errno EBUSY, "the exporter is busy"). Best effort,
 * never blocks; the caller closes fd. */
void tls_refuse_busy(int fd);

/* First byte of what the peer sent, without consuming it: 1 a TLS handshake record,
 * 0 something else (plaintext SEP), -1 nothing yet / error. For an exporter that must
 * tell a plaintext client it speaks TLS. */
int tls_peek_is_tls(int fd);

/* 1 when TLS records use the eight-block AES-GCM of core/tls-gcm.c (x86_64 with
 * AES-NI and PCLMULQDQ), 0 when mbedTLS's own GCM does them. */
int tls_gcm_fast(void);

#endif
