/* sep-cli.h: helpers of the SEP client side shared by remote_* (sep-cli.c) and the
 * importer (sep-import.c). */
#ifndef DIPUS_SEP_CLI_H
#define DIPUS_SEP_CLI_H

#include <stddef.h>

#ifndef SEP_DEFAULT_PORT
#define SEP_DEFAULT_PORT 7150
#endif

/* Start a nonblocking TCP connect to host:port (TCP_NODELAY). Returns the fd (the
 * connect may still be in progress: wait for writability) or -1 with err. */
int sep_tcp_connect_start(const char *host, unsigned port, char *err, size_t errlen);
/* After writability: 0 connected, 1 still in progress, -1 failed (err). */
int sep_tcp_connect_check(int fd, const char *host, unsigned port, char *err, size_t errlen);

#endif
