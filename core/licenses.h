/* licenses.h: the licence of dipus and the notices of what is built into it. */
#ifndef DIPUS_LICENSES_H
#define DIPUS_LICENSES_H

/* Print them on stdout (dipus --licenses): dipus's MIT licence, then Mbed TLS's
 * (Apache-2.0), dropbear's with LibTomCrypt and LibTomMath (when SSH is built in) and
 * musl's (when linked with musl). A DX_* exit code. */
int licenses_print(void);

#endif
