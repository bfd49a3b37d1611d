/* uri.h: remote URIs, parsed in one place for every applet and core module:
 *
 *   sep://host[:port][/QUERY]        SEP over TLS 1.3
 *   sep+plain://host[:port][/QUERY]  SEP over plain TCP
 *   ssh://[user@]host[:port][/QUERY] SEP over SSH
 *
 * Parsing needs no transport: a build without TLS or SSH still recognises the URI and
 * can say which feature is missing. */
#ifndef DIPUS_URI_H
#define DIPUS_URI_H

#include <stddef.h>
#include "ns.h"

#define SEP_DEFAULT_PORT 7150   /* SEP's TCP port (the exporter's default --listen) */
#define SSH_DEFAULT_PORT 22

enum remote_scheme { REMOTE_SEP = 1, REMOTE_SEP_PLAIN, REMOTE_SSH };

struct remote_uri {
	enum remote_scheme scheme;
	char user[64];             /* ssh only; "" = default */
	char host[256];
	unsigned port;             /* 0 = the scheme's default */
	char query[NS_PATH_MAX];   /* "" = everything */
};

/* 1 if s starts with a remote scheme ("sep://", "sep+plain://", "ssh://"). */
int remote_is_uri(const char *s);
int remote_parse(const char *s, struct remote_uri *u, char *err, size_t errlen);

/* The scheme's default port when the URI gives none. */
unsigned remote_port(const struct remote_uri *u);
/* The scheme as written ("sep", "sep+plain", "ssh"). */
const char *remote_scheme_name(enum remote_scheme s);

#endif
