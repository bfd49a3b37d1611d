//config:config DIPUSD
//config:	bool "dipusd: the daemon"
//config:	default y
//config:	help
//config:	  The dipus daemon: exporter, importers and discovery in one process.
//applet:APPLET(dipusd, "dipusd", PLAIN, "the dipus daemon: exporter, importers and discovery in one")

/* dipusd.c: the dipus daemon. A stub until the daemon lands: it is registered (so the
 * table, --install and the configs know it) and says it is not implemented. */
#include "applets.h"

const char dipusd_usage[] =
	"usage: dipusd\n"
	"\n"
	"The dipus daemon: exporter, importers and discovery in one process\n"
	"(not implemented yet in this version of dipus).\n";

int dipusd_main(int argc, char **argv)
{
	static const struct opt opts[] = { OPT_END };
	struct optparse op;
	int c;
	opt_start(&op, argc, argv, opts, 0);
	if ((c = opt_next(&op)) < 0)
		return opt_rc(c);
	die(DX_NOTIMPL, "not implemented yet in this version of dipus");
}
