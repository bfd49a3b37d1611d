/* mdns-wire.c: DNS messages as mDNS uses them (mdns-wire.h). Everything a peer sends is
 * checked against the packet's length; a compression pointer must point before the
 * start of the run of labels it ends, which makes loops impossible. */
#include "mdns-wire.h"

#include <string.h>

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A name at off, decompressed into out. Returns the offset after it, or -1. */
static long get_name(const uint8_t *p, size_t len, size_t off, uint8_t *out)
{
	size_t o = off, n = 0, seg = off;
	long end = -1;
	for (;;) {
		if (o >= len)
			return -1;
		unsigned c = p[o];
		if ((c & 0xc0) == 0xc0) {
			if (o + 1 >= len)
				return -1;
			size_t t = (c & 0x3f) << 8 | p[o + 1];
			/* only before where this segment started: each jump goes further back,
			 * so no loop can be built */
			if (t >= seg)
				return -1;
			if (end < 0)
				end = (long)o + 2;
			o = seg = t;
			continue;
		}
		if (c & 0xc0)           /* 0x40, 0x80: extended and unassigned label types */
			return -1;
		if (n + 1 + c > MDNS_NAME_MAX || o + 1 + c > len)
			return -1;
		out[n++] = (uint8_t)c;
		if (!c)
			return end >= 0 ? end : (long)o + 1;
		memcpy(out + n, p + o + 1, c);
		n += c;
		o += 1 + c;
	}
}

size_t mdns_name_len(const uint8_t *n)
{
	size_t i = 0;
	while (n[i])
		i += 1 + n[i];
	return i + 1;
}

int mdns_name_eq(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;
	for (;;) {
		if (a[i] != b[i])
			return 0;
		if (!a[i])
			return 1;
		for (size_t k = 1; k <= a[i]; k++)
			if (lower(a[i + k]) != lower(b[i + k]))
				return 0;
		i += 1 + a[i];
	}
}

int mdns_bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int mdns_name_label(uint8_t out[MDNS_NAME_MAX], const char *label, const uint8_t *suffix)
{
	static const uint8_t root[1] = { 0 };
	size_t l = strlen(label), s = mdns_name_len(suffix ? suffix : root);
	if (!l || l > 63 || 1 + l + s > MDNS_NAME_MAX)
		return -1;
	memmove(out + 1 + l, suffix ? suffix : root, s);
	out[0] = (uint8_t)l;
	memcpy(out + 1, label, l);
	return 0;
}

int mdns_name_dotted(uint8_t out[MDNS_NAME_MAX], const char *text)
{
	size_t n = 0;
	while (*text) {
		const char *dot = strchr(text, '.');
		size_t l = dot ? (size_t)(dot - text) : strlen(text);
		if (!l || l > 63 || n + 1 + l + 1 > MDNS_NAME_MAX)
			return -1;
		out[n++] = (uint8_t)l;
		memcpy(out + n, text, l);
		n += l;
		text += l + (dot != NULL);
	}
	out[n] = 0;
	return 0;
}

const uint8_t *mdns_name_first(const uint8_t *n, char *label, size_t len)
{
	size_t l = n[0] < len ? n[0] : len - 1;
	memcpy(label, n + 1, l);
	label[l] = 0;
	return n[0] ? n + 1 + n[0] : n;
}

void mdns_name_text(const uint8_t *n, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; n[i] && o + 1 < len; i += 1 + n[i]) {
		if (i && o + 1 < len)
			buf[o++] = '.';
		for (size_t k = 1; k <= n[i] && o + 2 < len; k++) {
			uint8_t c = n[i + k];
			if (c == '.' || c == '\\')
				buf[o++] = '\\';
			buf[o++] = (char)c;
		}
	}
	if (len)
		buf[o < len ? o : len - 1] = 0;
}

/* Canonical rdata of a record at p[off..off+rdlen): names decompressed. */
static int get_rdata(const uint8_t *p, size_t len, size_t off, size_t rdlen, struct mdns_rr *r)
{
	uint8_t name[MDNS_NAME_MAX];
	size_t pre = 0;
	r->big = 0;
	r->rdlen = 0;
	switch (r->type) {
	case MDNS_A: if (rdlen != 4) return -1; break;
	case MDNS_AAAA: if (rdlen != 16) return -1; break;
	case MDNS_SRV: if (rdlen < 7) return -1; pre = 6; /* fall through */
	case MDNS_PTR: {
		long e = get_name(p, off + rdlen, off + pre, name);
		if (e != (long)(off + rdlen))
			return -1;
		size_t nl = mdns_name_len(name);
		memcpy(r->rd, p + off, pre);
		memcpy(r->rd + pre, name, nl);
		r->rdlen = (uint16_t)(pre + nl);
		return 0;
	}
	case MDNS_TXT:
		for (size_t i = 0; i < rdlen; i += 1 + p[off + i])
			if (i + 1 + p[off + i] > rdlen)
				return -1;
		break;
	}
	if (rdlen > MDNS_RD_MAX) {
		r->big = 1;
		return 0;
	}
	memcpy(r->rd, p + off, rdlen);
	r->rdlen = (uint16_t)rdlen;
	return 0;
}

int mdns_parse(const uint8_t *p, size_t len, struct mdns_msg *m)
{
	if (len < 12)
		return -1;
	m->id = (uint16_t)get16(p);
	m->flags = (uint16_t)get16(p + 2);
	m->nq = m->nrr = 0;
	unsigned cnt[4] = { get16(p + 4), get16(p + 6), get16(p + 8), get16(p + 10) };
	size_t o = 12;
	struct mdns_q qscratch;
	struct mdns_rr rscratch;
	for (unsigned i = 0; i < cnt[0]; i++) {
		struct mdns_q *q = m->nq < MDNS_MSG_Q ? &m->q[m->nq] : &qscratch;
		long e = get_name(p, len, o, q->name);
		if (e < 0 || (size_t)e + 4 > len)
			return -1;
		o = (size_t)e;
		q->type = (uint16_t)get16(p + o);
		q->cls = get16(p + o + 2) & 0x7fff;
		q->qu = !!(p[o + 2] & 0x80);
		o += 4;
		if (q != &qscratch)
			m->nq++;
	}
	for (int s = 0; s < 3; s++)
		for (unsigned i = 0; i < cnt[s + 1]; i++) {
			struct mdns_rr *r = m->nrr < MDNS_MSG_RR ? &m->rr[m->nrr] : &rscratch;
			long e = get_name(p, len, o, r->name);
			if (e < 0 || (size_t)e + 10 > len)
				return -1;
			o = (size_t)e;
			r->type = (uint16_t)get16(p + o);
			r->cls = get16(p + o + 2) & 0x7fff;
			r->flush = !!(p[o + 2] & 0x80);
			r->ttl = (uint32_t)get16(p + o + 4) << 16 | get16(p + o + 6);
			size_t rdlen = get16(p + o + 8);
			o += 10;
			if (o + rdlen > len || get_rdata(p, len, o, rdlen, r) < 0)
				return -1;
			o += rdlen;
			r->sec = (uint8_t)s;
			if (r != &rscratch)
				m->nrr++;
		}
	return o == len ? 0 : -1;
}

/* ---- writing ---- */

void mdns_wr_init(struct mdns_wr *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags)
{
	memset(w, 0, sizeof *w);
	w->b = buf;
	w->cap = cap;
	memset(buf, 0, 12);
	put16(buf, id);
	put16(buf + 2, flags);
	w->len = 12;
}

/* Write name, pointing at an earlier copy of its longest suffix already in the message. */
static int put_name(struct mdns_wr *w, const uint8_t *n)
{
	uint8_t tmp[MDNS_NAME_MAX];
	size_t start = w->len, i = 0;
	unsigned added = 0;
	uint16_t offs[128];
	while (n[i]) {
		for (unsigned c = 0; c < w->ncomp; c++)
			/* same bytes, not just the same name: a pointer must not change the case */
			if (get_name(w->b, w->len, w->comp[c], tmp) >= 0 &&
			    !memcmp(tmp, n + i, mdns_name_len(n + i))) {
				if (w->len + 2 > w->cap)
					goto full;
				put16(w->b + w->len, 0xc000 | w->comp[c]);
				w->len += 2;
				goto done;
			}
		if (w->len + 1 + n[i] > w->cap)
			goto full;
		if (w->len < 0x3fff && added < 128)
			offs[added++] = (uint16_t)w->len;
		memcpy(w->b + w->len, n + i, 1 + n[i]);
		w->len += 1 + n[i];
		i += 1 + n[i];
	}
	if (w->len + 1 > w->cap)
		goto full;
	w->b[w->len++] = 0;
done:
	for (unsigned k = 0; k < added && w->ncomp < 64; k++)
		w->comp[w->ncomp++] = offs[k];
	return 0;
full:
	w->len = start;
	return -1;
}

int mdns_wr_q(struct mdns_wr *w, const uint8_t *name, uint16_t type, uint16_t cls)
{
	size_t start = w->len;
	unsigned nc = w->ncomp;
	if (w->count[1] + w->count[2] + w->count[3] || put_name(w, name) < 0 || w->len + 4 > w->cap) {
		w->len = start;
		w->ncomp = nc;
		w->trunc = 1;
		return -1;
	}
	put16(w->b + w->len, type);
	put16(w->b + w->len + 2, cls);
	w->len += 4;
	w->count[0]++;
	return 0;
}

int mdns_wr_rr(struct mdns_wr *w, int sec, const uint8_t *name, uint16_t type, uint16_t cls,
               uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	size_t start = w->len;
	unsigned nc = w->ncomp;
	for (int s = sec + 2; s < 4; s++)
		if (w->count[s])        /* out of order */
			goto fail;
	if (put_name(w, name) < 0 || w->len + 10 > w->cap)
		goto fail;
	size_t h = w->len;
	put16(w->b + h, type);
	put16(w->b + h + 2, cls);
	put16(w->b + h + 4, ttl >> 16);
	put16(w->b + h + 6, ttl & 0xffff);
	w->len += 10;
	if (type == MDNS_PTR || type == MDNS_SRV) {
		size_t pre = type == MDNS_SRV ? 6 : 0;
		if (rdlen < pre + 1 || w->len + pre > w->cap)
			goto fail;
		memcpy(w->b + w->len, rd, pre);
		w->len += pre;
		if (put_name(w, rd + pre) < 0)
			goto fail;
	} else {
		if (w->len + rdlen > w->cap)
			goto fail;
		memcpy(w->b + w->len, rd, rdlen);
		w->len += rdlen;
	}
	put16(w->b + h + 8, (unsigned)(w->len - h - 10));
	w->count[sec + 1]++;
	return 0;
fail:
	w->len = start;
	w->ncomp = nc;
	w->trunc = 1;
	return -1;
}

size_t mdns_wr_end(struct mdns_wr *w)
{
	for (int i = 0; i < 4; i++)
		put16(w->b + 4 + 2 * i, w->count[i]);
	return w->len;
}

/* ---- TXT ---- */

int mdns_txt_get(const uint8_t *rd, size_t len, const char *key, char *val, size_t vlen)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < len; i += 1 + rd[i]) {
		size_t l = rd[i];
		const uint8_t *s = rd + i + 1;
		if (i + 1 + l > len)
			return 0;
		if (l <= kl || s[kl] != '=')
			continue;
		size_t k = 0;
		while (k < kl && lower(s[k]) == lower((unsigned char)key[k]))
			k++;
		if (k < kl)
			continue;
		size_t vl = l - kl - 1;
		if (vl >= vlen || memchr(s + kl + 1, 0, vl))
			return 0;
		memcpy(val, s + kl + 1, vl);
		val[vl] = 0;
		return 1;
	}
	return 0;
}

int mdns_txt_add(uint8_t *rd, size_t *len, size_t cap, const char *kv)
{
	size_t l = strlen(kv);
	if (l > 255 || *len + 1 + l > cap)
		return -1;
	rd[*len] = (uint8_t)l;
	memcpy(rd + *len + 1, kv, l);
	*len += 1 + l;
	return 0;
}
