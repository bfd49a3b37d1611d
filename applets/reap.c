//config:config REAP
//config:	bool "reap: remove dead sockets"
//config:	default y
//config:	help
//config:	  Remove dead service sockets. See doc/reap.md.
//applet:APPLET(reap, "reap", PREFIXED, "remove dead service sockets")

/* reap.c: remove dead service sockets.
 *
 * A socket is dead when connecting to it is refused twice, NS_DEAD_GAP_MS apart: a
 * publisher listens before it renames its socket into place, so a named socket that
 * refuses is one whose server is gone, and the second try rules out a server that was
 * just starting (a socket bound but not yet listening). Never a live socket, never a
 * non-socket, never through a symlink (the resolver walks with O_NOFOLLOW; removal
 * moves the file aside and checks it is the same socket), only what the caller may
 * remove, and a temporary publish name only once it is older than NS_TEMP_GRACE_S. */
#include "applets.h"
#include "ns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char reap_usage[] =
	"usage: dipus reap [-n] [-v]\n"
	"\n"
	"Remove the dead sockets (refused twice, 100 ms apart) under the root that you\n"
	"may remove, printing each path. Temporary publish names must also be 10 s old.\n"
	"Live sockets, non-sockets and symlinks are never touched.\n"
	"\n"
	"  -n   only print what would be removed\n"
	"  -v   also say why a dead socket was left\n"
	"\n"
	"Exit 0, also when nothing was dead; 4 unsafe root. See doc/reap.md.\n";

int reap_main(int argc, char **argv)
{
	static const struct opt opts[] = { { 'n', NULL, OPT_NOARG }, { 'v', NULL, OPT_NOARG }, OPT_END };
	struct optparse op;
	int dry = 0, verbose = 0, c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'n': dry = 1; break;
		case 'v': verbose = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind != argc)
		return usage_error("takes no arguments");
	struct ns_list l = { 0 };
	char err[NS_ERR_MAX];
	if (ns_resolve("", NS_ALL | NS_TEMPS, 0, &l, err, sizeof err) < 0)
		die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
	/* first pass: refused once */
	time_t now = time(NULL);
	int suspects = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct ns_service *s = &l.v[i];
		int dead = 0;
		if (s->temp && now - s->mtime < NS_TEMP_GRACE_S) {
			if (verbose)
				msg("%s: a temporary publish name younger than %d s, left", s->path,
				    NS_TEMP_GRACE_S);
		} else {
			int r = ns_probe_many(s->path);
			dead = r == 0;
			if (r < 0 && verbose && errno != ENOENT)
				msg_errno("%s: cannot tell whether it is alive, left", s->path);
		}
		if (dead)
			suspects++;
		else
			s->path[0] = 0;  /* live, gone, or not ours to judge */
	}
	if (suspects) {
		struct timespec ts = { 0, NS_DEAD_GAP_MS * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	/* second pass: refused again, still the same file: gone */
	for (size_t i = 0; i < l.n; i++) {
		struct ns_service *s = &l.v[i];
		if (!s->path[0])
			continue;
		int r = ns_reap_one(s, dry, err, sizeof err);
		if (r == 1)
			printf("%s\n", s->path);
		else if (r < 0 && verbose)
			msg("%s: dead, left in place: %s", s->path, err);
	}
	ns_list_free(&l);
	if (fflush(stdout) != 0)
		die_errno(DX_IO, "stdout");
	return DX_OK;
}
