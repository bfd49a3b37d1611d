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
	"Publish <root>/local/PROTO/NAME.HOST...N and, for each connection, run COMMAND\n"
	"through /bin/sh -c with the connection as its stdin and stdout (stderr stays\n"
	"ours). The socket is removed on SIGTERM, SIGINT or SIGHUP.\n"
	"\n"
	"  -c MAX    at most MAX connections at once (default 40); more wait in the backlog\n"
	"  -b N      listen backlog (default 64)\n"
	"  -m MODE   socket permissions, octal (default 0666: anyone on this machine)\n"
	"  -g GROUP  socket group (name or number)\n"
	"  -1        print the socket path on stdout once listening (readiness)\n"
	"  -k        on SIGTERM also stop running children (default: let them finish)\n"
	"  -q / -v   quiet / log each connection\n"
	"\n"
	"COMMAND's environment: DIPUS_PEER_UID, DIPUS_PEER_GID, DIPUS_PEER_PID (the\n"
	"client's credentials) and DIPUS_SERVICE (the socket path). See doc/local-pipe.md.\n";

int local_pipe_main(int argc, char **argv)
{
	return ipcserver_main(argc, argv, NS_LOCAL, local_pipe_usage);
}
