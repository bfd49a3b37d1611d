//config:config DISCOVERER
//config:	bool "discoverer: find exporters on the LAN"
//config:	default y
//config:	help
//config:	  Find dipus exporters on the LAN (mDNS, _dipus._tcp).
//applet:APPLET(discoverer, "discoverer", PREFIXED, "find dipus exporters on the LAN")

/* discoverer.c: find dipus exporters on the LAN. A stub until discovery lands: it is
 * registered (so the table, --install and the configs know it) and says it is not
 * implemented. */
#include "applets.h"

const char discoverer_usage[] =
	"usage: dipus discoverer\n"
	"\n"
	"Find dipus exporters on the LAN (not implemented yet in this version of dipus).\n";

int discoverer_main(int argc, char **argv)
{
	static const struct opt opts[] = { OPT_END };
	struct optparse op;
	int c;
	opt_start(&op, argc, argv, opts, 0);
	if ((c = opt_next(&op)) < 0)
		return opt_rc(c);
	die(DX_NOTIMPL, "not implemented yet in this version of dipus");
}
