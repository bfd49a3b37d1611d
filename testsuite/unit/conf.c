/* conf: core/conf.c, the dipusd.conf parser: every keyword, the defaults, and that a
 * bad line is refused with "FILE:LINE: reason". */
#include "conf.h"
#include "ns.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void check(int ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		printf("PASS: conf/%s\n", name);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL: conf/%s: ", name);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures++;
}

static struct conf c;
static char err[CONF_ERR_MAX];

static int parse(const char *text)
{
	conf_defaults(&c);
	err[0] = 0;
	return conf_parse(&c, text, "dipusd.conf", err, sizeof err);
}

/* text must be refused, the error naming line and containing want */
static void refused(const char *name, const char *text, int line, const char *want)
{
	char pre[32];
	snprintf(pre, sizeof pre, "dipusd.conf:%d: ", line);
	int r = parse(text);
	check(r < 0 && !strncmp(err, pre, strlen(pre)) && strstr(err, want), name,
	      "r=%d err='%s' (wanted '%s...%s')", r, err, pre, want);
}

int main(void)
{
	int r = parse("");
	check(r == 0 && c.export && c.advertise && c.discover && c.trust == CONF_TRUST_KNOWN &&
	      c.reap_interval == 60 && !c.nlisten && !c.nimports && !c.nservices && !c.user[0] &&
	      c.log == CONF_LOG_STDERR, "defaults", "r=%d", r);

	r = parse("# a comment\n\n   \t\n  # indented comment\r\nexport off\n");
	check(r == 0 && !c.export, "comments, blank lines, CRLF", "r=%d err=%s", r, err);

	r = parse("listen 10.0.0.1 [fe80::1%eth0]:7151\nlisten 0.0.0.0:7152\n");
	check(r == 0 && c.nlisten == 3 && !strcmp(c.listen[0], "10.0.0.1") &&
	      !strcmp(c.listen[1], "[fe80::1%eth0]:7151") && !strcmp(c.listen[2], "0.0.0.0:7152"),
	      "listen (several, repeated)", "r=%d n=%u err=%s", r, c.nlisten, err);

	r = parse("advertise on br-lan wlan0\ndiscover off\ntrust none\n");
	check(r == 0 && c.advertise && c.nadv_ifaces == 2 && !strcmp(c.adv_ifaces[1], "wlan0") &&
	      !c.discover && c.trust == CONF_TRUST_NONE, "advertise/discover/trust",
	      "r=%d err=%s", r, err);

	r = parse("import sep://encode.lan/audio\nimport ssh://me@far.example.org:2222\n"
	          "import sep+plain://10.1.1.1:7151\n");
	check(r == 0 && c.nimports == 3 && !strcmp(c.imports[0], "sep://encode.lan/audio") &&
	      !strcmp(c.imports[1], "ssh://me@far.example.org:2222"), "import",
	      "r=%d n=%u err=%s", r, c.nimports, err);

	r = parse("service export -c 4 -m 0660 -k lame/audio/x-wav/to/audio/mpeg  lame -  -  \n"
	          "service local echo cat\n");
	struct conf_service *s = &c.services[0];
	check(r == 0 && c.nservices == 2 && s->scope == NS_EXPORTED && !strcmp(s->name, "lame") &&
	      !strcmp(s->proto, "audio/x-wav/to/audio/mpeg") && !strcmp(s->command, "lame -  -") &&
	      s->max_conns == 4 && s->mode == 0660 && s->kill_children && s->line == 1 &&
	      c.services[1].scope == NS_LOCAL && !strcmp(c.services[1].command, "cat") &&
	      c.services[1].max_conns == 40 && c.services[1].mode == 0666,
	      "service with options; COMMAND is the rest of the line",
	      "r=%d n=%u err=%s cmd='%s'", r, c.nservices, err, s->command);
	check(!conf_service_eq(&c.services[0], &c.services[1]) &&
	      conf_service_eq(&c.services[1], &c.services[1]), "service_eq", "%s", "unequal");

	r = parse("reap-interval 0\nuser nobody\nlog syslog\nmax-peers 8\nmax-channels 16\n"
	          "handshake-timeout 5\nidle-timeout 0\nmax-discovered 3\nverbose on\n");
	check(r == 0 && !c.reap_interval && !strcmp(c.user, "nobody") && c.log == CONF_LOG_SYSLOG &&
	      c.log_set && c.max_peers == 8 && c.max_channels == 16 && c.handshake_timeout == 5 &&
	      !c.idle_timeout && c.max_discovered == 3 && c.verbose, "settings", "r=%d err=%s", r, err);

	refused("unknown keyword", "export on\n\nfrobnicate 1\n", 3, "unknown keyword 'frobnicate'");
	refused("on/off", "advertise maybe\n", 1, "expected on or off");
	refused("off with interfaces", "discover off eth0\n", 1, "takes no interfaces");
	refused("number range", "reap-interval 99999999\n", 1, "expected a number");
	refused("number junk", "max-peers 12x\n", 1, "expected a number");
	refused("two values", "user a b\n", 1, "expected one value");
	refused("unknown user", "export on\nuser no-such-user-dipus\n", 2, "user no-such-user-dipus: no such user");
	refused("no value", "\nlog\n", 2, "expected one value");
	refused("log target", "log file\n", 1, "expected stderr or syslog");
	refused("trust policy", "trust everyone\n", 1, "expected known or none");
	refused("import scheme", "import http://x\n", 1, "not a sep://");
	refused("import twice", "import sep://a\nimport sep://a\n", 2, "given twice");
	refused("service scope", "service global x cat\n", 1, "expected local or export");
	refused("service no command", "service local x\n", 1, "no COMMAND");
	refused("service bad name", "service local a.b cat\n", 1, "service:");
	refused("service bad option", "service local -z x cat\n", 1, "unknown option '-z'");
	refused("service bad mode", "service local -m 999 x cat\n", 1, "octal mode");
	refused("service duplicate", "service local x cat\nservice local x tac\n", 2,
	        "same service as on line 1");
	refused("control character", "export on\x01\n", 1, "control character");
	char big[CONF_LINE_MAX + 16];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	refused("line too long", big, 1, "line longer");
	/* bounded lists */
	char many[CONF_MAX_SERVICES * 40 + 64];
	size_t o = 0;
	for (int i = 0; i <= CONF_MAX_SERVICES; i++)
		o += snprintf(many + o, sizeof many - o, "service local s%d cat\n", i);
	refused("at most N services", many, CONF_MAX_SERVICES + 1, "at most");

	printf("%d failure%s\n", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
