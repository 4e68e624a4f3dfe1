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
/* tokens_count(s, n), exactly, through a process-wide cache (util/ccache) of the text's
 * segments: the text is cut after every "\n" followed by a printable ASCII character, where
 * no pre-tokeniser piece can straddle (no alternative of the §10.1 pattern matches a line
 * break followed by a non-space, and the pattern looks neither behind nor, past a space run,
 * ahead), so the count of the whole is the sum of the counts of the segments. Context
 * assembly counts the same item lines request after request; this counts each line once.
 * Thread-safe. */
size_t tokens_count_cached(const char *s, size_t n);
/* Byte length of the first max_tokens cl100k_base tokens of the valid UTF-8 text s[0..n):
 * n when the text has no more tokens than that. A token can end inside a character (byte-level
 * BPE), so the prefix may end with an incomplete UTF-8 sequence; decoding it as tiktoken does
 * turns that tail into U+FFFD. Text that is not valid UTF-8 gets a conservative cut (at most
 * one byte per token, before the first invalid byte). Thread-safe. */
size_t tokens_prefix_bytes(const char *s, size_t n, size_t max_tokens);

#endif
