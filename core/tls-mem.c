/* tls-mem.c: mbedTLS's allocator (MBEDTLS_PLATFORM_CALLOC_MACRO, dipus_mbedtls_config.h).
 *
 * Why: every TLS session holds a 16.7 KiB input and a 16.7 KiB output record buffer
 * for its whole life. From malloc they land on pages earlier allocations (handshakes)
 * wrote, and calloc then writes them whole: an idle session cost 33 KiB resident,
 * about 200 KiB of dipusd's idle RSS with six sessions. A large block here is its own
 * anonymous mapping: the kernel's zero pages, resident only where a record was ever
 * written (an idle session's first page or two), and returned whole at free.
 * Small blocks stay with malloc. A mapped block is known by its address (16 bytes into
 * a page) and a table of the live ones; the table full, malloc serves it. */
#include "tls-mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define BIG 8192           /* blocks from this size on are mapped */
#define OFF 16             /* the block's offset in its mapping (keeps malloc's alignment) */
#define MAX_MAPPED 256     /* two per TLS session, and some */

static struct { void *p; size_t len; } mapped[MAX_MAPPED];
static unsigned nmapped;

void *dipus_tls_calloc(size_t n, size_t size)
{
	if (size && n > (SIZE_MAX - OFF) / size)
		return NULL;
	size_t want = n * size;
	if (want < BIG || nmapped == MAX_MAPPED)
		return calloc(n, size);
	size_t len = (want + OFF + 4095) & ~(size_t)4095;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return calloc(n, size);
	mapped[nmapped].p = m + OFF;
	mapped[nmapped].len = len;
	nmapped++;
	return m + OFF;
}

/* p's entry in the table, or -1: a block from malloc */
static int mapped_at(const void *p)
{
	if (((uintptr_t)p & 4095) == OFF)
		for (unsigned i = 0; i < nmapped; i++)
			if (mapped[i].p == p)
				return (int)i;
	return -1;
}

void dipus_tls_free(void *p)
{
	int i = mapped_at(p);
	if (i < 0) {
		free(p);
		return;
	}
	munmap((char *)p - OFF, mapped[i].len);
	mapped[i] = mapped[--nmapped];
}

/* A handshake leaves the output record buffer written in full (PSA fills the unused
 * rest of a signature's output, which is the rest of that buffer), so an idle session
 * would keep all 16 KiB of it resident. Once the handshake's records are sent, what the
 * pages past the first hold is dead: they go back to the kernel and are zero pages again
 * until a record is written there. The first page (record header, counters) stays. */
void dipus_tls_trim(void *p)
{
	int i = mapped_at(p);
	if (i >= 0 && mapped[i].len > 4096)
		madvise((char *)p - OFF + 4096, mapped[i].len - 4096, MADV_DONTNEED);
}
