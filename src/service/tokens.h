/* tokens.h - token counts under OpenAI's cl100k_base BPE (spec/behavior.md §10.1), the
 * budget unit of context assembly. */
#ifndef ENGRAM_SERVICE_TOKENS_H
#define ENGRAM_SERVICE_TOKENS_H

#include <stddef.h>

#include "util/err.h"

/* Load the rank table and compile the pre-tokeniser pattern (once, at start). */
int tokens_setup(struct err *err);
void tokens_shutdown(void);
/* Number of cl100k_base tokens of the UTF-8 text s[0..n). Special-token strings such as
 * <|endoftext|> count as ordinary text. Thread-safe. */
size_t tokens_count(const char *s, size_t n);

#endif
