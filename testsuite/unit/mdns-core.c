/* mdns-core.c: the responder and browser on a fake clock: probe, announce, conflict
 * rename, tie-break, rate limit after 15 conflicts, answers (delay, additional records,
 * known-answer suppression, once a second), legacy unicast, goodbyes, fingerprint
 * change; continuous queries backing off, peers resolved, goodbye = gone in 1 s,
 * refresh at 80-95% of the TTL, cache flush. Nothing sleeps. */
#include "mdns-core.h"
#include "mdns-wire.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, name, ...) do { \
	if (cond) printf("PASS: %s\n", name); \
	else { printf("FAIL: %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } \
} while (0)

#define FP "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP2 "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

struct sent { uint64_t t; int unicast; struct mdns_msg m; };
static struct sent pk[64];
static unsigned npk;
static uint64_t clock_now;
static int ups, downs;
static struct mdns_peer last;

static void on_send(void *arg, unsigned ifx, const struct sockaddr_storage *to, const uint8_t *p, size_t len)
{
	if (npk < 64) {
		pk[npk].t = clock_now;
		pk[npk].unicast = to != NULL;
		if (mdns_parse(p, len, &pk[npk].m) < 0)
			printf("FAIL: sent packet parses\n"), failures++;
		npk++;
		if (getenv("MDNS_DEBUG")) {
			struct mdns_msg *m = &pk[npk - 1].m;
			fprintf(stderr, "t=%llu %s nq %u nrr %u:", (unsigned long long)clock_now, to ? "unicast" : "mcast", m->nq, m->nrr);
			for (unsigned i = 0; i < m->nrr; i++)
				fprintf(stderr, " %u/%u/%u", m->rr[i].sec, m->rr[i].type, m->rr[i].ttl);
			fprintf(stderr, "\n");
		}
	}
}

static void on_peer(void *arg, int up, const struct mdns_peer *p)
{
	up ? ups++ : downs++;
	last = *p;
}

static uint32_t rnd(void *arg)
{
	return 0;
}

static struct mdns_core *mk(void)
{
	struct mdns_io io = { .send = on_send, .peer = on_peer, .rand = rnd };
	struct mdns_core *c = mdns_core_new(&io);
	struct sockaddr_storage a = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&a;
	s->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", &s->sin_addr);
	npk = 0;
	clock_now = 0;
	mdns_core_iface(c, 0, 2, "eth0", &a, 1);
	return c;
}

/* Run the clock to t, calling tick when it asks to be. */
static void run(struct mdns_core *c, uint64_t t)
{
	for (;;) {
		uint64_t n = mdns_core_tick(c, clock_now);
		if (n > t)
			break;
		clock_now = n > clock_now ? n : clock_now;
	}
	clock_now = t;
}

static struct sockaddr_storage src(int port)
{
	struct sockaddr_storage a = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&a;
	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "10.0.0.2", &s->sin_addr);
	return a;
}

static void feed(struct mdns_core *c, struct mdns_wr *w, int port)
{
	struct sockaddr_storage s = src(port);
	size_t len = mdns_wr_end(w);
	mdns_core_input(c, clock_now, 2, &s, w->b, len);
}

static uint8_t svc[MDNS_NAME_MAX], inst[MDNS_NAME_MAX], host[MDNS_NAME_MAX];

static void srv_rd(uint8_t *rd, size_t *len, const char *target, unsigned port)
{
	uint8_t t[MDNS_NAME_MAX];
	mdns_name_dotted(t, target);
	memcpy(rd, (uint8_t[]){ 0, 0, 0, 0, (uint8_t)(port >> 8), (uint8_t)port }, 6);
	memcpy(rd + 6, t, mdns_name_len(t));
	*len = 6 + mdns_name_len(t);
}

static const struct mdns_rr *find(const struct mdns_msg *m, int sec, uint16_t type)
{
	for (unsigned i = 0; i < m->nrr; i++)
		if (m->rr[i].sec == sec && m->rr[i].type == type)
			return &m->rr[i];
	return NULL;
}

static void test_probe_announce(void)
{
	struct mdns_core *c = mk();
	mdns_core_advertise(c, 0, "encode", "encode", 7150, FP, "1");
	run(c, 5000);
	CHECK(npk == 5 && pk[0].t == 0 && pk[1].t == 250 && pk[2].t == 500 && pk[3].t == 750 && pk[4].t == 1750,
	      "three probes 250 ms apart, two announcements 1 s apart, then quiet",
	      "%u packets, at %llu %llu %llu %llu", npk, (unsigned long long)pk[0].t, (unsigned long long)pk[1].t,
	      (unsigned long long)pk[2].t, (unsigned long long)pk[3].t);
	const struct mdns_msg *p = &pk[0].m;
	CHECK(!(p->flags & MDNS_F_QR) && p->nq == 2 && p->q[0].type == MDNS_ANY && p->q[0].qu && !pk[1].m.q[0].qu &&
	      find(p, MDNS_SEC_NS, MDNS_SRV) && find(p, MDNS_SEC_NS, MDNS_TXT) && find(p, MDNS_SEC_NS, MDNS_A),
	      "probe: ANY questions for instance and host (QU first), proposed records in authority", "nq %u", p->nq);
	const struct mdns_msg *a = &pk[3].m;
	const struct mdns_rr *srv = find(a, MDNS_SEC_AN, MDNS_SRV), *txt = find(a, MDNS_SEC_AN, MDNS_TXT),
	                     *ptr = find(a, MDNS_SEC_AN, MDNS_PTR), *ar = find(a, MDNS_SEC_AN, MDNS_A);
	char fp[64] = "";
	if (txt)
		mdns_txt_get(txt->rd, txt->rdlen, "fp", fp, sizeof fp);
	CHECK((a->flags & MDNS_F_QR) && srv && txt && ptr && ar && srv->flush && txt->flush && ar->flush && !ptr->flush &&
	      srv->ttl == 120 && ar->ttl == 120 && txt->ttl == 4500 && ptr->ttl == 4500 && srv->rd[4] == 7150 >> 8 &&
	      !strcmp(fp, FP) && txt->rd[0] == 9 && !memcmp(txt->rd + 1, "txtvers=1", 9),
	      "announcement: cache-flush on unique records, TTLs 120/4500, txtvers first, fp", "%s", fp);
	int svcs = 0;
	for (unsigned i = 0; i < a->nrr; i++)
		svcs += a->rr[i].type == MDNS_PTR && a->rr[i].name[1] == '_' && a->rr[i].name[2] == 's';
	CHECK(svcs == 1 && !strcmp(mdns_core_instance(c), "encode"), "_services._dns-sd._udp announced too", "%d", svcs);
	/* a query for the service type, from port 5353 */
	npk = 0;
	uint8_t b[1500];
	struct mdns_wr w;
	mdns_name_dotted(svc, "_DIPUS._tcp.LOCAL");
	mdns_wr_init(&w, b, sizeof b, 0, 0);
	mdns_wr_q(&w, svc, MDNS_PTR, MDNS_IN);
	uint64_t t0 = clock_now;
	feed(c, &w, 5353);
	run(c, t0 + 200);
	CHECK(npk == 1 && pk[0].t >= t0 + 20 && pk[0].t <= t0 + 120 && find(&pk[0].m, MDNS_SEC_AN, MDNS_PTR) &&
	      find(&pk[0].m, MDNS_SEC_AR, MDNS_SRV) && find(&pk[0].m, MDNS_SEC_AR, MDNS_TXT) &&
	      find(&pk[0].m, MDNS_SEC_AR, MDNS_A),
	      "PTR query (any case): answered in 20-120 ms with SRV, TXT, A additional", "%u packets", npk);
	npk = 0;
	feed(c, &w, 5353);
	run(c, clock_now + 200);
	CHECK(npk == 0, "the same record not multicast twice within a second", "%u packets", npk);
	run(c, clock_now + 1000);
	mdns_name_dotted(inst, "encode._dipus._tcp.local");
	mdns_wr_init(&w, b, sizeof b, 0, 0);
	mdns_wr_q(&w, svc, MDNS_PTR, MDNS_IN);
	mdns_wr_rr(&w, MDNS_SEC_AN, svc, MDNS_PTR, MDNS_IN, 4000, inst, mdns_name_len(inst));
	feed(c, &w, 5353);
	run(c, clock_now + 200);
	CHECK(npk == 0, "known answer with more than half the TTL suppresses the answer", "%u packets", npk);
	/* legacy unicast: port 40000 */
	mdns_wr_init(&w, b, sizeof b, 0xbeef, 0);
	mdns_wr_q(&w, inst, MDNS_SRV, MDNS_IN);
	feed(c, &w, 40000);
	CHECK(npk == 1 && pk[0].unicast && pk[0].m.id == 0xbeef && pk[0].m.nq == 1 &&
	      find(&pk[0].m, MDNS_SEC_AN, MDNS_SRV) && find(&pk[0].m, MDNS_SEC_AN, MDNS_SRV)->ttl <= 10 &&
	      !find(&pk[0].m, MDNS_SEC_AN, MDNS_SRV)->flush && find(&pk[0].m, MDNS_SEC_AR, MDNS_A)->ttl <= 10,
	      "legacy unicast: at once, unicast, ID and question echoed, TTL <= 10, no flush bit", "%u", npk);
	/* a new fingerprint */
	npk = 0;
	mdns_core_advertise(c, clock_now, "encode", "encode", 7150, FP2, "1");
	run(c, clock_now + 3000);
	txt = npk ? find(&pk[0].m, MDNS_SEC_AN, MDNS_TXT) : NULL;
	CHECK(npk == 3 && txt && txt->ttl == 0 && pk[0].m.nrr == 1 && mdns_txt_get(txt->rd, txt->rdlen, "fp", fp, sizeof fp) &&
	      !strcmp(fp, FP), "a new fingerprint: goodbye for the old TXT, then two announcements", "%u", npk);
	/* the interface's address changes: goodbye for the old one, the new set announced */
	npk = 0;
	struct sockaddr_storage na = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&na;
	s4->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.9", &s4->sin_addr);
	mdns_core_iface(c, clock_now, 2, "eth0", &na, 1);
	run(c, clock_now + 3000);
	const struct mdns_rr *gb = npk ? find(&pk[0].m, MDNS_SEC_AN, MDNS_A) : NULL;
	const struct mdns_rr *nw = npk > 1 ? find(&pk[1].m, MDNS_SEC_AN, MDNS_A) : NULL;
	CHECK(npk == 3 && gb && gb->ttl == 0 && gb->rd[3] == 1 && pk[0].m.nrr == 1 && nw && nw->ttl == 120 &&
	      nw->rd[3] == 9 && nw->flush, "an address gone: its goodbye, then the new address announced", "%u", npk);
	npk = 0;
	mdns_core_free(c, clock_now);
	int zero = npk == 1;
	for (unsigned i = 0; zero && i < pk[0].m.nrr; i++)
		zero = pk[0].m.rr[i].ttl == 0;
	CHECK(zero && pk[0].m.nrr >= 5, "goodbyes: every record with TTL 0", "%u", npk);
}

/* a response from another host claiming our instance name */
static void claim(struct mdns_core *c, const char *name, const char *target)
{
	uint8_t b[600], rd[300], n[MDNS_NAME_MAX];
	size_t len;
	struct mdns_wr w;
	mdns_name_dotted(svc, "_dipus._tcp.local");
	mdns_name_label(n, name, svc);
	srv_rd(rd, &len, target, 7150);
	mdns_wr_init(&w, b, sizeof b, 0, MDNS_F_QR | MDNS_F_AA);
	mdns_wr_rr(&w, MDNS_SEC_AN, n, MDNS_SRV, MDNS_IN | MDNS_FLUSH, 120, rd, len);
	feed(c, &w, 5353);
}

static void test_conflict(void)
{
	struct mdns_core *c = mk();
	mdns_core_advertise(c, 0, "encode", "encode", 7150, FP, "1");
	run(c, 300);
	claim(c, "ENCODE", "other.local");
	run(c, 5000);
	CHECK(!strcmp(mdns_core_instance(c), "encode (2)"), "a conflict while probing: renamed 'encode (2)'", "'%s'",
	      mdns_core_instance(c));
	char label[64];
	mdns_name_first(find(&pk[npk - 1].m, MDNS_SEC_AN, MDNS_SRV)->name, label, sizeof label);
	CHECK(!strcmp(label, "encode (2)"), "and announced under it", "%s", label);
	/* our own probe looped back is no conflict */
	struct mdns_core *d = mk();
	mdns_core_advertise(d, 0, "encode", "encode", 7150, FP, "1");
	run(d, 1);
	uint8_t b[1500];
	struct mdns_wr w;
	mdns_wr_init(&w, b, sizeof b, 0, 0);
	struct sent own = pk[0];
	(void)own;
	/* an identical record set from elsewhere (another stack here) is no conflict either */
	claim(d, "encode", "encode.local");
	run(d, 3000);
	CHECK(!strcmp(mdns_core_instance(d), "encode"), "identical records are no conflict", "'%s'", mdns_core_instance(d));
	mdns_core_free(d, clock_now);
	/* 15 conflicts within 10 s: probing waits 5 s */
	d = mk();
	mdns_core_advertise(d, 0, "encode", "encode", 7150, FP, "1");
	for (int i = 0; i < 15; i++) {
		run(d, clock_now + 10);
		char nm[64];
		snprintf(nm, sizeof nm, i ? "encode (%d)" : "encode", i + 1);
		claim(d, nm, "other.local");
	}
	npk = 0;
	uint64_t t0 = clock_now;
	run(d, t0 + 4900);
	unsigned before = npk;
	run(d, t0 + 5600);
	CHECK(before == 0 && npk >= 1, "after 15 conflicts the next probe waits 5 s", "%u then %u", before, npk);
	mdns_core_free(d, clock_now);
	/* tie-break: a simultaneous probe with a later TXT (types sort TXT first) wins; with an earlier one we go on */
	for (int later = 0; later < 2; later++) {
		d = mk();
		mdns_core_advertise(d, 0, "encode", "encode", 7150, FP, "1");
		run(d, 100);
		uint8_t rd[300];
		size_t len;
		mdns_name_dotted(inst, "encode._dipus._tcp.local");
		len = 0;
		mdns_txt_add(rd, &len, sizeof rd, later ? "zzzzzzzzz" : "aaaaaaaaa");
		mdns_wr_init(&w, b, sizeof b, 0, 0);
		mdns_wr_q(&w, inst, MDNS_ANY, MDNS_IN);
		mdns_wr_rr(&w, MDNS_SEC_NS, inst, MDNS_TXT, MDNS_IN, 4500, rd, len);
		feed(d, &w, 5353);
		npk = 0;
		run(d, 1000);
		unsigned quiet = npk;
		run(d, 4000);
		if (later)
			CHECK(quiet == 0 && !strcmp(mdns_core_instance(d), "encode"),
			      "tie-break lost: probing waits 1 s and starts over, no rename", "%u packets in that second", quiet);
		else
			CHECK(quiet >= 2 && !strcmp(mdns_core_instance(d), "encode"), "tie-break won: probing goes on",
			      "%u", quiet);
		mdns_core_free(d, clock_now);
	}
	mdns_core_free(c, clock_now);
}

static void announce_peer(struct mdns_core *c, uint32_t ttl_ptr, uint32_t ttl_host, const char *addr, int flush)
{
	uint8_t b[1500], rd[300];
	size_t len = 0;
	struct mdns_wr w;
	mdns_name_dotted(svc, "_dipus._tcp.local");
	mdns_name_dotted(inst, "lame._dipus._tcp.local");
	mdns_name_dotted(host, "lamehost.local");
	mdns_wr_init(&w, b, sizeof b, 0, MDNS_F_QR | MDNS_F_AA);
	mdns_wr_rr(&w, MDNS_SEC_AN, svc, MDNS_PTR, MDNS_IN, ttl_ptr, inst, mdns_name_len(inst));
	srv_rd(rd, &len, "lamehost.local", 7151);
	mdns_wr_rr(&w, MDNS_SEC_AR, inst, MDNS_SRV, MDNS_IN | MDNS_FLUSH, ttl_host, rd, len);
	len = 0;
	mdns_txt_add(rd, &len, sizeof rd, "txtvers=1");
	mdns_txt_add(rd, &len, sizeof rd, "fp=" FP);
	mdns_txt_add(rd, &len, sizeof rd, "sep=1");
	mdns_wr_rr(&w, MDNS_SEC_AR, inst, MDNS_TXT, MDNS_IN | MDNS_FLUSH, ttl_ptr, rd, len);
	uint8_t a[4];
	inet_pton(AF_INET, addr, a);
	mdns_wr_rr(&w, MDNS_SEC_AR, host, MDNS_A, MDNS_IN | (flush ? MDNS_FLUSH : 0), ttl_host, a, 4);
	feed(c, &w, 5353);
}

static void test_browse(void)
{
	struct mdns_core *c = mk();
	mdns_core_browse(c, 0, 1);
	run(c, 3600 * 1000 * 3ull);
	int ok = npk > 10 && pk[0].t <= 10 && pk[1].t - pk[0].t == 1000 && pk[2].t - pk[1].t == 2000;
	uint64_t maxgap = 0;
	for (unsigned i = 1; i < npk; i++)
		if (pk[i].t - pk[i - 1].t > maxgap)
			maxgap = pk[i].t - pk[i - 1].t;
	CHECK(ok && maxgap == 3600000 && pk[0].m.nq == 1 && pk[0].m.q[0].type == MDNS_PTR,
	      "continuous query: first at once, then 1 s, 2 s, ... at most 1 h apart", "%u queries, max gap %llu",
	      npk, (unsigned long long)maxgap);
	mdns_core_free(c, clock_now);

	c = mk();
	mdns_core_browse(c, 0, 1);
	run(c, 500);
	ups = downs = 0;
	announce_peer(c, 4500, 120, "10.0.0.7", 1);
	char a[64] = "";
	if (last.naddrs)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&last.addrs[0])->sin_addr, a, sizeof a);
	CHECK(ups == 1 && !strcmp(last.instance, "lame") && !strcmp(last.host, "lamehost.local") && last.port == 7151 &&
	      !strcmp(last.fp, FP) && !strcmp(last.sep, "1") && last.ifindex == 2 && !strcmp(last.ifname, "eth0") &&
	      last.naddrs == 1 && !strcmp(a, "10.0.0.7"), "a peer resolved from PTR, SRV, TXT and A", "ups %d %s %s",
	      ups, last.instance, a);
	/* the known answer goes with the next query */
	npk = 0;
	run(c, clock_now + 2500);
	const struct mdns_rr *ka = npk ? find(&pk[npk - 1].m, MDNS_SEC_AN, MDNS_PTR) : NULL;
	CHECK(ka && ka->ttl > 4400 && ka->ttl <= 4500, "the next query carries the PTR as a known answer", "%u", npk);
	/* cache flush: a new address with the flush bit, 2 s later: the old one goes in 1 s */
	run(c, clock_now + 2000);
	announce_peer(c, 4500, 120, "10.0.0.8", 1);
	run(c, clock_now + 900);
	unsigned n1 = (unsigned)last.naddrs;
	run(c, clock_now + 200);
	CHECK(n1 == 2 && last.naddrs == 1 && ups == 3, "cache flush: the older address expires 1 s later", "%u then %zu", n1,
	      last.naddrs);
	/* goodbye */
	announce_peer(c, 0, 0, "10.0.0.8", 1);
	run(c, clock_now + 900);
	int still = downs == 0;
	run(c, clock_now + 200);
	CHECK(still && downs == 1 && !strcmp(last.instance, "lame"), "a goodbye: the peer goes 1 s later", "downs %d", downs);
	mdns_core_free(c, clock_now);

	/* a goodbye, then the same records again within its second (an exporter restarted
	 * at once): the browser hears the peer go and come back, not nothing */
	c = mk();
	mdns_core_browse(c, 0, 1);
	run(c, 500);
	announce_peer(c, 4500, 120, "10.0.0.7", 1);
	ups = downs = 0;
	announce_peer(c, 0, 0, "10.0.0.7", 1);
	run(c, clock_now + 300);
	announce_peer(c, 4500, 120, "10.0.0.7", 1);
	int back = downs == 1 && ups == 1;
	run(c, clock_now + 2000);
	CHECK(back && downs == 1 && ups == 1 && !strcmp(last.instance, "lame"),
	      "a goodbye and the same records within its second: the peer goes and comes back at once",
	      "downs %d ups %d (at once: %d)", downs, ups, back);
	mdns_core_free(c, clock_now);

	/* refresh at 80, 85, 90, 95% of the TTL, then expiry */
	c = mk();
	mdns_core_browse(c, 0, 1);
	run(c, 500);
	announce_peer(c, 100, 100, "10.0.0.9", 0);
	uint64_t t0 = clock_now;
	npk = 0;
	downs = 0;
	run(c, t0 + 99000);
	uint64_t at[8];
	unsigned nr = 0;
	for (unsigned i = 0; i < npk && nr < 8; i++)
		if (pk[i].m.nq && pk[i].m.q[0].type != MDNS_PTR)
			at[nr++] = (pk[i].t - t0) / 1000;
	CHECK(nr == 4 && at[0] == 80 && at[1] == 85 && at[2] == 90 && at[3] == 95 && downs == 0,
	      "refresh queries at 80, 85, 90, 95% of the TTL", "%u: %llu %llu", nr, nr ? (unsigned long long)at[0] : 0ull,
	      nr > 1 ? (unsigned long long)at[1] : 0ull);
	run(c, t0 + 100500);
	CHECK(downs == 1, "unrefreshed records expire: the peer goes", "downs %d", downs);
	/* interface gone: its peers go */
	announce_peer(c, 4500, 120, "10.0.0.9", 1);
	downs = 0;
	mdns_core_iface_gone(c, clock_now, 2);
	CHECK(downs == 1, "interface gone: its peers go", "downs %d", downs);
	mdns_core_free(c, clock_now);
}

/* 200 exporters on one interface: the cache stays within its bound, so do the peers */
static void test_bounds(void)
{
	struct mdns_core *c = mk();
	mdns_core_browse(c, 0, 1);
	run(c, 500);
	ups = downs = 0;
	for (int i = 0; i < 200; i++) {
		uint8_t b[1500], rd[300], in[MDNS_NAME_MAX], h[MDNS_NAME_MAX], local[MDNS_NAME_MAX];
		char label[32];
		size_t len;
		struct mdns_wr w;
		mdns_name_dotted(svc, "_dipus._tcp.local");
		mdns_name_dotted(local, "local");
		snprintf(label, sizeof label, "peer%d", i);
		mdns_name_label(in, label, svc);
		mdns_name_label(h, label, local);
		mdns_wr_init(&w, b, sizeof b, 0, MDNS_F_QR | MDNS_F_AA);
		mdns_wr_rr(&w, MDNS_SEC_AN, svc, MDNS_PTR, MDNS_IN, 4500, in, mdns_name_len(in));
		memcpy(rd, (uint8_t[]){ 0, 0, 0, 0, 0x1b, 0xee }, 6);
		memcpy(rd + 6, h, mdns_name_len(h));
		mdns_wr_rr(&w, MDNS_SEC_AR, in, MDNS_SRV, MDNS_IN | MDNS_FLUSH, 120, rd, 6 + mdns_name_len(h));
		len = 0;
		mdns_txt_add(rd, &len, sizeof rd, "txtvers=1");
		mdns_wr_rr(&w, MDNS_SEC_AR, in, MDNS_TXT, MDNS_IN | MDNS_FLUSH, 4500, rd, len);
		mdns_wr_rr(&w, MDNS_SEC_AR, h, MDNS_A, MDNS_IN | MDNS_FLUSH, 120, (uint8_t[]){ 10, 0, 1, (uint8_t)i }, 4);
		feed(c, &w, 5353);
		run(c, clock_now + 10);
	}
	CHECK(ups - downs > 0 && ups - downs <= MDNS_CACHE_MAX / 4, "a bounded cache: at most 96 records, 24 peers, per interface",
	      "%d up", ups - downs);
	mdns_core_free(c, clock_now);
}

int main(void)
{
	test_bounds();
	test_probe_announce();
	test_conflict();
	test_browse();
	return failures != 0;
}
