/* sqlite_snapshots.c - SQLite backend: subject snapshots (spec/backup-snapshots.md §5), the
 * set-based subject copy behind capture and restore, cleanup candidates and purge (§7), the
 * maintenance lock (always granted: SQLite admits one writer anyway), and the SQL functions
 * the copy needs (engram_uuid4, engram_ts_shift), registered on every connection. */
#include "store/sqlite/sqlite-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/reserved.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* The fixed-width storage form holds years 0000-9999 only; a shift past them is an error. */
#define TS_FIXED_MIN (-62167219200LL * 1000000)          /* 0000-01-01T00:00:00.000000Z */
#define TS_FIXED_MAX (253402300800LL * 1000000 - 1)      /* 9999-12-31T23:59:59.999999Z */

#define SNAPSHOT_COLS                                                                  \
    "id, tenant_id, name, version, source_subject_id, episode_count, memory_count, " \
    "metadata, created_at"

static const char SQL_SNAP_INSERT[] =
    "INSERT INTO subject_snapshots (" SNAPSHOT_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (name, version) DO NOTHING";
static const char SQL_SNAP_GET[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE id = ?1";
static const char SQL_SNAP_FIND[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE name = ?1 AND version = ?2";
static const char SQL_SNAP_LATEST[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots WHERE name = ?1 "
    "ORDER BY version DESC LIMIT 1";
static const char SQL_SNAP_LIST[] =
    "SELECT " SNAPSHOT_COLS " FROM subject_snapshots ORDER BY name, version";

/* ---- the copy ----
 * Parameters, the same number in every statement:
 *   ?1 source subject, ?2 every tenant (1) or only ?3 (NULL = no tenant): SCOPE;
 *   ?4 target subject, ?5 target tenant, ?6 shift in µs, ?7 clamp (fixed text or NULL),
 *   ?8 snapshot id to mark (NULL = none), ?9 add original_id, ?10 resolutions keep tenant,
 *   ?11 the 32-bit prefix of every new id (uuid_batch_prefix: one copy's rows sit together in
 *   the id indexes, where independent random ids would each dirty a leaf page of their own),
 *   ?12 as_of (fixed text, NULL = every row; struct subject_copy says what it selects).
 * Two TEMP tables of this connection, created on first use (and again after a rollback undid
 * their creation), emptied before and after each copy:
 *   snapshot_copy_map    the source episodes in (created_at, seq) order (ord), with new ids;
 *   snapshot_copy_order  the source memories' seq in (created_at, seq) order.
 * Rows are inserted in the source's (created_at, seq) order, so equal timestamps keep their
 * order. Each copy walks one of these tables by ord and probes the source row by key
 * (CROSS JOIN fixes that join order), so the ORDER BY costs no sort of whole rows (400
 * 6 KiB embeddings, for a restore), and nothing scans more than the snapshot: left to
 * itself the planner, which has no statistics on TEMP tables, walked the whole episodes id
 * index and probed the map, a cost in proportion to the database. */
#define SCOPE "subject_id = ?1 AND (?2 OR tenant_id IS ?3)"
/* The rows that existed at ?12 (every row when it is NULL). */
#define CREATED_BY_AS_OF "(?12 IS NULL OR created_at <= ?12)"
#define MEMORY_AT_AS_OF                                                           \
    "(?12 IS NULL OR (created_at <= ?12 AND status <> 'deleted'"                  \
    " AND (valid_to IS NULL OR valid_to > ?12)))"
/* A memory of the as_of set that is superseded now was active then. */
#define REVIVED "(?12 IS NOT NULL AND x.status = 'superseded')"

static const char SQL_MAP_CREATE[] =
    "CREATE TEMP TABLE IF NOT EXISTS snapshot_copy_map "
    "(ord INTEGER PRIMARY KEY, old_id TEXT NOT NULL UNIQUE, new_id TEXT NOT NULL)";
static const char SQL_ORDER_CREATE[] =
    "CREATE TEMP TABLE IF NOT EXISTS snapshot_copy_order "
    "(ord INTEGER PRIMARY KEY, seq INTEGER NOT NULL)";
static const char SQL_MAP_CLEAR[] = "DELETE FROM temp.snapshot_copy_map";
static const char SQL_ORDER_CLEAR[] = "DELETE FROM temp.snapshot_copy_order";
static const char SQL_MAP_FILL[] =
    "INSERT INTO temp.snapshot_copy_map (old_id, new_id) "
    "SELECT id, engram_uuid4(?11) FROM episodes WHERE " SCOPE " AND " CREATED_BY_AS_OF
    " ORDER BY created_at, seq";
static const char SQL_ORDER_FILL[] =
    "INSERT INTO temp.snapshot_copy_order (seq) "
    "SELECT seq FROM memories WHERE " SCOPE " AND " MEMORY_AT_AS_OF " ORDER BY created_at, seq";
/* idempotency_key is not copied: it names the client request that wrote the source row, and
 * a copy holding it would swallow a later ingest reusing that key. */
static const char SQL_EP_COPY[] =
    "INSERT INTO episodes (" SQ_EPISODE_COLS ") "
    "SELECT new_id, ?4, ?5, session_id, source, type, payload, metadata, "
    "CASE WHEN ?8 IS NULL THEN prov ELSE json_set(prov, '$.restored_from_snapshot', ?8, "
    "'$.original_episode_id', old_id) END, "
    "NULL, engram_ts_shift(created_at, ?6, NULL), "
    "CASE WHEN ?12 IS NOT NULL AND last_compiled_at > ?12 THEN NULL "
    "ELSE engram_ts_shift(last_compiled_at, ?6, ?7) END, "
    "engram_ts_shift(occurred_at, ?6, NULL) "
    "FROM (SELECT m.ord, m.new_id, e.id AS old_id, e.session_id, e.source, e.type, "
    "e.payload, e.metadata, CASE WHEN ?9 THEN json_set(e.provenance, '$.original_id', e.id) "
    "ELSE e.provenance END AS prov, e.created_at, e.last_compiled_at, e.occurred_at "
    "FROM temp.snapshot_copy_map m CROSS JOIN episodes e ON e.id = m.old_id) "
    "ORDER BY ord";
/* source_episode_ids element by element in key order; ids outside the map are kept. */
static const char SQL_MEM_COPY[] =
    "INSERT INTO memories (" SQ_MEMORY_COLS ") "
    "SELECT engram_uuid4(?11), ?4, ?5, kind, content, summary, confidence, "
    "engram_ts_shift(valid_from, ?6, NULL), "
    "CASE WHEN " REVIVED " THEN NULL ELSE engram_ts_shift(valid_to, ?6, NULL) END, "
    "(SELECT json_group_array(v) FROM (SELECT COALESCE(mp.new_id, j.value) AS v "
    "FROM json_each(x.source_episode_ids) j "
    "LEFT JOIN temp.snapshot_copy_map mp ON mp.old_id = j.value ORDER BY j.key)), "
    "CASE WHEN ?8 IS NULL THEN metadata "
    "ELSE json_set(metadata, '$.restored_from_snapshot', ?8) END, "
    "CASE WHEN " REVIVED " THEN 'active' ELSE status END, embedding, sensitivity_labels, "
    "engram_ts_shift(x.created_at, ?6, ?7), engram_ts_shift(x.updated_at, ?6, ?7) "
    "FROM temp.snapshot_copy_order o CROSS JOIN memories x ON x.seq = o.seq ORDER BY o.ord";
static const char SQL_RES_COPY[] =
    "INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status, "
    "resolution_summary, resolved_at, metadata_, created_at, updated_at) "
    "SELECT engram_uuid4(?11), ?4, session_id, CASE WHEN ?10 THEN tenant_id ELSE ?5 END, "
    "status, resolution_summary, engram_ts_shift(resolved_at, ?6, ?7), "
    "CASE WHEN ?8 IS NULL THEN metadata_ "
    "ELSE json_set(metadata_, '$.restored_from_snapshot', ?8) END, "
    "engram_ts_shift(created_at, ?6, ?7), engram_ts_shift(updated_at, ?6, ?7) "
    "FROM resolutions WHERE " SCOPE " AND " CREATED_BY_AS_OF " ORDER BY created_at, seq";
static const char SQL_NEWEST[] = "SELECT MAX(created_at) FROM episodes WHERE " SCOPE;

/* ---- cleanup ----
 * ?1 prefix, ?2 the first string past every string starting with ?1, ?3 the prefix names
 * `_bootstrap_tmp/`, ?4 every tenant, ?5 the tenant, ?6 cutoff, ?7 limit.
 * The literal prefix test is the range ?1 <= subject_id < ?2 in byte order (BINARY), which
 * holds exactly for the strings starting with ?1 and walks the subject_id indexes; when no
 * such ?2 exists it is an empty BLOB, which sorts after every TEXT. The reserved prefixes
 * are ASCII, so their character counts equal byte counts. */
#define CANDIDATE "subject_id >= ?1 AND subject_id < ?2 " \
    "AND substr(subject_id, 1, length('" RESERVED_SNAPSHOT "')) <> '" RESERVED_SNAPSHOT "' " \
    "AND (?3 OR substr(subject_id, 1, length('" RESERVED_BOOTSTRAP "')) <> '" \
    RESERVED_BOOTSTRAP "') " \
    "AND (?4 OR tenant_id IS ?5)"

static const char SQL_CANDIDATES[] =
    "WITH e AS (SELECT tenant_id, subject_id, MAX(created_at) AS age FROM episodes "
    "WHERE " CANDIDATE " GROUP BY tenant_id, subject_id), "
    "m AS (SELECT tenant_id, subject_id, MAX(updated_at) AS age FROM memories "
    "WHERE " CANDIDATE " GROUP BY tenant_id, subject_id), "
    "pairs AS (SELECT tenant_id, subject_id, age FROM e UNION ALL "
    "SELECT tenant_id, subject_id, age FROM m WHERE NOT EXISTS (SELECT 1 FROM e "
    "WHERE e.tenant_id IS m.tenant_id AND e.subject_id = m.subject_id)) "
    "SELECT tenant_id, subject_id FROM pairs WHERE age < ?6 "
    "ORDER BY subject_id, tenant_id LIMIT ?7";
/* ---- SQL functions ---- */

/* engram_uuid4(prefix): a fresh lower-case UUIDv4 per call, whose first 32 bits are the
 * integer prefix (uuid_v4_prefixed); NULL for no prefix. */
static void fn_uuid4(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char id[UUID_STR_LEN];

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        uuid_v4(id);
    else
        uuid_v4_prefixed(id, (uint32_t)sqlite3_value_int64(argv[0]));
    sqlite3_result_text(ctx, id, UUID_STR_LEN - 1, SQLITE_TRANSIENT);
}

/* A timestamp argument (fixed-width text) as µs; -1 if it is not one. */
static int value_ts(sqlite3_value *v, int64_t *us)
{
    const char *text = (const char *)sqlite3_value_text(v);

    return text && ts_parse(text, us) == 0 ? 0 : -1;
}

/* engram_ts_shift(ts, shift_us, clamp): ts + shift_us, at most clamp when clamp is not NULL,
 * in the fixed-width form; NULL for a NULL ts. */
static void fn_ts_shift(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t us, shift = sqlite3_value_int64(argv[1]), clamp;
    char out[TS_STR_LEN];
    size_t n;

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (value_ts(argv[0], &us) < 0 || us < TS_FIXED_MIN || us > TS_FIXED_MAX) {
        sqlite3_result_error(ctx, "engram_ts_shift: not a stored timestamp", -1);
        return;
    }
    if (shift > TS_FIXED_MAX - us || shift < TS_FIXED_MIN - us) {
        sqlite3_result_error(ctx, "engram_ts_shift: shifted past year 0000-9999", -1);
        return;
    }
    us += shift;
    if (sqlite3_value_type(argv[2]) != SQLITE_NULL) {
        if (value_ts(argv[2], &clamp) < 0) {
            sqlite3_result_error(ctx, "engram_ts_shift: clamp is not a timestamp", -1);
            return;
        }
        if (us > clamp)
            us = clamp;
    }
    n = ts_format_fixed(us, out, sizeof(out));
    sqlite3_result_text(ctx, out, (int)n, SQLITE_TRANSIENT);
}

int sq_register_functions(sqlite3 *db)
{
    int rc;

    /* Not SQLITE_DETERMINISTIC: every call must give a new id. */
    rc = sqlite3_create_function_v2(db, "engram_uuid4", 1, SQLITE_UTF8, NULL, fn_uuid4, NULL,
                                    NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    return sqlite3_create_function_v2(db, "engram_ts_shift", 3,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                      NULL, fn_ts_shift, NULL, NULL, NULL);
}

/* ---- snapshots ---- */

/* 1 if version fits the int32 column and the 1 .. 2^31-1 range of the spec (§5.2). */
static int version_ok(int64_t version)
{
    return version >= 1 && version <= INT32_MAX;
}

static int read_snapshot(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct snapshot *snap = row;

    sq_col_id(q, 0, snap->id);
    snap->tenant_id = sq_col_str(a, q, 1);
    snap->name = sq_col_str(a, q, 2);
    snap->version = sqlite3_column_int64(q, 3);
    snap->source_subject_id = sq_col_str(a, q, 4);
    snap->episode_count = sqlite3_column_int64(q, 5);
    snap->memory_count = sqlite3_column_int64(q, 6);
    snap->metadata = sq_col_str(a, q, 7);
    if (sq_col_ts(q, 8, &snap->created_at) < 0)
        return sq_bad_timestamp("subject_snapshots", err);
    return 0;
}

/* ON CONFLICT (name, version) DO NOTHING: an existing pair inserts nothing and leaves the
 * caller's transaction usable; an existing id still fails as ERR_CONFLICT (sq_fail). */
int sq_snapshot_insert(store *st, const struct snapshot *snap, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    int64_t created = snap->created_at == TS_NULL ? ts_now() : snap->created_at;
    sqlite3_stmt *q;

    if (!sq_id_ok(snap->id) || !snap->name || !snap->source_subject_id ||
        !version_ok(snap->version))
        return err_set(err, ERR_INVALID, "Invalid snapshot name or version");
    q = sq_stmt(s, SQL_SNAP_INSERT, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, snap->id);
    sq_bind_tenant(q, 2, snap->tenant_id);
    sq_bind_str(q, 3, snap->name);
    sqlite3_bind_int64(q, 4, snap->version);
    sq_bind_str(q, 5, snap->source_subject_id);
    sqlite3_bind_int64(q, 6, snap->episode_count);
    sqlite3_bind_int64(q, 7, snap->memory_count);
    sq_bind_json(q, 8, snap->metadata, "{}");
    sq_bind_ts(q, 9, created);
    if (sq_step_done(s, q, "snapshot insert", err) < 0)
        return -1;
    if (sqlite3_changes64(s->db) == 0)
        return err_set(err, ERR_CONFLICT, "snapshot '%s' version %lld already exists",
                       snap->name, (long long)snap->version);
    return 0;
}

/* Run q (bound) and return its first row, or *out NULL when there is none. */
static int one_snapshot(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q,
                        struct snapshot **out, struct err *err)
{
    void *rows = NULL;
    size_t n = 0;

    *out = NULL;
    if (sq_collect_rows(s, a, q, sizeof(**out), 1, read_snapshot, &rows, &n, err) < 0)
        return -1;
    if (n > 0)
        *out = rows;
    return 0;
}

int sq_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                    struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;

    *out = NULL;
    if (!sq_id_ok(id))
        return 0;
    q = sq_stmt(s, SQL_SNAP_GET, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, id);
    return one_snapshot(s, a, q, out, err);
}

int sq_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                     struct snapshot **out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;

    *out = NULL;
    if (!name || !version_ok(version))
        return 0;
    q = sq_stmt(s, SQL_SNAP_FIND, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, name);
    sqlite3_bind_int64(q, 2, version);
    return one_snapshot(s, a, q, out, err);
}

int sq_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                       struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;

    *out = NULL;
    if (!name)
        return 0;
    q = sq_stmt(s, SQL_SNAP_LATEST, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, name);
    return one_snapshot(s, a, q, out, err);
}

int sq_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                     struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_SNAP_LIST, err);
    void *rows = NULL;
    int ret = -1;

    *n = 0;
    if (q)
        ret = sq_collect_rows(s, a, q, sizeof(**out), 16, read_snapshot, &rows, n, err);
    *out = rows;
    return ret;
}

/* ---- the copy ---- */

/* Bind the copy parameters (numbered as above) up to the highest one q uses. */
static void bind_copy(sqlite3_stmt *q, const struct subject_copy *c, uint32_t prefix)
{
    int used = sqlite3_bind_parameter_count(q);

    sq_bind_str(q, 1, c->src_subject);
    sqlite3_bind_int(q, 2, c->src_all_tenants != 0);
    sq_bind_tenant(q, 3, c->src_tenant);
    if (used < 4)
        return;
    sq_bind_str(q, 4, c->dst_subject);
    sq_bind_tenant(q, 5, c->dst_tenant);
    sqlite3_bind_int64(q, 6, c->shift_us);
    sq_bind_ts(q, 7, c->clamp_at);
    sq_bind_str(q, 8, c->mark_snapshot_id);
    sqlite3_bind_int(q, 9, c->mark_original_id != 0);
    if (used < 10)
        return;
    sqlite3_bind_int(q, 10, c->keep_res_tenant != 0);
    sqlite3_bind_int64(q, 11, prefix);
    if (used < 12)
        return;
    sq_bind_ts(q, 12, c->has_as_of ? c->as_of : TS_NULL);
}

/* Run one copy statement; *count gets the rows it wrote (NULL: not wanted). */
static int copy_step(struct sqlite_store *s, const char *sql, const struct subject_copy *c,
                     uint32_t prefix, int64_t *count, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (!q)
        return -1;
    bind_copy(q, c, prefix);
    if (sq_step_done(s, q, "subject copy", err) < 0)
        return -1;
    if (count)
        *count = sqlite3_changes64(s->db);
    return 0;
}

/* copy_step of a statement that inserts rows of table t, its counters kept from C
 * (sqlite_counters.c). */
static int copy_rows(struct sqlite_store *s, enum sq_bulk_table t, const char *sql,
                     const struct subject_copy *c, uint32_t prefix, int64_t *count,
                     struct err *err)
{
    struct sq_bulk bulk;

    if (sq_bulk_begin(s, t, &bulk, err) < 0)
        return -1;
    return sq_bulk_end(s, &bulk, copy_step(s, sql, c, prefix, count, err), err);
}

static int map_clear(struct sqlite_store *s, struct err *err)
{
    if (sq_exec(s, SQL_MAP_CLEAR, err) < 0)
        return -1;
    return sq_exec(s, SQL_ORDER_CLEAR, err);
}

/* The temp tables exist (created here on first use) and are empty. Created before any
 * statement naming it is prepared, which would fail on a missing table. */
static int map_ready(struct sqlite_store *s, struct err *err)
{
    if (sq_exec(s, SQL_MAP_CREATE, err) < 0 || sq_exec(s, SQL_ORDER_CREATE, err) < 0)
        return -1;
    return map_clear(s, err);
}

int sq_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                    struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct row_counts n = { 0, 0, 0 };
    uint32_t prefix = uuid_batch_prefix();
    int ret;

    memset(out, 0, sizeof(*out));
    ret = map_ready(s, err);
    if (ret == 0)
        ret = copy_step(s, SQL_MAP_FILL, spec, prefix, NULL, err);
    if (ret == 0)
        ret = copy_rows(s, SQ_BULK_EPISODES, SQL_EP_COPY, spec, prefix, &n.episodes, err);
    if (ret == 0)
        ret = copy_step(s, SQL_ORDER_FILL, spec, prefix, NULL, err);
    if (ret == 0)
        ret = copy_rows(s, SQ_BULK_MEMORIES, SQL_MEM_COPY, spec, prefix, &n.memories, err);
    if (ret == 0)
        ret = copy_step(s, SQL_RES_COPY, spec, prefix, &n.resolutions, err);
    if (ret == 0)
        ret = map_clear(s, err);
    if (ret == 0)
        *out = n;
    return ret;
}

int sq_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                              struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_NEWEST, err);
    int rc, bad = 0;

    *newest = TS_NULL;
    if (!q)
        return -1;
    sq_bind_str(q, 1, sc->subject);
    sqlite3_bind_int(q, 2, sc->all_tenants != 0);
    sq_bind_tenant(q, 3, sc->tenant);
    rc = sq_step(q);
    if (rc == SQLITE_ROW)
        bad = sq_col_ts(q, 0, newest) < 0;
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "newest episode", rc, err);
    if (bad)
        return sq_bad_timestamp("episodes", err);
    return 0;
}

/* ---- cleanup ---- */

unsigned char *sq_prefix_successor(const char *prefix, size_t n, size_t *len)
{
    unsigned char *up;

    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    *len = n;
    if (n == 0)
        return NULL;
    up = xmalloc(n);
    memcpy(up, prefix, n);
    up[n - 1]++;
    return up;
}

static int read_subject_ref(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct subject_ref *ref = row;

    (void)err;
    ref->tenant_id = sq_col_str(a, q, 0);
    ref->subject_id = sq_col_str(a, q, 1);
    return 0;
}

int sq_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *cq,
                          struct subject_ref_rows *out, struct err *err)
{
    const char *prefix = cq->prefix;
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_CANDIDATES, err);
    unsigned char *upper;
    size_t uplen;
    void *rows = NULL;
    int ret;

    out->items = NULL;
    out->n = 0;
    if (!q)
        return -1;
    upper = sq_prefix_successor(prefix, strlen(prefix), &uplen);
    sq_bind_str(q, 1, prefix);
    if (upper)
        sqlite3_bind_text(q, 2, (const char *)upper, (int)uplen, free);
    else
        sqlite3_bind_zeroblob(q, 2, 0);
    sqlite3_bind_int(q, 3, reserved_has_prefix(prefix, RESERVED_BOOTSTRAP));
    sqlite3_bind_int(q, 4, cq->all_tenants != 0);
    sq_bind_tenant(q, 5, cq->tenant);
    sq_bind_ts(q, 6, cq->cutoff);
    sq_bind_count(q, 7, cq->limit, 1);
    ret = sq_collect_rows(s, a, q, sizeof(*out->items), cq->limit, read_subject_ref, &rows,
                          &out->n, err);
    out->items = rows;
    return ret;
}

/* ---- the maintenance lock: one writer per database file already, so always granted ---- */

int sq_maintenance_trylock(store *st, int *acquired, struct err *err)
{
    (void)sq_downcast(st);
    (void)err;
    *acquired = 1;
    return 0;
}

int sq_maintenance_unlock(store *st, struct err *err)
{
    (void)sq_downcast(st);
    (void)err;
    return 0;
}
