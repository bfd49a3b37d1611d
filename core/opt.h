/* opt.h: the one command-line option parser of every applet (doc/internals.md).
 *
 * A table of options, short (-v, -u USER, -uUSER, clusters -nv) and long (--listen
 * ADDR, --listen=ADDR, a unique prefix such as --plain), each with or without a
 * required argument. -h and --help print the applet's usage (applet_usage, set by the
 * dispatcher) on stdout. Anything wrong is ONE line on stderr, through usage_error():
 *
 *   dipus: APPLET: unknown option -x (see 'dipus APPLET --help')
 *   dipus: APPLET: unknown option --foo (see 'dipus APPLET --help')
 *   dipus: APPLET: option -u needs an argument (see 'dipus APPLET --help')
 *   dipus: APPLET: option --json takes no argument (see 'dipus APPLET --help')
 *   dipus: APPLET: option --max is ambiguous (see 'dipus APPLET --help')
 *
 * and the applet exits DX_USAGE (2). The loop reads as a getopt loop, and like getopt
 * it leaves the option's argument in optarg and, at the end, the first operand's index
 * in optind (BusyBox's getopt32 does the same), so the code after it is unchanged:
 *
 *	static const struct opt opts[] = { { 'v', NULL, OPT_NOARG },
 *	                                   { O_LISTEN, "listen", OPT_ARG }, OPT_END };
 *	struct optparse op;
 *	int c;
 *	opt_start(&op, argc, argv, opts, 0);
 *	while ((c = opt_next(&op)) > 0)
 *		switch (c) { case 'v': ...; case O_LISTEN: use(optarg); break; }
 *	if (c < 0)
 *		return opt_rc(c);
 *	... operands are argv[optind] .. argv[argc - 1]
 */
#ifndef DIPUS_OPT_H
#define DIPUS_OPT_H

#include <unistd.h>   /* optarg and optind, which opt_next() sets as getopt does */

enum { OPT_NOARG, OPT_ARG };

struct opt {
	int id;            /* what opt_next() returns; 1..255: also the short option -id;
	                    * 256 and up: a long-only option */
	const char *name;  /* long option name without "--", or NULL */
	int arg;           /* OPT_NOARG or OPT_ARG (required) */
};
#define OPT_END { 0, NULL, 0 }

/* opt_start() flags */
#define OPT_PERMUTE 1   /* options may follow operands (as GNU getopt_long); without it
                         * the first operand ends the options, as POSIX getopt and
                         * commands that take a command line after theirs need */

/* opt_next()'s returns besides an option's id */
#define OPT_DONE 0      /* no more options: operands start at argv[optind] */
#define OPT_HELP (-1)   /* -h/--help: the usage was printed on stdout */
#define OPT_ERROR (-2)  /* a bad option: the one-line message was printed */

struct optparse {          /* the state of one parse; private to opt.c */
	int argc;
	char **argv;
	const struct opt *opts;
	unsigned flags;
	int ind;               /* next argv element to look at */
	const char *cluster;   /* the rest of a cluster of short options, or NULL */
	int operands;          /* with OPT_PERMUTE: operands skipped, at ind - operands */
};

void opt_start(struct optparse *op, int argc, char **argv, const struct opt *opts,
               unsigned flags);
int opt_next(struct optparse *op);
/* The exit code for OPT_HELP (DX_OK, or DX_IO if stdout failed) or OPT_ERROR (DX_USAGE). */
int opt_rc(int c);

#endif
