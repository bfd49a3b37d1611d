/* mdns.h: a small multicast DNS (RFC 6762) / DNS-SD (RFC 6763) responder and browser on
 * the one event loop, for `_dipus._tcp` (doc/mdns.md, doc/discoverer.md).
 * The API below is what dipusd and the exporter code against. Layers: mdns-wire.c (the
 * codec), mdns-core.c (the protocol on an injected clock), mdns.c (sockets, interfaces). */
#ifndef DIPUS_MDNS_H
#define DIPUS_MDNS_H
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
struct loop;
struct mdns;

#define MDNS_SERVICE_TYPE "_dipus._tcp"
#define MDNS_MAX_ADDRS 8

struct mdns_cfg {
	const char *ifaces[8];     /* interface names to use; none: every multicast one */
	unsigned nifaces;
	const char *addrs[MDNS_MAX_ADDRS]; /* advertise only these local addresses (text);
	                                    * none: every address of each interface */
	unsigned naddrs;
	int verbose;
};

/* One exporter as seen on one interface. */
struct mdns_peer {
	char instance[64];         /* DNS-SD instance name (the host name, maybe "name (2)") */
	char host[256];            /* SRV target, e.g. "encode.local" */
	unsigned port;             /* SRV port */
	char fp[64];               /* TXT fp=SHA256:...; "" if absent or malformed */
	char sep[16];              /* TXT sep=, e.g. "1-2" */
	unsigned ifindex;          /* interface the answers came in on */
	char ifname[16];
	size_t naddrs;             /* A/AAAA of host, on that interface */
	struct sockaddr_storage addrs[MDNS_MAX_ADDRS];
};

/* Open UDP 5353 (shared with any other stack on the host), join the groups on the
 * interfaces, follow interfaces coming and going. NULL with err. */
struct mdns *mdns_new(struct loop *lp, const struct mdns_cfg *cfg, char *err, size_t errlen);

/* Advertise this exporter: instance name (probed, renamed "name (2)" on conflict),
 * port, TXT txtvers=1 fp=FP sep=SEPVERS. Calling it again replaces the record set
 * (a changed fp sends goodbyes for the old one first). 0 or -1 with err. */
int mdns_advertise(struct mdns *m, const char *instance, unsigned port, const char *fp,
                   const char *sepvers, char *err, size_t errlen);
/* Stop advertising (goodbyes, TTL 0). */
void mdns_unadvertise(struct mdns *m);
/* The instance name in use after conflict renames ("" before probing ends). */
const char *mdns_instance(const struct mdns *m);

/* Browse _dipus._tcp continuously. fn(arg, 1, peer) when a peer is resolved (SRV, TXT
 * and at least one address) or changes; fn(arg, 0, peer) when it goes (goodbye, TTL
 * expiry, interface gone). One browser per mdns. */
typedef void mdns_browse_fn(void *arg, int up, const struct mdns_peer *peer);
int mdns_browse(struct mdns *m, mdns_browse_fn *fn, void *arg, char *err, size_t errlen);

/* For an exporter: mdns_new and mdns_advertise from its listen addresses ("ADDR[:PORT]",
 * as sep_exporter_addrs gives them; port 7150 when none): loopback ones are skipped,
 * 0.0.0.0 or :: advertises every address, others only themselves; the port is the first
 * non-loopback one's. instance NULL: the host name. NULL with err (loopback only:
 * "listening on loopback only: nothing to advertise"). */
struct mdns *mdns_advertise_listen(struct loop *lp, const char *const listen[], size_t n,
                                   const char *instance, const char *fp, const char *sepvers,
                                   int verbose, char *err, size_t errlen);

/* Goodbyes for everything advertised, leave the groups, close, free. NULL is fine. */
void mdns_free(struct mdns *m);
#endif
