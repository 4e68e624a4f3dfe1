/* test_store_deletions.c - provable deletion and fork/diff (Engram extensions, README
 * "Provable deletion", "Fork and diff") through the service functions the API calls, on
 * either backend (ENGRAM_TEST_DATABASE_URL, like the other store suites): the digest, the
 * receipt that verifies and stops verifying when a deleted row comes back behind the API's
 * back, tenant scoping; a fork as of an instant, its lineage, and the diff. */
#include "store_harness.h"

#include <openssl/evp.h>

#include "service/forks.h"
#include "service/subjects.h"
#include "store/store-internal.h"

/* ---- the digest ---- */

/* SHA-256 hex of text, computed here independently of the code under test. */
static void sha256_hex(const char *text, char hex[DELETION_DIGEST_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    assert_int_equal(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL), 1);
    for (i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void test_deletion_digest_empty(void **state)
{
    char hex[DELETION_DIGEST_HEX];

    (void)state;
    subjects_deletion_digest(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Sorted in byte order, each id followed by one newline; the input order does not matter. */
static void test_deletion_digest_sorted_ids(void **state)
{
    const char *ids[] = { "c0000000-0000-4000-8000-000000000000",
                          "0a000000-0000-4000-8000-000000000000",
                          "b1000000-0000-4000-8000-000000000000" };
    const char *again[] = { ids[1], ids[2], ids[0] };
    char hex[DELETION_DIGEST_HEX], want[DELETION_DIGEST_HEX], hex2[DELETION_DIGEST_HEX];

    (void)state;
    sha256_hex("0a000000-0000-4000-8000-000000000000\n"
               "b1000000-0000-4000-8000-000000000000\n"
               "c0000000-0000-4000-8000-000000000000\n",
               want);
    subjects_deletion_digest(ids, 3, hex);
    assert_string_equal(hex, want);
    subjects_deletion_digest(again, 3, hex2);
    assert_string_equal(hex2, want);
    subjects_deletion_digest(ids, 2, hex2); /* one id fewer: another digest */
    assert_string_not_equal(hex2, want);
}

/* ---- receipts ---- */

static struct deletion_check check(struct arena *a, const char *tenant, const char *id)
{
    struct deletion_check c;
    struct err err = ERR_INIT;

    assert_int_equal(subjects_deletion_get(a, g.st, tenant, id, &c, &err), 0);
    return c;
}

/* A subject of two episodes, two memories and a resolution in tenant: deleted, its receipt
 * has the counts and the digest of exactly those five ids, and it verifies. Re-inserting one
 * deleted episode through the store (behind the API's back) makes it fail; deleting that row
 * again makes it verify once more. */
/* An open resolution of (tenant, subject), committed; returned with its id. */
static struct resolution put_resolution(struct arena *a, const char *tenant,
                                        const char *subject)
{
    struct resolution res = { .session_id = "s1", .status = "open", .subject_id = subject,
                              .tenant_id = tenant, .metadata = "{}", .updated_at = T0,
                              .resolved_at = TS_NULL };
    struct err err = ERR_INIT;

    uuid_v4(res.id);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_resolution_upsert(g.st, a, &res, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    return res;
}

static void test_deletion_receipt_verifies_until_a_row_returns(void **state)
{
    struct arena *a = *state;
    const char *tenant = uniq(a, "t"), *subject = uniq(a, "del");
    struct episode e1 = add_ep(a, tenant, subject, T0), e2 = add_ep(a, tenant, subject, T0 + SEC);
    struct memory m1 =
        make_mem_with(tenant, subject, "profile_fact", "I live in Paris", "active", T0 + 2 * SEC);
    struct memory m2 =
        make_mem_with(tenant, subject, "episode_summary", "hello", "active", T0 + 2 * SEC);
    struct resolution res;
    struct subject_delete_in in = { tenant, subject };
    struct deletion_receipt rc;
    struct err err = ERR_INIT;
    const char *ids[5];
    char want[DELETION_DIGEST_HEX];
    struct deletion_check c;

    add_mem(&m1);
    add_mem(&m2);
    res = put_resolution(a, tenant, subject);
    ids[0] = e1.id, ids[1] = e2.id, ids[2] = m1.id, ids[3] = m2.id, ids[4] = res.id;
    subjects_deletion_digest(ids, 5, want);

    assert_int_equal(subjects_delete(a, g.st, &in, &rc, &err), 0);
    assert_int_equal(rc.episodes_deleted, 2);
    assert_int_equal(rc.memories_deleted, 2);
    assert_int_equal(rc.resolutions_deleted, 1);
    assert_string_equal(rc.digest, want);
    assert_string_equal(rc.subject_id, subject);
    assert_string_equal(rc.tenant_id, tenant);
    assert_true(rc.deleted_at >= T0 && rc.deleted_at <= ts_now());

    c = check(a, tenant, rc.id);
    assert_int_equal(c.verified, 1);
    assert_string_equal(c.receipt.digest, want);
    assert_int_equal(c.receipt.deleted_at, rc.deleted_at);
    assert_int_equal(c.receipt.episodes_deleted, 2);

    /* e1 comes back, written through the store, as it was. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, &e1, 1, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    c = check(a, tenant, rc.id);
    assert_int_equal(c.verified, 0);
    assert_int_equal(c.remaining.episodes, 1);
    assert_int_equal(c.remaining.memories, 0);

    /* A row created after the delete is not one the receipt speaks for. */
    add_ep(a, tenant, subject, ts_now() + SEC);
    assert_int_equal(
        store_subject_delete(g.st, &(struct store_scope){ .tenant = tenant, .subject = subject },
                             &(struct row_counts){ 0, 0, 0 }, &err),
        0);
    assert_int_equal(check(a, tenant, rc.id).verified, 1);
}

/* Receipts are tenant-scoped: another tenant, the no-tenant space and a malformed or unknown
 * id are all 404. A delete of nothing still gets a receipt (digest of no ids). */
static void test_deletion_receipt_tenant_scoped(void **state)
{
    struct arena *a = *state;
    const char *tenant = uniq(a, "t"), *subject = uniq(a, "del");
    struct subject_delete_in in = { tenant, subject };
    struct deletion_receipt rc;
    struct deletion_check c;
    struct err err = ERR_INIT;
    char unknown[UUID_STR_LEN];

    assert_int_equal(subjects_delete(a, g.st, &in, &rc, &err), 0);
    assert_int_equal(rc.episodes_deleted + rc.memories_deleted + rc.resolutions_deleted, 0);
    assert_string_equal(rc.digest,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(check(a, tenant, rc.id).verified, 1);
    assert_int_equal(subjects_deletion_get(a, g.st, uniq(a, "other"), rc.id, &c, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    assert_int_equal(subjects_deletion_get(a, g.st, NULL, rc.id, &c, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    uuid_v4(unknown);
    assert_int_equal(subjects_deletion_get(a, g.st, tenant, unknown, &c, &err), -1);
    assert_int_equal(subjects_deletion_get(a, g.st, tenant, "not-a-uuid", &c, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
}

/* ---- fork ---- */

static struct timeline_rows {
    struct episode_rows eps;
    struct memory_rows mems;
} timeline(struct arena *a, const char *tenant, const char *subject)
{
    struct timeline_rows t;
    struct store_page pg = { 1000, 0 };
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct err err = ERR_INIT;

    assert_int_equal(store_episode_list(g.st, a, &sc, &pg, &t.eps, &err), 0);
    assert_int_equal(store_memory_list(g.st, a, &sc, &pg, &t.mems, &err), 0);
    return t;
}

/* The subject as it stood at T0 + 10 s: e1 (compiled at T0 + 5 s) and e2 (compiled at T0 +
 * 20 s, so uncompiled then), not e3 (T0 + 15 s); m_old (superseded at T0 + 12 s by m_new)
 * comes back active, m_new (T0 + 12 s) is left out, m_gone (superseded before) too, and so is
 * a 'deleted' memory. */
static void test_fork_as_of(void **state)
{
    struct arena *a = *state;
    const char *src = uniq(a, "src"), *dst = uniq(a, "fork"), *tenant = uniq(a, "t");
    struct episode e1 = make_ep(NULL, src, T0), e2 = make_ep(NULL, src, T0 + 2 * SEC),
                   e3 = make_ep(NULL, src, T0 + 15 * SEC);
    struct memory m_old =
        make_mem_with(NULL, src, "profile_fact", "I live in Paris", "superseded", T0 + 5 * SEC);
    struct memory m_new =
        make_mem_with(NULL, src, "profile_fact", "I live in Rome", "active", T0 + 12 * SEC);
    struct memory m_gone =
        make_mem_with(NULL, src, "profile_fact", "I am Bob", "superseded", T0 + 1 * SEC);
    struct memory m_del;
    struct fork_in in = { src, NULL, dst, tenant, 1, T0 + 10 * SEC };
    struct fork_result res;
    struct subject_lineage *l;
    struct timeline_rows t;
    struct err err = ERR_INIT;

    e1.last_compiled_at = T0 + 5 * SEC;
    e2.last_compiled_at = T0 + 20 * SEC;
    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &e3);
    m_old.valid_to = T0 + 12 * SEC;
    m_old.updated_at = T0 + 12 * SEC;
    m_old.source_episode_ids = arena_printf(a, "[\"%s\"]", e1.id);
    m_gone.valid_to = T0 + 3 * SEC;
    m_del = make_mem_with(NULL, src, "profile_fact", "I am on Pro", "deleted", T0 + SEC);
    add_mem(&m_del);
    add_mem(&m_old);
    add_mem(&m_new);
    add_mem(&m_gone);

    assert_int_equal(forks_create(a, g.st, &in, &res, &err), 0);
    assert_int_equal(res.lineage.episodes_copied, 2);
    assert_int_equal(res.lineage.memories_copied, 1);
    t = timeline(a, tenant, dst);
    assert_int_equal(t.eps.n, 2);
    assert_int_equal(t.eps.items[0].created_at, T0);
    assert_int_equal(t.eps.items[0].last_compiled_at, T0 + 5 * SEC);
    assert_int_equal(t.eps.items[1].last_compiled_at, TS_NULL);
    assert_string_not_equal(t.eps.items[0].id, e1.id);
    assert_int_equal(t.mems.n, 1);
    assert_string_equal(t.mems.items[0].content, "I live in Paris");
    assert_string_equal(t.mems.items[0].status, "active");
    assert_int_equal(t.mems.items[0].valid_to, TS_NULL);
    assert_true(t.mems.items[0].updated_at <= T0 + 10 * SEC);
    assert_string_equal(t.mems.items[0].source_episode_ids,
                        arena_printf(a, "[\"%s\"]", t.eps.items[0].id));

    assert_int_equal(forks_lineage(a, g.st, tenant, dst, &l, &err), 0);
    assert_string_equal(l->source_subject_id, src);
    assert_null(l->source_tenant_id);
    assert_int_equal(l->as_of, T0 + 10 * SEC);
    assert_int_equal(l->episodes_copied, 2);
    /* the source is untouched */
    t = timeline(a, NULL, src);
    assert_int_equal(t.eps.n, 3);
    assert_int_equal(t.mems.n, 4);

    /* the target exists now: 409; before anything existed: 404 */
    assert_int_equal(forks_create(a, g.st, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    in.target_subject = uniq(a, "fork");
    in.as_of = T0 - SEC;
    assert_int_equal(forks_create(a, g.st, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    assert_int_equal(forks_lineage(a, g.st, tenant, in.target_subject, &l, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    in.target_subject = "_snapshot/x/v1";
    assert_int_equal(forks_create(a, g.st, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);

    /* deleting the fork forgets its lineage */
    assert_int_equal(store_subject_delete(g.st,
                                          &(struct store_scope){ .tenant = tenant, .subject = dst },
                                          &(struct row_counts){ 0, 0, 0 }, &err),
                     0);
    assert_int_equal(forks_lineage(a, g.st, tenant, dst, &l, &err), -1);
}

/* ---- diff ---- */

static void test_diff_normalise(void **state)
{
    struct arena *a = *state;

    assert_string_equal(forks_normalise(a, "  I  Live\tin\n PARIS "), "i live in paris");
    assert_string_equal(forks_normalise(a, ""), "");
    assert_string_equal(forks_normalise(a, " \t "), "");
    assert_string_equal(forks_normalise(a, "Ärger Über"), "ärger über");
}

/* Equal up to case and spacing: not reported. Same fact, other content: changed. Different
 * facts of one kind below the threshold, or another kind: only_in_a / only_in_b. Duplicates
 * pair one for one. */
static void test_diff_matches_by_kind_and_fact(void **state)
{
    struct arena *a = *state;
    const char *x = uniq(a, "a"), *y = uniq(a, "b");
    struct diff_side sx = { x, NULL }, sy = { y, "tb" };
    struct memory m;
    struct diff_result d;
    struct err err = ERR_INIT;

    m = make_mem_with(NULL, x, "profile_fact", "My name is Alice", "active", T0);
    add_mem(&m);
    m = make_mem_with("tb", y, "profile_fact", "my  name IS alice", "active", T0);
    add_mem(&m);
    m = make_mem_with(NULL, x, "profile_fact", "I work at Acme", "active", T0 + SEC);
    add_mem(&m);
    m = make_mem_with("tb", y, "profile_fact", "I work at Globex", "active", T0 + SEC);
    add_mem(&m);
    m = make_mem_with(NULL, x, "profile_fact", "I prefer vim", "active", T0 + 2 * SEC);
    add_mem(&m);
    m = make_mem_with("tb", y, "profile_fact", "I prefer emacs", "active", T0 + 2 * SEC);
    add_mem(&m);
    m = make_mem_with("tb", y, "episode_summary", "I work at Acme", "active", T0 + 3 * SEC);
    add_mem(&m);
    m = make_mem_with(NULL, x, "episode_summary", "hello", "active", T0 + 4 * SEC);
    add_mem(&m);
    m = make_mem_with(NULL, x, "episode_summary", "hello", "active", T0 + 5 * SEC);
    add_mem(&m);
    m = make_mem_with("tb", y, "episode_summary", "hello", "active", T0 + 5 * SEC);
    add_mem(&m);
    m = make_mem_with("tb", y, "episode_summary", "old", "superseded", T0 + 5 * SEC);
    add_mem(&m);

    assert_int_equal(forks_diff(a, g.st, &sx, &sy, &d, &err), 0);
    assert_int_equal(d.nchanged, 1);
    assert_string_equal(d.changed[0].a->content, "I work at Acme");
    assert_string_equal(d.changed[0].b->content, "I work at Globex");
    assert_int_equal(d.nonly_a, 2);
    assert_string_equal(d.only_a[0]->content, "I prefer vim");
    assert_string_equal(d.only_a[1]->content, "hello");
    assert_int_equal(d.only_a[1]->created_at, T0 + 5 * SEC); /* the first hello paired */
    assert_int_equal(d.nonly_b, 2);
    assert_string_equal(d.only_b[0]->content, "I prefer emacs");
    assert_string_equal(d.only_b[1]->content, "I work at Acme");
    assert_string_equal(d.only_b[1]->kind, "episode_summary");

    /* a subject against itself: nothing */
    assert_int_equal(forks_diff(a, g.st, &sx, &sx, &d, &err), 0);
    assert_int_equal(d.nchanged + d.nonly_a + d.nonly_b, 0);
}

/* The three counts of rows_before and of subject_delete each land in their own field
 * (pgst_take_counts on PostgreSQL); a failed statement is -1 with the counts zeroed. */
static void test_subject_row_counts(void **state)
{
    struct arena *a = *state;
    const char *tenant = uniq(a, "t"), *subject = uniq(a, "cnt");
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct memory m1 = make_mem_with(tenant, subject, "profile_fact", "a", "active", T0);
    struct memory m2 = make_mem_with(tenant, subject, "profile_fact", "b", "active", T0);
    struct memory m3 = make_mem_with(tenant, subject, "profile_fact", "c", "active", T0);
    struct row_counts n = { -1, -1, -1 };
    struct err err = ERR_INIT;

    add_ep(a, tenant, subject, T0);
    add_mem(&m1);
    add_mem(&m2);
    add_mem(&m3);
    put_resolution(a, tenant, subject);

    assert_int_equal(store_subject_rows_before(g.st, &sc, ts_now(), &n, &err), 0);
    assert_int_equal(n.episodes, 1);
    assert_int_equal(n.memories, 3);
    assert_int_equal(n.resolutions, 1);
    n = (struct row_counts){ -1, -1, -1 };
    store_fault_arm(1, STORE_FAULT_IOERR);
    assert_int_equal(store_subject_rows_before(g.st, &sc, ts_now(), &n, &err), -1);
    store_fault_disarm();
    assert_int_equal(n.episodes + n.memories + n.resolutions, 0);
    err_release(&err);

    n = (struct row_counts){ -1, -1, -1 };
    assert_int_equal(store_subject_delete(g.st, &sc, &n, &err), 0);
    assert_int_equal(n.episodes, 1);
    assert_int_equal(n.memories, 3);
    assert_int_equal(n.resolutions, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_deletion_digest_empty),
        T(test_deletion_digest_sorted_ids),
        T(test_deletion_receipt_verifies_until_a_row_returns),
        T(test_deletion_receipt_tenant_scoped),
        T(test_fork_as_of),
        T(test_diff_normalise),
        T(test_diff_matches_by_kind_and_fact),
        T(test_subject_row_counts),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
