/* support-internal.h - what the support-tier files (resolutions.c, health.c, sla.c,
 * handoff.c) share: source sets and session comparison. */
#ifndef ENGRAM_SERVICE_SUPPORT_INTERNAL_H
#define ENGRAM_SERVICE_SUPPORT_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "store/store.h"

/* 1 if s is one of set[0..n). */
static inline int support_in_set(const char *s, const char *const *set, size_t n)
{
    size_t i;

    for (i = 0; s && i < n; i++) {
        if (strcmp(s, set[i]) == 0)
            return 1;
    }
    return 0;
}

/* 1 if both session ids are set and equal. */
static inline int support_same(const char *sid, const char *session)
{
    return sid && session && strcmp(sid, session) == 0;
}

#endif
