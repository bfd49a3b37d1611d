/* uri.c: the one parser of remote URIs (uri.h). Pure: no feature needed to parse. */
#include "uri.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *prefix, *name;
	enum remote_scheme scheme;
} schemes[] = {
	{ "sep://", "sep", REMOTE_SEP },
	{ "sep+plain://", "sep+plain", REMOTE_SEP_PLAIN },
	{ "ssh://", "ssh", REMOTE_SSH },
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


unsigned remote_port(const struct remote_uri *u)
{
	return u->port ? u->port : u->scheme == REMOTE_SSH ? SSH_DEFAULT_PORT : SEP_DEFAULT_PORT;
}

const char *remote_scheme_name(enum remote_scheme s)
{
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (schemes[i].scheme == s)
			return schemes[i].name;
	return "?";
}
