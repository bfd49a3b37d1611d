/* licenses.c: dipus --licenses. A firmware vendor who ships the binary must pass on
 * these notices (MIT: the copyright and permission notice; Apache-2.0 section 4: a
 * copy of the licence); printing them from the binary keeps them with it. The texts
 * are LICENSE and the files in LICENSES/ (also installed by make install), made C strings at
 * build time by scripts/licenses.sh. CONFIG_LICENSES=n leaves them out (about 30 KB
 * of text) for builds that ship the files another way. */
#include "licenses.h"
#include "util.h"

#include <stdio.h>

#if !defined(ENABLE_LICENSES) || ENABLE_LICENSES
#include "licenses.inc"

static const char sep[] =
	"\n========================================================================\n\n";

int licenses_print(void)
{
	fputs(lic_dipus, stdout);
#if ENABLE_TLS
	fputs(sep, stdout);
	fputs(lic_mbedtls, stdout);
#endif
#if ENABLE_SSH
	fputs(sep, stdout);
	fputs(lic_dropbear, stdout);
#endif
#if !defined(__GLIBC__)
	fputs(sep, stdout);
	fputs(lic_musl, stdout);
#endif
	return fflush(stdout) ? DX_IO : DX_OK;
}
#else
int licenses_print(void)
{
	fputs("dipus is MIT-licensed (the dipus authors); this build leaves the licence texts "
	      "out (CONFIG_LICENSES=n): they are installed in share/licenses/dipus/\n", stdout);
	return fflush(stdout) ? DX_IO : DX_OK;
}
#endif
