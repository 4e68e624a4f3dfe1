/* receipts.c - context receipts (spec/api.md §5.4): the receipt of a context answer, stored
 * with one insert as the JSON it is signed as; get, list, verify, and replay as of the
 * receipt's instant (the as_of machinery of §11) with the diff against the original. */
#include "service/receipts.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/ulid.h"
#include "util/xalloc.h"

#define CANONICALIZATION_VERSION "engram-context-v1"
#define SNAPSHOT_FORMAT 1   /* engram_context: in a policy snapshot's bundle_yaml */

/* Lower-case hex SHA-256 of n bytes (arena). */
static const char *sha256_hex(struct arena *a, const void *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex = arena_alloc(a, 65);

    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        BUG("SHA-256 failed");
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

static struct jv *str_or_null(struct arena *a, const char *s)
{
    return s ? jv_str(a, s) : jv_null();
}

static struct jv *ts_z(struct arena *a, int64_t us)
{
    char text[40];

    if (us == TS_NULL)
        return jv_null();
    ts_format_z(us, text, sizeof(text));
    return jv_str(a, text);
}

/* ---- the receipt body ---- */

/* What one receipt says besides its entries. */
struct receipt_input {
    const char *id;
    const char *mode;                 /* retrieval | as_of_replay */
    const char *tenant;
    const struct context_request *rq;
    const struct context_bundle *b;
    const struct receipt_meta *meta;
    int64_t as_of;
    int64_t now;
};

/* supersession_status of a selected memory: what it was at the instant answered for. */
static const char *supersession(const struct memory *m, const struct context_request *rq)
{
    if (m->status && strcmp(m->status, "deleted") == 0)
        return "tombstoned";
    if (rq->has_as_of || !m->status || strcmp(m->status, "superseded") != 0)
        return "active";
    return "superseded";
}

/* fact_key: the kind and the hash of the lower-cased content, what identifies one fact. */
static const char *fact_key(struct arena *a, const struct memory *m)
{
    const char *c = m->content ? m->content : "";
    char *low = arena_strdup(a, c), *p;
    struct buf b = BUF_INIT;
    const char *key;

    for (p = low; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    buf_printf(&b, "%s:%.16s", m->kind ? m->kind : "", sha256_hex(a, low, strlen(low)));
    key = arena_strdup(a, b.data);
    buf_release(&b);
    return key;
}

static struct jv *memory_entry(struct arena *a, const struct context_item *it, size_t rank,
                               const struct context_request *rq)
{
    const struct memory *m = it->memory;
    const char *src = m->source_episode_ids ? m->source_episode_ids : "[]";
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "type", jv_str(a, "memory"));
    jv_object_set(a, o, "memory_id", jv_str(a, m->id));
    jv_object_set(a, o, "kind", str_or_null(a, m->kind));
    jv_object_set(a, o, "valid_from", ts_z(a, m->valid_from));
    jv_object_set(a, o, "valid_to", ts_z(a, m->valid_to));
    jv_object_set(a, o, "supersession_status", jv_str(a, supersession(m, rq)));
    jv_object_set(a, o, "source_episode_ids", jv_raw(a, src));
    jv_object_set(a, o, "provenance_hash", jv_str(a, sha256_hex(a, src, strlen(src))));
    jv_object_set(a, o, "fact_key", jv_str(a, fact_key(a, m)));
    jv_object_set(a, o, "conflict_status", jv_str(a, "none"));
    jv_object_set(a, o, "rank", jv_int(a, (int64_t)rank));
    jv_object_set(a, o, "score", jv_real(a, it->score));
    return o;
}

static struct jv *episode_entry(struct arena *a, const struct context_item *it, size_t rank)
{
    const struct episode *ep = it->episode;
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "type", jv_str(a, "episode"));
    jv_object_set(a, o, "episode_id", jv_str(a, ep->id));
    jv_object_set(a, o, "source", str_or_null(a, ep->source));
    jv_object_set(a, o, "event_type", str_or_null(a, ep->type));
    jv_object_set(a, o, "occurred_at",
                  ts_z(a, ep->occurred_at != TS_NULL ? ep->occurred_at : ep->created_at));
    jv_object_set(a, o, "rank", jv_int(a, (int64_t)rank));
    jv_object_set(a, o, "score", jv_real(a, it->score));
    return o;
}

/* The included items, highest score first, ranked from 1. */
static struct jv *selected_entries(struct arena *a, const struct context_bundle *b,
                                   const struct context_request *rq)
{
    struct jv *arr = jv_array(a);
    size_t i, rank = 0;

    for (i = 0; i < b->nitems; i++) {
        const struct context_item *it = &b->items[i];

        if (!it->included)
            continue;
        rank++;
        jv_array_append(a, arr, it->memory ? memory_entry(a, it, rank, rq)
                                           : episode_entry(a, it, rank));
    }
    return arr;
}

/* The snapshot of what the retrieval was asked (replay reads it back): one `key: value`
 * line per setting, each value a JSON scalar (also a YAML flow scalar). */
static const char *bundle_yaml(struct arena *a, const struct context_request *rq)
{
    struct buf b = BUF_INIT;
    const char *session = rq->session_id && *rq->session_id ? rq->session_id : NULL;
    const char *out;

    buf_printf(&b, "engram_context: %d\nmax_tokens: %lld\nsession_id: ", SNAPSHOT_FORMAT,
               (long long)rq->budget);
    if (session)
        jv_write_str(&b, session, strlen(session));
    else
        buf_puts(&b, "null");
    buf_putc(&b, '\n');
    out = arena_strdup(a, b.data);
    buf_release(&b);
    return out;
}

static struct jv *empty_array(struct arena *a)
{
    return jv_array(a);
}

/* The receipt as signed: the three signature fields null. */
static const char *receipt_body(struct arena *a, const struct receipt_input *in)
{
    const struct receipt_meta *m = in->meta;
    const char *yaml = bundle_yaml(a, in->rq), *hash = sha256_hex(a, yaml, strlen(yaml));
    const char *text = in->b->text ? in->b->text : "";
    struct jv *o = jv_object(a), *policy = jv_object(a), *output = jv_object(a);
    struct jv *snap = jv_object(a);

    jv_object_set(a, o, "receipt_id", jv_str(a, in->id));
    jv_object_set(a, o, "parent_receipt_id", str_or_null(a, m->parent_receipt_id));
    jv_object_set(a, o, "mode", jv_str(a, in->mode));
    jv_object_set(a, o, "query_id", str_or_null(a, m->query_id));
    jv_object_set(a, o, "task_id", str_or_null(a, m->task_id));
    jv_object_set(a, o, "tenant_id", str_or_null(a, in->tenant));
    jv_object_set(a, o, "subject_id", jv_str(a, in->rq->subject_id));
    jv_object_set(a, o, "task", jv_str(a, in->rq->task));
    jv_object_set(a, o, "as_of", ts_z(a, in->as_of));
    jv_object_set(a, o, "created_at", ts_z(a, in->now));
    jv_object_set(a, o, "caller_id", str_or_null(a, m->caller_id));
    jv_object_set(a, o, "caller_type", str_or_null(a, m->caller_type));
    jv_object_set(a, o, "selected_entries", selected_entries(a, in->b, in->rq));
    jv_object_set(a, policy, "policy_bundle_hash", jv_str(a, hash));
    jv_object_set(a, policy, "filters_applied", empty_array(a));
    jv_object_set(a, policy, "filters_skipped", empty_array(a));
    jv_object_set(a, policy, "mode", jv_str(a, "log_only"));
    jv_object_set(a, o, "policy", policy);
    jv_object_set(a, output, "context_hash", jv_str(a, sha256_hex(a, text, strlen(text))));
    jv_object_set(a, output, "context_size_bytes", jv_int(a, (int64_t)strlen(text)));
    jv_object_set(a, output, "canonicalization_version", jv_str(a, CANONICALIZATION_VERSION));
    jv_object_set(a, output, "token_estimate", jv_int(a, (int64_t)in->b->token_estimate));
    jv_object_set(a, o, "output", output);
    jv_object_set(a, o, "region", jv_null());
    jv_object_set(a, o, "receipt_signature", jv_null());
    jv_object_set(a, o, "receipt_signature_key_id", jv_null());
    jv_object_set(a, o, "receipt_signature_algorithm", jv_null());
    jv_object_set(a, snap, "bundle_hash", jv_str(a, hash));
    jv_object_set(a, snap, "bundle_yaml", jv_str(a, yaml));
    jv_object_set(a, snap, "captured_at", ts_z(a, in->now));
    jv_object_set(a, o, "policy_snapshot", snap);
    return jv_compact_text(a, o);
}

/* Build, sign and insert the receipt of in; its id into id, its body into *body. */
static int emit(struct arena *a, store *st, const struct receipt_input *in, char id[32],
                const char **body, struct err *err)
{
    struct receipt_row row;

    memset(&row, 0, sizeof(row));
    snprintf(row.id, sizeof(row.id), "%s", in->id);
    row.tenant_id = in->tenant;
    row.subject_id = in->rq->subject_id;
    row.mode = in->mode;
    row.created_at = in->now;
    row.body = receipt_body(a, in);
    if (receipts_can_sign()) {
        row.signature = receipts_sign(a, row.body, strlen(row.body));
        row.key_id = receipts_key_id();
        row.algorithm = RECEIPT_ALGORITHM;
    }
    if (store_receipt_insert(st, &row, err) < 0)
        return -1;
    snprintf(id, 32, "%s", in->id);
    *body = row.body;
    return 0;
}

int receipts_emit(struct arena *a, store *st, const char *tenant,
                  const struct context_request *rq, const struct context_bundle *b,
                  const struct receipt_meta *meta, int64_t now, char id[32], struct err *err)
{
    char ulid[ULID_LEN + 1];
    const char *body;
    struct receipt_input in = { .id = ulid, .mode = "retrieval", .tenant = tenant, .rq = rq,
                                .b = b, .meta = meta,
                                .as_of = rq->has_as_of ? rq->as_of : now, .now = now };

    ulid_new(ulid, now);
    return emit(a, st, &in, id, &body, err);
}

/* ---- reading receipts back ---- */

/* The stored receipt as the API shows it: the body with its signature fields filled. */
static struct jv *render_row(struct arena *a, const struct receipt_row *r)
{
    struct jv *o = jv_parse(a, r->body, strlen(r->body), NULL, NULL);

    if (!o || jv_type(o) != JV_OBJECT)
        return NULL;
    jv_object_set(a, o, "receipt_signature", str_or_null(a, r->signature));
    jv_object_set(a, o, "receipt_signature_key_id", str_or_null(a, r->key_id));
    jv_object_set(a, o, "receipt_signature_algorithm", str_or_null(a, r->algorithm));
    return o;
}

static int corrupt(const struct receipt_row *r, struct err *err)
{
    err_set(err, ERR_INTERNAL, "receipt %s: stored body is not a JSON object", r->id);
    return -1;
}

int receipts_get(struct arena *a, store *st, const char *tenant, const char *id,
                 struct jv **out, struct err *err)
{
    struct receipt_row *r;

    *out = NULL;
    if (store_receipt_get(st, a, tenant, id, &r, err) < 0)
        return -1;
    if (r && !(*out = render_row(a, r)))
        return corrupt(r, err);
    return 0;
}

int receipts_list(struct arena *a, store *st, const char *tenant, const char *subject,
                  const struct receipt_query *q, struct jv **out, struct err *err)
{
    struct receipt_query more = *q;
    struct receipt_rows rows;
    struct jv *list = jv_array(a), *o;
    size_t i, n;

    more.limit = q->limit + 1;   /* one more row says whether a next page exists */
    if (store_receipt_list(st, a, &(struct store_scope){ .tenant = tenant, .subject = subject },
                           &more, &rows, err) < 0)
        return -1;
    n = rows.n < q->limit ? rows.n : q->limit;
    for (i = 0; i < n; i++) {
        if (!(o = render_row(a, &rows.items[i])))
            return corrupt(&rows.items[i], err);
        jv_array_append(a, list, o);
    }
    *out = jv_object(a);
    jv_object_set(a, *out, "receipts", list);
    jv_object_set(a, *out, "next_cursor",
                  rows.n > q->limit && n ? jv_str(a, rows.items[n - 1].id) : jv_null());
    return 0;
}

static struct jv *verdict(struct arena *a, int valid, const struct receipt_row *r,
                          const char *reason)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "valid", valid < 0 ? jv_null() : jv_bool(a, valid));
    jv_object_set(a, o, "key_id", str_or_null(a, r->key_id));
    jv_object_set(a, o, "algorithm", str_or_null(a, r->algorithm));
    jv_object_set(a, o, "reason", jv_str(a, reason));
    return o;
}

int receipts_verify(struct arena *a, store *st, const char *tenant, const char *id,
                    struct jv **out, struct err *err)
{
    struct receipt_row *r;

    *out = NULL;
    if (store_receipt_get(st, a, tenant, id, &r, err) < 0)
        return -1;
    if (!r)
        return 0;
    if (!r->signature)
        *out = verdict(a, -1, r, "no_signature");
    else if (!r->algorithm || strcmp(r->algorithm, RECEIPT_ALGORITHM) != 0)
        *out = verdict(a, -1, r, "unsupported_algorithm");
    else if (!receipts_can_sign() || !r->key_id || strcmp(r->key_id, receipts_key_id()) != 0)
        *out = verdict(a, -1, r, "key_unavailable");
    else if (receipts_check(r->body, strlen(r->body), r->signature))
        *out = verdict(a, 1, r, "ok");
    else
        *out = verdict(a, 0, r, "signature_mismatch");
    return 0;
}

/* ---- replay ---- */

static int unreplayable(struct err *err, const char *code, const char *msg)
{
    return err_set_code(err, ERR_VALIDATION, code, "%s", msg);
}

/* Read the snapshot's bundle_yaml back into rq (budget, session); -1 when it is not one. */
static int parse_snapshot(struct arena *a, const char *yaml, struct context_request *rq)
{
    char *text = arena_strdup(a, yaml), *line, *save = NULL;
    int seen = 0;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strstr(line, ": ");
        struct jv *v;
        int64_t n;

        if (!colon)
            return -1;
        *colon = '\0';
        v = jv_parse(a, colon + 2, strlen(colon + 2), NULL, NULL);
        if (!v)
            return -1;
        if (strcmp(line, "engram_context") == 0 && jv_int64(v, &n) == 0 &&
            n == SNAPSHOT_FORMAT) {
            seen |= 1;
        } else if (strcmp(line, "max_tokens") == 0 && jv_int64(v, &n) == 0 && n >= 1 &&
                   n <= CONTEXT_MAX_TOKENS_MAX) {
            rq->budget = n;
            seen |= 2;
        } else if (strcmp(line, "session_id") == 0 &&
                   (jv_type(v) == JV_NULL || jv_type(v) == JV_STRING)) {
            rq->session_id = jv_type(v) == JV_NULL ? NULL : jv_string(v, NULL);
            seen |= 4;
        } else {
            return -1;
        }
    }
    return seen == 7 ? 0 : -1;
}

static const char *member_str(const struct jv *o, const char *key)
{
    const struct jv *v = o ? jv_object_get(o, key) : NULL;

    return v && jv_type(v) == JV_STRING ? jv_string(v, NULL) : NULL;
}

/* The original request of a receipt body, from its fields and its policy snapshot; -1 with
 * the 422 refusal set when it cannot be replayed. */
static int original_request(struct arena *a, const struct jv *body,
                            struct context_request *rq, struct receipt_meta *meta,
                            struct err *err)
{
    const struct jv *snap = jv_object_get(body, "policy_snapshot");
    const char *mode = member_str(body, "mode"), *yaml, *hash, *as_of;

    if (mode && strcmp(mode, "as_of_replay") == 0)
        return unreplayable(err, "unreplayable.nested_replay",
                            "This receipt is itself a replay; replay its parent receipt.");
    if (!snap || jv_type(snap) != JV_OBJECT)
        return unreplayable(err, "unreplayable.missing_policy_snapshot",
                            "This receipt has no policy snapshot to replay with.");
    memset(rq, 0, sizeof(*rq));
    yaml = member_str(snap, "bundle_yaml");
    hash = member_str(snap, "bundle_hash");
    as_of = member_str(body, "as_of");
    rq->subject_id = member_str(body, "subject_id");
    rq->task = member_str(body, "task");
    if (!yaml || !hash || strcmp(hash, sha256_hex(a, yaml, strlen(yaml))) != 0 ||
        parse_snapshot(a, yaml, rq) < 0 || !as_of || ts_parse(as_of, &rq->as_of) < 0 ||
        !rq->subject_id || !rq->task)
        return unreplayable(err, "unreplayable.invalid_snapshot",
                            "This receipt's policy snapshot cannot be read.");
    rq->has_as_of = 1;
    meta->query_id = member_str(body, "query_id");
    meta->task_id = member_str(body, "task_id");
    meta->caller_id = member_str(body, "caller_id");
    meta->caller_type = member_str(body, "caller_type");
    return 0;
}

/* "memory:<id>" / "episode:<id>" of a selected entry. */
static const char *entry_key(struct arena *a, const struct jv *e)
{
    const char *type = member_str(e, "type"), *id;
    struct buf b = BUF_INIT;
    const char *key;

    if (!type)
        return "";
    id = member_str(e, strcmp(type, "memory") == 0 ? "memory_id" : "episode_id");
    buf_printf(&b, "%s:%s", type, id ? id : "");
    key = arena_strdup(a, b.data);
    buf_release(&b);
    return key;
}

static int has_entry(struct arena *a, const struct jv *list, const char *key)
{
    size_t i;

    for (i = 0; i < jv_array_size(list); i++) {
        if (strcmp(entry_key(a, jv_array_get(list, i)), key) == 0)
            return 1;
    }
    return 0;
}

/* The entries of x not in y into out; the count of those in both. */
static size_t entries_minus(struct arena *a, const struct jv *x, const struct jv *y,
                            struct jv *out)
{
    size_t i, common = 0;

    for (i = 0; i < jv_array_size(x); i++) {
        const struct jv *e = jv_array_get(x, i);

        if (has_entry(a, y, entry_key(a, e)))
            common++;
        else
            jv_array_append(a, out, (struct jv *)e);
    }
    return common;
}

static const struct jv *path_get(const struct jv *o, const char *k1, const char *k2)
{
    const struct jv *v = o ? jv_object_get(o, k1) : NULL;

    return v && jv_type(v) == JV_OBJECT ? jv_object_get(v, k2) : NULL;
}

static struct jv *replay_diff(struct arena *a, const struct jv *orig, const struct jv *rep)
{
    const struct jv *e1 = jv_object_get(orig, "selected_entries");
    const struct jv *e2 = jv_object_get(rep, "selected_entries");
    const struct jv *h1 = path_get(orig, "output", "context_hash");
    const struct jv *h2 = path_get(rep, "output", "context_hash");
    const char *s1 = h1 && jv_type(h1) == JV_STRING ? jv_string(h1, NULL) : NULL;
    const char *s2 = h2 && jv_type(h2) == JV_STRING ? jv_string(h2, NULL) : NULL;
    struct jv *diff = jv_object(a), *hash = jv_object(a), *sel = jv_object(a);
    struct jv *added = jv_array(a), *removed = jv_array(a), *filters = jv_object(a);
    size_t common;

    if (!e1 || jv_type(e1) != JV_ARRAY)
        e1 = jv_array(a);
    if (!e2 || jv_type(e2) != JV_ARRAY)
        e2 = jv_array(a);
    jv_object_set(a, hash, "original", str_or_null(a, s1));
    jv_object_set(a, hash, "replay", str_or_null(a, s2));
    jv_object_set(a, hash, "changed", jv_bool(a, !s1 || !s2 || strcmp(s1, s2) != 0));
    common = entries_minus(a, e2, e1, added);
    entries_minus(a, e1, e2, removed);
    jv_object_set(a, sel, "added", added);
    jv_object_set(a, sel, "removed", removed);
    jv_object_set(a, sel, "common", jv_int(a, (int64_t)common));
    jv_object_set(a, filters, "added", jv_array(a));   /* Engram applies no policy filters */
    jv_object_set(a, filters, "removed", jv_array(a));
    jv_object_set(a, diff, "context_hash", hash);
    jv_object_set(a, diff, "selected_entries", sel);
    jv_object_set(a, diff, "filters_applied", filters);
    return diff;
}

int receipts_replay(struct arena *a, store *st, const char *tenant, const char *id,
                    int64_t now, struct jv **out, struct err *err)
{
    struct context_request rq;
    struct receipt_meta meta = { 0 };
    struct context_bundle b;
    struct receipt_row *r;
    const char *body;
    struct jv *orig;
    char ulid[ULID_LEN + 1], rid[32];
    struct receipt_input in;

    *out = NULL;
    if (store_receipt_get(st, a, tenant, id, &r, err) < 0)
        return -1;
    if (!r)
        return 0;
    orig = jv_parse(a, r->body, strlen(r->body), NULL, NULL);
    if (!orig || jv_type(orig) != JV_OBJECT)
        return unreplayable(err, "unreplayable.invalid_snapshot",
                            "This receipt's stored body cannot be read.");
    if (original_request(a, orig, &rq, &meta, err) < 0)
        return -1;
    meta.parent_receipt_id = r->id;
    if (context_assemble(a, st, tenant, &rq, now, &b, err) < 0)
        return -1;
    ulid_new(ulid, now);
    in = (struct receipt_input){ .id = ulid, .mode = "as_of_replay", .tenant = tenant,
                                 .rq = &rq, .b = &b, .meta = &meta, .as_of = rq.as_of,
                                 .now = now };
    if (emit(a, st, &in, rid, &body, err) < 0)
        return -1;
    *out = jv_object(a);
    jv_object_set(a, *out, "original_receipt_id", jv_str(a, r->id));
    jv_object_set(a, *out, "replay_receipt_id", jv_str(a, rid));
    jv_object_set(a, *out, "diff",
                  replay_diff(a, orig, jv_parse(a, body, strlen(body), NULL, NULL)));
    return 0;
}
