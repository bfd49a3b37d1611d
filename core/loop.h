/* loop.h: the one event loop of dipus (epoll, timers, signals through signalfd).
 *
 * One callback per descriptor: the owner of an fd handles both directions.
 * Callbacks may add, change or remove any watch or timer, including their own. */
#ifndef DIPUS_LOOP_H
#define DIPUS_LOOP_H

#include <stdint.h>

#define LOOP_IN  0x001u  /* EPOLLIN */
#define LOOP_OUT 0x004u  /* EPOLLOUT */
#define LOOP_ERR 0x008u  /* EPOLLERR (always reported) */
#define LOOP_HUP 0x010u  /* EPOLLHUP (always reported) */

struct loop;
struct loop_timer;
typedef void loop_io_fn(struct loop *lp, int fd, unsigned events, void *arg);
typedef void loop_fn(struct loop *lp, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *lp);

/* Watch fd for events (LOOP_IN|LOOP_OUT, 0 = keep registered but quiet), or change an
 * existing watch. Returns 0, or -1 with errno (EPERM: fd is a regular file, which epoll
 * cannot watch; callers treat such fds as always ready). */
int loop_watch(struct loop *lp, int fd, unsigned events, loop_io_fn *fn, void *arg);
/* Change only the event mask of a watched fd. */
int loop_events(struct loop *lp, int fd, unsigned events);
void loop_unwatch(struct loop *lp, int fd);
/* Drop the watch of fd without a system call, right before closing fd, when no other
 * descriptor (nor another process) refers to its file: closing the last descriptor of
 * a file takes it off epoll. With a dup'ed or inherited fd use loop_unwatch. */
void loop_forget(struct loop *lp, int fd);

/* One-shot timer after ms milliseconds. The returned handle is valid until the timer
 * fires or is cancelled. */
struct loop_timer *loop_timer(struct loop *lp, unsigned ms, loop_fn *fn, void *arg);
void loop_timer_cancel(struct loop *lp, struct loop_timer *t);

/* Deliver signo through the loop (blocks it for the process and reads it via signalfd).
 * Children started after this should call loop_child_sigreset() before exec. */
int loop_signal(struct loop *lp, int signo, loop_fn *fn, void *arg);
/* In a forked child: unblock every signal the loop blocked and restore defaults. */
void loop_child_sigreset(void);

/* Run until loop_stop() or until nothing is watched and no timer is pending.
 * Returns the code given to loop_stop() (0 otherwise). */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp, int code);

#endif
