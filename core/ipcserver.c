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

struct ipcserver {
	struct ipcserver_opts o;    /* strings owned (copies) */
	struct loop *lp;
	struct ns_service svc;
	int lfd;
	pid_t *kids;        /* max_conns slots, 0 = free */
	unsigned nkids;
	int accepting;
	struct loop_timer *pause_t; /* a resume timer is pending */
	struct loop_timer *grace_t; /* SIGKILL what is left */
	int stopping;
	int embedded;       /* on someone else's loop (ipcserver_start) */
	struct ipcserver *next;
};

/* every server of this process, for ipcserver_reap_all() (dipusd's SIGCHLD) */
static struct ipcserver *servers;

static void set_accepting(struct ipcserver *s, int on)
{
	if (s->stopping || s->accepting == on)
		return;
	s->accepting = on;
	loop_events(s->lp, s->lfd, on ? LOOP_IN : 0);
}

static void on_resume(struct loop *lp, void *arg)
{
	struct ipcserver *s = arg;
	s->pause_t = NULL;
	if (s->nkids < s->o.max_conns)
		set_accepting(s, 1);
}

/* Out of a resource (descriptors, processes): let clients wait in the backlog a bit. */
static void pause_accepting(struct ipcserver *s, const char *what)
{
	if (s->o.verbose)
		msg_errno("%s: %s (pausing)", s->svc.path, what);
	set_accepting(s, 0);
	if (!s->pause_t)
		s->pause_t = loop_timer(s->lp, PAUSE_MS, on_resume, s);
}

static void kill_kids(struct ipcserver *s, int sig)
{
	for (unsigned i = 0; i < s->o.max_conns; i++)
		if (s->kids[i])
			kill(s->kids[i], sig);
}

static void setenv_num(const char *name, long v)
{
	char b[24];
	snprintf(b, sizeof b, "%ld", v);
	setenv(name, b, 1);
}

static void spawn(struct ipcserver *s, int conn)
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
		execl("/bin/sh", "sh", "-c", s->o.command, (char *)NULL);
		msg_errno("/bin/sh");
		_exit(127);
	}
	close(conn);
	for (unsigned i = 0; i < s->o.max_conns; i++)
		if (!s->kids[i]) {
			s->kids[i] = pid;
			break;
		}
	s->nkids++;
	if (s->o.verbose > 1)
		msg("%s: pid %d uid %d: started pid %d", s->svc.path, (int)cred.pid, (int)cred.uid,
		    (int)pid);
	if (s->nkids >= s->o.max_conns)
		set_accepting(s, 0);
}

static void on_listen(struct loop *lp, int fd, unsigned events, void *arg)
{
	struct ipcserver *s = arg;
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

static void server_free(struct ipcserver *s)
{
	for (struct ipcserver **pp = &servers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->pause_t)
		loop_timer_cancel(s->lp, s->pause_t);
	if (s->grace_t)
		loop_timer_cancel(s->lp, s->grace_t);
	if (s->lfd >= 0) {
		ns_unpublish(&s->svc, s->lfd);
		loop_unwatch(s->lp, s->lfd);
		close(s->lfd);
	}
	free((char *)s->o.command);
	free((char *)s->o.name);
	free((char *)s->o.proto);
	free(s->kids);
	free(s);
}

/* Reap this server's own children only (waitpid on each pid): other parts of the
 * process (ssh's dbclient) wait for theirs themselves. Returns 1 if s was freed. */
static int reap(struct ipcserver *s)
{
	int st;
	for (unsigned i = 0; i < s->o.max_conns && s->nkids; i++) {
		if (!s->kids[i] || waitpid(s->kids[i], &st, WNOHANG) <= 0)
			continue;
		if (s->o.verbose > 1)
			msg("%s: pid %d ended with status %d", s->svc.path, (int)s->kids[i], st);
		s->kids[i] = 0;
		s->nkids--;
	}
	if (s->stopping) {
		if (!s->nkids) {
			if (!s->embedded) {
				loop_stop(s->lp, DX_OK);
				return 0;
			}
			server_free(s);
			return 1;
		}
	} else if (s->nkids < s->o.max_conns && !s->pause_t) {
		set_accepting(s, 1);
	}
	return 0;
}

void ipcserver_reap_all(void)
{
	struct ipcserver *s = servers, *next;
	for (; s; s = next) {
		next = s->next;
		reap(s);
	}
}

/* ipcserver_run's handlers get a pointer to its server pointer: they are set up before
 * the server exists */
static void on_child(struct loop *lp, void *arg)
{
	reap(*(struct ipcserver **)arg);
}

static void on_grace(struct loop *lp, void *arg)
{
	struct ipcserver *s = arg;
	s->grace_t = NULL;
	kill_kids(s, SIGKILL);
	if (!s->embedded)
		loop_stop(lp, DX_OK);
	/* embedded: freed by the reap that follows the SIGCHLDs */
}

/* Unpublish and stop accepting; 1 when children remain (the server lives on until
 * they are reaped), 0 when done. */
static int server_stop(struct ipcserver *s)
{
	if (s->stopping)
		return 1;
	ns_unpublish(&s->svc, s->lfd);
	loop_unwatch(s->lp, s->lfd);
	close(s->lfd);
	s->lfd = -1;
	s->stopping = 1;
	if (s->o.kill_children && s->nkids) {
		kill_kids(s, SIGTERM);
		kill_kids(s, SIGCONT);
		s->grace_t = loop_timer(s->lp, GRACE_MS, on_grace, s);
		return 1;  /* reap() ends it when the last one is gone */
	}
	return 0;  /* children are left to finish on their own */
}

static void on_term(struct loop *lp, void *arg)
{
	if (!server_stop(*(struct ipcserver **)arg))
		loop_stop(lp, DX_OK);
}

static struct ipcserver *server_new(struct loop *lp, const struct ipcserver_opts *o, char *err,
                                    size_t errlen)
{
	struct ipcserver *s = xcalloc(1, sizeof *s);
	s->o = *o;
	s->o.command = xstrdup(o->command);
	s->o.name = xstrdup(o->name);
	s->o.proto = xstrdup(o->proto ? o->proto : "");
	s->lp = lp;
	s->lfd = ns_publish(o->scope, o->name, s->o.proto, o->mode, o->gid, o->backlog, &s->svc,
	                    err, errlen);
	if (s->lfd < 0) {
		int e = errno;
		free((char *)s->o.command);
		free((char *)s->o.name);
		free((char *)s->o.proto);
		free(s);
		errno = e;
		return NULL;
	}
	fd_set_nonblock(s->lfd, 1);
	s->kids = xcalloc(o->max_conns, sizeof *s->kids);
	loop_watch(lp, s->lfd, LOOP_IN, on_listen, s);
	s->accepting = 1;
	s->next = servers;
	servers = s;
	msg_debug("%s: listening", s->svc.path);
	return s;
}

struct ipcserver *ipcserver_start(struct loop *lp, const struct ipcserver_opts *o, char *err,
                                  size_t errlen)
{
	struct ipcserver *s = server_new(lp, o, err, errlen);
	if (s)
		s->embedded = 1;
	return s;
}

const char *ipcserver_path(const struct ipcserver *s)
{
	return s->svc.path;
}

void ipcserver_stop(struct ipcserver *s)
{
	if (!s || s->stopping)
		return;
	server_stop(s);
	/* children left to finish are still ours to reap: the server lives until then */
	if (!s->nkids)
		server_free(s);
}

void ipcserver_release_all(void)
{
	while (servers)
		server_free(servers);
}

int ipcserver_run(const struct ipcserver_opts *o)
{
	char err[NS_ERR_MAX];
	/* 0, 1, 2 always open, so no connection lands on them */
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 3)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_IGN);
	struct loop *lp = loop_new();
	/* signals first, so none is lost between publishing and serving */
	struct ipcserver *s = NULL;
	loop_signal(lp, SIGCHLD, on_child, &s);
	loop_signal(lp, SIGTERM, on_term, &s);
	loop_signal(lp, SIGINT, on_term, &s);
	loop_signal(lp, SIGHUP, on_term, &s);
	s = server_new(lp, o, err, sizeof err);
	if (!s) {
		msg("%s", err);
		loop_free(lp);
		return errno == EPERM || errno == EACCES ? DX_REFUSED : errno == EINVAL ? DX_USAGE
		       : DX_IO;
	}
	if (o->ready_fd >= 0) {
		/* readiness as s6 does it: one line, then the descriptor is closed (here:
		 * pointed at /dev/null), so a reader sees EOF */
		char line[NS_PATH_MAX + 2];
		int n = snprintf(line, sizeof line, "%s\n", s->svc.path);
		if (write_all(o->ready_fd, line, n) < 0)
			msg_errno("readiness notification");
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, o->ready_fd);
			close(fd);
		}
	}
	int rc = loop_run(lp);
	server_free(s);
	loop_free(lp);
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
