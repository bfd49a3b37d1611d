//config:config DBCLIENT
//config:	bool "dbclient: the embedded dropbear client"
//config:	default y
//config:	depends on SSH
//config:	help
//config:	  The embedded dropbear SSH client. See doc/ssh.md.
//applet:APPLET(dbclient, "dbclient", PREFIXED, "the embedded dropbear SSH client")

/* dbclient.c: the embedded dropbear SSH client, as an applet.
 *
 * Dropbear's client is compiled from its pinned source with
 * config/dropbear_localoptions.h and partially linked into one object whose only
 * global symbol is cli_main (mk/deps.mk), so it shares nothing with dipus or mbedTLS.
 * The ssh:// transport (core/ssh.c) runs it as "dipus dbclient ...". */
#include "applets.h"

int cli_main(int argc, char **argv); /* dropbear's client entry (partially linked) */

const char dbclient_usage[] =
	"usage: dipus dbclient [OPTIONS] [user@]host[/port][,[user@]host/port...] [COMMAND]\n"
	"\n"
	"Dropbear's SSH client, built in (dropbear " DIPUS_DROPBEAR_VERSION "): public-key\n"
	"authentication only, no password prompts, no X11 or port forwarding.\n"
	"\n"
	"  -p PORT      port (default 22)\n"
	"  -l USER      user name\n"
	"  -i FILE      identity (private key) file\n"
	"  -T           no pty\n"
	"  -y           accept unknown host keys (-yy: also skip the check)\n"
	"  -o OPTION    e.g. BatchMode=yes, StrictHostKeyChecking=yes\n"
	"  -V           print dropbear's version\n"
	"\n"
	"With $DIPUS_DBCLIENT_MUX naming an inherited socket, it also opens\n"
	"direct-streamlocal channels for its parent (the ssh:// importer; doc/ssh.md).\n"
	"\n"
	"Run 'dipus dbclient -h' for dropbear's own full option list.\n";

int dbclient_main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
