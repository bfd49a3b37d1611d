/* names.h: the namespace's grammar: which strings are service names, host names, proto
 * paths, socket file names and queries (doc/namespace.md). Pure functions of their
 * arguments (no file system, no environment), shared by the namespace (ns.c), the SEP
 * frame parser (sep-frame.c), the SEP servers (sep-svr.c), the importer and the fuzzer:
 * every string that comes from the network and may become a file name passes here.
 *
 * Functions with err write a complete reason there and return -1 with errno EINVAL. */
#ifndef DIPUS_NAMES_H
#define DIPUS_NAMES_H

#include <stddef.h>

#define NS_PATH_MAX 108   /* sizeof(sun_path): a socket path never exceeds it */
#define NS_NAME_MAX 64    /* a name is at most 63 bytes */
#define NS_HOST_MAX 64
#define NS_ERR_MAX  512
#define NS_N_MAX    999999999 /* instances: ...0 to ...999999999 (u32 on the wire) */
#define NS_N_LOW    999   /* publishers take the lowest free of 0..999 first; above it a
                           * random free one (squatters cannot fill a billion names) */
#define NS_N_DIGITS 9     /* the digits of NS_N_MAX */
#define NS_PROTO_DEPTH 32 /* proto components: the resolver looks no deeper */

int ns_check_name(const char *name, char *err, size_t errlen);
int ns_check_proto(const char *proto, char *err, size_t errlen);
int ns_check_host(const char *host, char *err, size_t errlen);
/* A service's name, host and proto as they may become file names (a RECORD from the
 * network, an importer's proxy): 1 if all three are acceptable, else 0. */
int ns_names_ok(const char *name, const char *host, const char *proto);
/* "NAME/PROTO" or "NAME" from a helper's command line. */
int ns_parse_arg(const char *arg, char name[NS_NAME_MAX], char proto[NS_PATH_MAX],
                 char *err, size_t errlen);
/* Socket file name "name.host...n" -> parts. 0 ok, -1 not a service name. */
int ns_parse_sockname(const char *base, char name[NS_NAME_MAX], char host[NS_HOST_MAX],
                      unsigned *n);
/* Lexically normalise an absolute path: "//" and "/./" collapse, ".." removes the
 * component before it (no link is asked about), no trailing '/'. 0, or -1 (EINVAL
 * relative, ENAMETOOLONG). */
int ns_clean_path(const char *in, char *out, size_t outlen);

/* A query's form (ns_resolve in ns.h says what each matches). */
enum ns_qkind { NS_Q_ALL, NS_Q_WORD, NS_Q_NAME_HOST, NS_Q_PROTO, NS_Q_ABS, NS_Q_REL /* NS_EXACT */ };
struct ns_query {
	enum ns_qkind kind;
	char a[NS_PATH_MAX];      /* word, name, proto prefix or path */
	char b[NS_HOST_MAX];      /* host */
};

int ns_parse_query(const char *q, int allow_abs, struct ns_query *out, char *err, size_t errlen);
/* Validate a query as ns_resolve would, without walking. */
int ns_check_query(const char *query, int allow_abs, char *err, size_t errlen);
/* A query from the network (the SEP servers): relative; no empty, "." or ".."
 * component; no control character; shorter than NS_PATH_MAX. */
int ns_check_net_query(const char *q, char *err, size_t errlen);

/* The reason into err, errno = e, -1: the namespace's one way to fail. */
int ns_fail(int e, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int ns_bad_char(unsigned char c);   /* space, control character or DEL */

#endif
