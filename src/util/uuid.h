/* uuid.h - random (v4) UUIDs from getrandom(2), and validation of the canonical text form. */
#ifndef ENGRAM_UTIL_UUID_H
#define ENGRAM_UTIL_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37    /* 36 characters + NUL */

/* Write a lowercase canonical UUIDv4 (36 chars + NUL) into out. */
void uuid_v4(char out[UUID_STR_LEN]);
/*
 * Ids written together in bulk (one subject copy) share a random 32-bit prefix, so that they
 * sit together in a B-tree index on id: independent random ids each dirty a leaf page of
 * their own, which on a large table is a page read and written per row. uuid_batch_prefix()
 * draws a prefix; uuid_v4_prefixed() writes a UUIDv4 whose first 32 bits are prefix and whose
 * other 90 random bits are its own (version and variant bits as in uuid_v4).
 */
uint32_t uuid_batch_prefix(void);
void uuid_v4_prefixed(char out[UUID_STR_LEN], uint32_t prefix);
/* n random lowercase hex characters + NUL into out (n+1 bytes); ids, not secrets. */
void random_hex(char *out, size_t n);
/* 1 if s is a canonical 8-4-4-4-12 hex UUID (any case, any version), else 0. */
int uuid_valid(const char *s);
/* Fill buf with n random bytes (getrandom, never fails short). */
void random_bytes(void *buf, size_t n);

#endif
