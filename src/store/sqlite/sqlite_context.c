/* sqlite_context.c - SQLite backend: the generation of what context assembly reads of a
 * subject (table context_gen, kept by the triggers of schema step "context_gen"). */
#include "store/sqlite/sqlite-internal.h"

static const char SQL_CONTEXT_GEN[] =
    "SELECT gen FROM context_gen WHERE subject_id = ?2 AND tenant_key = ifnull(?1, '')";

int sq_context_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_CONTEXT_GEN, err);

    *gen = 0;
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    return sq_query_int64(s, q, "context generation", gen, err);
}
