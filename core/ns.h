/* ns.h: the dipus namespace: root, names, the resolver, publishing (doc/namespace.md).
 *
 *   <root>/local/<proto>/<name>.<host>...<n>
 *   <root>/exported/<proto>/<name>.<host>...<n>
 *   <root>/imported/<proto>/<name>.<host>...<n>
 *   <root>/users/<user>/<proto>/<name>.<host>...<n>
 *
 * Every function that fails writes a complete, user-facing reason into err (no
 * "dipus: applet:" prefix; the caller adds it) and returns -1. */
#ifndef DIPUS_NS_H
#define DIPUS_NS_H

#include <stddef.h>
#include <sys/types.h>

#define NS_PATH_MAX 108   /* sizeof(sun_path): a socket path never exceeds it */
#define NS_NAME_MAX 64
#define NS_HOST_MAX 64
#define NS_ERR_MAX  512

enum ns_scope {
	NS_LOCAL = 1,
	NS_EXPORTED = 2,
	NS_USERS = 4,      /* users/<me>/ only */
	NS_IMPORTED = 8,
	NS_ALL = 15,
};

struct ns_service {
	char path[NS_PATH_MAX];   /* absolute socket path */
	char rel[NS_PATH_MAX];    /* relative to the scope dir, e.g. audio/mpeg/madplay.stereo...0 */
	enum ns_scope scope;
	char proto[NS_PATH_MAX];  /* "" when empty */
	char name[NS_NAME_MAX];
	char host[NS_HOST_MAX];
	unsigned n;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int untrusted;            /* below a directory owned by another non-root user */
	dev_t dev;                /* the socket file's identity (publish/unpublish) */
	ino_t ino;
};

struct ns_list {
	struct ns_service *v;
	size_t n, cap;
};

const char *ns_root(void);           /* $DIPUS_ROOT, else CONFIG_DEFAULT_ROOT */
const char *ns_host(void);           /* $DIPUS_HOST, else the node name */
const char *ns_scope_name(enum ns_scope s); /* "local", "exported", "users", "imported" */

/* Check the root (and create it 0700 when create && it is the user's own, i.e. it does
 * not exist and its parent is safe). Returns an O_DIRECTORY|O_NOFOLLOW fd or -1. */
int ns_open_root(int create, char *err, size_t errlen);
/* Open (and with create, make) the directory of scope + proto under the root, checking
 * every component. Returns a directory fd or -1. */
int ns_open_dir(enum ns_scope scope, const char *proto, int create, char *err, size_t errlen);

/* "NAME/PROTO" or "NAME" from a helper's command line. */
int ns_parse_arg(const char *arg, char name[NS_NAME_MAX], char proto[NS_PATH_MAX],
                 char *err, size_t errlen);
/* Socket file name "name.host...n" -> parts. 0 ok, -1 not a service name. */
int ns_parse_sockname(const char *base, char name[NS_NAME_MAX], char host[NS_HOST_MAX],
                      unsigned *n);

/* The one resolver. Query forms (DESIGN.md): "" or NULL (everything), "name",
 * "name.host", "proto/prefix", "/abs/path" (only when allow_abs). scopes is a mask of
 * enum ns_scope. Result order: this host's services first, then scope order local,
 * exported, users, imported, then path. Untrusted sockets are included with
 * untrusted=1 (clients skip them; dls -l shows them). Returns the count (0 = nothing
 * matched) or -1 with err (bad query, unsafe root). */
int ns_resolve(const char *query, unsigned scopes, int allow_abs, struct ns_list *out,
               char *err, size_t errlen);
int ns_match(const char *query, const struct ns_service *s); /* 1 if s matches query */
void ns_list_free(struct ns_list *l);

/* Connect to a resolved service without following symlinks in its path.
 * Returns a connected fd, or -1 with errno (ECONNREFUSED for a dead socket). */
int ns_connect(const struct ns_service *s);

/* Publish: bind under a temporary name, listen, rename into place with the lowest free
 * <n> (a live socket is never replaced; a dead one is). mode: socket permissions;
 * gid: group or (gid_t)-1. Returns the listening fd and fills out, or -1 with err. */
int ns_publish(enum ns_scope scope, const char *name, const char *proto, mode_t mode,
               gid_t gid, int backlog, struct ns_service *out, char *err, size_t errlen);
/* Remove a published socket if it is still the one we bound (same inode). */
int ns_unpublish(const struct ns_service *s, int listen_fd);

/* Is a socket path live? 1 live, 0 refused (dead), -1 other error (errno). */
int ns_probe(const char *path);

#endif
