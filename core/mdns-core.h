/* mdns-core.h: the mDNS responder and browser as a state machine without sockets or
 * clocks: the caller feeds packets and the time (ms, monotonic) and gets packets to
 * send and peers through callbacks. mdns.c runs it on the loop; the unit tests run it
 * on a fake clock. doc/mdns.md says what it sends and when. */
#ifndef DIPUS_MDNS_CORE_H
#define DIPUS_MDNS_CORE_H
#include "mdns.h"
#include <stdint.h>
#include <sys/socket.h>

#define MDNS_MAX_IFACES 16
#define MDNS_CACHE_MAX 96          /* records cached per interface */
#define MDNS_PEERS_MAX 32          /* peers reported per interface */
#define MDNS_TTL_HOST 120          /* SRV, A, AAAA (RFC 6762 §10) */
#define MDNS_TTL_OTHER 4500        /* PTR, TXT */

struct mdns_io {
	void *arg;
	/* to NULL: multicast on ifindex (both families where it has addresses);
	 * else unicast to that address:port, out of ifindex. */
	void (*send)(void *arg, unsigned ifindex, const struct sockaddr_storage *to,
	             const uint8_t *p, size_t len);
	void (*peer)(void *arg, int up, const struct mdns_peer *p);
	uint32_t (*rand)(void *arg);
};

struct mdns_core;
struct mdns_core *mdns_core_new(const struct mdns_io *io);
/* Goodbyes for what is advertised, then free. */
void mdns_core_free(struct mdns_core *c, uint64_t now);
/* An interface and its addresses now (ports ignored); added or updated. An address
 * gone gets a goodbye; new ones are announced. -1 when the table is full. */
int mdns_core_iface(struct mdns_core *c, uint64_t now, unsigned ifindex, const char *name,
                    const struct sockaddr_storage *addrs, unsigned naddrs);
/* The interface is gone: its peers go down, its cache is dropped (nothing can be sent). */
void mdns_core_iface_gone(struct mdns_core *c, uint64_t now, unsigned ifindex);
/* Advertise instance on host (a label, ".local" added), port, TXT txtvers fp sep. */
int mdns_core_advertise(struct mdns_core *c, uint64_t now, const char *instance, const char *host,
                        unsigned port, const char *fp, const char *sepvers);
void mdns_core_unadvertise(struct mdns_core *c, uint64_t now);
void mdns_core_browse(struct mdns_core *c, uint64_t now, int on);
/* A packet that came in on ifindex from src (off-link sources already dropped). */
void mdns_core_input(struct mdns_core *c, uint64_t now, unsigned ifindex,
                     const struct sockaddr_storage *src, const uint8_t *p, size_t len);
/* Do what is due at now; returns when to be called next (UINT64_MAX: nothing). */
uint64_t mdns_core_tick(struct mdns_core *c, uint64_t now);
/* The instance name once announced on some interface, else "". */
const char *mdns_core_instance(const struct mdns_core *c);
const char *mdns_core_host(const struct mdns_core *c);
#endif
