/* reap.c: remove dead service sockets.
 *
 * A socket is dead when connecting to it is refused twice, REAP_GAP_MS apart: a
 * publisher binds and listens before it renames its socket into place, so a named
 * socket that refuses is one whose server is gone, and the second try rules out a
 * server that was just restarting. Never a live socket, never a non-socket, never
 * through a symlink (the resolver walks with O_NOFOLLOW; removal re-checks that the
 * file is the same socket), and only what the caller may remove. */
#include "applets.h"
#include "ns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REAP_GAP_MS 200

const char reap_usage[] =
	"usage: dipus reap [-n] [-v]\n"
	"\n"
	"Remove the dead sockets (nobody listening) under the root that you may remove,\n"
	"printing each path. A socket is dead when a connection to it is refused twice,\n"
	"200 ms apart. Live sockets, non-sockets and symlinks are never touched.\n"
	"\n"
	"  -n   only print what would be removed\n"
	"  -v   also say why a dead socket was left (e.g. not yours)\n"
	"\n"
	"Exit 0, also when nothing was dead; 4 for an unsafe root. See doc/reap.md.\n";

int reap_main(int argc, char **argv)
{
	int dry = 0, verbose = 0, c;
	while ((c = getopt(argc, argv, "nvh")) != -1) {
		switch (c) {
		case 'n': dry = 1; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(reap_usage, stdout); return DX_OK;
		default: return usage_error("unknown option");
		}
	}
	if (optind != argc)
		return usage_error("takes no arguments");
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve("", NS_ALL, 0, &l, err, sizeof err) < 0)
		die(DX_REFUSED, "%s", err);
	/* first pass: refused once */
	int suspects = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (ns_probe(l.v[i].path) == 0)
			suspects++;
		else
			l.v[i].path[0] = 0;  /* live, or not ours to judge */
	}
	if (suspects) {
		struct timespec ts = { 0, REAP_GAP_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < l.n; i++) {
		struct ns_service *s = &l.v[i];
		if (!s->path[0] || ns_probe(s->path) != 0)
			continue;  /* came back to life */
		if (dry) {
			printf("%s\n", s->path);
			continue;
		}
		if (ns_unpublish(s, -1) == 0)
			printf("%s\n", s->path);
		else if (verbose)
			msg_errno("%s: dead, left in place", s->path);
	}
	ns_list_free(&l);
	return fflush(stdout) ? DX_IO : DX_OK;
}
