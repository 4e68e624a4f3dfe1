/* ulid.h - ULIDs (26 Crockford base32 characters: 48-bit milliseconds, 80 random bits),
 * monotonic within the process: ids made in one millisecond increase, so sorting the text
 * sorts by creation. */
#ifndef ENGRAM_UTIL_ULID_H
#define ENGRAM_UTIL_ULID_H

#include <stdint.h>

#define ULID_LEN 26

/* Write a new ULID for the time now_us (microseconds since the epoch) and a NUL into out. */
void ulid_new(char out[ULID_LEN + 1], int64_t now_us);
/* 1 if s is 26 characters of the Crockford alphabet (upper case) starting at most '7'. */
int ulid_valid(const char *s);

#endif
