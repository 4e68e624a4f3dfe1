/* xalloc.h - allocation wrappers that never return NULL (they abort on OOM). */
#ifndef ENGRAM_UTIL_XALLOC_H
#define ENGRAM_UTIL_XALLOC_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* BUG: log an impossible state and abort. */
void bug_at(const char *file, int line, const char *msg) __attribute__((noreturn));
#define BUG(msg) bug_at(__FILE__, __LINE__, (msg))

#endif
