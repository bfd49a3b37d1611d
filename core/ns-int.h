/* ns-int.h: what the namespace's own files (ns.c: root, directories, publishing and
 * reaping; ns-walk.c: the resolver's walk, connecting and probing) share. Not for
 * other modules: they use ns.h. */
#ifndef DIPUS_NS_INT_H
#define DIPUS_NS_INT_H

#include "ns.h"

#include <sys/stat.h>

#define WALK_MAX_DEPTH NS_PROTO_DEPTH

extern const char *const ns_scope_dirs[];        /* "local", "exported", "users", "imported" */
extern const enum ns_scope ns_scope_order[];     /* the resolver's scope order */
int ns_scope_index(enum ns_scope s);
const char *ns_user_name(uid_t uid, char *buf, size_t len);
const char *ns_my_user(void);

/* The directory rule (ns.c): a directory, root's or ours, world-writable only with
 * the sticky bit; EPERM with the reason. */
int ns_check_dir_stat(const struct stat *st, const char *path, char *err, size_t errlen);
int ns_open_dir_at(int dirfd, const char *name);  /* O_NOFOLLOW, an existing directory */
int ns_fail_open_at(int e, int dirfd, const char *name, const char *path, char *err,
                    size_t errlen);
int ns_may_remove_at(int dirfd, const struct stat *st);
int ns_step_dir(int dirfd, const char *name, int create, mode_t mode, const char *path,
                char *err, size_t errlen);

/* Reaching a socket without following links (ns-walk.c). */
enum { NS_AT_BIND, NS_AT_CONNECT };
int ns_sock_at(int op, int sock, int dirfd, const char *base);
int ns_open_parent(const char *given, char base[NS_PATH_MAX]);
int ns_probe_at(int dirfd, const char *base);
void ns_svc_set_stat(struct ns_service *s, const struct stat *st);

#endif
