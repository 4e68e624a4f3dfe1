/* reserved.h - the subject-id prefixes Engram keeps for itself (spec/backup-snapshots.md):
 * snapshot sources live under RESERVED_SNAPSHOT, bootstrap scratch subjects under
 * RESERVED_BOOTSTRAP. Both are ASCII, so a prefix of characters is a prefix of bytes, and
 * SQL may test them with substr()/left() and length() of the same literal. */
#ifndef ENGRAM_UTIL_RESERVED_H
#define ENGRAM_UTIL_RESERVED_H

#include <string.h>

#define RESERVED_SNAPSHOT "_snapshot/"
#define RESERVED_BOOTSTRAP "_bootstrap_tmp/"

/* 1 if s starts with prefix. */
static inline int reserved_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The reserved prefix subject starts with, or NULL when it is an ordinary subject id. */
static inline const char *reserved_prefix_of(const char *subject)
{
    if (reserved_has_prefix(subject, RESERVED_SNAPSHOT))
        return RESERVED_SNAPSHOT;
    if (reserved_has_prefix(subject, RESERVED_BOOTSTRAP))
        return RESERVED_BOOTSTRAP;
    return NULL;
}

#endif
