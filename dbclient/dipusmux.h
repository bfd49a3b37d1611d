/* dipusmux.h: the wire of dbclient's mux socket, the one definition both ends include:
 * dbclient/cli-dipusmux.c (in dropbear's tree as src/dipusmux.h, mk/deps.mk) and
 * core/ssh.c (the parent, which hands connections over). doc/ssh.md, "Bulk data".
 *
 * $DIPUSMUX_ENV names an inherited AF_UNIX SOCK_SEQPACKET socket; one datagram a message.
 *   request  u32 id, u16 path_len (both big-endian), the remote path (1..DIPUSMUX_MAXPATH
 *            bytes, no NUL); SCM_RIGHTS: 1 fd (a socket, both ways; remote EOF =
 *            shutdown(SHUT_WR)) or 2 fds (read side, write side; remote EOF closes the
 *            write side)
 *   reply    u32 id, u8 kind [, u8 code (FAILED only)], ASCII reason (up to
 *            DIPUSMUX_WHYMAX bytes, no NUL) */
#ifndef DIPUS_DIPUSMUX_H
#define DIPUS_DIPUSMUX_H

#define DIPUSMUX_ENV      "DIPUS_DBCLIENT_MUX"
#define DIPUSMUX_REQ_HDR  6     /* id, path_len */
#define DIPUSMUX_MAXPATH  107   /* sizeof(sun_path) - 1 */
#define DIPUSMUX_REPLY_HDR 5    /* id, kind */
#define DIPUSMUX_WHYMAX   48    /* reason bytes in a reply at most */
#define DIPUSMUX_MAXCHANS 64    /* direct channels open at once in one dbclient */

/* reply kinds */
#define DIPUSMUX_READY  0  /* id 0, once, first: requests are taken now (ask nothing before:
                            * a client without the feature never says it) */
#define DIPUSMUX_OPENED 1  /* the channel is open; dbclient holds the fds: close our copies */
#define DIPUSMUX_FAILED 2  /* refused (by the server or dbclient); dbclient's copies closed */
#define DIPUSMUX_CLOSED 3  /* an OPENED channel ended both ways (the server's CLOSE came) */
#define DIPUSMUX_CUT    4  /* an OPENED channel was cut: the SSH session ended before the
                            * channel did (the data relayed may be short); its fds are
                            * closed; the reason is dbclient's exit message */

/* FAILED's code: the server's reason (RFC 4254 5.1, SSH_OPEN_*), 0 when refused by
 * dbclient itself */
#define DIPUSMUX_OPEN_REFUSED            0
#define DIPUSMUX_OPEN_PROHIBITED         1
#define DIPUSMUX_OPEN_CONNECT_FAILED     2
#define DIPUSMUX_OPEN_UNKNOWN_CHANNEL_TYPE 3
#define DIPUSMUX_OPEN_RESOURCE_SHORTAGE  4

#endif
