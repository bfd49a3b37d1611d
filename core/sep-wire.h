/* sep-wire.h: SEP's wire format (doc/sep.md): frame types, operations, lengths, and
 * the pure encode/decode functions of sep-frame.c, which the fuzzer drives. For the
 * engine (sep-session.c), what writes frames itself (sep-exporter.c's refusal), the
 * fuzzer and the unit tests; applets use sep.h's engine API and never see frames. */
#ifndef DIPUS_SEP_WIRE_H
#define DIPUS_SEP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "sep.h"

#define SEP_PREFACE "SEP/1\r\n"
#define SEP_PREFACE_LEN 7
#define SEP_HDR 9                     /* length u32, type u8, channel u32 (big-endian) */
#define SEP_MAX_PAYLOAD (64 * 1024 + 1024)  /* any frame's payload */
#define SEP_MAX_DATA (64 * 1024)      /* a DATA frame's payload (1..this) */
#define SEP_MIN_WINDOW 1024           /* windows announced in HELLO, OPEN, ACCEPT */
#define SEP_MAX_CREDIT 0x7fffffffu    /* a window, or credit after WINDOW increments */
#define SEP_MAX_QUERY (NS_PATH_MAX - 1)  /* 107 bytes */
#define SEP_MAX_TEXT 255              /* RESET/GOAWAY texts we send (we accept longer) */
#define SEP_RECORD_MIN 10             /* a RECORD with three empty strings */

enum sep_type {
	SEP_HELLO = 1, SEP_OPEN = 2, SEP_ACCEPT = 3, SEP_RESET = 4, SEP_DATA = 5, SEP_EOF = 6,
	SEP_WINDOW = 7, SEP_RECORD = 8, SEP_PING = 9, SEP_PONG = 10, SEP_GOAWAY = 11,
	SEP_PATHS = 12,  /* SEP/2 */
};
enum sep_op { SEP_OP_LIST = 1, SEP_OP_WATCH = 2, SEP_OP_CONNECT = 3 };
const char *sep_type_name(int type);

struct sep_frame {
	uint8_t type;
	uint32_t chan;
	uint32_t len;
	const uint8_t *p;   /* payload, len bytes */
};
/* Decode one frame at buf: >0 bytes of the whole frame when complete, 0 when more
 * bytes are needed, -1 when the length is over SEP_MAX_PAYLOAD (the stream is broken). */
int sep_frame_decode(const uint8_t *buf, size_t n, struct sep_frame *f);
/* Encode a header into out[SEP_HDR]. */
void sep_frame_header(uint8_t *out, uint8_t type, uint32_t chan, uint32_t len);

/* Payload parsers return NULL, or why the payload is malformed (a static string).
 * Builders return the payload length, 0 if it does not fit cap. */
struct sep_hello {
	uint8_t vmin, vmax;
	uint32_t window;
	uint16_t max_channels;
	char host[NS_HOST_MAX];
};
const char *sep_parse_hello(const struct sep_frame *f, struct sep_hello *h);
size_t sep_build_hello(uint8_t *out, size_t cap, const struct sep_hello *h);
struct sep_open {
	uint8_t op;
	uint32_t window;
	size_t query_len;
	char query[SEP_MAX_QUERY + 1];  /* may hold a NUL before query_len (refused later) */
};
const char *sep_parse_open(const struct sep_frame *f, struct sep_open *o);
size_t sep_build_open(uint8_t *out, size_t cap, int op, uint32_t window, const char *query);
const char *sep_parse_u32(const struct sep_frame *f, uint32_t *v);  /* ACCEPT, WINDOW */
/* PATHS (SEP/2, server to client): the absolute directory of each scope the server
 * offers, indexed by sep_scope_index(); "" for a scope not given. Each: an absolute,
 * printable path, 2..NS_PATH_MAX-1 bytes, no "." or ".." component, no "//". */
struct sep_paths {
	char dir[4][NS_PATH_MAX];
};
int sep_scope_index(unsigned scope);  /* 0..3 for NS_LOCAL..NS_IMPORTED, -1 else */
int sep_paths_dir_ok(const char *dir);  /* 1: a directory PATHS may carry */
const char *sep_parse_paths(const struct sep_frame *f, struct sep_paths *p);
size_t sep_build_paths(uint8_t *out, size_t cap, const struct sep_paths *p);
size_t sep_build_u32(uint8_t *out, uint32_t v);
/* RESET and GOAWAY: code, text (control characters become '?', cut to cap-1). */
const char *sep_parse_text(const struct sep_frame *f, int *code, char *text, size_t cap);
size_t sep_build_text(uint8_t *out, size_t cap, int code, const char *text);
/* RECORD: 0 ok, -1 malformed. The strings are validated (name without '.' or '/',
 * host a plain host name, proto components not empty and not starting with '.', n at
 * most NS_N_MAX) so a peer cannot plant paths; s->rel is filled in. */
int sep_parse_record(const struct sep_frame *f, int *event, struct ns_service *s);
size_t sep_build_record(uint8_t *out, size_t cap, int event, const struct ns_service *s);
/* A host name as records and HELLO carry it: 1..63 bytes, no space, '/', "..", no
 * leading or trailing dot. */
int sep_valid_host(const char *h);

#endif
