/* applets.h: what every applet file includes: the core API and its own declarations. */
#ifndef DIPUS_APPLETS_H
#define DIPUS_APPLETS_H

#include "util.h"

/* Each applet defines these; weak, so one registered but not yet written is NULL. */
#define APPLET(id, name, install, summary) \
	int id##_main(int argc, char **argv) __attribute__((weak)); \
	extern const char id##_usage[] __attribute__((weak));
#include "applets.def"
#undef APPLET

/* "APPLET --help" is answered by the dispatcher from id_usage (stdout, exit 0), so an
 * applet's getopt only needs -h for the short form. */

#endif
