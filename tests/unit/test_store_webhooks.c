/* test_store_webhooks.c - the store contract suite for the webhook queue (the ops under
 * "webhook events" in store.h): written only against store.h, so it runs unchanged on every
 * backend. ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp file).
 *
 * The queue is one table for the whole database, so every test names its events with a fresh
 * event name, works in the past (T0, 2024) where no live server's events are due, asserts only
 * on its own rows, and removes them at the end (drop_events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids */

#define HOUR (3600 * SEC)

/* ---- rows ---- */

static struct webhook_event make_event(const char *name, int64_t created_at, int64_t next)
{
    struct webhook_event ev = {
        .event = name,
        .payload = "{\"event\":\"x\",\"timestamp\":\"t\",\"data\":{\"k\":\"é\"}}",
        .status = "pending",
        .attempts = 0,
        .max_attempts = 5,
        .last_attempt_at = TS_NULL,
        .next_attempt_at = next,
        .created_at = created_at,
        .delivered_at = TS_NULL,
    };

    uuid_v4(ev.id);
    return ev;
}

static struct webhook_event add_event(const char *name, int64_t created_at, int64_t next)
{
    struct webhook_event ev = make_event(name, created_at, next);
    struct err err = ERR_INIT;

    assert_int_equal(store_webhook_insert(g.st, &ev, &err), 0);
    return ev;
}

static struct webhook_event *get_event(struct arena *a, const char *id)
{
    struct webhook_event *ev = NULL;
    struct err err = ERR_INIT;

    assert_int_equal(store_webhook_get(g.st, a, id, &ev, &err), 0);
    return ev;
}

static void set_status(struct arena *a, const char *id, const char *status)
{
    struct webhook_event *ev = get_event(a, id);
    struct err err = ERR_INIT;

    assert_non_null(ev);
    ev->status = status;
    assert_int_equal(store_webhook_update(g.st, ev, &err), 0);
}

/* One page of store_webhook_list under f (NULL: no filter): its events, *n of them, and
 * the filter's *total. */
static struct webhook_event *list_page(struct arena *a, const struct webhook_filter *f,
                                       size_t limit, size_t offset, size_t *n, int64_t *total)
{
    struct webhook_rows wr;
    struct err err = ERR_INIT;

    assert_int_equal(store_webhook_list(g.st, a, f,
                                        &(struct store_page){ .limit = limit, .offset = offset },
                                        &wr, &err),
                     0);
    *n = wr.n;
    *total = wr.total;
    return wr.items;
}

/* Remove every event named name: make them terminal, then purge them. */
static void drop_events(struct arena *a, const char *name)
{
    struct webhook_filter f = { NULL, name, NULL };
    struct webhook_event *evs;
    struct err err = ERR_INIT;
    int64_t deleted, total;
    size_t n, i;

    evs = list_page(a, &f, 1000, 0, &n, &total);
    for (i = 0; i < n; i++) {
        evs[i].status = "dead_letter";
        assert_int_equal(store_webhook_update(g.st, &evs[i], &err), 0);
    }
    assert_int_equal(store_webhook_purge(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, (int64_t)n);
}

static int has_id(const struct webhook_event *evs, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(evs[i].id, id) == 0)
            return 1;
    }
    return 0;
}

/* Claim at now until nothing is due; copy the claimed rows named name into out (cap). */
static size_t claim_all(struct arena *a, store *st, int64_t now, int64_t lease, size_t limit,
                        const char *name, struct webhook_event *out, size_t cap)
{
    struct webhook_rows wr;
    struct webhook_event *evs;
    struct err err = ERR_INIT;
    size_t n, i, got = 0;
    int round;

    for (round = 0; round < 1000; round++) {
        assert_int_equal(store_webhook_claim(st, a,
                                             &(struct store_claim){ .now = now,
                                                                    .lease_until = lease,
                                                                    .limit = limit },
                                             &wr, &err), 0);
        evs = wr.items;
        n = wr.n;
        assert_true(n <= limit);
        if (n == 0)
            break;
        for (i = 0; i < n; i++) {
            if (strcmp(evs[i].event, name) == 0 && got < cap)
                out[got++] = evs[i];
        }
    }
    return got;
}

/* An idle poll is a read: nothing due answers at once while another connection holds the
 * write lock (on SQLite an UPDATE would wait out busy_timeout, 5 s, then fail). */
static void test_store_webhook_poll_beside_a_writer(void **state)
{
    struct webhook_rows wr;
    struct arena *a = *state;
    struct err err = ERR_INIT;
    store *writer;
    int64_t start;
    size_t n;

    (void)claim_all(a, g.st, T0, T0 + 365 * 24 * 3600 * SEC, 50, "", NULL, 0);
    assert_int_equal(store_open(g.ops, g.conninfo, &writer, &err), 0);
    assert_int_equal(store_tx_begin(writer, &err), 0);
    start = ts_monotonic();
    assert_int_equal(store_webhook_claim(g.st, a,
                                         &(struct store_claim){ .now = T0, .lease_until = T0 + SEC,
                                                                .limit = 10 },
                                         &wr, &err), 0);
    n = wr.n;
    assert_int_equal(n, 0);
    assert_true(ts_monotonic() - start < 2 * SEC);
    store_tx_rollback(writer);
    store_close(writer);
}

/* ---- insert and lookup ---- */

static void test_store_webhook_insert_get_round_trip(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.round");
    struct webhook_event ev = add_event(name, T0, T0), *got;
    char upper[UUID_STR_LEN];
    size_t i;

    got = get_event(a, ev.id);
    assert_non_null(got);
    assert_string_equal(got->id, ev.id);
    assert_null(got->tenant_id);
    assert_string_equal(got->event, name);
    assert_string_equal(got->payload, ev.payload);
    assert_string_equal(got->status, "pending");
    assert_int_equal(got->attempts, 0);
    assert_int_equal(got->max_attempts, 5);
    assert_true(got->last_attempt_at == TS_NULL);
    assert_true(got->next_attempt_at == T0);
    assert_null(got->last_error);
    assert_int_equal(got->http_status, 0);
    assert_true(got->created_at == T0);
    assert_true(got->delivered_at == TS_NULL);

    /* Unknown and malformed ids are "none", not errors. */
    assert_null(get_event(a, "00000000-0000-4000-8000-000000000000"));
    assert_null(get_event(a, "not-a-uuid"));
    for (i = 0; i < UUID_STR_LEN; i++)
        upper[i] = (char)(ev.id[i] >= 'a' && ev.id[i] <= 'f' ? ev.id[i] - 32 : ev.id[i]);
    assert_null(get_event(a, upper));
    drop_events(a, name);
}

/* The row is written in the caller's transaction: a rollback leaves nothing. */
static void test_store_webhook_insert_in_transaction(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.tx");
    struct webhook_event ev = make_event(name, T0, T0), ev2 = make_event(name, T0, T0);
    struct err err = ERR_INIT;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_webhook_insert(g.st, &ev, &err), 0);
    store_tx_rollback(g.st);
    assert_null(get_event(a, ev.id));

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_webhook_insert(g.st, &ev2, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_non_null(get_event(a, ev2.id));
    drop_events(a, name);
}

/* ---- claim ---- */

static void test_store_webhook_claim_due_only(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.due");
    struct webhook_event past = add_event(name, T0 - HOUR, T0 - SEC);
    struct webhook_event unset = add_event(name, T0 - HOUR, TS_NULL);
    struct webhook_event exact = add_event(name, T0 - HOUR, T0);
    struct webhook_event later = add_event(name, T0 - HOUR, T0 + HOUR);
    struct webhook_event done = add_event(name, T0 - HOUR, T0 - SEC);
    struct webhook_event out[8], *row;
    int64_t lease = T0 + 60 * SEC;
    size_t n, i;

    set_status(a, done.id, "delivered");
    n = claim_all(a, g.st, T0, lease, 20, name, out, 8);
    assert_int_equal(n, 3);
    assert_true(has_id(out, n, past.id));
    assert_true(has_id(out, n, unset.id));
    assert_true(has_id(out, n, exact.id));
    for (i = 0; i < n; i++) {
        assert_true(out[i].next_attempt_at == lease);   /* the row as it stands after */
        assert_string_equal(out[i].status, "pending");
        assert_int_equal(out[i].attempts, 0);
        assert_string_equal(out[i].payload, past.payload);
    }
    row = get_event(a, unset.id);
    assert_true(row->next_attempt_at == lease);

    /* Held until the lease ends, then due again (a deliverer that died). */
    assert_int_equal(claim_all(a, g.st, lease - 1, lease + HOUR, 20, name, out, 8), 0);
    n = claim_all(a, g.st, lease, lease + HOUR, 20, name, out, 8);
    assert_int_equal(n, 3);
    assert_false(has_id(out, n, later.id));
    /* At T0 + 1 h only `later` is due: the others are held until T0 + 1 h + 60 s. */
    n = claim_all(a, g.st, T0 + HOUR, T0 + 2 * HOUR, 20, name, out, 8);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, later.id);
    drop_events(a, name);
}

static void test_store_webhook_claim_limit(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.limit");
    struct webhook_event out[8];
    size_t i;

    for (i = 0; i < 5; i++)
        add_event(name, T0, T0 - SEC);
    /* claim_all checks that no claim returns more than the limit. */
    assert_int_equal(claim_all(a, g.st, T0, T0 + HOUR, 2, name, out, 8), 5);
    drop_events(a, name);
}

/* ---- delivery state ---- */

static void test_store_webhook_update(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.update");
    struct webhook_event ev = add_event(name, T0, T0), *got;
    struct err err = ERR_INIT;

    ev.status = "pending";
    ev.attempts = 2;
    ev.last_attempt_at = T0 + SEC;
    ev.next_attempt_at = T0 + 120 * SEC;
    ev.last_error = "HTTP 500: boom \xc3\xa9";
    ev.http_status = 500;
    assert_int_equal(store_webhook_update(g.st, &ev, &err), 0);
    got = get_event(a, ev.id);
    assert_string_equal(got->status, "pending");
    assert_int_equal(got->attempts, 2);
    assert_true(got->last_attempt_at == T0 + SEC);
    assert_true(got->next_attempt_at == T0 + 120 * SEC);
    assert_string_equal(got->last_error, "HTTP 500: boom \xc3\xa9");
    assert_int_equal(got->http_status, 500);
    assert_true(got->delivered_at == TS_NULL);

    ev.status = "delivered";
    ev.attempts = 3;
    ev.http_status = 0;   /* NULL */
    ev.next_attempt_at = TS_NULL;
    ev.delivered_at = T0 + 200 * SEC;
    assert_int_equal(store_webhook_update(g.st, &ev, &err), 0);
    got = get_event(a, ev.id);
    assert_string_equal(got->status, "delivered");
    assert_int_equal(got->http_status, 0);
    assert_true(got->next_attempt_at == TS_NULL);
    assert_true(got->delivered_at == T0 + 200 * SEC);
    /* A delivered event is never claimed again. */
    assert_int_equal(claim_all(a, g.st, T0 + HOUR, T0 + 2 * HOUR, 20, name, &ev, 1), 0);
    drop_events(a, name);
}

/* ---- admin reads ---- */

static void test_store_webhook_list_filters_and_pages(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.list"), *other = uniq(a, "t.list-other");
    struct webhook_event e1 = add_event(name, T0 + 1, T0), e2 = add_event(name, T0 + 2, T0);
    struct webhook_event e3 = add_event(name, T0 + 3, T0), e4 = add_event(other, T0 + 4, T0);
    struct webhook_filter f = { NULL, name, NULL };
    struct webhook_event *evs;
    int64_t total;
    size_t n;

    set_status(a, e2.id, "dead_letter");
    evs = list_page(a, &f, 10, 0, &n, &total);
    assert_int_equal(n, 3);
    assert_int_equal(total, 3);
    assert_string_equal(evs[0].id, e3.id);   /* newest first */
    assert_string_equal(evs[1].id, e2.id);
    assert_string_equal(evs[2].id, e1.id);

    evs = list_page(a, &f, 1, 1, &n, &total);
    assert_int_equal(n, 1);
    assert_int_equal(total, 3);
    assert_string_equal(evs[0].id, e2.id);
    list_page(a, &f, 10, 5, &n, &total);
    assert_int_equal(n, 0);
    assert_int_equal(total, 3);

    f.status = "pending";
    evs = list_page(a, &f, 10, 0, &n, &total);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_string_equal(evs[0].id, e3.id);
    assert_string_equal(evs[1].id, e1.id);

    /* Events have no tenant: a tenant filter matches none of them. */
    f.status = NULL;
    f.tenant = "acme";
    list_page(a, &f, 10, 0, &n, &total);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);

    /* No filter at all lists these among the others. */
    list_page(a, NULL, 100, 0, &n, &total);
    assert_true(total >= 4);
    drop_events(a, name);
    drop_events(a, other);
    (void)e4;
}

static void test_store_webhook_stats(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.stats");
    struct webhook_stats before, after;
    struct webhook_event e2, e3;
    struct err err = ERR_INIT;

    assert_int_equal(store_webhook_stats(g.st, &before, &err), 0);
    assert_int_equal(before.total, before.pending + before.delivered + before.dead_letter);
    add_event(name, T0, T0 + HOUR);
    e2 = add_event(name, T0, T0 + HOUR);
    e3 = add_event(name, T0, T0 + HOUR);
    add_event(name, T0, T0 + HOUR);
    set_status(a, e2.id, "delivered");
    set_status(a, e3.id, "dead_letter");
    assert_int_equal(store_webhook_stats(g.st, &after, &err), 0);
    assert_int_equal(after.pending - before.pending, 2);
    assert_int_equal(after.delivered - before.delivered, 1);
    assert_int_equal(after.dead_letter - before.dead_letter, 1);
    assert_int_equal(after.total - before.total, 4);
    drop_events(a, name);
}

static void test_store_webhook_purge_terminal_only(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.purge");
    struct webhook_event p = add_event(name, T0, T0 + HOUR), d = add_event(name, T0, T0);
    struct webhook_event x = add_event(name, T0, T0), x2 = add_event(name, T0, T0);
    struct webhook_filter f = { "pending", name, NULL };
    struct err err = ERR_INIT;
    int64_t deleted;

    set_status(a, d.id, "delivered");
    set_status(a, x.id, "dead_letter");
    set_status(a, x2.id, "dead_letter");

    /* A non-terminal status filter deletes nothing; a tenant filter matches nothing. */
    assert_int_equal(store_webhook_purge(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    f.status = NULL;
    f.tenant = "acme";
    assert_int_equal(store_webhook_purge(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 0);

    f.tenant = NULL;
    f.status = "dead_letter";
    assert_int_equal(store_webhook_purge(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    assert_null(get_event(a, x.id));
    assert_non_null(get_event(a, d.id));

    f.status = NULL;
    assert_int_equal(store_webhook_purge(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    assert_null(get_event(a, d.id));
    assert_non_null(get_event(a, p.id));
    drop_events(a, name);
}

/* ---- two connections claiming at once ---- */

#define RACE_EVENTS 60
#define RACE_ROUNDS 200

struct claimer {
    const char *name;
    store *st;
    char ids[RACE_EVENTS * 2][UUID_STR_LEN];   /* own events claimed */
    size_t n;
    int failed;
};

static void *claim_thread(void *arg)
{
    struct webhook_rows wr;
    struct claimer *c = arg;
    struct arena *a = arena_new();
    struct webhook_event *evs;
    struct err err = ERR_INIT;
    size_t n, i;
    int round, empty = 0;

    for (round = 0; round < RACE_ROUNDS && empty < 3; round++) {
        arena_reset(a);
        if (store_webhook_claim(c->st, a,
                                &(struct store_claim){ .now = T0, .lease_until = T0 + HOUR,
                                                       .limit = 3 },
                                &wr, &err) < 0) {
            c->failed = 1;
            break;
        }
        evs = wr.items;
        n = wr.n;
        empty = n == 0 ? empty + 1 : 0;
        for (i = 0; i < n; i++) {
            if (strcmp(evs[i].event, c->name) == 0 && c->n < RACE_EVENTS * 2)
                memcpy(c->ids[c->n++], evs[i].id, UUID_STR_LEN);
        }
    }
    arena_free(a);
    err_release(&err);
    return NULL;
}

static void test_store_webhook_claim_concurrent_exclusive(void **state)
{
    struct arena *a = *state;
    const char *name = uniq(a, "t.race");
    static struct claimer c[2];
    char ids[RACE_EVENTS][UUID_STR_LEN];
    struct err err = ERR_INIT;
    pthread_t th[2];
    size_t i, j, k, seen;

    for (i = 0; i < RACE_EVENTS; i++) {
        struct webhook_event ev = add_event(name, T0, T0 - SEC);

        memcpy(ids[i], ev.id, UUID_STR_LEN);
    }
    for (i = 0; i < 2; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].name = name;
        assert_int_equal(store_open(g.ops, g.conninfo, &c[i].st, &err), 0);
    }
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, claim_thread, &c[i]), 0);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        store_close(c[i].st);
        assert_false(c[i].failed);
    }
    /* Every event claimed exactly once, by one of the two. */
    assert_int_equal(c[0].n + c[1].n, RACE_EVENTS);
    for (i = 0; i < RACE_EVENTS; i++) {
        seen = 0;
        for (k = 0; k < 2; k++) {
            for (j = 0; j < c[k].n; j++)
                seen += strcmp(c[k].ids[j], ids[i]) == 0;
        }
        assert_int_equal(seen, 1);
    }
    drop_events(a, name);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_webhook_insert_get_round_trip),
        T(test_store_webhook_insert_in_transaction),
        T(test_store_webhook_poll_beside_a_writer),
        T(test_store_webhook_claim_due_only),
        T(test_store_webhook_claim_limit),
        T(test_store_webhook_update),
        T(test_store_webhook_list_filters_and_pages),
        T(test_store_webhook_stats),
        T(test_store_webhook_purge_terminal_only),
        T(test_store_webhook_claim_concurrent_exclusive),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
