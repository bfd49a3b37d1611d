/* mdns-fuzz.c: libFuzzer target for the mDNS codec and state machine. The input is a
 * packet from the LAN: it is parsed (mdns-wire.c), and fed to a responder+browser
 * (mdns-core.c) that is advertising and browsing on one fake interface, on a fake
 * clock, then its timers are run for a minute of fake time. Whatever the packet, a
 * parse error or a record ignored is the right answer; a crash, a leak or a sanitizer
 * report is a bug. Run with "make fuzz". */
#include "mdns-core.h"
#include "mdns-wire.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static size_t sent;
static void on_send(void *arg, unsigned ifindex, const struct sockaddr_storage *to, const uint8_t *p,
                    size_t len)
{
	struct mdns_msg m;
	if (mdns_parse(p, len, &m) < 0)
		__builtin_trap();      /* what we send must parse */
	sent += len;
}

static void on_peer(void *arg, int up, const struct mdns_peer *p)
{
	sent += strlen(p->instance) + p->naddrs;
}

static uint32_t rnd(void *arg)
{
	return 7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdns_msg m;
	mdns_parse(data, size, &m);
	struct mdns_io io = { .send = on_send, .peer = on_peer, .rand = rnd };
	struct mdns_core *c = mdns_core_new(&io);
	struct sockaddr_storage a[2] = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a[0];
	a4->sin_family = AF_INET;
	a4->sin_addr.s_addr = htonl(0x0a000001);
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a[1];
	a6->sin6_family = AF_INET6;
	a6->sin6_addr.s6_addr[0] = 0xfe;
	a6->sin6_addr.s6_addr[1] = 0x80;
	a6->sin6_addr.s6_addr[15] = 1;
	uint64_t now = 1000;
	mdns_core_iface(c, now, 2, "eth0", a, 2);
	mdns_core_advertise(c, now, "fuzz", "fuzzhost", 7150,
	                    "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "1");
	mdns_core_browse(c, now, 1);
	struct sockaddr_storage src = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(0x0a000002);
	s4->sin_port = htons(size & 1 ? 5353 : 40000);
	/* during probing, then announced */
	mdns_core_input(c, now + 10, 2, &src, data, size);
	for (int i = 0; i < 40; i++) {
		uint64_t next = mdns_core_tick(c, now);
		now = next < now + 1500 ? next : now + 1500;
		if (i == 20)
			mdns_core_input(c, now, 2, &src, data, size);
	}
	mdns_core_iface_gone(c, now, 2);
	mdns_core_free(c, now);
	return 0;
}
