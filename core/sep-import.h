/* sep-import.h: the importer as a core module (doc/import.md).
 *
 * One importer mirrors one remote (sep://, sep+plain:// or ssh:// URI, with an optional
 * /PREFIX query) as proxy sockets, over one SEP session that all its proxies share:
 *  - the remote's "<proto>/<name>.<host>...<n>" becomes
 *    "<root>/<scope>/<proto>/<name>.<host>...<m>" (m: the lowest free number here);
 *  - each connection accepted on a proxy becomes a new channel on the session;
 *  - live: WATCH on the remote, so proxies appear and vanish with the services;
 *  - when the session drops, every proxy is removed and the importer reconnects with
 *    capped exponential backoff (SEP_IMPORT_BACKOFF_MIN_MS doubling to
 *    SEP_IMPORT_BACKOFF_MAX_MS; reset after a session that lasted
 *    SEP_IMPORT_BACKOFF_MAX_MS), then restores them.
 * Several importers can run on one loop (dipus import URI..., dipusd). */
#ifndef DIPUS_SEP_IMPORT_H
#define DIPUS_SEP_IMPORT_H

#include <stddef.h>
#include "ns.h"

struct loop;
struct sep_import;

#define SEP_IMPORT_BACKOFF_MIN_MS 250
#define SEP_IMPORT_BACKOFF_MAX_MS 30000

#define SEP_IMPORT_VERBOSE 1u   /* log proxies appearing/vanishing and each (re)connect */

/* Start importing uri on lp. scope: NS_IMPORTED (proxies mode 0666) or NS_USERS
 * (users/<me>/, proxies mode 0600; what ssh:// imports use). Connecting happens on the
 * loop: a remote that is down now is retried with backoff, not an error. Returns NULL
 * with err only for a bad URI or an unusable local namespace. */
struct sep_import *sep_import_start(struct loop *lp, const char *uri, enum ns_scope scope,
                                    unsigned flags, char *err, size_t errlen);
/* The same for an exporter found by its key (dipusd's discovery): uri is "sep://ADDR:PORT"
 * (an address it answered from) and expect_fp ("SHA256:...", as its TXT fp said) the
 * key it must show. Each TLS handshake then accepts exactly that key, and only while
 * it is pinned in known_hosts under any name (tls_known_hosts_has_fp); the host:port
 * of the URI need not be pinned. A different key drops the attempt and is logged with
 * both fingerprints ("ADDR:PORT: the exporter showed key X, not the expected Y"), a
 * key no longer trusted here as "not trusted here"; the importer retries with backoff
 * like any failed attempt (sep_import_stop() ends it). expect_fp NULL: exactly
 * sep_import_start(). NULL with err (errno EINVAL) for another scheme or a malformed
 * fingerprint. */
struct sep_import *sep_import_start_fp(struct loop *lp, const char *uri, enum ns_scope scope,
                                       unsigned flags, const char *expect_fp, char *err,
                                       size_t errlen);
/* Remove every proxy, close the session, free. NULL is fine. */
void sep_import_stop(struct sep_import *imp);
/* Number of proxies currently published (for tests and dipusd's status). */
size_t sep_import_count(const struct sep_import *imp);
/* 1 while the session is up (dipusd: a discovered exporter whose record expired is
 * kept while its session lives). */
int sep_import_up(const struct sep_import *imp);

#endif
