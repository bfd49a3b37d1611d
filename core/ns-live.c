/* ns-live.c: is anyone listening on a socket file? Asked of the kernel (sock_diag's
 * UNIX dump: the listening sockets with the device and inode of the file each is bound
 * to), so that judging a service alive runs nobody's command: a probe by connect() makes
 * a pipe helper accept and fork its command, and an importer's proxy open a remote
 * CONNECT. The kernel structures are spelled out here (stable ABI; musl ships no
 * the linux headers). */
#include "ns.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define NETLINK_SOCK_DIAG_ 4
#define SOCK_DIAG_BY_FAMILY_ 20
#define NLM_F_REQUEST_ 0x1
#define NLM_F_DUMP_ 0x300
#define NLMSG_ERROR_ 2
#define NLMSG_DONE_ 3
#define UDIAG_SHOW_VFS_ 0x2
#define UNIX_DIAG_VFS_ 1
#define TCP_LISTEN_ 10
#define LIVE_MAX 65536       /* listening sockets remembered */
#define LIVE_FRESH_MS 50     /* a dump is reused this long (a publish's or a reap's probes) */

struct nl_hdr { uint32_t len; uint16_t type, flags; uint32_t seq, pid; };
struct ud_req { uint8_t family, protocol; uint16_t pad; uint32_t states, ino, show, cookie[2]; };
struct ud_msg { uint8_t family, type, state, pad; uint32_t ino, cookie[2]; };
struct nl_attr { uint16_t len, type; };
struct ud_vfs { uint32_t ino, dev; };

struct live { dev_t dev; uint32_t ino; };  /* unix_diag gives 32 bits of the inode */

static struct live *set;
static size_t nset;
static uint64_t when;
static int unknown;          /* no sock_diag here: every answer is "cannot tell" */

static int cmp_live(const void *a, const void *b)
{
	const struct live *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* One dump of the listening UNIX sockets of this network namespace into set. */
static int refresh(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG_);
	if (fd < 0)
		return -1;
	struct { struct nl_hdr h; struct ud_req r; } req = {
		.h = { sizeof req, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, 1, 0 },
		.r = { .family = AF_UNIX, .states = 1u << TCP_LISTEN_, .show = UDIAG_SHOW_VFS_ },
	};
	struct sockaddr sa = { .sa_family = AF_NETLINK };
	if (sendto(fd, &req, sizeof req, 0, &sa, sizeof sa) != (ssize_t)sizeof req) {
		close(fd);
		return -1;
	}
	static uint32_t buf[8192];
	size_t cap = 0;
	struct live *v = NULL;
	size_t n = 0;
	int done = 0, ok = 0;
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		for (size_t off = 0; off + sizeof(struct nl_hdr) <= (size_t)len;) {
			struct nl_hdr *h = (struct nl_hdr *)((char *)buf + off);
			if (h->len < sizeof *h || off + h->len > (size_t)len)
				break;
			if (h->type == NLMSG_DONE_) {
				done = ok = 1;
				break;
			}
			if (h->type == NLMSG_ERROR_) {
				done = 1;
				break;
			}
			/* the attributes after the message: UNIX_DIAG_VFS is the bound file */
			size_t a = sizeof *h + sizeof(struct ud_msg);
			while (a + sizeof(struct nl_attr) <= h->len) {
				struct nl_attr *at = (struct nl_attr *)((char *)h + a);
				if (at->len < sizeof *at || a + at->len > h->len)
					break;
				if (at->type == UNIX_DIAG_VFS_ && at->len >= sizeof *at + sizeof(struct ud_vfs) &&
				    n < LIVE_MAX) {
					struct ud_vfs u;
					memcpy(&u, (char *)at + sizeof *at, sizeof u);
					if (n == cap) {
						cap = cap ? cap * 2 : 256;
						v = xrealloc(v, cap * sizeof *v);
					}
					/* the kernel's dev_t: major in the top 12 bits, minor in the low 20 */
					v[n].dev = makedev(u.dev >> 20, u.dev & 0xfffff);
					v[n].ino = u.ino;
					n++;
				}
				a += (at->len + 3u) & ~3u;
			}
			off += (h->len + 3u) & ~3u;
		}
	}
	close(fd);
	if (!ok) {
		free(v);
		return -1;
	}
	qsort(v, n, sizeof *v, cmp_live);
	free(set);
	set = v;
	nset = n;
	when = now_ms();
	return 0;
}

int ns_listening(dev_t dev, ino_t ino)
{
	if (unknown)
		return -1;
	if (!when || now_ms() - when > LIVE_FRESH_MS) {
		if (refresh() < 0) {
			/* no sock_diag for UNIX (a kernel without unix_diag): say so once */
			unknown = 1;
			msg_debug("sock_diag: %s; liveness is probed by connecting", strerror(errno));
			return -1;
		}
	}
	struct live key = { dev, (uint32_t)ino };
	return bsearch(&key, set, nset, sizeof *set, cmp_live) ? 1 : 0;
}

void ns_listening_forget(void)
{
	when = 0;
}
