/* ssh.c: the SSH transport: a dbclient (or $DIPUS_SSH) child running
 * "dipus serve --stdio" on the far side, or an importer's control socket
 * (doc/ssh.md): the child, its command line, its direct channels, and why it failed.
 * The control socket is ssh-ctl.c's, key conversion ssh-key.c's (ssh-int.h). */
#include "ssh.h"
#include "ssh-int.h"
#include "loop.h"
#include "ns.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SSH_MAX_ARGS 64
#define SSH_WINDOW "2097152"   /* dbclient -W: its default (24 KiB) throttles bulk data */

struct ssh_conn {
	int rfd, wfd, efd;    /* efd: child's stderr (read end), -1 when shared/closed */
	int mux;              /* the embedded dbclient's direct-channel socket, or -1 */
	pid_t pid;            /* 0 when shared or reaped */
	int status;           /* wait status once reaped */
	int reaped;
	int killed;           /* we signalled it: its exit status says nothing */
	int shared;
	struct loop *lp;      /* ssh_attach */
	char target[400];     /* ssh://user@host:port */
	char cmd[1024];       /* the command line, for messages */
	char remote_cmd[512]; /* what the far side runs */
	char errbuf[SSH_ERRBUF];
	size_t errlen;
};

static char *identity_opt;

unsigned ssh_handshake_ms(void)
{
	const char *s = getenv("DIPUS_SSH_TIMEOUT");
	unsigned long v;
	if (s && parse_uint(s, 1, 3600, &v) == 0)
		return (unsigned)v * 1000;
	return SSH_HANDSHAKE_MS;
}

void ssh_set_identity(const char *file)
{
	free(identity_opt);
	identity_opt = file ? xstrdup(file) : NULL;
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(geteuid());
	return pw ? pw->pw_dir : NULL;
}

/* ---- command line ---------------------------------------------------------------- */

struct argv_buf {
	char *v[SSH_MAX_ARGS + 1];
	int n;
	char store[4096];
	size_t used;
};

static int av_add(struct argv_buf *a, const char *s)
{
	size_t len = strlen(s) + 1;
	if (a->n >= SSH_MAX_ARGS || a->used + len > sizeof a->store)
		return -1;
	a->v[a->n++] = memcpy(a->store + a->used, s, len);
	a->v[a->n] = NULL;
	a->used += len;
	return 0;
}

/* Split $DIPUS_SSH into words: blanks separate; '...' and "..." quote; \ escapes. */
static int split_words(const char *s, struct argv_buf *a)
{
	char word[1024];
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		size_t n = 0;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			char q = *s;
			if (q == '\'' || q == '"') {
				s++;
				while (*s && *s != q) {
					if (q == '"' && *s == '\\' && s[1])
						s++;
					if (n + 1 >= sizeof word)
						return -1;
					word[n++] = *s++;
				}
				if (!*s)
					return -1; /* unterminated quote */
				s++;
				continue;
			}
			if (q == '\\' && s[1])
				s++;
			if (n + 1 >= sizeof word)
				return -1;
			word[n++] = *s++;
		}
		word[n] = 0;
		if (av_add(a, word) < 0)
			return -1;
	}
	return 0;
}

#define SSH_MAX_KEYFDS 4

static void add_cmd_text(struct ssh_conn *c, const struct argv_buf *a)
{
	size_t used = 0;
	c->cmd[0] = 0;
	for (int i = 0; i < a->n; i++) {
		const char *w = a->v[i];
		int quote = !*w || strpbrk(w, " \t'\"\\$") != NULL;
		int n = snprintf(c->cmd + used, sizeof c->cmd - used, "%s%s%s%s", i ? " " : "",
		                 quote ? "'" : "", w, quote ? "'" : "");
		if (n < 0 || (size_t)n >= sizeof c->cmd - used)
			break;
		used += n;
	}
}

/* A key for dbclient: as is when in dropbear's format, converted into a memfd when an
 * unencrypted OpenSSH ed25519 key; 0 when neither (nothing added). */
static int add_key(struct argv_buf *a, const char *path, int *keyfds, int *nkeyfds)
{
	int openssh;
	if (ssh_key_is_dropbear(path, &openssh))
		return av_add(a, "-i") | av_add(a, path);
	if (!openssh || *nkeyfds >= SSH_MAX_KEYFDS)
		return 0;
	int fd = ssh_key_memfd(path);
	if (fd < 0) {
		msg_debug("%s: OpenSSH format that dbclient cannot read (doc/ssh.md)", path);
		return 0;
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	keyfds[(*nkeyfds)++] = fd;
	return av_add(a, "-i") | av_add(a, p);
}

static int build_argv(struct ssh_conn *c, const struct remote_uri *u, struct argv_buf *a,
                      int *keyfds, int *nkeyfds, char *err, size_t errlen)
{
	const char *custom = getenv("DIPUS_SSH");
	const char *identity = identity_opt ? identity_opt : getenv("DIPUS_SSH_IDENTITY");
	if (identity && !*identity)
		identity = NULL;
	char port[16];
	snprintf(port, sizeof port, "%u", u->port ? u->port : SSH_DEFAULT_PORT);
	int bad = 0;

	if (custom && *custom) {
		if (split_words(custom, a) < 0 || a->n == 0) {
			snprintf(err, errlen, "$DIPUS_SSH: cannot parse '%s' (unterminated quote or too long)",
			         custom);
			return -1;
		}
	} else {
		bad |= av_add(a, "dipus") | av_add(a, "dbclient") | av_add(a, "-T") |
		       av_add(a, "-o") | av_add(a, "BatchMode=yes") | av_add(a, "-o") |
		       av_add(a, "StrictHostKeyChecking=yes") | av_add(a, "-W") | av_add(a, SSH_WINDOW);
		if (!identity) {
			/* dbclient reads ~/.ssh/id_dropbear by itself; the OpenSSH default names
			 * are used too when they hold a key it can use (the embedded client has
			 * no RSA: config/dropbear_localoptions.h) */
			static const char *const names[] = { "id_ed25519", "id_ecdsa" };
			const char *home = home_dir();
			for (size_t i = 0; home && i < sizeof names / sizeof names[0]; i++) {
				char p[1024];
				if (xsnprintf(p, sizeof p, "%s/.ssh/%s", home, names[i]))
					continue;
				bad |= add_key(a, p, keyfds, nkeyfds);
			}
		} else {
			int before = a->n;
			bad |= add_key(a, identity, keyfds, nkeyfds);
			if (a->n == before) /* not usable: pass it on, dbclient says what is wrong */
				bad |= av_add(a, "-i") | av_add(a, identity);
		}
	}
	if (u->port)
		bad |= av_add(a, "-p") | av_add(a, port);
	if (u->user[0])
		bad |= av_add(a, "-l") | av_add(a, u->user);
	if (identity && custom && *custom)
		bad |= av_add(a, "-i") | av_add(a, identity);
	bad |= av_add(a, u->host) | av_add(a, c->remote_cmd);
	if (bad) {
		snprintf(err, errlen, "ssh command line too long");
		return -1;
	}
	add_cmd_text(c, a);
	return 0;
}

/* ---- the child --------------------------------------------------------------------- */

static void drain_err(struct ssh_conn *c)
{
	if (c->efd < 0)
		return;
	for (;;) {
		char buf[1024];
		ssize_t n = read(c->efd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				if (c->lp)
					loop_unwatch(c->lp, c->efd);
				close(c->efd);
				c->efd = -1;
				c->lp = NULL;
			}
			return;
		}
		if (getenv("DIPUS_DEBUG")) {
			ssize_t w = write(2, buf, n);
			(void)w;
		}
		/* keep the last SSH_ERRBUF bytes */
		/* (buf is smaller than errbuf) */
		if (c->errlen + n > sizeof c->errbuf) {
			size_t drop = c->errlen + n - sizeof c->errbuf;
			memmove(c->errbuf, c->errbuf + drop, c->errlen - drop);
			c->errlen -= drop;
		}
		memcpy(c->errbuf + c->errlen, buf, n);
		c->errlen += n;
	}
}

static int reap(struct ssh_conn *c, int block)
{
	if (c->reaped || c->pid <= 0)
		return 1;
	int st;
	pid_t r;
	do
		r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->status = r == c->pid ? st : 0;
		c->reaped = 1;
		return 1;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Wait up to ms for the child to exit on its own, draining its stderr; then kill. */
static void stop_child(struct ssh_conn *c, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	int killed = 0;
	while (!reap(c, 0)) {
		uint64_t now = now_ms();
		if (now >= end) {
			if (killed >= 2)
				break;
			kill(c->pid, killed ? SIGKILL : SIGTERM);
			killed++;
			c->killed = 1;
			end = now + 1000;
		}
		struct pollfd p = { .fd = c->efd, .events = POLLIN };
		if (c->efd >= 0) {
			if (poll(&p, 1, 20) > 0)
				drain_err(c);
		} else {
			poll(NULL, 0, 10);
		}
	}
	if (!c->reaped) {
		kill(c->pid, SIGKILL);
		c->killed = 1;
		reap(c, 1);
	}
	/* the child is gone: whatever it wrote is in the pipe, unless a grandchild
	 * (ssh's ProxyCommand, ...) still holds it; read what is there without waiting */
	if (c->efd >= 0) {
		fd_set_nonblock(c->efd, 1);
		drain_err(c);
	}
}

struct ssh_conn *ssh_open(const struct remote_uri *u, unsigned flags, int *code, char *err,
                          size_t errlen)
{
	*code = DX_REMOTE;
	if (u->scheme != REMOTE_SSH || !u->host[0] || u->host[0] == '-' || u->user[0] == '-' ||
	    strpbrk(u->host, " \t\n'\"\\;") || strpbrk(u->user, " \t\n'\"\\;")) {
		snprintf(err, errlen, "ssh://%s%s%s: not a usable SSH target", u->user,
		         u->user[0] ? "@" : "", u->host);
		*code = DX_USAGE;
		return NULL;
	}
	struct ssh_conn *c = xcalloc(1, sizeof *c);
	c->rfd = c->wfd = c->efd = c->mux = -1;
	char canon[340];
	ssh_canon(u, canon, sizeof canon);
	snprintf(c->target, sizeof c->target, "ssh://%s", canon);

	if (!(flags & SSH_NO_SHARE) && !getenv("DIPUS_SSH_NO_SHARE")) {
		char path[NS_PATH_MAX + 64];
		int fd = ssh_ctl_connect(u, path, sizeof path);
		if (fd >= 0) {
			c->shared = 1;
			c->rfd = c->wfd = fd;
			snprintf(c->cmd, sizeof c->cmd, "control socket %s", path);
			msg_debug("%s: sharing the session of the importer at %s", c->target, path);
			return c;
		}
	}

	const char *remote = getenv("DIPUS_REMOTE");
	snprintf(c->remote_cmd, sizeof c->remote_cmd, "%s",
	         remote && *remote ? remote : "dipus serve --stdio");
	struct argv_buf a = { .n = 0 };
	int keyfds[SSH_MAX_KEYFDS], nkeyfds = 0;
	if (build_argv(c, u, &a, keyfds, &nkeyfds, err, errlen) < 0) {
		for (int i = 0; i < nkeyfds; i++)
			close(keyfds[i]);
		*code = DX_USAGE;
		free(c);
		return NULL;
	}
	int custom = getenv("DIPUS_SSH") && *getenv("DIPUS_SSH");

	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, ex[2] = { -1, -1 };
	int mux[2] = { -1, -1 };
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 ||
	    pipe2(ex, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail_pipes;
	}
	/* the embedded client also takes direct-channel requests (a connection's fd and a
	 * remote socket path) on a socket of its own; without it, SEP carries everything */
	if (!custom && !getenv("DIPUS_SSH_NO_DIRECT") &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mux) < 0)
		mux[0] = mux[1] = -1;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail_pipes;
	}
	if (pid == 0) {
		/* child: stdin <- out[0], stdout -> in[1], stderr -> er[1] */
		loop_child_sigreset();
		signal(SIGPIPE, SIG_DFL);
		setsid(); /* no controlling tty: nothing can prompt */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (dup2(out[0], 0) < 0 || dup2(in[1], 1) < 0 || dup2(er[1], 2) < 0)
			_exit(127);
		/* nothing of ours leaks into the SSH client (listening proxies, other
		 * sessions), except the converted keys it reads as /proc/self/fd/N */
		fd_cloexec_from(3);
		for (int i = 0; i < nkeyfds; i++)
			fcntl(keyfds[i], F_SETFD, 0);
		if (mux[1] >= 0) {
			char v[16];
			snprintf(v, sizeof v, "%d", mux[1]);
			if (fcntl(mux[1], F_SETFD, 0) == 0)
				setenv(DIPUSMUX_ENV, v, 1);
		}
		if (custom)
			execvp(a.v[0], a.v);
		else
			execv("/proc/self/exe", a.v);
		int e = errno;
		ssize_t w = write(ex[1], &e, sizeof e);
		(void)w;
		_exit(127);
	}
	close(in[1]);
	close(out[0]);
	close(er[1]);
	close(ex[1]);
	if (mux[1] >= 0)
		close(mux[1]);
	c->mux = mux[0];
	if (c->mux >= 0)
		fd_set_nonblock(c->mux, 1);
	for (int i = 0; i < nkeyfds; i++)
		close(keyfds[i]);
	int e = 0;
	ssize_t n;
	do
		n = read(ex[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(ex[0]);
	c->pid = pid;
	c->rfd = in[0];
	c->wfd = out[1];
	c->efd = er[0];
	fd_set_nonblock(c->rfd, 1);
	fd_set_nonblock(c->wfd, 1);
	fd_set_nonblock(c->efd, 1);
	if (n == (ssize_t)sizeof e) {
		reap(c, 1);
		snprintf(err, errlen, "%s: cannot run %s: %s%s", c->target,
		         custom ? a.v[0] : "the embedded dbclient (/proc/self/exe)", strerror(e),
		         custom ? " (check $DIPUS_SSH)" : "");
		*code = DX_IO;
		c->pid = 0;
		ssh_close(c);
		return NULL;
	}
	msg_debug("%s: started %s (pid %d)", c->target, c->cmd, (int)pid);
	return c;

fail_pipes:
	for (int i = 0; i < nkeyfds; i++)
		close(keyfds[i]);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (er[i] >= 0) close(er[i]);
		if (ex[i] >= 0) close(ex[i]);
		if (mux[i] >= 0) close(mux[i]);
	}
	*code = DX_IO;
	free(c);
	return NULL;
}

int ssh_rfd(const struct ssh_conn *c) { return c->rfd; }
int ssh_wfd(const struct ssh_conn *c) { return c->wfd; }
int ssh_shared(const struct ssh_conn *c) { return c->shared; }
pid_t ssh_pid(const struct ssh_conn *c) { return c->reaped ? 0 : c->pid; }
const char *ssh_target(const struct ssh_conn *c) { return c->target; }
const char *ssh_command(const struct ssh_conn *c) { return c->cmd; }

/* ---- direct channels --------------------------------------------------------------
 * The embedded dbclient opens a direct-streamlocal@openssh.com channel in its SSH
 * session on request and relays it to descriptors handed over with SCM_RIGHTS
 * (dbclient/cli-dipusmux.c has the other end, dbclient/dipusmux.h the wire; doc/ssh.md
 * the why). */

int ssh_mux_fd(const struct ssh_conn *c) { return c->mux; }

int ssh_direct_open(struct ssh_conn *c, uint32_t id, int rfd, int wfd, const char *path)
{
	size_t n = strlen(path);
	if (c->mux < 0 || n == 0 || n > DIPUSMUX_MAXPATH) {
		errno = EINVAL;
		return -1;
	}
	uint8_t msg[DIPUSMUX_REQ_HDR + DIPUSMUX_MAXPATH];
	msg[0] = (uint8_t)(id >> 24);
	msg[1] = (uint8_t)(id >> 16);
	msg[2] = (uint8_t)(id >> 8);
	msg[3] = (uint8_t)id;
	msg[4] = (uint8_t)(n >> 8);
	msg[5] = (uint8_t)n;
	memcpy(msg + DIPUSMUX_REQ_HDR, path, n);
	int fds[2] = { rfd, wfd };
	int nfd = rfd == wfd ? 1 : 2;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof fds)];
	} cm;
	memset(&cm, 0, sizeof cm);
	struct iovec iov = { msg, DIPUSMUX_REQ_HDR + n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
		             .msg_controllen = CMSG_SPACE(nfd * sizeof(int)) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(nfd * sizeof(int));
	memcpy(CMSG_DATA(h), fds, nfd * sizeof(int));
	ssize_t r;
	do
		r = sendmsg(c->mux, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)(DIPUSMUX_REQ_HDR + n) ? 0 : -1;
}

static int direct_reply(struct ssh_conn *c, uint32_t *id, int *kind, int *code, char *text,
                        size_t textlen)
{
	if (c->mux < 0)
		return -1;
	uint8_t b[256];
	ssize_t r;
	do
		r = recv(c->mux, b, sizeof b - 1, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r < DIPUSMUX_REPLY_HDR) {
		/* gone (the client exited) or malformed: no more direct channels */
		close_fd(&c->mux);
		return -1;
	}
	*id = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	*kind = b[4];
	*code = 0;
	ssize_t i = DIPUSMUX_REPLY_HDR;
	if (*kind == DIPUSMUX_FAILED && r > i)
		*code = b[i++];  /* DIPUSMUX_OPEN_*: the server's reason (0: refused by dbclient) */
	size_t n = 0;
	for (; i < r && n + 1 < textlen; i++)
		text[n++] = b[i] >= ' ' && b[i] < 0x7f ? (char)b[i] : '?';
	if (textlen)
		text[n] = 0;
	return 1;
}

int ssh_direct_replies(struct ssh_conn *c, struct loop *lp, ssh_direct_fn *fn, void *arg)
{
	/* bounded: at most a burst's worth per wake-up, the loop comes back for more */
	for (int i = 0; i < 64; i++) {
		uint32_t id;
		int kind;
		char text[128];
		int fd = c->mux;
		int code;
		int r = direct_reply(c, &id, &kind, &code, text, sizeof text);
		if (r == 0)
			return 0;
		if (r < 0) {
			loop_forget(lp, fd);  /* direct_reply closed it */
			return -1;
		}
		fn(arg, id, kind, code, text);
	}
	return 0;
}

static void err_ready(struct loop *lp, int fd, unsigned events, void *arg)
{
	drain_err(arg);
}

void ssh_attach(struct ssh_conn *c, struct loop *lp)
{
	if (c->efd < 0 || c->lp)
		return;
	if (loop_watch(lp, c->efd, LOOP_IN, err_ready, c) == 0)
		c->lp = lp;
}

void ssh_detach(struct ssh_conn *c)
{
	if (c->lp && c->efd >= 0)
		loop_unwatch(c->lp, c->efd);
	c->lp = NULL;
}

/* ---- classifying failures ------------------------------------------------------- */

static int has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

/* The most telling line of the captured stderr: the last one that is not empty and
 * not dbclient's own "Connection to ... exited:" prefix alone; cleaned of control
 * characters. */
static void last_line(const struct ssh_conn *c, char *out, size_t outlen)
{
	char tmp[SSH_ERRBUF + 1];
	memcpy(tmp, c->errbuf, c->errlen);
	tmp[c->errlen] = 0;
	out[0] = 0;
	char *save = NULL;
	for (char *l = strtok_r(tmp, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l)
			continue;
		snprintf(out, outlen, "%s", l);
	}
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
			*p = '?';
}

static int exited(const struct ssh_conn *c, int *code)
{
	if (!c->reaped || (c->killed && !(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 127)))
		return 0;
	if (WIFEXITED(c->status)) {
		*code = WEXITSTATUS(c->status);
		return 1;
	}
	*code = WIFSIGNALED(c->status) ? 128 + WTERMSIG(c->status) : -1;
	return 1;
}

static int classify(struct ssh_conn *c, enum ssh_why kind, const char *why, char *err,
                    size_t errlen)
{
	char line[512];
	char text[SSH_ERRBUF + 1];
	memcpy(text, c->errbuf, c->errlen);
	text[c->errlen] = 0;
	last_line(c, line, sizeof line);
	int st = -1;
	int gone = exited(c, &st);
	const char *w = why && *why ? why : NULL;
	/* the SEP layer may have named the target already */
	size_t tl = strlen(c->target);
	if (w && !strncmp(w, c->target, tl) && w[tl] == ':' && w[tl + 1] == ' ')
		w += tl + 2;

	if (has(text, "host key mismatch") || has(text, "REMOTE HOST IDENTIFICATION HAS CHANGED") ||
	    has(text, "host key for") ) {
		snprintf(err, errlen, "%s: host key changed: the host's key is not the one in "
		         "~/.ssh/known_hosts (a new key, or someone in between); remove the old "
		         "entry only if you know why it changed (%s)", c->target, line);
		return DX_REFUSED;
	}
	if (has(text, "Didn't validate host key") || has(text, "not in the trusted hosts") ||
	    has(text, "Not accepted automatically") || has(text, "Host key verification failed") ||
	    has(text, "host key is known")) {
		snprintf(err, errlen, "%s: host key unknown: add the host's key to ~/.ssh/known_hosts "
		         "(doc/ssh.md says how) (%s)", c->target, line);
		return DX_REFUSED;
	}
	if (has(text, "Connect failed") || has(text, "Connection refused") ||
	    has(text, "No route to host") || has(text, "Network is unreachable") ||
	    has(text, "Failed lookup") || has(text, "Could not resolve") ||
	    has(text, "Connection timed out") || has(text, "Name or service not known") ||
	    has(text, "Operation timed out")) {
		snprintf(err, errlen, "%s: host unreachable (%s)", c->target, line);
		return DX_REMOTE;
	}
	if (has(text, "No auth methods could be used") || has(text, "Permission denied") ||
	    has(text, "BatchMode active") || has(text, "Too many authentication failures") ||
	    has(text, "no interactive session possible")) {
		snprintf(err, errlen, "%s: authentication refused: no key was accepted (give one "
		         "with -i FILE or $DIPUS_SSH_IDENTITY; dbclient reads keys in dropbear's "
		         "format, doc/ssh.md) (%s)", c->target, line);
		return DX_REMOTE;
	}
	if (gone && st == 127) {
		snprintf(err, errlen, "%s: 'dipus' missing on the remote: the remote shell could "
		         "not run '%s' (exit 127%s%s); install dipus there or set $DIPUS_REMOTE",
		         c->target, c->remote_cmd, line[0] ? ": " : "", line);
		return DX_REMOTE;
	}
	if (has(text, "no such applet") || has(text, "not implemented yet") ||
	    (gone && (st == DX_NOTIMPL || st == 126))) {
		snprintf(err, errlen, "%s: the remote dipus is too old or lacks 'serve': '%s' "
		         "failed (exit %d%s%s)", c->target, c->remote_cmd, st, line[0] ? ": " : "", line);
		return DX_REMOTE;
	}
	if (kind == SSH_WHY_VERSION) {
		snprintf(err, errlen, "%s: the remote dipus speaks another SEP version (too old or "
		         "too new): %s (ran '%s')", c->target, w ? w : "version mismatch", c->remote_cmd);
		return DX_REMOTE;
	}
	if (kind == SSH_WHY_NOT_SEP) {
		snprintf(err, errlen, "%s: '%s' on the remote does not speak SEP (not dipus serve? "
		         "output from the remote shell's startup files?)%s%s", c->target, c->remote_cmd,
		         line[0] ? ": " : "", line);
		return DX_REMOTE;
	}
	if (kind == SSH_WHY_TIMEOUT) {
		snprintf(err, errlen, "%s: %s%s%s (host unreachable, not an SSH server, or a slow "
		         "remote; ran: %s)", c->target, w ? w : "timed out", line[0] ? ": " : "", line,
		         c->cmd);
		return DX_REMOTE;
	}
	if (gone && st != 0) {
		snprintf(err, errlen, "%s: ssh failed (exit %d)%s%s%s%s (ran: %s)", c->target, st,
		         line[0] ? ": " : "", line, w ? "; " : "", w ? w : "", c->cmd);
		return DX_REMOTE;
	}
	if (line[0] && w)
		snprintf(err, errlen, "%s: %s (remote said: %s)", c->target, w, line);
	else if (w)
		snprintf(err, errlen, "%s: %s", c->target, w);
	else if (line[0])
		snprintf(err, errlen, "%s: session ended: %s", c->target, line);
	else
		snprintf(err, errlen, "%s: the remote closed the session (ran: %s)", c->target, c->cmd);
	return DX_REMOTE;
}

int ssh_failed(struct ssh_conn *c, enum ssh_why kind, const char *why, char *err,
               size_t errlen)
{
	if (c->shared) {
		snprintf(err, errlen, "%s: %s (through the importer's shared session)", c->target,
		         why && *why ? why : "the shared session ended");
		return DX_REMOTE;
	}
	/* the far side may still be talking: stop it, then read its last words */
	close_fd(&c->wfd);
	ssh_detach(c);
	stop_child(c, kind == SSH_WHY_TIMEOUT ? 0 : 1500);
	return classify(c, kind, why, err, errlen);
}

int ssh_wait_ready(struct ssh_conn *c, unsigned ms, int *code, char *err, size_t errlen)
{
	uint64_t end = now_ms() + ms;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= end) {
			char why[64];
			snprintf(why, sizeof why, "timed out: no answer within %u s", (ms + 999) / 1000);
			*code = ssh_failed(c, SSH_WHY_TIMEOUT, why, err, errlen);
			return -1;
		}
		struct pollfd p[2] = { { .fd = c->rfd, .events = POLLIN },
		                       { .fd = c->efd, .events = POLLIN } };
		int r = poll(p, c->efd >= 0 ? 2 : 1, (int)(end - now));
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			*code = DX_IO;
			return -1;
		}
		if (r > 0 && p[1].revents)
			drain_err(c);
		if (r > 0 && p[0].revents) {
			/* data (SEP's hello), or EOF / error */
			int avail = 0;
			if (ioctl(c->rfd, FIONREAD, &avail) == 0 && avail > 0)
				return 0;
			*code = ssh_failed(c, SSH_WHY_ENDED, NULL, err, errlen);
			return -1;
		}
	}
}

void ssh_close(struct ssh_conn *c)
{
	if (!c)
		return;
	ssh_detach(c);
	if (c->wfd == c->rfd)
		c->wfd = -1;
	close_fd(&c->wfd);
	close_fd(&c->rfd);
	close_fd(&c->mux);
	if (c->pid > 0 && !c->reaped) {
		/* the far side has its stdin closed now; give it a moment, then kill */
		stop_child(c, 200);
	}
	close_fd(&c->efd);
	free(c);
}

