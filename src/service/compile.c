/* compile.c - the compile pipeline (spec/behavior.md §4.2, §5.1): uncompiled episodes →
 * compiler → memories, marks and conflict resolution in one transaction → embeddings.
 *
 * Concurrency: two compiles of one (tenant, subject) must not both consume the same episodes
 * (behavior.md §4.2 "Decide: serialise compiles per (tenant, subject)").
 * - In one process, compiles of the same (tenant, subject) take turns on an in-process lock
 *   (HTTP requests and job workers alike).
 * - SQLite: store_tx_begin() is BEGIN IMMEDIATE, so the read-compile-write runs under the
 *   database's single writer lock and a second process sees the episodes already marked.
 * - PostgreSQL across processes: the transaction's first statement is store_subject_lock()
 *   (an advisory transaction lock on the pair), so a second process waits and then finds the
 *   episodes already marked.
 */
#include "service/compile.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "service/compiler.h"
#include "service/conflicts.h"
#include "service/embed.h"
#include "service/episodes.h"
#include "service/webhooks.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"
#include "util/jv.h"

/* A (tenant, subject) being compiled by this process. */
struct busy_subject {
    char *tenant;                 /* heap; NULL = no tenant */
    char *subject;                /* heap */
    struct busy_subject *next;
};

static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_done = PTHREAD_COND_INITIALIZER;
static struct busy_subject *busy;   /* guarded by busy_lock */

static int busy_match(const struct busy_subject *b, const char *tenant, const char *subject)
{
    if (strcmp(b->subject, subject) != 0)
        return 0;
    return (!b->tenant && !tenant) || (b->tenant && tenant && strcmp(b->tenant, tenant) == 0);
}

static int is_busy(const char *tenant, const char *subject)
{
    const struct busy_subject *b;

    for (b = busy; b; b = b->next) {
        if (busy_match(b, tenant, subject))
            return 1;
    }
    return 0;
}

/* Wait until no other thread compiles (tenant, subject), then claim it. */
static void subject_lock(const char *tenant, const char *subject)
{
    struct busy_subject *b = xcalloc(1, sizeof(*b));

    b->tenant = tenant ? xstrdup(tenant) : NULL;
    b->subject = xstrdup(subject);
    pthread_mutex_lock(&busy_lock);
    while (is_busy(tenant, subject))
        pthread_cond_wait(&busy_done, &busy_lock);
    b->next = busy;
    busy = b;
    pthread_mutex_unlock(&busy_lock);
}

static void subject_unlock(const char *tenant, const char *subject)
{
    struct busy_subject **pp, *b = NULL;

    pthread_mutex_lock(&busy_lock);
    for (pp = &busy; *pp; pp = &(*pp)->next) {
        if (busy_match(*pp, tenant, subject)) {
            b = *pp;
            *pp = b->next;
            break;
        }
    }
    pthread_cond_broadcast(&busy_done);
    pthread_mutex_unlock(&busy_lock);
    if (b) {
        free(b->tenant);
        free(b->subject);
        free(b);
    }
}

static int use_llm(void)
{
    return cfg && cfg->compiler_type && strcmp(cfg->compiler_type, "llm") == 0;
}

static const char *const *episode_ids(struct arena *a, const struct episode *eps, size_t n)
{
    const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids));
    size_t i;

    for (i = 0; i < n; i++)
        ids[i] = eps[i].id;
    return ids;
}

/* Copy the new state of superseded memories onto the compile's own list. */
static void apply_supersedes(struct memory *mems, size_t n, const struct memory *sup,
                             size_t nsup)
{
    size_t i, j;

    for (i = 0; i < nsup; i++) {
        for (j = 0; j < n; j++) {
            if (strcmp(mems[j].id, sup[i].id) == 0) {
                mems[j].status = sup[i].status;
                mems[j].valid_to = sup[i].valid_to;
                mems[j].updated_at = sup[i].updated_at;
                break;
            }
        }
    }
}

/* Inside the open transaction: insert, mark, resolve. */
static int write_compile(struct arena *a, store *st, const char *tenant, const char *subject,
                         const struct episode *eps, size_t neps, struct compile_result *res,
                         int64_t now, struct err *err)
{
    struct memory *sup;
    size_t nsup;

    /* One call for all: PostgreSQL pipelines the rows (one round trip, not one each). */
    if (store_memory_insert_many(st, res->memories, res->nmemories, err) < 0)
        return -1;
    if (store_episode_mark_compiled(st, tenant, episode_ids(a, eps, neps), neps, now, err) < 0)
        return -1;
    if (conflicts_resolve(a, st, tenant, subject, now, &sup, &nsup, err) < 0)
        return -1;
    apply_supersedes(res->memories, res->nmemories, sup, nsup);
    return 0;
}

/* 1 if episode id is among eps[0..n). */
static int has_episode(const struct episode *eps, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(eps[i].id, id) == 0)
            return 1;
    }
    return 0;
}

/*
 * The LLM compiler runs before the transaction (no transaction is open during its HTTP calls)
 * on the episodes it would take. Inside the transaction, only the episodes still uncompiled
 * are consumed: memories naming an episode that another process compiled meanwhile are
 * dropped, and episodes that arrived meanwhile are left for the next call.
 */
static void keep_still_uncompiled(struct arena *a, const struct episode *pre, size_t npre,
                                  struct episode *now_eps, size_t *nnow,
                                  struct compile_result *res)
{
    const char **gone = arena_alloc(a, (npre ? npre : 1) * sizeof(*gone));
    size_t i, j, k = 0, ngone = 0;

    for (i = 0; i < npre; i++) {
        if (!has_episode(now_eps, *nnow, pre[i].id))
            gone[ngone++] = pre[i].id;
    }
    for (i = 0; i < *nnow; i++) {
        if (has_episode(pre, npre, now_eps[i].id))
            now_eps[k++] = now_eps[i];
    }
    *nnow = k;
    for (i = 0, k = 0; i < res->nmemories; i++) {
        const char *ids = res->memories[i].source_episode_ids;
        int keep = 1;

        /* Episode ids are UUIDs: a substring test on the JSON array text is exact. */
        for (j = 0; j < ngone && keep && ids; j++)
            keep = strstr(ids, gone[j]) == NULL;
        if (keep)
            res->memories[k++] = res->memories[i];
    }
    res->nmemories = k;
}

static int llm_precompile(struct arena *a, store *st, const char *tenant, const char *subject,
                          int force, int64_t now, struct episode **pre, size_t *npre,
                          struct compile_result *res, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct episode_rows rows = { NULL, 0 };
    int rc;

    /* After a forced reset every episode is uncompiled: the oldest ones are taken. */
    if (force)
        rc = store_episode_list(st, a, &sc, &(struct store_page){ .limit = COMPILE_BATCH_MAX },
                                &rows, err);
    else
        rc = store_episode_list_uncompiled(st, a, &sc, COMPILE_BATCH_MAX, &rows, err);
    *pre = rows.items;
    *npre = rows.n;
    if (rc < 0 || *npre == 0)
        return rc;
    return compile_llm(a, *pre, *npre, tenant, now, &res->memories, &res->nmemories, err);
}

/* memories.compiled (spec/api.md §1.12). */
static int record_compiled(struct arena *a, store *st, const char *subject, size_t created,
                           struct err *err)
{
    struct jv *data;

    if (!webhooks_enabled())
        return 0;
    data = jv_object(a);
    jv_object_set(a, data, "subject_id", jv_str(a, subject));
    jv_object_set(a, data, "memories_created", jv_int(a, (int64_t)created));
    return webhooks_record(st, "memories.compiled", data, err);
}

/* The new memories to embed (content not empty, no vector yet): their texts and rows. */
static size_t to_embed(struct arena *a, struct compile_result *res, const char ***texts,
                       struct memory ***which)
{
    size_t i, n = 0;

    *texts = arena_alloc(a, (res->nmemories ? res->nmemories : 1) * sizeof(**texts));
    *which = arena_alloc(a, (res->nmemories ? res->nmemories : 1) * sizeof(**which));
    for (i = 0; i < res->nmemories; i++) {
        if (res->memories[i].content && res->memories[i].content[0] &&
            !res->memories[i].embedding) {
            (*texts)[n] = res->memories[i].content;
            (*which)[n++] = &res->memories[i];
        }
    }
    return n;
}

/* The stub provider computes its vectors in this process, with nothing to wait for: they are
 * written with the memories, in the compile transaction (behavior.md §7.3 allows it for the
 * stub: the result is identical), so each row is written once. Embedding after the commit
 * inserted the rows and then rewrote every one with an UPDATE of its vector: on PostgreSQL a
 * new row version with all its index entries and its TOASTed vector, half of a compile's
 * database time (docs/PERFORMANCE.md). Other providers call out over the network and embed
 * after the commit (embed_new), as does the stub if this fails. */
static void embed_inline(struct arena *a, struct compile_result *res)
{
    const char **texts;
    struct memory **which;
    struct err err = ERR_INIT;
    float *vecs;
    size_t i, n, dim;

    if (res->nmemories == 0 || !embed_available() || embed_semantic())
        return;
    n = to_embed(a, res, &texts, &which);
    dim = embed_dim();
    if (n == 0 || embed_texts(a, texts, n, &vecs, &err) < 0) {
        err_release(&err);
        return;
    }
    for (i = 0; i < n; i++) {
        which[i]->embedding = vecs + i * dim;
        which[i]->embedding_dim = dim;
    }
}

static int run_transaction(struct arena *a, store *st, const char *tenant, const char *subject,
                           int force, int llm, const struct episode *pre, size_t npre,
                           int64_t now, struct compile_result *res, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct episode_rows rows;
    struct episode *eps;
    int64_t deleted;
    size_t neps;

    if (store_subject_lock(st, &sc, err) < 0)
        return -1;
    if (force && store_compile_reset(st, &sc, &deleted, err) < 0)
        return -1;
    if (store_episode_list_uncompiled(st, a, &sc, COMPILE_BATCH_MAX, &rows, err) < 0)
        return -1;
    eps = rows.items;
    neps = rows.n;
    if (llm)
        keep_still_uncompiled(a, pre, npre, eps, &neps, res);
    else if (compile_heuristic(a, eps, neps, tenant, now, &res->memories, &res->nmemories,
                               err) < 0)
        return -1;
    res->episodes_compiled = neps;
    if (neps == 0) {
        res->nmemories = 0;
        return 0;
    }
    embed_inline(a, res);
    if (write_compile(a, st, tenant, subject, eps, neps, res, now, err) < 0)
        return -1;
    return record_compiled(a, st, subject, res->nmemories, err);
}

/* Embed every new memory's content that has no vector yet in one provider call and store the
 * vectors (and their compact codes) in a fresh transaction, batched
 * (store_memory_set_embeddings). Failures are logged and swallowed (behavior.md §7.3). */
static void embed_new(struct arena *a, store *st, struct compile_result *res)
{
    const char **texts, **ids;
    struct memory **which;
    struct err err = ERR_INIT;
    float *vecs;
    size_t i, n, dim;

    if (res->nmemories == 0 || !embed_available())
        return;
    n = to_embed(a, res, &texts, &which);
    if (n == 0)
        return;
    dim = embed_dim();
    if (embed_texts(a, texts, n, &vecs, &err) < 0)
        goto cleanup;
    ids = arena_alloc(a, n * sizeof(*ids));
    for (i = 0; i < n; i++)
        ids[i] = which[i]->id;
    if (store_tx_begin(st, &err) < 0)
        goto cleanup;
    if (store_memory_set_embeddings(st, ids, vecs, n, dim, &err) < 0) {
        store_tx_rollback(st);
        goto cleanup;
    }
    if (store_tx_commit(st, &err) < 0) {
        store_tx_rollback(st);
        goto cleanup;
    }
    err_release(&err);
    return;
cleanup:
    log_write(LOG_WARN, "embedding %zu new memories of subject '%s' failed: %s", n,
              which[0]->subject_id, err.msg);
    err_release(&err);
}

/* compile_subject without the subject lock. */
static int compile_locked(struct arena *a, store *st, const char *tenant, const char *subject,
                          int force, struct compile_result *res, struct err *err)
{
    struct episode *pre = NULL;
    size_t npre = 0;
    int64_t now = ts_now();
    int llm = use_llm();

    if (llm && llm_precompile(a, st, tenant, subject, force, now, &pre, &npre, res, err) < 0)
        return -1;
    if (llm && npre == 0 && !force)
        return 0;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (run_transaction(a, st, tenant, subject, force, llm, pre, npre, now, res, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    webhooks_wake();
    return 0;
}

int compile_subject(struct arena *a, store *st, const char *tenant, const char *subject,
                    int force, struct compile_result *res, struct err *err)
{
    int rc;

    memset(res, 0, sizeof(*res));
    if (subject_check_writable(subject, err) < 0)
        return -1;
    subject_lock(tenant, subject);
    rc = compile_locked(a, st, tenant, subject, force, res, err);
    subject_unlock(tenant, subject);
    if (rc < 0) {
        memset(res, 0, sizeof(*res));
        return -1;
    }
    embed_new(a, st, res);
    return 0;
}

int compile_pending(struct arena *a, store *st, const char *tenant, const char *subject,
                    size_t *n, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct episode_rows rows = { NULL, 0 };
    int rc;

    *n = 0;
    if (store_subject_reserved(subject))
        return 0;
    rc = store_episode_list_uncompiled(st, a, &sc, COMPILE_BATCH_MAX, &rows, err);
    *n = rows.n;
    return rc;
}
