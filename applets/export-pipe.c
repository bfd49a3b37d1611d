//config:config EXPORT_PIPE
//config:	bool "export-pipe: a stdin/stdout command as an exported service"
//config:	default y
//config:	help
//config:	  Offer a stdin/stdout command as an exported service. See doc/local-pipe.md.
//applet:APPLET(export_pipe, "export-pipe", PREFIXED, "offer a stdin/stdout command as an exported service")

/* export-pipe.c: any stdin/stdout command as a service offered to the network.
 *
 *   dipus-export-pipe 'lame - -' lame/audio/x-wav/to/audio/mpeg
 *
 * local-pipe's super-server (core/ipcserver.c), publishing under exported/, which is
 * what "dipus exporter" offers to authorized hosts. */
#include "applets.h"
#include "ipcserver.h"

const char export_pipe_usage[] =
	"usage: dipus-export-pipe [OPTIONS] 'COMMAND' NAME[/PROTO]\n"
	"\n"
	"As dipus-local-pipe (same options, see its --help), but publishes\n"
	"<root>/exported/PROTO/NAME.HOST...N, which 'dipus exporter' offers to the hosts\n"
	"in its authorized_keys. See doc/local-pipe.md.\n";

int export_pipe_main(int argc, char **argv)
{
	return ipcserver_main(argc, argv, NS_EXPORTED);
}
