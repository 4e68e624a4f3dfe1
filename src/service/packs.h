/* packs.h - the bundled starter packs (spec/api.md §7.7): listing them, importing one into a
 * subject, and the support docs subject that STATEWAVE_SUPPORT_SUBJECT_ID names (its state and
 * its reseed from the STATEWAVE_SUPPORT_STARTER_PACK_ID pack).
 *
 * The packs are read-only data built into the binary (scripts/packs-bundle.py,
 * packs_data.S): one JSON line per pack {"pack_id", "kind", "manifest", "episodes",
 * "memories"}. Imports are all or nothing: the target is resolved and every record written in
 * one transaction. Knows neither HTTP nor SQL.
 */
#ifndef ENGRAM_SERVICE_PACKS_H
#define ENGRAM_SERVICE_PACKS_H

#include <stddef.h>
#include <stdint.h>

#include "service/memory_payload.h"
#include "store/store.h"

#define PACKS_FORMAT "statewave-starter-pack"
/* metadata.pack of rows seeded by the reference's older docs bootstrap: owned by the support
 * pack too. */
#define PACKS_LEGACY_SUPPORT "statewave-support-docs"

/* One pack's manifest as GET /admin/memory/starter-packs lists it. */
struct pack_info {
    const char *pack_id;
    const char *kind;                   /* support_docs | demo_agent */
    const char *error;                  /* not NULL: the pack is broken, only pack_id and kind
                                         * are set (listed with __error) */
    const char *display_name;           /* each NULL when the manifest does not say */
    const char *description;
    const char *version;
    const char *created_at;
    const char *subject_id_suggestion;
    int64_t episode_count;
    int64_t memory_count;
    int64_t source_count;
    const struct jv *tags;              /* a JSON array (empty when not given) */
};

struct pack {
    struct pack_info info;
    const struct jv *episodes;          /* the records, JSON arrays */
    const struct jv *memories;
};

/* Read one bundle line (len bytes) into *out (in arena a). A line that is not a pack, or
 * whose manifest breaks the format (spec/api.md §7.7), sets out->info.error; never fails. */
void packs_parse(struct arena *a, const char *line, size_t len, struct pack *out);

/* Every bundled pack's manifest in bundle order into *out (arena); returns the count. */
size_t packs_list(struct arena *a, struct pack_info **out);

/* The bundled pack with that id into *out (arena), NULL when there is none. A broken pack is
 * -1 with a 500 in err. */
int packs_find(struct arena *a, const char *pack_id, struct pack **out, struct err *err);

struct pack_import_in {
    const char *pack_id;
    const char *target_subject_id;      /* NULL or "": the manifest's suggestion */
    const char *display_name;           /* NULL: none */
    const char *tenant;                 /* NULL: no tenant */
    enum payload_strategy strategy;
    int allow_reserved_target;          /* a target may start with demo_web_ */
};

struct pack_import_result {
    const char *target_subject_id;
    size_t episodes, memories;
    int64_t imported_at;
};

/* Import a bundled pack (spec/api.md §7.7): 404 `Starter pack '<id>' not found.`, 400 from
 * the subject-id rule, 409 from resolve() with cancel, 413 over the import caps. */
int packs_import(struct arena *a, store *st, const struct pack_import_in *in,
                 struct pack_import_result *res, struct err *err);

/* The support docs subject against its bundled pack. */
struct support_state {
    const char *subject_id;
    const char *pack_id;
    const char *bundled_version;
    const char *installed_version;      /* starter_pack_version of the newest owned row; NULL */
    struct pack_rows rows;              /* total and owned counts */
    const char *last_imported_at;       /* the newest owned row's stamps; each may be NULL */
    const char *last_reason;
};

int packs_support_state(struct arena *a, store *st, struct support_state *out,
                        struct err *err);

struct support_reseed {
    /* in */
    const char *reason;                 /* trimmed, at most 200 characters; NULL: none */
    int force;
    /* out */
    struct support_state before;        /* the state the reseed found */
    int updated;
    const char *outcome;                /* already_current | seeded | auto_updated |
                                         * force_reseeded */
    size_t episodes, memories;          /* imported */
    int64_t reseeded_at;                /* TS_NULL when not updated */
};

/* Rebuild the support subject unless it already holds the bundled version (and not force):
 * delete the rows the pack owns and import the pack with no tenant, in one transaction under
 * the subject's lock. Operator rows are kept. */
int packs_support_reseed(struct arena *a, store *st, struct support_reseed *rs,
                         struct err *err);

#endif
