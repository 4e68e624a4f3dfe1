/* uuid.h - random (v4) UUIDs from getrandom(2), and validation of the canonical text form. */
#ifndef ENGRAM_UTIL_UUID_H
#define ENGRAM_UTIL_UUID_H

#include <stddef.h>

#define UUID_STR_LEN 37    /* 36 characters + NUL */

/* Write a lowercase canonical UUIDv4 (36 chars + NUL) into out. */
void uuid_v4(char out[UUID_STR_LEN]);
/* n random lowercase hex characters + NUL into out (n+1 bytes). */
void random_hex(char *out, size_t n);
/* 1 if s is a canonical 8-4-4-4-12 hex UUID (any case, any version), else 0. */
int uuid_valid(const char *s);
/* Fill buf with n random bytes (getrandom, never fails short). */
void random_bytes(void *buf, size_t n);

#endif
