/* postgres_episodes.c - PostgreSQL backend: inserting episodes (idempotency keys included) and
 * listing a subject's episodes. */
#include "store/postgres/postgres-internal.h"

#include "util/log.h"
#include "util/ts.h"

/* The insert of one episode, counted by its writer (schema step 21, episodes_counted): the first CTE sets
 * engram.episodes_counted before the row goes in, which turns the INSERT triggers of
 * episodes off for it (their WHEN); the caller writes the counters. */
#define EPISODE_INSERT_COUNTED                                                            \
    "WITH c AS MATERIALIZED (SELECT set_config('engram.episodes_counted', 'on', true))"   \
    " , e AS (INSERT INTO episodes (" PG_EPISODE_COLS ")"                                 \
    " SELECT $1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::varchar,"  \
    " $7::json, $8::json, $9::json, $10::varchar, $11::timestamptz, $12::timestamptz,"    \
    " $13::timestamptz FROM c"                                                            \
    " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id, idempotency_key)"               \
    " WHERE idempotency_key IS NOT NULL DO NOTHING"                                       \
    " RETURNING subject_id, tenant_id, created_at, session_id)"
/* Inside a transaction: a row when the episode went in; pgst_tx_commit counts it. */
static const char SQL_EPISODE_INSERT[] = EPISODE_INSERT_COUNTED " SELECT 1 FROM e";
/* Alone (autocommit), without a session: the statement is the transaction and writes its
 * episode's counters itself, as engram_episodes_counted does, in the same lock order: each
 * counter's CTE reads the one before it (g before s before u), so it runs after it. */
static const char SQL_EPISODE_INSERT_ALONE_NOSESSION[] =
    EPISODE_INSERT_COUNTED
    ", g AS (INSERT INTO context_gen AS g (subject_id, tenant_key, gen)"
    " SELECT e.subject_id, COALESCE(e.tenant_id, ''), nextval('context_gen_seq') FROM e"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = excluded.gen RETURNING 1)"
    ", s AS (INSERT INTO subject_stats AS s (subject_id, tenant_id, episode_count,"
    " last_episode_at) SELECT e.subject_id, e.tenant_id, 1, e.created_at"
    " FROM e, (SELECT count(*) FROM g) AS after_g WHERE NOT engram_stats_reserved(e.subject_id)"
    " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id) DO UPDATE SET"
    " episode_count = s.episode_count + 1,"
    " last_episode_at = GREATEST(s.last_episode_at, excluded.last_episode_at) RETURNING 1)"
    ", u AS (INSERT INTO usage_daily AS u (kind, tenant_key, day, shard, n)"
    " SELECT 1, COALESCE(e.tenant_id, ''), (e.created_at AT TIME ZONE 'UTC')::date,"
    " pg_backend_pid() % 16, 1 FROM e, (SELECT count(*) FROM s) AS after_s"
    " ON CONFLICT (kind, tenant_key, day, shard) DO UPDATE SET n = u.n + 1 RETURNING 1)"
    " SELECT 1 FROM u";
/* Alone, with a session: engram_episodes_counted, whose session rule counts the session's
 * episodes after the row lock, in a statement of its own (a fresh snapshot). */
static const char SQL_EPISODE_INSERT_ALONE[] =
    EPISODE_INSERT_COUNTED " SELECT engram_episodes_counted(array_agg(subject_id),"
    " array_agg(tenant_id), array_agg(created_at), array_agg(session_id))"
    " FROM e HAVING count(*) > 0";
static const char SQL_EPISODES_COUNTED[] =
    "SELECT engram_episodes_counted($1::text[], $2::text[], $3::timestamptz[], $4::text[])";
static const char SQL_EPISODE_BY_KEY[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND idempotency_key = $3";
static const char SQL_EPISODE_LIST[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4";

/* The insert statement for ep: inside a transaction the counters wait for the commit. */
static const char *insert_sql(const struct pgst_store *ps, const struct episode *ep)
{
    if (ps->base.in_tx)
        return SQL_EPISODE_INSERT;
    return ep->session_id ? SQL_EPISODE_INSERT_ALONE : SQL_EPISODE_INSERT_ALONE_NOSESSION;
}

/* Append s to the array literal elements in b: quoted and escaped, or NULL. */
static void array_elem(struct buf *b, const char *s)
{
    if (b->len)
        buf_putc(b, ',');
    if (!s) {
        buf_puts(b, "NULL");
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

/* Remember that the open transaction inserted ep: pgst_tx_commit writes its counters. The
 * values are those the insert stored (tenant as pgst_tenant_value writes it). */
static void note_counted(struct pgst_store *ps, const struct episode *ep)
{
    char created[TS_STR_LEN];

    array_elem(&ps->counted[0], ep->subject_id);
    array_elem(&ps->counted[1], pgst_tenant_value(ep->tenant_id));
    array_elem(&ps->counted[2], pgst_ts_param(ep->created_at, created));
    array_elem(&ps->counted[3], ep->session_id);
}

void pgst_counted_reset(struct pgst_store *ps)
{
    size_t i;

    for (i = 0; i < 4; i++)
        buf_reset(&ps->counted[i]);
}

PGresult *pgst_episodes_counted_commit(struct pgst_store *ps, const char *sql, struct err *err)
{
    struct buf arr[4];
    const char *vals[4];
    struct pgst_query q[2];
    PGresult *out[2];
    size_t i;
    int ret;

    if (!ps->counted[0].len)
        return pgst_exec(ps, sql, 0, NULL, err);
    for (i = 0; i < 4; i++) {
        buf_init(&arr[i]);
        buf_putc(&arr[i], '{');
        buf_append(&arr[i], ps->counted[i].data, ps->counted[i].len);
        buf_putc(&arr[i], '}');
        vals[i] = arr[i].data;
    }
    pgst_counted_reset(ps);
    q[0] = (struct pgst_query){ SQL_EPISODES_COUNTED, 4, vals };
    q[1] = (struct pgst_query){ sql, 0, NULL };
    ret = pgst_exec_many(ps, 2, q, out, err);
    for (i = 0; i < 4; i++)
        buf_release(&arr[i]);
    if (ret < 0) {
        /* The COMMIT was skipped: end the failed transaction here. */
        if (!ps->base.broken && PQtransactionStatus(ps->conn) != PQTRANS_IDLE)
            PQclear(PQexec(ps->conn, "ROLLBACK"));
        return NULL;
    }
    PQclear(out[0]);
    return out[1];
}

/* Insert ep; *inserted = 0 when its idempotency key already names an episode. JSON columns
 * are `json` (text kept as sent), so ep already holds what later reads return. */
static int episode_try_insert(struct pgst_store *ps, struct episode *ep, int *inserted,
                              struct err *err)
{
    struct pgst_episode_text text;
    const char *vals[PG_EPISODE_NPARAMS];
    PGresult *r;

    pgst_episode_params(ep, &text, vals);
    r = pgst_exec(ps, insert_sql(ps, ep), PG_EPISODE_NPARAMS, vals, err);
    if (!r)
        return -1;
    *inserted = PQntuples(r) > 0;
    PQclear(r);
    if (*inserted && ps->base.in_tx)
        note_counted(ps, ep);
    return 0;
}

/* The episode holding ep's idempotency key, into *ep; *found = 0 if there is none. */
static int episode_by_key(struct pgst_store *ps, struct arena *a, struct episode *ep,
                          int *found, struct err *err)
{
    const char *vals[3] = { pgst_tenant_key(ep->tenant_id), ep->subject_id,
                            ep->idempotency_key };
    PGresult *r = pgst_exec(ps, SQL_EPISODE_BY_KEY, 3, vals, err);
    int ret = 0;

    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    if (*found && pgst_read_episode(a, r, 0, ep) < 0)
        ret = err_set(err, ERR_INTERNAL, "database error");
    PQclear(r);
    return ret;
}

/* Up to PG_MANY_MAX inserts per round trip; an episode whose key named an existing row (no
 * row returned) is then read back, or inserted again, by pgst_episode_insert. The caller
 * holds a transaction (service/episodes.c): the counters of the group's pairs are written
 * once, in key order, at its commit. */
int pgst_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                              size_t n, int *inserted, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    struct pgst_episode_text text[PG_MANY_MAX];
    const char *vals[PG_MANY_MAX][PG_EPISODE_NPARAMS];
    struct pgst_query q[PG_MANY_MAX];
    PGresult *out[PG_MANY_MAX];
    size_t first, k, m;
    int ret = 0;

    for (first = 0; ret == 0 && first < n; first += m) {
        m = n - first < PG_MANY_MAX ? n - first : PG_MANY_MAX;
        for (k = 0; k < m; k++) {
            pgst_episode_params(eps[first + k], &text[k], vals[k]);
            q[k] = (struct pgst_query){ insert_sql(ps, eps[first + k]), PG_EPISODE_NPARAMS,
                                        vals[k] };
        }
        if (pgst_exec_many(ps, m, q, out, err) < 0)
            return -1;
        for (k = 0; k < m; k++) {
            inserted[first + k] = PQntuples(out[k]) > 0;
            PQclear(out[k]);
            if (inserted[first + k] && ps->base.in_tx)
                note_counted(ps, eps[first + k]);
        }
        for (k = 0; ret == 0 && k < m; k++) {
            if (!inserted[first + k])
                ret = pgst_episode_insert(st, as[first + k], eps[first + k],
                                          &inserted[first + k], err);
        }
    }
    return ret;
}

int pgst_commits_flush(store *st, int *flushes, struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st),
                            "SELECT current_setting('fsync') = 'on'"
                            " AND current_setting('synchronous_commit') <> 'off'",
                            0, NULL, err);

    if (!r)
        return -1;
    *flushes = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

int pgst_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                      struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    int attempt, found;

    if (ep->id[0] == '\0')
        uuid_v4(ep->id);
    if (ep->created_at == TS_NULL)
        ep->created_at = ts_now();
    /* A conflicting row deleted between the two statements: insert again, once. */
    for (attempt = 0; attempt < 2; attempt++) {
        if (episode_try_insert(ps, ep, inserted, err) < 0)
            return -1;
        if (*inserted)
            return 0;
        if (episode_by_key(ps, a, ep, &found, err) < 0)
            return -1;
        if (found)
            return 0;
    }
    log_write(LOG_ERROR, "postgres: episode_insert: idempotency key conflict did not resolve");
    return err_set(err, ERR_INTERNAL, "database error");
}

/* The episodes a SELECT PG_EPISODE_COLS statement with these parameters gives. */
static int query_episodes(store *st, struct arena *a, const char *sql, int nparams,
                          const char *const *vals, struct episode_rows *out, struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), sql, nparams, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_episode, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int pgst_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct store_page *pg, struct episode_rows *out, struct err *err)
{
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[4] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_size_param(pg->limit, lim), pgst_size_param(pg->offset, off) };

    return query_episodes(st, a, SQL_EPISODE_LIST, 4, vals, out, err);
}

/* The same expression as the index ix_episodes_subject_when, so the range is an index range;
 * an open bound is -infinity / infinity. */
static const char SQL_EPISODE_WINDOW[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE subject_id = $2"
    " AND COALESCE(tenant_id, '') = $1"
    " AND COALESCE(occurred_at, created_at) >= $3::timestamptz"
    " AND COALESCE(occurred_at, created_at) <= $4::timestamptz"
    " AND ($5::json IS NULL OR type IN (SELECT json_array_elements_text($5::json)))"
    " ORDER BY COALESCE(occurred_at, created_at), seq LIMIT $6";

int pgst_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                             const struct episode_window *w, struct episode_rows *out,
                             struct err *err)
{
    char since[TS_STR_LEN], until[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[6] = {
        pgst_tenant_key(sc->tenant),
        sc->subject,
        w->since == TS_NULL ? "-infinity" : pgst_ts_param(w->since, since),
        w->until == TS_NULL ? "infinity" : pgst_ts_param(w->until, until),
        w->kinds_json,
        pgst_size_param(w->limit, lim),
    };

    return query_episodes(st, a, SQL_EPISODE_WINDOW, 6, vals, out, err);
}
