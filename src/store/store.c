/* store.c - backend selection, per-thread connections, and thin wrappers over store_ops. */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

#include "store/migrations.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/reserved.h"
#include "util/xalloc.h"

static const struct store_ops *setup_ops;   /* set once by store_setup */
static char *setup_conninfo;

/* Every connection handed out by store_thread(), so store_shutdown() can close them. */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static store **conns;
static size_t nconns, conns_cap;
static _Thread_local store *thread_conn;

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static const struct store_ops *sqlite_url(const char *url, char **conninfo, struct err *err)
{
    const char *rest = url + strlen("sqlite://");

    if (*rest == '\0')
        return err_set(err, ERR_INVALID, "sqlite URL has no path: '%s'", url), NULL;
    /* sqlite:///abs/path keeps its leading '/'; sqlite://rel/path is relative. */
    *conninfo = xstrdup(rest);
    return &store_sqlite_ops;
}

static const struct store_ops *postgres_url(const char *url, char **conninfo, struct err *err)
{
    const char *rest = strstr(url, "://");
    struct buf b = BUF_INIT;

    if (!rest || rest[3] == '\0')
        return err_set(err, ERR_INVALID, "postgresql URL has no host: '%s'", url), NULL;
    /* Strip a SQLAlchemy driver tag (postgresql+asyncpg://) so libpq accepts the URI. */
    buf_puts(&b, "postgresql");
    buf_puts(&b, rest);
    *conninfo = buf_detach(&b, NULL);
    return &store_postgres_ops;
}

const struct store_ops *store_backend_for(const char *url, char **conninfo, struct err *err)
{
    *conninfo = NULL;
    if (!url || !*url)
        return err_set(err, ERR_INVALID, "database URL is empty"), NULL;
    if (has_prefix(url, "sqlite://"))
        return sqlite_url(url, conninfo, err);
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://") ||
        has_prefix(url, "postgresql+"))
        return postgres_url(url, conninfo, err);
    return err_set(err, ERR_INVALID,
                   "unsupported database URL '%s' (use sqlite:///path, sqlite://relative "
                   "or postgresql://user:pass@host:port/db)", url), NULL;
}

int store_setup(const char *url, struct err *err)
{
    char *conninfo;
    const struct store_ops *ops = store_backend_for(url, &conninfo, err);

    if (!ops)
        return -1;
    free(setup_conninfo);
    setup_ops = ops;
    setup_conninfo = conninfo;
    return 0;
}

static int setup_pooler;   /* store_set_pooler */
static void conns_add(store *st);
static void conns_remove(store *st);

void store_set_pooler(int pooler)
{
    setup_pooler = pooler;
    if (pooler != 0 && setup_ops == &store_sqlite_ops)
        log_write(LOG_WARN, "STATEWAVE_DATABASE_POOLER is ignored on SQLite (PostgreSQL only)");
}

int store_pooler(void)
{
    return setup_pooler;
}

int store_setup_sqlite(void)
{
    return setup_ops == &store_sqlite_ops;
}

const char *store_setup_conninfo(void)
{
    return setup_conninfo;
}

void store_track(store *st)
{
    conns_add(st);
}

void store_untrack(store *st)
{
    conns_remove(st);
}

static void conns_add(store *st)
{
    pthread_mutex_lock(&conns_lock);
    if (nconns == conns_cap) {
        conns_cap = conns_cap ? conns_cap * 2 : 16;
        conns = xrealloc(conns, conns_cap * sizeof(*conns));
    }
    conns[nconns++] = st;
    pthread_mutex_unlock(&conns_lock);
}

static void conns_remove(store *st)
{
    size_t i;

    pthread_mutex_lock(&conns_lock);
    for (i = 0; i < nconns; i++) {
        if (conns[i] == st) {
            conns[i] = conns[--nconns];
            break;
        }
    }
    pthread_mutex_unlock(&conns_lock);
}

static int sqlite_sync_full;

void store_set_sqlite_sync_full(int full)
{
    __atomic_store_n(&sqlite_sync_full, full != 0, __ATOMIC_RELAXED);
}

int store_sqlite_sync_full(void)
{
    return __atomic_load_n(&sqlite_sync_full, __ATOMIC_RELAXED);
}

store *store_thread(struct err *err)
{
    store *st;

    if (thread_conn && thread_conn->broken)
        store_thread_drop();
    if (thread_conn)
        return thread_conn;
    if (!setup_ops)
        BUG("store_thread before store_setup");
    if (store_open(setup_ops, setup_conninfo, &st, err) < 0)
        return NULL;
    thread_conn = st;
    conns_add(st);
    return st;
}

void store_thread_drop(void)
{
    if (!thread_conn)
        return;
    conns_remove(thread_conn);
    store_close(thread_conn);
    thread_conn = NULL;
}

void store_shutdown(void)
{
    pthread_mutex_lock(&conns_lock);
    while (nconns > 0)
        store_close(conns[--nconns]);
    free(conns);
    conns = NULL;
    conns_cap = 0;
    pthread_mutex_unlock(&conns_lock);
    thread_conn = NULL;
    store_replicas_release();
    free(setup_conninfo);
    setup_conninfo = NULL;
    setup_ops = NULL;
}

static uint64_t connection_epoch;

uint64_t store_connection_epoch(void)
{
    return __atomic_load_n(&connection_epoch, __ATOMIC_ACQUIRE);
}

void store_note_connection_lost(void)
{
    __atomic_add_fetch(&connection_epoch, 1, __ATOMIC_ACQ_REL);
}

int store_subject_reserved(const char *subject)
{
    return reserved_prefix_of(subject) != NULL;
}

int store_open(const struct store_ops *ops, const char *conninfo, store **out, struct err *err)
{
    return ops->open(conninfo, out, err);
}

void store_close(store *st)
{
    if (st)
        st->ops->close(st);
}

const char *store_backend_name(store *st)
{
    return st->ops->name;
}

int store_migrate(store *st, struct migrate_result *res, struct err *err)
{
    return st->ops->migrate(st, res, err);
}

int store_schema_version(store *st, int *current, int *latest, struct err *err)
{
    return st->ops->schema_version(st, current, latest, err);
}

int store_ping(store *st, struct err *err)
{
    return st->ops->ping(st, err);
}

int store_heartbeat(store *st, struct err *err)
{
    return st->ops->heartbeat(st, err);
}

int store_tx_begin(store *st, struct err *err)
{
    return st->ops->tx_begin(st, err);
}

int store_tx_commit(store *st, struct err *err)
{
    return st->ops->tx_commit(st, err);
}

void store_tx_rollback(store *st)
{
    st->ops->tx_rollback(st);
}

int store_tx_enter(store *st, int *own, struct err *err)
{
    *own = !st->in_tx;
    if (*own && st->ops->tx_begin(st, err) < 0)
        return -1;
    return 0;
}

int store_tx_leave(store *st, int own, int ret, struct err *err)
{
    if (!own)
        return ret < 0 ? -1 : 0;
    if (ret < 0) {
        st->ops->tx_rollback(st);
        return -1;
    }
    return st->ops->tx_commit(st, err);
}

/* Most ops scope their rows to one tenant space; only the export and snapshot reads also
 * take every tenant's rows. Saying all_tenants to any other op is our bug, not input. */
static const struct store_scope *one_tenant(const struct store_scope *sc, const char *op)
{
    if (sc->all_tenants) {
        log_write(LOG_ERROR, "store_%s: all_tenants given to an op of one tenant space", op);
        BUG("all_tenants given to an op of one tenant space");
    }
    return sc;
}

int store_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                               size_t n, int *inserted, struct err *err)
{
    if (!st->in_tx)
        BUG("store_episode_insert_group outside a transaction");
    return st->ops->episode_insert_group(st, as, eps, n, inserted, err);
}

int store_commits_flush(store *st, int *flushes, struct err *err)
{
    return st->ops->commits_flush(st, flushes, err);
}

int store_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                         struct err *err)
{
    return st->ops->episode_insert(st, a, ep, inserted, err);
}

int store_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_page *pg, struct episode_rows *out, struct err *err)
{
    return st->ops->episode_list(st, a, one_tenant(sc, "episode_list"), pg, out, err);
}

int store_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct store_page *pg, struct memory_rows *out, struct err *err)
{
    return st->ops->memory_list(st, a, one_tenant(sc, "memory_list"), pg, out, err);
}

int store_subject_list(store *st, struct arena *a, const char *tenant,
                       const struct store_page *pg, struct subject_count_rows *out,
                       struct err *err)
{
    return st->ops->subject_list(st, a, tenant, pg, out, err);
}

int store_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                              const struct episode_window *w, struct episode_rows *out,
                              struct err *err)
{
    return st->ops->episode_list_window(st, a, one_tenant(sc, "episode_list_window"), w, out,
                                        err);
}

int store_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                         struct err *err)
{
    return st->ops->subject_delete(st, one_tenant(sc, "subject_delete"), out, err);
}

/* ---- the memory loop ---- */

int store_subject_lock(store *st, const struct store_scope *sc, struct err *err)
{
    if (!st->in_tx)
        BUG("store_subject_lock outside a transaction");
    return st->ops->subject_lock(st, one_tenant(sc, "subject_lock"), err);
}

int store_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                                  size_t limit, struct episode_rows *out, struct err *err)
{
    return st->ops->episode_list_uncompiled(st, a, one_tenant(sc, "episode_list_uncompiled"),
                                            limit, out, err);
}

int store_episode_mark_compiled(store *st, const char *tenant, const char *const *ids,
                                size_t n, int64_t at, struct err *err)
{
    return st->ops->episode_mark_compiled(st, tenant, ids, n, at, err);
}

int store_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                              size_t limit, struct episode_rows *out, struct err *err)
{
    return st->ops->episode_list_recent(st, a, one_tenant(sc, "episode_list_recent"), limit,
                                        out, err);
}

int store_episode_get_many(store *st, struct arena *a, const char *tenant,
                           const struct store_ids *ids, struct episode_rows *out,
                           struct err *err)
{
    return st->ops->episode_get_many(st, a, tenant, ids, out, err);
}

int store_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                        struct err *err)
{
    return st->ops->compile_reset(st, one_tenant(sc, "compile_reset"), memories_deleted, err);
}

int store_memory_insert(store *st, const struct memory *m, struct err *err)
{
    return st->ops->memory_insert(st, m, err);
}

int store_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                             const struct memory_query *q, struct memory_rows *out,
                             struct err *err)
{
    return st->ops->memory_list_active(st, a, one_tenant(sc, "memory_list_active"), q, out,
                                       err);
}

int store_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                           int64_t updated_at, struct err *err)
{
    return st->ops->memory_supersede(st, tenant, id, valid_to, updated_at, err);
}

int store_memory_set_embeddings(store *st, const char *const *ids, const float *vecs, size_t n,
                                size_t dim, struct err *err)
{
    return st->ops->memory_set_embeddings(st, ids, vecs, n, dim, err);
}

int store_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                               struct err *err)
{
    return st->ops->memory_set_embedding(st, id, vec, dim, err);
}

int store_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                     struct memory **out, struct err *err)
{
    return st->ops->memory_get(st, a, tenant, id, out, err);
}

int store_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                              memory_vector_fn *fn, void *ctx, struct err *err)
{
    return st->ops->memory_scan_vectors(st, one_tenant(sc, "memory_scan_vectors"), kind, fn,
                                        ctx, err);
}

int store_memory_scan_text(store *st, const struct store_scope *sc,
                           const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx,
                           struct err *err)
{
    return st->ops->memory_scan_text(st, one_tenant(sc, "memory_scan_text"), ts, fn, ctx,
                                     err);
}

int store_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
                           const struct memory_rank_query *q, struct store_ids *out,
                           struct err *err)
{
    return st->ops->memory_rank_text(st, a, one_tenant(sc, "memory_rank_text"), q, out, err);
}

int store_search_text_sync(store *st, struct err *err)
{
    return st->ops->search_text_sync(st, err);
}

int store_search_codes_sync(store *st, struct err *err)
{
    return st->ops->search_codes_sync(st, err);
}

int store_memory_scan_codes(store *st, const struct store_scope *sc,
                            const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx,
                            struct err *err)
{
    return st->ops->memory_scan_codes(st, one_tenant(sc, "memory_scan_codes"), cs, fn, ctx,
                                      err);
}

int store_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen,
                           struct err *err)
{
    return st->ops->memory_codes_gen(st, one_tenant(sc, "memory_codes_gen"), gen, err);
}

int store_context_gen(store *st, const struct store_scope *sc, int64_t *gen,
                      struct err *err)
{
    return st->ops->context_gen(st, one_tenant(sc, "context_gen"), gen, err);
}

int store_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
                                memory_vector_fn *fn, void *ctx, struct err *err)
{
    return st->ops->memory_vectors_by_ids(st, tenant, ids, fn, ctx, err);
}

int store_memory_get_many(store *st, struct arena *a, const char *tenant,
                          const struct store_ids *ids, struct memory_rows *out,
                          struct err *err)
{
    return st->ops->memory_get_many(st, a, tenant, ids, out, err);
}

int store_memory_set_labels(store *st, const struct label_update *u, int *found,
                            struct err *err)
{
    return st->ops->memory_set_labels(st, u, found, err);
}

int store_qcache_get(store *st, struct arena *a, struct qcache_lookup *q, struct err *err)
{
    return st->ops->qcache_get(st, a, q, err);
}

int store_qcache_put(store *st, const struct qcache_write *w, struct err *err)
{
    if (st->replica)
        return 0;   /* a replica refuses writes; the cache is only a cache */
    return st->ops->qcache_put(st, w, err);
}

int store_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                          struct resolution_rows *out, struct err *err)
{
    return st->ops->resolution_list(st, a, one_tenant(sc, "resolution_list"), out, err);
}

/* The generic context read: the ops one after the other. */
static int context_read_each(store *st, struct arena *a, const struct store_scope *sc,
                             struct context_reads *r, struct err *err)
{
    struct memory_rows mems;
    struct episode_rows recent;
    struct resolution_rows res;
    size_t k;

    for (k = 0; k < r->nkinds; k++) {
        struct memory_query q = { .kind = r->kinds[k], .order = MEMORY_NEWEST_FIRST,
                                  .limit = r->limits[k] };

        if (store_memory_list_active(st, a, sc, &q, &mems, err) < 0)
            return -1;
        r->memories[k] = mems.items;
        r->nmemories[k] = mems.n;
    }
    if (store_episode_list_recent(st, a, sc, r->episodes, &recent, err) < 0)
        return -1;
    r->recent = recent.items;
    r->nrecent = recent.n;
    if (store_resolution_list(st, a, sc, &res, err) < 0)
        return -1;
    r->resolutions = res.items;
    r->nresolutions = res.n;
    return 0;
}

int store_context_read(store *st, struct arena *a, const struct store_scope *sc,
                       struct context_reads *r, struct err *err)
{
    if (r->nkinds > CONTEXT_READ_KINDS)
        BUG("store_context_read: too many kinds");
    one_tenant(sc, "context_read");
    memset(r->memories, 0, sizeof(r->memories));
    memset(r->nmemories, 0, sizeof(r->nmemories));
    r->recent = NULL;
    r->resolutions = NULL;
    r->nrecent = r->nresolutions = 0;
    r->have_sources = 0;
    r->sources = NULL;
    r->nsources = 0;
    if (st->ops->context_read)
        return st->ops->context_read(st, a, sc, r, err);
    return context_read_each(st, a, sc, r, err);
}

/* ---- subject export and import ---- */

int store_tx_begin_read(store *st, struct err *err)
{
    return st->ops->tx_begin_read(st, err);
}

int store_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                       struct err *err)
{
    return st->ops->export_count(st, sc, out, err);
}

int store_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                          const struct store_cursor *cur, struct episode_rows *out,
                          struct err *err)
{
    return st->ops->export_episodes(st, a, sc, cur, out, err);
}

int store_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                          const struct store_cursor *cur, struct memory_rows *out,
                          struct err *err)
{
    return st->ops->export_memories(st, a, sc, cur, out, err);
}

int store_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                            struct err *err)
{
    return st->ops->episode_ids_taken(st, ids, n, count, err);
}

int store_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                           struct err *err)
{
    return st->ops->memory_ids_taken(st, ids, n, count, err);
}

int store_episode_insert_many(store *st, const struct episode *eps, size_t n,
                              struct err *err)
{
    return st->ops->episode_insert_many(st, eps, n, err);
}

int store_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err)
{
    return st->ops->memory_insert_many(st, mems, n, err);
}

/* ---- snapshots and cleanup ---- */

int store_snapshot_insert(store *st, const struct snapshot *snap, struct err *err)
{
    return st->ops->snapshot_insert(st, snap, err);
}

int store_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                       struct err *err)
{
    return st->ops->snapshot_get(st, a, id, out, err);
}

int store_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                        struct snapshot **out, struct err *err)
{
    return st->ops->snapshot_find(st, a, name, version, out, err);
}

int store_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                          struct err *err)
{
    return st->ops->snapshot_latest(st, a, name, out, err);
}

int store_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                        struct err *err)
{
    return st->ops->snapshot_list(st, a, out, n, err);
}

/* Several statements on SQLite: outside a transaction a failure would leave half a copy. */
int store_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                       struct err *err)
{
    if (!st->in_tx)
        BUG("store_subject_copy outside a transaction");
    return st->ops->subject_copy(st, spec, out, err);
}

int store_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                                 struct err *err)
{
    return st->ops->subject_newest_episode(st, sc, newest, err);
}

int store_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *q,
                             struct subject_ref_rows *out, struct err *err)
{
    return st->ops->cleanup_candidates(st, a, q, out, err);
}

int store_maintenance_trylock(store *st, int *acquired, struct err *err)
{
    return st->ops->maintenance_trylock(st, acquired, err);
}

int store_maintenance_unlock(store *st, struct err *err)
{
    return st->ops->maintenance_unlock(st, err);
}

/* ---- compile jobs ---- */

int store_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err)
{
    return st->ops->job_count_stuck(st, started_before, n, err);
}

int store_job_insert(store *st, const struct compile_job *job, struct err *err)
{
    return st->ops->job_insert(st, job, err);
}

int store_job_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct compile_job **out, struct err *err)
{
    return st->ops->job_get(st, a, tenant, id, out, err);
}

int store_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                    struct compile_job **out, struct err *err)
{
    return st->ops->job_claim(st, a, now, lease_until, out, err);
}

int store_job_renew(store *st, const char *id, int64_t lease_until, struct err *err)
{
    return st->ops->job_renew(st, id, lease_until, err);
}

int store_job_finish(store *st, const struct job_outcome *o, struct err *err)
{
    return st->ops->job_finish(st, o, err);
}

int store_job_list(store *st, struct arena *a, const struct job_filter *f,
                   const struct store_page *pg, struct job_rows *out, struct err *err)
{
    return st->ops->job_list(st, a, f, pg, out, err);
}

int store_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err)
{
    return st->ops->job_delete(st, f, deleted, err);
}

int store_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                              struct err *err)
{
    return st->ops->job_count_by_status(st, a, out, err);
}

int store_backup(store *st, const char *path, struct err *err)
{
    return st->ops->backup(st, path, err);
}

/* ---- rate limits ---- */

int store_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                        int64_t *count, struct err *err)
{
    if (st->in_tx)
        BUG("store_ratelimit_hit inside a transaction");
    return st->ops->ratelimit_hit(st, key, window_start, now, count, err);
}

int store_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err)
{
    return st->ops->ratelimit_purge(st, before, deleted, err);
}

/* ---- webhook events ---- */

int store_webhook_insert(store *st, const struct webhook_event *ev, struct err *err)
{
    return st->ops->webhook_insert(st, ev, err);
}

int store_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                        struct webhook_rows *out, struct err *err)
{
    if (st->in_tx)
        BUG("store_webhook_claim inside a transaction");
    return st->ops->webhook_claim(st, a, c, out, err);
}

int store_webhook_update(store *st, const struct webhook_event *ev, struct err *err)
{
    return st->ops->webhook_update(st, ev, err);
}

int store_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                       const struct store_page *pg, struct webhook_rows *out,
                       struct err *err)
{
    return st->ops->webhook_list(st, a, f, pg, out, err);
}

int store_webhook_stats(store *st, struct webhook_stats *out, struct err *err)
{
    return st->ops->webhook_stats(st, out, err);
}

int store_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                      struct err *err)
{
    return st->ops->webhook_get(st, a, id, out, err);
}

int store_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                        struct err *err)
{
    return st->ops->webhook_purge(st, f, deleted, err);
}

/* ---- the support tier ---- */

int store_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                           const struct resolution_query *q, struct resolution_rows *out,
                           struct err *err)
{
    return st->ops->resolution_query(st, a, one_tenant(sc, "resolution_query"), q, out, err);
}

int store_resolution_upsert(store *st, struct arena *a, struct resolution *r, struct err *err)
{
    return st->ops->resolution_upsert(st, a, r, err);
}

int store_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                           struct health_cache_entry *out, int *found, struct err *err)
{
    return st->ops->health_cache_get(st, a, one_tenant(sc, "health_cache_get"), out, found,
                                     err);
}

int store_health_cache_put(store *st, const struct store_scope *sc,
                           const struct health_cache_entry *e, struct err *err)
{
    return st->ops->health_cache_put(st, one_tenant(sc, "health_cache_put"), e, err);
}

int store_health_cache_delete(store *st, const struct store_scope *sc, struct err *err)
{
    return st->ops->health_cache_delete(st, one_tenant(sc, "health_cache_delete"), err);
}

/* ---- provable deletion, fork lineage (Engram) ---- */

int store_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                             struct row_counts *out, struct store_ids *ids, struct err *err)
{
    if (!st->in_tx)
        BUG("store_subject_delete_ids outside a transaction");
    return st->ops->subject_delete_ids(st, a, one_tenant(sc, "subject_delete_ids"), out, ids,
                                       err);
}

int store_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                              struct row_counts *out, struct err *err)
{
    return st->ops->subject_rows_before(st, one_tenant(sc, "subject_rows_before"), before, out,
                                        err);
}

int store_deletion_insert(store *st, const struct deletion_receipt *r, struct err *err)
{
    return st->ops->deletion_insert(st, r, err);
}

int store_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                       struct deletion_receipt **out, struct err *err)
{
    return st->ops->deletion_get(st, a, tenant, id, out, err);
}

int store_lineage_put(store *st, const struct subject_lineage *l, struct err *err)
{
    return st->ops->lineage_put(st, l, err);
}

int store_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                      struct subject_lineage **out, struct err *err)
{
    return st->ops->lineage_get(st, a, one_tenant(sc, "lineage_get"), out, err);
}

int store_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                            const struct as_of_query *q, struct memory_rows *out,
                            struct err *err)
{
    return st->ops->memory_list_as_of(st, a, one_tenant(sc, "memory_list_as_of"), q, out,
                                      err);
}

int store_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                             const struct as_of_query *q, struct episode_rows *out,
                             struct err *err)
{
    return st->ops->episode_list_as_of(st, a, one_tenant(sc, "episode_list_as_of"), q, out,
                                       err);
}

int store_receipt_insert(store *st, const struct receipt_row *r, struct err *err)
{
    /* A read endpoint served by a replica (context) still records its receipt: on this
     * thread's primary connection, in a statement of its own. */
    if (st->replica && !(st = store_thread(err)))
        return -1;
    return st->ops->receipt_insert(st, r, err);
}

int store_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                      struct receipt_row **out, struct err *err)
{
    return st->ops->receipt_get(st, a, tenant, id, out, err);
}

int store_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                       const struct receipt_query *q, struct receipt_rows *out,
                       struct err *err)
{
    return st->ops->receipt_list(st, a, one_tenant(sc, "receipt_list"), q, out, err);
}

/* ---- the admin subject explorer and deletion ---- */

int store_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *q,
                            struct explorer_subject_rows *out, struct err *err)
{
    return st->ops->explorer_subjects(st, a, q, out, err);
}

int store_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                           struct explorer_summary *out, struct err *err)
{
    return st->ops->explorer_summary(st, a, sc, out, err);
}

int store_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                            const struct explorer_episode_query *q,
                            struct explorer_episode_rows *out, struct err *err)
{
    return st->ops->explorer_episodes(st, a, sc, q, out, err);
}

int store_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                            const struct explorer_memory_query *q,
                            struct explorer_memory_rows *out, struct err *err)
{
    return st->ops->explorer_memories(st, a, sc, q, out, err);
}

int store_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                               const char *session, size_t limit, struct resolution_rows *out,
                               struct err *err)
{
    return st->ops->explorer_resolutions(st, a, sc, session, limit, out, err);
}

int store_explorer_citing_counts(store *st, const struct store_scope *sc,
                                 const struct store_ids *ids, int64_t *counts,
                                 struct err *err)
{
    return st->ops->explorer_citing_counts(st, sc, ids, counts, err);
}

int store_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                        struct subject_match_rows *out, struct err *err)
{
    return st->ops->subject_match(st, a, sel, out, err);
}

size_t store_like_head(const char *pattern)
{
    return strcspn(pattern, "%_\\");
}

int store_search_has_trigram(const char *pattern)
{
    size_t chars = 0;

    for (const unsigned char *p = (const unsigned char *)pattern; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            chars = 0;
        else if ((*p & 0xC0) != 0x80 && ++chars >= 3)
            return 1;
    }
    return 0;
}

int store_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                      struct string_rows *out, struct err *err)
{
    return st->ops->tenant_list(st, a, pg, out, err);
}

int store_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err)
{
    return st->ops->tenant_audit(st, out, err);
}

int store_usage(store *st, const struct usage_query *q, struct usage_report *out,
                struct err *err)
{
    return st->ops->usage(st, q, out, err);
}

int store_overview(store *st, struct overview_counts *out, struct err *err)
{
    return st->ops->overview(st, out, err);
}

int store_pack_rows(store *st, struct arena *a, const struct pack_owner *o,
                    struct pack_rows *out, struct err *err)
{
    return st->ops->pack_rows(st, a, o, out, err);
}

int store_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                           struct err *err)
{
    return st->ops->pack_rows_delete(st, o, out, err);
}

/* st's backend's migration steps. */
static const struct migration *migrations_of(store *st, size_t *n)
{
    if (st->ops == &store_sqlite_ops) {
        *n = sqlite_migrations_count;
        return sqlite_migrations;
    }
    *n = postgres_migrations_count;
    return postgres_migrations;
}

int store_migration_latest(store *st)
{
    size_t n;
    const struct migration *m = migrations_of(st, &n);

    return n ? m[n - 1].version : 0;
}

const char *store_migration_name(store *st, int version)
{
    size_t n, i;
    const struct migration *m = migrations_of(st, &n);

    for (i = 0; i < n; i++)
        if (m[i].version == version)
            return m[i].name;
    return NULL;
}

static void usage_counts_from(struct usage_counts *c, const int64_t *v)
{
    c->today = v[0];
    c->d7 = v[1];
    c->d30 = v[2];
    c->total = v[3];
}

void store_usage_from_row(struct usage_report *out, const int64_t *v)
{
    usage_counts_from(&out->episodes, v);
    usage_counts_from(&out->memories, v + 4);
    usage_counts_from(&out->compile_jobs, v + 8);
    usage_counts_from(&out->webhooks, v + 12);
    out->active_7d = v[16];
    out->active_30d = v[17];
    out->active_total = v[18];
}

void store_overview_from_row(struct overview_counts *out, const int64_t *v)
{
    out->episodes = v[0];
    out->memories = v[1];
    out->subjects = v[2];
    out->healthy = v[3];
    out->watch = v[4];
    out->at_risk = v[5];
    out->unknown = v[6];
}
