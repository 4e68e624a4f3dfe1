/* store_raw.h - what the snapshot and cleanup store suites share: a second, raw connection
 * beneath the interface (for the rows no op of store.h writes or reads: resolutions, the
 * health cache), and resolution and memory rows. Include after store_harness.h. */
#ifndef ENGRAM_TESTS_UNIT_STORE_RAW_H
#define ENGRAM_TESTS_UNIT_STORE_RAW_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY (86400 * SEC)

/* The raw connections (see raw_exec), opened on first use, closed by snap_group_teardown. */
static struct {
    sqlite3 *sqlite;
    PGconn *pg;
} raw;

static inline const char *new_id(struct arena *a)
{
    char id[UUID_STR_LEN];

    uuid_v4(id);
    return arena_strdup(a, id);
}

/* The harness's group_teardown, after the raw connections are closed. */
static inline int snap_group_teardown(void **state)
{
    if (raw.sqlite)
        sqlite3_close(raw.sqlite);
    if (raw.pg)
        PQfinish(raw.pg);
    return group_teardown(state);
}

static inline int is_sqlite(void)
{
    return strcmp(g.ops->name, "sqlite") == 0;
}

/* ---- raw SQL ----
 * No op of store.h writes resolutions or health-cache rows yet, and none reads a resolution's
 * tenant or metadata_, so the tests that need them use the backend's own client library on a
 * second connection (outside any store transaction), with SQL both engines accept. This is
 * the one place the suite looks beneath the interface. */

static inline void raw_open(void)
{
    if (is_sqlite() && !raw.sqlite) {
        assert_int_equal(sqlite3_open_v2(g.conninfo, &raw.sqlite, SQLITE_OPEN_READWRITE,
                                         NULL), SQLITE_OK);
        sqlite3_busy_timeout(raw.sqlite, 5000);
    } else if (!is_sqlite() && !raw.pg) {
        raw.pg = PQconnectdb(g.conninfo);
        assert_int_equal(PQstatus(raw.pg), CONNECTION_OK);
        PQclear(PQexec(raw.pg, "SET TimeZone = 'UTC'"));
    }
}

/* Up to ncols columns of the first row of sql's result, as arena strings (NULL for SQL NULL);
 * NULL when there is no row. */
static inline const char **raw_row(struct arena *a, const char *sql, int ncols)
{
    const char **row = NULL;
    int i;

    raw_open();
    if (is_sqlite()) {
        sqlite3_stmt *q = NULL;
        int rc;

        assert_int_equal(sqlite3_prepare_v2(raw.sqlite, sql, -1, &q, NULL), SQLITE_OK);
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            row = arena_calloc(a, (size_t)ncols, sizeof(*row));
            for (i = 0; i < ncols; i++) {
                const char *v = (const char *)sqlite3_column_text(q, i);

                row[i] = v ? arena_strdup(a, v) : NULL;
            }
        } else if (rc != SQLITE_DONE) {
            fail_msg("raw sql failed: %s: %s", sqlite3_errmsg(raw.sqlite), sql);
        }
        sqlite3_finalize(q);
        return row;
    }
    {
        PGresult *r = PQexec(raw.pg, sql);
        ExecStatusType s = PQresultStatus(r);

        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
            fail_msg("raw sql failed: %s: %s", PQerrorMessage(raw.pg), sql);
        if (s == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            row = arena_calloc(a, (size_t)ncols, sizeof(*row));
            for (i = 0; i < ncols; i++)
                row[i] = PQgetisnull(r, 0, i) ? NULL : arena_strdup(a, PQgetvalue(r, 0, i));
        }
        PQclear(r);
        return row;
    }
}

static inline void raw_exec(struct arena *a, const char *sql)
{
    raw_row(a, sql, 0);
}

static inline int64_t raw_count(struct arena *a, const char *sql)
{
    const char **row = raw_row(a, sql, 1);

    assert_non_null(row);
    return strtoll(row[0], NULL, 10);
}

/* A SQL literal: 'text' (no quote in our strings) or NULL. */
static inline const char *lit(struct arena *a, const char *s)
{
    assert_true(!s || !strchr(s, '\''));
    return s ? arena_printf(a, "'%s'", s) : "NULL";
}

static inline const char *ts_lit(struct arena *a, int64_t us)
{
    char text[TS_STR_LEN];

    if (us == TS_NULL)
        return "NULL";
    ts_format_fixed(us, text, sizeof(text));
    return arena_printf(a, "'%s'", text);
}

static inline int64_t parse_ts(const char *text)
{
    int64_t us = TS_NULL;

    if (text)
        assert_int_equal(ts_parse(text, &us), 0);
    return us;
}

struct res_row {
    const char *id;
    const char *session_id;
    const char *tenant_id;
    const char *status;
    const char *summary;
    int64_t resolved_at;
    const char *metadata;
    int64_t created_at;
    int64_t updated_at;
};

static inline void add_resolution(struct arena *a, const char *subject, const struct res_row *r)
{
    raw_exec(a, arena_printf(a,
        "INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status,"
        " resolution_summary, resolved_at, metadata_, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        lit(a, r->id), lit(a, subject), lit(a, r->session_id), lit(a, r->tenant_id),
        lit(a, r->status), lit(a, r->summary), ts_lit(a, r->resolved_at), lit(a, r->metadata),
        ts_lit(a, r->created_at), ts_lit(a, r->updated_at)));
}

/* The resolution of subject with that session (every tenant); found = 0 when none. */
static inline int get_resolution(struct arena *a, const char *subject, const char *session,
                                 struct res_row *out)
{
    const char **row = raw_row(a, arena_printf(a,
        "SELECT id, session_id, tenant_id, status, resolution_summary, resolved_at, metadata_,"
        " created_at, updated_at FROM resolutions WHERE subject_id = %s AND session_id = %s",
        lit(a, subject), lit(a, session)), 9);

    if (!row)
        return 0;
    out->id = row[0];
    out->session_id = row[1];
    out->tenant_id = row[2];
    out->status = row[3];
    out->summary = row[4];
    out->resolved_at = parse_ts(row[5]);
    out->metadata = row[6];
    out->created_at = parse_ts(row[7]);
    out->updated_at = parse_ts(row[8]);
    return 1;
}

static inline int64_t count_resolutions(struct arena *a, const char *subject)
{
    return raw_count(a, arena_printf(a, "SELECT count(*) FROM resolutions WHERE subject_id = %s",
                                     lit(a, subject)));
}

/* ---- rows ---- */

static inline struct memory make_mem(const char *tenant, const char *subject,
                                     int64_t created_at)
{
    return make_mem_with(tenant, subject, "profile_fact", "likes tea", "active", created_at);
}

/* Episodes / memories of (tenant, subject), in listing order. */
static inline struct episode *list_eps(struct arena *a, const char *tenant,
                                       const char *subject, size_t *n)
{
    struct err err = ERR_INIT;
    struct episode_rows rows;

    assert_int_equal(store_episode_list(g.st, a,
                                        &(struct store_scope){ .tenant = tenant,
                                                               .subject = subject },
                                        &(struct store_page){ .limit = 100000 }, &rows, &err),
                     0);
    *n = rows.n;
    return rows.items;
}

static inline struct memory *list_mems(struct arena *a, const char *tenant,
                                       const char *subject, size_t *n)
{
    struct err err = ERR_INIT;
    struct memory_rows rows;

    assert_int_equal(store_memory_list(g.st, a,
                                       &(struct store_scope){ .tenant = tenant,
                                                              .subject = subject },
                                       &(struct store_page){ .limit = 100000 }, &rows, &err),
                     0);
    *n = rows.n;
    return rows.items;
}

static inline void assert_total(const char *subject, int64_t want_eps, int64_t want_mems)
{
    struct err err = ERR_INIT;
    struct row_counts c = { -1, -1, -1 };

    assert_int_equal(store_export_count(g.st,
                                        &(struct store_scope){ .subject = subject,
                                                               .all_tenants = 1 },
                                        &c, &err),
                     0);
    assert_int_equal(c.episodes, want_eps);
    assert_int_equal(c.memories, want_mems);
}

#endif
