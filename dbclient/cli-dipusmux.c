/* cli-dipusmux.c (dipus's, not dropbear's): direct-streamlocal channels on request of
 * dbclient's parent.
 *
 * Why: the ssh:// importer used to carry every proxied connection as a SEP channel
 * through "dipus serve --stdio" on the far side, two process hops more than OpenSSH's
 * "ssh -L local.sock:remote.sock". Instead the parent (core/ssh.c) asks this dbclient
 * to open a direct-streamlocal@openssh.com channel to the remote socket in the same SSH
 * session, relayed by dropbear's own channel code straight to descriptors it hands over.
 *
 * The mux socket: $DIPUS_DBCLIENT_MUX names an inherited AF_UNIX SOCK_SEQPACKET socket
 * (taken and unset before anything forks; watched once user authentication succeeded).
 * Its messages are in dipusmux.h (dbclient/dipusmux.h), which core/ssh.c includes too.
 * At most DIPUSMUX_MAXCHANS such channels at once; one request per readable event. EOF
 * or an error on the mux socket only stops the watching: open channels run to their end.
 * An open channel ends with CLOSED when the server closed it, with CUT when the SSH
 * session ended first (dbclient exits: the parent must not take it for the data's end).
 *
 * Copied into dropbear's tree as src/cli-dipusmux.c by mk/deps.mk; its hooks into
 * dropbear are dbclient/dipusmux.patch. */
#include "includes.h"
#include "session.h"
#include "dbutil.h"
#include "channel.h"
#include "listener.h"
#include "buffer.h"
#include "packet.h"
#include "ssh.h"
#include "runopts.h"
#include "dipusmux.h"

#if DIPUS_CLI_MUX

#ifndef MUX_WINDOW
#define MUX_WINDOW   (512 * 1024) /* per direct channel; bench/ssh: as fast as 2 MiB */
#endif

struct muxchan {
	uint32_t id;
	int opened;
};

static int mux_fd = -1;
static struct Listener *mux_listener;
static unsigned int mux_nchans;
static const char *mux_exit_why;  /* dbclient is exiting: why (cli_dipusmux_exit) */

static int muxchan_opened(struct Channel *channel);
static void muxchan_cleanup(const struct Channel *channel);

static const struct ChanType muxchan_type = {
	"direct-streamlocal@openssh.com",
	muxchan_opened, /* on OPEN_CONFIRMATION */
	NULL,
	NULL,
	NULL,
	muxchan_cleanup /* from remove_channel: OPEN_FAILURE, the end, session exit */
};

static uint32_t get32(const unsigned char *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* one reply datagram; a parent that is gone (or not reading) is ignored */
static void mux_reply(uint32_t id, unsigned char kind, unsigned char code, const char *why) {
	unsigned char msg[DIPUSMUX_REPLY_HDR + 1 + DIPUSMUX_WHYMAX];
	size_t n = DIPUSMUX_REPLY_HDR, len;

	if (mux_fd < 0) {
		return;
	}
	msg[0] = id >> 24;
	msg[1] = id >> 16;
	msg[2] = id >> 8;
	msg[3] = id;
	msg[4] = kind;
	if (kind == DIPUSMUX_FAILED) {
		msg[n++] = code;  /* a number for the parent to decide on, the words for people */
	}
	if (why) {
		len = MIN(strlen(why), sizeof(msg) - n);
		memcpy(msg + n, why, len);
		n += len;
	}
	(void)send(mux_fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int muxchan_opened(struct Channel *channel) {
	struct muxchan *mc = channel->typedata;

	mc->opened = 1;
	mux_reply(mc->id, DIPUSMUX_OPENED, 0, NULL);
	return 0;
}

/* Called after dropbear closed the channel's fds. Opened: the server's CLOSE came (the
 * channel's own end), or the session is going down under it (chancleanup on exit: the
 * data may be cut short, and the parent must not take it for the end). Not opened: the
 * server's OPEN_FAILURE is the packet being handled (its reason code after the channel
 * number), or the session is going down with the open still pending. */
static void muxchan_cleanup(const struct Channel *channel) {
	static const char *const reasons[] = {
		"refused by the server", "refused by the server: prohibited",
		"refused by the server: connect failed", "refused by the server: unknown type",
		"refused by the server: resource shortage"
	};
	struct muxchan *mc = channel->typedata;
	const char *why = "session closed";
	uint32_t r = 0;

	if (!mc) {
		return;
	}
	if (mc->opened && channel->recv_close) {
		mux_reply(mc->id, DIPUSMUX_CLOSED, 0, NULL);
	} else if (mc->opened) {
		mux_reply(mc->id, DIPUSMUX_CUT, 0, mux_exit_why ? mux_exit_why : "the SSH session ended");
	} else {
		const unsigned char *p = ses.payload ? ses.payload->data + ses.payload_beginning : NULL;

		if (p && ses.payload->len >= ses.payload_beginning + 9
				&& p[0] == SSH_MSG_CHANNEL_OPEN_FAILURE) {
			r = get32(p + 5);
			why = reasons[r < 5 ? r : 0];
		}
		mux_reply(mc->id, DIPUSMUX_FAILED, r < 256 ? (unsigned char)r : 0, why);
	}
	m_free(mc);
	mux_nchans--;
}

/* EOF or an error: stop watching. handle_listeners() still looks at the listener
 * after we return, so it stays, with nothing to watch. */
static void mux_stop(void) {
	TRACE(("dipusmux: mux socket closed"))
	m_close(mux_fd);
	mux_fd = -1;
	mux_listener->nsocks = 0;
}

/* Is this a request we can open? NULL if so, else why not. */
static const char *mux_check(const unsigned char *req, ssize_t n, int flags,
		const int *fds, unsigned int nfds) {
	struct stat st;
	unsigned int i, pathlen;

	if (flags & (MSG_TRUNC | MSG_CTRUNC) || n < DIPUSMUX_REQ_HDR) {
		return "bad request";
	}
	pathlen = (unsigned int)req[4] << 8 | req[5];
	if (pathlen < 1 || pathlen > DIPUSMUX_MAXPATH || (size_t)n != DIPUSMUX_REQ_HDR + pathlen
			|| memchr(req + DIPUSMUX_REQ_HDR, '\0', pathlen)) {
		return "bad request: path";
	}
	if (nfds != 1 && nfds != 2) {
		return "bad request: 1 or 2 fds";
	}
	for (i = 0; i < nfds; i++) {
		/* select(): never an fd >= FD_SETSIZE in an fd_set; 0..2 are dbclient's own */
		if (fds[i] < 3 || fds[i] >= FD_SETSIZE) {
			return "fd out of range";
		}
	}
	if (nfds == 1 && (fstat(fds[0], &st) < 0 || !S_ISSOCK(st.st_mode))) {
		return "bad request: a single fd must be a socket";
	}
	if (mux_nchans >= DIPUSMUX_MAXCHANS) {
		return "too many direct channels";
	}
	return NULL;
}

/* Send CHANNEL_OPEN direct-streamlocal@openssh.com; the channel is not read from before
 * the confirmation (its transwindow stays 0 until then). */
static const char *mux_open(uint32_t id, const unsigned char *path, unsigned int pathlen,
		const int *fds, unsigned int nfds) {
	struct Channel *chan = NULL;
	struct muxchan *mc;
	unsigned int i, session_window = opts.recv_window;
	int ok;

	/* a smaller window than the session channel's: each open direct channel may hold
	 * its window in dropbear's buffer (the patched writechannel extends it per channel) */
	opts.recv_window = MIN(session_window, MUX_WINDOW);
	ok = send_msg_channel_open_init(fds[0], &muxchan_type);
	opts.recv_window = session_window;
	if (ok == DROPBEAR_FAILURE) {
		return "too many channels";
	}
	/* the channel just made: the only one of ours without typedata yet */
	for (i = 0; i < ses.chansize; i++) {
		if (ses.channels[i] && ses.channels[i]->type == &muxchan_type
				&& !ses.channels[i]->typedata) {
			chan = ses.channels[i];
			break;
		}
	}
	dropbear_assert(chan != NULL);
	mc = m_malloc(sizeof(*mc));
	mc->id = id;
	mc->opened = 0;
	chan->typedata = mc;
	mux_nchans++;
	if (nfds == 2) {
		setnonblocking(fds[1]);
		chan->writefd = fds[1];
		chan->bidir_fd = 0;
		ses.maxfd = MAX(ses.maxfd, fds[1]);
	}
	/* socket path, reserved string, reserved uint32 (OpenSSH's PROTOCOL) */
	buf_putstring(ses.writepayload, (const char *)path, pathlen);
	buf_putstring(ses.writepayload, "", 0);
	buf_putint(ses.writepayload, 0);
	encrypt_packet();
	return NULL;
}

/* one request datagram (the listener's acceptor) */
static void mux_request(const struct Listener *UNUSED(listener), int sock) {
	unsigned char req[DIPUSMUX_REQ_HDR + DIPUSMUX_MAXPATH + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	int fds[2] = { -1, -1 }, fd;
	unsigned int nfds = 0, i;
	size_t k, nf;
	const char *why;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = req;
	iov.iov_len = sizeof(req);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
		return;
	}
	if (n >= 0) {
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
				continue;
			}
			nf = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < nf; k++) {
				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
				if (nfds < 2) {
					fds[nfds] = fd;
				} else {
					close(fd);
				}
				nfds++;
			}
		}
	}
	if (n <= 0) {
		/* EOF (SEQPACKET: also an empty datagram, which the parent never sends) */
		for (i = 0; i < 2; i++) {
			if (fds[i] >= 0) {
				close(fds[i]);
			}
		}
		mux_stop();
		return;
	}

	why = mux_check(req, n, msg.msg_flags, fds, nfds);
	if (!why) {
		why = mux_open(get32(req), req + DIPUSMUX_REQ_HDR, (unsigned int)n - DIPUSMUX_REQ_HDR, fds, nfds);
	}
	if (why) {
		TRACE(("dipusmux: request failed: %s", why))
		for (i = 0; i < 2; i++) {
			if (fds[i] >= 0) {
				close(fds[i]);
			}
		}
		if (n >= 4) { /* else there is no id to answer */
			mux_reply(get32(req), DIPUSMUX_FAILED, 0, why);
		}
	}
}

/* From cli_main, before anything forks: take the mux socket from the environment, so
 * neither the variable nor the fd reaches a child. Not a SEQPACKET AF_UNIX socket:
 * ignored (dbclient behaves as without it). */
void cli_dipusmux_init(void) {
	const char *s = getenv(DIPUSMUX_ENV);
	char *end;
	long fd;
	int type = 0, domain = 0;
	socklen_t tlen = sizeof(type), dlen = sizeof(domain);

	if (!s) {
		return;
	}
	errno = 0;
	fd = strtol(s, &end, 10);
	if (*s >= '0' && *s <= '9' && *end == '\0' && errno == 0
			&& fd >= 3 && fd < FD_SETSIZE
			&& getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0
			&& type == SOCK_SEQPACKET
			&& getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) == 0
			&& domain == AF_UNIX
			&& fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0) {
		mux_fd = (int)fd;
	}
	unsetenv(DIPUSMUX_ENV);
}

/* From cli_dropbear_exit, before the session's channels are cleaned up: why dbclient
 * exits (its exit message, which lives until exit), for the CUT of each open channel. */
void cli_dipusmux_exit(const char *why) {
	mux_exit_why = why;
}

/* dropbear servers 2024.84 to 2025.88 connect forwarded sockets as root
 * (CVE-2025-14282): a channel through them could reach sockets the user cannot. Their
 * identification string says which they are ("SSH-2.0-dropbear_2025.88"). */
static int server_forwards_as_root(void) {
	const char *p = ses.remoteident ? strstr(ses.remoteident, "dropbear_") : NULL;
	unsigned long year, minor;
	char *end;

	if (!p) {
		return 0;
	}
	year = strtoul(p + 9, &end, 10);
	if (*end != '.') {
		return 0;
	}
	minor = strtoul(end + 1, NULL, 10);
	return year * 100 + minor >= 202484 && year * 100 + minor <= 202588;
}

/* Once authenticated (next to setup_localtcp()): watch the mux socket in the select loop. */
void cli_dipusmux_start(void) {
	if (mux_fd < 0 || mux_listener) {
		return;
	}
	if (server_forwards_as_root()) {
		/* never READY: the parent keeps everything on SEP, where serve runs as the user */
		TRACE(("dipusmux: %s forwards as root: no direct channels", ses.remoteident))
		m_close(mux_fd);
		mux_fd = -1;
		return;
	}
	/* the only listener in this client, so there is always a slot */
	mux_listener = new_listener(&mux_fd, 1, 0, NULL, mux_request, NULL);
	if (!mux_listener) {
		mux_fd = -1;
		return;
	}
	/* the parent asks nothing before this: a dbclient without the feature never says it */
	mux_reply(0, DIPUSMUX_READY, 0, NULL);
}

#endif /* DIPUS_CLI_MUX */
