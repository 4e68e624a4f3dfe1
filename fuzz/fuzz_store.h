/* fuzz_store.h - the database of the import targets: the default configuration (as with no
 * STATEWAVE_* setting at all) and a migrated in-memory SQLite store, replaced by a fresh one
 * every FUZZ_STORE_INPUTS inputs so that rows written by earlier inputs do not pile up.
 *
 * Header only, included once by a target (fuzz_backup_import.c, fuzz_payload_import.c).
 */
#ifndef ENGRAM_FUZZ_FUZZ_STORE_H
#define ENGRAM_FUZZ_FUZZ_STORE_H

#include "fuzz.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/config.h"
#include "util/log.h"

#define FUZZ_STORE_INPUTS 2000

static struct config fuzz_config;
static store *fuzz_st;
static unsigned fuzz_inputs;

/* cfg as a server with no settings has it, logging only errors (store failures). */
static inline void fuzz_config_setup(void)
{
    char *env[] = { NULL };
    struct err err = ERR_INIT;

    FUZZ_CHECK(config_load(&fuzz_config, env, NULL, &err) == 0, "default configuration");
    cfg = &fuzz_config;
    log_setup(LOG_ERROR, 0);
}

/* The store for the next input: open and migrated. */
static inline store *fuzz_store(void)
{
    struct migrate_result res;
    struct err err = ERR_INIT;
    char *conninfo = NULL;
    const struct store_ops *ops;

    if (fuzz_st && ++fuzz_inputs % FUZZ_STORE_INPUTS == 0) {
        store_close(fuzz_st);
        fuzz_st = NULL;
    }
    if (fuzz_st)
        return fuzz_st;
    ops = store_backend_for("sqlite://:memory:", &conninfo, &err);
    FUZZ_CHECK(ops && store_open(ops, conninfo, &fuzz_st, &err) == 0, "open :memory:");
    FUZZ_CHECK(store_migrate(fuzz_st, &res, &err) == 0, "migrate :memory:");
    free(conninfo);
    return fuzz_st;
}

/* Episodes + memories of subject in every tenant. */
static inline int64_t fuzz_subject_rows(store *st, const char *subject)
{
    struct store_scope sc = { .subject = subject, .all_tenants = 1 };
    struct row_counts n = { 0, 0, 0 };
    struct err err = ERR_INIT;

    FUZZ_CHECK(store_export_count(st, &sc, &n, &err) == 0, "counting a subject's rows");
    return n.episodes + n.memories;
}

/* Episodes + memories of every subject in tenant (NULL = the no-tenant space). */
static inline int64_t fuzz_tenant_rows(store *st, const char *tenant)
{
    struct arena *a = arena_new();
    struct store_page pg = { .limit = 1000000, .offset = 0 };
    struct subject_count_rows rows = { NULL, 0 };
    struct err err = ERR_INIT;
    int64_t total = 0;
    size_t i;

    FUZZ_CHECK(store_subject_list(st, a, tenant, &pg, &rows, &err) == 0,
               "listing a tenant's subjects");
    for (i = 0; i < rows.n; i++)
        total += rows.items[i].episode_count + rows.items[i].memory_count;
    arena_free(a);
    return total;
}

/* An error a client document may cause: never 500 (store failure) or an unset kind. */
static inline void fuzz_check_client_error(const struct err *err)
{
    FUZZ_CHECK(err->kind != ERR_NONE && err->msg[0], "failure without a kind or message");
    FUZZ_CHECK(err->kind != ERR_INTERNAL, err->msg);
    FUZZ_CHECK(err->kind != ERR_UNAVAILABLE, err->msg);
}

#endif
