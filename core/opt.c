/* opt.c: the one command-line option parser (opt.h). */
#include "opt.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void opt_start(struct optparse *op, int argc, char **argv, const struct opt *opts,
               unsigned flags)
{
	*op = (struct optparse){ .argc = argc, .argv = argv, .opts = opts, .flags = flags,
	                         .ind = 1 };
	optind = 1;
}

/* Take argv[ind]: with operands skipped (OPT_PERMUTE), it moves in front of them, so
 * that at the end the options come first and the operands after, in their order. */
static char *take(struct optparse *op)
{
	char *s = op->argv[op->ind];
	for (int i = op->ind; i > op->ind - op->operands; i--)
		op->argv[i] = op->argv[i - 1];
	op->argv[op->ind - op->operands] = s;
	op->ind++;
	return s;
}

static int help(void)
{
	fputs(applet_usage, stdout);
	return OPT_HELP;
}

static int short_opt(struct optparse *op)
{
	char c = *op->cluster++;
	const struct opt *o = op->opts;
	while (o->id && o->id != (unsigned char)c)
		o++;
	if (!o->id || o->id > 255) {
		op->cluster = NULL;
		if (c == 'h')
			return help();
		usage_error("unknown option -%c", c);
		return OPT_ERROR;
	}
	if (o->arg == OPT_ARG) {
		if (*op->cluster)
			optarg = (char *)op->cluster;   /* -uUSER */
		else if (op->ind < op->argc)
			optarg = take(op);              /* -u USER */
		else {
			usage_error("option -%c needs an argument", c);
			return OPT_ERROR;
		}
		op->cluster = NULL;
	}
	return o->id;
}

static int long_opt(struct optparse *op, const char *name)
{
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt *o = NULL;
	int n = 0;
	/* an exact name, else a prefix of exactly one (getopt_long's rule) */
	for (const struct opt *p = op->opts; len && p->id; p++) {
		if (!p->name || strncmp(p->name, name, len))
			continue;
		o = p;
		if (strlen(p->name) == len) {
			n = 1;
			break;
		}
		n++;
	}
	if (!n && len && !strncmp("help", name, len) && !eq)
		return help();
	if (n > 1) {
		usage_error("option --%.*s is ambiguous", (int)len, name);
		return OPT_ERROR;
	}
	if (!n) {
		usage_error("unknown option --%.*s", (int)len, name);
		return OPT_ERROR;
	}
	if (o->arg == OPT_NOARG && eq) {
		usage_error("option --%s takes no argument", o->name);
		return OPT_ERROR;
	}
	if (o->arg == OPT_ARG) {
		if (eq)
			optarg = (char *)eq + 1;        /* --listen=ADDR */
		else if (op->ind < op->argc)
			optarg = take(op);              /* --listen ADDR */
		else {
			usage_error("option --%s needs an argument", o->name);
			return OPT_ERROR;
		}
	}
	return o->id;
}

int opt_next(struct optparse *op)
{
	optarg = NULL;
	if (op->cluster && *op->cluster)
		return short_opt(op);
	op->cluster = NULL;
	while (op->ind < op->argc) {
		char *a = op->argv[op->ind];
		if (a[0] == '-' && a[1]) {
			take(op);
			if (!strcmp(a, "--"))
				break;
			if (a[1] == '-')
				return long_opt(op, a + 2);
			op->cluster = a + 1;
			return short_opt(op);
		}
		if (!(op->flags & OPT_PERMUTE))
			break;
		op->ind++;            /* an operand: skipped, options may follow */
		op->operands++;
	}
	optind = op->ind - op->operands;
	return OPT_DONE;
}

int opt_rc(int c)
{
	if (c == OPT_HELP)
		return fflush(stdout) ? DX_IO : DX_OK;
	return DX_USAGE;
}
