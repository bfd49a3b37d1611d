/* ipcserver.c: publish a socket; per connection, fork and exec "/bin/sh -c COMMAND"
 * with the connection itself as stdin and stdout (no copy in between). At most
 * max_conns children at once: at the limit the listening socket is simply not
 * accepted from, so further clients wait in the kernel's backlog instead of being
 * refused (doc/local-pipe.md). */
#include "ipcserver.h"
#include "loop.h"
#include "opt.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define GRACE_MS 2000   /* -k: SIGTERM, then SIGKILL what is left after this */
#define PAUSE_MS 200    /* out of descriptors or processes: stop accepting this long */

struct server {
	const struct ipcserver_opts *o;
	struct loop *lp;
	struct ns_service svc;
	int lfd;
	pid_t *kids;        /* max_conns slots, 0 = free */
	unsigned nkids;
	int accepting;
	int paused;         /* a resume timer is pending */
	int stopping;
};

static void set_accepting(struct server *s, int on)
{
	if (s->stopping || s->accepting == on)
		return;
	s->accepting = on;
	loop_events(s->lp, s->lfd, on ? LOOP_IN : 0);
}

static void on_resume(struct loop *lp, void *arg)
{
	struct server *s = arg;
	s->paused = 0;
	if (s->nkids < s->o->max_conns)
		set_accepting(s, 1);
}

/* Out of a resource (descriptors, processes): let clients wait in the backlog a bit. */
static void pause_accepting(struct server *s, const char *what)
{
	if (s->o->verbose)
		msg_errno("%s: %s (pausing)", s->svc.path, what);
	set_accepting(s, 0);
	if (!s->paused) {
		s->paused = 1;
		loop_timer(s->lp, PAUSE_MS, on_resume, s);
	}
}

static void kill_kids(struct server *s, int sig)
{
	for (unsigned i = 0; i < s->o->max_conns; i++)
		if (s->kids[i])
			kill(s->kids[i], sig);
}

static void setenv_num(const char *name, long v)
{
	char b[24];
	snprintf(b, sizeof b, "%ld", v);
	setenv(name, b, 1);
}

static void spawn(struct server *s, int conn)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t cl = sizeof cred;
	getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
	pid_t pid = fork();
	if (pid < 0) {
		close(conn);  /* this client sees EOF; the next ones wait in the backlog */
		pause_accepting(s, "fork");
		return;
	}
	if (pid == 0) {
		/* conn >= 3 (0..2 are always open here), so dup2 clears close-on-exec; every
		 * other descriptor of ours is close-on-exec */
		loop_child_sigreset();
		signal(SIGPIPE, SIG_DFL);
		if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
			_exit(127);
		setenv_num("DIPUS_PEER_UID", (long)cred.uid);
		setenv_num("DIPUS_PEER_GID", (long)cred.gid);
		setenv_num("DIPUS_PEER_PID", (long)cred.pid);
		setenv("DIPUS_SERVICE", s->svc.path, 1);
		execl("/bin/sh", "sh", "-c", s->o->command, (char *)NULL);
		msg_errno("/bin/sh");
		_exit(127);
	}
	close(conn);
	for (unsigned i = 0; i < s->o->max_conns; i++)
		if (!s->kids[i]) {
			s->kids[i] = pid;
			break;
		}
	s->nkids++;
	if (s->o->verbose > 1)
		msg("%s: pid %d uid %d: started pid %d", s->svc.path, (int)cred.pid, (int)cred.uid,
		    (int)pid);
	if (s->nkids >= s->o->max_conns)
		set_accepting(s, 0);
}

static void on_listen(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct server *s = arg;
	/* a few per wake-up, so a burst does not starve child reaping */
	for (int i = 0; i < 16 && s->accepting; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			spawn(s, c);
		else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accepting(s, "accept");
		else
			return;  /* EAGAIN, EINTR, ECONNABORTED... */
	}
}

static void on_child(struct loop *lp, void *arg)
{
	struct server *s = arg;
	pid_t pid;
	int st;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (unsigned i = 0; i < s->o->max_conns; i++)
			if (s->kids[i] == pid) {
				s->kids[i] = 0;
				s->nkids--;
				break;
			}
		if (s->o->verbose > 1)
			msg("%s: pid %d ended with status %d", s->svc.path, (int)pid, st);
	}
	if (s->stopping) {
		if (!s->nkids)
			loop_stop(lp, DX_OK);
	} else if (s->nkids < s->o->max_conns && !s->paused) {
		set_accepting(s, 1);
	}
}

static void on_grace(struct loop *lp, void *arg)
{
	kill_kids(arg, SIGKILL);
	loop_stop(lp, DX_OK);
}

static void on_term(struct loop *lp, void *arg)
{
	struct server *s = arg;
	if (s->stopping)
		return;
	ns_unpublish(&s->svc, s->lfd);
	loop_unwatch(lp, s->lfd);
	close(s->lfd);
	s->lfd = -1;
	s->stopping = 1;
	if (s->o->kill_children && s->nkids) {
		kill_kids(s, SIGTERM);
		kill_kids(s, SIGCONT);
		loop_timer(lp, GRACE_MS, on_grace, s);
		return;  /* on_child stops the loop when the last one is gone */
	}
	loop_stop(lp, DX_OK);  /* children are left to finish on their own */
}

int ipcserver_run(const struct ipcserver_opts *o)
{
	struct server s = { .o = o, .lfd = -1 };
	char err[NS_ERR_MAX];
	/* 0, 1, 2 always open, so no connection lands on them */
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 3)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_IGN);
	s.lp = loop_new();
	/* signals first, so none is lost between publishing and serving */
	loop_signal(s.lp, SIGCHLD, on_child, &s);
	loop_signal(s.lp, SIGTERM, on_term, &s);
	loop_signal(s.lp, SIGINT, on_term, &s);
	loop_signal(s.lp, SIGHUP, on_term, &s);
	s.lfd = ns_publish(o->scope, o->name, o->proto, o->mode, o->gid, o->backlog, &s.svc, err,
	                   sizeof err);
	if (s.lfd < 0) {
		msg("%s", err);
		loop_free(s.lp);
		return errno == EPERM || errno == EACCES ? DX_REFUSED : errno == EINVAL ? DX_USAGE
		       : DX_IO;
	}
	fd_set_nonblock(s.lfd, 1);
	s.kids = xcalloc(o->max_conns, sizeof *s.kids);
	loop_watch(s.lp, s.lfd, LOOP_IN, on_listen, &s);
	s.accepting = 1;
	msg_debug("%s: listening", s.svc.path);
	if (o->ready_fd >= 0) {
		/* readiness as s6 does it: one line, then the descriptor is closed (here:
		 * pointed at /dev/null), so a reader sees EOF */
		char line[NS_PATH_MAX + 2];
		int n = snprintf(line, sizeof line, "%s\n", s.svc.path);
		if (write_all(o->ready_fd, line, n) < 0)
			msg_errno("readiness notification");
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, o->ready_fd);
			close(fd);
		}
	}
	int rc = loop_run(s.lp);
	if (s.lfd >= 0) {
		ns_unpublish(&s.svc, s.lfd);
		close(s.lfd);
	}
	free(s.kids);
	loop_free(s.lp);
	return rc;
}

int ipcserver_parse_args(int argc, char **argv, struct ipcserver_opts *o)
{
	o->max_conns = IPCSERVER_MAX_DEFAULT;
	o->backlog = IPCSERVER_BACKLOG_DEFAULT;
	o->mode = 0666;
	o->gid = (gid_t)-1;
	o->ready_fd = -1;
	o->verbose = 1;
	static const struct opt opts[] = {
		{ 'c', NULL, OPT_ARG }, { 'b', NULL, OPT_ARG }, { 'm', NULL, OPT_ARG },
		{ 'g', NULL, OPT_ARG }, { '1', NULL, OPT_NOARG }, { 'k', NULL, OPT_NOARG },
		{ 'q', NULL, OPT_NOARG }, { 'v', NULL, OPT_NOARG }, OPT_END,
	};
	struct optparse op;
	int c;
	unsigned long v;
	char *end;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'c':
			if (parse_uint(optarg, 1, 100000, &v) < 0)
				return usage_error("-c %s: a number of connections from 1 to 100000", optarg);
			o->max_conns = v;
			break;
		case 'b':
			if (parse_uint(optarg, 1, 65535, &v) < 0)
				return usage_error("-b %s: a backlog from 1 to 65535", optarg);
			o->backlog = v;
			break;
		case 'm':
			v = strtoul(optarg, &end, 8);
			if (!*optarg || *end || v > 0777)
				return usage_error("-m %s: an octal mode such as 0660", optarg);
			o->mode = v;
			break;
		case 'g': {
			struct group *g = getgrnam(optarg);
			if (g)
				o->gid = g->gr_gid;
			else if (parse_uint(optarg, 0, 0x7fffffff, &v) == 0)
				o->gid = v;
			else
				return usage_error("-g %s: no such group", optarg);
			break;
		}
		case '1':
			o->ready_fd = 1;
			break;
		case 'k':
			o->kill_children = 1;
			break;
		case 'q':
			o->verbose = 0;
			break;
		case 'v':
			o->verbose = 2;
			break;
		}
	}
	if (c == OPT_HELP)
		return -1;
	if (c < 0)
		return opt_rc(c);
	if (argc - optind != 2)
		return usage_error("needs 'COMMAND' and NAME[/PROTO]");
	o->command = argv[optind];
	static char name[NS_NAME_MAX], proto[NS_PATH_MAX];
	char err[NS_ERR_MAX];
	if (ns_parse_arg(argv[optind + 1], name, proto, err, sizeof err) < 0)
		return usage_error("%s", err);
	o->name = name;
	o->proto = proto;
	return 0;
}

int ipcserver_main(int argc, char **argv, enum ns_scope scope)
{
	struct ipcserver_opts o = { .scope = scope };
	int rc = ipcserver_parse_args(argc, argv, &o);
	if (rc < 0)
		return opt_rc(OPT_HELP);
	return rc ? rc : ipcserver_run(&o);
}
