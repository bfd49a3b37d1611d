/* ssh-int.h: what the SSH transport's files share (ssh.c: the child; ssh-ctl.c: the
 * control socket; ssh-key.c: key conversion); nothing outside core/ssh*.c includes it. */
#ifndef DIPUS_SSH_INT_H
#define DIPUS_SSH_INT_H

#include <stddef.h>
#include "remote.h"

/* The local user's name (the password database, else the uid as digits). */
const char *ssh_local_user(void);
/* Connect to u's control socket if an importer of ours holds one (the peer checked to
 * be us): a non-blocking fd with path filled, or -1. */
int ssh_ctl_connect(const struct remote_uri *u, char *path, size_t pathlen);
/* 1 if path is a private key in dropbear's format; *openssh = 1 if it is a PEM/OpenSSH
 * file instead. */
int ssh_key_is_dropbear(const char *path, int *openssh);
/* A memfd holding path's key converted into dropbear's format, or -1. */
int ssh_key_memfd(const char *path);

#endif
