/* text.h - the text of an episode payload (spec/behavior.md §3.1), shared by the compilers
 * and context assembly. */
#ifndef ENGRAM_SERVICE_TEXT_H
#define ENGRAM_SERVICE_TEXT_H

#include "util/arena.h"

/* text(payload) for a stored payload (compact JSON object text): `messages` → one
 * "role: content" line per element joined by "\n"; else `text`; else `content`; else "".
 * Non-string values are rendered as Python prints them (None, True, 1.5, {'a': 1}, …).
 * A non-array `messages` or a non-object element counts as "". Never fails; the result lives
 * in the arena. */
const char *payload_text(struct arena *a, const char *payload_json);

#endif
