/* sep-exporter.h: the exporter as a core module: listening sockets, peers (TLS
 * handshake, authorization, SEP session over sep-svr), their bounds and timers.
 * Used by the exporter applet and by dipusd (doc/exporter.md). CONTRACT: the API
 * below is what dipusd codes against; its implementation lands with issue 10. */
#ifndef DIPUS_SEP_EXPORTER_H
#define DIPUS_SEP_EXPORTER_H
#include <stddef.h>
struct loop;
struct sep_exporter;

#define SEP_EXPORTER_MAX_LISTEN 16

struct sep_exporter_cfg {
	const char *listen[SEP_EXPORTER_MAX_LISTEN]; /* "ADDR[:PORT]"; none: 0.0.0.0:7150 */
	unsigned nlisten;
	int plaintext;             /* SEP over plain TCP, no authentication */
	unsigned max_peers;        /* authenticated peers at once (default 64) */
	unsigned max_preauth;      /* peers still in the handshake (0: max_peers/4, >= 4); they
	                            * never take an authenticated peer's place */
	unsigned max_per_addr;     /* handshaking peers from one source address (0: half of
	                            * max_preauth, 1 to 4) */
	unsigned max_channels;     /* per peer (default 256) */
	unsigned handshake_ms;     /* accept to SEP ready (default 10000) */
	unsigned idle_ms;          /* 0: never (default 600000) */
	unsigned window;           /* per-channel window, bytes (default 262144) */
	int verbose;
};

/* Fill cfg with the defaults above. */
void sep_exporter_defaults(struct sep_exporter_cfg *cfg);
/* Bind every listen address (call before dropping privileges). Loads this host's key,
 * and authorized_keys into memory, so nothing under the config dir is read after a
 * privilege drop. Serving starts on sep_exporter_run(). NULL with err; errno ENOKEY
 * when the key, certificate or authorized_keys could not be loaded (a security
 * refusal), else the socket's error. The cfg strings need not outlive the call. */
struct sep_exporter *sep_exporter_bind(struct loop *lp, const struct sep_exporter_cfg *cfg,
                                       char *err, size_t errlen);
/* Start accepting peers on the loop (after the privilege drop: it says so when the user
 * we are cannot reach exported/, and what to run). A peer refused for these bounds is
 * told "the exporter is busy" (a TLS alert, or GOAWAY LIMIT in plaintext); repeated
 * refusals and pre-authentication failures are logged at most 5 per 10 s, then summed
 * up in one line. */
void sep_exporter_run(struct sep_exporter *ex);
/* Re-read authorized_keys (SIGHUP); peers already authenticated are kept. 0 or -1/err. */
int sep_exporter_reload_keys(struct sep_exporter *ex, char *err, size_t errlen);
/* The bound addresses, for advertising: up to max of "ADDR:PORT" strings written into
 * out[i] (each NS-sized 64). Returns how many. */
size_t sep_exporter_addrs(const struct sep_exporter *ex, char out[][64], size_t max);
/* This host's key fingerprint ("SHA256:..."), "" with --plaintext. */
const char *sep_exporter_fingerprint(const struct sep_exporter *ex);
/* Close every peer (goodbye), the listening sockets, free. NULL is fine. */
void sep_exporter_stop(struct sep_exporter *ex);
#endif
