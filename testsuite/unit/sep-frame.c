/* sep-frame.c: SEP's wire format without a session: frame headers (complete,
 * truncated, oversize), HELLO, OPEN, RESET/GOAWAY texts and RECORDs, built and parsed
 * back, and every malformed payload class refused. */
#include "sep-wire.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static struct sep_frame fr(uint8_t type, const void *p, size_t len)
{
	return (struct sep_frame){ .type = type, .chan = 1, .len = (uint32_t)len, .p = p };
}

static void test_header(void)
{
	uint8_t b[SEP_HDR + 16];
	struct sep_frame f;
	sep_frame_header(b, SEP_DATA, 0x01020304, 5);
	memcpy(b + SEP_HDR, "hello", 5);
	static const uint8_t want[SEP_HDR] = { 0, 0, 0, 5, 5, 1, 2, 3, 4 };
	CHECK(!memcmp(b, want, SEP_HDR), "header layout: length, type, channel, big-endian", "bytes differ");
	int r = sep_frame_decode(b, SEP_HDR + 5, &f);
	CHECK(r == SEP_HDR + 5 && f.type == SEP_DATA && f.chan == 0x01020304 && f.len == 5 &&
	      !memcmp(f.p, "hello", 5), "a complete frame decodes", "r %d", r);
	int trunc = 0;
	for (size_t n = 0; n < SEP_HDR + 5; n++)
		trunc += sep_frame_decode(b, n, &f) != 0;
	CHECK(!trunc, "a truncated header or payload asks for more bytes", "%d prefixes decoded", trunc);
	CHECK(sep_frame_decode(b, sizeof b, &f) == SEP_HDR + 5, "bytes after a frame are left alone", "%s", "");
	sep_frame_header(b, SEP_DATA, 1, SEP_MAX_PAYLOAD + 1);
	CHECK(sep_frame_decode(b, SEP_HDR, &f) == -1, "a length over the maximum is an error at once", "%s", "");
	sep_frame_header(b, SEP_DATA, 1, 0xffffffffu);
	CHECK(sep_frame_decode(b, SEP_HDR, &f) == -1, "a length of 2^32-1 is an error", "%s", "");
	sep_frame_header(b, SEP_DATA, 1, SEP_MAX_PAYLOAD);
	CHECK(sep_frame_decode(b, SEP_HDR, &f) == 0, "a length at the maximum waits for its payload", "%s", "");
	CHECK(!strcmp(sep_type_name(SEP_GOAWAY), "GOAWAY") && !strcmp(sep_type_name(99), "unknown"),
	      "frame type names", "%s", sep_type_name(99));
}

static void test_hello(void)
{
	struct sep_hello h = { 1, 1, 262144, 1024, "encode.lan" }, g;
	uint8_t b[128];
	size_t n = sep_build_hello(b, sizeof b, &h);
	static const uint8_t want[] = { 1, 1, 0, 4, 0, 0, 4, 0, 10, 'e', 'n', 'c', 'o', 'd', 'e', '.', 'l', 'a', 'n' };
	CHECK(n == sizeof want && !memcmp(b, want, n), "HELLO layout", "n %zu", n);
	struct sep_frame f = fr(SEP_HELLO, b, n);
	CHECK(!sep_parse_hello(&f, &g) && g.vmin == 1 && g.vmax == 1 && g.window == 262144 &&
	      g.max_channels == 1024 && !strcmp(g.host, "encode.lan"), "HELLO parses back", "%s", "");
	struct { const char *name; uint8_t p[16]; size_t len; } bad[] = {
		{ "short HELLO", { 1, 1, 0, 4, 0, 0, 4, 0 }, 8 },
		{ "host length past the payload", { 1, 1, 0, 4, 0, 0, 4, 0, 5, 'a' }, 10 },
		{ "bytes after the host", { 1, 1, 0, 4, 0, 0, 4, 0, 1, 'a', 'b' }, 11 },
		{ "host with a slash", { 1, 1, 0, 4, 0, 0, 4, 0, 3, 'a', '/', 'b' }, 12 },
		{ "host with a space", { 1, 1, 0, 4, 0, 0, 4, 0, 3, 'a', ' ', 'b' }, 12 },
		{ "host with a control byte", { 1, 1, 0, 4, 0, 0, 4, 0, 2, 'a', '\n' }, 11 },
		{ "empty version range", { 3, 2, 0, 4, 0, 0, 4, 0, 0 }, 9 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "HELLO refused: %s", bad[i].name);
		f = fr(SEP_HELLO, bad[i].p, bad[i].len);
		CHECK(sep_parse_hello(&f, &g) != NULL, name, "parsed");
	}
}

static void test_open(void)
{
	uint8_t b[256];
	struct sep_open o;
	size_t n = sep_build_open(b, sizeof b, SEP_OP_CONNECT, 65536, "lame");
	static const uint8_t want[] = { 3, 0, 1, 0, 0, 0, 4, 'l', 'a', 'm', 'e' };
	CHECK(n == sizeof want && !memcmp(b, want, n), "OPEN layout", "n %zu", n);
	struct sep_frame f = fr(SEP_OPEN, b, n);
	CHECK(!sep_parse_open(&f, &o) && o.op == SEP_OP_CONNECT && o.window == 65536 &&
	      !strcmp(o.query, "lame") && o.query_len == 4, "OPEN parses back", "%s", "");
	char q[200];
	memset(q, 'q', sizeof q);
	q[SEP_MAX_QUERY] = 0;
	CHECK(sep_build_open(b, sizeof b, SEP_OP_LIST, 65536, q) == 7 + SEP_MAX_QUERY,
	      "a query of 107 bytes fits", "%s", "");
	q[SEP_MAX_QUERY] = 'q';
	q[SEP_MAX_QUERY + 1] = 0;
	CHECK(sep_build_open(b, sizeof b, SEP_OP_LIST, 65536, q) == 0, "a query of 108 bytes is not built", "%s", "");
	struct { const char *name, *why; uint8_t p[12]; size_t len; } bad[] = {
		{ "short OPEN", "short", { 3, 0, 1, 0, 0, 0 }, 6 },
		{ "query length past the payload", "query length", { 3, 0, 1, 0, 0, 0, 9, 'x' }, 8 },
		{ "bytes after the query", "query length", { 3, 0, 1, 0, 0, 0, 1, 'x', 'y' }, 9 },
		{ "operation 0", "unknown operation", { 0, 0, 1, 0, 0, 0, 0 }, 7 },
		{ "operation 4", "unknown operation", { 4, 0, 1, 0, 0, 0, 0 }, 7 },
		{ "window 0", "window", { 3, 0, 0, 0, 0, 0, 0 }, 7 },
		{ "window 1023", "window", { 3, 0, 0, 3, 0xff, 0, 0 }, 7 },
		{ "window 2^31", "window", { 3, 0x80, 0, 0, 0, 0, 0 }, 7 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "OPEN refused: %s", bad[i].name);
		f = fr(SEP_OPEN, bad[i].p, bad[i].len);
		const char *why = sep_parse_open(&f, &o);
		CHECK(why && strstr(why, bad[i].why), name, "%s", why ? why : "parsed");
	}
	uint8_t big[7 + 200] = { 1, 0, 1, 0, 0, 0, 108 };
	memset(big + 7, 'a', 108);
	f = fr(SEP_OPEN, big, 7 + 108);
	CHECK(sep_parse_open(&f, &o) != NULL, "OPEN refused: a query of 108 bytes", "parsed");
	uint32_t v;
	f = fr(SEP_WINDOW, "\0\0\1", 3);
	CHECK(sep_parse_u32(&f, &v) != NULL, "WINDOW/ACCEPT refused: 3 bytes", "parsed");
	f = fr(SEP_WINDOW, "\0\0\1\0\0", 5);
	CHECK(sep_parse_u32(&f, &v) != NULL, "WINDOW/ACCEPT refused: 5 bytes", "parsed");
	f = fr(SEP_WINDOW, "\0\1\0\0", 4);
	CHECK(!sep_parse_u32(&f, &v) && v == 65536, "WINDOW parses", "%s", "");
}

static void test_text(void)
{
	uint8_t b[512];
	int code;
	char t[64];
	size_t n = sep_build_text(b, sizeof b, SEP_E_NOSERVICE, "no such\tservice");
	static const uint8_t want[] = { 0, 4, 0, 15, 'n', 'o', ' ', 's', 'u', 'c', 'h', '?' };
	CHECK(n == 19 && !memcmp(b, want, sizeof want), "RESET text layout; control bytes sent as '?'", "n %zu", n);
	struct sep_frame f = fr(SEP_RESET, b, n);
	CHECK(!sep_parse_text(&f, &code, t, sizeof t) && code == SEP_E_NOSERVICE &&
	      !strcmp(t, "no such?service"), "RESET parses back", "%d '%s'", code, t);
	uint8_t raw[] = { 0, 42, 0, 3, 'a', 0, 'b' };
	f = fr(SEP_RESET, raw, sizeof raw);
	CHECK(!sep_parse_text(&f, &code, t, sizeof t) && code == 42 && !strcmp(t, "a?b"),
	      "a received NUL is shown as '?', an unknown code kept", "%d '%s'", code, t);
	char longtext[400];
	memset(longtext, 'x', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = 0;
	n = sep_build_text(b, sizeof b, 1, longtext);
	CHECK(n == 4 + SEP_MAX_TEXT, "texts we send are cut at 255 bytes", "n %zu", n);
	f = fr(SEP_RESET, b, n);
	CHECK(!sep_parse_text(&f, &code, t, sizeof t) && strlen(t) == sizeof t - 1,
	      "a long text is cut to the reader's buffer", "%zu", strlen(t));
	f = fr(SEP_RESET, (uint8_t[]){ 0, 1, 0, 5, 'a' }, 5);
	CHECK(sep_parse_text(&f, &code, t, sizeof t) != NULL, "RESET refused: text length past the payload", "parsed");
	f = fr(SEP_RESET, (uint8_t[]){ 0, 1, 0 }, 3);
	CHECK(sep_parse_text(&f, &code, t, sizeof t) != NULL, "RESET refused: short", "parsed");
}

static size_t record(uint8_t *b, int ev, int scope, uint32_t n, const char *name, const char *host,
                     const char *proto)
{
	struct ns_service s;
	memset(&s, 0, sizeof s);
	s.scope = scope;
	s.n = n;
	snprintf(s.name, sizeof s.name, "%s", name);
	snprintf(s.host, sizeof s.host, "%s", host);
	snprintf(s.proto, sizeof s.proto, "%s", proto);
	return sep_build_record(b, 1024, ev, &s);
}

static void test_record(void)
{
	uint8_t b[1024];
	struct ns_service s;
	int ev;
	size_t n = record(b, SEP_REC_APPEARED, NS_EXPORTED, 2, "lame", "encode", "audio/x-wav/to/audio/mpeg");
	static const uint8_t want[] = { 1, 2, 0, 0, 0, 2, 4, 'l', 'a', 'm', 'e', 6, 'e', 'n', 'c',
		'o', 'd', 'e', 0, 25, 'a', 'u', 'd', 'i', 'o', '/' };
	CHECK(n == 10 + 4 + 6 + 25 && !memcmp(b, want, sizeof want), "RECORD layout", "n %zu", n);
	struct sep_frame f = fr(SEP_RECORD, b, n);
	CHECK(!sep_parse_record(&f, &ev, &s) && ev == SEP_REC_APPEARED && s.scope == NS_EXPORTED &&
	      s.n == 2 && !strcmp(s.name, "lame") && !strcmp(s.host, "encode") &&
	      !strcmp(s.rel, "audio/x-wav/to/audio/mpeg/lame.encode...2"), "RECORD parses back with its path",
	      "'%s'", s.rel);
	n = record(b, SEP_REC_PRESENT, NS_LOCAL, 0, "madplay", "stereo.lan", "");
	f = fr(SEP_RECORD, b, n);
	CHECK(!sep_parse_record(&f, &ev, &s) && !strcmp(s.rel, "madplay.stereo.lan...0"),
	      "a RECORD with an empty proto", "'%s'", s.rel);
	n = sep_build_record(b, sizeof b, SEP_REC_SYNC, NULL);
	f = fr(SEP_RECORD, b, n);
	CHECK(n == SEP_RECORD_MIN && !sep_parse_record(&f, &ev, &s) && ev == SEP_REC_SYNC,
	      "SYNC is a RECORD of zeros", "n %zu", n);
	struct { const char *name; int ev, scope; uint32_t n; const char *nm, *host, *proto; } bad[] = {
		{ "event 4", 4, NS_EXPORTED, 0, "a", "h", "" },
		{ "scope 0", 0, 0, 0, "a", "h", "" },
		{ "scope 3 (two bits)", 0, 3, 0, "a", "h", "" },
		{ "instance over NS_N_MAX", 0, NS_EXPORTED, NS_N_MAX + 1u, "a", "h", "" },
		{ "empty name", 0, NS_EXPORTED, 0, "", "h", "" },
		{ "name with a dot", 0, NS_EXPORTED, 0, "a.b", "h", "" },
		{ "name with a slash", 0, NS_EXPORTED, 0, "a/b", "h", "" },
		{ "empty host", 0, NS_EXPORTED, 0, "a", "", "" },
		{ "host with a slash", 0, NS_EXPORTED, 0, "a", "h/x", "" },
		{ "host with ..", 0, NS_EXPORTED, 0, "a", "h..x", "" },
		{ "host starting with a dot", 0, NS_EXPORTED, 0, "a", ".h", "" },
		{ "host ending with a dot", 0, NS_EXPORTED, 0, "a", "h.", "" },
		{ "host with a space", 0, NS_EXPORTED, 0, "a", "h x", "" },
		{ "proto ..", 0, NS_EXPORTED, 0, "a", "h", "audio/../../etc" },
		{ "proto starting with /", 0, NS_EXPORTED, 0, "a", "h", "/etc" },
		{ "proto with an empty component", 0, NS_EXPORTED, 0, "a", "h", "audio//mpeg" },
		{ "proto with a hidden component", 0, NS_EXPORTED, 0, "a", "h", "audio/.x" },
		{ "proto ending with /", 0, NS_EXPORTED, 0, "a", "h", "audio/" },
		{ "path over 107 bytes", 0, NS_EXPORTED, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "h",
		  "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" },
		{ "control byte in the name", 0, NS_EXPORTED, 0, "a\033b", "h", "" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "RECORD refused: %s", bad[i].name);
		n = record(b, bad[i].ev, bad[i].scope, bad[i].n, bad[i].nm, bad[i].host, bad[i].proto);
		f = fr(SEP_RECORD, b, n);
		CHECK(n && sep_parse_record(&f, &ev, &s) < 0, name, "n %zu, parsed as '%s'", n, s.rel);
	}
	n = record(b, 0, NS_EXPORTED, 0, "a", "h", "p");
	b[n] = 'x';
	f = fr(SEP_RECORD, b, n + 1);
	CHECK(sep_parse_record(&f, &ev, &s) < 0, "RECORD refused: a byte after the proto", "parsed");
	int cut = 0;
	for (size_t k = 0; k < n; k++) {
		f = fr(SEP_RECORD, b, k);
		cut += sep_parse_record(&f, &ev, &s) == 0;
	}
	CHECK(!cut, "RECORD refused: every truncation", "%d parsed", cut);
	uint8_t sync[SEP_RECORD_MIN] = { 3, 2 };
	f = fr(SEP_RECORD, sync, sizeof sync);
	CHECK(sep_parse_record(&f, &ev, &s) < 0, "RECORD refused: a SYNC with a scope", "parsed");
	/* the host rule */
	CHECK(sep_valid_host("stereo.lan") && sep_valid_host("h-1_x") && !sep_valid_host("") &&
	      !sep_valid_host("a..b") && !sep_valid_host("a b"), "host names", "%s", "");
}

static void test_paths(void)
{
	struct sep_paths p = { 0 }, g;
	strcpy(p.dir[0], "/tmp/dipus/local");
	strcpy(p.dir[2], "/tmp/dipus/users/al");
	uint8_t b[4 * (2 + NS_PATH_MAX)];
	size_t n = sep_build_paths(b, sizeof b, &p);
	static const uint8_t want[] = { 1, 16, '/', 't', 'm', 'p', '/', 'd', 'i', 'p', 'u', 's', '/',
		'l', 'o', 'c', 'a', 'l', 4, 19, '/', 't', 'm', 'p', '/', 'd', 'i', 'p', 'u', 's',
		'/', 'u', 's', 'e', 'r', 's', '/', 'a', 'l' };
	CHECK(n == sizeof want && !memcmp(b, want, n), "PATHS layout: scope bit, length, directory",
	      "n %zu", n);
	struct sep_frame f = fr(SEP_PATHS, b, n);
	CHECK(!sep_parse_paths(&f, &g) && !memcmp(&g, &p, sizeof g), "PATHS parses back", "%s", "");
	f = fr(SEP_PATHS, b, 0);
	CHECK(!sep_parse_paths(&f, &g) && !g.dir[0][0], "an empty PATHS offers nothing", "%s", "");
	struct { const char *name; uint8_t p[16]; size_t len; } bad[] = {
		{ "a lone scope byte", { 1 }, 1 },
		{ "scope 3", { 3, 2, '/', 'a' }, 4 },
		{ "length past the payload", { 1, 5, '/', 'a' }, 4 },
		{ "a scope twice", { 1, 2, '/', 'a', 1, 2, '/', 'b' }, 8 },
		{ "relative", { 1, 1, 'a' }, 3 },
		{ "the root alone", { 1, 1, '/' }, 3 },
		{ "a trailing slash", { 1, 3, '/', 'a', '/' }, 5 },
		{ "an empty component", { 1, 4, '/', 'a', '/', '/' }, 6 },
		{ "a dot component", { 1, 4, '/', '.', '/', 'a' }, 6 },
		{ "a dot-dot component", { 1, 5, '/', 'a', '/', '.', '.' }, 7 },
		{ "a control byte", { 1, 3, '/', 'a', '\n' }, 5 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "PATHS refused: %s", bad[i].name);
		f = fr(SEP_PATHS, bad[i].p, bad[i].len);
		CHECK(sep_parse_paths(&f, &g) != NULL, name, "parsed");
	}
	CHECK(sep_scope_index(NS_LOCAL) == 0 && sep_scope_index(NS_IMPORTED) == 3 &&
	      sep_scope_index(0) == -1 && sep_scope_index(6) == -1, "scope indexes", "%s", "");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_header();
	test_hello();
	test_open();
	test_text();
	test_record();
	test_paths();
	return check_status();
}
