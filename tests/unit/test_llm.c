/* test_llm.c - the OpenAI-compatible client (service/llm.h) and the LLM compiler (compile_llm)
 * against a fake chat-completions server run inside this test (libmicrohttpd on a loopback
 * port): URLs, retries, batching and the request format, reply parsing, the heuristic
 * fallback of a failed batch, and at most 4 calls in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/compiler.h"
#include "service/llm.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

#include "fake_http.h"   /* fk, fake_start, fake_stop, fake_reset, fake_calls, fake_config */

/* ---- configuration and fixtures ---- */

static struct config tcfg;

static void configure(fake_answer_fn *answer)
{
    fake_config(&tcfg);
    tcfg.compiler_type = (char *)"llm";
    tcfg.embedding_provider = (char *)"none";
    tcfg.embedding_dimensions = 4;
    cfg = &tcfg;
    fk.answer = answer;
    fake_reset();
}

static int setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    fake_start();
    return compiler_setup(&err);
}

static int teardown(void **state)
{
    (void)state;
    fake_stop();
    compiler_shutdown();
    return 0;
}

#define NOW 1717243200000000LL   /* 2024-06-01T12:00:00Z: the compile's clock */

/* An episode whose payload is {"text": text}, created k seconds after an hour before NOW. */
static struct episode make_episode(struct arena *a, const char *text, int k)
{
    struct episode ep = { 0 };
    struct buf b = BUF_INIT;

    uuid_v4(ep.id);
    ep.subject_id = "subject-1";
    ep.source = "chat";
    ep.type = "message";
    buf_puts(&b, "{\"text\":");
    jv_write_str(&b, text, strlen(text));
    buf_putc(&b, '}');
    ep.payload = arena_strdup(a, b.data);
    ep.metadata = "{}";
    ep.provenance = "{}";
    ep.created_at = NOW - 3600000000LL + k * 1000000LL;
    ep.last_compiled_at = TS_NULL;
    buf_release(&b);
    return ep;
}

/* "<tag>;" followed by filler up to len code points (all ASCII). */
static char *tagged_text(struct arena *a, const char *tag, size_t len)
{
    char *s = arena_alloc(a, len + 1);
    size_t n = strlen(tag), i;

    memcpy(s, tag, n);
    s[n] = ';';
    for (i = n + 1; i < len; i++)
        s[i] = (char)('a' + i % 26);
    s[len] = '\0';
    return s;
}

/* ---- answers ---- */

/* Lookups that chain: NULL in, NULL out. */
static struct jv *get(const struct jv *v, const char *key)
{
    return v ? jv_object_get(v, key) : NULL;
}

static struct jv *at(const struct jv *v, size_t i)
{
    return v ? jv_array_get(v, i) : NULL;
}

static const char *str_of(const struct jv *v)
{
    return v ? jv_string(v, NULL) : NULL;
}

static int64_t int_of(const struct jv *v)
{
    int64_t i = 0;

    if (!v || jv_int64(v, &i) < 0)
        fail_msg("not an integer");
    return i;
}

/* A chat completion whose message content is the given text. */
static void chat_reply(struct buf *resp, const char *content)
{
    struct arena *a = arena_new();
    struct jv *o = jv_object(a), *choices = jv_array(a), *choice = jv_object(a);
    struct jv *msg = jv_object(a);

    jv_object_set(a, msg, "role", jv_str(a, "assistant"));
    jv_object_set(a, msg, "content", jv_str(a, content));
    jv_object_set(a, choice, "index", jv_int(a, 0));
    jv_object_set(a, choice, "message", msg);
    jv_object_set(a, choice, "finish_reason", jv_str(a, "stop"));
    jv_array_append(a, choices, choice);
    jv_object_set(a, o, "object", jv_str(a, "chat.completion"));
    jv_object_set(a, o, "choices", choices);
    jv_write_compact(resp, o);
    arena_free(a);
}

/* The user message of a chat request (points into root; "" when there is none). */
static const char *user_content(const struct jv *root)
{
    const char *s = str_of(get(at(get(root, "messages"), 1), "content"));

    return s ? s : "";
}

/* One profile_fact per episode of the request: content "fact from <tag>", where tag is the
 * episode text up to its first ';'. */
static void answer_echo(int n, const char *path, const char *body, int *status,
                        struct buf *resp, int *delay)
{
    struct arena *a = arena_new();
    struct jv *root = jv_parse(a, body, strlen(body), NULL, NULL);
    struct jv *items = jv_array(a), *out = jv_object(a);
    const char *user = user_content(root), *p;
    struct buf b = BUF_INIT;
    char marker[32];
    int i;

    (void)n, (void)path, (void)status, (void)delay;
    for (i = 0;; i++) {
        struct jv *item = jv_object(a);

        snprintf(marker, sizeof(marker), "--- Episode %d ---\n", i);
        p = strstr(user, marker);
        if (!p)
            break;
        p += strlen(marker);
        buf_reset(&b);
        buf_puts(&b, "fact from ");
        buf_append(&b, p, strcspn(p, ";"));
        jv_object_set(a, item, "kind", jv_str(a, "profile_fact"));
        jv_object_set(a, item, "content", jv_str(a, b.data));
        jv_object_set(a, item, "confidence", jv_real(a, 0.9));
        jv_object_set(a, item, "episode_index", jv_int(a, i));
        jv_array_append(a, items, item);
    }
    jv_object_set(a, out, "memories", items);
    buf_reset(&b);
    jv_write_compact(&b, out);
    chat_reply(resp, b.data);
    buf_release(&b);
    arena_free(a);
}

static const char *canned;   /* the message content answer_canned returns */

static void answer_canned(int n, const char *path, const char *body, int *status,
                          struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)status, (void)delay;
    chat_reply(resp, canned);
}

static void answer_500(int n, const char *path, const char *body, int *status,
                       struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)delay;
    *status = 500;
    buf_puts(resp, "{\"error\":{\"message\":\"overloaded\"}}");
}

static void answer_500_then_echo(int n, const char *path, const char *body, int *status,
                                 struct buf *resp, int *delay)
{
    if (n == 1)
        answer_500(n, path, body, status, resp, delay);
    else
        answer_echo(n, path, body, status, resp, delay);
}

static void answer_429_then_echo(int n, const char *path, const char *body, int *status,
                                 struct buf *resp, int *delay)
{
    if (n == 1) {
        *status = 429;
        buf_puts(resp, "{}");
    } else {
        answer_echo(n, path, body, status, resp, delay);
    }
}

static void answer_400(int n, const char *path, const char *body, int *status,
                       struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)delay;
    *status = 400;
    buf_puts(resp, "{\"error\":{\"message\":\"bad request\"}}");
}

static void answer_no_choices(int n, const char *path, const char *body, int *status,
                              struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)status, (void)delay;
    buf_puts(resp, "{\"object\":\"chat.completion\",\"choices\":[]}");
}

static void answer_slow(int n, const char *path, const char *body, int *status,
                        struct buf *resp, int *delay)
{
    *delay = 1500;
    answer_echo(n, path, body, status, resp, delay);
}

/* Echo, but episode texts tagged "bad*" make the call fail with a 503. */
static void answer_fail_bad(int n, const char *path, const char *body, int *status,
                            struct buf *resp, int *delay)
{
    if (strstr(body, "---\\nbad")) {
        *status = 503;
        buf_puts(resp, "{}");
        return;
    }
    answer_echo(n, path, body, status, resp, delay);
}

/* Echo after a delay that shrinks with the tag number ("t<k>"), so later batches finish
 * first. */
static void answer_echo_slow(int n, const char *path, const char *body, int *status,
                             struct buf *resp, int *delay)
{
    const char *p = strstr(body, "---\\nt");

    answer_echo(n, path, body, status, resp, delay);
    *delay = 400 - (p ? atoi(p + 6) : 0) * 30;
}

/* ---- the client ---- */

static void test_llm_url(void **state)
{
    char *u;

    (void)state;
    configure(answer_echo);
    tcfg.llm_api_base = NULL;
    u = llm_url("/chat/completions");
    assert_string_equal(u, "https://api.openai.com/v1/chat/completions");
    free(u);
    tcfg.llm_api_base = (char *)"";
    u = llm_url("/embeddings");
    assert_string_equal(u, "https://api.openai.com/v1/embeddings");
    free(u);
    tcfg.llm_api_base = (char *)"http://localhost:4000";
    u = llm_url("/embeddings");
    assert_string_equal(u, "http://localhost:4000/v1/embeddings");
    free(u);
    tcfg.llm_api_base = (char *)"http://localhost:4000/openai/v1/";
    u = llm_url("/chat/completions");
    assert_string_equal(u, "http://localhost:4000/openai/v1/chat/completions");
    free(u);
}

static void test_llm_post_retries(void **state)
{
    struct err err = ERR_INIT;
    char *resp;
    long status;

    (void)state;
    configure(answer_500_then_echo);
    assert_int_equal(llm_post_json("/chat/completions",
                                   "{\"messages\":[{},{\"content\":\"--- Episode 0 ---\\nx\"}]}",
                                   5000, 2, &resp, &status, &err), 0);
    assert_int_equal(status, 200);
    assert_int_equal(fake_calls(), 2);
    assert_string_equal(fk.path, "/v1/chat/completions");
    assert_string_equal(fk.auth, "Bearer sk-test-key");
    free(resp);

    configure(answer_429_then_echo);
    assert_int_equal(llm_post_json("/chat/completions",
                                   "{\"messages\":[{},{\"content\":\"\"}]}", 5000, 1, &resp,
                                   &status, &err), 0);
    assert_int_equal(fake_calls(), 2);
    free(resp);

    /* Retries run out: 1 + 2 attempts. */
    configure(answer_500);
    assert_int_equal(llm_post_json("/chat/completions", "{}", 5000, 2, &resp, &status, &err),
                     -1);
    assert_null(resp);
    assert_int_equal(status, 500);
    assert_int_equal(fake_calls(), 3);
    assert_string_equal(err.code, "upstream_llm_error");
    assert_int_equal(err.kind, 502);
    err_release(&err);

    /* A 400 is not transient. */
    configure(answer_400);
    assert_int_equal(llm_post_json("/chat/completions", "{}", 5000, 2, &resp, &status, &err),
                     -1);
    assert_int_equal(status, 400);
    assert_int_equal(fake_calls(), 1);
    err_release(&err);

    /* The deadline covers every attempt. */
    configure(answer_slow);
    assert_int_equal(llm_post_json("/chat/completions", "{}", 300, 2, &resp, &status, &err),
                     -1);
    assert_string_equal(err.code, "upstream_llm_timeout");
    assert_int_equal(err.kind, 504);
    assert_int_equal(fake_calls(), 1);
    err_release(&err);
}

static void test_llm_chat_content(void **state)
{
    struct err err = ERR_INIT;
    char *content;

    (void)state;
    configure(answer_canned);
    canned = "{\"memories\": []}";
    assert_int_equal(llm_chat("{}", &content, &err), 0);
    assert_string_equal(content, "{\"memories\": []}");
    free(content);

    configure(answer_no_choices);
    assert_int_equal(llm_chat("{}", &content, &err), -1);
    assert_null(content);
    assert_string_equal(err.code, "upstream_llm_error");
    err_release(&err);
}

/* ---- batching and the request ---- */

/* The recorded request whose user message contains needle, parsed into a. */
static struct jv *request_with(struct arena *a, const char *needle)
{
    int i;

    for (i = 0; i < FAKE_MAX_RECORDED && fk.bodies[i]; i++) {
        struct jv *root = jv_parse(a, fk.bodies[i], strlen(fk.bodies[i]), NULL, NULL);

        if (root && strstr(user_content(root), needle))
            return root;
    }
    fail_msg("no request contains '%s'", needle);
    return NULL;
}

/* Check one chat request. */
static void check_request(const struct jv *req, const char **texts, size_t n, int max_tokens)
{
    const struct jv *msgs = get(req, "messages"), *sys = at(msgs, 0);
    struct buf want = BUF_INIT;
    const char *user = user_content(req), *blank;
    size_t i;

    assert_string_equal(str_of(get(req, "model")), "gpt-test");
    assert_int_equal(jv_type(get(req, "temperature")), JV_REAL);
    assert_true(fabs(jv_double(get(req, "temperature")) - 0.1) < 1e-12);
    assert_int_equal(int_of(get(req, "max_tokens")), max_tokens);
    assert_string_equal(str_of(get(get(req, "response_format"), "type")), "json_object");
    assert_int_equal(jv_array_size(msgs), 2);
    assert_string_equal(str_of(get(sys, "role")), "system");
    assert_non_null(strstr(str_of(get(sys, "content")), "procedure"));
    assert_string_equal(str_of(get(at(msgs, 1), "role")),
                        "user");
    /* One instruction line naming the count and "memories", a blank line, then the blocks. */
    blank = strstr(user, "\n\n");
    assert_non_null(blank);
    assert_null(memchr(user, '\n', (size_t)(blank - user)));
    buf_printf(&want, " %zu episode", n);
    assert_non_null(strstr(user, want.data));
    assert_non_null(strstr(user, "\"memories\""));
    assert_true(strstr(user, "\"memories\"") < blank);
    buf_reset(&want);
    for (i = 0; i < n; i++)
        buf_printf(&want, "%s--- Episode %zu ---\n%s", i ? "\n\n" : "", i, texts[i]);
    assert_string_equal(blank + 2, want.data);
    buf_release(&want);
}

static void test_llm_batching(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode eps[6];
    struct memory *m;
    const char *t[6];
    size_t n, i;

    (void)state;
    configure(answer_echo);
    t[0] = tagged_text(a, "t0", 2500);
    t[1] = tagged_text(a, "t1", 2500);
    t[2] = "";                           /* no text: skipped */
    t[3] = tagged_text(a, "t3", 2500);   /* 5000 + 2500 > 6000: a new batch */
    t[4] = tagged_text(a, "t4", 100);
    t[5] = tagged_text(a, "t5", 3400);   /* 2600 + 3400 = 6000: still fits */
    for (i = 0; i < 6; i++)
        eps[i] = make_episode(a, t[i], (int)i);
    assert_int_equal(compile_llm(a, eps, 6, NULL, NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), 2);
    check_request(request_with(a, "t0;"), (const char *[]){ t[0], t[1] }, 2, 1000);
    check_request(request_with(a, "t3;"), (const char *[]){ t[3], t[4], t[5] }, 3, 1500);

    /* Results in batch order, each from its own episode. */
    assert_int_equal(n, 5);
    assert_string_equal(m[0].content, "fact from t0");
    assert_string_equal(m[1].content, "fact from t1");
    assert_string_equal(m[2].content, "fact from t3");
    assert_string_equal(m[3].content, "fact from t4");
    assert_string_equal(m[4].content, "fact from t5");
    assert_non_null(strstr(m[1].source_episode_ids, eps[1].id));
    assert_non_null(strstr(m[4].source_episode_ids, eps[5].id));
    arena_free(a);
}

static void test_llm_batch_limits(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode eps[8];
    struct memory *m;
    struct buf big = BUF_INIT;
    const char *cut;
    size_t n, i;
    struct jv *req;

    (void)state;
    configure(answer_echo);
    /* 7 short episodes: one batch, max_tokens capped at 3000 (not 3500). */
    for (i = 0; i < 7; i++)
        eps[i] = make_episode(a, arena_printf(a, "s%zu;short", i), (int)i);
    assert_int_equal(compile_llm(a, eps, 7, "tenant-a", NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), 1);
    req = request_with(a, "s0;");
    assert_int_equal(int_of(get(req, "max_tokens")), 3000);
    assert_int_equal(n, 7);

    /* A text is cut to its first 4000 code points (not bytes). */
    configure(answer_echo);
    buf_puts(&big, "big;");
    for (i = 0; i < 5000; i++)
        buf_puts(&big, "\xc3\xa9");   /* é: 2 bytes, 1 code point */
    eps[0] = make_episode(a, big.data, 0);
    assert_int_equal(compile_llm(a, eps, 1, NULL, NOW, &m, &n, &err), 0);
    req = request_with(a, "big;");
    cut = strstr(user_content(req), "--- Episode 0 ---\n") + strlen("--- Episode 0 ---\n");
    assert_int_equal(utf8_count(cut, strlen(cut)), 4000);
    assert_int_equal(int_of(get(req, "max_tokens")), 500);
    buf_release(&big);

    /* Nothing with text: no call, no memories. */
    configure(answer_echo);
    eps[0] = make_episode(a, "", 0);
    assert_int_equal(compile_llm(a, eps, 1, NULL, NOW, &m, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(fake_calls(), 0);
    arena_free(a);
}

/* The request bytes, exactly: keys in this order, no spaces, the temperature as Python prints
 * a float (1 is 1.0), non-ASCII raw and control characters as lower-case \u00xx escapes. */
static void test_llm_request_bytes(void **state)
{
    static const char head[] =
        "{\"model\":\"gpt-test\",\"temperature\":1.0,\"max_tokens\":500,"
        "\"response_format\":{\"type\":\"json_object\"},"
        "\"messages\":[{\"role\":\"system\",\"content\":\"";
    static const char tail[] =
        "--- Episode 0 ---\\ncaf\xc3\xa9 \\u001f \\\"q\\\" \\\\ \xf0\x9f\x98\x80\"}]}";
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode ep;
    struct memory *m;
    size_t n, len;
    const char *body;

    (void)state;
    configure(answer_canned);
    canned = "{\"memories\": []}";
    tcfg.llm_temperature = 1.0;
    ep = make_episode(a, "caf\xc3\xa9 \x1f \"q\" \\ \xf0\x9f\x98\x80", 0);
    assert_int_equal(compile_llm(a, &ep, 1, NULL, NOW, &m, &n, &err), 0);
    tcfg.llm_temperature = 0.1;
    assert_int_equal(fake_calls(), 1);
    body = fk.bodies[0];
    len = strlen(body);
    assert_memory_equal(body, head, sizeof(head) - 1);
    assert_true(len > sizeof(tail) - 1);
    assert_string_equal(body + len - (sizeof(tail) - 1), tail);
    assert_non_null(strstr(body, "\"},{\"role\":\"user\",\"content\":\""));
    arena_free(a);
}

/* Embeddings: the request bytes, vectors placed by "index", numbers of every JSON spelling
 * read as Python reads them, and the answers that are refused. */
static const char *vectors_answer;   /* the body answer_vectors returns */

static void answer_vectors(int n, const char *path, const char *body, int *status,
                           struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)status, (void)delay;
    buf_puts(resp, vectors_answer);
}

static void test_llm_embed_bytes_and_numbers(void **state)
{
    const char *texts[] = { "caf\xc3\xa9", "a\x1f" "b" };
    const char *bad_utf8[] = { "ok", "\xed\xa0\x80" };   /* an encoded surrogate */
    struct err err = ERR_INIT;
    float v[8];

    (void)state;
    configure(answer_vectors);
    vectors_answer = "{\"data\": [{\"index\": 1, \"embedding\": [0.5, 1, 2, 3]},"
                     " {\"index\": 0, \"embedding\": [1E0, -0, 1e-400, 123456789012345678901]}],"
                     " \"model\": \"m\", \"usage\": {\"total_tokens\": 99999999999999999999}}";
    assert_int_equal(llm_embed("m", texts, 2, 4, v, &err), 0);
    assert_string_equal(fk.bodies[0], "{\"model\":\"m\",\"input\":[\"caf\xc3\xa9\","
                                      "\"a\\u001fb\"],\"dimensions\":4}");
    assert_true(v[0] == 1.0f && v[1] == 0.0f && v[2] == 0.0f);
    assert_true(v[3] == (float)123456789012345678901.0);
    assert_true(v[4] == 0.5f && v[5] == 1.0f && v[6] == 2.0f && v[7] == 3.0f);

    /* An index beyond 64 bits is a bad index, not a parse failure of the whole answer. */
    vectors_answer = "{\"data\": [{\"index\": 18446744073709551616, \"embedding\": [1, 2, 3, 4]}]}";
    assert_int_equal(llm_embed("m", texts, 1, 4, v, &err), -1);
    assert_non_null(strstr(err.msg, "bad index"));
    err_release(&err);
    /* Indexes that are not all integers: the answer's order. */
    vectors_answer = "{\"data\": [{\"index\": 1.0, \"embedding\": [1, 2, 3, 4]},"
                     " {\"index\": 0, \"embedding\": [5, 6, 7, 8]}]}";
    assert_int_equal(llm_embed("m", texts, 2, 4, v, &err), 0);
    assert_true(v[0] == 1.0f && v[4] == 5.0f);
    vectors_answer = "[1, 2]";
    assert_int_equal(llm_embed("m", texts, 1, 4, v, &err), -1);
    assert_non_null(strstr(err.msg, "no data array"));
    err_release(&err);
    vectors_answer = "\"data\"";
    assert_int_equal(llm_embed("m", texts, 1, 4, v, &err), -1);
    assert_non_null(strstr(err.msg, "invalid JSON"));
    err_release(&err);
    vectors_answer = "{\"data\": [{\"embedding\": [1, 2, \"3\", 4]}]}";
    assert_int_equal(llm_embed("m", texts, 1, 4, v, &err), -1);
    assert_non_null(strstr(err.msg, "wrong dimensions"));
    err_release(&err);
    fake_reset();
    assert_int_equal(llm_embed("m", bad_utf8, 2, 4, v, &err), -1);
    assert_non_null(strstr(err.msg, "input 1 is not valid UTF-8"));
    assert_int_equal(fake_calls(), 0);
    err_release(&err);
}

/* ---- reply parsing ---- */

/* Compile two episodes ("first episode", "second episode") against the canned reply. */
static size_t compile_canned(struct arena *a, const char *reply, struct episode *eps,
                             struct memory **m)
{
    struct err err = ERR_INIT;
    size_t n;

    configure(answer_canned);
    canned = reply;
    eps[0] = make_episode(a, "first episode", 0);
    eps[1] = make_episode(a, "second episode", 1);
    assert_int_equal(compile_llm(a, eps, 2, "tenant-a", NOW, m, &n, &err), 0);
    assert_int_equal(fake_calls(), 1);
    return n;
}

static void test_llm_parse_envelopes(void **state)
{
    struct arena *a = arena_new();
    struct episode eps[2];
    struct memory *m;

    (void)state;
    assert_int_equal(compile_canned(a, "```json\n{\"memories\": [{\"kind\": \"procedure\", "
                                       "\"content\": \"fenced\"}]}\n```", eps, &m), 1);
    assert_string_equal(m[0].content, "fenced");
    assert_string_equal(m[0].kind, "procedure");
    assert_int_equal(compile_canned(a, "  ```\n[{\"content\": \"bare fence\"}]``` trailing ",
                                    eps, &m), 1);
    assert_string_equal(m[0].content, "bare fence");
    assert_int_equal(compile_canned(a, "{\"items\": [{\"content\": \"i1\"}, {\"content\": "
                                       "\"i2\"}]}", eps, &m), 2);
    assert_string_equal(m[1].content, "i2");
    assert_int_equal(compile_canned(a, "{\"memories\": 3, \"results\": [{\"content\": \"r\"}]}",
                                    eps, &m), 1);
    assert_string_equal(m[0].content, "r");
    assert_int_equal(compile_canned(a, "{\"kind\": \"profile_fact\", \"content\": \"alone\", "
                                       "\"episode_index\": 1}", eps, &m), 1);
    assert_string_equal(m[0].content, "alone");
    assert_string_equal(m[0].kind, "profile_fact");
    assert_non_null(strstr(m[0].source_episode_ids, eps[1].id));
    assert_int_equal(compile_canned(a, "[{\"content\": \"top-level array\"}]", eps, &m), 1);
    assert_int_equal(compile_canned(a, "{\"content\": \"no kind: not an item\"}", eps, &m), 0);
    assert_int_equal(compile_canned(a, "{\"memories\": []}", eps, &m), 0);
    assert_int_equal(compile_canned(a, "42", eps, &m), 0);
    arena_free(a);
}

static const char rich_reply[] =
    "{\"memories\": ["
    /* 0: every field given */
    "{\"kind\": \"profile_fact\", \"content\": \"User is on the Pro plan\", \"summary\": "
    "\"Pro plan\", \"confidence\": 0.95, \"episode_index\": 1},"
    /* 1: array content, missing summary, missing confidence, missing kind */
    "{\"content\": [\"step one\", \"step two\"]},"
    /* 2: unknown kind, confidence clamped above */
    "{\"kind\": \"opinion\", \"content\": \"likes tea\", \"confidence\": 1.7},"
    /* 3: empty content: dropped */
    "{\"kind\": \"profile_fact\", \"content\": \"\"},"
    /* 4: null content: dropped */
    "{\"content\": null, \"summary\": \"s\"},"
    /* 5: not an object: skipped */
    "\"just a string\","
    /* 6: non-numeric confidence: skipped */
    "{\"content\": \"bad confidence\", \"confidence\": \"high\"},"
    /* 7: numeric string confidence, clamp below, index out of range */
    "{\"content\": \"low\", \"confidence\": \"-0.5\", \"episode_index\": 5},"
    /* 8: index not an integer */
    "{\"content\": \"float index\", \"episode_index\": 1.0, \"confidence\": \" 0.25 \"},"
    /* 9: index true = 1; array summary */
    "{\"content\": \"bool index\", \"episode_index\": true, \"summary\": [\"a\", \"b\"]},"
    /* 10: numeric content and summary */
    "{\"content\": 42, \"summary\": 7},"
    /* 11: falsy summary, object content */
    "{\"content\": {\"a\": 1, \"b\": [true, null, \"x\"]}, \"summary\": false},"
    /* 12: null confidence: skipped */
    "{\"content\": \"null confidence\", \"confidence\": null},"
    /* 13: string index */
    "{\"content\": \"string index\", \"episode_index\": \"1\", \"kind\": \"procedure\"}"
    "]}";

static void test_llm_parse_items(void **state)
{
    struct arena *a = arena_new();
    struct episode eps[2];
    struct memory *m;
    size_t n;

    (void)state;
    n = compile_canned(a, rich_reply, eps, &m);
    assert_int_equal(n, 9);

    assert_string_equal(m[0].kind, "profile_fact");
    assert_string_equal(m[0].content, "User is on the Pro plan");
    assert_string_equal(m[0].summary, "Pro plan");
    assert_true(m[0].confidence == 0.95);
    assert_non_null(strstr(m[0].source_episode_ids, eps[1].id));
    assert_true(m[0].valid_from == eps[1].created_at);

    assert_string_equal(m[1].kind, "episode_summary");
    assert_string_equal(m[1].content, "step one\nstep two");
    assert_string_equal(m[1].summary, "step one\nstep two");
    assert_true(m[1].confidence == 0.7);
    assert_non_null(strstr(m[1].source_episode_ids, eps[0].id));

    assert_string_equal(m[2].kind, "episode_summary");
    assert_true(m[2].confidence == 1.0);

    assert_string_equal(m[3].content, "low");
    assert_true(m[3].confidence == 0.0);
    assert_non_null(strstr(m[3].source_episode_ids, eps[0].id));

    assert_string_equal(m[4].content, "float index");
    assert_true(m[4].confidence == 0.25);
    assert_non_null(strstr(m[4].source_episode_ids, eps[0].id));

    assert_string_equal(m[5].content, "bool index");
    assert_string_equal(m[5].summary, "a b");
    assert_non_null(strstr(m[5].source_episode_ids, eps[1].id));

    assert_string_equal(m[6].content, "42");
    assert_string_equal(m[6].summary, "7");

    assert_string_equal(m[7].content, "{'a': 1, 'b': [True, None, 'x']}");
    assert_string_equal(m[7].summary, m[7].content);

    assert_string_equal(m[8].kind, "procedure");
    assert_non_null(strstr(m[8].source_episode_ids, eps[0].id));
    arena_free(a);
}

/* Numbers in a reply as Python's json module reads them: integers of any size, reals beyond
 * the double range (inf, then clamped), 1 vs 1.0 kept apart when rendered as text. Such a
 * reply used to fail to parse (jansson) and fell back to the heuristic compiler. */
static void test_llm_parse_numbers_as_python(void **state)
{
    struct arena *a = arena_new();
    struct episode eps[2];
    struct memory *m;

    (void)state;
    assert_int_equal(compile_canned(a, "{\"memories\": ["
                                       "{\"content\": 123456789012345678901234567890, "
                                       "\"episode_index\": 18446744073709551617, "
                                       "\"confidence\": 1e400},"
                                       "{\"content\": \"tiny\", \"confidence\": 1E-400, "
                                       "\"episode_index\": 1},"
                                       "{\"content\": [1.0, 1E2, -0, 1], \"confidence\": 0}]}",
                                    eps, &m), 3);
    assert_string_equal(m[0].content, "123456789012345678901234567890");
    assert_non_null(strstr(m[0].source_episode_ids, eps[0].id));
    assert_true(m[0].confidence == 1.0);
    assert_string_equal(m[1].content, "tiny");
    assert_true(m[1].confidence == 0.0);
    assert_non_null(strstr(m[1].source_episode_ids, eps[1].id));
    assert_string_equal(m[2].content, "1.0\n100.0\n0\n1");
    arena_free(a);
}

static void test_llm_parse_summary_lengths(void **state)
{
    struct arena *a = arena_new();
    struct buf reply = BUF_INIT, long_text = BUF_INIT;
    struct episode eps[2];
    struct memory *m;
    size_t i;

    (void)state;
    for (i = 0; i < 300; i++)
        buf_puts(&long_text, "\xc3\xa9");   /* 300 code points, 600 bytes */
    buf_printf(&reply, "[{\"content\": \"%s\"}, {\"content\": \"c\", \"summary\": \"%s\"}, "
               "{\"content\": \"c\", \"summary\": [\"%s\"]}, {\"content\": \"%s\", "
               "\"summary\": \"\"}]", long_text.data, long_text.data, long_text.data,
               long_text.data);
    assert_int_equal(compile_canned(a, reply.data, eps, &m), 4);
    assert_int_equal(utf8_count(m[0].summary, strlen(m[0].summary)), 200);   /* content[:200] */
    assert_string_equal(m[1].summary, long_text.data);                        /* not cut */
    assert_int_equal(utf8_count(m[2].summary, strlen(m[2].summary)), 200);   /* array: cut */
    assert_int_equal(utf8_count(m[3].summary, strlen(m[3].summary)), 200);   /* falsy */
    assert_string_equal(m[0].content, long_text.data);
    buf_release(&reply);
    buf_release(&long_text);
    arena_free(a);
}

static void test_llm_memory_fields(void **state)
{
    struct arena *a = arena_new();
    struct episode eps[2];
    struct memory *m;
    char want[64];

    (void)state;
    assert_int_equal(compile_canned(a, "{\"memories\": [{\"kind\": \"profile_fact\", "
                                       "\"content\": \"x\", \"episode_index\": 1}, "
                                       "{\"content\": \"y\"}]}", eps, &m), 2);
    assert_true(uuid_valid(m[0].id));
    assert_string_not_equal(m[0].id, m[1].id);
    assert_string_equal(m[0].subject_id, "subject-1");
    assert_string_equal(m[0].tenant_id, "tenant-a");
    snprintf(want, sizeof(want), "[\"%s\"]", eps[1].id);
    assert_string_equal(m[0].source_episode_ids, want);
    assert_string_equal(m[0].metadata, "{\"compiler\":\"llm\",\"model\":\"gpt-test\"}");
    assert_string_equal(m[0].status, "active");
    assert_string_equal(m[0].sensitivity_labels, "[]");
    assert_true(m[0].valid_from == eps[1].created_at);
    assert_true(m[1].valid_from == eps[0].created_at);
    assert_true(m[0].valid_to == TS_NULL);
    assert_true(m[0].created_at == NOW && m[0].updated_at == NOW);
    assert_null(m[0].embedding);
    arena_free(a);
}

/* ---- failures ---- */

/* compile_llm's memories equal compile_heuristic's over the same episodes (ids aside). */
static void assert_heuristic(struct memory *m, size_t n, const struct episode *eps, size_t neps)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct memory *h;
    size_t nh, i;

    assert_int_equal(compile_heuristic(a, eps, neps, "tenant-a", NOW, &h, &nh, &err), 0);
    assert_int_equal(n, nh);
    for (i = 0; i < n; i++) {
        assert_string_equal(m[i].kind, h[i].kind);
        assert_string_equal(m[i].content, h[i].content);
        assert_string_equal(m[i].summary, h[i].summary);
        assert_true(m[i].confidence == h[i].confidence);
        assert_string_equal(m[i].source_episode_ids, h[i].source_episode_ids);
        assert_string_equal(m[i].metadata, h[i].metadata);
    }
    arena_free(a);
}

static void expect_fallback(fake_answer_fn *answer, const char *reply, int calls)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode eps[2];
    struct memory *m;
    size_t n;

    configure(answer);
    tcfg.llm_timeout = 0.5;
    canned = reply;
    eps[0] = make_episode(a, "user: My name is Alice and I work at Acme Corp.", 0);
    eps[1] = make_episode(a, "user: I prefer Node.js for APIs", 1);
    assert_int_equal(compile_llm(a, eps, 2, "tenant-a", NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), calls);
    assert_int_equal(n, 5);
    assert_heuristic(m, n, eps, 2);
    arena_free(a);
}

static void test_llm_fallback_http_error(void **state)
{
    (void)state;
    expect_fallback(answer_400, NULL, 1);
}

static void test_llm_fallback_bad_json(void **state)
{
    (void)state;
    expect_fallback(answer_canned, "Sure! Here are the memories: {", 1);
    expect_fallback(answer_canned, "", 1);
}

static void test_llm_fallback_no_choices(void **state)
{
    (void)state;
    expect_fallback(answer_no_choices, NULL, 1);
}

static void test_llm_fallback_timeout(void **state)
{
    (void)state;
    expect_fallback(answer_slow, NULL, 1);
}

static void test_llm_retry_then_success(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode ep;
    struct memory *m;
    size_t n;

    (void)state;
    configure(answer_500_then_echo);
    ep = make_episode(a, "r1;retry me", 0);
    assert_int_equal(compile_llm(a, &ep, 1, NULL, NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), 2);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].content, "fact from r1");
    arena_free(a);
}

/* One failing batch among good ones: its episodes go through the heuristic compiler, and the
 * results keep batch order. */
static void test_llm_fallback_one_batch(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode eps[3];
    struct memory *m;
    size_t n;

    (void)state;
    configure(answer_fail_bad);
    tcfg.llm_max_retries = 0;
    eps[0] = make_episode(a, tagged_text(a, "g0", 5000), 0);
    /* g0 and g2 are cut to 4000 characters; with 2100 more, no two episodes share a batch */
    eps[1] = make_episode(a, arena_printf(a, "bad;%s I am on the Enterprise plan.",
                                          tagged_text(a, "pad", 2100)), 1);
    eps[2] = make_episode(a, tagged_text(a, "g2", 5000), 2);
    assert_int_equal(compile_llm(a, eps, 3, "tenant-a", NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), 3);
    assert_int_equal(n, 4);
    assert_string_equal(m[0].content, "fact from g0");
    assert_heuristic(m + 1, 2, eps + 1, 1);
    assert_string_equal(m[3].content, "fact from g2");
    arena_free(a);
}

/* ---- concurrency ---- */

static void test_llm_in_flight_limit(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode eps[10];
    struct memory *m;
    size_t n, i;
    char tag[8];

    (void)state;
    configure(answer_echo_slow);
    for (i = 0; i < 10; i++) {   /* 4000 characters each (once cut): one batch per episode */
        snprintf(tag, sizeof(tag), "t%zu", i);
        eps[i] = make_episode(a, tagged_text(a, tag, 5000), (int)i);
    }
    assert_int_equal(compile_llm(a, eps, 10, NULL, NOW, &m, &n, &err), 0);
    assert_int_equal(fake_calls(), 10);
    print_message("peak calls in flight: %d\n", fk.peak);
    assert_true(fk.peak >= 2 && fk.peak <= 4);
    assert_int_equal(n, 10);
    for (i = 0; i < 10; i++) {   /* batch order, whatever order the answers came in */
        snprintf(tag, sizeof(tag), "t%zu", i);
        assert_string_equal(m[i].content + strlen("fact from "), tag);
        assert_non_null(strstr(m[i].source_episode_ids, eps[i].id));
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_url),
        cmocka_unit_test(test_llm_post_retries),
        cmocka_unit_test(test_llm_chat_content),
        cmocka_unit_test(test_llm_request_bytes),
        cmocka_unit_test(test_llm_embed_bytes_and_numbers),
        cmocka_unit_test(test_llm_parse_numbers_as_python),
        cmocka_unit_test(test_llm_batching),
        cmocka_unit_test(test_llm_batch_limits),
        cmocka_unit_test(test_llm_parse_envelopes),
        cmocka_unit_test(test_llm_parse_items),
        cmocka_unit_test(test_llm_parse_summary_lengths),
        cmocka_unit_test(test_llm_memory_fields),
        cmocka_unit_test(test_llm_fallback_http_error),
        cmocka_unit_test(test_llm_fallback_bad_json),
        cmocka_unit_test(test_llm_fallback_no_choices),
        cmocka_unit_test(test_llm_fallback_timeout),
        cmocka_unit_test(test_llm_retry_then_success),
        cmocka_unit_test(test_llm_fallback_one_batch),
        cmocka_unit_test(test_llm_in_flight_limit),
    };

    /* The fake server is on loopback: no proxy may stand in between. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    return cmocka_run_group_tests(tests, setup, teardown);
}
