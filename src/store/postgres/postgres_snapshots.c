/* postgres_snapshots.c - PostgreSQL backend: subject snapshots (spec/backup-snapshots.md §5),
 * the set-based subject copy behind capture and restore (one statement), cleanup candidates
 * and purge (§7), and the maintenance lock (a session-level advisory lock, §7.4). */
#include "store/postgres/postgres-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/reserved.h"
#include "util/ts.h"

#define SNAPSHOT_COLS                                                                  \
    "id, tenant_id, name, version, source_subject_id, episode_count, memory_count, " \
    "metadata, created_at"

/* ON CONFLICT: an existing (name, version) inserts nothing, and the caller's transaction
 * stays usable (a unique violation would abort it). */
static const char SQL_SNAP_INSERT[] =
    "INSERT INTO subject_snapshots (" SNAPSHOT_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (name, version) DO NOTHING RETURNING 1";
static const char SQL_SNAP_GET[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE id = $1";
static const char SQL_SNAP_FIND[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE name = $1 AND version = $2";
static const char SQL_SNAP_LATEST[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE name = $1"
    " ORDER BY version DESC LIMIT 1";
static const char SQL_SNAP_LIST[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots ORDER BY name COLLATE \"C\", version";

/* ---- the copy: one statement ----
 *   $1 source subject, $2 every tenant or only $3 ('' = no tenant): SCOPE;
 *   $4 target subject, $5 target tenant (NULL = none), $6 shift (an interval of whole µs),
 *   $7 clamp (NULL = none), $8 snapshot id to mark (NULL = none), $9 add original_id,
 *   $10 resolutions keep their tenant, $11 the first 8 hex digits of every new id (NEW_ID),
 *   $12 as_of (NULL = every row; struct subject_copy says what it selects).
 * `src` holds the source episodes with their new ids; gen_random_uuid() is volatile, so the
 * CTE is computed once and every reference sees the same ids. `map` is the old -> new id map
 * as one jsonb object, computed once: a lookup per cited id costs a binary search, where a
 * join against the CTE would be a nested loop (its row estimate is 1). Insertion order
 * follows the source's (created_at, seq). The json columns go through jsonb only when a key
 * is added (key order then follows jsonb). idempotency_key is not copied: it names the client
 * request that wrote the source row, and a copy holding it would swallow a later ingest
 * reusing it. `msrc` is the source memories with their new ids and the copies' status,
 * valid_to and created_at, so that `codes` can copy each source memory's compact vector code
 * (memory_codes) to its copy from msrc alone: the code of a copied vector is the source's
 * code, byte for byte, and copying it spares reading 400 vectors back to compute them again
 * (pgst_codes_fill runs only when a source vector had no code). `codes` never joins the
 * inserted rows (`mem`) back to msrc: both CTEs are estimated at a row or two, so that join
 * was a nested loop comparing every copy with every source (160,000 comparisons, 17 ms for
 * 400 memories). The last two counts say whether every copied vector got its code. */
/* A UUIDv4 from gen_random_uuid() whose first 32 bits are the copy's prefix $11
 * (uuid_batch_prefix): one copy's rows sit together in the id indexes, where independent
 * random ids would each dirty, and on a first touch after a checkpoint log, a page. */
#define NEW_ID "($11::text || substr(gen_random_uuid()::text, 9))::uuid"
#define SCOPE "subject_id = $1 AND ($2::boolean OR COALESCE(tenant_id, '') = $3)"
#define SHIFTED(col) "(" col " + $6::interval)"
/* The rows that existed at $12 (every row when it is NULL). */
#define CREATED_BY_AS_OF "($12::timestamptz IS NULL OR created_at <= $12::timestamptz)"
#define MEMORY_AT_AS_OF                                                               \
    "($12::timestamptz IS NULL OR (created_at <= $12::timestamptz"                   \
    " AND status <> 'deleted' AND (valid_to IS NULL OR valid_to > $12::timestamptz)))"
/* A memory of the as_of set that is superseded now was active then. */
#define REVIVED "($12::timestamptz IS NOT NULL AND status = 'superseded')"
/* LEAST ignores NULLs, so a NULL column must be kept NULL before it sees the clamp. */
#define CLAMPED(col)                                                                  \
    "CASE WHEN " col " IS NOT NULL THEN LEAST(" col " + $6::interval, $7::timestamptz) END"
#define MARKED(col)                                                                   \
    "CASE WHEN $8::text IS NULL THEN " col " ELSE (" col "::jsonb"                    \
    " || jsonb_build_object('restored_from_snapshot', $8::text))::json END"

static const char SQL_COPY[] =
    "WITH src AS (SELECT e.*, " NEW_ID " AS new_id FROM episodes e WHERE " SCOPE
    " AND " CREATED_BY_AS_OF "),"
    " map AS (SELECT jsonb_object_agg(id, new_id) AS ids FROM src),"
    " ep AS (INSERT INTO episodes (id, subject_id, tenant_id, session_id, source, type,"
    " payload, metadata, provenance, created_at, last_compiled_at, occurred_at)"
    " SELECT new_id, $4::varchar, $5::varchar, session_id, source, type, payload, metadata,"
    " CASE WHEN $8::text IS NULL AND NOT $9::boolean THEN provenance"
    " ELSE (provenance::jsonb"
    " || CASE WHEN $9::boolean THEN jsonb_build_object('original_id', id)"
    " ELSE '{}'::jsonb END"
    " || CASE WHEN $8::text IS NULL THEN '{}'::jsonb"
    " ELSE jsonb_build_object('restored_from_snapshot', $8::text, 'original_episode_id', id)"
    " END)::json END,"
    " " SHIFTED("created_at") ","
    " CASE WHEN $12::timestamptz IS NULL OR last_compiled_at <= $12::timestamptz THEN "
    CLAMPED("last_compiled_at") " END, " SHIFTED("occurred_at")
    " FROM src ORDER BY created_at, seq RETURNING 1),"
    " msrc AS (SELECT m.*, " NEW_ID " AS new_id,"
    " CASE WHEN " REVIVED " THEN 'active' ELSE status END AS new_status,"
    " CASE WHEN " REVIVED " THEN NULL ELSE " SHIFTED("valid_to") " END AS new_valid_to,"
    " " CLAMPED("created_at") " AS new_created_at"
    " FROM memories m WHERE " SCOPE " AND " MEMORY_AT_AS_OF "),"
    " mem AS (INSERT INTO memories (id, subject_id, tenant_id, kind, content, summary,"
    " confidence, valid_from, valid_to, source_episode_ids, metadata, status, embedding,"
    " sensitivity_labels, created_at, updated_at)"
    " SELECT new_id, $4::varchar, $5::varchar, kind, content, summary, confidence,"
    " " SHIFTED("valid_from") ", new_valid_to,"
    " ARRAY(SELECT COALESCE((SELECT ids FROM map) ->> t.old::text, t.old::text)::uuid"
    " FROM unnest(m.source_episode_ids) WITH ORDINALITY AS t(old, i) ORDER BY t.i),"
    " " MARKED("metadata") ", new_status, embedding, sensitivity_labels, new_created_at,"
    " " CLAMPED("updated_at")
    " FROM msrc m ORDER BY created_at, seq RETURNING 1),"
    " codes AS (INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind, active,"
    " created_at, valid_to, code) SELECT m.new_id, $4::varchar, COALESCE($5::varchar, ''),"
    " m.kind, m.new_status = 'active', m.new_created_at, m.new_valid_to, c.code FROM msrc m"
    " JOIN memory_codes c ON c.memory_id = m.id WHERE m.embedding IS NOT NULL RETURNING 1),"
    " res AS (INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status,"
    " resolution_summary, resolved_at, metadata_, created_at, updated_at)"
    " SELECT " NEW_ID ", $4::varchar, session_id,"
    " CASE WHEN $10::boolean THEN tenant_id ELSE $5::varchar END, status, resolution_summary,"
    " " CLAMPED("resolved_at") ", " MARKED("metadata_") ","
    " " CLAMPED("created_at") ", " CLAMPED("updated_at")
    " FROM resolutions WHERE " SCOPE " AND " CREATED_BY_AS_OF
    " ORDER BY created_at, seq RETURNING 1)"
    " SELECT (SELECT count(*) FROM ep), (SELECT count(*) FROM mem), (SELECT count(*) FROM res),"
    " (SELECT count(*) FROM codes), (SELECT count(*) FROM msrc WHERE embedding IS NOT NULL)";
static const char SQL_NEWEST[] = "SELECT max(created_at) FROM episodes WHERE " SCOPE;

/* ---- cleanup ----
 * $1 prefix, $2 the prefix names `_bootstrap_tmp/`, $3 every tenant, $4 the tenant, $5 cutoff,
 * $6 limit. Literal prefixes with left(), never LIKE; the reserved ones are ASCII, so their
 * character counts equal byte counts. Order: subject then tenant in byte order, no tenant
 * first. */
#define CANDIDATE                                                                    \
    "left(subject_id, length($1::text)) = $1::text COLLATE \"C\""                    \
    " AND left(subject_id, length('" RESERVED_SNAPSHOT "')) <> '" RESERVED_SNAPSHOT "'"      \
    " AND ($2::boolean OR left(subject_id, length('" RESERVED_BOOTSTRAP "')) <> '"        \
    RESERVED_BOOTSTRAP "')"                                                          \
    " AND ($3::boolean OR COALESCE(tenant_id, '') = $4)"

static const char SQL_CANDIDATES[] =
    "WITH e AS (SELECT tenant_id, subject_id, max(created_at) AS age FROM episodes"
    " WHERE " CANDIDATE " GROUP BY tenant_id, subject_id),"
    " m AS (SELECT tenant_id, subject_id, max(updated_at) AS age FROM memories"
    " WHERE " CANDIDATE " GROUP BY tenant_id, subject_id),"
    " pairs AS (SELECT tenant_id, subject_id, age FROM e UNION ALL"
    " SELECT tenant_id, subject_id, age FROM m WHERE NOT EXISTS (SELECT 1 FROM e"
    " WHERE e.tenant_id IS NOT DISTINCT FROM m.tenant_id AND e.subject_id = m.subject_id))"
    " SELECT tenant_id, subject_id FROM pairs WHERE age < $5::timestamptz"
    " ORDER BY subject_id COLLATE \"C\", tenant_id COLLATE \"C\" NULLS FIRST LIMIT $6";
/* The maintenance pass's session lock: one bigint key ("EngramMt" in ASCII). Single-key
 * advisory locks live apart from the two-key ones pgst_subject_lock takes. */
static const char SQL_MAINT_TRYLOCK[] = "SELECT pg_try_advisory_lock(5003049977013685620)";
static const char SQL_MAINT_UNLOCK[] = "SELECT pg_advisory_unlock(5003049977013685620)";

/* ---- snapshots ---- */

/* 1 if version fits the integer column and the 1 .. 2^31-1 range of the spec (§5.2). */
static int version_ok(int64_t version)
{
    return version >= 1 && version <= INT32_MAX;
}

static int read_snapshot(struct arena *a, const PGresult *r, int row, void *out)
{
    struct snapshot *snap = out;

    snprintf(snap->id, sizeof(snap->id), "%s", PQgetvalue(r, row, 0));
    snap->tenant_id = pgst_col_str(a, r, row, 1);
    snap->name = pgst_col_str(a, r, row, 2);
    snap->version = pgst_col_int(r, row, 3);
    snap->source_subject_id = pgst_col_str(a, r, row, 4);
    snap->episode_count = pgst_col_int(r, row, 5);
    snap->memory_count = pgst_col_int(r, row, 6);
    snap->metadata = pgst_col_json(a, r, row, 7);
    return pgst_col_ts(r, row, 8, &snap->created_at);
}

int pgst_snapshot_insert(store *st, const struct snapshot *snap, struct err *err)
{
    char ver[PG_INT_LEN], ne[PG_INT_LEN], nm[PG_INT_LEN], at[TS_STR_LEN];
    int64_t created = snap->created_at == TS_NULL ? ts_now() : snap->created_at;
    const char *vals[9];
    PGresult *r;
    int inserted;

    if (!pgst_id_ok(snap->id) || !snap->name || !snap->source_subject_id ||
        !version_ok(snap->version))
        return err_set(err, ERR_INVALID, "Invalid snapshot name or version");
    vals[0] = snap->id;
    vals[1] = pgst_tenant_value(snap->tenant_id);
    vals[2] = snap->name;
    vals[3] = pgst_int_param(snap->version, ver);
    vals[4] = snap->source_subject_id;
    vals[5] = pgst_int_param(snap->episode_count, ne);
    vals[6] = pgst_int_param(snap->memory_count, nm);
    vals[7] = pgst_json_param(snap->metadata, "{}");
    vals[8] = pgst_ts_param(created, at);
    r = pgst_exec(pgst_downcast(st), SQL_SNAP_INSERT, 9, vals, err);
    if (!r)
        return -1;
    inserted = PQntuples(r) > 0;
    PQclear(r);
    if (!inserted)
        return err_set(err, ERR_CONFLICT, "snapshot '%s' version %lld already exists",
                       snap->name, (long long)snap->version);
    return 0;
}

/* Run sql and return its first row, or *out NULL when there is none. */
static int one_snapshot(struct pgst_store *ps, struct arena *a, const char *sql, int nparams,
                        const char *const *vals, struct snapshot **out, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, vals, err);
    void *rows = NULL;
    size_t n = 0;
    int ret;

    *out = NULL;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_snapshot, &rows, &n, err);
    PQclear(r);
    if (ret == 0 && n > 0)
        *out = rows;
    return ret;
}

int pgst_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                    struct err *err)
{
    const char *vals[1] = { id };

    *out = NULL;
    if (!pgst_id_ok(id))
        return 0;
    return one_snapshot(pgst_downcast(st), a, SQL_SNAP_GET, 1, vals, out, err);
}

int pgst_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                     struct snapshot **out, struct err *err)
{
    char ver[PG_INT_LEN];
    const char *vals[2] = { name, pgst_int_param(version, ver) };

    *out = NULL;
    if (!name || !version_ok(version))
        return 0;
    return one_snapshot(pgst_downcast(st), a, SQL_SNAP_FIND, 2, vals, out, err);
}

int pgst_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                         struct err *err)
{
    const char *vals[1] = { name };

    *out = NULL;
    if (!name)
        return 0;
    return one_snapshot(pgst_downcast(st), a, SQL_SNAP_LATEST, 1, vals, out, err);
}

int pgst_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                     struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_SNAP_LIST, 0, NULL, err);
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_snapshot, &rows, n, err);
    PQclear(r);
    *out = rows;
    return ret;
}

/* ---- the copy ---- */

int pgst_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                    struct err *err)
{
    char shift[48], clamp[TS_STR_LEN], prefix[9], as_of[TS_STR_LEN];
    const char *vals[12];
    PGresult *r;
    int complete;

    memset(out, 0, sizeof(*out));
    if (spec->mark_snapshot_id && !pgst_id_ok(spec->mark_snapshot_id))
        return err_set(err, ERR_INVALID, "snapshot id '%s' is not a lower-case UUID",
                       spec->mark_snapshot_id);
    /* Interval input keeps whole microseconds in an int64: exact, unlike a float factor. */
    snprintf(shift, sizeof(shift), "%" PRId64 " microseconds", spec->shift_us);
    vals[0] = spec->src_subject;
    vals[1] = spec->src_all_tenants ? "true" : "false";
    vals[2] = pgst_tenant_key(spec->src_tenant);
    vals[3] = spec->dst_subject;
    vals[4] = pgst_tenant_value(spec->dst_tenant);
    vals[5] = shift;
    vals[6] = pgst_ts_param(spec->clamp_at, clamp);
    vals[7] = spec->mark_snapshot_id;
    vals[8] = spec->mark_original_id ? "true" : "false";
    vals[9] = spec->keep_res_tenant ? "true" : "false";
    snprintf(prefix, sizeof(prefix), "%08" PRIx32, uuid_batch_prefix());
    vals[10] = prefix;
    vals[11] = pgst_ts_param(spec->has_as_of ? spec->as_of : TS_NULL, as_of);
    r = pgst_exec(pgst_downcast(st), SQL_COPY, 12, vals, err);
    if (!r)
        return -1;
    out->episodes = pgst_col_int(r, 0, 0);
    out->memories = pgst_col_int(r, 0, 1);
    out->resolutions = pgst_col_int(r, 0, 2);
    complete = pgst_col_int(r, 0, 3) == pgst_col_int(r, 0, 4);
    PQclear(r);
    if (complete)
        return 0;
    /* A source vector without its code (none should be: every path that writes a vector
     * writes its code): compute the copies' missing codes from their vectors. */
    return pgst_codes_fill(pgst_downcast(st),
                           &(struct store_scope){ .tenant = spec->dst_tenant,
                                                  .subject = spec->dst_subject },
                           err);
}

int pgst_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                                struct err *err)
{
    const char *vals[3] = { sc->subject, sc->all_tenants ? "true" : "false",
                            pgst_tenant_key(sc->tenant) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_NEWEST, 3, vals, err);
    int ret = 0;

    *newest = TS_NULL;
    if (!r)
        return -1;
    if (PQntuples(r) > 0 && pgst_col_ts(r, 0, 0, newest) < 0)
        ret = err_set(err, ERR_INTERNAL, "database error");
    PQclear(r);
    return ret;
}

/* ---- cleanup ---- */

static int read_subject_ref(struct arena *a, const PGresult *r, int row, void *out)
{
    struct subject_ref *ref = out;

    ref->tenant_id = pgst_col_str(a, r, row, 0);
    ref->subject_id = pgst_col_str(a, r, row, 1);
    return 0;
}

int pgst_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *cq,
                            struct subject_ref_rows *out, struct err *err)
{
    char at[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[6] = {
        cq->prefix, reserved_has_prefix(cq->prefix, RESERVED_BOOTSTRAP) ? "true" : "false",
        cq->all_tenants ? "true" : "false", pgst_tenant_key(cq->tenant),
        pgst_ts_param(cq->cutoff, at), pgst_size_param(cq->limit, lim),
    };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_CANDIDATES, 6, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), read_subject_ref, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

/* ---- the maintenance lock ---- */

/* Session-level: held by this connection across transactions until maintenance_unlock (or
 * until the connection ends, which releases it). */
int pgst_maintenance_trylock(store *st, int *acquired, struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_MAINT_TRYLOCK, 0, NULL, err);

    *acquired = 0;
    if (!r)
        return -1;
    *acquired = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

int pgst_maintenance_unlock(store *st, struct err *err)
{
    return pgst_exec_void(pgst_downcast(st), SQL_MAINT_UNLOCK, 0, NULL, err);
}
