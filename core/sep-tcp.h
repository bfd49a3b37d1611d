/* sep-tcp.h: TCP for SEP, for every transport that needs it (TLS and plaintext SEP),
 * built whenever SEP is. Errors are complete reasons in err ("encode:7150: Connection
 * refused") and errno. */
#ifndef DIPUS_SEP_TCP_H
#define DIPUS_SEP_TCP_H

#include <stddef.h>

/* Connect to host:port within ms, blocking (for the short-lived clients: trust).
 * Returns a connected non-blocking socket (TCP_NODELAY) or -1 with err. */
int net_connect(const char *host, unsigned port, unsigned ms, char *err, size_t errlen);
/* Listen on "ADDR:PORT" / "[V6ADDR]:PORT" / ":PORT". -1 with err. */
int net_listen(const char *spec, int backlog, char *err, size_t errlen);
/* "host:port" of a connected socket's peer, for logs. */
void net_peer_name(int fd, char *buf, size_t len);

/* On a loop: start a non-blocking connect to host:port (TCP_NODELAY). Returns the fd
 * (the connect may still be in progress: wait for writability) or -1 with err. */
int sep_tcp_connect_start(const char *host, unsigned port, char *err, size_t errlen);
/* After writability: 0 connected, 1 still in progress, -1 failed (err, errno). */
int sep_tcp_connect_check(int fd, const char *host, unsigned port, char *err, size_t errlen);

#endif
