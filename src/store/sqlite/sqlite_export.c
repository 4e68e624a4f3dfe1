/* sqlite_export.c - SQLite backend: subject export and import (spec/backup-snapshots.md §1,
 * §3): counts and keyset pages of a subject's rows ordered by (created_at, id), which ids are
 * already taken, and inserting rows exactly as given with one reused statement. */
#include "store/sqlite/sqlite-internal.h"

#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

/* ?1 subject, ?2 every tenant (1) or only ?3 (0); the same scope in every query below. */
#define SCOPE "subject_id = ?1 AND (?2 OR tenant_id IS ?3)"

static const char SQL_COUNT[] =
    "SELECT (SELECT COUNT(*) FROM episodes WHERE " SCOPE "), "
    "(SELECT COUNT(*) FROM memories WHERE " SCOPE ")";
/* Pages walk ix_*_subject_created_id: fixed-width timestamps and lower-case UUIDs compare as
 * text in time and id order, and the row value (created_at, id) > (?5, ?6) is a range on it. */
static const char SQL_EP_FIRST[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE " SCOPE " "
    "ORDER BY created_at, id LIMIT ?4";
static const char SQL_EP_NEXT[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE " SCOPE " "
    "AND (created_at, id) > (?5, ?6) ORDER BY created_at, id LIMIT ?4";
static const char SQL_MEM_FIRST[] =
    "SELECT " SQ_MEMORY_COLS " FROM memories WHERE " SCOPE " "
    "ORDER BY created_at, id LIMIT ?4";
static const char SQL_MEM_NEXT[] =
    "SELECT " SQ_MEMORY_COLS " FROM memories WHERE " SCOPE " "
    "AND (created_at, id) > (?5, ?6) ORDER BY created_at, id LIMIT ?4";
/* The ids travel as one JSON array; each probes the unique index on id. */
static const char SQL_EP_TAKEN[] =
    "SELECT COUNT(*) FROM episodes WHERE id IN (SELECT value FROM json_each(?1))";
static const char SQL_MEM_TAKEN[] =
    "SELECT COUNT(*) FROM memories WHERE id IN (SELECT value FROM json_each(?1))";
/* No ON CONFLICT: an existing id must fail the import, not vanish from it. */
static const char SQL_EP_ADD[] =
    "INSERT INTO episodes (" SQ_EPISODE_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char SQL_MEM_ADD[] =
    "INSERT INTO memories (" SQ_MEMORY_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

int sq_id_ok(const char *id)
{
    const char *p;

    if (!id || !uuid_valid(id))
        return 0;
    for (p = id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            return 0;
    return 1;
}

static void bind_scope(sqlite3_stmt *q, const struct store_scope *sc)
{
    sq_bind_str(q, 1, sc->subject);
    sqlite3_bind_int(q, 2, sc->all_tenants != 0);
    sq_bind_tenant(q, 3, sc->tenant);
}

int sq_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                    struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_COUNT, err);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    bind_scope(q, sc);
    rc = sq_step(q);
    if (rc == SQLITE_ROW) {
        out->episodes = sqlite3_column_int64(q, 0);
        out->memories = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "export count", rc, err);
    return 0;
}

/* One page of rows: sql[0] for the first page, sql[1] after a key. */
/* Which statements a page reads (sql[0] for the first page, sql[1] after the cursor's key)
 * and how it reads their rows. */
struct page_kind {
    const char *sql[2];
    size_t size;
    sq_row_reader *read;
};

static const struct page_kind EPISODE_PAGES = {
    { SQL_EP_FIRST, SQL_EP_NEXT }, sizeof(struct episode), sq_read_episode,
};
static const struct page_kind MEMORY_PAGES = {
    { SQL_MEM_FIRST, SQL_MEM_NEXT }, sizeof(struct memory), sq_read_memory,
};

/* One page of rows of sc after cur's key into *out / *n (an array, never NULL). */
static int read_page(store *st, struct arena *a, const struct page_kind *k,
                     const struct store_scope *sc, const struct store_cursor *cur, void **out,
                     size_t *n, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;

    *out = arena_calloc(a, 1, k->size);
    *n = 0;
    if (cur->after_id && (!sq_id_ok(cur->after_id) || cur->after_created == TS_NULL))
        return err_set(err, ERR_INVALID, "export page key is not a row's (created_at, id)");
    q = sq_stmt(s, k->sql[cur->after_id != NULL], err);
    if (!q)
        return -1;
    bind_scope(q, sc);
    sq_bind_count(q, 4, cur->limit, 1);
    if (cur->after_id) {
        sq_bind_ts(q, 5, cur->after_created);
        sq_bind_str(q, 6, cur->after_id);
    }
    return sq_collect_rows(s, a, q, k->size, cur->limit, k->read, out, n, err);
}

int sq_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_cursor *cur, struct episode_rows *out,
                       struct err *err)
{
    void *rows;
    int ret = read_page(st, a, &EPISODE_PAGES, sc, cur, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int sq_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_cursor *cur, struct memory_rows *out,
                       struct err *err)
{
    void *rows;
    int ret = read_page(st, a, &MEMORY_PAGES, sc, cur, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

/* ---- ids already taken ---- */

/* How many rows sql (?1 = a JSON array of ids) counts for the canonical ids among ids. */
/* Bulk work (an import's id checks and inserts, thousands of rows) runs with a small page
 * cache: the id probes of a large database would otherwise fill the connection's 16 MiB with
 * index pages, and SQLite writes the dirty pages of a big insert to the WAL as it goes (still
 * one transaction) instead of holding them all in memory. Not below 5,000 rows: a compile's
 * batch (500 episodes, up to 1,500 memories with 6 KiB vectors, 9 MiB) fits the normal cache,
 * and with the small one the pages it wrote were read back from the WAL by the same
 * transaction (the conflict pass reads the memories' columns past the vector): 65 MB of WAL
 * reads for a 1,000-episode compile against 21 MB (issue 18). */
#define BULK_ROWS 5000
static const char SQL_CACHE_BULK[] = "PRAGMA cache_size = -2048";
static const char SQL_CACHE_NORMAL[] = "PRAGMA cache_size = -16384";

/* Switch the small cache on (on = 1, for n rows: nothing below BULK_ROWS) or back off. */
static int bulk_cache(struct sqlite_store *s, size_t n, int on, struct err *err)
{
    struct err ignored = ERR_INIT;

    if (n < BULK_ROWS)
        return 0;
    if (on)
        return sq_exec(s, SQL_CACHE_BULK, err);
    sq_exec(s, SQL_CACHE_NORMAL, &ignored);   /* a failure leaves the small cache: harmless */
    err_release(&ignored);
    return 0;
}

static int count_taken(store *st, const char *sql, const char *const *ids, size_t n,
                       int64_t *count, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct buf list = BUF_INIT;
    sqlite3_stmt *q;
    size_t used;
    int ret = 0;

    *count = 0;
    used = sq_ids_json(&list, ids, n);   /* an id that is not canonical was never stored: free */
    if (used > 0) {
        q = sq_stmt(s, sql, err);
        ret = -1;
        if (q && bulk_cache(s, used, 1, err) == 0) {
            sq_bind_str(q, 1, list.data);
            ret = sq_query_int64(s, q, "ids taken", count, err);
            bulk_cache(s, used, 0, err);
        }
    }
    buf_release(&list);
    return ret;
}

int sq_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                         struct err *err)
{
    return count_taken(st, SQL_EP_TAKEN, ids, n, count, err);
}

int sq_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                        struct err *err)
{
    return count_taken(st, SQL_MEM_TAKEN, ids, n, count, err);
}

/* ---- inserting rows as given ---- */

static const char *episode_id(const void *rows, size_t i)
{
    return ((const struct episode *)rows)[i].id;
}

static const char *memory_id(const void *rows, size_t i)
{
    return ((const struct memory *)rows)[i].id;
}

/* Row i as the counters read it, as the binder stores it (sq_bind_episode, sq_bind_memory:
 * tenant NULL or '' is NULL, created_at in the fixed-width form into ts). */
static void episode_counted(const void *rows, size_t i, struct sq_bulk_row *out, char *ts)
{
    sq_bulk_episode_row((const struct episode *)rows + i, out, ts);
}

static void memory_counted(const void *rows, size_t i, struct sq_bulk_row *out, char *ts)
{
    const struct memory *m = (const struct memory *)rows + i;

    *out = (struct sq_bulk_row){ .subject = m->subject_id,
                                 .tenant = m->tenant_id && *m->tenant_id ? m->tenant_id : NULL };
    if (m->created_at != TS_NULL) {
        ts_format_fixed(m->created_at, ts, TS_STR_LEN);
        out->created = ts;
    }
}

/* One kind of row insert_many writes. */
struct row_kind {
    const char *noun;                               /* "episode": for messages */
    const char *sql;                                /* the INSERT, ?1 = id */
    size_t size;                                    /* bytes of one row struct */
    sq_row_binder *bind;                            /* sq_bind_episode / sq_bind_memory */
    enum sq_bulk_table table;                       /* for the counters (sq_bulk_begin) */
    void (*counted)(const void *rows, size_t i, struct sq_bulk_row *out, char *ts);
    const char *(*id)(const void *rows, size_t i);
};

static const struct row_kind episode_rows = {
    "episode", SQL_EP_ADD, sizeof(struct episode), sq_bind_episode, SQ_BULK_EPISODES,
    episode_counted, episode_id,
};
static const struct row_kind memory_rows = {
    "memory", SQL_MEM_ADD, sizeof(struct memory), sq_bind_memory, SQ_BULK_MEMORIES,
    memory_counted, memory_id,
};

/* Insert row i with q; an id that exists is ERR_CONFLICT naming it. Leaves q reset. */
static int insert_row(struct sqlite_store *s, sqlite3_stmt *q, const struct row_kind *k,
                      const void *rows, size_t i, struct err *err)
{
    const char *row = (const char *)rows + i * k->size;
    int rc;

    if (k->bind(q, row) < 0) {
        rc = sqlite3_errcode(s->db);
        sq_reset(q);
        return sq_fail(s, "import bind", rc, err);
    }
    rc = sq_step(q);
    if (rc == SQLITE_DONE) {
        sq_reset(q);
        return 0;
    }
    sq_fail(s, "import insert", rc, err);
    sq_reset(q);
    if (err->kind == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "%s '%s' already exists", k->noun, k->id(rows, i));
    return -1;
}

/* Insert the n rows, all or nothing (inside the caller's transaction, else in one of ours).
 * Ids are checked before the first write. The counters follow from C after the rows
 * (sq_bulk_begin). */
static int insert_many(store *st, const struct row_kind *k, const void *rows, size_t n,
                       struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct sq_bulk bulk;
    sqlite3_stmt *q;
    size_t i;
    int own, ret = 0;

    for (i = 0; i < n; i++)
        if (!sq_id_ok(k->id(rows, i)))
            return err_set(err, ERR_INVALID, "%s id '%s' is not a lower-case UUID", k->noun,
                           k->id(rows, i));
    if (n == 0)
        return 0;
    if (store_tx_enter(&s->base, &own, err) < 0)
        return -1;
    q = sq_stmt(s, k->sql, err);
    if (!q)
        ret = -1;
    if (ret == 0)
        ret = bulk_cache(s, n, 1, err);
    if (ret == 0 && sq_bulk_begin(s, k->table, &bulk, err) == 0) {
        for (i = 0; ret == 0 && i < n; i++) {
            struct sq_bulk_row row;
            char ts[TS_STR_LEN];

            ret = insert_row(s, q, k, rows, i, err);
            if (ret == 0 && bulk.on) {
                k->counted(rows, i, &row, ts);
                ret = sq_bulk_add(s, &bulk, &row, err);
            }
        }
        ret = sq_bulk_end(s, &bulk, ret, err);
    } else {
        ret = -1;
    }
    bulk_cache(s, n, 0, err);
    return store_tx_leave(&s->base, own, ret, err);
}

int sq_episode_insert_many(store *st, const struct episode *eps, size_t n, struct err *err)
{
    return insert_many(st, &episode_rows, eps, n, err);
}

int sq_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err)
{
    return insert_many(st, &memory_rows, mems, n, err);
}
