/* memory_clone.h - POST /admin/memory/clone (spec/api.md §7.1, backup-snapshots.md §6): copy
 * a subject, in every tenant, into a new subject with provenance stamps, all or nothing.
 * Knows neither HTTP nor SQL; the copy itself is record_copy. */
#ifndef ENGRAM_SERVICE_MEMORY_CLONE_H
#define ENGRAM_SERVICE_MEMORY_CLONE_H

#include <stdint.h>

#include "service/memory_payload.h"
#include "store/store.h"

struct clone_in {
    const char *source;       /* source_subject_id */
    const char *target;       /* target_subject_id, NULL = derived from the source */
    const char *display_name; /* NULL = none */
    const char *tenant;       /* target_tenant_id, NULL = no tenant */
    enum payload_scope scope;
    const char *cloned_by; /* X-Statewave-Operator-Email, NULL when not sent */
};

struct clone_result {
    const char *target; /* where the copies went (arena) */
    int64_t episodes;
    int64_t memories;
    int64_t cloned_at;
};

/*
 * Clone in->source. In order, each failure deciding the answer:
 *   400 source_subject_id failing the portable id rule (demo_web_ allowed);
 *   400 target_subject_id failing it (demo_web_ refused);
 *   404 `Source subject '<id>' not found (no episodes or memories under that id).` (every
 *       tenant counted; a reserved `_snapshot/` id fails the rule first);
 *   413 `Too many episodes: N > limit L.` / `Too many memories: ...` for what the scope
 *       copies (the import's per-subject limits);
 *   409 from resolve(target, "<source>-clone", cancel) (an explicit target with data).
 * Then, in one transaction, the target is resolved and every record of the scope copied
 * (record_copy) with new ids, the target tenant, no session ids, remapped source episode ids
 * and the stamps: original_episode_id (episode metadata and provenance), original_memory_id
 * (memory metadata), cloned_from_subject_id, cloned_at and cloned_by (when given) on both,
 * display_name (when given) in metadata. On any failure nothing is written.
 */
int memory_clone(struct arena *a, store *st, const struct clone_in *in,
                 const struct payload_limits *lim, struct clone_result *out, struct err *err);

#endif
