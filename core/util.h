/* util.h: messages, exit codes, allocation and descriptor helpers shared by all of dipus. */
#ifndef DIPUS_UTIL_H
#define DIPUS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "autoconf.h"

#define DIPUS_VERSION "0.1.0"

/* Exit codes of every applet (doc/exit-codes.md). */
enum {
	DX_OK = 0,       /* success */
	DX_NOMATCH = 1,  /* nothing matched / no service reachable */
	DX_USAGE = 2,    /* bad command line */
	DX_IO = 3,       /* I/O error on a file, socket or pipe */
	DX_REFUSED = 4,  /* refused by a security check (unsafe root, permissions, untrusted key) */
	DX_REMOTE = 5,   /* remote, protocol, TLS or SSH failure */
	DX_NOTIMPL = 9,  /* applet not built in this binary, or not implemented yet */
};

/* The exit code for a failure of kind errno e, where the reason is already in words:
 * EPERM (unsafe file, changed key) and ENOKEY (key not pinned) DX_REFUSED; ENOTSUP (a
 * feature this build lacks) DX_USAGE; 0 DX_OK; anything else dflt (DX_IO for local
 * failures, DX_REMOTE for another host's). The one errno -> exit code mapping. */
int dx_errno(int e, int dflt);

/* Set by the dispatcher: the applet being run, for "dipus: APPLET: ..." messages, and
 * its usage text, which -h/--help prints (core/opt.h). */
extern const char *applet_name;
extern const char *applet_usage;

/* "dipus: APPLET: " + text + "\n" on stderr. The _errno forms append ": strerror(errno)". */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void die_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Usage error, one line: "dipus: APPLET: text (see 'dipus APPLET --help')"; returns
 * DX_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Where messages go instead of stderr when set (dipusd -S: syslog); gets the text after
 * "dipus: APPLET: ", without the newline. */
extern void (*msg_sink)(const char *text, size_t len);
/* Verbosity for msg_debug(), from $DIPUS_DEBUG. */
void msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* n bytes (a page multiple) of zeroed memory in a mapping of their own: resident only
 * where written, returned whole by munmap(p, n); dies like xmalloc */
void *xmap(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

int fd_set_nonblock(int fd, int on);
int fd_set_cloexec(int fd);
/* Mark every descriptor from low up close-on-exec (before an exec that must inherit
 * nothing else): close_range() where the kernel has it, else up to RLIMIT_NOFILE. */
void fd_cloexec_from(int low);
/* Write all of buf (retries on EINTR/short writes; blocking fds). -1 on error. */
ssize_t write_all(int fd, const void *buf, size_t len);
/* Read until len bytes or EOF; returns bytes read or -1. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Monotonic milliseconds. */
uint64_t now_ms(void);
/* Parse a decimal number in [min,max]; 0 on success, -1 if not a number or out of range. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* snprintf that reports truncation: 0 if it fit, -1 if not. */
int xsnprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
