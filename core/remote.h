/* remote.h: reaching another host's services, for dls, dcat, import and dipusd.
 *
 *   sep://host[:port][/QUERY]        SEP over TLS 1.3 (mutual auth, pinned keys)
 *   sep+plain://host[:port][/QUERY]  SEP over plain TCP: only when the exporter also
 *                                     runs --plaintext (explicit opt-in at both ends)
 *   ssh://[user@]host[:port][/QUERY] SEP over SSH: the embedded dbclient (or $DIPUS_SSH)
 *                                     runs "dipus serve --stdio" on the far side
 *
 * The transport differs; the session (core/sep.h) is the same. Errors are written to
 * err as a complete reason ("encode:7150: connection refused"); the return value or
 * *code is a DX_* exit code (core/util.h). */
#ifndef DIPUS_REMOTE_H
#define DIPUS_REMOTE_H

#include "ns.h"

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

/* List the remote services matching the URI's query, in the remote's resolver order.
 * Returns the count (0: nothing matched) or -1 with *code and err. */
int remote_list(const char *uri, struct ns_list *out, int *code, char *err, size_t errlen);

/* Connect to the first remote service matching the URI's query (the remote moves on to
 * the next match when one refuses). Returns a connected stream socket that behaves like
 * a local service connection (half-close works both ways), or -1 with *code and err. */
int remote_open(const char *uri, int *code, char *err, size_t errlen);

#endif
