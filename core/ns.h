/* ns.h: the dipus namespace: root, names, the resolver, publishing (doc/namespace.md).
 *
 *   <root>/local/<proto>/<name>.<host>...<n>
 *   <root>/exported/<proto>/<name>.<host>...<n>
 *   <root>/imported/<proto>/<name>.<host>...<n>
 *   <root>/users/<user>/<proto>/<name>.<host>...<n>
 *
 * Every function that fails writes a complete, user-facing reason into err (no
 * "dipus: applet:" prefix; the caller adds it) and returns -1 with errno set: EPERM for
 * a security refusal (unsafe root or directory, not yours: exit DX_REFUSED), EINVAL for
 * a bad name or query (DX_USAGE), anything else for I/O. */
#ifndef DIPUS_NS_H
#define DIPUS_NS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "names.h"

#define NS_DEAD_GAP_MS 100    /* dead = connection refused twice, this far apart */
#define NS_TEMP_GRACE_S 10    /* a temporary publish name younger than this is never reaped */

enum ns_scope {
	NS_LOCAL = 1,
	NS_EXPORTED = 2,
	NS_USERS = 4,      /* users/<me>/ only */
	NS_IMPORTED = 8,
	NS_ALL = 15,
};
/* Flag for ns_resolve's scopes (with an empty query only): also list the sockets left
 * under temporary publish names (.tmp*, .reap.*), with temp=1. For the reaper. */
#define NS_TEMPS 0x100u
/* Flag for ns_resolve's scopes: the query is a service's path below the scope
 * directory, "proto/name.host...n" (or "name.host...n"), and matches exactly that
 * service in each scope (the SEP servers' exact form). Looked up by name along the
 * path, with the walk's checks; no directory is listed. */
#define NS_EXACT 0x200u

struct ns_service {
	char path[NS_PATH_MAX];   /* absolute socket path */
	char rel[NS_PATH_MAX];    /* relative to the scope dir, e.g. audio/mpeg/madplay.stereo...0 */
	enum ns_scope scope;
	char proto[NS_PATH_MAX];  /* "" when empty */
	char name[NS_NAME_MAX];   /* "" for a temporary name (temp=1) */
	char host[NS_HOST_MAX];
	unsigned n;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int untrusted;            /* below a directory owned by another non-root user, or one
	                           * world-writable without the sticky bit */
	int temp;                 /* a temporary publish name (NS_TEMPS only) */
	time_t mtime;             /* when it was bound */
	dev_t dev;                /* the socket file's identity (publish/unpublish) */
	ino_t ino;
};

struct ns_list {
	struct ns_service *v;
	size_t n, cap;
};

/* $DIPUS_ROOT, else CONFIG_DEFAULT_ROOT (or, where its parent such as /tmp does not
 * exist, $TMPDIR/dipus), spelled as ns_clean_path() does. */
const char *ns_root(void);
const char *ns_host(void);           /* $DIPUS_HOST, else the node name */
const char *ns_scope_name(enum ns_scope s); /* "local", "exported", "users", "imported" */
/* The scope's directory: "<root>/local", ..., "<root>/users/<me>". 0, -1 if cut short. */
int ns_scope_dir(enum ns_scope scope, char *out, size_t outlen);

/* Check the root (and create it when create, it does not exist and its parent is safe:
 * 0700, the user's private namespace; or, made by root in a root-owned parent, a
 * shared root with mkroot's modes). Returns an O_DIRECTORY fd or -1. */
int ns_open_root(int create, char *err, size_t errlen);
/* Open (and with create, make) the directory of scope + proto under the root, checking
 * every component (a directory of another non-root user is refused). Returns a
 * directory fd or -1. */
int ns_open_dir(enum ns_scope scope, const char *proto, int create, char *err, size_t errlen);


/* The one resolver. Query forms (doc/namespace.md):
 *   "" or NULL      everything
 *   "word"          services named word, and services whose proto starts with word
 *   "name.host"     name on host; "name.host...n" that one instance
 *   "a/b/c"         services whose proto starts with the components a/b/c, and services
 *                   named a whose proto starts with b/c (the helpers' NAME/PROTO)
 *   "/abs/path"     exactly that socket (only when allow_abs)
 * scopes is a mask of enum ns_scope (| NS_TEMPS). Order: this host's services first,
 * then scope order local, exported, users, imported, then path (byte order).
 * Untrusted sockets are included with untrusted=1 (clients skip them; dls -l shows
 * them). Appends to out; returns the count added (0 = nothing matched) or -1 with err
 * (EINVAL: bad query, EPERM: unsafe root). A root that does not exist holds nothing. */
int ns_resolve(const char *query, unsigned scopes, int allow_abs, struct ns_list *out,
               char *err, size_t errlen);
int ns_match(const char *query, const struct ns_service *s); /* 1 if s matches query */
/* The services of in (in its order) in scopes that match query, appended to out: a
 * resolve of query, from a listing of everything (the monitors' one walk). */
void ns_select(const char *query, unsigned scopes, const struct ns_list *in, struct ns_list *out);
/* Sort a list in resolver order. */
void ns_sort(struct ns_list *l);
void ns_list_add(struct ns_list *l, const struct ns_service *s);
void ns_list_free(struct ns_list *l);

/* Connect to a resolved service without following symlinks in its path (the directory
 * is reached by the checked walk; the socket as /proc/self/fd/DIRFD/NAME, or from
 * inside the directory when /proc is missing or that would not fit sun_path).
 * Returns a connected, blocking, close-on-exec fd, or -1 with errno (ECONNREFUSED for a
 * dead socket, ENOTSOCK for a non-socket, ELOOP for a symlink). */
int ns_connect(const struct ns_service *s);
/* The same, for a caller on an event loop: the fd is non-blocking from the start, and
 * a service whose listen backlog is full fails at once with EAGAIN (UNIX sockets never
 * say EINPROGRESS). */
int ns_connect_nb(const struct ns_service *s);
/* An NS_EXACT query's connect, without a second walk: resolve rel (a service's path
 * below the scope directory) in scopes and connect to the first trusted socket found
 * (scope order) through the directory fd the walk holds. The same checks as
 * ns_resolve + ns_connect: no link followed, sockets only, untrusted ones skipped, the
 * kernel's permission checks on connect. The connect itself never waits (EAGAIN: the
 * backlog is full). Returns a connected, non-blocking,
 * close-on-exec fd and *svc; or -1 with errno: ENOENT when no trusted service matched,
 * else the first failure's (*svc the service that failed), or EPERM with err for an
 * unsafe root. Only in builds with a SEP server (else always ENOENT). */
int ns_connect_exact(const char *rel, unsigned scopes, struct ns_service *svc, char *err,
                     size_t errlen);

/* Publish: bind under a temporary name, set mode and group, listen, rename into place
 * with the lowest free <n> (a live socket is never replaced; a dead one, refused twice
 * NS_DEAD_GAP_MS apart, is; a non-socket never). mode: socket permissions; gid: group or
 * (gid_t)-1. Returns the listening fd (blocking, close-on-exec) and fills out, or -1
 * with err. */
int ns_publish(enum ns_scope scope, const char *name, const char *proto, mode_t mode,
               gid_t gid, int backlog, struct ns_service *out, char *err, size_t errlen);
/* The same under another host's name (an importer's proxy for a remote service). */
int ns_publish_as(enum ns_scope scope, const char *name, const char *host, const char *proto,
                  mode_t mode, gid_t gid, int backlog, struct ns_service *out, char *err,
                  size_t errlen);
/* Where an importer's proxies go: want, except NS_IMPORTED for a user in a root that
 * is not theirs (a shared root's imported/ is root's importer's): NS_USERS. */
enum ns_scope ns_import_scope(enum ns_scope want);

/* Remove a published socket if it is still the one we bound (same inode). Call it
 * before closing listen_fd: while we listen nobody may judge it dead and replace it. */
int ns_unpublish(const struct ns_service *s, int listen_fd);

/* Is anyone listening on the socket file dev/ino, in this network namespace? Asked of
 * the kernel (sock_diag), never by connecting: 1 yes, 0 not seen, -1 cannot tell (no
 * sock_diag for UNIX sockets). Answers come from one dump reused for 50 ms. */
int ns_listening(dev_t dev, ino_t ino);
void ns_listening_forget(void);   /* the next answer from a fresh dump */

/* Is a socket path live? 1 live, 0 refused (dead), -1 other error (errno). Live when
 * ns_listening() says so; otherwise a datagram socket's connect, which a dead socket
 * refuses and a bound stream socket answers EPROTOTYPE: it never reaches the service. */
int ns_probe(const char *path);
/* The same for a pass over many (the reaper): the kernel's listing is reused for 50 ms,
 * so a socket closed within that time may still read as live. */
int ns_probe_many(const char *path);
/* The reaper's last step for a socket judged dead once already: if it is still the same
 * file (dev/ino), still refuses, and the caller may remove it, remove it (unless dry).
 * Removal moves it aside to a private temporary name first and checks its identity
 * there, so a socket published in its place meanwhile is put back, never removed.
 * Returns 1 removed (or would be), 0 left (alive again, changed, gone), -1 not
 * removable (err says why). */
int ns_reap_one(const struct ns_service *s, int dry, char *err, size_t errlen);

#endif
