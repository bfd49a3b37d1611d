/* conf.h: dipusd.conf, line-oriented like sshd_config (doc/dipusd.md).
 *
 *   # comment
 *   KEYWORD ARGS...
 *
 * Everything is bounded (at most CONF_MAX_* of each list, CONF_LINE_MAX per line). A
 * bad line is an error naming the file and line: "dipusd.conf:12: unknown keyword 'x'".
 * The parser is pure (no I/O but reading the file, no global state), so dipusd can
 * parse a new file on SIGHUP and compare it with the running one. */
#ifndef DIPUS_CONF_H
#define DIPUS_CONF_H

#include <stddef.h>
#include <sys/types.h>

#define CONF_MAX_LISTEN 16
#define CONF_MAX_IFACES 8
#define CONF_MAX_IMPORTS 64
#define CONF_MAX_SERVICES 32
#define CONF_LINE_MAX 1024
#define CONF_ERR_MAX 640

enum conf_log { CONF_LOG_STDERR, CONF_LOG_SYSLOG };
enum conf_trust { CONF_TRUST_KNOWN, CONF_TRUST_NONE };

struct conf_service {
	int scope;                 /* NS_LOCAL or NS_EXPORTED */
	char name[64];
	char proto[108];
	char command[CONF_LINE_MAX];
	unsigned max_conns;        /* -c (40) */
	int backlog;               /* -b (64) */
	mode_t mode;               /* -m (0666) */
	gid_t gid;                 /* -g ((gid_t)-1) */
	int kill_children;         /* -k */
	int line;
};

struct conf {
	int export;                /* run the exporter (on) */
	char listen[CONF_MAX_LISTEN][64];  /* "ADDR[:PORT]"; none: 0.0.0.0:7150 */
	unsigned nlisten;
	int advertise;             /* on */
	char adv_ifaces[CONF_MAX_IFACES][16];
	unsigned nadv_ifaces;
	int discover;              /* on */
	char disc_ifaces[CONF_MAX_IFACES][16];
	unsigned ndisc_ifaces;
	enum conf_trust trust;     /* known: import discovered exporters whose key is known */
	unsigned max_discovered;   /* discovered exporters imported at once (32) */
	char imports[CONF_MAX_IMPORTS][256];
	unsigned nimports;
	struct conf_service services[CONF_MAX_SERVICES];
	unsigned nservices;
	unsigned reap_interval;    /* seconds, 0 off (60) */
	char user[64];             /* "" keep who started us */
	enum conf_log log;
	int log_set;               /* log given in the file (-S overrides only the default) */
	unsigned max_peers, max_channels, handshake_timeout, idle_timeout;
	int verbose;               /* verbose on */
};

/* The defaults (no file): export on 0.0.0.0:7150, advertise and discover on every
 * interface, import the trusted, reap every 60 s, log to stderr. */
void conf_defaults(struct conf *c);
/* Parse text (NUL-terminated) as the file named name. 0, or -1 with
 * "NAME:LINE: reason" in err. */
int conf_parse(struct conf *c, const char *text, const char *name, char *err, size_t errlen);
/* Load path into c (defaults first). A missing file is not an error when missing_ok
 * (then *found = 0). 0 or -1 with err. */
int conf_load(struct conf *c, const char *path, int missing_ok, int *found, char *err,
              size_t errlen);
/* Two service lines are the same service (same everything): 1, else 0. */
int conf_service_eq(const struct conf_service *a, const struct conf_service *b);

#endif
