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
#include "uri.h"

/* List the remote services matching the URI's query, in the remote's resolver order.
 * Returns the count (0: nothing matched) or -1 with *code and err. */
int remote_list(const char *uri, struct ns_list *out, int *code, char *err, size_t errlen);

/* Connect to the first remote service matching the URI's query (the remote moves on to
 * the next match when one refuses). Returns a connected stream socket that behaves like
 * a local service connection (half-close works both ways), or -1 with *code and err. */
int remote_open(const char *uri, int *code, char *err, size_t errlen);
/* The same, and *status a descriptor that tells how the transfer ended: once the
 * socket reached its end (EOF or error) and is closed, remote_end(*status, ...) returns
 * 0 for a clean end of the remote service's stream, or -1 with *code (DX_REMOTE) and
 * err ("sep://h/x: transfer cut short: ...") when the session was lost or the channel
 * reset: the bytes before it are then not the whole. It blocks until the helper
 * knows, and closes status. */
int remote_open_st(const char *uri, int *status, int *code, char *err, size_t errlen);
int remote_end(int status, int *code, char *err, size_t errlen);

#endif
