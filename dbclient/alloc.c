/* ssh-alloc.c: the allocator of the embedded dropbear client (the dbclient applet).
 *
 * dropbear allocates and frees a buffer of about 35 KB for every SSH packet. musl's
 * allocator (mallocng) serves that size from its own mapping and unmaps it again on
 * free, so each packet costs an mmap, a munmap and the page faults of fresh zeroed
 * pages: the static musl dbclient moved bulk data 3-4 times slower than the same
 * client on glibc. mk/deps.mk renames dropbear's malloc/calloc/realloc/free to these
 * functions (objcopy --redefine-sym), which keep a few freed blocks per power-of-two
 * size class from 4 KiB to 1 MiB for reuse. dropbear is single-threaded; the dbclient
 * applet runs in its own process. Nothing else in dipus uses these. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *dipus_db_malloc(size_t n);
void *dipus_db_calloc(size_t nmemb, size_t size);
void *dipus_db_realloc(void *p, size_t n);
void dipus_db_free(void *p);

#define HDR 16            /* keeps the 16-byte alignment malloc gives */
#define MIN_CLASS 12      /* 4 KiB */
#define MAX_CLASS 20      /* 1 MiB */
#define KEEP 8            /* freed blocks kept per class */

struct hdr {
	size_t cap;           /* usable bytes after the header */
	size_t cls;           /* 0: plain malloc'd block, else its size class */
};

static void *cache[MAX_CLASS + 1][KEEP];
static int ncache[MAX_CLASS + 1];

static size_t class_of(size_t n)
{
	size_t total = n + HDR, c = MIN_CLASS;
	while (c <= MAX_CLASS && ((size_t)1 << c) < total)
		c++;
	return c <= MAX_CLASS ? c : 0;
}

void *dipus_db_malloc(size_t n)
{
	if (n > SIZE_MAX - HDR)
		return NULL;
	size_t cls = n + HDR >= ((size_t)1 << (MIN_CLASS - 1)) ? class_of(n) : 0;
	struct hdr *h;
	if (cls && ncache[cls])
		h = cache[cls][--ncache[cls]];
	else {
		size_t total = cls ? (size_t)1 << cls : n + HDR;
		h = malloc(total);
		if (!h)
			return NULL;
		h->cap = total - HDR;
		h->cls = cls;
	}
	return (char *)h + HDR;
}

void dipus_db_free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((char *)p - HDR);
	if (h->cls && ncache[h->cls] < KEEP) {
		cache[h->cls][ncache[h->cls]++] = h;
		return;
	}
	free(h);
}

void *dipus_db_calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	void *p = dipus_db_malloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *dipus_db_realloc(void *p, size_t n)
{
	if (!p)
		return dipus_db_malloc(n);
	struct hdr *h = (struct hdr *)((char *)p - HDR);
	if (n <= h->cap)
		return p;
	void *q = dipus_db_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->cap);
	dipus_db_free(p);
	return q;
}
