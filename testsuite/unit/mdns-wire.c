/* mdns-wire.c: the mDNS message codec without sockets: messages built and parsed back
 * (compression included), names compared without case, TXT keys, and every malformed
 * class refused: compression loops and forward pointers, truncation anywhere, label
 * and name limits, rdata that does not match its type, trailing bytes. */
#include "mdns-wire.h"

#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(cond, name, ...) do { \
	if (cond) printf("PASS: %s\n", name); \
	else { printf("FAIL: %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } \
} while (0)

static struct mdns_msg m;

static size_t build(uint8_t *b, size_t cap)
{
	uint8_t svc[MDNS_NAME_MAX], inst[MDNS_NAME_MAX], host[MDNS_NAME_MAX], rd[300];
	struct mdns_wr w;
	mdns_name_dotted(svc, "_dipus._tcp.local");
	mdns_name_label(inst, "encode (2)", svc);
	mdns_name_dotted(host, "encode.local");
	mdns_wr_init(&w, b, cap, 0x1234, MDNS_F_QR | MDNS_F_AA);
	mdns_wr_q(&w, svc, MDNS_PTR, MDNS_IN | MDNS_QU);
	mdns_wr_rr(&w, MDNS_SEC_AN, svc, MDNS_PTR, MDNS_IN, 4500, inst, mdns_name_len(inst));
	size_t n = 6;
	memcpy(rd, "\0\0\0\0\x1b\xee", 6);
	memcpy(rd + 6, host, mdns_name_len(host));
	mdns_wr_rr(&w, MDNS_SEC_AR, inst, MDNS_SRV, MDNS_IN | MDNS_FLUSH, 120, rd, n + mdns_name_len(host));
	n = 0;
	mdns_txt_add(rd, &n, sizeof rd, "txtvers=1");
	mdns_txt_add(rd, &n, sizeof rd, "fp=SHA256:abc");
	mdns_wr_rr(&w, MDNS_SEC_AR, inst, MDNS_TXT, MDNS_IN | MDNS_FLUSH, 4500, rd, n);
	mdns_wr_rr(&w, MDNS_SEC_AR, host, MDNS_A, MDNS_IN | MDNS_FLUSH, 120, (const uint8_t *)"\x0a\0\0\x01", 4);
	return mdns_wr_end(&w);
}

static void test_roundtrip(void)
{
	uint8_t b[1500];
	size_t len = build(b, sizeof b);
	int r = mdns_parse(b, len, &m);
	CHECK(r == 0 && m.id == 0x1234 && m.nq == 1 && m.nrr == 4, "a built message parses back",
	      "r %d nq %u nrr %u", r, m.nq, m.nrr);
	uint8_t svc[MDNS_NAME_MAX], inst[MDNS_NAME_MAX];
	mdns_name_dotted(svc, "_DIPUS._TCP.Local");
	CHECK(mdns_name_eq(m.q[0].name, svc) && m.q[0].qu && m.q[0].type == MDNS_PTR && m.q[0].cls == 1,
	      "question: name without case, QU bit apart from the class", "qu %d", m.q[0].qu);
	mdns_name_label(inst, "ENCODE (2)", svc);
	CHECK(m.rr[0].type == MDNS_PTR && mdns_name_eq(m.rr[0].rd, inst) && !m.rr[0].flush && m.rr[0].ttl == 4500,
	      "PTR target decompressed", "%s", "");
	CHECK(m.rr[1].type == MDNS_SRV && m.rr[1].flush && m.rr[1].cls == 1 && m.rr[1].sec == MDNS_SEC_AR &&
	      m.rr[1].rd[4] == 0x1b && m.rr[1].rd[5] == 0xee && m.rr[1].rdlen == 6 + 14,
	      "SRV: cache-flush bit apart, port, target uncompressed", "rdlen %u", m.rr[1].rdlen);
	char v[64];
	CHECK(mdns_txt_get(m.rr[2].rd, m.rr[2].rdlen, "FP", v, sizeof v) && !strcmp(v, "SHA256:abc") &&
	      !mdns_txt_get(m.rr[2].rd, m.rr[2].rdlen, "sep", v, sizeof v), "TXT keys", "%s", v);
	CHECK(len < 160, "names compressed", "%zu bytes", len);
	char t[300];
	mdns_name_text(inst, t, sizeof t);
	uint8_t dotted[MDNS_NAME_MAX];
	CHECK(!strcmp(t, "ENCODE (2)._DIPUS._TCP.Local") && mdns_name_label(dotted, "a.b", svc) == 0 &&
	      (mdns_name_text(dotted, t, sizeof t), !strcmp(t, "a\\.b._DIPUS._TCP.Local")),
	      "presentation form escapes dots in labels", "%s", t);
	int trunc = 0;
	for (size_t n = 0; n < len; n++)
		trunc += mdns_parse(b, n, &m) == 0;
	CHECK(!trunc, "every truncation refused", "%d prefixes parsed", trunc);
	b[len] = 0;
	CHECK(mdns_parse(b, len + 1, &m) < 0, "a trailing byte refused", "%s", "");
	uint8_t small[100];
	struct mdns_wr w;
	mdns_wr_init(&w, small, sizeof small, 0, 0);
	for (int i = 0; i < 20; i++)
		mdns_wr_rr(&w, MDNS_SEC_AN, svc, MDNS_A, 1, 1, (const uint8_t *)"abcd", 4);
	size_t sl = mdns_wr_end(&w);
	CHECK(w.trunc && mdns_parse(small, sl, &m) == 0 && m.nrr == w.count[1] && sl <= sizeof small,
	      "a full writer leaves records out and stays valid", "%zu", sl);
}

static void test_malformed(void)
{
	static const uint8_t hdr1q[12] = { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct { const char *name; uint8_t p[64]; size_t len; } bad[] = {
		{ "compression pointer to itself", { 0xc0, 12, 0, 1, 0, 1 }, 6 },
		{ "compression pointer forward", { 0xc0, 14, 1, 'a', 0, 0, 1, 0, 1 }, 9 },
		{ "pointer into the header refused after a loop", { 1, 'a', 0xc0, 12, 0, 1, 0, 1 }, 8 },
		{ "label type 0x40", { 0x41, 'a', 0, 0, 1, 0, 1 }, 7 },
		{ "label past the end", { 5, 'a', 'b' }, 3 },
		{ "question without type and class", { 1, 'a', 0, 0 }, 4 },
		{ "pointer cut in half", { 0xc0 }, 1 },
	};
	int ok = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t b[80];
		memcpy(b, hdr1q, 12);
		memcpy(b + 12, bad[i].p, bad[i].len);
		int r = mdns_parse(b, 12 + bad[i].len, &m);
		CHECK(r < 0, bad[i].name, "parsed");
		ok += r < 0;
	}
	/* a name of 128 one-octet labels is 257 octets: over 255 */
	uint8_t b[600];
	memcpy(b, hdr1q, 12);
	size_t o = 12;
	for (int i = 0; i < 127; i++) { b[o++] = 1; b[o++] = 'x'; }
	b[o++] = 0;
	memcpy(b + o, "\0\1\0\1", 4);
	CHECK(mdns_parse(b, o + 4, &m) == 0, "a name of 255 octets is fine", "%s", "");
	memmove(b + 14, b + 12, o + 4 - 12);
	b[12] = 1; b[13] = 'y';
	CHECK(mdns_parse(b, o + 6, &m) < 0, "a name of 257 octets refused", "%s", "");
	memcpy(b + 12, "\x40", 1);
	memset(b + 13, 'z', 64);
	b[77] = 0;
	memcpy(b + 78, "\0\1\0\1", 4);
	CHECK(mdns_parse(b, 82, &m) < 0, "a label of 64 octets refused", "%s", "");
	/* records whose rdata does not match the type */
	static const uint8_t rr_a5[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 5, 1, 2, 3, 4, 5 };
	CHECK(mdns_parse(rr_a5, sizeof rr_a5, &m) < 0, "an A record of 5 octets refused", "%s", "");
	static const uint8_t rr_txt[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 9, 0, 3, 5, 'a', 'b' };
	CHECK(mdns_parse(rr_txt, sizeof rr_txt, &m) < 0, "a TXT string past its rdata refused", "%s", "");
	static const uint8_t rr_ptr[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 12, 0, 1, 0, 0, 0, 9, 0, 3, 1, 'a', 0, 0 };
	CHECK(mdns_parse(rr_ptr, sizeof rr_ptr, &m) < 0, "a PTR name shorter than its rdata refused", "%s", "");
	static const uint8_t rr_len[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 40, 1, 2, 3, 4 };
	CHECK(mdns_parse(rr_len, sizeof rr_len, &m) < 0, "rdata length past the packet refused", "%s", "");
	static const uint8_t many[] = { 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	CHECK(mdns_parse(many, sizeof many, &m) < 0, "counts beyond the packet refused", "%s", "");
}

int main(void)
{
	test_roundtrip();
	test_malformed();
	return failures != 0;
}
