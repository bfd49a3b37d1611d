/* mdns.c: mdns.h on the event loop: UDP 5353 over IPv4 and IPv6 shared with any other
 * stack on the host, the groups joined per interface, interfaces followed through
 * netlink (and a re-scan every 30 s), arrival interface from the packet info, off-link
 * sources dropped. The protocol is mdns-core.c. */
#include "mdns.h"
#include "mdns-core.h"
#include "mdns-wire.h"
#include "loop.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESCAN_MS 30000
/* rtnetlink's multicast groups (linux/rtnetlink.h; musl-gcc has no kernel headers) */
#define NETLINK_ROUTE_ 0
#define RTMGRP_LINK_ 0x1
#define RTMGRP_IPV4_IFADDR_ 0x10
#define RTMGRP_IPV6_IFADDR_ 0x100
struct sockaddr_nl_ {
	sa_family_t nl_family;
	unsigned short nl_pad;
	uint32_t nl_pid, nl_groups;
};

struct nif {
	unsigned index;
	char name[IF_NAMESIZE];
	unsigned naddr;
	struct sockaddr_storage addr[MDNS_MAX_ADDRS], mask[MDNS_MAX_ADDRS];
};

struct mdns {
	struct loop *lp;
	struct mdns_core *core;
	struct mdns_cfg cfg;
	char ifn[8][IF_NAMESIZE];
	struct sockaddr_storage only[MDNS_MAX_ADDRS];
	unsigned nonly;
	int fd4, fd6, nl;
	struct loop_timer *tick, *scan;
	struct nif ifs[MDNS_MAX_IFACES];
	unsigned nifs;
	mdns_browse_fn *fn;
	void *arg;
	uint32_t seed;
	char said[64];             /* the instance name last logged */
};

static void kick(struct mdns *m);

static uint32_t rnd(void *arg)
{
	struct mdns *m = arg;
	m->seed = m->seed * 1103515245u + 12345u;   /* jitter only, not a secret */
	return m->seed >> 8;
}

static struct nif *nif_find(struct mdns *m, unsigned index)
{
	for (unsigned i = 0; i < m->nifs; i++)
		if (m->ifs[i].index == index)
			return &m->ifs[i];
	return NULL;
}

static void on_send(void *arg, unsigned ifindex, const struct sockaddr_storage *to, const uint8_t *p, size_t len)
{
	struct mdns *m = arg;
	struct nif *f = nif_find(m, ifindex);
	if (!f)
		return;
	int has4 = 0, has6 = 0;
	for (unsigned i = 0; i < f->naddr; i++)
		f->addr[i].ss_family == AF_INET ? (has4 = 1) : (has6 = 1);
	for (int fam = 0; fam < 2; fam++) {
		struct sockaddr_storage dst;
		union { char b[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr a; } cb;
		memset(&dst, 0, sizeof dst);
		memset(&cb, 0, sizeof cb);
		struct iovec iov = { (void *)p, len };
		struct msghdr mh = { .msg_name = &dst, .msg_iov = &iov, .msg_iovlen = 1 };
		int fd = fam ? m->fd6 : m->fd4;
		if (to) {
			if (to->ss_family != (fam ? AF_INET6 : AF_INET))
				continue;
			dst = *to;
		} else if (fam ? !has6 : !has4)
			continue;
		if (fd < 0)
			continue;
		if (!fam) {
			struct sockaddr_in *d = (struct sockaddr_in *)&dst;
			if (!to) {
				d->sin_family = AF_INET;
				d->sin_port = htons(MDNS_PORT);
				d->sin_addr.s_addr = htonl(0xe00000fb);   /* 224.0.0.251 */
			}
			mh.msg_namelen = sizeof *d;
			mh.msg_control = cb.b;
			mh.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
			struct in_pktinfo pi = { .ipi_ifindex = (int)ifindex };
			memcpy(CMSG_DATA(c), &pi, sizeof pi);
		} else {
			struct sockaddr_in6 *d = (struct sockaddr_in6 *)&dst;
			if (!to) {
				d->sin6_family = AF_INET6;
				d->sin6_port = htons(MDNS_PORT);
				inet_pton(AF_INET6, "ff02::fb", &d->sin6_addr);
			}
			if (!d->sin6_scope_id && (IN6_IS_ADDR_LINKLOCAL(&d->sin6_addr) || IN6_IS_ADDR_MULTICAST(&d->sin6_addr)))
				d->sin6_scope_id = ifindex;
			mh.msg_namelen = sizeof *d;
		}
		/* EADDRNOTAVAIL: IPv6 link-local still tentative (DAD); the next send goes */
		if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && m->cfg.verbose && errno != EADDRNOTAVAIL)
			msg_errno("mdns: send on %s", f->name);
	}
}

static void on_peer(void *arg, int up, const struct mdns_peer *p)
{
	struct mdns *m = arg;
	if (m->fn)
		m->fn(m->arg, up, p);
}

/* RFC 6762 §11: a source not on the link the packet came in on is ignored. */
static int on_link(const struct nif *f, const struct sockaddr_storage *src)
{
	if (src->ss_family == AF_INET6) {
		const struct in6_addr *s = &((const struct sockaddr_in6 *)src)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(s))
			return 1;
		for (unsigned i = 0; i < f->naddr; i++) {
			if (f->addr[i].ss_family != AF_INET6)
				continue;
			const uint8_t *a = ((const struct sockaddr_in6 *)&f->addr[i])->sin6_addr.s6_addr;
			const uint8_t *k = ((const struct sockaddr_in6 *)&f->mask[i])->sin6_addr.s6_addr;
			int ok = 1;
			for (int b = 0; b < 16; b++)
				ok &= ((a[b] ^ s->s6_addr[b]) & k[b]) == 0;
			if (ok)
				return 1;
		}
		return 0;
	}
	uint32_t s = ((const struct sockaddr_in *)src)->sin_addr.s_addr;
	for (unsigned i = 0; i < f->naddr; i++) {
		if (f->addr[i].ss_family != AF_INET)
			continue;
		uint32_t a = ((const struct sockaddr_in *)&f->addr[i])->sin_addr.s_addr;
		uint32_t k = ((const struct sockaddr_in *)&f->mask[i])->sin_addr.s_addr;
		if (((a ^ s) & k) == 0)
			return 1;
	}
	return 0;
}

static void on_packet(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct mdns *m = arg;
	for (int n = 0; n < 64; n++) {     /* bounded per wake-up */
		uint8_t buf[9000];
		struct sockaddr_storage src;
		union { char b[256]; struct cmsghdr a; } cb;
		struct iovec iov = { buf, sizeof buf };
		struct msghdr mh = { .msg_name = &src, .msg_namelen = sizeof src, .msg_iov = &iov, .msg_iovlen = 1,
		                     .msg_control = cb.b, .msg_controllen = sizeof cb.b };
		ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (len < 0)
			break;
		unsigned ifindex = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof pi);
				ifindex = (unsigned)pi.ipi_ifindex;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof pi);
				ifindex = pi.ipi6_ifindex;
			}
		}
		struct nif *f = nif_find(m, ifindex);
		if (!f || (mh.msg_flags & MSG_TRUNC) || !on_link(f, &src))
			continue;
		mdns_core_input(m->core, now_ms(), ifindex, &src, buf, (size_t)len);
	}
	kick(m);
}

static void on_tick(struct loop *lp, void *arg)
{
	struct mdns *m = arg;
	m->tick = NULL;
	kick(m);
}

/* Do what is due and set the timer for what is next. */
static void kick(struct mdns *m)
{
	uint64_t now = now_ms(), next = mdns_core_tick(m->core, now);
	if (m->tick)
		loop_timer_cancel(m->lp, m->tick);
	m->tick = NULL;
	const char *inst = mdns_core_instance(m->core);
	if (*inst && strcmp(inst, m->said)) {
		if (m->cfg.verbose)
			msg("mdns: advertising as '%s' (%s.local)", inst, mdns_core_host(m->core));
		snprintf(m->said, sizeof m->said, "%s", inst);
	}
	if (next != UINT64_MAX)
		m->tick = loop_timer(m->lp, next <= now ? 1 : next - now > 3600000 ? 3600000 : (unsigned)(next - now),
		                     on_tick, m);
}

static int wanted_if(const struct mdns *m, const char *name)
{
	if (!m->cfg.nifaces)
		return 1;
	for (unsigned i = 0; i < m->cfg.nifaces; i++)
		if (!strcmp(m->ifn[i], name))
			return 1;
	return 0;
}

static int wanted_addr(const struct mdns *m, const struct sockaddr *a)
{
	if (!m->nonly)
		return 1;
	for (unsigned i = 0; i < m->nonly; i++) {
		const struct sockaddr_storage *o = &m->only[i];
		if (o->ss_family != a->sa_family)
			continue;
		if (a->sa_family == AF_INET ? !memcmp(&((const struct sockaddr_in *)o)->sin_addr,
		                                      &((const struct sockaddr_in *)a)->sin_addr, 4)
		                            : !memcmp(&((const struct sockaddr_in6 *)o)->sin6_addr,
		                                      &((const struct sockaddr_in6 *)a)->sin6_addr, 16))
			return 1;
	}
	return 0;
}

static void join(struct mdns *m, unsigned index, int on)
{
	if (m->fd4 >= 0) {
		struct ip_mreqn mr = { .imr_ifindex = (int)index };
		mr.imr_multiaddr.s_addr = htonl(0xe00000fb);
		setsockopt(m->fd4, IPPROTO_IP, on ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mr, sizeof mr);
	}
	if (m->fd6 >= 0) {
		struct ipv6_mreq mr = { .ipv6mr_interface = index };
		inet_pton(AF_INET6, "ff02::fb", &mr.ipv6mr_multiaddr);
		setsockopt(m->fd6, IPPROTO_IPV6, on ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr, sizeof mr);
	}
}

/* The interfaces now: up, multicast, not loopback, with an address; at most
 * MDNS_MAX_IFACES, MDNS_MAX_ADDRS each. */
static void rescan(struct mdns *m)
{
	struct ifaddrs *ifa;
	struct nif now[MDNS_MAX_IFACES];
	unsigned n = 0;
	uint64_t t = now_ms();
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || (i->ifa_flags & (IFF_LOOPBACK | IFF_UP | IFF_MULTICAST)) !=
		    (IFF_UP | IFF_MULTICAST) || !wanted_if(m, i->ifa_name))
			continue;
		int fam = i->ifa_addr->sa_family;
		if ((fam != AF_INET || m->fd4 < 0) && (fam != AF_INET6 || m->fd6 < 0))
			continue;
		unsigned idx = if_nametoindex(i->ifa_name), k = 0;
		while (k < n && now[k].index != idx)
			k++;
		if (!idx || (k == n && n == MDNS_MAX_IFACES))
			continue;
		if (k == n) {
			memset(&now[n], 0, sizeof now[n]);
			now[n].index = idx;
			snprintf(now[n].name, sizeof now[n].name, "%s", i->ifa_name);
			n++;
		}
		struct nif *f = &now[k];
		if (f->naddr == MDNS_MAX_ADDRS || !wanted_addr(m, i->ifa_addr))
			continue;
		size_t sl = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memset(&f->addr[f->naddr], 0, sizeof f->addr[0]);
		memset(&f->mask[f->naddr], 0, sizeof f->mask[0]);
		memcpy(&f->addr[f->naddr], i->ifa_addr, sl);
		memcpy(&f->mask[f->naddr], i->ifa_netmask, sl);
		f->mask[f->naddr].ss_family = (sa_family_t)fam;
		f->naddr++;
	}
	freeifaddrs(ifa);
	for (unsigned i = 0; i < m->nifs; i++) {   /* gone */
		unsigned k = 0;
		while (k < n && now[k].index != m->ifs[i].index)
			k++;
		if (k == n) {
			if (m->cfg.verbose)
				msg("mdns: %s gone", m->ifs[i].name);
			mdns_core_iface_gone(m->core, t, m->ifs[i].index);
			join(m, m->ifs[i].index, 0);
		}
	}
	for (unsigned k = 0; k < n; k++) {
		if (!nif_find(m, now[k].index)) {
			join(m, now[k].index, 1);
			if (m->cfg.verbose)
				msg("mdns: using %s", now[k].name);
		}
	}
	memcpy(m->ifs, now, n * sizeof now[0]);
	m->nifs = n;
	for (unsigned k = 0; k < n; k++)   /* after the table is current: sends go out on it */
		mdns_core_iface(m->core, t, now[k].index, now[k].name, now[k].addr, now[k].naddr);
	kick(m);
}

static void on_scan(struct loop *lp, void *arg)
{
	struct mdns *m = arg;
	m->scan = NULL;
	rescan(m);
	m->scan = loop_timer(lp, RESCAN_MS, on_scan, m);
}

/* Links and addresses changed: re-scan soon, once for a burst of messages. */
static void on_netlink(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct mdns *m = arg;
	char buf[8192];
	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	if (m->scan)
		loop_timer_cancel(lp, m->scan);
	m->scan = loop_timer(lp, 100, on_scan, m);
}

static int open_udp(int fam, char *err, size_t errlen)
{
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, ttl = 255;
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	struct sockaddr_storage a = { 0 };
	socklen_t al;
	if (fam == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a;
		s->sin_family = AF_INET;
		s->sin_port = htons(MDNS_PORT);
		al = sizeof *s;
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one) < 0)
			goto fail;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(MDNS_PORT);
		al = sizeof *s;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&a, al) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "UDP %s port %d: %s", fam == AF_INET ? "IPv4" : "IPv6", MDNS_PORT, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct mdns *mdns_new(struct loop *lp, const struct mdns_cfg *cfg, char *err, size_t errlen)
{
	struct mdns *m = xcalloc(1, sizeof *m);
	m->lp = lp;
	m->cfg = *cfg;
	m->fd4 = m->fd6 = m->nl = -1;
	if (m->cfg.nifaces > 8)
		m->cfg.nifaces = 8;
	for (unsigned i = 0; i < m->cfg.nifaces; i++)
		snprintf(m->ifn[i], sizeof m->ifn[i], "%s", cfg->ifaces[i]);
	for (unsigned i = 0; i < cfg->naddrs && m->nonly < MDNS_MAX_ADDRS; i++) {
		struct sockaddr_storage *o = &m->only[m->nonly];
		if (inet_pton(AF_INET, cfg->addrs[i], &((struct sockaddr_in *)o)->sin_addr) == 1)
			o->ss_family = AF_INET;
		else if (inet_pton(AF_INET6, cfg->addrs[i], &((struct sockaddr_in6 *)o)->sin6_addr) == 1)
			o->ss_family = AF_INET6;
		else
			continue;
		m->nonly++;
	}
	m->seed = (uint32_t)now_ms() ^ (uint32_t)getpid() << 16;
	struct mdns_io io = { .arg = m, .send = on_send, .peer = on_peer, .rand = rnd };
	m->core = mdns_core_new(&io);
	char e4[128], e6[128];
	m->fd4 = open_udp(AF_INET, e4, sizeof e4);
	m->fd6 = open_udp(AF_INET6, e6, sizeof e6);
	if (!m->core || (m->fd4 < 0 && m->fd6 < 0)) {
		snprintf(err, errlen, "mDNS: %s; %s", e4, e6);
		mdns_free(m);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		if ((i ? m->fd6 : m->fd4) >= 0)
			loop_watch(lp, i ? m->fd6 : m->fd4, LOOP_IN, on_packet, m);
	m->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE_);
	struct sockaddr_nl_ sn = { .nl_family = AF_NETLINK,
	                           .nl_groups = RTMGRP_LINK_ | RTMGRP_IPV4_IFADDR_ | RTMGRP_IPV6_IFADDR_ };
	if (m->nl >= 0 && bind(m->nl, (struct sockaddr *)&sn, sizeof sn) < 0) {
		close(m->nl);
		m->nl = -1;
	}
	if (m->nl >= 0)
		loop_watch(lp, m->nl, LOOP_IN, on_netlink, m);
	on_scan(lp, m);
	return m;
}

int mdns_advertise(struct mdns *m, const char *instance, unsigned port, const char *fp,
                   const char *sepvers, char *err, size_t errlen)
{
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) < 0 || !*host)
		snprintf(host, sizeof host, "dipus");
	host[strcspn(host, ".")] = 0;
	if (!instance || !*instance)
		instance = host;
	if (mdns_core_advertise(m->core, now_ms(), instance, host, port, fp ? fp : "", sepvers ? sepvers : "") < 0) {
		snprintf(err, errlen, "mDNS: cannot advertise '%s' on %s port %u (name or port out of range)",
		         instance, host, port);
		return -1;
	}
	kick(m);
	return 0;
}

void mdns_unadvertise(struct mdns *m)
{
	mdns_core_unadvertise(m->core, now_ms());
	kick(m);
}

const char *mdns_instance(const struct mdns *m)
{
	return mdns_core_instance(m->core);
}

int mdns_browse(struct mdns *m, mdns_browse_fn *fn, void *arg, char *err, size_t errlen)
{
	m->fn = fn;
	m->arg = arg;
	mdns_core_browse(m->core, now_ms(), 1);
	kick(m);
	return 0;
}

struct mdns *mdns_advertise_listen(struct loop *lp, const char *const listen[], size_t n, const char *instance,
                                   const char *fp, const char *sepvers, int verbose, char *err, size_t errlen)
{
	struct mdns_cfg cfg = { .verbose = verbose };
	char addr[MDNS_MAX_ADDRS][64];
	unsigned port = 0, any = 0;
	for (size_t i = 0; i < n; i++) {
		char a[64];
		snprintf(a, sizeof a, "%s", listen[i]);
		char *colon = strrchr(a, ':'), *rb = strrchr(a, ']');
		unsigned long p = 7150;
		if (colon && (!rb || colon > rb) && (rb || strchr(a, ':') == colon)) {
			*colon = 0;
			if (parse_uint(colon + 1, 1, 65535, &p) < 0)
				continue;
		}
		char *h = a;
		if (*h == '[' && rb) {
			h++;
			*strrchr(h, ']') = 0;
		}
		struct in6_addr b6;
		struct in_addr b4;
		int is6 = inet_pton(AF_INET6, h, &b6) == 1, is4 = !is6 && inet_pton(AF_INET, h, &b4) == 1;
		if ((is4 && (ntohl(b4.s_addr) >> 24) == 127) || (is6 && IN6_IS_ADDR_LOOPBACK(&b6)) ||
		    !strcmp(h, "localhost"))
			continue;
		if (!port)
			port = (unsigned)p;
		if ((is4 && !b4.s_addr) || (is6 && IN6_IS_ADDR_UNSPECIFIED(&b6)) || (!is4 && !is6))
			any = 1;      /* every address of every interface */
		else if (cfg.naddrs < MDNS_MAX_ADDRS) {
			snprintf(addr[cfg.naddrs], sizeof addr[0], "%s", h);
			cfg.addrs[cfg.naddrs] = addr[cfg.naddrs];
			cfg.naddrs++;
		}
	}
	if (!port) {
		snprintf(err, errlen, "listening on loopback only: nothing to advertise");
		return NULL;
	}
	if (any)
		cfg.naddrs = 0;
	struct mdns *m = mdns_new(lp, &cfg, err, errlen);
	if (m && mdns_advertise(m, instance, port, fp, sepvers, err, errlen) < 0) {
		mdns_free(m);
		return NULL;
	}
	return m;
}

void mdns_free(struct mdns *m)
{
	if (!m)
		return;
	mdns_core_free(m->core, now_ms());   /* goodbyes, while the sockets are open */
	if (m->tick)
		loop_timer_cancel(m->lp, m->tick);
	if (m->scan)
		loop_timer_cancel(m->lp, m->scan);
	for (unsigned i = 0; i < m->nifs; i++)
		join(m, m->ifs[i].index, 0);
	int fds[3] = { m->fd4, m->fd6, m->nl };
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0) {
			loop_forget(m->lp, fds[i]);
			close(fds[i]);
		}
	free(m);
}
