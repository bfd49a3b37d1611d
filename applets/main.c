/* main.c: the multicall dispatcher (BusyBox-style).
 *
 * dipus APPLET ARGS...          run an applet
 * APPLET ARGS... / dipus-APPLET via a symlink: argv[0]'s basename picks the applet
 * dipus --list | --install [-s] DIR | --version | --licenses | --help
 *
 * The table is build/gen/applet_tables.h, generated from the //applet: line at the top
 * of each applets/NAME.c (scripts/gen-applets.sh, doc/internals.md). */
#include "applets.h"
#include "licenses.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if ENABLE_TLS
#include "mbedtls/build_info.h"
#endif

enum { PLAIN, PREFIXED };

struct applet {
	const char *name;
	int install;
	const char *summary;
	int (*main)(int, char **);
	const char *usage;
};

static const struct applet applets[] = {
#define APPLET(id, name, install, summary) { name, install, summary, id##_main, id##_usage },
#define APPLET_OFF(id, name, install, summary)
#include "applet_tables.h"
#undef APPLET
#undef APPLET_OFF
};
#define NAPPLETS (sizeof applets / sizeof applets[0])

/* The applets this binary was configured without, so that asking for one says so
 * instead of "no such applet". */
static const char applets_off[] =
#define APPLET(id, name, install, summary)
#define APPLET_OFF(id, name, install, summary) name "\0"
#include "applet_tables.h"
#undef APPLET
#undef APPLET_OFF
	"";

static const char dipus_usage[] =
	"usage: dipus APPLET [ARGS...]\n"
	"       dipus --list | --install [-s] DIR | --version | --licenses | --help\n"
	"\n"
	"dipus: distributed IPC by proxying UNIX sockets. One binary, many applets;\n"
	"also runs as APPLET or dipus-APPLET through a link (see --install).\n"
	"\n"
	"  --list            print the built-in applets, one per line\n"
	"  --install [-s] DIR  create a link per applet in DIR (-s: symbolic links)\n"
	"  --version         print the version of dipus and of its built-in libraries\n"
	"  --licenses        print the licence of dipus and of its built-in libraries\n"
	"  APPLET --help     print an applet's usage\n"
	"\n"
	"Applets:\n";

static const struct applet *find_applet(const char *name)
{
	if (!strncmp(name, "dipus-", 6) && name[6])
		name += 6;
	for (size_t i = 0; i < NAPPLETS; i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

/* A known applet configured out of this binary: DX_NOTIMPL, not DX_USAGE, so that a
 * caller (ssh://'s remote "dipus serve") can tell it from a typo. */
static int not_built(const char *name)
{
	if (!strncmp(name, "dipus-", 6) && name[6])
		name += 6;
	for (const char *off = applets_off; *off; off += strlen(off) + 1)
		if (!strcmp(off, name)) {
			fprintf(stderr, "dipus: %s: not built in this binary (see dipus --list)\n", name);
			return 1;
		}
	return 0;
}

static int run_applet(const struct applet *a, int argc, char **argv)
{
	applet_name = a->name;
	applet_usage = a->usage;
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		fputs(a->usage, stdout);
		return fflush(stdout) ? DX_IO : DX_OK;
	}
	return a->main(argc, argv);
}

static void install_name(const struct applet *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", a->install == PLAIN ? "" : "dipus-", a->name);
}

static int install(int argc, char **argv)
{
	int sym = 0;
	const char *dir = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-s"))
			sym = 1;
		else if (!dir)
			dir = argv[i];
		else
			return usage_error("--install takes one directory");
	}
	if (!dir)
		return usage_error("--install needs a directory");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		die_errno(DX_IO, "/proc/self/exe");
	self[n] = 0;
	/* a binary in DIR itself gets relative links, so DIR can move (make install
	 * DESTDIR=..., firmware images) */
	const char *target = self;
	char rdir[PATH_MAX];
	const char *slash = strrchr(self, '/');
	if (sym && slash && realpath(dir, rdir) && (size_t)(slash - self) == strlen(rdir) &&
	    !strncmp(self, rdir, slash - self))
		target = slash + 1;
	int rc = DX_OK;
	for (size_t i = 0; i < NAPPLETS; i++) {
		char name[64], path[PATH_MAX], tmp[PATH_MAX + 16];
		install_name(&applets[i], name, sizeof name);
		if (xsnprintf(path, sizeof path, "%s/%s", dir, name) ||
		    xsnprintf(tmp, sizeof tmp, "%s/.%s.tmp%d", dir, name, (int)getpid()))
			die(DX_USAGE, "%s: path too long", dir);
		/* link under a temporary name, then rename(): an existing link is replaced
		 * atomically and nothing half-made is left behind */
		unlink(tmp);
		if ((sym ? symlink(target, tmp) : link(self, tmp)) < 0) {
			msg_errno("%s", path);
			rc = DX_IO;
			continue;
		}
		if (rename(tmp, path) < 0) {
			msg_errno("%s", path);
			unlink(tmp);
			rc = DX_IO;
		}
	}
	return rc;
}

static int version(void)
{
	printf("dipus %s", DIPUS_VERSION);
#if ENABLE_TLS
	printf(", mbedTLS %s", MBEDTLS_VERSION_STRING);
#endif
#if ENABLE_SSH && defined(DIPUS_DROPBEAR_VERSION)
	printf(", dropbear %s", DIPUS_DROPBEAR_VERSION);
#endif
	printf("\nfeatures:%s%s%s\ndefault root: %s\n", ENABLE_TLS ? " tls" : "",
	       ENABLE_SSH ? " ssh" : "", ENABLE_DISCOVERY ? " discovery" : "", CONFIG_DEFAULT_ROOT);
	return fflush(stdout) ? DX_IO : DX_OK;
}

int main(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : (argv[0] ? argv[0] : "dipus");

	if (strcmp(base, "dipus")) {
		const struct applet *a = find_applet(base);
		if (a)
			return run_applet(a, argc, argv);
		if (not_built(base))
			return DX_NOTIMPL;
		/* not an applet name (e.g. a renamed binary): behave as "dipus" */
	}
	if (argc < 2) {
		fputs(dipus_usage, stderr);
		return DX_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(dipus_usage, stdout);
		for (size_t i = 0; i < NAPPLETS; i++)
			printf("  %-16s %s\n", applets[i].name, applets[i].summary);
		return fflush(stdout) ? DX_IO : DX_OK;
	}
	if (!strcmp(cmd, "--list")) {
		for (size_t i = 0; i < NAPPLETS; i++)
			puts(applets[i].name);
		return fflush(stdout) ? DX_IO : DX_OK;
	}
	if (!strcmp(cmd, "--licenses"))
		return licenses_print();
	if (!strcmp(cmd, "--version"))
		return version();
	if (!strcmp(cmd, "--install"))
		return install(argc, argv);
	const struct applet *a = find_applet(cmd);
	if (!a && not_built(cmd))
		return DX_NOTIMPL;
	if (!a) {
		fprintf(stderr, "dipus: %s: no such applet (run 'dipus --list' to see the applets)\n", cmd);
		return DX_USAGE;
	}
	return run_applet(a, argc - 1, argv + 1);
}
