/* mdns-core.c: responder (RFC 6762 §8-10: probe, tie-break, rename, announce, answer,
 * goodbye) and browser (§5.2 continuous querying, §5.2 refresh, §10.1-2 goodbyes and
 * cache flush) for _dipus._tcp, per interface, on a clock the caller gives. */
#include "mdns-core.h"
#include "mdns-wire.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { R_SVCS, R_PTR, R_SRV, R_TXT, R_ADDR };  /* own record ids; R_ADDR + address index */
#define NREC (R_ADDR + MDNS_MAX_ADDRS)
#define UNIQUE_MASK (~((1u << R_SVCS) | (1u << R_PTR)))
enum { ST_IDLE, ST_PROBE, ST_ANNOUNCE, ST_DONE };
#define NEVER UINT64_MAX

struct centry {
	struct centry *next;
	uint16_t type, rdlen;
	uint32_t ttl;
	uint64_t recv, expire;
	uint8_t stage, tries;      /* refresh queries sent (of 4); resolve queries sent */
	uint16_t jitter;           /* refresh jitter, per mille of the TTL / 100 */
	uint8_t revived;           /* a PTR announced again within its goodbye's second */
	uint8_t name[MDNS_NAME_MAX];
	uint8_t rd[MDNS_RD_MAX];
};

struct ifc {
	unsigned index;
	char name[16];
	struct sockaddr_storage addr[MDNS_MAX_ADDRS];
	unsigned naddr;
	int st;
	unsigned nsent;
	uint64_t next;             /* next probe or announcement */
	uint64_t last_mc[NREC];    /* when each record was last multicast here */
	uint32_t pend;             /* records to multicast at pend_at */
	uint64_t pend_at;
	struct centry *cache;
	unsigned ncache;
	uint64_t q_next, res_next;
	uint32_t q_ival;
	struct mdns_peer *peers[MDNS_PEERS_MAX];
	unsigned npeers;
};

struct mdns_core {
	struct mdns_io io;
	struct ifc *ifs[MDNS_MAX_IFACES];
	int adv, browse;
	char base_inst[64], inst[64], base_host[64], host[64], fp[64], sep[16];
	unsigned port, inst_n, host_n;
	uint8_t n_svcs[MDNS_NAME_MAX], n_svc[MDNS_NAME_MAX], n_inst[MDNS_NAME_MAX], n_host[MDNS_NAME_MAX];
	uint8_t txt[MDNS_RD_MAX];
	size_t txtlen;
	unsigned conflicts;
	uint64_t conflict_t0, probe_hold;
	struct { uint64_t h, t; } ring[16];   /* our last packets, to know them looped back */
	unsigned ring_i;
};

struct own {
	const uint8_t *name;
	uint16_t type, rdlen;
	uint32_t ttl;
	uint8_t rd[MDNS_RD_MAX];
};

static uint32_t rnd(struct mdns_core *c, uint32_t n)
{
	return c->io.rand ? c->io.rand(c->io.arg) % n : 0;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	while (n--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static void out(struct mdns_core *c, uint64_t now, struct ifc *f, const struct sockaddr_storage *to,
                struct mdns_wr *w)
{
	size_t len = mdns_wr_end(w);
	c->ring[c->ring_i].h = fnv(w->b, len);
	c->ring[c->ring_i].t = now;
	c->ring_i = (c->ring_i + 1) % 16;
	c->io.send(c->io.arg, f->index, to, w->b, len);
}

static const void *addr_bytes(const struct sockaddr_storage *a, uint16_t *type)
{
	if (a->ss_family == AF_INET) {
		*type = MDNS_A;
		return &((const struct sockaddr_in *)a)->sin_addr;
	}
	*type = MDNS_AAAA;
	return &((const struct sockaddr_in6 *)a)->sin6_addr;
}

/* Our records on f, indexed by id; returns how many ids are valid. */
static unsigned own_records(struct mdns_core *c, struct ifc *f, struct own *o)
{
	o[R_SVCS] = (struct own){ c->n_svcs, MDNS_PTR, 0, MDNS_TTL_OTHER, { 0 } };
	o[R_SVCS].rdlen = (uint16_t)mdns_name_len(c->n_svc);
	memcpy(o[R_SVCS].rd, c->n_svc, o[R_SVCS].rdlen);
	o[R_PTR] = (struct own){ c->n_svc, MDNS_PTR, 0, MDNS_TTL_OTHER, { 0 } };
	o[R_PTR].rdlen = (uint16_t)mdns_name_len(c->n_inst);
	memcpy(o[R_PTR].rd, c->n_inst, o[R_PTR].rdlen);
	o[R_SRV] = (struct own){ c->n_inst, MDNS_SRV, 0, MDNS_TTL_HOST, { 0, 0, 0, 0, c->port >> 8, c->port & 255 } };
	o[R_SRV].rdlen = (uint16_t)(6 + mdns_name_len(c->n_host));
	memcpy(o[R_SRV].rd + 6, c->n_host, mdns_name_len(c->n_host));
	o[R_TXT] = (struct own){ c->n_inst, MDNS_TXT, (uint16_t)c->txtlen, MDNS_TTL_OTHER, { 0 } };
	memcpy(o[R_TXT].rd, c->txt, c->txtlen);
	for (unsigned i = 0; i < f->naddr; i++) {
		struct own *a = &o[R_ADDR + i];
		const void *b = addr_bytes(&f->addr[i], &a->type);
		a->name = c->n_host;
		a->ttl = MDNS_TTL_HOST;
		a->rdlen = a->type == MDNS_A ? 4 : 16;
		memcpy(a->rd, b, a->rdlen);
	}
	return R_ADDR + f->naddr;
}

static uint32_t all_mask(const struct ifc *f)
{
	return (1u << (R_ADDR + f->naddr)) - 1;
}

/* Records in mask (answers) and extra (additional). ttl0: goodbyes. legacy: a unicast
 * answer to a one-shot resolver (§6.7): its ID and questions, TTL <= 10, no flush bit. */
static void send_recs(struct mdns_core *c, uint64_t now, struct ifc *f, uint32_t mask, uint32_t extra,
                      int ttl0, const struct mdns_msg *legacy, const struct sockaddr_storage *to)
{
	struct own o[NREC];
	uint8_t buf[MDNS_PKT_MAX];
	struct mdns_wr w;
	unsigned n = own_records(c, f, o);
	mdns_wr_init(&w, buf, sizeof buf, legacy ? legacy->id : 0, MDNS_F_QR | MDNS_F_AA);
	if (legacy)
		for (unsigned i = 0; i < legacy->nq; i++)
			mdns_wr_q(&w, legacy->q[i].name, legacy->q[i].type, legacy->q[i].cls);
	for (int sec = 0; sec < 2; sec++)
		for (unsigned i = 0; i < n; i++) {
			if (!((sec ? extra & ~mask : mask) >> i & 1))
				continue;
			uint32_t ttl = ttl0 ? 0 : legacy && o[i].ttl > 10 ? 10 : o[i].ttl;
			uint16_t cls = MDNS_IN | ((UNIQUE_MASK >> i & 1) && !legacy ? MDNS_FLUSH : 0);
			if (mdns_wr_rr(&w, sec ? MDNS_SEC_AR : MDNS_SEC_AN, o[i].name, o[i].type, cls, ttl,
			               o[i].rd, o[i].rdlen) == 0 && !sec && !legacy)
				f->last_mc[i] = now;
		}
	out(c, now, f, to, &w);
}

static void send_probe(struct mdns_core *c, uint64_t now, struct ifc *f)
{
	struct own o[NREC];
	uint8_t buf[MDNS_PKT_MAX];
	struct mdns_wr w;
	unsigned n = own_records(c, f, o);
	mdns_wr_init(&w, buf, sizeof buf, 0, 0);
	uint16_t qu = f->nsent == 0 ? MDNS_QU : 0;
	mdns_wr_q(&w, c->n_inst, MDNS_ANY, MDNS_IN | qu);
	mdns_wr_q(&w, c->n_host, MDNS_ANY, MDNS_IN | qu);
	for (unsigned i = R_SRV; i < n; i++)
		mdns_wr_rr(&w, MDNS_SEC_NS, o[i].name, o[i].type, MDNS_IN, o[i].ttl, o[i].rd, o[i].rdlen);
	out(c, now, f, NULL, &w);
}

static int live(const struct ifc *f)
{
	return f->st >= ST_ANNOUNCE;
}

static void start_probe(struct mdns_core *c, uint64_t now, struct ifc *f, unsigned delay)
{
	if (!c->adv || !f->naddr) {
		f->st = ST_IDLE;
		return;
	}
	f->st = ST_PROBE;
	f->nsent = 0;
	f->pend = 0;
	uint64_t t = now + delay;
	f->next = t > c->probe_hold ? t : c->probe_hold;
}

static int set_names(struct mdns_core *c)
{
	if (c->inst_n)
		snprintf(c->inst, sizeof c->inst, "%.50s (%u)", c->base_inst, c->inst_n % 10000);
	else
		snprintf(c->inst, sizeof c->inst, "%s", c->base_inst);
	if (c->host_n)
		snprintf(c->host, sizeof c->host, "%.52s-%u", c->base_host, c->host_n % 10000);
	else
		snprintf(c->host, sizeof c->host, "%s", c->base_host);
	uint8_t local[MDNS_NAME_MAX];
	mdns_name_dotted(local, "local");
	return mdns_name_label(c->n_inst, c->inst, c->n_svc) | mdns_name_label(c->n_host, c->host, local);
}

/* A conflict for the instance (which 0) or host (1) name: the next name, probed anew
 * everywhere; after 15 conflicts in 10 s, probing waits 5 s (§8.1). */
static void conflict(struct mdns_core *c, uint64_t now, int which)
{
	if (now - c->conflict_t0 > 10000) {
		c->conflict_t0 = now;
		c->conflicts = 0;
	}
	if (++c->conflicts >= 15)
		c->probe_hold = now + 5000;
	if (which)
		c->host_n = c->host_n ? c->host_n + 1 : 2;
	else
		c->inst_n = c->inst_n ? c->inst_n + 1 : 2;
	set_names(c);
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i])
			start_probe(c, now, c->ifs[i], rnd(c, 250));
}

static struct ifc *find_if(struct mdns_core *c, unsigned index)
{
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i] && c->ifs[i]->index == index)
			return c->ifs[i];
	return NULL;
}

/* One of this host's addresses (on any interface): a host record naming it is ours,
 * even from another stack on this host, and no conflict. */
static int our_addr(struct mdns_core *c, uint16_t type, const uint8_t *rd, size_t len)
{
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		for (unsigned k = 0; c->ifs[i] && k < c->ifs[i]->naddr; k++) {
			uint16_t t;
			const void *b = addr_bytes(&c->ifs[i]->addr[k], &t);
			if (t == type && !memcmp(b, rd, len))
				return 1;
		}
	return 0;
}

/* ---- browser: the cache ---- */

static struct centry *cfind(struct ifc *f, const uint8_t *name, uint16_t type, const uint8_t *rd, size_t rdlen)
{
	for (struct centry *e = f->cache; e; e = e->next)
		if (e->type == type && mdns_name_eq(e->name, name) &&
		    (!rd || (e->rdlen == rdlen && !memcmp(e->rd, rd, rdlen))))
			return e;
	return NULL;
}

static int is_srv_target(struct ifc *f, const uint8_t *name)
{
	for (struct centry *e = f->cache; e; e = e->next)
		if (e->type == MDNS_SRV && mdns_name_eq(e->rd + 6, name))
			return 1;
	return 0;
}

static void cache_rr(struct mdns_core *c, uint64_t now, struct ifc *f, const struct mdns_rr *r)
{
	if (r->big || r->cls != MDNS_IN)
		return;
	if (r->type == MDNS_PTR) {
		if (!mdns_name_eq(r->name, c->n_svc))
			return;
	} else if (r->type == MDNS_SRV || r->type == MDNS_TXT) {
		if (!r->name[0] || !mdns_name_eq(r->name + 1 + r->name[0], c->n_svc))
			return;
	} else if (r->type == MDNS_A || r->type == MDNS_AAAA) {
		if (!is_srv_target(f, r->name))
			return;
	} else
		return;
	struct centry *e = cfind(f, r->name, r->type, r->rd, r->rdlen);
	if (!r->ttl) {               /* goodbye: gone in a second (§10.1) */
		if (e && e->ttl) {
			e->ttl = 0;
			e->expire = now + 1000;
		}
		return;
	}
	if (r->flush)                /* §10.2: older records of the set go in a second */
		for (struct centry *o = f->cache; o; o = o->next)
			if (o != e && o->type == r->type && o->recv + 1000 < now && mdns_name_eq(o->name, r->name) &&
			    o->expire > now + 1000)
				o->expire = now + 1000;
	if (!e) {
		if (f->ncache >= MDNS_CACHE_MAX) {   /* full: the oldest news makes room */
			struct centry **victim = &f->cache;
			for (struct centry **p = &f->cache; *p; p = &(*p)->next)
				if ((*p)->recv <= (*victim)->recv)
					victim = p;
			e = *victim;
			*victim = e->next;
		} else {
			e = malloc(sizeof *e);
			if (!e)
				return;
			f->ncache++;
		}
		memcpy(e->name, r->name, mdns_name_len(r->name));
		e->type = r->type;
		e->rdlen = r->rdlen;
		memcpy(e->rd, r->rd, r->rdlen);
		e->tries = 0;
		e->revived = 0;
		e->next = f->cache;
		f->cache = e;
	} else if (!e->ttl && e->type == MDNS_PTR) {
		/* it said goodbye and is back (an exporter restarted within the second): the
		 * browser must hear that it went and came, or the same data hides the restart */
		e->revived = 1;
	}
	e->ttl = r->ttl;
	e->recv = now;
	e->expire = now + (uint64_t)r->ttl * 1000;
	e->stage = 0;
	e->jitter = (uint16_t)rnd(c, 20);
}

/* When the refresh query number e->stage is due: 80, 85, 90, 95% of the TTL, plus up
 * to 2% (§5.2). */
static uint64_t refresh_at(const struct centry *e)
{
	if (e->stage >= 4 || e->ttl < 2)
		return NEVER;
	return e->recv + (uint64_t)e->ttl * (800 + 50 * e->stage + e->jitter);   /* ms */
}

static void cache_drop(struct ifc *f)
{
	while (f->cache) {
		struct centry *e = f->cache;
		f->cache = e->next;
		free(e);
	}
	f->ncache = 0;
}

/* ---- browser: peers from the cache ---- */

static int fp_ok(const char *fp)
{
	if (strncmp(fp, "SHA256:", 7) || strlen(fp) != 50)
		return 0;
	for (const char *p = fp + 7; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '+' || *p == '/'))
			return 0;
	return 1;
}

static int resolve(struct ifc *f, const struct centry *ptr, struct mdns_peer *p)
{
	memset(p, 0, sizeof *p);
	struct centry *srv = cfind(f, ptr->rd, MDNS_SRV, NULL, 0);
	struct centry *txt = cfind(f, ptr->rd, MDNS_TXT, NULL, 0);
	if (!srv || !txt)
		return 0;
	mdns_name_first(ptr->rd, p->instance, sizeof p->instance);
	mdns_name_text(srv->rd + 6, p->host, sizeof p->host);
	p->port = (unsigned)srv->rd[4] << 8 | srv->rd[5];
	if (!mdns_txt_get(txt->rd, txt->rdlen, "fp", p->fp, sizeof p->fp) || !fp_ok(p->fp))
		p->fp[0] = 0;
	if (!mdns_txt_get(txt->rd, txt->rdlen, "sep", p->sep, sizeof p->sep))
		p->sep[0] = 0;
	p->ifindex = f->index;
	snprintf(p->ifname, sizeof p->ifname, "%s", f->name);
	for (struct centry *e = f->cache; e && p->naddrs < MDNS_MAX_ADDRS; e = e->next) {
		if ((e->type != MDNS_A && e->type != MDNS_AAAA) || !mdns_name_eq(e->name, srv->rd + 6))
			continue;
		struct sockaddr_storage *a = &p->addrs[p->naddrs++];
		if (e->type == MDNS_A) {
			struct sockaddr_in *s = (struct sockaddr_in *)a;
			s->sin_family = AF_INET;
			s->sin_port = htons((uint16_t)p->port);
			memcpy(&s->sin_addr, e->rd, 4);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)a;
			s->sin6_family = AF_INET6;
			s->sin6_port = htons((uint16_t)p->port);
			memcpy(&s->sin6_addr, e->rd, 16);
			if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr))
				s->sin6_scope_id = f->index;
		}
	}
	return p->naddrs > 0;
}

/* Report what changed since the last time: peers resolved, changed, gone. */
static void peers_sync(struct mdns_core *c, struct ifc *f)
{
	uint8_t seen[MDNS_PEERS_MAX] = { 0 };
	struct mdns_peer p;
	for (struct centry *e = f->cache; e && c->browse; e = e->next) {
		if (e->type != MDNS_PTR || !resolve(f, e, &p))
			continue;
		unsigned i;
		for (i = 0; i < f->npeers; i++)
			if (!strcasecmp(f->peers[i]->instance, p.instance))
				break;
		if (i < f->npeers && seen[i])
			continue;
		if (i == f->npeers) {
			if (f->npeers == MDNS_PEERS_MAX || !(f->peers[i] = malloc(sizeof p)))
				continue;
			f->npeers++;
		} else if (!memcmp(f->peers[i], &p, sizeof p) && !e->revived) {
			seen[i] = 1;
			continue;
		} else if (e->revived) {
			c->io.peer(c->io.arg, 0, f->peers[i]);   /* went (goodbye), then: */
		}
		e->revived = 0;
		seen[i] = 1;
		*f->peers[i] = p;
		c->io.peer(c->io.arg, 1, &p);
	}
	for (unsigned i = f->npeers; i-- > 0;)
		if (!seen[i]) {
			struct mdns_peer *gone = f->peers[i];
			f->peers[i] = f->peers[--f->npeers];
			seen[i] = seen[f->npeers];
			c->io.peer(c->io.arg, 0, gone);
			free(gone);
		}
}

/* ---- input ---- */

/* §8.2: our records with name against theirs in the probe's authority section, both
 * sorted by class, type, rdata; the later set wins. <0: we lose. */
static int rrcmp(const void *a, const void *b)
{
	const struct mdns_rr *x = *(struct mdns_rr *const *)a, *y = *(struct mdns_rr *const *)b;
	if (x->cls != y->cls)
		return x->cls - y->cls;
	if (x->type != y->type)
		return x->type - y->type;
	return mdns_bytes_cmp(x->rd, x->rdlen, y->rd, y->rdlen);
}

static int tiebreak(struct mdns_core *c, struct ifc *f, const struct mdns_msg *m, const uint8_t *name)
{
	static struct mdns_rr ours[NREC];
	const struct mdns_rr *a[NREC], *b[MDNS_MSG_RR];
	struct own o[NREC];
	unsigned n = own_records(c, f, o), na = 0, nb = 0;
	for (unsigned i = R_SRV; i < n; i++)
		if (mdns_name_eq(o[i].name, name)) {
			struct mdns_rr *r = &ours[na];
			r->cls = MDNS_IN;
			r->type = o[i].type;
			r->rdlen = o[i].rdlen;
			memcpy(r->rd, o[i].rd, o[i].rdlen);
			a[na++] = r;
		}
	for (unsigned i = 0; i < m->nrr; i++)
		if (m->rr[i].sec == MDNS_SEC_NS && mdns_name_eq(m->rr[i].name, name))
			b[nb++] = &m->rr[i];
	if (!nb)
		return 1;
	qsort(a, na, sizeof a[0], rrcmp);
	qsort(b, nb, sizeof b[0], rrcmp);
	for (unsigned i = 0; i < na && i < nb; i++) {
		int d = rrcmp(&a[i], &b[i]);
		if (d)
			return d;
	}
	return (int)na - (int)nb;
}

/* Same rdata; names in it without case. */
static int rd_eq(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (type == MDNS_PTR || type == MDNS_SRV) {
		size_t pre = type == MDNS_SRV ? 6 : 0;
		return alen == blen && !memcmp(a, b, pre) && mdns_name_eq(a + pre, b + pre);
	}
	return alen == blen && !memcmp(a, b, alen);
}

/* Which of our records does a record or question (name, type) name? */
static uint32_t match(struct mdns_core *c, struct ifc *f, const struct own *o, unsigned n,
                      const uint8_t *name, uint16_t type)
{
	uint32_t mask = 0;
	for (unsigned i = 0; i < n; i++)
		if ((type == MDNS_ANY || type == o[i].type) && mdns_name_eq(name, o[i].name))
			mask |= 1u << i;
	return mask;
}

/* What an answer to mask carries along (§12, RFC 6763 §12). */
static uint32_t additional(const struct ifc *f, uint32_t mask)
{
	uint32_t addrs = all_mask(f) & ~((1u << R_ADDR) - 1), x = 0;
	if (mask & (1u << R_PTR))
		x |= (1u << R_SRV) | (1u << R_TXT) | addrs;
	if (mask & (1u << R_SRV))
		x |= addrs;
	return x;
}

static void on_response(struct mdns_core *c, uint64_t now, struct ifc *f, const struct mdns_msg *m)
{
	struct own o[NREC];
	unsigned n = own_records(c, f, o);
	for (unsigned i = 0; c->adv && f->st != ST_IDLE && i < m->nrr; i++) {
		const struct mdns_rr *r = &m->rr[i];
		int which = mdns_name_eq(r->name, c->n_inst) ? 0 : mdns_name_eq(r->name, c->n_host) ? 1 : -1;
		if (which < 0 || r->cls != MDNS_IN)
			continue;
		uint32_t same = match(c, f, o, n, r->name, r->type);
		int equal = 0;
		for (unsigned k = 0; k < n; k++)
			if ((same >> k & 1) && rd_eq(r->type, o[k].rd, o[k].rdlen, r->rd, r->rdlen)) {
				equal = 1;
				/* §7.4: someone else said it, no need for us to */
				if (r->ttl >= o[k].ttl / 2)
					f->pend &= ~(1u << k);
			}
		if (equal || !same || !r->ttl)
			continue;
		if (which == 1 && our_addr(c, r->type, r->rd, r->rdlen))
			continue;
		if (f->st == ST_PROBE) {
			conflict(c, now, which);
			return;
		}
		/* §9: after announcing, a conflict sends us back to probing */
		start_probe(c, now, f, 0);
		return;
	}
	if (!c->browse)
		return;
	for (int pass = 0; pass < 2; pass++)   /* addresses after the SRV records naming them */
		for (unsigned i = 0; i < m->nrr; i++)
			if ((m->rr[i].type == MDNS_A || m->rr[i].type == MDNS_AAAA) == pass)
				cache_rr(c, now, f, &m->rr[i]);
	peers_sync(c, f);
}

static void on_query(struct mdns_core *c, uint64_t now, struct ifc *f, const struct mdns_msg *m,
                     const struct sockaddr_storage *src)
{
	if (!c->adv || f->st == ST_IDLE)
		return;
	int probe = 0;
	for (unsigned i = 0; i < m->nrr; i++)
		probe |= m->rr[i].sec == MDNS_SEC_NS;
	if (probe && f->st == ST_PROBE) {
		for (int w = 0; w < 2; w++)
			if (tiebreak(c, f, m, w ? c->n_host : c->n_inst) < 0) {
				start_probe(c, now, f, 1000);   /* §8.2: the winner goes first */
				return;
			}
		return;
	}
	if (!live(f))
		return;
	struct own o[NREC];
	unsigned n = own_records(c, f, o);
	uint32_t mask = 0;
	for (unsigned i = 0; i < m->nq; i++)
		if (m->q[i].cls == MDNS_IN || m->q[i].cls == MDNS_ANY)
			mask |= match(c, f, o, n, m->q[i].name, m->q[i].type);
	/* known answers (§7.1), here or for a pending answer of an earlier query */
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct mdns_rr *r = &m->rr[i];
		if (r->sec != MDNS_SEC_AN)
			continue;
		uint32_t k = match(c, f, o, n, r->name, r->type);
		for (unsigned j = 0; j < n; j++)
			if ((k >> j & 1) && rd_eq(r->type, r->rd, r->rdlen, o[j].rd, o[j].rdlen) &&
			    r->ttl >= o[j].ttl / 2) {
				mask &= ~(1u << j);
				f->pend &= ~(1u << j);
			}
	}
	if (!mask)
		return;
	in_port_t sport = src->ss_family == AF_INET ? ((const struct sockaddr_in *)src)->sin_port
	                                            : ((const struct sockaddr_in6 *)src)->sin6_port;
	if (ntohs(sport) != MDNS_PORT) {   /* §6.7 legacy unicast */
		send_recs(c, now, f, mask, additional(f, mask), 0, m, src);
		return;
	}
	/* at most once a second per record by multicast; 250 ms to defend against a probe */
	for (unsigned i = 0; i < n; i++)
		if ((mask >> i & 1) && f->last_mc[i] && now < f->last_mc[i] + (probe ? 250 : 1000))
			mask &= ~(1u << i);
	if (!mask)
		return;
	uint64_t at = now;
	if (m->flags & MDNS_F_TC)
		at += 400 + rnd(c, 100);       /* more known answers are coming (§7.2) */
	else if (mask & ~UNIQUE_MASK)
		at += 20 + rnd(c, 100);        /* shared records: 20-120 ms (§6) */
	if (!f->pend || at < f->pend_at)
		f->pend_at = at;
	f->pend |= mask;
}

void mdns_core_input(struct mdns_core *c, uint64_t now, unsigned ifindex,
                     const struct sockaddr_storage *src, const uint8_t *p, size_t len)
{
	static struct mdns_msg m;
	struct ifc *f = find_if(c, ifindex);
	if (!f)
		return;
	uint64_t h = fnv(p, len);
	for (int i = 0; i < 16; i++)
		if (c->ring[i].h == h && c->ring[i].t + 2000 > now)
			return;      /* our own, looped back */
	if (mdns_parse(p, len, &m) < 0 || (m.flags & 0x780f))   /* opcode and rcode 0 only */
		return;
	if (m.flags & MDNS_F_QR)
		on_response(c, now, f, &m);
	else
		on_query(c, now, f, &m, src);
}

/* ---- timers ---- */

static void browse_query(struct mdns_core *c, uint64_t now, struct ifc *f)
{
	uint8_t buf[MDNS_PKT_MAX];
	struct mdns_wr w;
	mdns_wr_init(&w, buf, sizeof buf, 0, 0);
	mdns_wr_q(&w, c->n_svc, MDNS_PTR, MDNS_IN);
	for (struct centry *e = f->cache; e; e = e->next) {
		uint64_t left = e->expire > now ? e->expire - now : 0;
		if (e->type == MDNS_PTR && e->ttl && left > (uint64_t)e->ttl * 500)   /* §7.1 */
			mdns_wr_rr(&w, MDNS_SEC_AN, e->name, e->type, MDNS_IN, (uint32_t)(left / 1000), e->rd, e->rdlen);
	}
	out(c, now, f, NULL, &w);
}

/* Refresh queries due and questions for instances not resolved yet, in one packet. */
static uint64_t browse_tick(struct mdns_core *c, uint64_t now, struct ifc *f)
{
	uint8_t buf[MDNS_PKT_MAX];
	struct mdns_wr w;
	uint64_t next = NEVER;
	mdns_wr_init(&w, buf, sizeof buf, 0, 0);
	for (struct centry **pp = &f->cache; *pp;) {
		struct centry *e = *pp;
		if (e->expire <= now) {
			*pp = e->next;
			free(e);
			f->ncache--;
			continue;
		}
		pp = &e->next;
		if (refresh_at(e) <= now) {
			mdns_wr_q(&w, e->name, e->type, MDNS_IN);
			while (refresh_at(e) <= now)
				e->stage++;
		}
		if (refresh_at(e) < next)
			next = refresh_at(e);
		if (e->expire < next)
			next = e->expire;
	}
	int ask = 0;
	for (struct centry *e = f->cache; e; e = e->next) {
		if (e->type != MDNS_PTR || !e->ttl || e->tries >= 3)
			continue;
		struct centry *srv = cfind(f, e->rd, MDNS_SRV, NULL, 0);
		int need_srv = !srv || !cfind(f, e->rd, MDNS_TXT, NULL, 0);
		int need_addr = srv && !cfind(f, srv->rd + 6, MDNS_A, NULL, 0) && !cfind(f, srv->rd + 6, MDNS_AAAA, NULL, 0);
		if (!need_srv && !need_addr)
			continue;
		if (now < f->res_next) {
			ask = 1;
			continue;
		}
		e->tries++;
		ask = 1;
		if (need_srv) {
			mdns_wr_q(&w, e->rd, MDNS_SRV, MDNS_IN);
			mdns_wr_q(&w, e->rd, MDNS_TXT, MDNS_IN);
		} else {
			mdns_wr_q(&w, srv->rd + 6, MDNS_A, MDNS_IN);
			mdns_wr_q(&w, srv->rd + 6, MDNS_AAAA, MDNS_IN);
		}
	}
	if (ask && now >= f->res_next)
		f->res_next = now + 1000;
	if (ask && f->res_next < next)
		next = f->res_next;
	if (w.count[0])
		out(c, now, f, NULL, &w);
	if (now >= f->q_next) {
		browse_query(c, now, f);
		f->q_next = now + f->q_ival;
		f->q_ival = f->q_ival >= 1800000 ? 3600000 : f->q_ival * 2;   /* 1 s .. 1 h (§5.2) */
	}
	peers_sync(c, f);
	return next < f->q_next ? next : f->q_next;
}

uint64_t mdns_core_tick(struct mdns_core *c, uint64_t now)
{
	uint64_t next = NEVER;
	for (int i = 0; i < MDNS_MAX_IFACES; i++) {
		struct ifc *f = c->ifs[i];
		if (!f)
			continue;
		if (f->st == ST_PROBE && now >= f->next) {
			if (f->nsent < 3) {
				send_probe(c, now, f);
				f->nsent++;
				f->next = now + 250;
			} else {
				f->st = ST_ANNOUNCE;
				f->nsent = 0;
			}
		}
		if (f->st == ST_ANNOUNCE && now >= f->next) {
			send_recs(c, now, f, all_mask(f), 0, 0, NULL, NULL);
			f->pend = 0;
			if (++f->nsent >= 2)
				f->st = ST_DONE;
			f->next = now + 1000;
		}
		if (f->pend && now >= f->pend_at) {
			send_recs(c, now, f, f->pend, additional(f, f->pend), 0, NULL, NULL);
			f->pend = 0;
		}
		if ((f->st == ST_PROBE || f->st == ST_ANNOUNCE) && f->next < next)
			next = f->next;
		if (f->pend && f->pend_at < next)
			next = f->pend_at;
		if (c->browse) {
			uint64_t b = browse_tick(c, now, f);
			if (b < next)
				next = b;
		}
	}
	return next;
}

/* ---- set-up ---- */

struct mdns_core *mdns_core_new(const struct mdns_io *io)
{
	struct mdns_core *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->io = *io;
	mdns_name_dotted(c->n_svcs, "_services._dns-sd._udp.local");
	mdns_name_dotted(c->n_svc, MDNS_SERVICE_TYPE ".local");
	return c;
}

static void goodbye(struct mdns_core *c, uint64_t now, uint32_t which)
{
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i] && live(c->ifs[i]))
			send_recs(c, now, c->ifs[i], which & all_mask(c->ifs[i]), 0, 1, NULL, NULL);
}

void mdns_core_unadvertise(struct mdns_core *c, uint64_t now)
{
	if (!c->adv)
		return;
	goodbye(c, now, ~0u);
	c->adv = 0;
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i])
			c->ifs[i]->st = ST_IDLE, c->ifs[i]->pend = 0;
}

int mdns_core_advertise(struct mdns_core *c, uint64_t now, const char *instance, const char *host,
                        unsigned port, const char *fp, const char *sepvers)
{
	uint8_t txt[MDNS_RD_MAX], tmp[MDNS_NAME_MAX];
	size_t tl = 0;
	char kv[128];
	if (!*instance || strlen(instance) > 50 || !*host || strlen(host) > 56 || !port || port > 65535 ||
	    mdns_name_label(tmp, instance, c->n_svc) < 0 || strchr(host, '.'))
		return -1;
	mdns_txt_add(txt, &tl, sizeof txt, "txtvers=1");
	if (*fp) {
		snprintf(kv, sizeof kv, "fp=%.60s", fp);
		mdns_txt_add(txt, &tl, sizeof txt, kv);
	}
	if (*sepvers) {
		snprintf(kv, sizeof kv, "sep=%.15s", sepvers);
		mdns_txt_add(txt, &tl, sizeof txt, kv);
	}
	if (c->adv && !strcmp(instance, c->base_inst) && !strcmp(host, c->base_host) && port == c->port) {
		if (tl == c->txtlen && !memcmp(txt, c->txt, tl))
			return 0;
		/* a new fingerprint: the old TXT says goodbye, the new one is announced */
		goodbye(c, now, 1u << R_TXT);
		memcpy(c->txt, txt, tl);
		c->txtlen = tl;
		for (int i = 0; i < MDNS_MAX_IFACES; i++)
			if (c->ifs[i] && live(c->ifs[i]))
				c->ifs[i]->st = ST_ANNOUNCE, c->ifs[i]->nsent = 0, c->ifs[i]->next = now;
		return 0;
	}
	mdns_core_unadvertise(c, now);
	snprintf(c->base_inst, sizeof c->base_inst, "%s", instance);
	snprintf(c->base_host, sizeof c->base_host, "%s", host);
	c->inst_n = c->host_n = 0;
	c->port = port;
	memcpy(c->txt, txt, tl);
	c->txtlen = tl;
	if (set_names(c) < 0)
		return -1;
	c->adv = 1;
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i])
			start_probe(c, now, c->ifs[i], rnd(c, 250));
	return 0;
}

void mdns_core_browse(struct mdns_core *c, uint64_t now, int on)
{
	c->browse = on;
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i]) {
			c->ifs[i]->q_next = now;   /* at once, as for a new interface */
			c->ifs[i]->q_ival = 1000;
		}
}

static int addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint16_t ta, tb;
	const void *x = addr_bytes(a, &ta), *y = addr_bytes(b, &tb);
	return ta == tb && !memcmp(x, y, ta == MDNS_A ? 4 : 16);
}

int mdns_core_iface(struct mdns_core *c, uint64_t now, unsigned ifindex, const char *name,
                    const struct sockaddr_storage *addrs, unsigned naddrs)
{
	struct ifc *f = find_if(c, ifindex);
	if (naddrs > MDNS_MAX_ADDRS)
		naddrs = MDNS_MAX_ADDRS;
	if (!f) {
		int i = 0;
		while (i < MDNS_MAX_IFACES && c->ifs[i])
			i++;
		if (i == MDNS_MAX_IFACES || !(f = calloc(1, sizeof *f)))
			return -1;
		c->ifs[i] = f;
		f->index = ifindex;
		snprintf(f->name, sizeof f->name, "%s", name);
		memcpy(f->addr, addrs, naddrs * sizeof *addrs);
		f->naddr = naddrs;
		/* a new interface (the daemon's start, a link that came up) probes and queries
		 * at once: §8.1's 0-250 ms and §5.2's 20-120 ms random delays are a SHOULD
		 * against many hosts powered on together, and simultaneous probes are settled
		 * by the §8.2 tie-break anyway; the delays were up to a third of the time from
		 * an exporter's start to its services on the other hosts (doc/dipusd.md) */
		start_probe(c, now, f, 0);
		f->q_next = now;
		f->q_ival = 1000;
		return 0;
	}
	int same = naddrs == f->naddr;
	for (unsigned i = 0; same && i < naddrs; i++)
		same = addr_eq(&addrs[i], &f->addr[i]);
	if (same)
		return 0;
	if (live(f)) {            /* addresses gone say goodbye; the new set is announced */
		uint32_t gone = 0;
		for (unsigned i = 0; i < f->naddr; i++) {
			unsigned k = 0;
			while (k < naddrs && !addr_eq(&addrs[k], &f->addr[i]))
				k++;
			if (k == naddrs)
				gone |= 1u << (R_ADDR + i);
		}
		if (gone)
			send_recs(c, now, f, gone, 0, 1, NULL, NULL);
	}
	memcpy(f->addr, addrs, naddrs * sizeof *addrs);
	f->naddr = naddrs;
	memset(f->last_mc, 0, sizeof f->last_mc);
	f->pend = 0;
	if (!naddrs)
		f->st = ST_IDLE;
	else if (live(f))
		f->st = ST_ANNOUNCE, f->nsent = 0, f->next = now;
	else if (f->st == ST_IDLE)
		start_probe(c, now, f, rnd(c, 250));
	return 0;
}

void mdns_core_iface_gone(struct mdns_core *c, uint64_t now, unsigned ifindex)
{
	for (int i = 0; i < MDNS_MAX_IFACES; i++) {
		struct ifc *f = c->ifs[i];
		if (!f || f->index != ifindex)
			continue;
		cache_drop(f);
		peers_sync(c, f);
		c->ifs[i] = NULL;
		free(f);
	}
}

void mdns_core_free(struct mdns_core *c, uint64_t now)
{
	if (!c)
		return;
	mdns_core_unadvertise(c, now);
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->ifs[i]) {
			cache_drop(c->ifs[i]);
			for (unsigned k = 0; k < c->ifs[i]->npeers; k++)
				free(c->ifs[i]->peers[k]);
			free(c->ifs[i]);
		}
	free(c);
}

const char *mdns_core_instance(const struct mdns_core *c)
{
	for (int i = 0; i < MDNS_MAX_IFACES; i++)
		if (c->adv && c->ifs[i] && live(c->ifs[i]))
			return c->inst;
	return "";
}

const char *mdns_core_host(const struct mdns_core *c)
{
	return c->host;
}
