/* snapshots.h - subject snapshots (spec/backup-snapshots.md §5): capture a subject into the
 * hidden subject `_snapshot/<name>/v<version>` and restore it into new subjects, each in one
 * transaction of set-based copies (store_subject_copy). Knows neither HTTP nor SQL.
 *
 * Snapshots are append-only: nothing here updates or deletes a snapshot or its rows (§5.9).
 */
#ifndef ENGRAM_SERVICE_SNAPSHOTS_H
#define ENGRAM_SERVICE_SNAPSHOTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SNAPSHOT_NAME_MAX 128             /* bytes (the name rule allows ASCII only) */
#define SNAPSHOT_VERSION_MAX INT32_MAX    /* versions lie in 1 ... 2^31 - 1 */
#define SNAPSHOT_TARGET_MAX 256           /* restore target subject id, code points */

/* 1 if name matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (§5.2), else 0. */
int snapshot_name_valid(const char *name);
/* 1 if version lies in 1 ... 2^31 - 1, else 0. */
int snapshot_version_valid(int64_t version);
/* "_snapshot/<name>/v<version>", the hidden subject holding the snapshot's rows (arena). */
char *snapshot_source_subject(struct arena *a, const char *name, int64_t version);

/* The target rule of a restore (§5.5 ENG), also a fork's (service/forks.h): 1-256 code
 * points of valid UTF-8, no reserved prefix. 0, or -1 with a 400 in err. */
int snapshots_check_target(const char *target, struct err *err);
/* 0 when (tenant, subject) has no episodes and no memories; else -1 with 409 "Target subject
 * '<id>' already has data (<E> episodes, <M> memories). ..." (§5.5 ENG; a fork's rule too). */
int snapshots_check_target_empty(store *st, const char *tenant, const char *subject,
                                 struct err *err);

/* The restore shift (§5.7): now - newest, so that the newest episode lands on now. */
int64_t snapshot_shift(int64_t now, int64_t newest);
/* A restored created_at / updated_at / resolved_at / last_compiled_at: t + shift, clamped to
 * at most now (R3); TS_NULL stays TS_NULL. The store applies the same rule in SQL; this is
 * its reference for tests. */
int64_t snapshot_shift_clamped(int64_t t, int64_t shift, int64_t now);

struct snapshot_create_in {
    const char *name;            /* checked against the name rule */
    int64_t version;             /* checked: 1 ... 2^31 - 1 */
    const char *source_subject;  /* the subject to capture; a reserved id is refused */
    const char *source_tenant;   /* capture only this tenant's rows ... */
    int source_all_tenants;      /* ... or, when 1, every tenant's (source_tenant ignored) */
    const char *metadata;        /* compact JSON object text; NULL = {} */
};

struct snapshot_create_result {
    int created;                 /* 1: captured now; 0: (name, version) existed already */
    struct snapshot snap;        /* the new or the existing row (strings in the arena) */
};

/*
 * Create the snapshot (name, version) of a subject in one transaction (§5.3): when the pair
 * exists, nothing changes and the existing row is returned (also when a concurrent create
 * won the race). Errors: 400 "Invalid snapshot name or version", 400 reserved source id,
 * 400 "Source subject '<id>' has no episodes"; ERR_INTERNAL on a store failure.
 * Nothing is written on any failure.
 */
int snapshots_create(struct arena *a, store *st, const struct snapshot_create_in *in,
                     struct snapshot_create_result *out, struct err *err);

/* Every snapshot, by name then version (arena). */
int snapshots_list(struct arena *a, store *st, struct snapshot **out, size_t *n,
                   struct err *err);

struct snapshot_restore_in {
    const char *id;              /* restore this snapshot (a lowercase UUID) ... */
    const char *name;            /* ... or, when id is NULL, the snapshot with this name */
    int has_version;             /* with name: 1 = exactly `version` (a value outside
                                  * 1 ... 2^31 - 1 finds nothing); 0 = the highest version */
    int64_t version;
    const char *target_subject;  /* 1-256 code points, not reserved */
    const char *target_tenant;   /* every restored row gets it; NULL = no tenant */
};

struct snapshot_restore_result {
    struct row_counts counts;   /* rows restored */
    const char *subject_id;      /* the target (arena) */
    char snapshot_id[UUID_STR_LEN];
};

/*
 * Restore a snapshot into a new subject in one transaction (§5.5-§5.7): fresh ids,
 * provenance remapped, timestamps shifted so the newest episode lands on one `now` (created
 * and updated times clamped to it), provenance and metadata annotated, every row in the
 * target tenant. Errors: 400 bad or reserved target; 404 "Snapshot '<id>' not found" (by
 * name: "Snapshot '<name>' not found"); 404 "Snapshot source '<subject>' has no episodes";
 * 409 when the target already has episodes or memories in the target tenant. Fires no
 * webhooks. Nothing is written on any failure.
 */
int snapshots_restore(struct arena *a, store *st, const struct snapshot_restore_in *in,
                      struct snapshot_restore_result *out, struct err *err);

#endif
