/* test_context.c - unit tests for service/context: the worked examples of spec/behavior.md
 * §19.2 (golden path), §19.3 (episode ranking), §19.4 (repeat issues) and §19.5 (scoring
 * helpers), all built from in-memory rows with a fixed clock; no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/context.h"
#include "service/tokens.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"

#define NOW INT64_C(1717243200000000)   /* 2024-06-01T12:00:00Z */
#define MIN INT64_C(60000000)
#define DAY (INT64_C(86400) * 1000000)
#define EPS 0.0005

static struct arena *A;

static int setup(void **state)
{
    (void)state;
    A = arena_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(A);
    A = NULL;
    return 0;
}

static int group_setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    if (tokens_setup(&err) < 0) {
        fprintf(stderr, "tokens_setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tokens_shutdown();
    return 0;
}

/* ---- row builders ---- */

/* A fixed id whose last digits are n. */
static void fixed_id(char out[UUID_STR_LEN], int n)
{
    snprintf(out, UUID_STR_LEN, "00000000-0000-4000-8000-%012d", n);
}

/* payload {"messages":[{"role":r0,"content":c0}, …]}: pairs of role, content. */
static const char *messages(int n, const char *const *rc)
{
    struct jv *o = jv_object(A), *list = jv_array(A);
    struct buf b = BUF_INIT;
    const char *text;
    int i;

    for (i = 0; i < n; i++) {
        struct jv *m = jv_object(A);

        jv_object_set(A, m, "role", jv_str(A, rc[2 * i]));
        jv_object_set(A, m, "content", jv_str(A, rc[2 * i + 1]));
        jv_array_append(A, list, m);
    }
    jv_object_set(A, o, "messages", list);
    jv_write_compact(&b, o);
    text = arena_strndup(A, b.data, b.len);
    buf_release(&b);
    return text;
}

/* ep(s, src, text, t): session s, source src, type message, one user message. */
static struct episode ep(int id, const char *session, const char *source, const char *text,
                         int64_t at)
{
    const char *rc[2] = { "user", text };
    struct episode e;

    memset(&e, 0, sizeof(e));
    fixed_id(e.id, id);
    e.subject_id = "user-1";
    e.session_id = session;
    e.source = source;
    e.type = "message";
    e.payload = messages(1, rc);
    e.metadata = "{}";
    e.provenance = "{}";
    e.created_at = at;
    e.last_compiled_at = TS_NULL;
    return e;
}

static struct memory mem(int id, const char *kind, const char *content, int64_t at,
                         const char *source_ids)
{
    struct memory m;

    memset(&m, 0, sizeof(m));
    fixed_id(m.id, id);
    m.subject_id = "user-1";
    m.kind = kind;
    m.content = content;
    m.summary = content;
    m.confidence = 0.6;
    m.valid_from = at;
    m.valid_to = TS_NULL;
    m.source_episode_ids = source_ids ? source_ids : "[]";
    m.metadata = "{}";
    m.status = "active";
    m.sensitivity_labels = "[]";
    m.created_at = at;
    m.updated_at = at;
    return m;
}

static struct resolution resolution(const char *session, const char *status,
                                    const char *summary)
{
    struct resolution r = { .session_id = session, .status = status,
                            .resolution_summary = summary, .updated_at = NOW - DAY };

    return r;
}

/* ---- expectations ---- */

/* The ranked items must be exactly these episodes (by id number), with these scores. */
static void expect_ranking(const struct context_item *items, size_t n, const int *ids,
                           const double *scores, size_t want)
{
    char id[UUID_STR_LEN];
    size_t i;

    if (n != want)
        fail_msg("ranked %zu items, want %zu", n, want);
    for (i = 0; i < n; i++) {
        fixed_id(id, ids[i]);
        if (!items[i].episode || strcmp(items[i].episode->id, id) != 0)
            fail_msg("item %zu is %s, want episode %d", i,
                     items[i].episode ? items[i].episode->id : items[i].memory->id, ids[i]);
        if (fabs(items[i].score - scores[i]) > EPS)
            fail_msg("item %zu (episode %d) scores %.6f, want %.3f", i, ids[i], items[i].score,
                     scores[i]);
    }
}

static void rank(const char *task, const char *session, const struct episode *eps, size_t n,
                 const struct resolution *res, size_t nres, struct context_item **items,
                 size_t *nitems)
{
    struct context_request rq = { .subject_id = "user-1", .task = task, .budget = 4000,
                                  .session_id = session };
    struct context_input in;

    memset(&in, 0, sizeof(in));
    in.episodes = eps;
    in.nepisodes = n;
    in.resolutions = res;
    in.nresolutions = nres;
    in.now = NOW;
    context_rank(A, &rq, &in, items, nitems);
}

/* The bundle of rq and in built again from in with context_prepare's features (what the
 * context cache keeps) must be the same, item by item and byte by byte. */
static void check_prepared(const struct context_request *rq, const struct context_input *in,
                           const struct context_bundle *want)
{
    struct context_input p = *in;
    struct context_bundle got;
    size_t i;

    context_prepare(A, &p);
    assert_non_null(p.prep);
    context_build(A, rq, &p, &got);
    assert_string_equal(got.text, want->text);
    assert_int_equal(got.token_estimate, want->token_estimate);
    assert_int_equal(got.nitems, want->nitems);
    for (i = 0; i < want->nitems; i++) {
        assert_ptr_equal(got.items[i].memory, want->items[i].memory);
        assert_ptr_equal(got.items[i].episode, want->items[i].episode);
        assert_true(got.items[i].score == want->items[i].score);
        assert_int_equal(got.items[i].included, want->items[i].included);
        assert_int_equal(got.items[i].tokens, want->items[i].tokens);
        assert_string_equal(got.items[i].line, want->items[i].line);
    }
    assert_int_equal(got.nfacts, want->nfacts);
    assert_int_equal(got.nsummaries, want->nsummaries);
    assert_int_equal(got.nprocedures, want->nprocedures);
    assert_int_equal(got.nepisodes, want->nepisodes);
    assert_int_equal(got.nsessions, want->nsessions);
}

static void build(const char *task, const char *session, int64_t budget,
                  const struct memory *mems, size_t nmems, const struct episode *eps, size_t n,
                  const struct resolution *res, size_t nres, struct context_bundle *out)
{
    struct context_request rq = { .subject_id = "user-1", .task = task, .budget = budget,
                                  .session_id = session };
    struct context_input in;

    memset(&in, 0, sizeof(in));
    in.memories = mems;
    in.nmemories = nmems;
    in.episodes = eps;
    in.nepisodes = n;
    in.resolutions = res;
    in.nresolutions = nres;
    in.now = NOW;
    context_build(A, &rq, &in, out);
    check_prepared(&rq, &in, out);
}

/* ---- §19.3 episode ranking ---- */

static void test_context_r1_open_session_and_render(void **state)
{
    struct episode eps[2] = {
        ep(1, "sess-open", "chat", "Export job is failing for 3 days", NOW - 10 * MIN),
        ep(2, "sess-none", "chat", "I have a general question about something", NOW - 10 * MIN),
    };
    struct resolution res[1] = { resolution("sess-open", "open", NULL) };
    static const int ids[] = { 1, 2 };
    static const double scores[] = { 12.0, 8.0 };
    struct context_item *items;
    struct context_bundle b, again;
    size_t n;

    (void)state;
    rank("help", NULL, eps, 2, res, 1, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
    build("help", NULL, 4000, NULL, 0, eps, 2, res, 1, &b);
    assert_string_equal(b.text, "## Task\nhelp\n\n## Recent interactions\n"
                                "- [chat/message] user: Export job is failing for 3 days\n"
                                "- [chat/message] user: I have a general question about "
                                "something\n");
    assert_int_equal(b.token_estimate, 40);
    assert_int_equal(b.nepisodes, 2);
    assert_string_equal(b.episodes[0]->id, eps[0].id);
    assert_int_equal(b.nsessions, 2);
    assert_string_equal(b.sessions[0].session_id, "sess-open");
    assert_int_equal(b.sessions[0].episode_count, 1);
    assert_true(b.sessions[0].first_at == NOW - 10 * MIN);
    build("help", NULL, 4000, NULL, 0, eps, 2, res, 1, &again);
    assert_string_equal(b.text, again.text);
}

static void test_context_r2_assistant_bonus(void **state)
{
    struct episode eps[2] = {
        ep(1, "sess-1", "user", "Hi there, thanks for helping", NOW - 5 * MIN),
        ep(2, "sess-1", "assistant", "I checked the account settings and reset the cache",
           NOW - 5 * MIN),
    };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 10.0, 8.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("what was tried", NULL, eps, 2, NULL, 0, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_r3_urgency(void **state)
{
    struct episode eps[2] = {
        ep(1, "s1", "chat", "This is critical \xE2\x80\x94 our compliance deadline is tomorrow "
           "and the export is blocked", NOW - 10 * MIN),
        ep(2, "s1", "chat", "Can you check on the export status please", NOW - 10 * MIN),
    };
    static const int ids[] = { 1, 2 };
    static const double scores[] = { 10.0, 8.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("help", NULL, eps, 2, NULL, 0, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_r4_idle_chatter(void **state)
{
    struct episode eps[2] = {
        ep(1, "s1", "chat", "Thanks!", NOW - 5 * MIN),
        ep(2, "s1", "chat", "The data export job EXP-9912 has been timing out for three days",
           NOW - 5 * MIN),
    };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 9.0 + 2.0 / 3.0, 6.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("help with export", NULL, eps, 2, NULL, 0, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_r5_resolved_and_open(void **state)
{
    struct episode eps[2] = {
        ep(2, "sess-open", "chat", "Data export still failing", NOW - 10 * MIN),
        ep(1, "sess-resolved", "chat", "Password reset completed", NOW - 5 * MIN),
    };
    struct resolution res[2] = {
        resolution("sess-resolved", "resolved", NULL),
        resolution("sess-open", "open", NULL),
    };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 7.0, 3.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("help", NULL, eps, 2, res, 2, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_r6_all_signals_fit(void **state)
{
    struct episode eps[4] = {
        ep(4, "sess-old", "user", "My password reset worked, thanks!", NOW - 60 * MIN),
        ep(1, "sess-open", "user", "URGENT: production export is down, compliance deadline "
           "tomorrow", NOW - 10 * MIN),
        ep(2, "sess-open", "assistant", "I've checked the logs and bumped the timeout to 15 "
           "minutes", NOW - 8 * MIN),
        ep(3, "sess-open", "user", "ok", NOW - 7 * MIN),
    };
    struct resolution res[2] = {
        resolution("sess-old", "resolved", NULL),
        resolution("sess-open", "open", NULL),
    };
    static const int ids[] = { 1, 2, 3, 4 };
    static const double scores[] = { 15.384, 13.906, 10.0, -2.0 };
    struct context_item *items;
    struct context_bundle b;
    size_t n;

    (void)state;
    rank("help with export", NULL, eps, 4, res, 2, &items, &n);
    expect_ranking(items, n, ids, scores, 4);
    build("help with export", NULL, 150, NULL, 0, eps, 4, res, 2, &b);
    assert_int_equal(b.nepisodes, 4);
    assert_int_equal(b.token_estimate, 75);
}

static void test_context_r7_current_session_split(void **state)
{
    struct episode eps[2] = {
        ep(1, "sess-abc", "chat", "earlier in session", NOW - 60 * MIN),
        ep(2, "sess-other", "chat", "recent other", NOW - 1 * MIN),
    };
    static const int ids[] = { 1, 2 };
    static const double scores[] = { 9.0, 6.0 };
    struct context_item *items;
    struct context_bundle b;
    size_t n;

    (void)state;
    rank("help with billing", "sess-abc", eps, 2, NULL, 0, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
    build("help with billing", "sess-abc", 4000, NULL, 0, eps, 2, NULL, 0, &b);
    assert_string_equal(b.text, "## Task\nhelp with billing\n\n## Recent interactions\n"
                                "### Current session (sess-abc)\n"
                                "- [chat/message] user: earlier in session\n"
                                "### Previous interactions\n"
                                "- [chat/message] user: recent other\n");
    assert_int_equal(b.nsessions, 2);
    assert_string_equal(b.sessions[0].session_id, "sess-abc");
    assert_int_equal(b.sessions[0].episode_count, 1);
    assert_string_equal(b.sessions[1].session_id, "sess-other");
    assert_int_equal(b.sessions[1].episode_count, 1);
}

static void test_context_r8_active_over_resolved(void **state)
{
    struct episode eps[2] = {
        ep(2, "sess-active", "chat", "active login error", NOW - 10 * MIN),
        ep(1, "sess-resolved", "chat", "old billing problem fixed", NOW - 5 * MIN),
    };
    struct resolution res[1] = { resolution("sess-resolved", "resolved", NULL) };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 9.0, 3.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("help", "sess-active", eps, 2, res, 1, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_r9_no_session_is_flat(void **state)
{
    struct episode eps[2] = {
        ep(1, "sess-abc", "chat", "earlier in session", NOW - 60 * MIN),
        ep(2, "sess-other", "chat", "recent other", NOW - 1 * MIN),
    };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 6.0, 3.0 };
    struct context_item *items;
    struct context_bundle b;
    size_t n;

    (void)state;
    rank("help with billing", NULL, eps, 2, NULL, 0, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
    build("help with billing", NULL, 4000, NULL, 0, eps, 2, NULL, 0, &b);
    assert_string_equal(b.text, "## Task\nhelp with billing\n\n## Recent interactions\n"
                                "- [chat/message] user: recent other\n"
                                "- [chat/message] user: earlier in session\n");
    assert_null(strstr(b.text, "###"));
}

/* ---- §19.4 repeat issues ---- */

static void test_context_q1_repeat_with_summary(void **state)
{
    struct episode eps[3] = {
        ep(1, "sess-old", "chat", "my payment failed at checkout", NOW - 120 * MIN),
        ep(3, "sess-other", "chat", "how do I change my username", NOW - 60 * MIN),
        ep(2, "sess-current", "chat", "payment failed again on checkout", NOW - 2 * MIN),
    };
    struct resolution res[1] = {
        resolution("sess-old", "resolved", "Reset payment gateway token"),
    };
    static const int ids[] = { 2, 1, 3 };
    static const double scores[] = { 19.0, 9.0, 5.542 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("payment failed", "sess-current", eps, 3, res, 1, &items, &n);
    expect_ranking(items, n, ids, scores, 3);
}

static void test_context_q2_role_prefix_only_overlap(void **state)
{
    struct episode eps[2] = {
        ep(1, "sess-old", "chat", "billing invoice question", NOW - 120 * MIN),
        ep(2, "sess-current", "chat", "login authentication error", NOW - 2 * MIN),
    };
    struct resolution res[1] = { resolution("sess-old", "resolved", "Sent updated invoice") };
    static const int ids[] = { 2, 1 };
    static const double scores[] = { 19.0, -2.0 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("login error", "sess-current", eps, 2, res, 1, &items, &n);
    expect_ranking(items, n, ids, scores, 2);
}

static void test_context_q3_repeat_without_summary(void **state)
{
    struct episode eps[3] = {
        ep(1, "sess-resolved", "chat", "payment gateway timeout error", NOW - 200 * MIN),
        ep(2, "sess-no-res", "chat", "payment gateway timeout happening", NOW - 180 * MIN),
        ep(3, "sess-current", "chat", "payment gateway timeout again", NOW - 1 * MIN),
    };
    struct resolution res[2] = {
        resolution("sess-resolved", "resolved", "Restarted gateway service"),
        resolution("sess-no-res", "resolved", NULL),
    };
    static const int ids[] = { 3, 1, 2 };
    static const double scores[] = { 19.0, 9.0, 7.503 };
    struct context_item *items;
    size_t n;

    (void)state;
    rank("payment timeout", "sess-current", eps, 3, res, 2, &items, &n);
    expect_ranking(items, n, ids, scores, 3);
}

/* ---- §19.5 scoring helpers ---- */

static void test_context_rel(void **state)
{
    struct context_words t, empty;

    (void)state;
    context_words_of(A, "set up python project", &t);
    assert_true(context_rel(A, &t, "How to set up a python project quickly") > 0.0);
    assert_true(context_rel(A, &t, "deploy kubernetes cluster") == 0.0);
    assert_true(context_rel(A, &t, "") == 0.0);
    context_words_of(A, "", &empty);
    assert_true(context_rel(A, &empty, "How to set up a python project quickly") == 0.0);
    /* tokset keeps punctuation: "billing?" is not "billing" */
    context_words_of(A, "billing?", &t);
    assert_true(context_rel(A, &t, "my billing issue") == 0.0);
    context_words_of(A, "BILLING", &t);
    assert_float_equal(context_rel(A, &t, "billing\tissue"), 5.0, EPS);
}

/* lower() is Python's str.lower() for every script, the same one conflicts use: Cherokee
 * (3-byte letters whose lowercase is 3 bytes), Deseret (4 bytes), İ → "i̇", final sigma. */
static void test_context_rel_unicode_lower(void **state)
{
    struct context_words t;

    (void)state;
    context_words_of(A, "\xe1\x8e\xa0 \xf0\x90\x90\x80", &t);   /* Ꭰ 𐐀 */
    assert_float_equal(context_rel(A, &t, "\xea\xad\xb0 \xf0\x90\x90\xa8"), 5.0, EPS);
    context_words_of(A, "\xc4\xb0stanbul", &t);                    /* İstanbul */
    assert_float_equal(context_rel(A, &t, "i\xcc\x87stanbul"), 5.0, EPS);
    assert_float_equal(context_rel(A, &t, "istanbul"), 0.0, EPS);
    context_words_of(A, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", &t);   /* ΟΔΟΣ */
    assert_float_equal(context_rel(A, &t, "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"), 5.0, EPS);
    assert_float_equal(context_rel(A, &t, "\xce\xbf\xce\xb4\xce\xbf\xcf\x83"), 0.0, EPS);
}

static void test_context_recency(void **state)
{
    int64_t two[2] = { NOW - DAY, NOW }, one[1] = { NOW }, lo, hi;

    (void)state;
    context_range(two, 2, &lo, &hi);
    assert_float_equal(context_recency(NOW, lo, hi), 5.0, EPS);
    assert_float_equal(context_recency(NOW - DAY, lo, hi), 0.0, EPS);
    context_range(one, 1, &lo, &hi);
    assert_float_equal(context_recency(NOW, lo, hi), 5.0, EPS);
    assert_float_equal(context_recency(TS_NULL, lo, hi), 0.0, EPS);
    context_range(NULL, 0, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
}

static void test_context_temporal(void **state)
{
    (void)state;
    assert_float_equal(context_temporal(TS_NULL, NOW), 3.0, EPS);
    assert_float_equal(context_temporal(NOW + DAY, NOW), 3.0, EPS);
    assert_float_equal(context_temporal(NOW - DAY, NOW), -4.0, EPS);
}

static double bonus(const char *task, const char *const *crumbs, size_t n)
{
    return context_breadcrumb_bonus(A, task, crumbs, n);
}

static void test_context_breadcrumb_bonus(void **state)
{
    static const char *const modes[] = { "Compiler Modes \xE2\x80\xBA Heuristic Compilation" };
    static const char *const arch[] = { "Architecture Overview \xE2\x80\xBA Component diagram" };
    static const char *const both[] = { "Architecture Overview \xE2\x80\xBA Component diagram",
                                        "Hardware & Scaling \xE2\x80\xBA GPU requirements" };
    static const char *const docs[] = { "Statewave Documentation" };
    static const char *const backup1[] = { "Backup & Restore \xE2\x80\xBA Subject export" };
    static const char *const backup2[] = { "Backup & Restore > Subject export" };
    static const char *const empty_first[] = { "", "Compiler Modes" };
    static const char *const none[] = { NULL };

    (void)state;
    assert_float_equal(bonus("Heuristic vs LLM compilation \xE2\x80\x94 when to pick which?",
                             modes, 1), 1.5, EPS);
    assert_float_equal(bonus("Do I need a GPU?", arch, 1), 0.0, EPS);
    assert_float_equal(bonus("Do I need a GPU?", both, 2), 1.5, EPS);
    assert_float_equal(bonus("What is Statewave?", docs, 1), 0.0, EPS);
    assert_float_equal(bonus("backup and restore subjects", backup1, 1), 1.5, EPS);
    assert_float_equal(bonus("backup and restore subjects", backup2, 1), 1.5, EPS);
    assert_float_equal(bonus("compiler", empty_first, 2), 3.0, EPS);
    assert_float_equal(bonus("compiler", none, 1), 0.0, EPS);
    assert_true(bonus("compiler modes", empty_first, 2) <= 3.0);
}

static void test_context_breadcrumb_in_memory_score(void **state)
{
    struct episode src = ep(9, NULL, "docs", "x", NOW);
    struct memory m = mem(1, "procedure", "zzz", NOW,
                          "[\"00000000-0000-4000-8000-000000000009\"]");
    struct context_request rq = { .subject_id = "user-1", .task = "compiler", .budget = 4000,
                                  .session_id = NULL };
    struct context_input in;
    struct context_item *items;
    size_t n;

    (void)state;
    src.payload = "{\"title\":\"Compiler Modes\",\"breadcrumb\":\"\"}";
    memset(&in, 0, sizeof(in));
    in.memories = &m;
    in.nmemories = 1;
    in.sources = &src;
    in.nsources = 1;
    in.now = NOW;
    context_rank(A, &rq, &in, &items, &n);
    assert_int_equal(n, 1);
    /* 8 (procedure) + 5 (recency) + 0 (overlap) + 3 (open validity) + 3 (breadcrumb) */
    assert_float_equal(items[0].score, 19.0, EPS);
    context_prepare(A, &in);                /* the same from the prepared features */
    context_rank(A, &rq, &in, &items, &n);
    assert_int_equal(n, 1);
    assert_float_equal(items[0].score, 19.0, EPS);
}

static void test_context_urgency(void **state)
{
    (void)state;
    assert_true(context_urgent(A, "This is urgent, please help ASAP"));
    assert_true(context_urgent(A, "Production is DOWN \xE2\x80\x94 critical outage"));
    assert_true(context_urgent(A, "We have a compliance deadline on Friday"));
    assert_true(context_urgent(A, "This is a P0 incident"));
    assert_false(context_urgent(A, "Thanks for your help!"));
    assert_false(context_urgent(A, "Just checking in on the status"));
    assert_false(context_urgent(A, "Hello, I have a question about my account"));
    assert_true(context_urgent(A, "ping me on Slack"));   /* substring: sla */
}

static void test_context_budget_edge(void **state)
{
    struct memory m = mem(1, "profile_fact", "My name is Dave", NOW, NULL);
    struct context_bundle b;

    (void)state;
    build("help", NULL, 1, &m, 1, NULL, 0, NULL, 0, &b);
    assert_string_equal(b.text, "## Task\nhelp\n");
    assert_int_equal(b.token_estimate, 5);
    assert_int_equal(b.nfacts, 0);
}

static void test_context_clean_and_short(void **state)
{
    struct episode e = ep(1, NULL, "chat", "x", NOW);
    char long_text[400];
    const char *line;

    (void)state;
    assert_string_equal(context_clean_summary(A, "  user: a\n\nassistant:   b \n"),
                        "a \xE2\x86\x92 b");
    assert_string_equal(context_clean_summary(A, "user: a\ntool: b\nsystem: c"),
                        "a \xE2\x86\x92 c");
    assert_string_equal(context_clean_summary(A, "User: a"), "User: a");
    assert_string_equal(context_clean_summary(A, "user:\nassistant: only"), "only");
    assert_string_equal(context_short_episode(A, &e, ""), "[chat/message] (no text content)");
    memset(long_text, 'a', sizeof(long_text));
    memcpy(long_text + 148, "\xC3\xA9\xC3\xA9\xC3\xA9", 6);   /* é at code points 148-150 */
    long_text[sizeof(long_text) - 1] = '\0';
    line = context_short_episode(A, &e, long_text);
    assert_int_equal(strlen(line), strlen("[chat/message] ") + 148 + 4);
}

/* ---- §19.2 golden path ---- */

struct golden {
    struct episode eps[4];
    struct memory mems[8];   /* candidate order: F1..F4, S1..S4 */
};

static const char *const golden_turns[4][2] = {
    { "My name is Alice Chen and I work at Globex Corporation. I am on the Enterprise plan.",
      "Welcome Alice! How can I help you today?" },
    { "I prefer email notifications over Slack. My email is alice@globex.com.",
      "Got it, I have updated your preference." },
    { "We had a billing issue last week \xE2\x80\x94 we were double-charged for the March "
      "invoice.",
      "I see the double charge. I have initiated a refund for the duplicate payment." },
    { "Can you help me upgrade our team from 5 to 20 seats?",
      "Sure, I have upgraded your team to 20 seats. Your next invoice will reflect the "
      "change." },
};

static const char *ids_of(int n)
{
    return arena_printf(A, "[\"00000000-0000-4000-8000-%012d\"]", n);
}

static void golden_rows(struct golden *g)
{
    static const char *const facts[4] = { "My name is Alice Chen", "I work at Globex Corporation",
                                          "I am on the Enterprise plan",
                                          "I prefer email notifications over Slack" };
    static const int fact_source[4] = { 1, 1, 1, 2 };
    int64_t batch = NOW - 3 * MIN, compiled = NOW - 1 * MIN;
    int i;

    for (i = 0; i < 4; i++) {
        const char *rc[4] = { "user", golden_turns[i][0], "assistant", golden_turns[i][1] };

        g->eps[i] = ep(i + 1, NULL, "support-chat", "", batch);
        g->eps[i].type = "conversation";
        g->eps[i].payload = messages(2, rc);
        g->mems[i] = mem(100 + i, "profile_fact", facts[i], compiled, ids_of(fact_source[i]));
        g->mems[4 + i] = mem(200 + i, "episode_summary",
                             arena_printf(A, "user: %s\nassistant: %s", golden_turns[i][0],
                                          golden_turns[i][1]),
                             compiled, ids_of(i + 1));
        g->mems[4 + i].confidence = 0.8;
    }
}

static void test_context_golden_ranking(void **state)
{
    struct context_request rq = { .subject_id = "user-1",
                                  .task = "Customer is asking about their billing issue",
                                  .budget = 500, .session_id = NULL };
    static const int order[8] = { 100, 101, 102, 103, 202, 200, 201, 203 };
    static const double scores[8] = { 18.714, 18.0, 18.0, 18.0, 14.429, 13.714, 13.714, 13.0 };
    struct context_input in;
    struct context_item *items;
    struct golden g;
    char id[UUID_STR_LEN];
    size_t n, i;

    (void)state;
    golden_rows(&g);
    memset(&in, 0, sizeof(in));
    in.memories = g.mems;
    in.nmemories = 8;
    in.episodes = g.eps;
    in.nepisodes = 4;
    in.now = NOW;
    context_rank(A, &rq, &in, &items, &n);
    assert_int_equal(n, 8);   /* every episode is cited by a summary */
    for (i = 0; i < n; i++) {
        fixed_id(id, order[i]);
        assert_non_null(items[i].memory);
        assert_string_equal(items[i].memory->id, id);
        if (fabs(items[i].score - scores[i]) > EPS)
            fail_msg("item %zu scores %.6f, want %.3f", i, items[i].score, scores[i]);
    }
}

static const char golden_500[] =
    "## Task\n"
    "Customer is asking about their billing issue\n"
    "\n"
    "## About this user\n"
    "- My name is Alice Chen\n"
    "- I work at Globex Corporation\n"
    "- I am on the Enterprise plan\n"
    "- I prefer email notifications over Slack\n"
    "\n"
    "## Recent history\n"
    "- We had a billing issue last week \xE2\x80\x94 we were double-charged for the March "
    "invoice. \xE2\x86\x92 I see the double charge. I have initiated a refund for the duplicate "
    "payment.\n"
    "- My name is Alice Chen and I work at Globex Corporation. I am on the Enterprise plan. "
    "\xE2\x86\x92 Welcome Alice! How can I help you today?\n"
    "- I prefer email notifications over Slack. My email is alice@globex.com. \xE2\x86\x92 Got "
    "it, I have updated your preference.\n"
    "- Can you help me upgrade our team from 5 to 20 seats? \xE2\x86\x92 Sure, I have upgraded "
    "your team to 20 seats. Your next invoice will reflect the change.\n";

static const char golden_100[] =
    "## Task\n"
    "Customer is asking about their billing issue\n"
    "\n"
    "## About this user\n"
    "- My name is Alice Chen\n"
    "- I work at Globex Corporation\n"
    "- I am on the Enterprise plan\n"
    "- I prefer email notifications over Slack\n"
    "\n"
    "## Recent history\n"
    "- We had a billing issue last week \xE2\x80\x94 we were double-charged for the March "
    "invoice. \xE2\x86\x92 I see the double charge. I have initiated a refund for the duplicate "
    "payment.\n";

static void test_context_golden_render(void **state)
{
    struct context_bundle b;
    struct golden g;

    (void)state;
    golden_rows(&g);
    build("Customer is asking about their billing issue", NULL, 500, g.mems, 8, g.eps, 4, NULL,
          0, &b);
    assert_string_equal(b.text, golden_500);
    assert_int_equal(b.token_estimate, 183);
    assert_int_equal(b.nfacts, 4);
    assert_int_equal(b.nsummaries, 4);
    assert_string_equal(b.summaries[0]->id, g.mems[6].id);
    assert_int_equal(b.nepisodes, 0);
    assert_int_equal(b.nprocedures, 0);
    assert_int_equal(b.nsessions, 0);

    build("Customer is asking about their billing issue", NULL, 100, g.mems, 8, g.eps, 4, NULL,
          0, &b);
    assert_string_equal(b.text, golden_100);
    assert_int_equal(b.token_estimate, 87);
    assert_int_equal(b.nfacts, 4);
    assert_int_equal(b.nsummaries, 1);
}

static void test_context_semantic_relevance_replaces_overlap(void **state)
{
    struct memory m[2] = {
        mem(1, "profile_fact", "billing billing", NOW, NULL),
        mem(2, "profile_fact", "unrelated", NOW, NULL),
    };
    double sem[2] = { NAN, 7.5 };
    struct context_request rq = { .subject_id = "user-1", .task = "billing", .budget = 4000,
                                  .session_id = NULL };
    struct context_input in;
    struct context_item *items;
    size_t n;

    (void)state;
    memset(&in, 0, sizeof(in));
    in.memories = m;
    in.nmemories = 2;
    in.sem = sem;
    in.now = NOW;
    context_rank(A, &rq, &in, &items, &n);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].memory->id, m[1].id);
    assert_float_equal(items[0].score, 10 + 5 + 7.5 + 3, EPS);
    assert_float_equal(items[1].score, 10 + 5 + 5 + 3, EPS);
}

static void test_context_expired_memory_and_unknown_kind(void **state)
{
    struct memory m[2] = {
        mem(1, "profile_fact", "old fact", NOW - DAY, NULL),
        mem(2, "artifact_ref", "a file", NOW, NULL),
    };
    struct context_request rq = { .subject_id = "user-1", .task = "x", .budget = 4000,
                                  .session_id = NULL };
    struct context_input in;
    struct context_item *items;
    size_t n;

    (void)state;
    m[0].valid_to = NOW - 1;
    memset(&in, 0, sizeof(in));
    in.memories = m;
    in.nmemories = 2;
    in.now = NOW;
    context_rank(A, &rq, &in, &items, &n);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].memory->id, m[1].id);
    assert_float_equal(items[0].score, 1 + 5 + 0 + 3, EPS);
    assert_int_equal(items[0].section, CONTEXT_HISTORY);
    assert_float_equal(items[1].score, 10 + 0 + 0 - 4, EPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_context_r1_open_session_and_render, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_r2_assistant_bonus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r3_urgency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r4_idle_chatter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r5_resolved_and_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r6_all_signals_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r7_current_session_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r8_active_over_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_r9_no_session_is_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_q1_repeat_with_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_q2_role_prefix_only_overlap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_q3_repeat_without_summary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_rel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_rel_unicode_lower, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_recency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_temporal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_breadcrumb_bonus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_breadcrumb_in_memory_score, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_urgency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_budget_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_clean_and_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_golden_ranking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_golden_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_semantic_relevance_replaces_overlap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_context_expired_memory_and_unknown_kind, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
