/* sep-frame.c: SEP's wire format (doc/sep.md §1-§5), pure functions without I/O or
 * state: what the fuzzer drives hardest. All integers are big-endian. Parsers check
 * every length against the frame before touching a byte and return NULL or the reason
 * the frame is malformed (a static string, the session puts it into its GOAWAY). */
#include "sep-wire.h"

#include <stdio.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

int sep_frame_decode(const uint8_t *buf, size_t n, struct sep_frame *f)
{
	if (n < SEP_HDR)
		return 0;
	uint32_t len = get32(buf);
	if (len > SEP_MAX_PAYLOAD)
		return -1;
	if (n < SEP_HDR + (size_t)len)
		return 0;
	f->len = len;
	f->type = buf[4];
	f->chan = get32(buf + 5);
	f->p = buf + SEP_HDR;
	return (int)(SEP_HDR + len);
}

void sep_frame_header(uint8_t *out, uint8_t type, uint32_t chan, uint32_t len)
{
	put32(out, len);
	out[4] = type;
	put32(out + 5, chan);
}

const char *sep_type_name(int type)
{
	static const char *const names[] = { "?", "HELLO", "OPEN", "ACCEPT", "RESET", "DATA",
		"EOF", "WINDOW", "RECORD", "PING", "PONG", "GOAWAY", "PATHS" };
	return type >= SEP_HELLO && type <= SEP_PATHS ? names[type] : "unknown";
}

/* ---- strings ---- */

/* Printable bytes only: nothing below 0x20, no DEL (doc/sep.md §1). */
static int printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/* A string of len bytes at *p (within end) into out[cap] (len < cap), NUL-terminated. */
static int take_str(const uint8_t **p, const uint8_t *end, size_t len, char *out, size_t cap)
{
	if ((size_t)(end - *p) < len || len >= cap || !printable(*p, len))
		return -1;
	memcpy(out, *p, len);
	out[len] = 0;
	*p += len;
	return 0;
}

int sep_valid_host(const char *h)
{
	char ignored[NS_ERR_MAX];
	return ns_check_host(h, ignored, sizeof ignored) == 0;
}

/* ---- PATHS ---- */

int sep_scope_index(unsigned scope)
{
	switch (scope) {
	case NS_LOCAL: return 0;
	case NS_EXPORTED: return 1;
	case NS_USERS: return 2;
	case NS_IMPORTED: return 3;
	default: return -1;
	}
}

/* An absolute directory as PATHS carries it: no ".", ".." or empty component, so that
 * dir + "/" + a record's path names what the server means (the peer only ever hands it
 * back to the server's side, never uses it here). */
static int paths_dir_ok(const uint8_t *p, size_t n)
{
	if (n < 2 || n >= NS_PATH_MAX || p[0] != '/' || p[n - 1] == '/' || !printable(p, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '/')
			continue;
		size_t j = i + 1;
		while (j < n && p[j] != '/')
			j++;
		size_t len = j - i - 1;
		if (len == 0 || (len == 1 && p[i + 1] == '.') ||
		    (len == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
			return 0;
	}
	return 1;
}

int sep_paths_dir_ok(const char *dir)
{
	return paths_dir_ok((const uint8_t *)dir, strlen(dir));
}

/* Entries: u8 scope (one of 1, 2, 4, 8), u8 len, len bytes; each scope at most once. */
const char *sep_parse_paths(const struct sep_frame *f, struct sep_paths *p)
{
	memset(p, 0, sizeof *p);
	size_t off = 0;
	while (off < f->len) {
		if (f->len - off < 2)
			return "short PATHS entry";
		int i = sep_scope_index(f->p[off]);
		size_t n = f->p[off + 1];
		if (i < 0)
			return "PATHS: unknown scope";
		if (f->len - off - 2 < n)
			return "PATHS entry longer than the frame";
		if (p->dir[i][0])
			return "PATHS: a scope twice";
		if (!paths_dir_ok(f->p + off + 2, n))
			return "PATHS: not a plain absolute directory";
		memcpy(p->dir[i], f->p + off + 2, n);
		p->dir[i][n] = 0;
		off += 2 + n;
	}
	return NULL;
}

size_t sep_build_paths(uint8_t *out, size_t cap, const struct sep_paths *p)
{
	size_t off = 0;
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(p->dir[i]);
		if (!n)
			continue;
		if (!paths_dir_ok((const uint8_t *)p->dir[i], n) || off + 2 + n > cap)
			return 0;
		out[off] = (uint8_t)(1u << i);
		out[off + 1] = (uint8_t)n;
		memcpy(out + off + 2, p->dir[i], n);
		off += 2 + n;
	}
	return off;
}

/* ---- HELLO ---- */

const char *sep_parse_hello(const struct sep_frame *f, struct sep_hello *h)
{
	memset(h, 0, sizeof *h);
	if (f->len < 9)
		return "short HELLO";
	const uint8_t *p = f->p;
	h->vmin = p[0];
	h->vmax = p[1];
	h->window = get32(p + 2);
	h->max_channels = get16(p + 6);
	size_t hl = p[8];
	if (9 + hl != f->len)
		return "HELLO length does not match its host name";
	if (hl >= NS_HOST_MAX || !printable(p + 9, hl))
		return "bad HELLO host name";
	memcpy(h->host, p + 9, hl);
	h->host[hl] = 0;
	if (h->vmin > h->vmax)
		return "HELLO version range is empty";
	for (size_t i = 0; i < hl; i++)
		if (h->host[i] == ' ' || h->host[i] == '/')
			return "bad HELLO host name";
	return NULL;
}

size_t sep_build_hello(uint8_t *out, size_t cap, const struct sep_hello *h)
{
	size_t hl = strlen(h->host);
	if (hl >= NS_HOST_MAX || 9 + hl > cap)
		return 0;
	out[0] = h->vmin;
	out[1] = h->vmax;
	put32(out + 2, h->window);
	put16(out + 6, h->max_channels);
	out[8] = (uint8_t)hl;
	memcpy(out + 9, h->host, hl);
	return 9 + hl;
}

/* ---- OPEN / ACCEPT / WINDOW ---- */

const char *sep_parse_open(const struct sep_frame *f, struct sep_open *o)
{
	memset(o, 0, sizeof *o);
	if (f->len < 7)
		return "short OPEN";
	o->op = f->p[0];
	o->window = get32(f->p + 1);
	size_t ql = get16(f->p + 5);
	if (7 + ql != f->len)
		return "bad OPEN query length";
	if (ql > SEP_MAX_QUERY)
		return "OPEN query too long";
	if (o->op < SEP_OP_LIST || o->op > SEP_OP_CONNECT)
		return "OPEN with an unknown operation";
	if (o->window < SEP_MIN_WINDOW || o->window > SEP_MAX_CREDIT)
		return "OPEN window out of range";
	memcpy(o->query, f->p + 7, ql);
	o->query[ql] = 0;
	o->query_len = ql;
	return NULL;
}

size_t sep_build_open(uint8_t *out, size_t cap, int op, uint32_t window, const char *query)
{
	size_t ql = strlen(query);
	if (ql > SEP_MAX_QUERY || 7 + ql > cap)
		return 0;
	out[0] = (uint8_t)op;
	put32(out + 1, window);
	put16(out + 5, (unsigned)ql);
	memcpy(out + 7, query, ql);
	return 7 + ql;
}

const char *sep_parse_u32(const struct sep_frame *f, uint32_t *v)
{
	if (f->len != 4)
		return "payload is not 4 bytes";
	*v = get32(f->p);
	return NULL;
}

size_t sep_build_u32(uint8_t *out, uint32_t v)
{
	put32(out, v);
	return 4;
}

/* ---- RESET / GOAWAY ---- */

const char *sep_parse_text(const struct sep_frame *f, int *code, char *text, size_t cap)
{
	*code = 0;
	if (cap)
		text[0] = 0;
	if (f->len < 4)
		return "short payload (code and text)";
	*code = get16(f->p);
	size_t tl = get16(f->p + 2);
	if (4 + tl != f->len)
		return "text length does not match the payload";
	if (!cap)
		return NULL;
	/* for people: control characters are shown as '?', long texts cut */
	if (tl >= cap)
		tl = cap - 1;
	for (size_t i = 0; i < tl; i++)
		text[i] = (f->p[4 + i] < 0x20 || f->p[4 + i] == 0x7f) ? '?' : (char)f->p[4 + i];
	text[tl] = 0;
	return NULL;
}

size_t sep_build_text(uint8_t *out, size_t cap, int code, const char *text)
{
	size_t tl = strlen(text);
	if (tl > SEP_MAX_TEXT)
		tl = SEP_MAX_TEXT;
	if (cap < 4 + tl)
		return 0;
	put16(out, (unsigned)code & 0xffff);
	put16(out + 2, (unsigned)tl);
	memcpy(out + 4, text, tl);
	/* what we send is printable too */
	for (size_t i = 0; i < tl; i++)
		if (out[4 + i] < 0x20 || out[4 + i] == 0x7f)
			out[4 + i] = '?';
	return 4 + tl;
}

/* ---- RECORD ---- */

int sep_parse_record(const struct sep_frame *f, int *event, struct ns_service *s)
{
	const uint8_t *p = f->p, *end = f->p + f->len;
	memset(s, 0, sizeof *s);
	*event = -1;
	if (f->len < SEP_RECORD_MIN)
		return -1;
	int ev = p[0];
	if (ev > SEP_REC_SYNC)
		return -1;
	if (ev == SEP_REC_SYNC) {
		/* scope 0, n 0, three empty strings */
		static const uint8_t sync[SEP_RECORD_MIN - 1];
		if (f->len != SEP_RECORD_MIN || memcmp(p + 1, sync, sizeof sync))
			return -1;
		*event = ev;
		return 0;
	}
	unsigned scope = p[1];
	if (scope != NS_LOCAL && scope != NS_EXPORTED && scope != NS_USERS && scope != NS_IMPORTED)
		return -1;
	s->scope = scope;
	uint32_t n = get32(p + 2);
	if (n > NS_N_MAX)
		return -1;
	s->n = n;
	p += 6;
	size_t nl = *p++;
	if (take_str(&p, end, nl, s->name, sizeof s->name) < 0 || p >= end)
		return -1;
	size_t hl = *p++;
	if (take_str(&p, end, hl, s->host, sizeof s->host) < 0 || end - p < 2)
		return -1;
	size_t pl = get16(p);
	p += 2;
	if (take_str(&p, end, pl, s->proto, sizeof s->proto) < 0 || p != end)
		return -1;
	/* a peer's record must not be able to name a path of its choosing: the
	 * namespace's own grammar (names.h) */
	if (!ns_names_ok(s->name, s->host, s->proto))
		return -1;
	if (snprintf(s->rel, sizeof s->rel, "%s%s%s.%s...%u", s->proto, *s->proto ? "/" : "",
	             s->name, s->host, s->n) >= (int)sizeof s->rel)
		return -1;
	s->mode = 0666;
	*event = ev;
	return 0;
}

size_t sep_build_record(uint8_t *out, size_t cap, int event, const struct ns_service *s)
{
	static const struct ns_service none;
	if (!s || event == SEP_REC_SYNC)
		s = &none;
	size_t nl = strlen(s->name), hl = strlen(s->host), pl = strlen(s->proto);
	size_t need = SEP_RECORD_MIN + nl + hl + pl;
	if (need > cap || nl > 255 || hl > 255 || pl > 65535)
		return 0;
	uint8_t *p = out;
	*p++ = (uint8_t)event;
	*p++ = (uint8_t)s->scope;
	p = put32(p, s->n);
	*p++ = (uint8_t)nl;
	memcpy(p, s->name, nl);
	p += nl;
	*p++ = (uint8_t)hl;
	memcpy(p, s->host, hl);
	p += hl;
	p = put16(p, (unsigned)pl);
	memcpy(p, s->proto, pl);
	return need;
}
