/* subjects.c - timeline, subject listing, subject delete and its deletion receipt. */
#include "service/subjects.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "service/webhooks.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* The kinds as a compact JSON array for the store, NULL when there are none. */
static const char *kinds_json(struct arena *a, const char *const *kinds, size_t n)
{
    struct jv *arr;
    size_t i;

    if (n == 0)
        return NULL;
    arr = jv_array(a);
    for (i = 0; i < n; i++)
        jv_array_append(a, arr, jv_str(a, kinds[i]));
    return jv_compact_text(a, arr);
}

/* The timeline's rows as of q->as_of: without window filters the oldest episodes created by
 * then, else the window's episodes (eps, already read) created by then; the oldest memories
 * visible then. */
static int as_of_rows(struct arena *a, store *st, const struct timeline_query *q,
                      const struct store_scope *sc, int filtered, struct episode_rows *eps,
                      struct memory_rows *mems, struct err *err)
{
    const struct as_of_query aq = { .as_of = q->as_of, .order = MEMORY_OLDEST_FIRST,
                                    .limit = q->limit ? q->limit : TIMELINE_LIMIT };
    size_t i, n = 0;

    if (!filtered) {
        if (store_episode_list_as_of(st, a, sc, &aq, eps, err) < 0)
            return -1;
    } else {
        for (i = 0; i < eps->n; i++) {
            if (eps->items[i].created_at <= q->as_of)
                eps->items[n++] = eps->items[i];
        }
        eps->n = n;
    }
    return store_memory_list_as_of(st, a, sc, &aq, mems, err);
}

int subjects_timeline_query(struct arena *a, store *st, const struct timeline_query *q,
                            struct timeline *out, struct err *err)
{
    const struct store_scope sc = { .tenant = q->tenant, .subject = q->subject };
    const struct store_page pg = { .limit = q->limit ? q->limit : TIMELINE_LIMIT };
    int filtered = q->since != TS_NULL || q->until != TS_NULL || q->nkinds > 0 || q->limit > 0;
    struct episode_window w;
    struct episode_rows eps;
    struct memory_rows mems;
    int rc;

    memset(out, 0, sizeof(*out));
    if (store_subject_reserved(q->subject))
        return 0;
    if (filtered) {
        w = (struct episode_window){ .since = q->since, .until = q->until,
                                     .kinds_json = kinds_json(a, q->kinds, q->nkinds),
                                     .limit = pg.limit };
        rc = store_episode_list_window(st, a, &sc, &w, &eps, err);
    } else if (!q->has_as_of) {
        rc = store_episode_list(st, a, &sc, &pg, &eps, err);   /* the reference's answer */
    } else {
        rc = 0;                                                /* as_of_rows reads them */
    }
    if (rc < 0)
        return -1;
    if (q->has_as_of) {
        if (as_of_rows(a, st, q, &sc, filtered, &eps, &mems, err) < 0)
            return -1;
    } else if (store_memory_list(st, a, &sc, &pg, &mems, err) < 0) {
        return -1;
    }
    out->episodes = eps.items;
    out->nepisodes = eps.n;
    out->memories = mems.items;
    out->nmemories = mems.n;
    return 0;
}

int subjects_timeline(struct arena *a, store *st, const char *tenant, const char *subject,
                      struct timeline *out, struct err *err)
{
    const struct timeline_query q = { .tenant = tenant, .subject = subject, .since = TS_NULL,
                                      .until = TS_NULL };

    return subjects_timeline_query(a, st, &q, out, err);
}

int subjects_list(struct arena *a, store *st, const char *tenant, size_t limit, size_t offset,
                  struct subject_count **out, size_t *n, struct err *err)
{
    struct subject_count_rows rows;

    if (store_subject_list(st, a, tenant,
                           &(struct store_page){ .limit = limit, .offset = offset }, &rows,
                           err) < 0)
        return -1;
    *out = rows.items;
    *n = rows.n;
    return 0;
}

/* subject.deleted (spec/api.md §1.12): fired by every delete, even of nothing. */
static int record_deleted(store *st, const char *subject, int64_t episodes, int64_t memories,
                          struct err *err)
{
    struct arena *a;
    struct jv *data;
    int rc;

    if (!webhooks_enabled())
        return 0;
    a = arena_new();
    data = jv_object(a);
    jv_object_set(a, data, "subject_id", jv_str(a, subject));
    jv_object_set(a, data, "episodes_deleted", jv_int(a, episodes));
    jv_object_set(a, data, "memories_deleted", jv_int(a, memories));
    rc = webhooks_record(st, "subject.deleted", data, err);
    arena_free(a);
    return rc;
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void subjects_deletion_digest(const char **ids, size_t n, char hex[DELETION_DIGEST_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t k;

    if (n > 1)
        qsort(ids, n, sizeof(*ids), cmp_id);
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        BUG("cannot start a SHA-256 digest");
    for (k = 0; k < n; k++) {
        if (EVP_DigestUpdate(c, ids[k], strlen(ids[k])) != 1 ||
            EVP_DigestUpdate(c, "\n", 1) != 1)
            BUG("EVP_DigestUpdate failed");
    }
    if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != 32)
        BUG("EVP_DigestFinal_ex failed");
    EVP_MD_CTX_free(c);
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * len] = '\0';
}

/* Delete one (tenant, subject) pair inside the caller's transaction and record its deletion
 * receipt into *out (strings in a): its rows, the receipt, then its subject.deleted event:
 * always (v1), or only when something was deleted (admin, behavior.md §12). Every subject
 * delete goes through here. A reserved id deletes nothing (it behaves as a subject that does
 * not exist) but still gets its receipt. */
static int delete_pair(struct arena *a, store *st, const char *tenant, const char *subject,
                       int always_event, struct deletion_receipt *out, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct row_counts gone = { 0, 0, 0 };
    struct store_ids ids = { NULL, 0 };

    memset(out, 0, sizeof(*out));
    if (!store_subject_reserved(subject)) {
        /* Locked first: a compile of the subject finishes before the delete's instant. */
        if (store_subject_lock(st, &sc, err) < 0)
            return -1;
        out->deleted_at = ts_now();
        if (store_subject_delete_ids(st, a, &sc, &gone, &ids, err) < 0)
            return -1;
    } else {
        out->deleted_at = ts_now();
    }
    uuid_v4(out->id);
    out->subject_id = arena_strdup(a, subject);
    out->tenant_id = tenant ? arena_strdup(a, tenant) : NULL;
    out->episodes_deleted = gone.episodes;
    out->memories_deleted = gone.memories;
    out->resolutions_deleted = gone.resolutions;
    subjects_deletion_digest((const char **)ids.items, ids.n, out->digest);
    if (store_deletion_insert(st, out, err) < 0)
        return -1;
    if (!always_event && gone.episodes == 0 && gone.memories == 0)
        return 0;
    return record_deleted(st, subject, gone.episodes, gone.memories, err);
}

int subjects_delete(struct arena *a, store *st, const struct subject_delete_in *in,
                    struct deletion_receipt *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (delete_pair(a, st, in->tenant, in->subject, 1, out, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    webhooks_wake();
    return 0;
}

int subjects_deletion_get(struct arena *a, store *st, const char *tenant, const char *id,
                          struct deletion_check *out, struct err *err)
{
    struct deletion_receipt *r = NULL;
    struct row_counts *left = &out->remaining;

    memset(out, 0, sizeof(*out));
    if (store_deletion_get(st, a, tenant, id, &r, err) < 0)
        return -1;
    if (!r)
        return err_set(err, ERR_NOT_FOUND, "Deletion receipt not found");
    if (store_subject_rows_before(st,
                                  &(struct store_scope){ .tenant = r->tenant_id,
                                                         .subject = r->subject_id },
                                  r->deleted_at, left, err) < 0)
        return -1;
    out->receipt = *r;
    out->verified = left->episodes == 0 && left->memories == 0 && left->resolutions == 0;
    return 0;
}

/* Delete every pair of m inside the caller's transaction, summing into out, one receipt per
 * pair into out->receipts. */
static int delete_pairs(struct arena *a, store *st, const struct subject_match_rows *m,
                        struct subjects_deleted *out, struct err *err)
{
    size_t i;

    out->receipts = arena_calloc(a, m->n ? m->n : 1, sizeof(*out->receipts));
    for (i = 0; i < m->n; i++) {
        struct deletion_receipt *rc = &out->receipts[i];

        if (delete_pair(a, st, m->items[i].tenant_id, m->items[i].subject_id, 0, rc, err) < 0)
            return -1;
        out->nreceipts++;
        out->subjects++;
        out->episodes += rc->episodes_deleted;
        out->memories += rc->memories_deleted;
    }
    return 0;
}

#define DELETE_ATTEMPTS 3

/* In one transaction: select the pairs of sel, check them with check and delete them all;
 * run again (up to DELETE_ATTEMPTS) when the database aborted it for a conflict. Nothing is
 * deleted on any failure. */
static int delete_selected(struct arena *a, store *st, const struct subject_selector *sel,
                           int (*check)(const struct subject_match_rows *m, const void *ctx,
                                        struct err *err),
                           const void *ctx, struct subjects_deleted *out, struct err *err)
{
    struct subject_match_rows m;
    int attempt;

    for (attempt = 1;; attempt++) {
        memset(out, 0, sizeof(*out));
        if (store_tx_begin(st, err) < 0)
            return -1;
        if (store_subject_match(st, a, sel, &m, err) == 0 && check(&m, ctx, err) == 0 &&
            delete_pairs(a, st, &m, out, err) == 0 && store_tx_commit(st, err) == 0)
            break;
        store_tx_rollback(st);
        memset(out, 0, sizeof(*out));
        /* Several pairs' subject_stats rows can deadlock with a concurrent writer of the
         * same pairs (PostgreSQL aborts one transaction): run it again from the start. */
        if (attempt == DELETE_ATTEMPTS || !err->code || strcmp(err->code, STORE_RETRY_CODE))
            return -1;
        err_release(err);
        *err = (struct err)ERR_INIT;
    }
    webhooks_wake();
    return 0;
}

/* The admin delete of one subject: 404 when nothing of it exists. */
static int check_found(const struct subject_match_rows *m, const void *ctx, struct err *err)
{
    if (m->episodes == 0 && m->memories == 0)
        return err_set(err, ERR_NOT_FOUND, "Subject '%s' not found", (const char *)ctx);
    return 0;
}

int subjects_admin_delete(struct arena *a, store *st, const char *subject, const char *tenant,
                          struct subjects_deleted *out, struct err *err)
{
    const struct subject_selector sel = { .subject = subject, .tenant = tenant,
                                          .all_tenants = !tenant, .older_than = TS_NULL };

    memset(out, 0, sizeof(*out));
    if (store_subject_reserved(subject))
        return err_set(err, ERR_NOT_FOUND, "Subject '%s' not found", subject);
    return delete_selected(a, st, &sel, check_found, subject, out, err);
}

int subjects_selector_check(const struct subject_selector *sel, int match_all, struct err *err)
{
    if (match_all || (sel->prefix && *sel->prefix) || sel->older_than != TS_NULL ||
        !sel->all_tenants)
        return 0;
    return err_set(err, ERR_INVALID,
                   "At least one filter must be set (subject_id_prefix, older_than_days, or "
                   "tenant_id), or match_all=true to explicitly target every subject.");
}

int subjects_preview_delete(struct arena *a, store *st, const struct subject_selector *sel,
                            struct subject_match_rows *out, struct err *err)
{
    return store_subject_match(st, a, sel, out, err);
}

/* The bulk delete's optimistic check: the selection still has the previewed size. */
static int check_expected(const struct subject_match_rows *m, const void *ctx, struct err *err)
{
    int64_t expected = *(const int64_t *)ctx;

    if ((int64_t)m->n != expected)
        return err_set(err, ERR_CONFLICT,
                       "Match count changed since preview (%zu now vs expected %lld). "
                       "Re-preview before committing.",
                       m->n, (long long)expected);
    return 0;
}

int subjects_bulk_delete(struct arena *a, store *st, const struct subject_selector *sel,
                         int64_t expected, struct subjects_deleted *out, struct err *err)
{
    return delete_selected(a, st, sel, check_expected, &expected, out, err);
}
