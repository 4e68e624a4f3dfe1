/* buf.h - growable byte buffer.
 *
 * Invariants (as git's strbuf): `data` is never NULL and always NUL-terminated after
 * buf_init(); the length comes from `len`, so binary content is safe. Appending never fails
 * (allocation failure aborts).
 */
#ifndef ENGRAM_UTIL_BUF_H
#define ENGRAM_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* never NULL; NUL-terminated */
    size_t len;   /* bytes used, excluding the terminator */
    size_t cap;   /* bytes allocated; 0 means data points at a static empty string */
};

#define BUF_INIT { (char *)buf_empty, 0, 0 }
extern const char buf_empty[1];

void buf_init(struct buf *b);
/* Free what the buffer holds and reset it to empty; accepts NULL. */
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hand the heap string to the caller (free() it) and reset the buffer. */
char *buf_detach(struct buf *b, size_t *len);

#endif
