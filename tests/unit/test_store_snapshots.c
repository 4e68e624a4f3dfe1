/* test_store_snapshots.c - the store contract suite for snapshots and the subject copy behind
 * capture and restore (the ops under "snapshots and cleanup" in store.h; cleanup itself is in
 * test_store_cleanup.c), run unchanged on every backend. ENGRAM_TEST_DATABASE_URL picks the
 * database (default: a fresh SQLite temp file). Every test makes its own names, subjects and
 * tenants, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite-internal.h"   /* the SQLite connection, for one plan check */
#include "store/store.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids, episode and memory rows */
#include "store_raw.h"       /* raw SQL beneath the interface, resolution and memory rows */

#define DIM 8                   /* embedding size of the small tests */
#define OUTSIDE_ID "0b7e2f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"   /* an episode of no subject */

/* ---- JSON ---- */

static struct jv *parse_json(struct arena *a, const char *text)
{
    const char *msg = NULL;
    struct jv *j = jv_parse(a, text, strlen(text), NULL, &msg);

    if (!j)
        fail_msg("bad JSON '%s': %s", text, msg);
    return j;
}

/* got and want are the same JSON value (object key order ignored; 1 and 1.0 differ, as
 * the old json_equal had them): their canonical forms are equal. */
static void assert_json_equal(const char *got, const char *want)
{
    struct arena *a = arena_new();
    struct buf g = BUF_INIT, w = BUF_INIT;
    int same;

    assert_int_equal(jv_write_canonical(&g, parse_json(a, got)), 0);
    assert_int_equal(jv_write_canonical(&w, parse_json(a, want)), 0);
    same = g.len == w.len && memcmp(g.data, w.data, g.len) == 0;
    buf_release(&g);
    buf_release(&w);
    arena_free(a);
    if (!same)
        fail_msg("JSON differs: got %s, want %s", got, want);
}

/* obj (JSON text) with the string members of the NULL-terminated key, value list set. */
static const char *doc_with(struct arena *a, const char *obj, ...)
{
    struct jv *j = parse_json(a, obj);
    struct buf b = BUF_INIT;
    const char *key, *out;
    va_list ap;

    va_start(ap, obj);
    while ((key = va_arg(ap, const char *)) != NULL)
        jv_object_set(a, j, key, jv_str(a, va_arg(ap, const char *)));
    va_end(ap);
    jv_write_compact(&b, j);
    out = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return out;
}

/* The string member key of the JSON object text (arena), NULL when missing. */
static const char *doc_member(struct arena *a, const char *obj, const char *key)
{
    struct jv *v = jv_object_get(parse_json(a, obj), key);
    const char *s = v ? jv_string(v, NULL) : NULL;

    return s ? arena_strdup(a, s) : NULL;
}

/* A JSON array text of the n ids. */
static const char *id_array(struct arena *a, const char *const *ids, size_t n)
{
    const char *s = "[";
    size_t i;

    for (i = 0; i < n; i++)
        s = arena_printf(a, "%s%s\"%s\"", s, i ? "," : "", ids[i]);
    return arena_printf(a, "%s]", s);
}

static void assert_vec_bits(const struct memory *got, const struct memory *want)
{
    assert_int_equal(got->embedding_dim, want->embedding_dim);
    if (want->embedding_dim == 0) {
        assert_null(got->embedding);
        return;
    }
    assert_memory_equal(got->embedding, want->embedding, want->embedding_dim * sizeof(float));
}

static struct row_counts run_copy(const struct subject_copy *spec)
{
    struct row_counts n = { -1, -1, -1 };
    struct err err = ERR_INIT;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    if (store_subject_copy(g.st, spec, &n, &err) < 0) {
        store_tx_rollback(g.st);
        fail_msg("subject_copy failed: %s", err.msg);
    }
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    return n;
}

/* ---- snapshot rows ---- */

static struct snapshot make_snap(const char *name, int64_t version)
{
    struct snapshot s = {
        .tenant_id = NULL,
        .name = name,
        .version = version,
        .episode_count = 3,
        .memory_count = 5,
        .metadata = "{\"persona\":\"startup founder\"}",
        .created_at = T0 + version,
    };

    uuid_v4(s.id);
    return s;
}

static void put_snap(struct arena *a, struct snapshot *s)
{
    struct err err = ERR_INIT;

    s->source_subject_id = arena_printf(a, "_snapshot/%s/v%lld", s->name, (long long)s->version);
    assert_int_equal(store_snapshot_insert(g.st, s, &err), 0);
}

static void assert_snap_equal(const struct snapshot *got, const struct snapshot *want)
{
    assert_string_equal(got->id, want->id);
    assert_str_or_null(got->tenant_id, want->tenant_id);
    assert_string_equal(got->name, want->name);
    assert_int_equal(got->version, want->version);
    assert_string_equal(got->source_subject_id, want->source_subject_id);
    assert_int_equal(got->episode_count, want->episode_count);
    assert_int_equal(got->memory_count, want->memory_count);
    assert_json_equal(got->metadata, want->metadata);
    assert_int_equal(got->created_at, want->created_at);
}

static void test_store_snapshot_insert_get(void **state)
{
    struct arena *a = *state;
    struct snapshot s = make_snap(uniq(a, "snap-get"), 4), *got = NULL;
    struct err err = ERR_INIT;

    s.tenant_id = uniq(a, "t");
    put_snap(a, &s);
    assert_int_equal(store_snapshot_get(g.st, a, s.id, &got, &err), 0);
    assert_non_null(got);
    assert_snap_equal(got, &s);

    assert_int_equal(store_snapshot_get(g.st, a, new_id(a), &got, &err), 0);
    assert_null(got);
    got = (struct snapshot *)&s;
    assert_int_equal(store_snapshot_get(g.st, a, "not-a-uuid", &got, &err), 0);
    assert_null(got);
}

static void test_store_snapshot_find_highest(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "snap-find");
    struct snapshot v2 = make_snap(name, 2), v10 = make_snap(name, 10), v3 = make_snap(name, 3);
    struct snapshot *got = NULL;
    struct err err = ERR_INIT;

    put_snap(a, &v2);
    put_snap(a, &v10);
    put_snap(a, &v3);
    /* The highest number, not the newest row (v3 was created last). */
    assert_int_equal(store_snapshot_latest(g.st, a, name, &got, &err), 0);
    assert_non_null(got);
    assert_snap_equal(got, &v10);
    assert_int_equal(store_snapshot_find(g.st, a, name, 3, &got, &err), 0);
    assert_non_null(got);
    assert_snap_equal(got, &v3);
    assert_int_equal(store_snapshot_find(g.st, a, name, 4, &got, &err), 0);
    assert_null(got);
    assert_int_equal(store_snapshot_latest(g.st, a, uniq(a, "snap-none"), &got, &err), 0);
    assert_null(got);
    /* A version below 1 names no snapshot: find answers one question, the exact version. */
    got = &v2;
    assert_int_equal(store_snapshot_find(g.st, a, name, 0, &got, &err), 0);
    assert_null(got);
}

/* Name in byte order (not a locale's), then version. */
static void test_store_snapshot_list_order(void **state)
{
    struct arena *a = *state;
    const char *base = uniq(a, "snap-list");
    const char *names[3] = { arena_printf(a, "%s-a", base), arena_printf(a, "%s-B", base),
                             arena_printf(a, "%s-_", base) };
    struct snapshot s[5], *list;
    struct err err = ERR_INIT;
    const char *want[5], *got[5];
    size_t i, n, k = 0;

    s[0] = make_snap(names[0], 2);
    s[1] = make_snap(names[0], 1);
    s[2] = make_snap(names[1], 7);
    s[3] = make_snap(names[2], 1);
    s[4] = make_snap(names[1], 3);
    for (i = 0; i < 5; i++)
        put_snap(a, &s[i]);
    /* '-B' (0x42) < '-_' (0x5f) < '-a' (0x61). */
    want[0] = s[4].id;
    want[1] = s[2].id;
    want[2] = s[3].id;
    want[3] = s[1].id;
    want[4] = s[0].id;
    assert_int_equal(store_snapshot_list(g.st, a, &list, &n, &err), 0);
    for (i = 0; i < n; i++) {
        if (strncmp(list[i].name, base, strlen(base)) != 0)
            continue;
        assert_true(k < 5);
        got[k++] = list[i].id;
    }
    assert_int_equal(k, 5);
    for (i = 0; i < 5; i++)
        assert_string_equal(got[i], want[i]);
}

/* (name, version) is unique: ERR_CONFLICT, nothing changes, and inside a transaction the
 * transaction stays usable. */
static void test_store_snapshot_duplicate_conflict(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "snap-dup");
    struct snapshot first = make_snap(name, 1), dup = make_snap(name, 1), v2 = make_snap(name, 2);
    struct snapshot *got = NULL;
    struct err err = ERR_INIT;

    put_snap(a, &first);
    dup.source_subject_id = first.source_subject_id;
    dup.episode_count = 99;
    assert_int_equal(store_snapshot_insert(g.st, &dup, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    err_release(&err);

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_snapshot_insert(g.st, &dup, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    err_release(&err);
    v2.source_subject_id = arena_printf(a, "_snapshot/%s/v2", name);
    assert_int_equal(store_snapshot_insert(g.st, &v2, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);

    assert_int_equal(store_snapshot_find(g.st, a, name, 1, &got, &err), 0);
    assert_snap_equal(got, &first);
    assert_int_equal(store_snapshot_latest(g.st, a, name, &got, &err), 0);
    assert_snap_equal(got, &v2);
    assert_int_equal(store_snapshot_get(g.st, a, dup.id, &got, &err), 0);
    assert_null(got);
}

/* ---- capture ---- */

/* The copy of an episode: every field as the source except id, subject, tenant and the
 * provenance (checked by the caller); the idempotency key is never copied. */
static void assert_ep_copied(const struct episode *got, const struct episode *src,
                             const char *subject, const char *tenant, int64_t shift,
                             int64_t clamp)
{
    int64_t lc = src->last_compiled_at;

    assert_string_not_equal(got->id, src->id);
    assert_string_equal(got->subject_id, subject);
    assert_str_or_null(got->tenant_id, tenant);
    assert_str_or_null(got->session_id, src->session_id);
    assert_string_equal(got->source, src->source);
    assert_string_equal(got->type, src->type);
    assert_json_equal(got->payload, src->payload);
    assert_string_equal(got->metadata, src->metadata);
    assert_null(got->idempotency_key);
    assert_int_equal(got->created_at, src->created_at + shift);
    if (lc != TS_NULL) {
        lc += shift;
        if (clamp != TS_NULL && lc > clamp)
            lc = clamp;
    }
    assert_int_equal(got->last_compiled_at, lc);
}

/* The copy of a memory, except id, source_episode_ids and metadata (checked by the caller). */
static void assert_mem_copied(const struct memory *got, const struct memory *src,
                              const char *subject, const char *tenant, int64_t shift,
                              int64_t clamp)
{
    int64_t created = src->created_at + shift, updated = src->updated_at + shift;

    if (clamp != TS_NULL) {
        created = created > clamp ? clamp : created;
        updated = updated > clamp ? clamp : updated;
    }
    assert_string_not_equal(got->id, src->id);
    assert_string_equal(got->subject_id, subject);
    assert_str_or_null(got->tenant_id, tenant);
    assert_string_equal(got->kind, src->kind);
    assert_string_equal(got->content, src->content);
    assert_string_equal(got->summary, src->summary);
    assert_memory_equal(&got->confidence, &src->confidence, sizeof(double));
    assert_string_equal(got->status, src->status);
    assert_json_equal(got->sensitivity_labels, src->sensitivity_labels);
    assert_vec_bits(got, src);
    assert_int_equal(got->valid_from, src->valid_from + shift);
    assert_int_equal(got->valid_to, src->valid_to == TS_NULL ? TS_NULL : src->valid_to + shift);
    assert_int_equal(got->created_at, created);
    assert_int_equal(got->updated_at, updated);
}

/* The copy (in got, n rows) whose provenance names src_id under key; fails when none. */
static const struct episode *copy_of(struct arena *a, const struct episode *got, size_t n,
                                     const char *key, const char *src_id)
{
    const char *v;
    size_t i;

    for (i = 0; i < n; i++) {
        v = doc_member(a, got[i].provenance, key);
        if (v && strcmp(v, src_id) == 0)
            return &got[i];
    }
    fail_msg("no copy of episode %s", src_id);
    return NULL;
}

struct capture_src {
    const char *subject, *ta, *tb;
    struct episode e1, e2, e3;     /* e1, e2 in ta; e3 in tb */
    struct memory m1, m2;          /* m1 in ta cites e2, OUTSIDE, e1; m2 in tb cites e3 */
    struct res_row ra, rb;         /* one resolution per tenant */
};

static void capture_source(struct arena *a, struct capture_src *s)
{
    const char *cites[3];

    s->subject = uniq(a, "cap-src");
    s->ta = uniq(a, "ta");
    s->tb = uniq(a, "tb");
    s->e1 = make_ep(s->ta, s->subject, T0);
    s->e1.session_id = "sess-1";
    s->e1.idempotency_key = "idem-1";
    s->e1.last_compiled_at = T0 + 5 * SEC;
    s->e1.metadata = "{\"m\":1.50,\"u\":\"\\u00e9\"}";
    s->e2 = make_ep(s->ta, s->subject, T0 + SEC);
    s->e2.provenance = "{\"original_id\":\"stale\",\"k\":\"v\"}";
    s->e3 = make_ep(s->tb, s->subject, T0 + 2 * SEC);
    insert_ok(a, &s->e1);
    insert_ok(a, &s->e2);
    insert_ok(a, &s->e3);
    s->m1 = make_mem(s->ta, s->subject, T0 + DAY);
    cites[0] = s->e2.id;
    cites[1] = OUTSIDE_ID;
    cites[2] = s->e1.id;
    s->m1.source_episode_ids = id_array(a, cites, 3);
    s->m1.metadata = "{\"k\":[1,2]}";
    s->m1.embedding = test_vec(a, DIM, 1);
    s->m1.embedding_dim = DIM;
    s->m2 = make_mem(s->tb, s->subject, T0 + DAY);
    s->m2.source_episode_ids = id_array(a, (const char *[]){ s->e3.id }, 1);
    add_mem(&s->m1);
    add_mem(&s->m2);
    s->ra = (struct res_row){ new_id(a), "sess-1", s->ta, "resolved", "fixed it",
                              T0 + 3 * DAY, "{\"a\":1}", T0, T0 + 3 * DAY };
    s->rb = (struct res_row){ new_id(a), "sess-2", s->tb, "open", NULL, TS_NULL, "{}", T0,
                              T0 };
    add_resolution(a, s->subject, &s->ra);
    add_resolution(a, s->subject, &s->rb);
}

static void assert_res_copied(struct arena *a, const char *subject, const struct res_row *src,
                              const char *tenant, const char *snapshot_id, int64_t shift,
                              int64_t clamp)
{
    struct res_row got = { 0 };
    int64_t want;

    assert_true(get_resolution(a, subject, src->session_id, &got));
    assert_string_not_equal(got.id, src->id);
    assert_str_or_null(got.tenant_id, tenant);
    assert_string_equal(got.status, src->status);
    assert_str_or_null(got.summary, src->summary);
    if (snapshot_id)
        assert_json_equal(got.metadata, doc_with(a, src->metadata, "restored_from_snapshot",
                                                  snapshot_id, NULL));
    else
        assert_json_equal(got.metadata, src->metadata);
    want = src->resolved_at == TS_NULL ? TS_NULL : src->resolved_at + shift;
    if (want != TS_NULL && clamp != TS_NULL && want > clamp)
        want = clamp;
    assert_int_equal(got.resolved_at, want);
    want = src->created_at + shift;
    assert_int_equal(got.created_at, clamp != TS_NULL && want > clamp ? clamp : want);
    want = src->updated_at + shift;
    assert_int_equal(got.updated_at, clamp != TS_NULL && want > clamp ? clamp : want);
}

/* A capture from every tenant: new ids, tenant none, original_id set (overwriting), ids
 * remapped (the outside one kept), resolutions keep their tenant, everything else verbatim. */
static void test_store_subject_copy_capture_all_tenants(void **state)
{
    struct arena *a = *state;
    struct capture_src s;
    const char *dst = arena_printf(a, "_snapshot/%s/v1", uniq(a, "cap"));
    struct subject_copy spec = { 0 };
    struct row_counts n;
    struct episode *eps;
    struct memory *ms;
    const struct episode *c1, *c2, *c3;
    const char *cites[3];
    size_t ne, nm;

    capture_source(a, &s);
    spec.src_subject = s.subject;
    spec.src_all_tenants = 1;
    spec.dst_subject = dst;
    spec.keep_res_tenant = 1;
    spec.clamp_at = TS_NULL;
    spec.mark_original_id = 1;
    n = run_copy(&spec);
    assert_int_equal(n.episodes, 3);
    assert_int_equal(n.memories, 2);
    assert_int_equal(n.resolutions, 2);
    assert_total(dst, 3, 2);
    assert_total(s.subject, 3, 2);   /* the source is untouched */

    eps = list_eps(a, NULL, dst, &ne);
    assert_int_equal(ne, 3);
    c1 = copy_of(a, eps, ne, "original_id", s.e1.id);
    c2 = copy_of(a, eps, ne, "original_id", s.e2.id);
    c3 = copy_of(a, eps, ne, "original_id", s.e3.id);
    assert_ep_copied(c1, &s.e1, dst, NULL, 0, TS_NULL);
    assert_ep_copied(c2, &s.e2, dst, NULL, 0, TS_NULL);
    assert_ep_copied(c3, &s.e3, dst, NULL, 0, TS_NULL);
    assert_json_equal(c1->provenance, doc_with(a, "{}", "original_id", s.e1.id, NULL));
    assert_json_equal(c2->provenance, doc_with(a, "{\"k\":\"v\"}", "original_id", s.e2.id,
                                                NULL));
    /* Listing order is the source's (created_at) order. */
    assert_ptr_equal(c1, &eps[0]);
    assert_ptr_equal(c2, &eps[1]);
    assert_ptr_equal(c3, &eps[2]);

    ms = list_mems(a, NULL, dst, &nm);
    assert_int_equal(nm, 2);
    assert_mem_copied(&ms[0], &s.m1, dst, NULL, 0, TS_NULL);
    assert_mem_copied(&ms[1], &s.m2, dst, NULL, 0, TS_NULL);
    cites[0] = c2->id;
    cites[1] = OUTSIDE_ID;
    cites[2] = c1->id;
    assert_json_equal(ms[0].source_episode_ids, id_array(a, cites, 3));
    assert_json_equal(ms[1].source_episode_ids, id_array(a, (const char *[]){ c3->id }, 1));
    assert_string_equal(ms[0].metadata, s.m1.metadata);
    assert_string_equal(ms[1].metadata, s.m2.metadata);

    assert_int_equal(count_resolutions(a, dst), 2);
    assert_res_copied(a, dst, &s.ra, s.ta, NULL, 0, TS_NULL);
    assert_res_copied(a, dst, &s.rb, s.tb, NULL, 0, TS_NULL);
}

/* A capture from one tenant copies only that tenant's rows; ids it does not copy stay. */
static void test_store_subject_copy_capture_one_tenant(void **state)
{
    struct arena *a = *state;
    struct capture_src s;
    const char *dst = arena_printf(a, "_snapshot/%s/v1", uniq(a, "cap1"));
    const char *empty = arena_printf(a, "_snapshot/%s/v1", uniq(a, "cap0"));
    struct subject_copy spec = { 0 };
    struct row_counts n;
    struct episode *eps;
    struct memory *ms;
    const char *cites[3];
    size_t ne, nm;

    capture_source(a, &s);
    spec.src_subject = s.subject;
    spec.src_tenant = s.ta;
    spec.dst_subject = dst;
    spec.keep_res_tenant = 1;
    spec.clamp_at = TS_NULL;
    spec.mark_original_id = 1;
    n = run_copy(&spec);
    assert_int_equal(n.episodes, 2);
    assert_int_equal(n.memories, 1);
    assert_int_equal(n.resolutions, 1);
    eps = list_eps(a, NULL, dst, &ne);
    assert_int_equal(ne, 2);
    ms = list_mems(a, NULL, dst, &nm);
    assert_int_equal(nm, 1);
    cites[0] = copy_of(a, eps, ne, "original_id", s.e2.id)->id;
    cites[1] = OUTSIDE_ID;
    cites[2] = copy_of(a, eps, ne, "original_id", s.e1.id)->id;
    assert_json_equal(ms[0].source_episode_ids, id_array(a, cites, 3));
    assert_res_copied(a, dst, &s.ra, s.ta, NULL, 0, TS_NULL);

    /* The no-tenant space of the source is empty. */
    spec.src_tenant = NULL;
    spec.dst_subject = empty;
    n = run_copy(&spec);
    assert_int_equal(n.episodes, 0);
    assert_int_equal(n.memories, 0);
    assert_int_equal(n.resolutions, 0);
    assert_total(empty, 0, 0);
}

/* ---- restore ---- */

struct restore_src {
    const char *subject;           /* a snapshot source: tenant none */
    struct episode e[4];           /* e[1] and e[3] share created_at; e[2] is the newest */
    struct memory m[3];            /* m[1] and m[2] share created_at */
    struct res_row r1, r2;
    int64_t newest;
};

static float *special_vec(struct arena *a)
{
    static const uint32_t bits[DIM] = {
        0x80000000u,   /* -0.0 */
        0x00000001u,   /* the smallest subnormal */
        0x7fc00123u,   /* a NaN with a payload */
        0x7f7fffffu,   /* FLT_MAX */
        0x3eaaaaabu, 0xbf800000u, 0x00800000u, 0x4b189680u,
    };
    float *v = arena_alloc(a, sizeof(bits));

    memcpy(v, bits, sizeof(bits));
    return v;
}

static void restore_source(struct arena *a, struct restore_src *s)
{
    const char *cites[3];
    int i;

    s->subject = arena_printf(a, "_snapshot/%s/v1", uniq(a, "rs"));
    s->e[0] = make_ep(NULL, s->subject, T0);
    s->e[0].session_id = "sess-a";
    s->e[0].payload = "{\"text\":\"My name is Ada\",\"n\":[1,2.5]}";
    s->e[0].metadata = "{\"channel\":\"web\"}";
    s->e[0].provenance = "{\"original_id\":\"orig-0\",\"via\":\"api\"}";
    s->e[0].last_compiled_at = T0 + 100;
    s->e[1] = make_ep(NULL, s->subject, T0 + SEC);
    s->e[1].source = "email";
    s->e[1].type = "note";
    s->e[2] = make_ep(NULL, s->subject, T0 + 5 * SEC);
    s->e[2].last_compiled_at = T0 + 5 * SEC + 2 * DAY;   /* lands after now: clamped */
    s->e[3] = make_ep(NULL, s->subject, T0 + SEC);
    s->e[3].provenance = "{\"restored_from_snapshot\":\"old\"}";
    for (i = 0; i < 4; i++)
        insert_ok(a, &s->e[i]);
    s->newest = T0 + 5 * SEC;

    s->m[0] = make_mem(NULL, s->subject, T0 + 2 * DAY);   /* compiled later: clamped */
    cites[0] = s->e[2].id;
    cites[1] = OUTSIDE_ID;
    cites[2] = s->e[0].id;
    s->m[0].source_episode_ids = id_array(a, cites, 3);
    s->m[0].kind = "procedure";
    s->m[0].content = "deploys on Fridays \xe2\x9c\x93";
    s->m[0].summary = "deploys";
    s->m[0].confidence = 0.1234567890123456789;
    s->m[0].status = "superseded";
    s->m[0].valid_from = T0 + SEC;
    s->m[0].valid_to = T0 + 4 * DAY;                      /* shifted, never clamped */
    s->m[0].updated_at = T0 + 3 * DAY;
    s->m[0].metadata = "{\"restored_from_snapshot\":\"old\",\"k\":[1,2]}";
    s->m[0].sensitivity_labels = "[\"pii\",\"health\"]";
    s->m[0].embedding = special_vec(a);
    s->m[0].embedding_dim = DIM;
    s->m[1] = make_mem(NULL, s->subject, T0);
    s->m[1].source_episode_ids = id_array(a, (const char *[]){ s->e[3].id, s->e[1].id }, 2);
    s->m[1].embedding = test_vec(a, DIM, 7);
    s->m[1].embedding_dim = DIM;
    s->m[2] = make_mem(NULL, s->subject, T0);
    s->m[2].content = "second at the same instant";
    for (i = 0; i < 3; i++)
        add_mem(&s->m[i]);

    s->r1 = (struct res_row){ new_id(a), "sess-a", NULL, "resolved", "done", T0 + 3 * DAY,
                              "{\"a\":1}", T0, T0 + 3 * DAY };
    s->r2 = (struct res_row){ new_id(a), "sess-b", NULL, "open", NULL, TS_NULL, "{}", T0 + SEC,
                              T0 + SEC };
    add_resolution(a, s->subject, &s->r1);
    add_resolution(a, s->subject, &s->r2);
}

static struct subject_copy restore_spec(const struct restore_src *s, const char *dst,
                                        const char *tenant, const char *snapshot_id,
                                        int64_t now)
{
    struct subject_copy spec = {
        .src_subject = s->subject,
        .src_all_tenants = 0,
        .src_tenant = NULL,
        .dst_subject = dst,
        .dst_tenant = tenant,
        .keep_res_tenant = 0,
        .shift_us = now - s->newest,
        .clamp_at = now,
        .mark_snapshot_id = snapshot_id,
        .mark_original_id = 0,
    };

    return spec;
}

static void test_store_subject_copy_restore(void **state)
{
    struct arena *a = *state;
    struct restore_src s;
    const char *dst = uniq(a, "restored"), *tenant = uniq(a, "tr"), *snap = new_id(a);
    const int64_t now = T0 + 10 * DAY + 777;   /* µs on purpose */
    struct subject_copy spec;
    struct row_counts n;
    struct episode *eps;
    struct memory *ms;
    const struct episode *c[4];
    const char *cites[3];
    size_t ne, nm, i;
    int64_t shift;

    restore_source(a, &s);
    spec = restore_spec(&s, dst, tenant, snap, now);
    shift = spec.shift_us;
    n = run_copy(&spec);
    assert_int_equal(n.episodes, 4);
    assert_int_equal(n.memories, 3);
    assert_int_equal(n.resolutions, 2);
    assert_total(dst, 4, 3);   /* every row in the target tenant: */
    eps = list_eps(a, tenant, dst, &ne);
    ms = list_mems(a, tenant, dst, &nm);
    assert_int_equal(ne, 4);
    assert_int_equal(nm, 3);

    for (i = 0; i < 4; i++) {
        c[i] = copy_of(a, eps, ne, "original_episode_id", s.e[i].id);
        assert_ep_copied(c[i], &s.e[i], dst, tenant, shift, now);
        assert_json_equal(c[i]->provenance,
                          doc_with(a, s.e[i].provenance, "restored_from_snapshot", snap,
                                    "original_episode_id", s.e[i].id, NULL));
    }
    /* The newest lands exactly on now; a later compile is clamped to it. */
    assert_int_equal(c[2]->created_at, now);
    assert_int_equal(c[2]->last_compiled_at, now);
    assert_int_equal(c[0]->last_compiled_at, T0 + 100 + shift);
    /* Listing order kept, including the tie between e[1] and e[3]. */
    assert_ptr_equal(c[0], &eps[0]);
    assert_ptr_equal(c[1], &eps[1]);
    assert_ptr_equal(c[3], &eps[2]);
    assert_ptr_equal(c[2], &eps[3]);

    for (i = 0; i < 3; i++) {
        assert_mem_copied(&ms[(i + 2) % 3], &s.m[i], dst, tenant, shift, now);
        assert_json_equal(ms[(i + 2) % 3].metadata,
                          doc_with(a, s.m[i].metadata, "restored_from_snapshot", snap, NULL));
    }
    /* Memories list by created_at: m[1], m[2] (tie kept), then m[0]. */
    assert_string_equal(ms[0].content, s.m[1].content);
    assert_string_equal(ms[1].content, s.m[2].content);
    assert_int_equal(ms[2].created_at, now);
    assert_int_equal(ms[2].updated_at, now);
    assert_int_equal(ms[2].valid_to, T0 + 4 * DAY + shift);
    assert_true(ms[2].valid_to > now);
    cites[0] = c[2]->id;
    cites[1] = OUTSIDE_ID;
    cites[2] = c[0]->id;
    assert_json_equal(ms[2].source_episode_ids, id_array(a, cites, 3));
    assert_json_equal(ms[0].source_episode_ids,
                      id_array(a, (const char *[]){ c[3]->id, c[1]->id }, 2));
    assert_json_equal(ms[1].source_episode_ids, "[]");

    assert_res_copied(a, dst, &s.r1, tenant, snap, shift, now);
    assert_res_copied(a, dst, &s.r2, tenant, snap, shift, now);
    assert_total(s.subject, 4, 3);
}

/* Without a clamp and with a negative shift (a source dated in the future), every timestamp
 * moves back by exactly the shift. */
static void test_store_subject_copy_restore_negative_shift(void **state)
{
    struct arena *a = *state;
    struct restore_src s;
    const char *dst = uniq(a, "restored-neg"), *snap = new_id(a);
    struct subject_copy spec;
    struct row_counts n;
    struct episode *eps;
    struct memory *ms;
    size_t ne, nm, i;

    restore_source(a, &s);
    spec = restore_spec(&s, dst, NULL, snap, T0 - 3 * DAY - 1);
    spec.clamp_at = TS_NULL;
    n = run_copy(&spec);
    assert_int_equal(n.episodes, 4);
    eps = list_eps(a, NULL, dst, &ne);
    ms = list_mems(a, NULL, dst, &nm);
    assert_int_equal(nm, 3);
    for (i = 0; i < 4; i++)
        assert_ep_copied(copy_of(a, eps, ne, "original_episode_id", s.e[i].id), &s.e[i], dst,
                         NULL, spec.shift_us, TS_NULL);
    for (i = 0; i < 3; i++)
        assert_mem_copied(&ms[(i + 2) % 3], &s.m[i], dst, NULL, spec.shift_us, TS_NULL);
    assert_res_copied(a, dst, &s.r1, NULL, snap, spec.shift_us, TS_NULL);
}

static void collect_ids(struct arena *a, const char *tenant, const char *subject,
                        const char **ids, size_t *k)
{
    struct episode *eps;
    struct memory *ms;
    size_t n, i;

    eps = list_eps(a, tenant, subject, &n);
    for (i = 0; i < n; i++)
        ids[(*k)++] = eps[i].id;
    ms = list_mems(a, tenant, subject, &n);
    for (i = 0; i < n; i++)
        ids[(*k)++] = ms[i].id;
}

/* R1: two restores of one source share no id with it or with each other, and carry the same
 * original_episode_id for corresponding episodes. */
static void test_store_subject_copy_two_restores_disjoint(void **state)
{
    struct arena *a = *state;
    struct restore_src s;
    const char *d1 = uniq(a, "twice-1"), *d2 = uniq(a, "twice-2"), *snap = new_id(a);
    struct subject_copy spec;
    struct episode *e1, *e2;
    const char *ids[32];
    size_t k = 0, i, j, n1, n2;

    restore_source(a, &s);
    spec = restore_spec(&s, d1, NULL, snap, T0 + 20 * DAY);
    run_copy(&spec);
    spec.dst_subject = d2;
    run_copy(&spec);
    collect_ids(a, NULL, s.subject, ids, &k);
    collect_ids(a, NULL, d1, ids, &k);
    collect_ids(a, NULL, d2, ids, &k);
    assert_int_equal(k, 21);
    for (i = 0; i < k; i++)
        for (j = i + 1; j < k; j++)
            assert_string_not_equal(ids[i], ids[j]);
    e1 = list_eps(a, NULL, d1, &n1);
    e2 = list_eps(a, NULL, d2, &n2);
    assert_int_equal(n1, n2);
    for (i = 0; i < n1; i++)
        assert_string_equal(doc_member(a, e1[i].provenance, "original_episode_id"),
                            doc_member(a, e2[i].provenance, "original_episode_id"));
}

/* The new ids of one copy are canonical UUIDv4 that share their first 32 bits, so they sit
 * together in the id indexes (uuid_batch_prefix); another copy draws another prefix. */
static const char *copy_prefix(const char **ids, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++) {
        assert_int_equal(strlen(ids[i]), 36);
        assert_true(uuid_valid(ids[i]));
        if (ids[i][14] != '4' || !strchr("89ab", ids[i][19]))
            fail_msg("%s: not a UUIDv4", ids[i]);
        if (strspn(ids[i], "0123456789abcdef-") != 36)
            fail_msg("%s: not lower case", ids[i]);
        if (memcmp(ids[i], ids[from], 8) != 0)
            fail_msg("%s and %s: one copy, two prefixes", ids[i], ids[from]);
        if (i > from && memcmp(ids[i] + 9, ids[from] + 9, 27) == 0)
            fail_msg("%s: the random part repeats", ids[i]);
    }
    return ids[from];
}

static void test_store_subject_copy_ids_share_a_prefix(void **state)
{
    struct arena *a = *state;
    struct restore_src s;
    const char *d1 = uniq(a, "prefix-1"), *d2 = uniq(a, "prefix-2"), *snap = new_id(a);
    struct subject_copy spec;
    const char *ids[16], *p1, *p2;
    size_t k = 0;

    restore_source(a, &s);
    spec = restore_spec(&s, d1, NULL, snap, T0 + 20 * DAY);
    run_copy(&spec);
    spec.dst_subject = d2;
    run_copy(&spec);
    collect_ids(a, NULL, d1, ids, &k);
    assert_int_equal(k, 7);
    collect_ids(a, NULL, d2, ids, &k);
    assert_int_equal(k, 14);
    p1 = copy_prefix(ids, 0, 7);
    p2 = copy_prefix(ids, 7, 14);
    /* Equal by chance once in 2^32 runs. */
    if (memcmp(p1, p2, 8) == 0)
        fail_msg("two copies drew the same prefix %.8s", p1);
}

static void test_store_subject_newest_episode(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "newest"), *ta = uniq(a, "ta");
    struct err err = ERR_INIT;
    struct memory m = make_mem(NULL, subject, T0 + 9 * DAY);
    int64_t newest = 0;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    assert_int_equal(store_subject_newest_episode(g.st, &every_tenant, &newest, &err), 0);
    assert_int_equal(newest, TS_NULL);
    add_mem(&m);   /* memories do not count */
    add_ep(a, NULL, subject, T0 + 3);
    add_ep(a, NULL, subject, T0 + 1);
    add_ep(a, ta, subject, T0 + 7);
    assert_int_equal(store_subject_newest_episode(g.st, &every_tenant, &newest, &err), 0);
    assert_int_equal(newest, T0 + 7);
    assert_int_equal(store_subject_newest_episode(g.st, &(struct store_scope){ .subject = subject },
                                                  &newest, &err), 0);
    assert_int_equal(newest, T0 + 3);
    assert_int_equal(store_subject_newest_episode(g.st,
                                                  &(struct store_scope){ .tenant = ta,
                                                                         .subject = subject },
                                                  &newest, &err), 0);
    assert_int_equal(newest, T0 + 7);
    assert_int_equal(store_subject_newest_episode(g.st,
                                                  &(struct store_scope){ .tenant = uniq(a, "tz"),
                                                                         .subject = subject },
                                                  &newest, &err), 0);
    assert_int_equal(newest, TS_NULL);
}

/* ---- timing (printed, never asserted) ---- */

static void timing_source(struct arena *a, const char *subject, size_t neps, size_t nmems,
                          size_t dim)
{
    struct episode *eps = arena_calloc(a, neps, sizeof(*eps));
    struct memory *ms = arena_calloc(a, nmems, sizeof(*ms));
    struct err err = ERR_INIT;
    size_t i;

    for (i = 0; i < neps; i++) {
        eps[i] = make_ep(NULL, subject, T0 + (int64_t)i * SEC);
        eps[i].provenance = "{\"original_id\":\"x\"}";
        eps[i].last_compiled_at = eps[i].created_at + SEC;
    }
    for (i = 0; i < nmems; i++) {
        const char *cites[2] = { eps[i % neps].id, eps[(i * 7 + 3) % neps].id };

        ms[i] = make_mem(NULL, subject, T0 + (int64_t)neps * SEC + (int64_t)i);
        ms[i].source_episode_ids = id_array(a, cites, 2);
        ms[i].metadata = "{\"compiler\":\"heuristic\"}";
        ms[i].embedding = test_vec(a, dim, (unsigned)i);
        ms[i].embedding_dim = dim;
    }
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, neps, &err), 0);
    assert_int_equal(store_memory_insert_many(g.st, ms, nmems, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
}

/* SQLite: the copy probes the source rows by key; no statement of it walks a table or an
 * index of the whole database. Measured with SQLite's per-statement count of full-scan steps
 * (SQLITE_STMTSTATUS_FULLSCAN_STEP) after copying 4 episodes beside 3,000 others: the plan
 * that once scanned the whole episodes id index took one step per episode in the database. */
static void test_store_subject_copy_scans_only_the_source(void **state)
{
    enum { OTHERS = 3000, NEPS = 4 };
    struct arena *a = *state;
    const char *src = arena_printf(a, "_snapshot/%s/v1", uniq(a, "plan"));
    const char *other = uniq(a, "bystander");
    struct episode *eps = arena_calloc(a, OTHERS, sizeof(*eps));
    struct restore_src s = { .subject = src, .newest = T0 + (NEPS - 1) * SEC };
    struct subject_copy spec;
    struct row_counts n;
    struct err err = ERR_INIT;
    sqlite3_stmt *q = NULL;
    sqlite3 *db;
    int64_t steps = 0;
    size_t i;

    (void)state;
    if (!is_sqlite())
        skip();
    for (i = 0; i < OTHERS; i++)
        eps[i] = make_ep(NULL, other, T0 + (int64_t)i);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, OTHERS, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    timing_source(a, src, NEPS, 2, 8);
    db = sq_downcast(g.st)->db;
    while ((q = sqlite3_next_stmt(db, q)) != NULL)
        sqlite3_stmt_status(q, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
    spec = restore_spec(&s, uniq(a, "plan-dst"), NULL, new_id(a), ts_now());
    n = run_copy(&spec);
    assert_int_equal(n.episodes, NEPS);
    assert_int_equal(n.memories, 2);
    while ((q = sqlite3_next_stmt(db, q)) != NULL)
        steps += sqlite3_stmt_status(q, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
    if (steps > 100)
        fail_msg("the copy of %d episodes took %lld full-scan steps", NEPS, (long long)steps);
}

/* SQLite, issue 22: the reads of a context request and of compile touch only the rows they
 * return. Subject S holds 5 episodes of tenant A, 3,000 newer ones of tenant B (same subject
 * id) and, for A, 2,000 older compiled ones: the newest 5 of A and A's uncompiled episodes
 * must not walk B's rows or A's compiled ones (the indexes of migration step 8; the earlier
 * (subject_id, created_at) plan took a step per row of the subject). Counted as the VM steps
 * of the statements (SQLITE_STMTSTATUS_VM_STEP), about 20 per row returned. */
static void test_store_subject_reads_are_bounded(void **state)
{
    enum { OTHERS = 3000, COMPILED = 2000, MINE = 5 };
    struct arena *a = *state;
    const char *subject = uniq(a, "bounded"), *ta = uniq(a, "ta"), *tb = uniq(a, "tb");
    struct episode *eps = arena_calloc(a, OTHERS + COMPILED, sizeof(*eps));
    const char **done = arena_calloc(a, COMPILED, sizeof(*done));
    struct store_scope sc = { .tenant = ta, .subject = subject };
    struct episode_rows rows;
    struct err err = ERR_INIT;
    sqlite3_stmt *q = NULL;
    sqlite3 *db;
    int64_t steps = 0;
    size_t i;

    if (!is_sqlite())
        skip();
    for (i = 0; i < COMPILED; i++) {
        eps[i] = make_ep(ta, subject, T0 + (int64_t)i);
        done[i] = eps[i].id;
    }
    for (i = 0; i < OTHERS; i++)
        eps[COMPILED + i] = make_ep(tb, subject, T0 + 100000 * SEC + (int64_t)i);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, OTHERS + COMPILED, &err), 0);
    assert_int_equal(store_episode_mark_compiled(g.st, ta, done, COMPILED, T0, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    for (i = 0; i < MINE; i++)
        add_ep(a, ta, subject, T0 + 50000 * SEC + (int64_t)i);
    db = sq_downcast(g.st)->db;
    while ((q = sqlite3_next_stmt(db, q)) != NULL)
        sqlite3_stmt_status(q, SQLITE_STMTSTATUS_VM_STEP, 1);
    assert_int_equal(store_episode_list_recent(g.st, a, &sc, MINE, &rows, &err), 0);
    assert_int_equal(rows.n, MINE);
    assert_int_equal(rows.items[0].created_at, T0 + 50000 * SEC + MINE - 1);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &sc, 100, &rows, &err), 0);
    assert_int_equal(rows.n, MINE);
    while ((q = sqlite3_next_stmt(db, q)) != NULL)
        steps += sqlite3_stmt_status(q, SQLITE_STMTSTATUS_VM_STEP, 0);
    if (steps > 1000)
        fail_msg("two reads of %d episodes took %lld VM steps", MINE, (long long)steps);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

static void test_store_subject_copy_restore_timing(void **state)
{
    enum { RUNS = 5, NEPS = 200, NMEMS = 400, EMB = 1536 };
    struct arena *a = *state;
    const char *src = arena_printf(a, "_snapshot/%s/v1", uniq(a, "timing"));
    struct restore_src s = { .subject = src, .newest = T0 + (NEPS - 1) * SEC };
    double ms[RUNS];
    struct subject_copy spec;
    struct row_counts n = { 0, 0, 0 };
    struct err err = ERR_INIT;
    int64_t start;
    int i;

    timing_source(a, src, NEPS, NMEMS, EMB);
    for (i = 0; i < RUNS; i++) {
        spec = restore_spec(&s, uniq(a, "timing-dst"), uniq(a, "tt"), new_id(a), ts_now());
        start = ts_monotonic();
        assert_int_equal(store_tx_begin(g.st, &err), 0);
        assert_int_equal(store_subject_copy(g.st, &spec, &n, &err), 0);
        assert_int_equal(store_tx_commit(g.st, &err), 0);
        ms[i] = (double)(ts_monotonic() - start) / 1000.0;
        assert_int_equal(n.episodes, NEPS);
        assert_int_equal(n.memories, NMEMS);
    }
    fprintf(stderr, "# %s: restore %d episodes + %d memories (%d-float embeddings), one"
            " transaction: first %.2f ms,", g.ops->name, NEPS, NMEMS, EMB, ms[0]);
    qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
    fprintf(stderr, " min %.2f ms, median %.2f ms, max %.2f ms over %d runs\n", ms[0],
            ms[RUNS / 2], ms[RUNS - 1], RUNS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_snapshot_insert_get),
        T(test_store_snapshot_find_highest),
        T(test_store_snapshot_list_order),
        T(test_store_snapshot_duplicate_conflict),
        T(test_store_subject_copy_capture_all_tenants),
        T(test_store_subject_copy_capture_one_tenant),
        T(test_store_subject_copy_restore),
        T(test_store_subject_copy_restore_negative_shift),
        T(test_store_subject_copy_two_restores_disjoint),
        T(test_store_subject_copy_ids_share_a_prefix),
        T(test_store_subject_newest_episode),
        T(test_store_subject_copy_scans_only_the_source),
        T(test_store_subject_reads_are_bounded),
        T(test_store_subject_copy_restore_timing),
    };

    return cmocka_run_group_tests(tests, group_setup, snap_group_teardown);
}
