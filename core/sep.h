/* sep.h: the SEP session engine (doc/sep.md is the protocol).
 *
 * One session is one byte stream to a peer (TCP, TLS, a pair of pipes to ssh) carrying
 * many channels. The engine runs on core/loop.h, non-blocking, and bridges CONNECT
 * channels to local descriptors itself, with per-channel credit: a slow reader stops
 * only its own channel, and memory per channel is bounded by its window.
 *
 * Client: sep_list(), sep_watch(), sep_connect(). Server: struct sep_server_ops.
 * The frames themselves are sep-wire.h's (the engine's and the fuzzer's, not applets'). */
#ifndef DIPUS_SEP_H
#define DIPUS_SEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ns.h"

struct loop;
struct sep_session;

/* The transport: -1/EAGAIN when it would block, 0 at end of stream. */
struct sep_io {
	void *ctx;
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	ssize_t (*write)(void *ctx, const void *buf, size_t n);
	size_t (*pending)(void *ctx);    /* bytes readable without the fd (TLS); may be NULL */
	int (*wants_write)(void *ctx);   /* output queued inside (TLS); may be NULL */
	void (*idle)(void *ctx);         /* the session is quiet: give back memory (TLS); may be NULL */
	int rfd, wfd;                    /* what the loop watches (may be equal) */
};
/* Plain descriptors: a socket (rfd == wfd) or a pair of pipes. Sets them non-blocking. */
void sep_io_fd(struct sep_io *io, int rfd, int wfd);

struct sep_limits {
	unsigned max_channels;     /* open channels per session (server refuses more) */
	uint32_t window;           /* bytes a peer may send us on one channel unacknowledged */
	unsigned max_frame;        /* largest DATA payload we send */
	unsigned handshake_ms;     /* HELLO must arrive within this */
	unsigned idle_ms;          /* nothing received for this long: the session ends */
	unsigned keepalive_ms;     /* PING when nothing was received for this long */
	unsigned max_records;      /* records one LIST answer may carry */
	unsigned accept_delay_ms;  /* server: a CONNECT's ACCEPT waits at most this long for the
	                            * service's first bytes, to go out with them (0: at once) */
};
#define SEP_DEFAULT_MAX_CHANNELS 1024
#define SEP_DEFAULT_WINDOW (256 * 1024)
#define SEP_DEFAULT_MAX_FRAME (64 * 1024)
#define SEP_DEFAULT_HANDSHAKE_MS 10000
#define SEP_DEFAULT_IDLE_MS 90000
#define SEP_DEFAULT_KEEPALIVE_MS 30000
#define SEP_DEFAULT_MAX_RECORDS 4096
/* A server's ACCEPT of a CONNECT goes out with the service's first DATA (or EOF, or
 * RESET, or a WINDOW), at the latest after this long, or at once when the client's
 * early data fills the HELLO window (doc/sep.md 4.1). */
#define SEP_DEFAULT_ACCEPT_DELAY_MS 2
void sep_limits_default(struct sep_limits *l);

/* The SEP versions this engine speaks (HELLO's range; mDNS's TXT sep=). */
#define SEP_VERSION_MIN 1
#define SEP_VERSION_MAX 2           /* 2 = 1 + the PATHS frame */
#define SEP_STR_(x) #x
#define SEP_STR(x) SEP_STR_(x)
#define SEP_VERSIONS SEP_STR(SEP_VERSION_MIN) "-" SEP_STR(SEP_VERSION_MAX)  /* "1-2" */

/* Error codes (RESET, REFUSE, GOAWAY), doc/sep.md. */
enum sep_code {
	SEP_OK = 0,
	SEP_E_PROTOCOL = 1,   /* malformed or unexpected frame */
	SEP_E_VERSION = 2,    /* no common version */
	SEP_E_LIMIT = 3,      /* a bound was exceeded */
	SEP_E_NOSERVICE = 4,  /* nothing matches the query */
	SEP_E_REFUSED = 5,    /* the service refused (dead, permission denied) */
	SEP_E_BADQUERY = 6,   /* the query is not acceptable here */
	SEP_E_INTERNAL = 7,
	SEP_E_TIMEOUT = 8,
	SEP_E_SHUTDOWN = 9,   /* the peer is going away */
	SEP_E_RESET = 10,     /* the channel's local end failed */
};
const char *sep_code_name(int code);

/* Record events on LIST and WATCH channels. */
enum sep_event {
	SEP_REC_PRESENT = 0,  /* a service that exists (LIST answer, WATCH snapshot) */
	SEP_REC_APPEARED = 1,
	SEP_REC_VANISHED = 2,
	SEP_REC_SYNC = 3,     /* WATCH: the snapshot is complete */
	SEP_REC_END = 4,      /* client side only: the LIST is complete */
	SEP_REC_ERROR = 5,    /* client side only: refused or reset (code, text) */
};

/* Client callbacks. */
typedef void sep_record_fn(void *arg, int event, const struct ns_service *s, int code,
                           const char *text);
#define SEP_CH_ACCEPTED 1     /* the server connected the channel to a service */
#define SEP_CH_CLOSED 2       /* the channel ended: code 0 normally, else the reason */
typedef void sep_chan_fn(void *arg, int ev, int code, const char *text);

/* Server side: what the serving process offers. connect returns a connected,
 * non-blocking stream socket the engine then owns alone (no other descriptor refers to
 * it, as for sep_connect_sock), or -1 with *code (SEP_E_*) and err. watch_start must
 * report the current set with sep_watch_event(SEP_REC_PRESENT...), then
 * SEP_REC_SYNC, then changes. */
struct sep_server_ops {
	int (*list)(void *arg, const char *query, struct ns_list *out, int *code, char *err, size_t errlen);
	int (*connect)(void *arg, const char *query, int *code, char *err, size_t errlen);
	int (*watch_start)(void *arg, struct sep_session *s, uint32_t chan, const char *query,
	                   int *code, char *err, size_t errlen);
	void (*watch_stop)(void *arg, struct sep_session *s, uint32_t chan);
	/* Optional, used instead of connect when set: CONNECT without blocking the loop.
	 * Return -1 with *code and err to refuse at once, or 0 and answer later (or from
	 * inside connect_start) with sep_connect_done(), exactly once, unless
	 * connect_cancel(arg, s, chan) came first (the client gave up, the session ended).
	 * Meanwhile the client's early data waits in the channel, no ACCEPT goes out. */
	int (*connect_start)(void *arg, struct sep_session *s, uint32_t chan, const char *query,
	                     int *code, char *err, size_t errlen);
	void (*connect_cancel)(void *arg, struct sep_session *s, uint32_t chan);
};
void sep_watch_event(struct sep_session *s, uint32_t chan, int event, const struct ns_service *svc);
/* connect_start's answer: fd (connected, non-blocking, ours alone, as connect returns),
 * or fd -1 with code and err for the RESET. */
void sep_connect_done(struct sep_session *s, uint32_t chan, int fd, int code, const char *err);

/* Session events. */
#define SEP_SESSION_READY 1   /* HELLO exchanged: sep_peer_host() is known */
#define SEP_SESSION_CLOSED 2  /* ended: code and reason; free it with sep_session_free */
typedef void sep_session_fn(void *arg, int ev, int code, const char *reason);

/* Start a session over io (the engine owns the fds' events, not the fds, which the
 * caller closes after sep_session_free). ops is NULL on a client. */
struct sep_session *sep_session_new(struct loop *lp, const struct sep_io *io, int is_server,
                                    const struct sep_limits *lim, const struct sep_server_ops *ops,
                                    void *ops_arg, const char *local_host, sep_session_fn *fn,
                                    void *arg);
void sep_session_close(struct sep_session *s, int code, const char *reason);
void sep_session_free(struct sep_session *s);
const char *sep_peer_host(const struct sep_session *s);
/* The SEP version agreed in HELLO (0 before). */
unsigned sep_session_version(const struct sep_session *s);
/* Server, before the session is ready: offer scope's absolute directory (a plain one:
 * no symlink games are checked here, only the form) in PATHS to a SEP/2 client, so a
 * client with another way in (SSH's direct-streamlocal channels) can reach a
 * service's socket as dir + "/" + its record's path. 0, or -1 (bad scope or dir). */
int sep_session_offer_dir(struct sep_session *s, unsigned scope, const char *dir);
/* Client: the directory the peer offered for scope in PATHS, or NULL (none, or a
 * SEP/1 peer, or PATHS not received yet: it comes right after the peer's HELLO). */
const char *sep_peer_dir(const struct sep_session *s, unsigned scope);
int sep_session_ready(const struct sep_session *s);
unsigned sep_session_channels(const struct sep_session *s);

/* Client operations; each returns a channel id, or 0 if the session cannot take one.
 * Callbacks are never called from inside these functions. */
uint32_t sep_list(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg);
uint32_t sep_watch(struct sep_session *s, const char *query, sep_record_fn *fn, void *arg);
/* Bridge a new channel to in_fd (read, sent as DATA) and out_fd (received DATA is
 * written there); they may be the same socket. The engine owns and closes them. */
uint32_t sep_connect(struct sep_session *s, const char *query, int in_fd, int out_fd,
                     sep_chan_fn *fn, void *arg);
/* The same over fd, a non-blocking stream socket that no other descriptor (nor another
 * process) refers to, e.g. one just accepted: the engine asks the kernel nothing about
 * it, and closes it without a shutdown() first when both directions are done. */
uint32_t sep_connect_sock(struct sep_session *s, const char *query, int fd, sep_chan_fn *fn,
                          void *arg);
/* Stop a channel from our side (RESET). Its callback is not called again. */
void sep_channel_cancel(struct sep_session *s, uint32_t chan);

/* Bytes held by the session right now: its transport output queue plus what every
 * channel holds for a local descriptor that is not taking it (each at most its window). */
size_t sep_session_buffered(const struct sep_session *s);

#endif
