/* sep-frame.c: SEP's wire format, pure functions (no I/O): what the fuzzer drives.
 * Layouts are in doc/sep.md; all integers are big-endian. */
#include "sep.h"

#include <stdio.h>
#include <string.h>

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
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

/* A string from the wire: within bounds, no NUL, no control characters. */
static int take_str(const uint8_t **p, const uint8_t *end, size_t len, char *out, size_t cap)
{
	if ((size_t)(end - *p) < len || len >= cap)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((*p)[i] < 0x20 || (*p)[i] == 0x7f)
			return -1;
	memcpy(out, *p, len);
	out[len] = 0;
	*p += len;
	return 0;
}

static int valid_proto(const char *proto)
{
	if (!*proto)
		return 1;
	const char *c = proto;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || c[0] == '.')
			return 0;
		if (!e)
			return 1;
		c = e + 1;
	}
}

int sep_parse_record(const struct sep_frame *f, int *event, struct ns_service *s)
{
	const uint8_t *p = f->p, *end = f->p + f->len;
	memset(s, 0, sizeof *s);
	if (f->len < 1 + 1 + 4 + 1)
		return -1;
	*event = p[0];
	if (*event > SEP_REC_SYNC)
		return -1;
	if (*event == SEP_REC_SYNC)
		return f->len == 1 + 1 + 4 + 1 + 1 + 2 ? 0 : -1;
	unsigned scope = p[1];
	if (scope != NS_LOCAL && scope != NS_EXPORTED && scope != NS_USERS && scope != NS_IMPORTED)
		return -1;
	s->scope = scope;
	s->n = get32(p + 2);
	p += 6;
	size_t nl = *p++;
	if (take_str(&p, end, nl, s->name, sizeof s->name) < 0 || p >= end)
		return -1;
	size_t hl = *p++;
	if (take_str(&p, end, hl, s->host, sizeof s->host) < 0 || end - p < 2)
		return -1;
	size_t pl = (size_t)p[0] << 8 | p[1];
	p += 2;
	if (take_str(&p, end, pl, s->proto, sizeof s->proto) < 0 || p != end)
		return -1;
	/* a peer's record must not be able to name a path of its choosing */
	if (!s->name[0] || strchr(s->name, '.') || strchr(s->name, '/') || !s->host[0] ||
	    strchr(s->host, '/') || strstr(s->host, "..") || !valid_proto(s->proto))
		return -1;
	if (snprintf(s->rel, sizeof s->rel, "%s%s%s.%s...%u", s->proto, *s->proto ? "/" : "",
	             s->name, s->host, s->n) >= (int)sizeof s->rel)
		return -1;
	s->mode = 0666;
	return 0;
}

size_t sep_build_record(uint8_t *out, size_t cap, int event, const struct ns_service *s)
{
	static const struct ns_service none;
	if (!s)
		s = &none;
	size_t nl = strlen(s->name), hl = strlen(s->host), pl = strlen(s->proto);
	size_t need = 1 + 1 + 4 + 1 + nl + 1 + hl + 2 + pl;
	if (need > cap || nl > 255 || hl > 255 || pl > 65535)
		return 0;
	uint8_t *p = out;
	*p++ = (uint8_t)event;
	*p++ = (uint8_t)s->scope;
	put32(p, s->n);
	p += 4;
	*p++ = (uint8_t)nl;
	memcpy(p, s->name, nl);
	p += nl;
	*p++ = (uint8_t)hl;
	memcpy(p, s->host, hl);
	p += hl;
	*p++ = (uint8_t)(pl >> 8);
	*p++ = (uint8_t)pl;
	memcpy(p, s->proto, pl);
	return need;
}
