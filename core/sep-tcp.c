/* sep-tcp.c: TCP for SEP (sep-tcp.h): connect (bounded, or on the loop), listen, names. */
#include "sep-tcp.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


int net_connect(const char *host, unsigned port, unsigned ms, char *err, size_t errlen)
{
	/* the one TCP connect (sep_tcp_connect_start), waited for here */
	int fd = sep_tcp_connect_start(host, port, err, errlen);
	if (fd < 0)
		return -1;
	uint64_t end = now_ms() + ms;
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int pr = poll(&p, 1, now < end ? (int)(end - now) : 0);
		if (pr < 0 && errno == EINTR)
			continue;
		int r = pr > 0 ? sep_tcp_connect_check(fd, host, port, err, errlen) : 1;
		if (r == 0)
			return fd;
		if (r < 0 || now_ms() >= end) {
			int e = r < 0 ? errno : ETIMEDOUT;
			if (r > 0)
				snprintf(err, errlen, "%s:%u: %s", host, port, strerror(e));
			close(fd);
			errno = e;
			return -1;
		}
	}
}

int net_listen(const char *spec, int backlog, char *err, size_t errlen)
{
	char host[256] = "";
	const char *colon = strrchr(spec, ':');
	unsigned long port;
	if (!colon || parse_uint(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "%s: not ADDR:PORT", spec);
		return -1;
	}
	size_t hl = colon - spec;
	if (hl && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host) {
		snprintf(err, errlen, "%s: address too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = 0;
	char ports[16];
	snprintf(ports, sizeof ports, "%lu", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC }, *res;
	int r = getaddrinfo(hl ? host : NULL, ports, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(r));
		return -1;
	}
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errlen, "%s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

void net_peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	int v6 = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			port = ntohs(a->sin6_port);
			if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
				/* an IPv4 peer of a dual-stack listener: log it as IPv4 */
				inet_ntop(AF_INET, a->sin6_addr.s6_addr + 12, h, sizeof h);
				v6 = 0;
			} else {
				inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
				v6 = 1;
			}
		}
	}
	snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", h, port);
}

/* Start a nonblocking TCP connect to host:port (first address that does not fail at
 * once). Returns the fd (connect may be in progress) or -1 with err. */
int sep_tcp_connect_start(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char ps[8];
	snprintf(ps, sizeof ps, "%u", port);
	int r = getaddrinfo(host, ps, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%s:%u: %s", host, port, gai_strerror(r));
		errno = EHOSTUNREACH;
		return -1;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(e ? e : ECONNREFUSED));
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* 0 connected, 1 still in progress, -1 failed (err). */
int sep_tcp_connect_check(int fd, const char *host, unsigned port, char *err, size_t errlen)
{
	int e = 0;
	socklen_t l = sizeof e;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return 1;
	if (e) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

