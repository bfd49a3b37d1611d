/* sep-cli.c: the client side of SEP: remote URIs for dls, dcat, import (core/remote.h).
 *
 * sep:// and sep+plain:// run the SEP client session over TCP (+TLS 1.3, known_hosts
 * pinning); ssh:// over the SSH transport (core/ssh.h). */
#include "remote.h"
#include "util.h"
#if ENABLE_TLS
#include "tls.h"
#endif
#include "sep-cli.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- URIs ---- */

static const struct {
	const char *prefix;
	enum remote_scheme scheme;
} schemes[] = {
	{ "sep://", REMOTE_SEP },
	{ "sep+plain://", REMOTE_SEP_PLAIN },
	{ "ssh://", REMOTE_SSH },
};

int remote_is_uri(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (!strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix)))
			return 1;
	return 0;
}

/* scheme://[user@]host[:port][/QUERY]; host may be [v6]. The query is passed to the
 * remote as it is (no percent-decoding, no normalisation): the remote's resolver
 * decides, so "%2e%2e" is a literal name and "../x" or "/abs" are refused there. */
int remote_parse(const char *s, struct remote_uri *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *p = NULL;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (!strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix))) {
			u->scheme = schemes[i].scheme;
			p = s + strlen(schemes[i].prefix);
			break;
		}
	if (!p) {
		snprintf(err, errlen, "%s: not a remote URI (sep://, sep+plain:// or ssh://)", s);
		return -1;
	}
	const char *slash = strchr(p, '/');
	size_t alen = slash ? (size_t)(slash - p) : strlen(p);
	char auth[512];
	if (alen >= sizeof auth) {
		snprintf(err, errlen, "%.64s...: host part too long", s);
		return -1;
	}
	memcpy(auth, p, alen);
	auth[alen] = 0;
	char *h = auth;
	char *at = strrchr(auth, '@');
	if (at) {
		if (u->scheme != REMOTE_SSH) {
			snprintf(err, errlen, "%s: a user name is only meaningful for ssh://", s);
			return -1;
		}
		*at = 0;
		if (!auth[0] || strlen(auth) >= sizeof u->user) {
			snprintf(err, errlen, "%s: bad user name", s);
			return -1;
		}
		strcpy(u->user, auth);
		h = at + 1;
	}
	char *port = NULL;
	if (*h == '[') {
		char *e = strchr(h, ']');
		if (!e || (e[1] && e[1] != ':')) {
			snprintf(err, errlen, "%s: bad [address]", s);
			return -1;
		}
		*e = 0;
		h++;
		if (e[1] == ':')
			port = e + 2;
	} else {
		char *c = strchr(h, ':');
		if (c) {
			*c = 0;
			port = c + 1;
		}
	}
	if (!*h) {
		snprintf(err, errlen, "%s: no host", s);
		return -1;
	}
	if (strlen(h) >= sizeof u->host) {
		snprintf(err, errlen, "%.64s...: host name too long", s);
		return -1;
	}
	for (const char *c = h; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@' || *c == '\\') {
			snprintf(err, errlen, "%s: bad host name", s);
			return -1;
		}
	strcpy(u->host, h);
	if (port) {
		unsigned long v;
		if (parse_uint(port, 1, 65535, &v)) {
			snprintf(err, errlen, "%s: bad port '%s' (1-65535)", s, port);
			return -1;
		}
		u->port = v;
	}
	if (slash) {
		const char *q = slash + 1;
		if (strlen(q) >= sizeof u->query) {
			snprintf(err, errlen, "%.64s...: query too long", s);
			return -1;
		}
		strcpy(u->query, q);
	}
	return 0;
}

/* ---- TCP ---- */

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
		return -1;
	}
	return 0;
}

/* ---- list and open (the SEP session arrives with core/sep.h) ---- */

int remote_list(const char *uri, struct ns_list *out, int *code, char *err, size_t errlen)
{
	struct remote_uri u;
	*code = DX_USAGE;
	if (remote_parse(uri, &u, err, errlen) < 0)
		return -1;
	*code = DX_REMOTE;
	snprintf(err, errlen, "%s: remote services are not available yet in this version", uri);
	return -1;
}

int remote_open(const char *uri, int *code, char *err, size_t errlen)
{
	struct remote_uri u;
	*code = DX_USAGE;
	if (remote_parse(uri, &u, err, errlen) < 0)
		return -1;
	*code = DX_REMOTE;
	snprintf(err, errlen, "%s: remote services are not available yet in this version", uri);
	return -1;
}
