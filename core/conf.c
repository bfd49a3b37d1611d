/* conf.c: the dipusd.conf parser (doc/dipusd.md). Pure: text in, struct conf out. */
#include "conf.h"
#include "ns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_FILE_MAX (256 * 1024)
#define MAX_TOKENS 24

void conf_defaults(struct conf *c)
{
	/* field by field, not a memset: the lists (60 KB) stay untouched, so an idle
	 * daemon's memory holds only what its file uses; nothing reads past the counts */
	c->nlisten = c->nadv_ifaces = c->ndisc_ifaces = c->nimports = c->nservices = 0;
	c->user[0] = 0;
	c->log_set = c->verbose = 0;
	c->export = 1;
	c->advertise = 1;
	c->discover = 1;
	c->trust = CONF_TRUST_KNOWN;
	c->max_discovered = 32;
	c->reap_interval = 60;
	c->log = CONF_LOG_STDERR;
	c->max_peers = 64;
	c->max_channels = 256;
	c->handshake_timeout = 10;
	c->idle_timeout = 600;
}

struct pctx {
	const char *name;
	int line;
	char *err;
	size_t errlen;
};

static int bad(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct pctx *p, const char *fmt, ...)
{
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

static int onoff(struct pctx *p, const char *kw, const char *v, int *out)
{
	if (v && (!strcmp(v, "on") || !strcmp(v, "yes")))
		*out = 1;
	else if (v && (!strcmp(v, "off") || !strcmp(v, "no")))
		*out = 0;
	else
		return bad(p, "%s: expected on or off, not '%s'", kw, v ? v : "");
	return 0;
}

static int number(struct pctx *p, const char *kw, const char *v, unsigned long min,
                  unsigned long max, unsigned *out)
{
	unsigned long n;
	if (!v || parse_uint(v, min, max, &n) < 0)
		return bad(p, "%s: expected a number from %lu to %lu, not '%s'", kw, min, max,
		           v ? v : "");
	*out = n;
	return 0;
}

/* "on|off [IFACE...]" into flag and the interface list */
static int onoff_ifaces(struct pctx *p, const char *kw, char **tok, int nt, int *flag,
                        char ifs[][16], unsigned *nifs)
{
	if (onoff(p, kw, nt > 1 ? tok[1] : NULL, flag) < 0)
		return -1;
	*nifs = 0;
	for (int i = 2; i < nt; i++) {
		if (!*flag)
			return bad(p, "%s off takes no interfaces", kw);
		if (*nifs == CONF_MAX_IFACES)
			return bad(p, "%s: at most %d interfaces", kw, CONF_MAX_IFACES);
		if (strlen(tok[i]) >= 16 || strchr(tok[i], '/'))
			return bad(p, "%s: '%s' is not an interface name", kw, tok[i]);
		snprintf(ifs[(*nifs)++], 16, "%s", tok[i]);
	}
	return 0;
}

/* service local|export [-c MAX] [-b N] [-m MODE] [-g GROUP] [-k] NAME[/PROTO] COMMAND...
 * rest: the raw line after the keyword, so COMMAND keeps its spacing and quotes */
static int service_line(struct pctx *p, struct conf *c, const char *rest)
{
	if (c->nservices == CONF_MAX_SERVICES)
		return bad(p, "service: at most %d services", CONF_MAX_SERVICES);
	struct conf_service s = { .max_conns = 40, .backlog = 64, .mode = 0666,
	                          .gid = (gid_t)-1, .line = p->line };
	char word[256];
	int stage = 0;  /* 0 scope, 1 options/name */
	for (;;) {
		rest += strspn(rest, " \t");
		size_t n = strcspn(rest, " \t");
		if (!n)
			return bad(p, "service: expected 'service local|export [OPTIONS] NAME[/PROTO] "
			           "COMMAND'");
		if (n >= sizeof word)
			return bad(p, "service: '%.40s...' is too long", rest);
		memcpy(word, rest, n);
		word[n] = 0;
		rest += n;
		if (stage == 0) {
			if (!strcmp(word, "local"))
				s.scope = NS_LOCAL;
			else if (!strcmp(word, "export"))
				s.scope = NS_EXPORTED;
			else
				return bad(p, "service: '%s': expected local or export", word);
			stage = 1;
			continue;
		}
		if (word[0] == '-') {
			const char *opt = word;
			if (!strcmp(opt, "-k")) {
				s.kill_children = 1;
				continue;
			}
			if (strcmp(opt, "-c") && strcmp(opt, "-b") && strcmp(opt, "-m") && strcmp(opt, "-g"))
				return bad(p, "service: unknown option '%s' (-c MAX, -b N, -m MODE, -g GROUP, -k)",
				           opt);
			char o = opt[1];
			rest += strspn(rest, " \t");
			n = strcspn(rest, " \t");
			if (!n || n >= sizeof word)
				return bad(p, "service: -%c needs a value", o);
			memcpy(word, rest, n);
			word[n] = 0;
			rest += n;
			if (o == 'c' && number(p, "service -c", word, 1, 100000, &s.max_conns) < 0)
				return -1;
			if (o == 'b') {
				unsigned b;
				if (number(p, "service -b", word, 1, 65535, &b) < 0)
					return -1;
				s.backlog = b;
			}
			if (o == 'm') {
				char *end;
				unsigned long m = strtoul(word, &end, 8);
				if (*end || m > 0777)
					return bad(p, "service -m %s: an octal mode such as 0660", word);
				s.mode = m;
			}
			if (o == 'g') {
				struct group *g = getgrnam(word);
				unsigned long v;
				if (g)
					s.gid = g->gr_gid;
				else if (parse_uint(word, 0, 0x7fffffff, &v) == 0)
					s.gid = v;
				else
					return bad(p, "service -g %s: no such group", word);
			}
			continue;
		}
		char err[NS_ERR_MAX];
		if (ns_parse_arg(word, s.name, s.proto, err, sizeof err) < 0)
			return bad(p, "service: %s", err);
		break;
	}
	rest += strspn(rest, " \t");
	size_t len = strlen(rest);
	while (len && (rest[len - 1] == ' ' || rest[len - 1] == '\t'))
		len--;
	if (!len)
		return bad(p, "service %s: no COMMAND", s.name);
	if (len >= sizeof s.command)
		return bad(p, "service %s: COMMAND is too long", s.name);
	memcpy(s.command, rest, len);
	s.command[len] = 0;
	for (unsigned i = 0; i < c->nservices; i++)
		if (c->services[i].scope == s.scope && !strcmp(c->services[i].name, s.name) &&
		    !strcmp(c->services[i].proto, s.proto))
			return bad(p, "service %s: the same service as on line %d", s.name,
			           c->services[i].line);
	c->services[c->nservices++] = s;
	return 0;
}

static int import_line(struct pctx *p, struct conf *c, char **tok, int nt)
{
	if (nt != 2)
		return bad(p, "import: expected one URI (sep://HOST[:PORT][/PREFIX], "
		           "ssh://[USER@]HOST[:PORT][/PREFIX])");
	const char *u = tok[1];
	if (strncmp(u, "sep://", 6) && strncmp(u, "sep+plain://", 12) && strncmp(u, "ssh://", 6))
		return bad(p, "import %s: not a sep://, sep+plain:// or ssh:// URI", u);
	if (strlen(u) >= sizeof c->imports[0])
		return bad(p, "import: URI too long");
	for (unsigned i = 0; i < c->nimports; i++)
		if (!strcmp(c->imports[i], u))
			return bad(p, "import %s: given twice", u);
	if (c->nimports == CONF_MAX_IMPORTS)
		return bad(p, "import: at most %d imports", CONF_MAX_IMPORTS);
	snprintf(c->imports[c->nimports++], sizeof c->imports[0], "%s", u);
	return 0;
}

static int one_line(struct pctx *p, struct conf *c, char *line, int *listen_seen)
{
	/* the raw text after the keyword, for service's COMMAND */
	char raw[CONF_LINE_MAX];
	snprintf(raw, sizeof raw, "%s", line);
	char *tok[MAX_TOKENS];
	int nt = 0;
	for (char *s = strtok(line, " \t"); s; s = strtok(NULL, " \t")) {
		if (nt == MAX_TOKENS && strcmp(tok[0], "service"))
			return bad(p, "too many words");
		if (nt < MAX_TOKENS)
			tok[nt++] = s;
	}
	if (!nt)
		return 0;
	const char *kw = tok[0];
	const char *v = nt > 1 ? tok[1] : NULL;
	int one_arg = nt == 2;
	if (!strcmp(kw, "service")) {
		const char *rest = raw + strspn(raw, " \t") + strlen("service");
		return service_line(p, c, rest);
	}
	if (!strcmp(kw, "import"))
		return import_line(p, c, tok, nt);
	if (!strcmp(kw, "advertise"))
		return onoff_ifaces(p, kw, tok, nt, &c->advertise, c->adv_ifaces, &c->nadv_ifaces);
	if (!strcmp(kw, "discover"))
		return onoff_ifaces(p, kw, tok, nt, &c->discover, c->disc_ifaces, &c->ndisc_ifaces);
	if (!strcmp(kw, "listen")) {
		if (!*listen_seen)
			c->nlisten = 0;  /* the first listen line replaces the default */
		*listen_seen = 1;
		if (nt < 2)
			return bad(p, "listen: expected ADDR[:PORT]...");
		for (int i = 1; i < nt; i++) {
			if (c->nlisten == CONF_MAX_LISTEN)
				return bad(p, "listen: at most %d addresses", CONF_MAX_LISTEN);
			if (strlen(tok[i]) >= sizeof c->listen[0])
				return bad(p, "listen %s: too long", tok[i]);
			snprintf(c->listen[c->nlisten++], sizeof c->listen[0], "%s", tok[i]);
		}
		return 0;
	}
	if (!one_arg)
		return bad(p, "%s: expected one value%s", kw, nt > 2 ? ", got several" : "");
	if (!strcmp(kw, "export"))
		return onoff(p, kw, v, &c->export);
	if (!strcmp(kw, "verbose"))
		return onoff(p, kw, v, &c->verbose);
	if (!strcmp(kw, "trust")) {
		if (!strcmp(v, "known"))
			c->trust = CONF_TRUST_KNOWN;
		else if (!strcmp(v, "none"))
			c->trust = CONF_TRUST_NONE;
		else
			return bad(p, "trust: expected known or none, not '%s'", v);
		return 0;
	}
	if (!strcmp(kw, "reap-interval"))
		return number(p, kw, v, 0, 86400, &c->reap_interval);
	if (!strcmp(kw, "max-discovered"))
		return number(p, kw, v, 0, CONF_MAX_IMPORTS, &c->max_discovered);
	if (!strcmp(kw, "max-peers"))
		return number(p, kw, v, 1, 100000, &c->max_peers);
	if (!strcmp(kw, "max-channels"))
		return number(p, kw, v, 1, 1000000, &c->max_channels);
	if (!strcmp(kw, "handshake-timeout"))
		return number(p, kw, v, 1, 3600, &c->handshake_timeout);
	if (!strcmp(kw, "idle-timeout"))
		return number(p, kw, v, 0, 1000000, &c->idle_timeout);
	if (!strcmp(kw, "user")) {
		if (strlen(v) >= sizeof c->user)
			return bad(p, "user: name too long");
		/* checked here, so a typo stops the start (and -t) with the line, not later
		 * as a failed privilege drop */
		errno = 0;
		if (!getpwnam(v))
			return bad(p, "user %s: no such user%s%s", v, errno ? ": " : "",
			           errno ? strerror(errno) : "");
		snprintf(c->user, sizeof c->user, "%s", v);
		return 0;
	}
	if (!strcmp(kw, "log")) {
		if (!strcmp(v, "syslog"))
			c->log = CONF_LOG_SYSLOG;
		else if (!strcmp(v, "stderr"))
			c->log = CONF_LOG_STDERR;
		else
			return bad(p, "log: expected stderr or syslog, not '%s'", v);
		c->log_set = 1;
		return 0;
	}
	return bad(p, "unknown keyword '%s' (see doc/dipusd.md)", kw);
}

int conf_parse(struct conf *c, const char *text, const char *name, char *err, size_t errlen)
{
	struct pctx p = { .name = name, .err = err, .errlen = errlen };
	int listen_seen = 0;
	const char *s = text;
	while (*s) {
		p.line++;
		size_t n = strcspn(s, "\n");
		if (n >= CONF_LINE_MAX)
			return bad(&p, "line longer than %d bytes", CONF_LINE_MAX - 1);
		char line[CONF_LINE_MAX];
		memcpy(line, s, n);
		line[n] = 0;
		s += n + (s[n] == '\n');
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				return bad(&p, "control character in line");
		char *t = line + strspn(line, " \t");
		if (!*t || *t == '#')
			continue;
		if (one_line(&p, c, t, &listen_seen) < 0)
			return -1;
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, int missing_ok, int *found, char *err,
              size_t errlen)
{
	conf_defaults(c);
	if (found)
		*found = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* the file decides what runs (service COMMAND): as sshd's StrictModes */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		snprintf(err, errlen, "%s: refused: owned by uid %d with mode %04o (it must be "
		         "ours or root's and not writable by group or others: chmod go-w %s)",
		         path, (int)st.st_uid, (int)(st.st_mode & 07777), path);
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (st.st_size > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONF_FILE_MAX);
		close(fd);
		errno = EFBIG;
		return -1;
	}
	char *text = xmalloc(st.st_size + 1);
	ssize_t n = read_full(fd, text, st.st_size);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	text[n] = 0;
	if (memchr(text, 0, n)) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		errno = EINVAL;
		return -1;
	}
	if (found)
		*found = 1;
	int r = conf_parse(c, text, path, err, errlen);
	free(text);
	return r;
}

int conf_service_eq(const struct conf_service *a, const struct conf_service *b)
{
	return a->scope == b->scope && !strcmp(a->name, b->name) && !strcmp(a->proto, b->proto) &&
	       !strcmp(a->command, b->command) && a->max_conns == b->max_conns &&
	       a->backlog == b->backlog && a->mode == b->mode && a->gid == b->gid &&
	       a->kill_children == b->kill_children;
}
