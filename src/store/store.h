/* store.h - the one storage interface. Two backends (SQLite, PostgreSQL) implement
 * struct store_ops; everything above src/store/ calls the store_* wrappers below.
 *
 * Conventions:
 * - A `store *` is one database connection. It is never shared between threads:
 *   store_thread() hands each thread its own, opened lazily.
 * - Tenants: `tenant` NULL is the "no tenant" space (rows whose tenant_id IS NULL). Every read,
 *   write and delete is scoped to exactly one tenant space: strict isolation.
 * - Timestamps are int64 microseconds since the epoch (util/ts.h); TS_NULL is SQL NULL.
 * - JSON columns travel as compact JSON text (NUL-terminated).
 * - Rows returned to the caller are copied into the caller's arena, never pointers into
 *   library memory.
 * - Functions return 0 on success, -1 on failure with `err` filled (ERR_INTERNAL for database
 *   failures, whose cause is logged by the backend). "Not found" is a result, not an error.
 * - Multi-row writes are done between store_tx_begin() and store_tx_commit(); any failure
 *   is followed by store_tx_rollback() and nothing is written.
 * - No op takes more than six parameters. What belongs together travels as one struct, so a
 *   call site reads on its own: whose rows (struct store_scope), which page (store_page for
 *   offset listings, store_cursor for keyset ones), what comes back (struct episode_rows,
 *   memory_rows, ...: items and n, plus total where a listing counts every match), and one
 *   query struct for an op's own options (memory_query, cleanup_query, ...). Each op answers
 *   one question: a magic value never turns it into another (snapshot_find takes a version,
 *   snapshot_latest finds the highest).
 */
#ifndef ENGRAM_STORE_STORE_H
#define ENGRAM_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/uuid.h"

typedef struct store store;   /* opaque; one connection, one thread */

struct episode {
    char id[UUID_STR_LEN];
    const char *subject_id;
    const char *tenant_id;        /* NULL = no tenant */
    const char *session_id;       /* NULL when not set */
    const char *source;
    const char *type;
    const char *payload;          /* compact JSON object text */
    const char *metadata;         /* compact JSON object text */
    const char *provenance;       /* compact JSON object text */
    const char *idempotency_key;  /* NULL when not set */
    int64_t created_at;
    int64_t last_compiled_at;     /* TS_NULL = never compiled */
    int64_t occurred_at;          /* when it happened (Engram extension); TS_NULL = not sent */
};

struct memory {
    char id[UUID_STR_LEN];
    const char *subject_id;
    const char *tenant_id;          /* NULL = no tenant */
    const char *kind;
    const char *content;
    const char *summary;
    double confidence;
    int64_t valid_from;
    int64_t valid_to;               /* TS_NULL = open */
    const char *source_episode_ids; /* compact JSON array of uuid strings */
    const char *metadata;           /* compact JSON object text */
    const char *status;
    const float *embedding;         /* NULL = none; embedding_dim floats */
    size_t embedding_dim;
    const char *sensitivity_labels; /* compact JSON array of strings */
    int64_t created_at;
    int64_t updated_at;
};

/* Which of a subject's episodes a filtered timeline reads (spec/api.md §11, Engram's timeline
 * filters). */
struct episode_window {
    int64_t since;                  /* inclusive bounds on COALESCE(occurred_at, created_at); */
    int64_t until;                  /* TS_NULL = open */
    const char *kinds_json;         /* NULL = every type, else a compact JSON array of the
                                     * types to keep */
    size_t limit;
};

struct subject_count {
    const char *subject_id;
    int64_t episode_count;
    int64_t memory_count;
};

/* A durable compile job (spec/data-model.md §4). */
struct compile_job {
    char id[40];                  /* 8 lowercase hex characters in practice */
    const char *subject_id;
    const char *tenant_id;        /* NULL = no tenant */
    const char *status;           /* pending | running | completed | failed */
    int64_t memories_created;
    const char *error;            /* NULL unless failed */
    int force;                    /* 1: recompile every episode of the subject */
    int64_t created_at;
    int64_t started_at;           /* TS_NULL until claimed */
    int64_t completed_at;         /* TS_NULL until terminal */
    int64_t lease_expires_at;     /* TS_NULL unless running */
};

/* A support resolution row (spec/api.md §2 Resolution, behavior.md §14.1). Context ranking
 * (resolution_list, behavior.md §10.3, §10.4) reads the first four fields only; the
 * support ops (resolution_query, resolution_upsert) fill every field. */
struct resolution {
    const char *session_id;
    const char *status;               /* open | resolved | unresolved */
    const char *resolution_summary;   /* NULL when none */
    int64_t updated_at;
    char id[UUID_STR_LEN];
    const char *subject_id;
    const char *tenant_id;            /* NULL = no tenant */
    int64_t resolved_at;              /* TS_NULL unless resolved */
    const char *metadata;             /* compact JSON object text (column metadata_) */
    int64_t created_at;
};

/* Which of a subject's resolutions resolution_query reads: newest updated_at first (ties by
 * insertion order ascending). */
struct resolution_query {
    const char *status;               /* NULL = every status, else an exact match */
    size_t limit;                     /* 0 = no limit */
};

/* The last health state of one (tenant, subject) (subject_health_cache; keyed by the pair,
 * the "fix allowed" of data-model.md §1.2). */
struct health_cache_entry {
    const char *state;                /* healthy | watch | at_risk */
    int64_t score;
    int64_t updated_at;
};

/* A subject snapshot (spec/backup-snapshots.md §5.2). */
struct snapshot {
    char id[UUID_STR_LEN];
    const char *tenant_id;          /* the source tenant when one was given, else NULL */
    const char *name;
    int64_t version;
    const char *source_subject_id;  /* "_snapshot/<name>/v<version>" */
    int64_t episode_count;
    int64_t memory_count;
    const char *metadata;           /* compact JSON object text */
    int64_t created_at;
};

/* One set-based copy of a subject's rows into another subject (snapshot capture and
 * restore, spec/backup-snapshots.md §5.3, §5.7; the fork of service/forks.c). Every copied
 * row gets a fresh UUIDv4; memories' source_episode_ids are remapped through the episode id
 * map (unmapped ids kept, order kept). The one place where a subject's rows are copied: a
 * table kept in step with memories or episodes is copied here too. */
struct subject_copy {
    const char *src_subject;
    int src_all_tenants;            /* 1: the source's rows of every tenant */
    const char *src_tenant;         /* else only this tenant (NULL = the no-tenant space) */
    const char *dst_subject;
    const char *dst_tenant;         /* every copied episode and memory gets this tenant
                                     * (NULL = none); resolutions too, unless keep_res_tenant */
    int keep_res_tenant;            /* capture: resolutions keep their own tenant */
    int64_t shift_us;               /* added to every timestamp (0 for a capture) */
    int64_t clamp_at;               /* restore: created_at/updated_at/last_compiled_at/
                                     * resolved_at clamped to <= this; TS_NULL = no clamp */
    const char *mark_snapshot_id;   /* restore: adds "restored_from_snapshot": id to episode
                                     * provenance, memory metadata and resolution metadata,
                                     * and "original_episode_id": <source episode id> to
                                     * episode provenance; NULL for a capture */
    int mark_original_id;           /* capture: adds "original_id": <source episode id> to
                                     * episode provenance */
    int has_as_of;                  /* fork (Engram): 1 = copy the subject as it stood at
                                     * as_of: episodes and resolutions created at or before
                                     * it; memories created at or before it, not 'deleted',
                                     * whose valid_to is NULL or after it (the as_of reads'
                                     * rule, spec/api.md §11; one superseded later comes back
                                     * active, valid_to NULL); a last_compiled_at after it
                                     * becomes NULL (uncompiled then); 0 = every row */
    int64_t as_of;
};

/* Rows per table that an op copied, deleted or counted. */
struct row_counts {
    int64_t episodes;
    int64_t memories;
    int64_t resolutions;
};

/* A deletion receipt (Engram extension, README "Provable deletion"): the evidence of one
 * subject delete, without any content: counts and the digest of the deleted rows' ids. */
#define DELETION_DIGEST_HEX 65          /* 64 lowercase hex digits + NUL */
struct deletion_receipt {
    char id[UUID_STR_LEN];
    const char *subject_id;
    const char *tenant_id;          /* NULL = no tenant */
    int64_t deleted_at;
    int64_t episodes_deleted;
    int64_t memories_deleted;
    int64_t resolutions_deleted;
    char digest[DELETION_DIGEST_HEX]; /* SHA-256 of the sorted ids (service/subjects.h) */
};

/* Where a forked subject came from (Engram extension, README "Fork and diff"). */
struct subject_lineage {
    const char *subject_id;         /* the fork */
    const char *tenant_id;          /* its tenant; NULL = none */
    const char *source_subject_id;
    const char *source_tenant_id;   /* NULL = none */
    int64_t as_of;                  /* TS_NULL: the source as it stood at forked_at */
    int64_t forked_at;
    int64_t episodes_copied;
    int64_t memories_copied;
};

/* A (tenant, subject) pair found by the cleanup (spec/backup-snapshots.md §7.2). */
struct subject_ref {
    const char *tenant_id;          /* NULL = no tenant */
    const char *subject_id;
};

/* Order of memory listings. Ties on created_at always break by insertion order ascending. */
enum memory_sort {
    MEMORY_OLDEST_FIRST,   /* created_at ascending */
    MEMORY_NEWEST_FIRST,   /* created_at descending */
};

/* Flags of memory_list_active. */
enum memory_list_flags {
    MEMORY_WITH_EMBEDDING = 1 << 0,   /* only rows that have an embedding */
    MEMORY_LOAD_EMBEDDING = 1 << 1,   /* fill struct memory.embedding (else left NULL) */
};

/* One row of memory_scan_vectors, valid during the call only. */
struct memory_vector {
    const char *id;
    int64_t created_at;
    int64_t seq;                 /* insertion order: with created_at, the listing order */
    const unsigned char *vec;    /* the stored vector: float32 values, little-endian */
    size_t bytes;
};
/* Called once per row of a scan: 0 asks for the next row, 1 ends the scan early (the op
 * returns 0), -1 ends it with err set (the op returns -1). */
typedef int memory_vector_fn(void *ctx, const struct memory_vector *row, struct err *err);

/* One row of memory_scan_text, valid during the call only. */
struct memory_text {
    const char *id;
    const char *content;
};
/* As memory_vector_fn. */
typedef int memory_text_fn(void *ctx, const struct memory_text *row, struct err *err);

/* The shortest `contains` (in characters) that a trigram index can narrow; shorter ones scan. */
#define STORE_TRIGRAM_MIN 3

/* Which active memories memory_scan_text reads. */
struct memory_text_scan {
    const char *kind;               /* NULL = every kind */
    const char *contains;           /* NULL = every row. Else a hint: the backend may leave out
                                     * rows whose content does not contain it as a substring
                                     * under ASCII case folding (a trigram index narrows the
                                     * scan). Rows it passes on may still not contain it: the
                                     * caller checks each one. */
    size_t limit;                   /* with contains: the caller stops after this many rows
                                     * that contain it (0 = no bound), so a backend whose
                                     * filter is exact may stop there too */
};

/* One row of memory_scan_codes, valid during the call only. */
struct memory_code {
    const char *id;
    const char *kind;
    const unsigned char *code;   /* the compact code (util/vcode.h) of the memory's vector */
    size_t bytes;
};
typedef int memory_code_fn(void *ctx, const struct memory_code *row, struct err *err);

/* Which codes memory_scan_codes reads (a struct, so filters can be added). */
struct memory_code_scan {
    const char *kind;               /* NULL = every kind */
};

/* A ranked full-text read (memory_rank_text: search's mode=bm25). */
#define STORE_RANK_TERMS_MAX 32
struct memory_rank_query {
    const char *kind;               /* NULL = every kind */
    const char *const *terms;       /* the query's words: each a run of ASCII letters and
                                     * digits (lowercase) and bytes >= 0x80, never empty */
    size_t nterms;                  /* 1 .. STORE_RANK_TERMS_MAX, no two alike */
    size_t limit;                   /* at most this many ids (>= 1) */
};

/* What context assembly reads of a subject before it knows the source episodes
 * (spec/behavior.md §10.2), in one op so that PostgreSQL can send it in one round trip. */
#define CONTEXT_READ_KINDS 4
struct context_reads {
    /* in */
    size_t nkinds;                               /* at most CONTEXT_READ_KINDS */
    const char *kinds[CONTEXT_READ_KINDS];       /* per kind: the newest active memories, */
    size_t limits[CONTEXT_READ_KINDS];           /* at most this many (0 = no limit) */
    size_t episodes;                             /* the newest this many episodes */
    const char *const *extra_sources;            /* more source episode ids to fetch */
    size_t nextra;
    /* out, in the arena: exactly what memory_list_active (MEMORY_NEWEST_FIRST, no flags),
     * episode_list_recent and resolution_list give */
    struct memory *memories[CONTEXT_READ_KINDS];
    size_t nmemories[CONTEXT_READ_KINDS];
    struct episode *recent;
    size_t nrecent;
    struct resolution *resolutions;
    size_t nresolutions;
    /* Optional (have_sources = 1 when given): what episode_get_many gives for every id in
     * the source_episode_ids of the memories above and in extra_sources. A backend that
     * cannot fetch them in the same round trip leaves it 0 and the caller asks later. */
    int have_sources;
    struct episode *sources;
    size_t nsources;
};

/* Result of one migration run. */
struct migrate_result {
    int from_version;   /* highest version applied before the run (0 = empty database) */
    int to_version;     /* highest version applied after the run */
    int applied;        /* steps applied by this run */
};


/* A row of the outbound webhook queue (spec/data-model.md §1.2 webhook_events). */
struct webhook_event {
    char id[UUID_STR_LEN];
    const char *tenant_id;        /* always NULL for events Engram records */
    const char *event;            /* "episode.created", "memories.compiled", ... */
    const char *payload;          /* compact JSON envelope {"event","timestamp","data"} */
    const char *status;           /* pending | delivered | dead_letter */
    int64_t attempts;             /* delivery attempts made so far */
    int64_t max_attempts;         /* attempts before dead_letter (5) */
    int64_t last_attempt_at;      /* TS_NULL before the first attempt */
    int64_t next_attempt_at;      /* when the event is due (TS_NULL = now); a claim pushes it
                                   * forward by the claim lease */
    const char *last_error;       /* NULL until an attempt failed */
    int http_status;              /* status of the last answer; 0 = NULL (none yet, or a
                                   * transport error) */
    int64_t created_at;
    int64_t delivered_at;         /* TS_NULL until delivered */
};

/* Filters of the webhook admin reads and purge; each NULL = no filter, else an exact match. */
struct webhook_filter {
    const char *status;
    const char *event;
    const char *tenant;           /* tenant_id = value: rows without a tenant never match */
};

/* Webhook event counts per status (GET /admin/webhooks/stats). */
struct webhook_stats {
    int64_t pending;
    int64_t delivered;
    int64_t dead_letter;
    int64_t total;                /* every row, whatever its status */
};

/* ---- what an op reads: whose rows, which page ---- */

/* Whose rows an op reads or writes: one subject in one tenant space. */
struct store_scope {
    const char *tenant;             /* NULL = the no-tenant space */
    const char *subject;
    int all_tenants;                /* 1: the subject's rows in every tenant (tenant ignored);
                                     * only the ops that say so accept it, the others BUG() */
};

/* One page of an offset listing. */
struct store_page {
    size_t limit;
    size_t offset;
};

/* One page of a keyset listing ordered by (created_at, id): the rows after the key. */
struct store_cursor {
    int64_t after_created;
    const char *after_id;           /* NULL: start at the beginning */
    size_t limit;
};

/* A list of row ids. */
struct store_ids {
    const char *const *items;
    size_t n;
};

/* Row sets handed back by the listing ops: items in the caller's arena (never NULL after a
 * successful call, even when n is 0). */
struct episode_rows {
    struct episode *items;
    size_t n;
};

struct memory_rows {
    struct memory *items;
    size_t n;
};

struct subject_count_rows {
    struct subject_count *items;
    size_t n;
};

struct resolution_rows {
    struct resolution *items;
    size_t n;
};

struct subject_ref_rows {
    struct subject_ref *items;
    size_t n;
};

/* Which active memories memory_list_active reads. */
struct memory_query {
    const char *kind;               /* NULL = every kind */
    enum memory_sort order;
    int flags;                      /* enum memory_list_flags */
    size_t limit;                   /* 0 = no limit */
};

/* A new sensitivity_labels value for one memory (memory_set_labels). */
struct label_update {
    const char *tenant;             /* the memory's tenant (NULL = the no-tenant space) */
    const char *memory_id;
    const char *labels_json;        /* compact JSON array of strings */
    int64_t updated_at;
};

/* A query-embedding cache read (spec/data-model.md §2.5): in text, model, now; out vec, dim. */
struct qcache_lookup {
    const char *text;
    const char *model;
    int64_t now;                    /* entries with expires_at <= now are misses */
    float *vec;                     /* out: the stored vector (arena), NULL on a miss */
    size_t dim;                     /* out: its length */
};

/* A query-embedding cache write, and the purge of old entries that goes with it. */
struct qcache_write {
    const char *text;
    const char *model;
    const float *vec;
    size_t dim;
    int64_t now;                    /* created_at of a new entry */
    int64_t expires_at;
    int64_t purge_before;           /* entries that expired before this are deleted */
};

/* Which subjects the cleanup considers (spec/backup-snapshots.md §7.2). */
struct cleanup_query {
    const char *prefix;             /* a literal byte prefix of subject_id */
    const char *tenant;             /* NULL = the no-tenant space */
    int all_tenants;                /* 1: every tenant (tenant ignored) */
    int64_t cutoff;                 /* only subjects whose newest activity is before this */
    size_t limit;
};

/* The end of a compile job (job_finish). */
struct job_outcome {
    const char *id;
    const char *status;             /* completed | failed */
    int64_t memories_created;
    const char *error;              /* NULL unless failed */
    int64_t completed_at;
};

/* A claim of queued rows with a lease (webhook_claim). */
struct store_claim {
    int64_t now;                    /* rows due at or before now */
    int64_t lease_until;            /* claimed rows are not due again before this */
    size_t limit;                   /* at most this many rows */
};

/* Filters of the operator's job list and deletes (spec/api.md §7.2); NULL = no filter. A
 * tenant filter matches that tenant exactly (jobs under no tenant never match one). */
struct job_filter {
    const char *status;
    const char *subject_id;
    const char *tenant_id;
    int64_t created_before;         /* only jobs created before this; 0 or TS_NULL = any */
};

struct status_count {
    const char *status;
    int64_t count;
};

struct status_count_rows {
    struct status_count *items;
    size_t n;
};

/* One page of compile jobs, and how many match in all. */
struct job_rows {
    struct compile_job *items;
    size_t n;
    int64_t total;                  /* every match, not only this page */
};

/* One page of webhook events (or a claim's rows), and how many match in all. */
struct webhook_rows {
    struct webhook_event *items;
    size_t n;
    int64_t total;                  /* listings: every match; claims: n */
};

/* ---- history: reads as of an instant, context receipts (spec/api.md §5.4, §11) ---- */

/* Which rows the as_of listings read: the rows of a scope as they stood at as_of.
 * Episodes: created_at <= as_of. Memories: created_at <= as_of, status not 'deleted', and
 * valid_to NULL or > as_of (so a memory superseded later is still there). */
struct as_of_query {
    int64_t as_of;
    const char *kind;               /* memories: NULL = every kind; ignored for episodes */
    enum memory_sort order;         /* ties on created_at break by insertion order, the
                                     * reverse of it for MEMORY_NEWEST_FIRST on episodes */
    size_t limit;                   /* 0 = no limit */
    int every_status;               /* memories: 1 = every row created by as_of, whatever
                                     * its status and valid_to */
};

/* A stored context receipt. body is the receipt as signed: compact JSON with the three
 * signature fields null; the signature travels beside it. */
struct receipt_row {
    char id[32];                    /* 26-character ULID */
    const char *tenant_id;          /* NULL = no tenant */
    const char *subject_id;
    const char *mode;               /* retrieval | as_of_replay */
    int64_t created_at;
    const char *body;
    const char *signature;          /* base64, NULL = unsigned */
    const char *key_id;             /* NULL = unsigned */
    const char *algorithm;          /* NULL = unsigned */
};

/* Which of a subject's receipts receipt_list reads: newest first (id descending). */
struct receipt_query {
    int64_t since;                  /* created_at >= since; TS_NULL = open */
    int64_t until;                  /* created_at <= until; TS_NULL = open */
    const char *before_id;          /* only ids < this (the cursor); NULL = from the newest */
    size_t limit;
};

struct receipt_rows {
    struct receipt_row *items;
    size_t n;
};

/* ---- the admin subject explorer and deletion (spec/api.md §7.4, §7.5) ----
 * Whose rows: a store_scope where all_tenants = 1 reads every tenant (the admin default, no
 * tenant_id given), else only tenant_id = sc->tenant (NULL = the no-tenant space). Listings of
 * (tenant, subject) pairs read subject_stats, a table the schema's triggers keep (schema step
 * "subject_stats"): reserved subjects never appear in it. Searches are the reference's:
 * case-insensitive substrings whose LIKE wildcards (`%`, `_`) are not escaped. */

enum explorer_sort {
    EXPLORER_SORT_LAST_ACTIVITY,    /* the newest episode's created_at */
    EXPLORER_SORT_SUBJECT,
    EXPLORER_SORT_EPISODES,
    EXPLORER_SORT_MEMORIES,
};

/* Which (tenant, subject) pairs GET /admin/subjects lists: those with episodes. */
struct explorer_subject_query {
    const char *tenant;             /* with all_tenants 0: only this tenant */
    int all_tenants;
    const char *search;             /* NULL = any; substring of subject_id */
    const char *health_state;       /* NULL = any; exact match on the cached state */
    int has_open;                   /* -1 any, 0 no open resolution, 1 at least one */
    enum explorer_sort sort;
    int descending;                 /* ties break on (subject, tenant) in the same direction */
    size_t limit, offset;
};

struct explorer_subject {
    const char *subject_id;
    const char *tenant_id;          /* NULL = no tenant */
    int64_t episode_count;
    int64_t memory_count;
    int64_t session_count;          /* distinct non-null episode sessions */
    int64_t open_sessions;          /* resolutions with status open */
    int64_t last_episode_at;
    const char *health_state;       /* the cached state, NULL when none is cached */
    int64_t health_score;
};

struct explorer_subject_rows {
    struct explorer_subject *items;
    size_t n;
    int64_t total;                  /* every match, not only this page */
};

/* What GET /admin/subjects/{id} shows of a subject (sc: all_tenants accepted). */
struct explorer_summary {
    int64_t episode_count;
    int64_t memory_count;           /* every status */
    int64_t episode_sessions;       /* distinct non-null episode session ids */
    int64_t resolution_sessions;    /* distinct resolution session ids */
    int64_t first_seen_at;          /* oldest / newest episode created_at; TS_NULL */
    int64_t last_activity_at;
    const char *any_tenant;         /* the smallest non-null episode tenant, else NULL */
    int64_t npairs;                 /* (tenant, subject) pairs of the subject in subject_stats */
    const char *pair_tenant;        /* with npairs 1: that pair's tenant (NULL = none) */
};

/* A page of a subject's episodes (sc: all_tenants accepted). */
struct explorer_episode_query {
    const char *session_id;         /* NULL = any; exact */
    const char *type;               /* NULL = any; exact */
    const char *search;             /* NULL = any; substring of the payload's JSON text, type,
                                     * source or session_id */
    int oldest_first;               /* 0: created_at descending (then insertion order) */
    int no_total;                   /* the rows only: total is left 0, no count is run */
    size_t limit, offset;
};

/* A page of a subject's memories (sc: all_tenants accepted); every filter is optional. */
struct explorer_memory_query {
    const char *id;                 /* only this memory */
    const char *exclude_id;         /* not this memory */
    const char *status;             /* exact */
    const char *kind;               /* exact */
    const char *search;             /* substring of content, summary or kind */
    const char *const *cites;       /* citing (source_episode_ids) any of these episode ids, */
    size_t ncites;                  /* which must be canonical UUIDs; 0 = no such filter */
    int64_t created_after;          /* exclusive bounds on created_at; TS_NULL = open */
    int64_t created_before;
    int oldest_first;               /* 0: created_at descending (then insertion order) */
    size_t limit, offset;
};

struct explorer_episode_rows {
    struct episode *items;
    size_t n;
    int64_t total;                  /* every match */
};

struct explorer_memory_rows {
    struct memory *items;           /* without embeddings */
    size_t n;
    int64_t total;                  /* every match */
};

/* Which (tenant, subject) pairs a bulk delete (or the admin delete of one subject) takes. */
struct subject_selector {
    const char *prefix;             /* NULL = any; subject_id LIKE prefix || '%' (wildcards
                                     * act, case-sensitive on both backends) */
    const char *subject;            /* NULL = any; exact subject id */
    const char *tenant;             /* with all_tenants 0: only this tenant */
    int all_tenants;
    int64_t older_than;             /* TS_NULL = any; the newest episode created before it */
    int with_episodes_only;         /* 1: pairs with episodes (the reference's grouping);
                                     * 0: pairs with episodes or memories */
};

struct subject_match {
    const char *subject_id;
    const char *tenant_id;
    int64_t episode_count;
    int64_t memory_count;
    int64_t last_episode_at;        /* TS_NULL without episodes */
};

struct subject_match_rows {
    struct subject_match *items;    /* by subject_id, then tenant (byte order) */
    size_t n;
    int64_t episodes;               /* sums over every match */
    int64_t memories;
};

/* ---- the operator's overview (spec/api.md §7.6) and the bundled packs' rows (§7.7) ---- */

/* Rows of one table counted by created_at: since each cut-off of a usage_query, and all. */
struct usage_counts {
    int64_t today;
    int64_t d7;
    int64_t d30;
    int64_t total;
};

/* What GET /admin/usage counts. */
struct usage_query {
    const char *tenant;             /* tenant_id = value in every table (rows without a tenant
                                     * never match); NULL = every row */
    int64_t today, d7, d30;         /* the cut-offs: rows created at or after each */
};

struct usage_report {
    struct usage_counts episodes;
    struct usage_counts memories;
    struct usage_counts compile_jobs;
    struct usage_counts webhooks;
    int64_t active_7d;              /* distinct subjects with an episode created since d7 */
    int64_t active_30d;             /* ... since d30 */
    int64_t active_total;           /* distinct subjects with any episode */
};

/* Rows written without a tenant (GET /admin/tenant-audit). */
struct null_tenant_counts {
    int64_t episodes;
    int64_t memories;
    int64_t compile_jobs;
};

/* The dashboard's totals and health distribution (GET /admin/dashboard). */
struct overview_counts {
    int64_t episodes;
    int64_t memories;
    int64_t subjects;               /* distinct subject ids that have episodes */
    int64_t healthy, watch, at_risk;  /* cached health rows by state */
    int64_t unknown;                /* (subject, tenant) episode groups with no cached health */
};

/* A list of strings in the caller's arena. */
struct string_rows {
    const char **items;
    size_t n;
};

/* The rows of one subject (every tenant) that a starter pack owns: metadata.starter_pack_id
 * equal to pack_id, or metadata.pack equal to legacy_pack. */
struct pack_owner {
    const char *subject;
    const char *pack_id;
    const char *legacy_pack;
};

struct pack_rows {
    struct row_counts total;        /* every episode and memory of the subject */
    struct row_counts owned;        /* those the pack owns */
    const char *newest_metadata;    /* metadata (compact JSON) of the owned episode written
                                     * last, else of the owned memory written last; NULL when
                                     * the pack owns no row */
};

/* How long ratelimit_hit waits for SQLite's write lock before it fails open. */
#define STORE_RATELIMIT_BUSY_MS 200

struct store_ops {
    const char *name;   /* "sqlite", "postgres" */

    /* Open a connection to the database named by url (the backend's own form). */
    int (*open)(const char *url, store **out, struct err *err);
    void (*close)(store *st);
    /* Apply pending schema migrations, each in its own transaction; safe when several
     * processes start at once. */
    int (*migrate)(store *st, struct migrate_result *res, struct err *err);
    /* Highest applied migration version (0 on an empty database), and the binary's latest. */
    int (*schema_version)(store *st, int *current, int *latest, struct err *err);
    /* Cheap liveness query (SELECT 1). */
    int (*ping)(store *st, struct err *err);
    /* The readiness write probe: upsert the one row of the heartbeat table in its own
     * transaction. Fails (503 database_full / database_readonly, see store_fail_unavailable)
     * when the database refuses writes. */
    int (*heartbeat)(store *st, struct err *err);

    int (*tx_begin)(store *st, struct err *err);
    int (*tx_commit)(store *st, struct err *err);
    void (*tx_rollback)(store *st);

    /* Insert ep. When ep->idempotency_key is set and an episode with the same
     * (tenant, subject, key) exists, insert nothing, overwrite *ep with the existing row
     * (strings in arena) and set *inserted = 0; otherwise *inserted = 1. */
    int (*episode_insert)(store *st, struct arena *a, struct episode *ep, int *inserted,
                          struct err *err);
    /* store_episode_insert for each of the n episodes (a replayed one's strings in as[i]),
     * inside the caller's transaction, with inserted[i] for eps[i]; PostgreSQL pipelines
     * them (few round trips). On failure the caller rolls back. */
    int (*episode_insert_group)(store *st, struct arena *const *as, struct episode *const *eps,
                                size_t n, int *inserted, struct err *err);
    /* *flushes = 1 when a commit on st waits for its log to reach the disk (SQLite
     * synchronous=FULL; PostgreSQL with fsync and synchronous_commit on), 0 otherwise. */
    int (*commits_flush)(store *st, int *flushes, struct err *err);
    /* One page of the episodes of sc, by created_at then insertion order, ascending. */
    int (*episode_list)(store *st, struct arena *a, const struct store_scope *sc,
                        const struct store_page *pg, struct episode_rows *out, struct err *err);
    /* The episodes of sc (one tenant) inside window w, ordered by
     * COALESCE(occurred_at, created_at) then insertion order, ascending; at most w->limit.
     * Read through the (subject, tenant, that time) index, never a scan of the subject. */
    int (*episode_list_window)(store *st, struct arena *a, const struct store_scope *sc,
                               const struct episode_window *w, struct episode_rows *out,
                               struct err *err);
    /* One page of the memories of sc, every status, by created_at then insertion order. */
    int (*memory_list)(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_page *pg, struct memory_rows *out, struct err *err);
    /* Distinct subjects having episodes or memories in the tenant, by subject_id in byte
     * order, with counts; ids starting with one of the reserved prefixes
     * (`_snapshot/`, `_bootstrap_tmp/`, compared literally) are left out. */
    int (*subject_list)(store *st, struct arena *a, const char *tenant,
                        const struct store_page *pg, struct subject_count_rows *out,
                        struct err *err);
    /* Delete every row of sc: episodes, memories, resolutions, health-cache and lineage
     * rows (deletion receipts stay: they are the evidence of deletes); the
     * counts into out. Runs inside the caller's transaction when one is open, else in its
     * own. */
    int (*subject_delete)(store *st, const struct store_scope *sc, struct row_counts *out,
                          struct err *err);

    /* ---- the memory loop: episodes to compile, memories (service/compile.c) ---- */

    /* Serialise writers of one (tenant, subject) across processes until the caller's open
     * transaction ends (PostgreSQL: pg_advisory_xact_lock on a hash of the pair; SQLite:
     * nothing to do, BEGIN IMMEDIATE already admits one writer). Call inside a transaction. */
    int (*subject_lock)(store *st, const struct store_scope *sc, struct err *err);
    /* Uncompiled episodes (last_compiled_at NULL) of sc, oldest first (created_at then
     * insertion order), at most limit. */
    int (*episode_list_uncompiled)(store *st, struct arena *a, const struct store_scope *sc,
                                   size_t limit, struct episode_rows *out, struct err *err);
    /* Set last_compiled_at = at on the n episodes ids (of that tenant). */
    int (*episode_mark_compiled)(store *st, const char *tenant, const char *const *ids,
                                 size_t n, int64_t at, struct err *err);
    /* The newest `limit` episodes of sc, in exact reverse insertion order: created_at
     * descending, then insertion order descending (so equal timestamps at the cut keep the
     * most recently inserted). */
    int (*episode_list_recent)(store *st, struct arena *a, const struct store_scope *sc,
                               size_t limit, struct episode_rows *out, struct err *err);
    /* Episodes of the tenant with the given ids (any order; unknown ids are skipped). */
    int (*episode_get_many)(store *st, struct arena *a, const char *tenant,
                            const struct store_ids *ids, struct episode_rows *out,
                            struct err *err);
    /* For a forced recompile: delete every memory of sc and set every episode's
     * last_compiled_at to NULL. *memories_deleted gets the count. */
    int (*compile_reset)(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                         struct err *err);
    /* Insert m as given (the caller fills id, tenant, every field and timestamp). */
    int (*memory_insert)(store *st, const struct memory *m, struct err *err);
    /* The active memories of sc that q selects (see struct memory_query). */
    int (*memory_list_active)(store *st, struct arena *a, const struct store_scope *sc,
                              const struct memory_query *q, struct memory_rows *out,
                              struct err *err);
    /* fn for every active memory of sc that has an embedding (kind NULL = every kind), in no
     * set order, with the vector as stored: what nearest-neighbour scoring needs, without
     * reading or decoding whole rows. */
    int (*memory_scan_vectors)(store *st, const struct store_scope *sc, const char *kind,
                               memory_vector_fn *fn, void *ctx, struct err *err);
    /* fn for the active memories of sc that ts selects, newest first
     * (memory_list_active's MEMORY_NEWEST_FIRST order), with id and content alone, until fn
     * ends the scan: what a text filter needs, stopping once it has enough. */
    int (*memory_scan_text)(store *st, const struct store_scope *sc,
                            const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx,
                            struct err *err);
    /* fn for every active memory of sc that has an embedding (cs->kind: exact kind), in no
     * set order, with the compact code of its vector (util/vcode.h) from the narrow side
     * table memory_codes (schema step 10), never reading the memory rows. */
    int (*memory_scan_codes)(store *st, const struct store_scope *sc,
                             const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx,
                             struct err *err);
    /* The generation of sc's codes in memory_codes: a number that changes (inside the writing
     * transaction) whenever one of them is added, changed or removed; 0 when it never had
     * any. What a cache of the codes checks. */
    int (*memory_codes_gen)(store *st, const struct store_scope *sc, int64_t *gen,
                            struct err *err);
    /* The generation of what context assembly reads of sc (its episodes, memories and
     * resolutions; table context_gen): a number that changes, inside the writing
     * transaction, with every write of one of those rows; 0 when none was written since the
     * table exists. Two reads that give the same number saw the same rows (see
     * service/context_cache.h). */
    int (*context_gen)(store *st, const struct store_scope *sc, int64_t *gen,
                       struct err *err);
    /* fn for each memory of the tenant among ids that has an embedding (any order, unknown
     * ids skipped), with its stored vector, as memory_scan_vectors gives it. */
    int (*memory_vectors_by_ids)(store *st, const char *tenant, const struct store_ids *ids,
                                 memory_vector_fn *fn, void *ctx, struct err *err);
    /* The ids of the active memories of sc (q->kind: exact kind) holding at least one of
     * q->terms as a word of their content, as the backend's full-text index reads words
     * (SQLite: FTS5 unicode61; PostgreSQL: the 'simple' configuration; both fold case and
     * keep accents), at most q->limit, best first: the most terms held, then relevance
     * (SQLite bm25(), PostgreSQL ts_rank_cd()), then newest (created_at descending, then
     * insertion order). Ids in the arena. */
    int (*memory_rank_text)(store *st, struct arena *a, const struct store_scope *sc,
                            const struct memory_rank_query *q, struct store_ids *out,
                            struct err *err);
    /* Bring the text indexes that memory_scan_text and memory_rank_text read up to every
     * memory, when the backend defers them (SQLite: rows above search_text_indexed's mark);
     * outside a read transaction, before one that reads them. A no-op where the writes keep
     * them (PostgreSQL). */
    int (*search_text_sync)(store *st, struct err *err);
    /* Bring the compact codes that memory_scan_codes and memory_codes_gen read up to every
     * memory's vector, when the backend defers them (SQLite: rows above
     * search_codes_indexed's mark); outside a read transaction, before one that reads them.
     * A no-op where the writes keep them (PostgreSQL). */
    int (*search_codes_sync)(store *st, struct err *err);
    /* Memories of the tenant with the given ids, without their embeddings (any order;
     * unknown ids are skipped). */
    int (*memory_get_many)(store *st, struct arena *a, const char *tenant,
                           const struct store_ids *ids, struct memory_rows *out,
                           struct err *err);
    /* Mark memory id (of that tenant) superseded: status 'superseded', valid_to, updated_at. */
    int (*memory_supersede)(store *st, const char *tenant, const char *id, int64_t valid_to,
                            int64_t updated_at, struct err *err);
    /* memory_set_embedding for n memories: ids[i] gets vecs[i * dim ..] (and its compact
     * code), all or nothing (inside the caller's transaction, else in one of its own), as few
     * statements as the backend allows (PostgreSQL: one per 256 memories). Ids that are not
     * lower-case UUIDs match nothing, as in memory_set_embedding. */
    int (*memory_set_embeddings)(store *st, const char *const *ids, const float *vecs,
                                 size_t n, size_t dim, struct err *err);
    /* Store an embedding (dim floats) for memory id; dim 0 / NULL clears it. */
    int (*memory_set_embedding)(store *st, const char *id, const float *vec, size_t dim,
                                struct err *err);
    /* One memory of the tenant by id; *out NULL when there is none. */
    int (*memory_get)(store *st, struct arena *a, const char *tenant, const char *id,
                      struct memory **out, struct err *err);
    /* Replace sensitivity_labels and set updated_at as u says; *found = 0 when the tenant
     * has no such memory. */
    int (*memory_set_labels)(store *st, const struct label_update *u, int *found,
                             struct err *err);
    /* Query-embedding cache (spec/data-model.md §2.5): the vector stored for (q->text,
     * q->model) with expires_at > q->now, into the arena; q->vec NULL on a miss. */
    int (*qcache_get)(store *st, struct arena *a, struct qcache_lookup *q, struct err *err);
    /* Upsert (text, model) → vec with expires_at (created_at kept on conflict), and delete
     * rows that expired before purge_before. */
    int (*qcache_put)(store *st, const struct qcache_write *w, struct err *err);
    /* Resolutions of sc, newest updated_at first. */
    int (*resolution_list)(store *st, struct arena *a, const struct store_scope *sc,
                           struct resolution_rows *out, struct err *err);
    /* ---- the support tier (spec/api.md §4, behavior.md §14) ---- */

    /* The resolutions of sc that q selects (see struct resolution_query), whole rows. */
    int (*resolution_query)(store *st, struct arena *a, const struct store_scope *sc,
                            const struct resolution_query *q, struct resolution_rows *out,
                            struct err *err);
    /* Create or update the resolution of (r->tenant_id, r->subject_id, r->session_id), the
     * reference's read-then-write upsert: when such rows exist, the most recently updated one
     * gets status, resolution_summary, resolved_at, metadata and updated_at from r (id and
     * created_at kept); otherwise a row is inserted with r->id and created_at = updated_at.
     * *r then holds the stored row (strings in a). Call inside a transaction, after
     * subject_lock, so that two upserts of one key never both insert. */
    int (*resolution_upsert)(store *st, struct arena *a, struct resolution *r, struct err *err);
    /* The cached health of sc into *out (state in the arena); *found 0 (out untouched) when
     * there is none. */
    int (*health_cache_get)(store *st, struct arena *a, const struct store_scope *sc,
                            struct health_cache_entry *out, int *found, struct err *err);
    /* Insert or overwrite the cache row of sc with e. */
    int (*health_cache_put)(store *st, const struct store_scope *sc,
                            const struct health_cache_entry *e, struct err *err);
    /* Forget the cache row of sc, if any (an import or a restore invalidates it). */
    int (*health_cache_delete)(store *st, const struct store_scope *sc, struct err *err);

    /* Every read of r at once (see struct context_reads). Optional: NULL runs the ops above
     * one after the other (store.c), which is what an embedded database wants anyway. */
    int (*context_read)(store *st, struct arena *a, const struct store_scope *sc,
                        struct context_reads *r, struct err *err);

    /* ---- subject export and import (spec/backup-snapshots.md §1, §3) ---- */

    /* Start a read-only transaction that gives every following read one consistent view
     * (PostgreSQL: REPEATABLE READ READ ONLY; SQLite: a read transaction). End it with
     * tx_commit or tx_rollback. */
    int (*tx_begin_read)(store *st, struct err *err);
    /* Episode and memory (every status) counts of sc (all_tenants accepted) into
     * out->episodes and out->memories (out->resolutions 0). */
    int (*export_count)(store *st, const struct store_scope *sc, struct row_counts *out,
                        struct err *err);
    /* One page of the episodes of sc (all_tenants accepted) ordered by (created_at, id),
     * after the cursor's key. */
    int (*export_episodes)(store *st, struct arena *a, const struct store_scope *sc,
                           const struct store_cursor *cur, struct episode_rows *out,
                           struct err *err);
    /* The same for memories, every status, embeddings loaded. */
    int (*export_memories)(store *st, struct arena *a, const struct store_scope *sc,
                           const struct store_cursor *cur, struct memory_rows *out,
                           struct err *err);
    /* How many of the n ids are already episode ids (resp. memory ids), in any subject and
     * any tenant. Ids that are not canonical UUIDs are counted as free. */
    int (*episode_ids_taken)(store *st, const char *const *ids, size_t n, int64_t *count,
                             struct err *err);
    int (*memory_ids_taken)(store *st, const char *const *ids, size_t n, int64_t *count,
                            struct err *err);
    /* Insert n episodes exactly as given (id, tenant, timestamps, idempotency_key), inside
     * the caller's transaction, as fast as the backend allows (PostgreSQL: pipelined).
     * An id that already exists fails the call with ERR_CONFLICT. */
    int (*episode_insert_many)(store *st, const struct episode *eps, size_t n,
                               struct err *err);
    /* The same for memories. */
    int (*memory_insert_many)(store *st, const struct memory *mems, size_t n, struct err *err);

    /* ---- snapshots and cleanup (spec/backup-snapshots.md §5, §7) ---- */

    /* Insert a snapshot row; ERR_CONFLICT when (name, version) exists. */
    int (*snapshot_insert)(store *st, const struct snapshot *snap, struct err *err);
    /* The snapshot with that id; *out NULL when none. */
    int (*snapshot_get)(store *st, struct arena *a, const char *id, struct snapshot **out,
                        struct err *err);
    /* The snapshot (name, version); *out NULL when none (also for a version < 1). */
    int (*snapshot_find)(store *st, struct arena *a, const char *name, int64_t version,
                         struct snapshot **out, struct err *err);
    /* The snapshot of name with the highest version; *out NULL when name has none. */
    int (*snapshot_latest)(store *st, struct arena *a, const char *name, struct snapshot **out,
                           struct err *err);
    /* Every snapshot ordered by name (byte order) then version. */
    int (*snapshot_list)(store *st, struct arena *a, struct snapshot **out, size_t *n,
                         struct err *err);
    /* Copy rows as spec says, inside the caller's transaction, with set-based statements
     * (no row materialised in C); counts of copied rows into out. */
    int (*subject_copy)(store *st, const struct subject_copy *spec, struct row_counts *out,
                        struct err *err);
    /* Newest episode created_at of sc (all_tenants accepted); TS_NULL when it has no
     * episodes. */
    int (*subject_newest_episode)(store *st, const struct store_scope *sc, int64_t *newest,
                                  struct err *err);
    /* Cleanup candidates: (tenant, subject) pairs whose subject_id starts with q->prefix
     * (a literal byte prefix, never a LIKE pattern), is not reserved (`_snapshot/` always
     * excluded; `_bootstrap_tmp/` only when prefix does not name it), in q->tenant (all
     * tenants when q->all_tenants), and whose age — newest episode created_at, or for a pair
     * without episodes its newest memory updated_at — is before q->cutoff. At most q->limit
     * pairs, ordered by subject then tenant. */
    int (*cleanup_candidates)(store *st, struct arena *a, const struct cleanup_query *q,
                              struct subject_ref_rows *out, struct err *err);
    /* Try to become the one process running the maintenance loop's pass (PostgreSQL:
     * pg_try_advisory_lock, held by this connection until maintenance_unlock; SQLite: always
     * granted). *acquired tells. */
    int (*maintenance_trylock)(store *st, int *acquired, struct err *err);
    int (*maintenance_unlock)(store *st, struct err *err);

    /* ---- compile jobs ---- */

    /* Insert a new job (status pending). ERR_CONFLICT when the id exists (retry another). */
    int (*job_insert)(store *st, const struct compile_job *job, struct err *err);
    /* The job with that id in the tenant; *out NULL when there is none (another tenant's
     * job is "none": strict isolation). */
    int (*job_get)(store *st, struct arena *a, const char *tenant, const char *id,
                   struct compile_job **out, struct err *err);
    /* Claim one job: the oldest 'pending' job, or a 'running' job whose lease expired before
     * now; it becomes 'running' with started_at = now (when unset) and lease_expires_at =
     * lease_until. Exclusive across processes (PostgreSQL: FOR UPDATE SKIP LOCKED).
     * *out NULL when there is nothing to do. */
    int (*job_claim)(store *st, struct arena *a, int64_t now, int64_t lease_until,
                     struct compile_job **out, struct err *err);
    /* Extend a running job's lease. */
    int (*job_renew)(store *st, const char *id, int64_t lease_until, struct err *err);
    /* End job o->id: status 'completed' (memories_created) or 'failed' (error),
     * completed_at, lease cleared. */
    int (*job_finish)(store *st, const struct job_outcome *o, struct err *err);
    /* Count compile jobs with status 'running' and started_at before started_before (TS_NULL
     * counts none) in every tenant: the readiness check's "stuck" jobs (behavior.md §16.1),
     * an operator view, so not scoped to a tenant. */
    int (*job_count_stuck)(store *st, int64_t started_before, int64_t *n, struct err *err);

    /* ---- full-database backup ---- */

    /* Write an online, consistent copy of the whole database into the new file path
     * (spec/backup-snapshots.md §4) while other connections keep reading and writing. The
     * copy is written to `<path>.tmp` and renamed, so a failure never leaves a partial file
     * at path. Fails with ERR_CONFLICT if path exists. Not inside a transaction.
     * PostgreSQL has no native version: ERR_INVALID, pg_dump is the tool. */
    int (*backup)(store *st, const char *path, struct err *err);

    /* ---- rate limits and job admin (spec/data-model.md §4, §5; api.md §7.2) ---- */

    /* Count one hit of key in the fixed window that starts at window_start (epoch seconds, a
     * multiple of 60) with one atomic upsert, updated_at = now; *count = the window's hits
     * including this one. One autocommit statement: call it outside a transaction. It is on
     * every request's path, so it never waits long: SQLite gives up after
     * STORE_RATELIMIT_BUSY_MS of lock contention with ERR_UNAVAILABLE (not logged; the caller
     * fails open and says so). */
    int (*ratelimit_hit)(store *st, const char *key, int64_t window_start, int64_t now,
                         int64_t *count, struct err *err);
    /* Delete the windows with window_start < before; *deleted = count. */
    int (*ratelimit_purge)(store *st, int64_t before, int64_t *deleted, struct err *err);
    /* One page of the compile jobs of every tenant matching f, newest first (created_at
     * descending, then insertion order descending); out->total counts every match. An
     * operator view, so not scoped to a tenant space. */
    int (*job_list)(store *st, struct arena *a, const struct job_filter *f,
                    const struct store_page *pg, struct job_rows *out, struct err *err);
    /* Delete the terminal jobs (completed, failed) matching f (the operator's delete and the
     * retention purge alike); *deleted = count. */
    int (*job_delete)(store *st, const struct job_filter *f, int64_t *deleted, struct err *err);
    /* Compile jobs per status in every tenant, by status (byte order); statuses without jobs
     * are left out. */
    int (*job_count_by_status)(store *st, struct arena *a, struct status_count_rows *out,
                               struct err *err);

    /* ---- the admin subject explorer and deletion (spec/api.md §7.4, §7.5) ---- */

    /* One page of the pairs q selects, with out->total; every read through subject_stats
     * and its indexes (plus the health cache's key), never a scan of episodes. */
    int (*explorer_subjects)(store *st, struct arena *a, const struct explorer_subject_query *q,
                             struct explorer_subject_rows *out, struct err *err);
    int (*explorer_summary)(store *st, struct arena *a, const struct store_scope *sc,
                            struct explorer_summary *out, struct err *err);
    int (*explorer_episodes)(store *st, struct arena *a, const struct store_scope *sc,
                             const struct explorer_episode_query *q,
                             struct explorer_episode_rows *out, struct err *err);
    int (*explorer_memories)(store *st, struct arena *a, const struct store_scope *sc,
                             const struct explorer_memory_query *q,
                             struct explorer_memory_rows *out, struct err *err);
    /* The resolutions of sc (of one session when session is not NULL), newest updated_at
     * first, at most limit. */
    int (*explorer_resolutions)(store *st, struct arena *a, const struct store_scope *sc,
                                const char *session, size_t limit, struct resolution_rows *out,
                                struct err *err);
    /* counts[i] = how many memories of sc cite episode ids->items[i] (canonical UUIDs). */
    int (*explorer_citing_counts)(store *st, const struct store_scope *sc,
                                  const struct store_ids *ids, int64_t *counts,
                                  struct err *err);
    /* Every pair sel selects, with counts and sums (read through subject_stats). */
    int (*subject_match)(store *st, struct arena *a, const struct subject_selector *sel,
                         struct subject_match_rows *out, struct err *err);

    /* ---- webhook events (spec/api.md §1.12, §7.3; behavior.md §12) ---- */

    /* Insert ev as given (id, tenant, status, counters, timestamps), inside the caller's
     * transaction when one is open: the event is durable exactly when the change it
     * describes commits. */
    int (*webhook_insert)(store *st, const struct webhook_event *ev, struct err *err);
    /* Claim at most c->limit due events: status 'pending' and next_attempt_at NULL or
     * <= c->now, by next_attempt_at (NULL first) then insertion order. Every claimed row gets
     * next_attempt_at = c->lease_until, so no connection or process claims it again before
     * the lease ends; claims are exclusive (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one
     * UPDATE under the write lock). Call outside a transaction. The rows as they stand after
     * the claim go into out in no particular order; out->n 0 when nothing is due. */
    int (*webhook_claim)(store *st, struct arena *a, const struct store_claim *c,
                         struct webhook_rows *out, struct err *err);
    /* Write the delivery state of row ev->id: status, attempts, last_attempt_at,
     * next_attempt_at, last_error, http_status, delivered_at. */
    int (*webhook_update)(store *st, const struct webhook_event *ev, struct err *err);
    /* One page of the events matching f, newest first (created_at, then insertion order,
     * descending); out->total counts every match. */
    int (*webhook_list)(store *st, struct arena *a, const struct webhook_filter *f,
                        const struct store_page *pg, struct webhook_rows *out,
                        struct err *err);
    int (*webhook_stats)(store *st, struct webhook_stats *out, struct err *err);
    /* The event with that id; *out NULL when there is none (also for a malformed id). */
    int (*webhook_get)(store *st, struct arena *a, const char *id, struct webhook_event **out,
                       struct err *err);
    /* Delete the terminal events (delivered, dead_letter) matching f (a status filter naming
     * another status deletes nothing); *deleted = count. */
    int (*webhook_purge)(store *st, const struct webhook_filter *f, int64_t *deleted,
                         struct err *err);

    /* ---- provable deletion, fork lineage (Engram extensions) ---- */

    /* subject_delete of sc, inside the caller's transaction, also handing back the ids of
     * every deleted episode, memory and resolution (canonical lower-case UUID text, in no
     * set order) in ids (arena). */
    int (*subject_delete_ids)(store *st, struct arena *a, const struct store_scope *sc,
                              struct row_counts *out, struct store_ids *ids, struct err *err);
    /* Rows of sc (one tenant) created at or before `before`, per table (episodes, memories,
     * resolutions): what a deletion receipt's verification counts. */
    int (*subject_rows_before)(store *st, const struct store_scope *sc, int64_t before,
                               struct row_counts *out, struct err *err);
    /* Insert a receipt as given; ERR_CONFLICT when the id exists. */
    int (*deletion_insert)(store *st, const struct deletion_receipt *r, struct err *err);
    /* The receipt with that id in the tenant (NULL = no tenant); *out NULL when there is none
     * (another tenant's receipt is none; so is a malformed id). */
    int (*deletion_get)(store *st, struct arena *a, const char *tenant, const char *id,
                        struct deletion_receipt **out, struct err *err);
    /* Record l as the lineage of (l->tenant_id, l->subject_id), replacing any earlier one. */
    int (*lineage_put)(store *st, const struct subject_lineage *l, struct err *err);
    /* The lineage of sc (one tenant); *out NULL when it is no fork. */
    int (*lineage_get)(store *st, struct arena *a, const struct store_scope *sc,
                       struct subject_lineage **out, struct err *err);

    /* ---- history (spec/api.md §5.4, §11) ---- */

    /* The memories of sc (one tenant) as they stood at q->as_of (struct as_of_query). */
    int (*memory_list_as_of)(store *st, struct arena *a, const struct store_scope *sc,
                             const struct as_of_query *q, struct memory_rows *out,
                             struct err *err);
    /* The episodes of sc (one tenant) created at or before q->as_of, in q->order. */
    int (*episode_list_as_of)(store *st, struct arena *a, const struct store_scope *sc,
                              const struct as_of_query *q, struct episode_rows *out,
                              struct err *err);
    /* Insert one receipt (one statement). */
    int (*receipt_insert)(store *st, const struct receipt_row *r, struct err *err);
    /* The receipt id of the tenant; *out NULL when there is none. */
    int (*receipt_get)(store *st, struct arena *a, const char *tenant, const char *id,
                       struct receipt_row **out, struct err *err);
    /* The receipts of sc (one tenant) that q selects, newest first. */
    int (*receipt_list)(store *st, struct arena *a, const struct store_scope *sc,
                        const struct receipt_query *q, struct receipt_rows *out,
                        struct err *err);

    /* ---- the operator's overview and the bundled packs (spec/api.md §7.6, §7.7) ---- */

    /* One page of the distinct non-NULL episode tenants, sorted; read by index seeks (one
     * per tenant), never a scan of the episodes. */
    int (*tenant_list)(store *st, struct arena *a, const struct store_page *pg,
                       struct string_rows *out, struct err *err);
    /* How many episodes, memories and compile jobs have no tenant. */
    int (*tenant_audit)(store *st, struct null_tenant_counts *out, struct err *err);
    /* Rows created since each cut-off of q (episodes, memories, compile jobs, webhook
     * events; by the created_at indexes) and the active subjects. */
    int (*usage)(store *st, const struct usage_query *q, struct usage_report *out,
                 struct err *err);
    /* The dashboard's counts (see struct overview_counts). */
    int (*overview)(store *st, struct overview_counts *out, struct err *err);
    /* Count the rows of o->subject (every tenant) and those the pack owns; the newest owned
     * row's metadata into the arena. */
    int (*pack_rows)(store *st, struct arena *a, const struct pack_owner *o,
                     struct pack_rows *out, struct err *err);
    /* Delete the episodes and memories of o->subject (every tenant) that the pack owns; the
     * counts into out (resolutions 0). Inside the caller's transaction when one is open. */
    int (*pack_rows_delete)(store *st, const struct pack_owner *o, struct row_counts *out,
                            struct err *err);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgres_ops;

/* Choose the backend for a database URL: sqlite:///abs, sqlite://rel, postgresql://…,
 * postgres://…, postgresql+asyncpg://…. Writes the backend's connection string (a file path
 * for SQLite, a libpq URI for PostgreSQL) into *conninfo (heap; caller frees).
 * Returns NULL with err set for an unknown or malformed URL. */
const struct store_ops *store_backend_for(const char *url, char **conninfo, struct err *err);

/* SQLite's durability for connections opened from now on: 1 = PRAGMA synchronous = FULL (the
 * WAL is synced at every commit: no acknowledged commit is lost to a power cut), 0 = NORMAL
 * (the default: synced at checkpoints only; a power cut can lose the last commits, never
 * corrupt the database). STATEWAVE_SQLITE_SYNCHRONOUS. PostgreSQL ignores it. */
void store_set_sqlite_sync_full(int full);
int store_sqlite_sync_full(void);

/* Process-wide setup: remember the backend and connection string that store_thread() uses. */
int store_setup(const char *url, struct err *err);
/* What sits between the store and PostgreSQL, for the connections opened from now on
 * (enum config_pooler: 0 auto-detect, 1 none, 2 pgbouncer in transaction mode); set once
 * before any thread starts. SQLite ignores it. */
void store_set_pooler(int pooler);
/* The value store_set_pooler() set (0 until then). */
int store_pooler(void);
/* 1 when store_setup() chose SQLite. */
int store_setup_sqlite(void);
/* The connection string store_setup() kept (NULL before). */
const char *store_setup_conninfo(void);

/* ---- read replicas (PostgreSQL; src/store/postgres/postgres_replicas.c) ----
 * STATEWAVE_DATABASE_REPLICA_URLS: streaming standbys that may serve the read endpoints.
 * A write request reports the primary's WAL position after it committed (X-Engram-LSN); a
 * read that names one (X-Engram-Read-After) is served by a replica that has replayed it, else
 * by the primary; other reads go to the primary, or with eventual reads to a replica at most
 * max_lag_ms behind (any healthy replica while the primary is unreachable). */
#define STORE_MAX_REPLICAS 8

/* Parse "HI/LO" (hex, as pg_current_wal_lsn() prints it); -1 if it is not one. */
int store_lsn_parse(const char *s, uint64_t *out);
/* Remember the replicas of urls (comma-separated postgresql:// URLs; a comma inside one
 * URL's host list stays in it), before any thread starts; -1 with err on a bad URL. */
int store_replicas_setup(const char *urls, int eventual, int max_lag_ms, struct err *err);
size_t store_replica_count(void);
/* Start / stop the background check of every replica (and the primary's LSN), every 250 ms;
 * the first check runs before start returns. Nothing without replicas. */
int store_replicas_start(struct err *err);
void store_replicas_stop(void);
/* Forget the replica list (store_shutdown). */
void store_replicas_release(void);
/* One replica's state for /readyz. */
struct store_replica_state {
    const char *name;        /* host:port */
    int healthy;
    int64_t lag_ms;          /* 0 = caught up with the primary's last known LSN */
    char replayed[40];       /* its replayed LSN */
    char why[160];           /* the last failure */
};
size_t store_replica_report(struct store_replica_state *out, size_t max);
/* 1 if endpoint route_name (the router's name) only reads, so a replica may serve it. */
int store_route_is_read(const char *route_name);
/* The request this thread serves from now until store_request_end: a read endpoint or not,
 * a client write (not a read endpoint, not GET or HEAD) or not, and its X-Engram-Read-After
 * (0 = none). */
void store_request_begin(int read_endpoint, int write_method, uint64_t read_after);
void store_request_end(void);
/* The connection for this request's store calls: a replica as described above, else this
 * thread's primary connection (store_thread). */
store *store_thread_routed(struct err *err);
/* For a write request with replicas configured: the primary's WAL position now (the write
 * has committed) into out; -1 (out "") otherwise or when it cannot be read. */
int store_request_lsn(char *out, size_t size);
/* Process-wide: the SQLite WAL's hard cap in MiB (STATEWAVE_SQLITE_WAL_MAX_MB): past it new
 * write transactions wait until a RESTART checkpoint starts the WAL over. 0 or less: the
 * default (128 MiB). No effect on PostgreSQL. */
void store_sqlite_wal_cap(int mib);
/* Close every connection opened by store_thread() (call after all threads stopped). */
void store_shutdown(void);
/* This thread's connection, opened on first use; NULL with err set if it cannot be opened.
 * After a connection failure the next call tries to reconnect. */
store *store_thread(struct err *err);
/* Forget this thread's connection after a fatal connection error (it is closed). */
void store_thread_drop(void);

/* Thin wrappers over the backend table: each does what its op in struct store_ops says. */
int store_open(const struct store_ops *ops, const char *conninfo, store **out, struct err *err);
void store_close(store *st);
const char *store_backend_name(store *st);
int store_migrate(store *st, struct migrate_result *res, struct err *err);
int store_schema_version(store *st, int *current, int *latest, struct err *err);
/* The name of this binary's migration step `version` for st's backend ("initial_schema"), or
 * NULL when the binary has no such step. */
const char *store_migration_name(store *st, int version);
/* The version of this binary's last migration step for st's backend. */
int store_migration_latest(store *st);
int store_ping(store *st, struct err *err);
/* One committed write (heartbeat op); -1 with err set when writes are impossible. */
int store_heartbeat(store *st, struct err *err);
int store_tx_begin(store *st, struct err *err);
int store_tx_commit(store *st, struct err *err);
void store_tx_rollback(store *st);
int store_commits_flush(store *st, int *flushes, struct err *err);
int store_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                               size_t n, int *inserted, struct err *err);
int store_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                         struct err *err);
int store_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_page *pg, struct episode_rows *out, struct err *err);
int store_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct store_page *pg, struct memory_rows *out, struct err *err);
int store_subject_list(store *st, struct arena *a, const char *tenant,
                       const struct store_page *pg, struct subject_count_rows *out,
                       struct err *err);
int store_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                              const struct episode_window *w, struct episode_rows *out,
                              struct err *err);
int store_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                         struct err *err);

int store_subject_lock(store *st, const struct store_scope *sc, struct err *err);
int store_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                                  size_t limit, struct episode_rows *out, struct err *err);
int store_episode_mark_compiled(store *st, const char *tenant, const char *const *ids,
                                size_t n, int64_t at, struct err *err);
int store_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                              size_t limit, struct episode_rows *out, struct err *err);
int store_episode_get_many(store *st, struct arena *a, const char *tenant,
                           const struct store_ids *ids, struct episode_rows *out,
                           struct err *err);
int store_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                        struct err *err);
int store_memory_insert(store *st, const struct memory *m, struct err *err);
int store_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                             const struct memory_query *q, struct memory_rows *out,
                             struct err *err);
int store_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                           int64_t updated_at, struct err *err);
int store_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                               struct err *err);
int store_memory_set_embeddings(store *st, const char *const *ids, const float *vecs, size_t n,
                                size_t dim, struct err *err);
int store_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                     struct memory **out, struct err *err);
int store_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                              memory_vector_fn *fn, void *ctx, struct err *err);
int store_memory_scan_text(store *st, const struct store_scope *sc,
                           const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx,
                           struct err *err);
int store_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
                           const struct memory_rank_query *q, struct store_ids *out,
                           struct err *err);
int store_search_text_sync(store *st, struct err *err);
int store_search_codes_sync(store *st, struct err *err);
int store_memory_scan_codes(store *st, const struct store_scope *sc,
                            const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx,
                            struct err *err);
int store_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
                                memory_vector_fn *fn, void *ctx, struct err *err);
int store_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen,
                           struct err *err);
int store_context_gen(store *st, const struct store_scope *sc, int64_t *gen,
                      struct err *err);
int store_memory_get_many(store *st, struct arena *a, const char *tenant,
                          const struct store_ids *ids, struct memory_rows *out,
                          struct err *err);
int store_memory_set_labels(store *st, const struct label_update *u, int *found,
                            struct err *err);
int store_qcache_get(store *st, struct arena *a, struct qcache_lookup *q, struct err *err);
int store_qcache_put(store *st, const struct qcache_write *w, struct err *err);
int store_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                          struct resolution_rows *out, struct err *err);
int store_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                           const struct resolution_query *q, struct resolution_rows *out,
                           struct err *err);
int store_resolution_upsert(store *st, struct arena *a, struct resolution *r,
                            struct err *err);
int store_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                           struct health_cache_entry *out, int *found, struct err *err);
int store_health_cache_put(store *st, const struct store_scope *sc,
                           const struct health_cache_entry *e, struct err *err);
int store_health_cache_delete(store *st, const struct store_scope *sc, struct err *err);
int store_context_read(store *st, struct arena *a, const struct store_scope *sc,
                       struct context_reads *r, struct err *err);

int store_tx_begin_read(store *st, struct err *err);
int store_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                       struct err *err);
int store_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                          const struct store_cursor *cur, struct episode_rows *out,
                          struct err *err);
int store_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                          const struct store_cursor *cur, struct memory_rows *out,
                          struct err *err);
int store_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                            struct err *err);
int store_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                           struct err *err);
int store_episode_insert_many(store *st, const struct episode *eps, size_t n,
                              struct err *err);
int store_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err);

int store_snapshot_insert(store *st, const struct snapshot *snap, struct err *err);
int store_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                       struct err *err);
int store_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                        struct snapshot **out, struct err *err);
int store_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                          struct err *err);
int store_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                        struct err *err);
int store_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                       struct err *err);
int store_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                                 struct err *err);
int store_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *q,
                             struct subject_ref_rows *out, struct err *err);
int store_maintenance_trylock(store *st, int *acquired, struct err *err);
int store_maintenance_unlock(store *st, struct err *err);

int store_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err);
int store_job_insert(store *st, const struct compile_job *job, struct err *err);
int store_job_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct compile_job **out, struct err *err);
int store_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                    struct compile_job **out, struct err *err);
int store_job_renew(store *st, const char *id, int64_t lease_until, struct err *err);
int store_job_finish(store *st, const struct job_outcome *o, struct err *err);
int store_job_list(store *st, struct arena *a, const struct job_filter *f,
                   const struct store_page *pg, struct job_rows *out, struct err *err);
int store_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err);
int store_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                              struct err *err);

int store_backup(store *st, const char *path, struct err *err);

/* The bytes of the LIKE prefix pattern before its first wildcard (`%`, `_`) or escape (`\\`):
 * every subject_id the pattern matches starts with them, so a backend can read the range of
 * its subject_id index they span and filter that with the pattern. */
size_t store_like_head(const char *pattern);

/* Whether the LIKE pattern holds a run of 3 or more characters (UTF-8) free of wildcards and
 * escapes: the only patterns a trigram index narrows; any other is answered by a scan. */
int store_search_has_trigram(const char *pattern);

/* The err code of a transaction the database aborted for conflicting with a concurrent one
 * (PostgreSQL deadlock or serialization failure), a 503: the transaction run again from its
 * start may commit. Writers of several (tenant, subject) pairs in one transaction (their
 * subject_stats rows are locked in the order they are written) retry on it. */
#define STORE_RETRY_CODE "transaction_conflict"

/* 1 if subject starts with a reserved prefix (`_snapshot/`, `_bootstrap_tmp/`). */
int store_subject_reserved(const char *subject);
/* A number that changes whenever one of this process's database connections is lost (a
 * restart, a failover). A process-local cache of rows checked by a generation the database
 * keeps (service/context_cache.h) also keys its entries by it: after a failover that lost
 * the last commits of an asynchronous primary, the promoted standby could hand out a
 * generation again, and nothing read before the failover may be taken for it. */
uint64_t store_connection_epoch(void);
void store_note_connection_lost(void);

int store_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                        int64_t *count, struct err *err);
int store_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err);

int store_webhook_insert(store *st, const struct webhook_event *ev, struct err *err);
int store_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                        struct webhook_rows *out, struct err *err);
int store_webhook_update(store *st, const struct webhook_event *ev, struct err *err);
int store_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                       const struct store_page *pg, struct webhook_rows *out,
                       struct err *err);
int store_webhook_stats(store *st, struct webhook_stats *out, struct err *err);
int store_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                      struct err *err);
int store_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                        struct err *err);

int store_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                             struct row_counts *out, struct store_ids *ids, struct err *err);
int store_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                              struct row_counts *out, struct err *err);
int store_deletion_insert(store *st, const struct deletion_receipt *r, struct err *err);
int store_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                       struct deletion_receipt **out, struct err *err);
int store_lineage_put(store *st, const struct subject_lineage *l, struct err *err);
int store_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                      struct subject_lineage **out, struct err *err);
int store_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                            const struct as_of_query *q, struct memory_rows *out,
                            struct err *err);
int store_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                             const struct as_of_query *q, struct episode_rows *out,
                             struct err *err);
int store_receipt_insert(store *st, const struct receipt_row *r, struct err *err);
int store_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                      struct receipt_row **out, struct err *err);
int store_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                       const struct receipt_query *q, struct receipt_rows *out,
                       struct err *err);

int store_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *q,
                            struct explorer_subject_rows *out, struct err *err);
int store_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                           struct explorer_summary *out, struct err *err);
int store_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                            const struct explorer_episode_query *q,
                            struct explorer_episode_rows *out, struct err *err);
int store_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                            const struct explorer_memory_query *q,
                            struct explorer_memory_rows *out, struct err *err);
int store_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                               const char *session, size_t limit, struct resolution_rows *out,
                               struct err *err);
int store_explorer_citing_counts(store *st, const struct store_scope *sc,
                                 const struct store_ids *ids, int64_t *counts,
                                 struct err *err);
int store_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                        struct subject_match_rows *out, struct err *err);
int store_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                      struct string_rows *out, struct err *err);
int store_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err);
int store_usage(store *st, const struct usage_query *q, struct usage_report *out,
                struct err *err);
int store_overview(store *st, struct overview_counts *out, struct err *err);
int store_pack_rows(store *st, struct arena *a, const struct pack_owner *o,
                    struct pack_rows *out, struct err *err);
int store_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                           struct err *err);

#endif
