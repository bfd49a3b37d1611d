/* names.c: the namespace's grammar (names.h): names, hosts, protos, socket file names,
 * paths and queries, as pure functions of their arguments. */
#include "names.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ns_fail(int e, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

int ns_clean_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	if (in[0] != '/' || outlen < 2) {
		errno = EINVAL;
		return -1;
	}
	out[o++] = '/';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* "//" and "/./" say nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* up one, lexically: what a link would make of it is not asked */
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o + (o > 1) + n >= outlen) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	out[o] = 0;
	return 0;
}

/* The default root: CONFIG_DEFAULT_ROOT, or where its parent does not exist (Android
 * has no /tmp) the same name in $TMPDIR. */

/* ---- names ---- */

/* The first run of n ns_dots in s (n = 2 or 3), or NULL. */
static const char *ns_dots(const char *s, int n)
{
	for (; *s; s++)
		if (s[0] == '.' && s[1] == '.' && (n == 2 || s[2] == '.'))
			return s;
	return NULL;
}

int ns_bad_char(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

int ns_check_proto(const char *proto, char *err, size_t errlen)
{
	if (!*proto)
		return 0;
	if (strlen(proto) >= NS_PATH_MAX)
		return ns_fail(EINVAL, err, errlen, "%.40s...: protocol path too long", proto);
	const char *p = proto;
	for (int depth = 1;; depth++) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (depth > NS_PROTO_DEPTH)
			return ns_fail(EINVAL, err, errlen, "%.40s...: a protocol path has at most %d "
			            "components (the resolver looks no deeper)", proto, NS_PROTO_DEPTH);
		if (n == 0)
			return ns_fail(EINVAL, err, errlen, "%s: empty component in the protocol path "
			            "(write a/b, not a//b or a/)", proto);
		if (p[0] == '.')
			return ns_fail(EINVAL, err, errlen, "%s: a protocol component may not start with '.' "
			            "(no '.' or '..')", proto);
		for (size_t i = 0; i < n; i++)
			if (ns_bad_char(p[i]))
				return ns_fail(EINVAL, err, errlen, "%s: space or control character in the "
				            "protocol path", proto);
		if (!e)
			return 0;
		p = e + 1;
	}
}

int ns_check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0)
		return ns_fail(EINVAL, err, errlen, "empty service name");
	if (n >= NS_NAME_MAX)
		return ns_fail(EINVAL, err, errlen, "%s: service name longer than %d bytes", name,
		            NS_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = name[i];
		if (c == '.' || c == '/')
			return ns_fail(EINVAL, err, errlen, "%s: a service name may not contain '%c'", name, c);
		if (ns_bad_char(c))
			return ns_fail(EINVAL, err, errlen, "%s: space or control character in the service "
			            "name", name);
	}
	return 0;
}

int ns_check_host(const char *host, char *err, size_t errlen)
{
	size_t n = strlen(host);
	int bad = !n || n >= NS_HOST_MAX || strchr(host, '/') || ns_dots(host, 2) ||
	          host[0] == '.' || host[n - 1] == '.';
	for (size_t i = 0; i < n && !bad; i++)
		bad = ns_bad_char(host[i]);
	if (bad)
		return ns_fail(EINVAL, err, errlen, "%s: not usable as a host name (set DIPUS_HOST)", host);
	return 0;
}

int ns_parse_arg(const char *arg, char name[NS_NAME_MAX], char proto[NS_PATH_MAX], char *err,
                 size_t errlen)
{
	const char *slash = strchr(arg, '/');
	size_t nlen = slash ? (size_t)(slash - arg) : strlen(arg);
	if (nlen == 0)
		return ns_fail(EINVAL, err, errlen, "%s: empty service name (NAME/PROTO: the name comes "
		            "first)", arg);
	if (nlen >= NS_NAME_MAX)
		return ns_fail(EINVAL, err, errlen, "%.*s: service name longer than %d bytes", (int)nlen,
		            arg, NS_NAME_MAX - 1);
	memcpy(name, arg, nlen);
	name[nlen] = 0;
	if (ns_check_name(name, err, errlen) < 0)
		return -1;
	const char *p = slash ? slash + 1 : "";
	/* "name/" is refused as an empty component, naming the whole argument */
	if (ns_check_proto(slash && !*p ? arg : p, err, errlen) < 0)
		return -1;
	snprintf(proto, NS_PATH_MAX, "%s", p);
	return 0;
}

int ns_parse_sockname(const char *base, char name[NS_NAME_MAX], char host[NS_HOST_MAX], unsigned *n)
{
	const char *dot = strchr(base, '.');
	if (!dot || dot == base || (size_t)(dot - base) >= NS_NAME_MAX)
		return -1;
	const char *sep = ns_dots(dot + 1, 3);
	if (!sep || sep == dot + 1 || (size_t)(sep - dot - 1) >= NS_HOST_MAX)
		return -1;
	const char *num = sep + 3;
	size_t nl = strlen(num);
	if (!nl || nl > NS_N_DIGITS || (nl > 1 && num[0] == '0'))
		return -1;
	for (const char *q = num; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	memcpy(name, base, dot - base);
	name[dot - base] = 0;
	memcpy(host, dot + 1, sep - dot - 1);
	host[sep - dot - 1] = 0;
	*n = (unsigned)strtoul(num, NULL, 10);
	return 0;
}

/* ---- queries ---- */

int ns_parse_query(const char *q, int allow_abs, struct ns_query *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!q || !*q)
		return 0;  /* NS_Q_ALL */
	size_t n = strlen(q);
	if (n >= NS_PATH_MAX)
		return ns_fail(EINVAL, err, errlen, "%.40s...: query too long (at most %d bytes)", q,
		            NS_PATH_MAX - 1);
	for (const char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return ns_fail(EINVAL, err, errlen, "control character in the query");
	memcpy(out->a, q, n + 1);
	if (q[0] == '/') {
		if (!allow_abs)
			return ns_fail(EINVAL, err, errlen, "%s: absolute paths are not accepted here", q);
		/* one spelling: "//", "." and ".." would otherwise walk around the root's
		 * no-link rule (the inside-the-root test is on this form) */
		ns_clean_path(q, out->a, sizeof out->a);
		out->kind = NS_Q_ABS;
		return 0;
	}
	if (strchr(q, '/')) {
		/* a proto prefix; a trailing slash is harmless */
		while (n && out->a[n - 1] == '/')
			out->a[--n] = 0;
		out->kind = NS_Q_PROTO;
		return ns_check_proto(out->a, err, errlen);
	}
	char *dot = strchr(out->a, '.');
	if (dot) {
		if (dot == out->a || !dot[1] || strlen(dot + 1) >= NS_HOST_MAX)
			return ns_fail(EINVAL, err, errlen, "%s: not a NAME.HOST query", q);
		*dot = 0;
		memcpy(out->b, dot + 1, strlen(dot + 1) + 1);
		out->kind = NS_Q_NAME_HOST;
		return 0;
	}
	out->kind = NS_Q_WORD;
	return 0;
}

int ns_check_query(const char *query, int allow_abs, char *err, size_t errlen)
{
	struct ns_query q;
	return ns_parse_query(query, allow_abs, &q, err, errlen);
}

/* Does proto start with the whole components of prefix? */

int ns_names_ok(const char *name, const char *host, const char *proto)
{
	char ignored[NS_ERR_MAX];
	return ns_check_name(name, ignored, sizeof ignored) == 0 &&
	       ns_check_host(host, ignored, sizeof ignored) == 0 &&
	       ns_check_proto(proto, ignored, sizeof ignored) == 0;
}

int ns_check_net_query(const char *q, char *err, size_t errlen)
{
	if (!q || !*q)
		return 0;
	if (strlen(q) >= NS_PATH_MAX)
		return ns_fail(EINVAL, err, errlen, "query too long");
	if (q[0] == '/')
		return ns_fail(EINVAL, err, errlen, "%s: absolute paths are not offered", q);
	for (const char *c = q; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return ns_fail(EINVAL, err, errlen, "control character in the query");
	const char *p = q;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 && e)
			return ns_fail(EINVAL, err, errlen, "%s: empty path component", q);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return ns_fail(EINVAL, err, errlen, "%s: '.' and '..' are not allowed in a query", q);
		if (!e)
			return 0;
		p = e + 1;
	}
}
