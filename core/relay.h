/* relay.h: the one relay engine: copy both ways between two endpoints with bounded
 * buffers, half-close propagation and splice() where both ends allow it
 * (doc/relay.md).
 *
 * An endpoint is a pair of descriptors (in, out), which may be one socket.
 * Direction A->B reads a_in and writes b_out; B->A reads b_in and writes a_out.
 *
 * - Bounded: a direction holds at most opts.bufsize bytes (a pipe for splice(), else a
 *   heap buffer); a stalled reader stops the reading on the other side.
 * - Half-close: EOF on an input, once everything read is written, shuts the matching
 *   output down: shutdown(SHUT_WR) on a socket, close() on anything else (never with
 *   RELAY_KEEP_OUT). The other direction goes on until its own EOF.
 * - The relay is done when both directions are, or at the first error.
 * - Regular files (epoll cannot watch them) are read and written as always ready.
 * - Descriptor flags: O_NONBLOCK is set on the pollable descriptors of an endpoint
 *   the caller owns, and restored by relay_free(). An endpoint marked shared
 *   (RELAY_SHARED_A/B: inherited stdin/stdout, a terminal) never has its flags touched,
 *   since O_NONBLOCK belongs to the open file description and would leak into every
 *   process sharing it; the relay then uses per-call non-blocking I/O (splice with
 *   SPLICE_F_NONBLOCK on pipes, MSG_DONTWAIT on sockets) or acts only on readiness.
 *
 * Contract for callers:
 * - The relay registers its descriptors on the loop: do not watch them yourself while
 *   it runs (loop.h allows one callback per descriptor).
 * - Ignore SIGPIPE (a write to a closed pipe or socket must fail with EPIPE).
 * - done is called exactly once, never from inside relay_start(); after it (or at any
 *   time, to abort) call relay_free(), then close your descriptors. */
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
	unsigned long long bytes[2]; /* bytes written: [0] A->B, [1] B->A */
};

typedef void relay_done_fn(struct relay *r, const struct relay_info *info, void *arg);

/* Called on EOF of a_in: return the next input descriptor for A->B (dcat's next FILE),
 * RELAY_NEXT_EOF for a real EOF, or RELAY_NEXT_ERROR with errno set to fail the relay
 * as a read error on A. With RELAY_CLOSE_INPUTS the relay closes each input it moves
 * away from. */
typedef int relay_next_fn(void *arg);
#define RELAY_NEXT_EOF   (-1)
#define RELAY_NEXT_ERROR (-2)

#define RELAY_KEEP_OUT     0x01u /* never close/shutdown outputs (caller owns them) */
#define RELAY_CLOSE_INPUTS 0x02u /* close inputs replaced through next_a_in */
#define RELAY_B_EPIPE_ENDS 0x04u /* B stopped reading (EPIPE/ECONNRESET on b_out, or it
                                    hung up): end A->B quietly and keep copying B->A
                                    (a service like head -c) */
#define RELAY_SHARED_A     0x08u /* A's descriptors (and those from next_a_in) may be
                                    shared with other processes: never change their
                                    file status flags */
#define RELAY_SHARED_B     0x10u /* the same for B */

struct relay_opts {
	size_t bufsize;        /* per direction; 0 = RELAY_BUF_DEFAULT */
	unsigned flags;
	relay_next_fn *next_a_in;
	void *next_arg;
};

/* Start relaying on lp; the first bytes move on the next loop turn. done is called
 * once. Never fails (allocation failure exits, as xmalloc). */
struct relay *relay_start(struct loop *lp, int a_in, int a_out, int b_in, int b_out,
                          const struct relay_opts *opts, relay_done_fn *done, void *arg);
/* Stop (if still running: done is not called), unregister, restore descriptor flags
 * and free. The relay never closes the caller's descriptors except as said above. */
void relay_free(struct relay *r);

/* Run one relay to completion on a private loop. Fills info; returns info->err. */
int relay_run(int a_in, int a_out, int b_in, int b_out, const struct relay_opts *opts,
              struct relay_info *info);

#endif
