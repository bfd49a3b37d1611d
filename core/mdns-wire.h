/* mdns-wire.h: the DNS message codec of mDNS (RFC 1035 §4, RFC 6762 §18): pure, no
 * I/O, fuzzed (testsuite/fuzz/mdns-fuzz.c). Names are kept in uncompressed wire form
 * (length-prefixed labels, root 0), compared without ASCII case. doc/mdns.md. */
#ifndef DIPUS_MDNS_WIRE_H
#define DIPUS_MDNS_WIRE_H
#include <stddef.h>
#include <stdint.h>

#define MDNS_PORT 5353
#define MDNS_NAME_MAX 255          /* wire octets, root included (RFC 1035 §3.1) */
#define MDNS_RD_MAX 400            /* canonical rdata kept per record; bigger: rdlen 0, big 1 */
#define MDNS_MSG_Q 16              /* questions kept per message */
#define MDNS_MSG_RR 48             /* records kept per message (the rest parsed, not kept) */
#define MDNS_PKT_MAX 1472          /* what we send: one Ethernet MTU of UDP over IPv4 */

enum { MDNS_A = 1, MDNS_PTR = 12, MDNS_TXT = 16, MDNS_AAAA = 28, MDNS_SRV = 33, MDNS_ANY = 255 };
#define MDNS_IN 1
#define MDNS_FLUSH 0x8000          /* cache-flush bit of a record's class */
#define MDNS_QU 0x8000             /* unicast-response bit of a question's class */
#define MDNS_F_QR 0x8000
#define MDNS_F_AA 0x0400
#define MDNS_F_TC 0x0200
enum { MDNS_SEC_AN, MDNS_SEC_NS, MDNS_SEC_AR };

struct mdns_q {
	uint8_t name[MDNS_NAME_MAX];
	uint16_t type, cls;        /* cls without the QU bit */
	int qu;
};

struct mdns_rr {
	uint8_t name[MDNS_NAME_MAX];
	uint16_t type, cls;        /* cls without the cache-flush bit */
	uint8_t flush, sec, big;
	uint32_t ttl;
	uint16_t rdlen;            /* canonical: names in PTR/SRV rdata decompressed */
	uint8_t rd[MDNS_RD_MAX];
};

struct mdns_msg {
	uint16_t id, flags;
	unsigned nq, nrr;          /* kept */
	struct mdns_q q[MDNS_MSG_Q];
	struct mdns_rr rr[MDNS_MSG_RR];
};

/* Parse a whole message. 0, or -1: truncated, compression loop or forward pointer, bad
 * label, name over 255 octets, rdata not as its type says, bytes left over. */
int mdns_parse(const uint8_t *p, size_t len, struct mdns_msg *m);

/* Names. */
size_t mdns_name_len(const uint8_t *n);                 /* wire octets, root included */
int mdns_name_eq(const uint8_t *a, const uint8_t *b);   /* without ASCII case */
/* Compare as RFC 6762 §8.2 does rdata; <0, 0, >0. */
int mdns_bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Build: a text label (any bytes but NUL, 1..63) in front of suffix (wire, may be NULL
 * for the root); dotted plain text ("_dipus._tcp.local"). 0 or -1 when too long. */
int mdns_name_label(uint8_t out[MDNS_NAME_MAX], const char *label, const uint8_t *suffix);
int mdns_name_dotted(uint8_t out[MDNS_NAME_MAX], const char *text);
/* The first label as text, and the rest of the name (pointer into n). */
const uint8_t *mdns_name_first(const uint8_t *n, char *label, size_t len);
/* Presentation form, '.' and '\' inside labels escaped with '\'. */
void mdns_name_text(const uint8_t *n, char *buf, size_t len);

/* Writer. Sections go in order: questions, answers, authority, additional. A record
 * that does not fit is left out and w->trunc set; the message stays valid. */
struct mdns_wr {
	uint8_t *b;
	size_t cap, len;
	uint16_t count[4];         /* qd, an, ns, ar */
	int trunc;
	unsigned ncomp;
	uint16_t comp[64];         /* offsets of names written, for compression */
};
void mdns_wr_init(struct mdns_wr *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
int mdns_wr_q(struct mdns_wr *w, const uint8_t *name, uint16_t type, uint16_t cls);
/* rd is canonical (PTR/SRV target names uncompressed; they are compressed here). */
int mdns_wr_rr(struct mdns_wr *w, int sec, const uint8_t *name, uint16_t type, uint16_t cls,
               uint32_t ttl, const uint8_t *rd, size_t rdlen);
size_t mdns_wr_end(struct mdns_wr *w);   /* patch the counts; the message length */

/* TXT rdata: find "key=value" (key without case); value copied, NUL-terminated.
 * 1 found, 0 not. txt_add appends one string; -1 when it does not fit. */
int mdns_txt_get(const uint8_t *rd, size_t len, const char *key, char *val, size_t vlen);
int mdns_txt_add(uint8_t *rd, size_t *len, size_t cap, const char *kv);
#endif
