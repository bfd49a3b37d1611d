/* tls-mem.h: mbedTLS's calloc and free (core/tls-mem.c says why). */
#ifndef DIPUS_TLS_MEM_H
#define DIPUS_TLS_MEM_H
#include <stddef.h>
void *dipus_tls_calloc(size_t n, size_t size);
void dipus_tls_free(void *p);
/* after a handshake: the pages of a mapped block past its first are dead (tls-mem.c) */
void dipus_tls_trim(void *p);
#endif
