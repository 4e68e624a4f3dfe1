/* sqlite_compile.c - SQLite backend: the episode side of the memory loop (uncompiled episodes,
 * marking them compiled, the newest episodes, episodes by id), a forced recompile's reset, and
 * a subject's resolutions. */
#include "store/sqlite/sqlite-internal.h"

#include <stdint.h>
#include <string.h>

#include "util/buf.h"

static const char SQL_EP_UNCOMPILED[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "AND last_compiled_at IS NULL ORDER BY created_at, seq LIMIT ?3";
/* Ties on created_at break by insertion order ascending, in both directions (behavior.md
 * §0.2). */
static const char SQL_EP_RECENT[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "ORDER BY created_at DESC, seq DESC LIMIT ?3";
/* The ids travel as one JSON array (see sq_ids_json), so either statement is one step however
 * many ids there are. `id IN (…)` probes the unique index on id for each; the unary `+` keeps
 * the planner off the tenant index, which would scan every episode of the tenant. */
static const char SQL_EP_MARK[] =
    "UPDATE episodes SET last_compiled_at = ?1 WHERE +tenant_id IS ?2 "
    "AND id IN (SELECT value FROM json_each(?3)) RETURNING subject_id";
static const char SQL_EP_BY_IDS[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE +tenant_id IS ?1 "
    "AND id IN (SELECT value FROM json_each(?2))";
static const char SQL_RESET_MEMORIES[] =
    "DELETE FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_RESET_EPISODES[] =
    "UPDATE episodes SET last_compiled_at = NULL WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "AND last_compiled_at IS NOT NULL";
static const char SQL_RESOLUTIONS[] =
    "SELECT session_id, status, resolution_summary, updated_at FROM resolutions "
    "WHERE tenant_id IS ?1 AND subject_id = ?2 ORDER BY updated_at DESC, seq";

/* Episodes of (tenant, subject) from one of the per-subject queries above: ?1 tenant,
 * ?2 subject, ?3 limit. */
static int list_subject_episodes(store *st, struct arena *a, const char *sql,
                                 const struct store_scope *sc, size_t limit,
                                 struct episode_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, sql, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_count(q, 3, limit, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), limit, sq_read_episode, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

int sq_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                               size_t limit, struct episode_rows *out, struct err *err)
{
    return list_subject_episodes(st, a, SQL_EP_UNCOMPILED, sc, limit, out, err);
}

int sq_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                           size_t limit, struct episode_rows *out, struct err *err)
{
    return list_subject_episodes(st, a, SQL_EP_RECENT, sc, limit, out, err);
}

/* A UUID needs no JSON escaping. */
size_t sq_ids_json(struct buf *b, const char *const *ids, size_t n)
{
    size_t i, used = 0;

    buf_putc(b, '[');
    for (i = 0; i < n; i++) {
        if (!sq_id_ok(ids[i]))
            continue;
        buf_printf(b, "%s\"%s\"", used ? "," : "", ids[i]);
        used++;
    }
    buf_putc(b, ']');
    return used;
}

/* The context generation moves once per subject the update reached, from C (the per-row
 * trigger, two upserts an episode, stands aside: sqlite_counters.c). The rows come back
 * grouped by subject in practice (one compile, one subject); a subject seen again later is
 * bumped again, which changes nothing a reader compares. */
static int mark_rows(struct sqlite_store *s, sqlite3_stmt *q, const char *tenant,
                     struct err *err)
{
    struct buf subjects = BUF_INIT;
    size_t last = SIZE_MAX, at;
    int rc, ret = 0, on = sq_bulk_schema(s, err);

    if (on < 0) {
        sq_reset(q);
        return -1;
    }
    s->bulk = on;
    while ((rc = sq_step(q)) == SQLITE_ROW) {
        const char *sub = (const char *)sqlite3_column_text(q, 0);

        if (!sub || (last != SIZE_MAX && strcmp(subjects.data + last, sub) == 0))
            continue;
        last = subjects.len;
        buf_append(&subjects, sub, strlen(sub) + 1);
    }
    s->bulk = 0;
    sq_reset(q);
    if (rc != SQLITE_DONE)
        ret = sq_fail(s, "episode mark compiled", rc, err);
    for (at = 0; ret == 0 && on && at < subjects.len; at += strlen(subjects.data + at) + 1)
        ret = sq_gen_bump(s, subjects.data + at, tenant, err);
    buf_release(&subjects);
    return ret;
}

int sq_episode_mark_compiled(store *st, const char *tenant, const char *const *ids, size_t n,
                             int64_t at, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct buf list = BUF_INIT;
    sqlite3_stmt *q;
    int ret = 0;

    if (sq_ids_json(&list, ids, n) == 0)
        goto cleanup;
    ret = -1;
    q = sq_stmt(s, SQL_EP_MARK, err);
    if (!q)
        goto cleanup;
    sq_bind_ts(q, 1, at);
    sq_bind_tenant(q, 2, tenant);
    sq_bind_str(q, 3, list.data);
    ret = mark_rows(s, q, tenant, err);
cleanup:
    buf_release(&list);
    return ret;
}

int sq_rows_by_ids(struct sqlite_store *s, struct arena *a, const char *sql, const char *tenant,
                   const struct store_ids *ids, size_t size, sq_row_reader *read, void **out,
                   size_t *n, struct err *err)
{
    struct buf list = BUF_INIT;
    size_t used = sq_ids_json(&list, ids->items, ids->n);
    sqlite3_stmt *q;
    int ret = 0;

    *n = 0;
    *out = NULL;
    if (used == 0) {
        *out = arena_calloc(a, 1, size);
        goto cleanup;
    }
    ret = -1;
    q = sq_stmt(s, sql, err);
    if (!q)
        goto cleanup;
    sq_bind_tenant(q, 1, tenant);
    sq_bind_str(q, 2, list.data);
    ret = sq_collect_rows(s, a, q, size, used, read, out, n, err);
cleanup:
    buf_release(&list);
    return ret;
}

int sq_episode_get_many(store *st, struct arena *a, const char *tenant,
                        const struct store_ids *ids, struct episode_rows *out, struct err *err)
{
    void *rows;
    int ret = sq_rows_by_ids(sq_downcast(st), a, SQL_EP_BY_IDS, tenant, ids,
                             sizeof(*out->items), sq_read_episode, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int sq_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                     struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    int64_t episodes_reset = 0;
    int own, ret = 0;

    *memories_deleted = 0;
    if (store_tx_enter(&s->base, &own, err) < 0)
        return -1;
    if (sq_subject_write(s, SQL_RESET_MEMORIES, sc, memories_deleted, err) < 0 ||
        sq_subject_write(s, SQL_RESET_EPISODES, sc, &episodes_reset, err) < 0)
        ret = -1;
    if (store_tx_leave(&s->base, own, ret, err) < 0) {
        *memories_deleted = 0;
        return -1;
    }
    return 0;
}

static int read_resolution(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct resolution *r = row;

    r->session_id = sq_col_str(a, q, 0);
    r->status = sq_col_str(a, q, 1);
    r->resolution_summary = sq_col_str(a, q, 2);
    if (sq_col_ts(q, 3, &r->updated_at) < 0)
        return sq_bad_timestamp("resolutions", err);
    return 0;
}

int sq_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                       struct resolution_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RESOLUTIONS, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), 16, read_resolution, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* BEGIN IMMEDIATE already admits one writer at a time, across processes too. */
int sq_subject_lock(store *st, const struct store_scope *sc, struct err *err)
{
    (void)st;
    (void)sc;
    (void)err;
    return 0;
}
