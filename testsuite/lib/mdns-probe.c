/* mdns-probe.c: does this platform give a program what dipus's mDNS needs? lib.sh's
 * need_mdns_platform builds it with the target's compiler when it is given one (make
 * check CROSS=ARCH passes CROSS_CC) and runs it where dipus would run: under qemu-user,
 * whose translation of these calls is what is in question. Each check is bounded:
 *   - getifaddrs() returns (the kernel's netlink link and address dumps, as the program
 *     sees them, parse) and lists lo with the index if_nametoindex() gives;
 *   - a UDP datagram to 127.0.0.1 sent with IP_PKTINFO naming lo is accepted, and
 *     arrives with IP_PKTINFO naming lo;
 *   - after joining 224.0.0.251 on lo by index (IP_ADD_MEMBERSHIP, struct ip_mreqn), a
 *     datagram sent to it out of lo arrives (qemu for 64-bit targets drops the index).
 * Exit 0: all there; 1: the failed check on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "getifaddrs() did not return in 5 s (a netlink dump it cannot parse)\n";
	if (write(1, m, sizeof m - 1) < 0)
		_exit(1);
	_exit(1);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	alarm(5);
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0) {
		perror("getifaddrs");
		return 1;
	}
	alarm(0);
	unsigned lo = if_nametoindex("lo");
	int seen = 0;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
		seen |= !strcmp(i->ifa_name, "lo");
	freeifaddrs(ifa);
	if (!lo || !seen) {
		printf("getifaddrs() lists no lo (if_nametoindex: %u)\n", lo);
		return 1;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		perror("UDP socket on 127.0.0.1");
		return 1;
	}
	union { char b[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr c; } cb;
	memset(&cb, 0, sizeof cb);
	struct iovec iov = { "probe", 5 };
	struct msghdr mh = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = cb.b, .msg_controllen = sizeof cb.b };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	struct in_pktinfo pi = { .ipi_ifindex = (int)lo };
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	if (sendmsg(s, &mh, 0) < 0) {
		printf("sendmsg() with IP_PKTINFO naming lo (index %u): %s\n", lo, strerror(errno));
		return 1;
	}
	char buf[16];
	union { char b[256]; struct cmsghdr c; } rb;
	struct iovec ri = { buf, sizeof buf };
	struct msghdr rm = { .msg_iov = &ri, .msg_iovlen = 1, .msg_control = rb.b, .msg_controllen = sizeof rb.b };
	alarm(5);
	if (recvmsg(s, &rm, 0) < 0) {
		perror("recvmsg");
		return 1;
	}
	alarm(0);
	for (c = CMSG_FIRSTHDR(&rm); c; c = CMSG_NXTHDR(&rm, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			if ((unsigned)pi.ipi_ifindex == lo)
				break;
			printf("IP_PKTINFO on a datagram received on lo says index %d, not %u\n",
			       pi.ipi_ifindex, lo);
			return 1;
		}
	if (!c) {
		printf("no IP_PKTINFO on a datagram received on lo\n");
		return 1;
	}
	/* IPv4 multicast: joined by interface index, as dipus joins */
	int m = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ma = { .sin_family = AF_INET };
	socklen_t mal = sizeof ma;
	struct ip_mreqn mr = { .imr_ifindex = (int)lo };
	mr.imr_multiaddr.s_addr = htonl(0xe00000fb);
	if (m < 0 || bind(m, (struct sockaddr *)&ma, sizeof ma) < 0 ||
	    getsockname(m, (struct sockaddr *)&ma, &mal) < 0 ||
	    setsockopt(m, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
		printf("joining 224.0.0.251 on lo (struct ip_mreqn, index %u): %s\n", lo, strerror(errno));
		return 1;
	}
	ma.sin_addr.s_addr = htonl(0xe00000fb);
	mh.msg_name = &ma;
	mh.msg_namelen = sizeof ma;
	if (sendmsg(m, &mh, 0) < 0) {
		printf("sendmsg() to 224.0.0.251 out of lo: %s\n", strerror(errno));
		return 1;
	}
	struct timeval tv = { 2, 0 };
	setsockopt(m, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (recv(m, buf, sizeof buf, 0) < 0) {
		printf("joined 224.0.0.251 on lo by index (struct ip_mreqn), a datagram sent to it "
		       "there did not arrive in 2 s (%s)\n", strerror(errno));
		return 1;
	}
	return 0;
}
