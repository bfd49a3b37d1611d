//config:config LOCAL_PIPE
//config:	bool "local-pipe: a stdin/stdout command as a local service"
//config:	default y
//config:	help
//config:	  Offer a stdin/stdout command as a local service. See doc/local-pipe.md.
//applet:APPLET(local_pipe, "local-pipe", PREFIXED, "offer a stdin/stdout command as a local service")

/* local-pipe.c: any stdin/stdout command as a service on this machine.
 *
 *   dipus-local-pipe 'madplay -' madplay/audio/mpeg/to/audio/out
 *
 * The super-server itself is core/ipcserver.c, shared with export-pipe. */
#include "applets.h"
#include "ipcserver.h"

const char local_pipe_usage[] =
	"usage: dipus-local-pipe [OPTIONS] 'COMMAND' NAME[/PROTO]\n"
	"\n"
	"Publish <root>/local/PROTO/NAME.HOST...N; per connection run /bin/sh -c COMMAND\n"
	"with the connection as stdin and stdout. SIGTERM/SIGINT/SIGHUP remove the socket.\n"
	"\n"
	"  -c MAX    at most MAX connections at once (40); more wait in the backlog\n"
	"  -b N      listen backlog (64)\n"
	"  -m MODE   socket permissions, octal (0666: anyone on this machine)\n"
	"  -g GROUP  socket group (name or number)\n"
	"  -1        print the socket path on stdout once listening, then close stdout\n"
	"  -k        on SIGTERM also stop the children (default: let them finish)\n"
	"  -q / -v   no warnings / log each connection\n"
	"\n"
	"COMMAND gets DIPUS_PEER_UID, DIPUS_PEER_GID, DIPUS_PEER_PID and DIPUS_SERVICE.\n"
	"See doc/local-pipe.md.\n";

int local_pipe_main(int argc, char **argv)
{
	return ipcserver_main(argc, argv, NS_LOCAL);
}
