/* dropbear_localoptions.h: dropbear's localoptions.h for dipus's embedded client.
 *
 * Only the client (dbclient applet) is linked, in batch use: no password or
 * keyboard-interactive prompts (there is no tty to ask on), no X11, no TCP or agent
 * forwarding, no DSS or SK keys, no SHA-1 key exchange. Public-key auth with
 * Ed25519 and ECDSA keys; curve25519 and ECDH key exchange; AES-CTR/GCM and
 * ChaCha20-Poly1305. The server options are off too (not linked, but keep it honest). */
#ifndef DIPUS_DROPBEAR_LOCALOPTIONS_H
#define DIPUS_DROPBEAR_LOCALOPTIONS_H

#define DROPBEAR_SMALL_CODE 1

/* server side: never used by dipus */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_SVR_LOCALTCPFWD 0
#define DROPBEAR_SVR_REMOTETCPFWD 0

/* client: public keys only, no prompts */
#define DROPBEAR_CLI_PASSWORD_AUTH 0
#define DROPBEAR_CLI_INTERACT_AUTH 0
#define DROPBEAR_CLI_PUBKEY_AUTH 1
#define DROPBEAR_CLI_AGENTFWD 0
#define DROPBEAR_CLI_LOCALTCPFWD 0
#define DROPBEAR_CLI_REMOTETCPFWD 0
#define DROPBEAR_CLI_NETCAT 0
/* dipus's own: direct-streamlocal channels on request of dbclient's parent through
 * $DIPUS_DBCLIENT_MUX (src/cli-dipusmux.c, dbclient/dipusmux.patch) */
#define DIPUS_CLI_MUX 1

/* algorithms */
#define DROPBEAR_DSS 0
#define DROPBEAR_SK_KEYS 0
#define DROPBEAR_3DES 0
#define DROPBEAR_SHA1_HMAC 0
#define DROPBEAR_SHA1_96_HMAC 0
#define DROPBEAR_DH_GROUP1 0
#define DROPBEAR_DH_GROUP14_SHA1 0
#define DROPBEAR_DH_GROUP16 0
/* post-quantum hybrids: about 30 KB; curve25519 and ECDH cover OpenSSH and dropbear */
#define DROPBEAR_SNTRUP761 0
#define DROPBEAR_MLKEM768 0
#define DROPBEAR_SHA2_512_HMAC 0
#define DROPBEAR_USE_PASSWORD_ENV 0
/* Ed25519 and ECDSA keys only (RSA and classic DH pull in big-number exponentiation);
 * RSA users can point $DIPUS_SSH at OpenSSH's ssh */
#define DROPBEAR_RSA 0
#define DROPBEAR_DH_GROUP14_SHA256 0

#endif
