/* relay.h: the one relay engine: copy both ways between two endpoints with bounded
 * buffers, half-close propagation and splice() where both ends allow it.
 *
 * An endpoint is a pair of descriptors (in, out), which may be the same socket.
 * Direction A->B reads a_in and writes b_out; B->A reads b_in and writes a_out.
 * EOF on an input half-closes the matching output (shutdown(SHUT_WR) on a socket,
 * close() on anything else, unless RELAY_KEEP_OUT). The relay is done when both
 * directions are done, or on the first error. Regular files (epoll cannot watch them)
 * are read/written as always-ready. */
#ifndef DIPUS_RELAY_H
#define DIPUS_RELAY_H

#include <stddef.h>

struct loop;
struct relay;

#define RELAY_BUF_DEFAULT (64 * 1024)

enum relay_end { RELAY_A = 0, RELAY_B = 1 };

struct relay_info {
	int err;             /* 0, or errno of the first failure */
	enum relay_end side; /* the endpoint whose descriptor failed */
	int failed_out;      /* 1 if the failure was writing, 0 reading */
	unsigned long long bytes[2]; /* [0]: A->B, [1]: B->A */
};

typedef void relay_done_fn(struct relay *r, const struct relay_info *info, void *arg);
/* Called on EOF of a_in: return the next input fd for A->B (e.g. dcat's next FILE), or
 * -1 for a real EOF. The relay closes the previous input only if it returned a new one
 * and RELAY_CLOSE_INPUTS is set. */
typedef int relay_next_fn(void *arg);

#define RELAY_KEEP_OUT     1u /* never close/shutdown outputs (caller owns them) */
#define RELAY_CLOSE_INPUTS 2u /* close inputs replaced through relay_next_fn */
#define RELAY_B_EPIPE_ENDS 4u /* B stopped reading (EPIPE/ECONNRESET on b_out): end A->B
                                 quietly and keep copying B->A (a service like head -c) */

struct relay_opts {
	size_t bufsize;        /* per direction; 0 = RELAY_BUF_DEFAULT */
	unsigned flags;
	relay_next_fn *next_a_in;
	void *next_arg;
};

/* Start relaying on lp. done is called once, after which the relay may be freed (the
 * relay never closes fds the caller passed except as said above). */
struct relay *relay_start(struct loop *lp, int a_in, int a_out, int b_in, int b_out,
                          const struct relay_opts *opts, relay_done_fn *done, void *arg);
void relay_free(struct relay *r);

/* Run one relay to completion on a private loop. Fills info; returns info->err. */
int relay_run(int a_in, int a_out, int b_in, int b_out, const struct relay_opts *opts,
              struct relay_info *info);

#endif
