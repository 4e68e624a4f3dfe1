/* record_copy.h - copy one subject's episodes and memories into another subject, record by
 * record, inside the caller's transaction: the machinery behind POST /admin/memory/clone
 * (spec/api.md §7.1), meant for every "make a subject out of a subject" (a fork as of an
 * instant filters rows with keep_episode / keep_memory and stamps its own lineage).
 *
 * What a copy does, in this order:
 * - reads the source a page at a time in export order (created_at, id), through the export
 *   reads (store_export_episodes / store_export_memories), so memory stays bounded by a page
 *   plus the id map whatever the subject's size;
 * - gives every copied record a fresh UUIDv4, the target subject and tenant, and keeps every
 *   other field as stored (kinds, statuses, timestamps, embeddings, labels); session ids are
 *   kept only when asked; idempotency keys never (they name the client request behind the
 *   source row);
 * - sets the stamp keys on each copy's metadata (and an episode's provenance), overwriting
 *   keys of the same name, plus the source record's id under episode_id_key / memory_id_key;
 * - remaps memories' source_episode_ids through the episodes it copied; an id it did not copy
 *   is kept when it is a canonical UUID (it still names the source episode) and dropped
 *   otherwise;
 * - writes with store_episode_insert_many / store_memory_insert_many.
 * It opens no transaction: the caller's makes it all or nothing.
 */
#ifndef ENGRAM_SERVICE_RECORD_COPY_H
#define ENGRAM_SERVICE_RECORD_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/jv.h"

#define RECORD_COPY_PAGE 500 /* source rows read (and written) at a time */

struct record_copy_plan {
    const char *src_subject;
    const char *src_tenant; /* with src_all_tenants 0: only this tenant's rows */
    int src_all_tenants;    /* 1: the source's rows of every tenant */
    const char *dst_subject;
    const char *dst_tenant; /* every copy's tenant (NULL = no tenant) */
    int episodes;           /* 1: copy the episodes */
    int memories;           /* 1: copy the memories */
    int keep_sessions;      /* 1: copies keep session_id; 0: NULL */
    int fill_empty_summary; /* 1: a memory with an empty summary gets its content */
    /* Optional filters: a row is copied when its function returns 1 (NULL = every row). */
    int (*keep_episode)(const struct episode *ep, void *ctx);
    int (*keep_memory)(const struct memory *m, void *ctx);
    void *ctx;
    /* Stamps: objects whose keys are set on every copy (NULL = none). */
    const struct jv *episode_metadata;
    const struct jv *episode_provenance;
    const struct jv *memory_metadata;
    const char *episode_id_key; /* the source episode id in metadata and provenance */
    const char *memory_id_key;  /* the source memory id in metadata */
};

/* Copy the records p selects (see above) inside the caller's open transaction; out->episodes
 * and out->memories count the copies (out->resolutions 0). -1 with err set when the store
 * fails; the caller then rolls back. Scratch memory comes from a (the id map) and per-page
 * arenas of its own. */
int record_copy_run(struct arena *a, store *st, const struct record_copy_plan *p,
                    struct row_counts *out, struct err *err);

#endif
