/* opt.c: the option parser (core/opt.c): short, clustered and long options, arguments
 * in every spelling, unique prefixes, operands before options (OPT_PERMUTE) keeping
 * their order, "--", -h/--help, and each error as exactly one line in the documented
 * format. */
#include "opt.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_PREFIX "opt/"
#include "check.h"

enum { O_LISTEN = 256, O_MAXP, O_MAXC, O_MAX };
static const struct opt opts[] = {
	{ 'n', NULL, OPT_NOARG }, { 'v', NULL, OPT_NOARG }, { 'u', "user", OPT_ARG },
	{ O_LISTEN, "listen", OPT_ARG }, { O_MAXP, "max-peers", OPT_ARG },
	{ O_MAXC, "max-channels", OPT_ARG }, { O_MAX, "max", OPT_NOARG }, OPT_END,
};

/* Parse a NULL-terminated argv; the options returned as "id[=arg] ..." in out, the
 * operands after "|"; returns the last opt_next() result. */
static int parse(unsigned flags, char *out, size_t len, char **argv)
{
	int argc = 0, c;
	while (argv[argc])
		argc++;
	struct optparse op;
	opt_start(&op, argc, argv, opts, flags);
	out[0] = 0;
	while ((c = opt_next(&op)) > 0) {
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%d%s%s ", c, optarg ? "=" : "", optarg ? optarg : "");
	}
	size_t l = strlen(out);
	snprintf(out + l, len - l, "|");
	if (c == OPT_DONE)
		for (int i = optind; i < argc; i++) {
			l = strlen(out);
			snprintf(out + l, len - l, " %s", argv[i]);
		}
	return c;
}

/* What parse() wrote on stderr. */
static char errbuf[512];
static int parse_err(unsigned flags, char *out, size_t len, char **argv)
{
	char path[] = "/tmp/dipus-opt-test.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	if (fd < 0 || saved < 0)
		die_errno(1, "mkstemp");
	unlink(path);
	dup2(fd, 2);
	int c = parse(flags, out, len, argv);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, errbuf, sizeof errbuf - 1, 0);
	errbuf[n > 0 ? n : 0] = 0;
	close(fd);
	return c;
}

int main(void)
{
	char out[512];
	applet_name = "t";
	applet_usage = "";

	{
		char *av[] = { "t", "a", "-n", "b", "--listen", "L", "-uU", "c", "--user=V", "d", NULL };
		int c = parse(OPT_PERMUTE, out, sizeof out, av);
		CHECK(c == OPT_DONE && !strcmp(out, "110 256=L 117=U 117=V | a b c d"),
		      "permute: options after operands, operands kept in order", "%d '%s'", c, out);
		CHECK(!strcmp(av[1], "-n") && !strcmp(av[6], "a") && !strcmp(av[9], "d"),
		      "permute: argv reordered options first", "%s %s %s", av[1], av[6], av[9]);
	}
	{
		char *av[] = { "t", "-n", "a", "-v", NULL };
		int c = parse(0, out, sizeof out, av);
		CHECK(c == OPT_DONE && !strcmp(out, "110 | a -v"),
		      "no permute: the first operand ends the options", "'%s'", out);
	}
	{
		char *av[] = { "t", "-nvuX", "-", "--", "-v", NULL };
		int c = parse(OPT_PERMUTE, out, sizeof out, av);
		CHECK(c == OPT_DONE && !strcmp(out, "110 118 117=X | - -v"),
		      "cluster with argument; - is an operand; -- ends the options", "'%s'", out);
	}
	{
		char *av[] = { "t", "-u", "-v", "--listen", "--x", NULL };
		int c = parse(0, out, sizeof out, av);
		CHECK(c == OPT_DONE && !strcmp(out, "117=-v 256=--x |"),
		      "a required argument is the next word, whatever it is", "'%s'", out);
	}
	{
		char *av[] = { "t", "--lis=A", "--max-p", "3", "--max", NULL };
		int c = parse(0, out, sizeof out, av);
		CHECK(c == OPT_DONE && !strcmp(out, "256=A 257=3 259 |"),
		      "unique prefixes; an exact name wins over longer ones", "'%s'", out);
	}
	{
		char *av[] = { "t", "-x", NULL };
		int c = parse_err(0, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: unknown option -x (see 'dipus t --help')\n"),
		      "unknown short option: one line", "%d '%s'", c, errbuf);
		CHECK(opt_rc(c) == DX_USAGE, "errors exit DX_USAGE", "%d", opt_rc(c));
	}
	{
		char *av[] = { "t", "a", "--frob=1", NULL };
		int c = parse_err(OPT_PERMUTE, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: unknown option --frob (see 'dipus t --help')\n"),
		      "unknown long option: one line", "%d '%s'", c, errbuf);
	}
	{
		char *av[] = { "t", "-n", "-u", NULL };
		int c = parse_err(0, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: option -u needs an argument (see 'dipus t --help')\n"),
		      "missing argument (short)", "%d '%s'", c, errbuf);
	}
	{
		char *av[] = { "t", "--listen", NULL };
		int c = parse_err(0, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: option --listen needs an argument (see 'dipus t --help')\n"),
		      "missing argument (long)", "%d '%s'", c, errbuf);
	}
	{
		char *av[] = { "t", "--max-=1", NULL };
		int c = parse_err(0, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: option --max- is ambiguous (see 'dipus t --help')\n"),
		      "ambiguous prefix", "%d '%s'", c, errbuf);
	}
	{
		char *av[] = { "t", "--max=1", NULL };
		int c = parse_err(0, out, sizeof out, av);
		CHECK(c == OPT_ERROR && !strcmp(errbuf, "dipus: t: option --max takes no argument (see 'dipus t --help')\n"),
		      "an argument given to a flag", "%d '%s'", c, errbuf);
	}
	{
		char *av[] = { "t", "a", "-vh", NULL };
		int c = parse(OPT_PERMUTE, out, sizeof out, av);
		char *av2[] = { "t", "--he", NULL };
		int c2 = parse(0, out, sizeof out, av2);
		CHECK(c == OPT_HELP && c2 == OPT_HELP && opt_rc(c) == DX_OK,
		      "-h in a cluster and --help (prefix) ask for help, exit 0", "%d %d", c, c2);
	}
	return check_status();
}
