/* testsuite/unit/check.h: the one CHECK for the C unit tests.
 *
 * Prints one line per case, the format testsuite/run counts:
 *   PASS: <prefix><name>
 *   FAIL: <prefix><name>: <why>
 * Define CHECK_PREFIX (e.g. "relay/") before including to name the suite; default none.
 *
 *   CHECK(cond, name, fmt, ...)   name is a string; fmt and its arguments are
 *                                 evaluated only when cond is false, so they may
 *                                 describe state that only exists on failure.
 *   return check_status();        from main: 1 if any case failed.
 *
 * Output is flushed after every line, so a crash still shows the cases before it. */
#ifndef DIPUS_UNIT_CHECK_H
#define DIPUS_UNIT_CHECK_H

#include <stdio.h>

#ifndef CHECK_PREFIX
#define CHECK_PREFIX ""
#endif

static int failures;

#define CHECK(cond, name, ...) do { \
	if (cond) { \
		printf("PASS: %s%s\n", CHECK_PREFIX, (name)); \
	} else { \
		printf("FAIL: %s%s: ", CHECK_PREFIX, (name)); \
		printf(__VA_ARGS__); \
		putchar('\n'); \
		failures++; \
	} \
	fflush(stdout); \
} while (0)

static inline int check_status(void)
{
	return failures ? 1 : 0;
}

#endif
