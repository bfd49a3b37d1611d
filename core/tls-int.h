/* tls-int.h: what tls.c (sessions), tls-keys.c (keys) and tls-pins.c (the config dir
 * and pin files) share; nothing outside core/tls*.c includes it. Functions with err
 * write a complete reason there, as in tls.h. */
#ifndef DIPUS_TLS_INT_H
#define DIPUS_TLS_INT_H

#include <stdio.h>
#include "tls.h"

#define KEY_FILE "key.pem"
#define CERT_FILE "cert.pem"
#define PEM_MAX 8192

struct mbedtls_pk_context;

/* tls-pins.c: the config dir */
int tls_conf_path(char *buf, size_t len, const char *file, char *err, size_t errlen);
int tls_ensure_conf_dir(char *err, size_t errlen);
/* a pin file's owner and mode (fd open on path) */
int tls_check_pins(int fd, const char *path, char *err, size_t errlen);
/* Open a pin file: NULL with errno ENOENT when there is none, else NULL with err. */
FILE *tls_open_pins(const char *file, char *path, size_t plen, char *err, size_t errlen);
/* Its next line's first two words: how many (0: blank or comment), -1 at the end. */
int tls_next_pin(FILE *f, char *buf, size_t len, int *lineno, char **a, char **b);

/* tls-keys.c */
int tls_rng(void *arg, unsigned char *buf, size_t len);   /* mbedTLS's f_rng */
int tls_rng_init(char *err, size_t errlen);
void tls_strerror(int r, char *buf, size_t len);
int tls_pk_fingerprint(struct mbedtls_pk_context *pk, char fp[TLS_FP_MAX]);
int tls_read_pem(const char *path, int private, unsigned char *buf, size_t len, char *err,
                 size_t errlen);
int tls_load_key(struct mbedtls_pk_context *pk, char *err, size_t errlen);

#endif
