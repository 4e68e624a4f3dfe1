/* memory_payload.h - the admin UI's portability format, "statewave-memory-payload" version 1
 * (spec/api.md §6.3-§6.5, backup-snapshots.md §6): export subjects into a payload, import a
 * payload into new or existing subjects. Knows neither HTTP nor SQL.
 *
 * Engram's import is stricter than the reference's and atomic: the whole payload is checked
 * (400 naming the first bad field, never 500) before anything is written, and every record is
 * written in ONE transaction, so a failure leaves the database as it was. Every record gets a
 * new id and the stamps imported_from_export_id, original_subject_id and imported_at.
 * Reserved subject ids (`_snapshot/`, `_bootstrap_tmp/`) are never exported or written.
 */
#ifndef ENGRAM_SERVICE_MEMORY_PAYLOAD_H
#define ENGRAM_SERVICE_MEMORY_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/jv.h"

#define PAYLOAD_FORMAT "statewave-memory-payload"
#define PAYLOAD_FORMAT_VERSION 1

/* What an export (or clone) carries. */
enum payload_scope {
    PAYLOAD_SCOPE_EPISODES,
    PAYLOAD_SCOPE_MEMORIES,
    PAYLOAD_SCOPE_EPISODES_AND_MEMORIES,
    PAYLOAD_SCOPE_ALL,                  /* "episodes_memories_sources", the default */
};

/* What an import does with a target subject that already has data (§6.3 resolve()). */
enum payload_strategy {
    PAYLOAD_CREATE_COPY,                /* the default: derive a fresh id */
    PAYLOAD_MERGE,                      /* append to it */
    PAYLOAD_CANCEL,                     /* 409 */
};

/* The STATEWAVE_MEMORY_IMPORT_* limits and the embedding width an imported vector must have. */
struct payload_limits {
    size_t max_bytes;                   /* serialised payload size (413) */
    size_t max_subjects;                /* subject ids per export, subjects[] per import (413) */
    size_t max_episodes;                /* episodes per subject group (413) */
    size_t max_memories;                /* memories per subject group (413) */
    size_t embedding_dim;               /* an imported embedding must have this many numbers */
};

/* Scope and strategy names as on the wire; *_parse returns -1 for an unknown name. */
const char *memory_payload_scope_name(enum payload_scope scope);
int memory_payload_scope_parse(const char *name, enum payload_scope *out);
const char *memory_payload_strategy_name(enum payload_strategy strategy);
int memory_payload_strategy_parse(const char *name, enum payload_strategy *out);

/*
 * The portable subject-id rule `^[A-Za-z0-9_.\-:]{1,128}$`. field names the value in the
 * message. Without allow_reserved an id starting with `demo_web_` is refused too. Returns 0,
 * or -1 with a 400 in err:
 *   `'<field>' must be 1-128 characters of letters, digits, underscore, dot, dash, or colon.`
 *   `'<field>' uses a reserved prefix (demo_web_).`
 */
int memory_payload_check_id(const char *id, const char *field, int allow_reserved,
                            struct err *err);

/*
 * derive(base): "" becomes "imported-subject", a leading "demo_web_" becomes "imported-", then
 * "-<8 random lowercase hex>" is appended and the result checked with the rule (field
 * 'subject_id'). A base with a reserved prefix (`_snapshot/`) is refused: 400 `Subject id
 * '<base>' uses a reserved prefix (_snapshot/)`. *out is in arena a.
 */
int memory_payload_derive(struct arena *a, const char *base, const char **out,
                          struct err *err);

/*
 * resolve(explicit, suggested, strategy) (§6.3); "populated" counts episodes and memories in
 * every tenant. explicit NULL or "" means none. With explicit: free → explicit; populated →
 * explicit (merge), 409 (cancel), derive(explicit) (create_copy). Without: derive(suggested)
 * when it is reserved (demo_web_) or populated, else suggested. *out is explicit, suggested or
 * a string in arena a.
 */
int memory_payload_resolve(struct arena *a, store *st, const char *explicit_id,
                           const char *suggested, enum payload_strategy strategy,
                           const char **out, struct err *err);

/*
 * Byte length of v serialised as Python's json.dumps(v) writes it (the canonical form of
 * jv_write_canonical() without the key sort, which does not change the length). Counting
 * stops early: any result above limit is returned as limit + 1.
 */
size_t memory_payload_size(const struct jv *v, size_t limit);

/* ---- export (§6.4) ---- */

struct payload_export_in {
    const char *const *subject_ids;     /* as sent */
    size_t nsubjects;
    const char *tenant;                 /* only rows of this tenant; NULL = every tenant */
    enum payload_scope scope;
};

/*
 * Build the payload document for in (keys in the spec's order; offset-form timestamps;
 * records by (created_at, id); one read transaction for all subjects). A subject without data
 * is listed with no records. Returns the document (in arena a), or NULL with err set:
 * 400 `subject_ids is required.` (no ids), 413 `Too many subjects in one export: N > limit L.`,
 * 400 from the subject-id rule (field 'subject_ids', demo_web_ allowed; reserved `_snapshot/`
 * ids fail it), 500 from the store.
 */
struct jv *memory_payload_export(struct arena *a, store *st, const struct payload_export_in *in,
                                 const struct payload_limits *lim, struct err *err);

/* ---- import (§6.5) ---- */

/* The records of one subject group: those whose subject_id is `original`. */
struct payload_group {
    const char *original;               /* the records' subject_id */
    const char *target;                 /* where they go; NULL until resolved */
    int listed;                         /* original appears in subjects[] */
    struct episode *episodes;           /* new ids, stamps merged, subject_id unset */
    size_t nepisodes;
    struct memory *memories;            /* new ids, source_episode_ids remapped */
    size_t nmemories;
};

/* A checked payload, ready to write: everything an import needs except the targets. */
struct payload_plan {
    const struct jv *export_id;         /* payload.export_id as sent (jv null when absent) */
    const char **subjects;              /* non-empty subjects[].original_subject_id, in order */
    size_t nsubjects;
    struct payload_group *groups;       /* in order of first appearance, episodes first */
    size_t ngroups;
    int64_t imported_at;                /* the stamp and the response's imported_at */
};

/*
 * Check payload and turn it into a plan, touching no database. In order, each failure
 * deciding the answer:
 *   1. 400 `Unexpected payload format <repr>; expected 'statewave-memory-payload'.`
 *   2. 400 `Unsupported format_version <v>; expected 1.` (1 after Python int() conversion)
 *   3. 400 `Payload contains unknown fields: [<sorted reprs>]`
 *   4. 413 `Payload exceeds size limit (<max_bytes> bytes).`
 *   5. 413 `Too many subjects: N > limit L.`
 *   6. 400 subjects[].original_subject_id failing the rule (demo_web_ allowed)
 *   7. 400 `Invalid payload: <path>: <reason>` for the first malformed record field, path like
 *      `memories[2].confidence` (Engram; the reference answers 500 or stores garbage).
 * Records without a subject_id are skipped, as in the reference. Defaults and stamps per §6.5;
 * timestamps that do not parse become imported_at (created_at etc.) or null (valid_to,
 * last_compiled_at). Everything lives in arena a.
 */
int memory_payload_plan(struct arena *a, const struct jv *payload,
                        const struct payload_limits *lim, int64_t now,
                        struct payload_plan *plan, struct err *err);

struct payload_import_result {
    struct payload_plan plan;           /* groups[].target filled */
    const char **map_from;              /* subject_id_map in insertion order */
    const char **map_to;
    size_t nmap;
    size_t episodes;                    /* records written */
    size_t memories;
};

/*
 * Import payload for tenant (NULL = no tenant) with strategy: plan it, then in ONE
 * transaction resolve every listed subject (400, 409), derive targets for unlisted groups
 * (400), check the per-group limits (413 `Too many episodes: N > limit L.` / `Too many
 * memories: ...`) and write every record. On any failure nothing is written. After the
 * commit, memories without an embedding are embedded when a provider is configured (best
 * effort: failures are logged). res strings live in arena a.
 */
int memory_payload_import(struct arena *a, store *st, const struct jv *payload,
                          const char *tenant, enum payload_strategy strategy,
                          const struct payload_limits *lim, struct payload_import_result *res,
                          struct err *err);

/*
 * After a commit: embed plan's memories that came without a vector and have content, when an
 * embedding provider is configured (behavior.md §7.3), a chunk at a time. Best effort: a
 * failure is logged and the rest keep embedding = null. (Also used by starter-pack imports.)
 */
void memory_payload_embed_new(struct arena *a, store *st, const struct payload_plan *plan);

#endif
