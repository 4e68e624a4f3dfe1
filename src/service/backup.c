/* backup.c - subject export: records in §1.3 key order, the streaming document writer and
 * the incremental checksum of §2 (spec/backup-snapshots.md). The import is backup_import.c. */
#include "service/backup.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* ---- the checksum ---- */

static void md_start(struct backup_checksum *c)
{
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
        BUG("cannot start a SHA-256 digest");
    buf_init(&c->scratch);
    c->list = 0;
    c->count = 0;
}

static void md_update(struct backup_checksum *c, const void *p, size_t n)
{
    if (EVP_DigestUpdate(c->md, p, n) != 1)
        BUG("EVP_DigestUpdate failed");
}

static void md_finish(struct backup_checksum *c, char hex[BACKUP_CHECKSUM_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    if (EVP_DigestFinal_ex(c->md, md, &len) != 1 || len != 32)
        BUG("EVP_DigestFinal_ex failed");
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * len] = '\0';
    c->list = 2;
}

void backup_checksum_init(struct backup_checksum *c)
{
    md_start(c);
    md_update(c, "{\"episodes\": [", 14);
}

int backup_checksum_add(struct backup_checksum *c, const struct jv *v)
{
    buf_reset(&c->scratch);
    if (c->count++)
        buf_append(&c->scratch, ", ", 2);
    if (jv_write_canonical(&c->scratch, v) < 0)
        return -1;
    md_update(c, c->scratch.data, c->scratch.len);
    return 0;
}

void backup_checksum_next_list(struct backup_checksum *c)
{
    md_update(c, "], \"memories\": [", 16);
    c->list = 1;
    c->count = 0;
}

void backup_checksum_final(struct backup_checksum *c, char hex[BACKUP_CHECKSUM_HEX])
{
    md_update(c, "]}", 2);
    md_finish(c, hex);
}

void backup_checksum_release(struct backup_checksum *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    buf_release(&c->scratch);
}

/* Hash one list as an importer finds it: an array element by element (a large list is never
 * serialised whole), a missing one (NULL) as [], any other value as its canonical text. */
static int checksum_list(struct backup_checksum *c, const struct jv *list)
{
    size_t i, n = list ? jv_array_size(list) : 0;

    if (list && jv_type(list) != JV_ARRAY) {
        buf_reset(&c->scratch);
        if (jv_write_canonical(&c->scratch, list) < 0)
            return -1;
        md_update(c, c->scratch.data, c->scratch.len);
        return 0;
    }
    md_update(c, "[", 1);
    c->count = 0;
    for (i = 0; i < n; i++) {
        if (backup_checksum_add(c, jv_array_get(list, i)) < 0)
            return -1;
    }
    md_update(c, "]", 1);
    return 0;
}

int backup_checksum_of(const struct jv *episodes, const struct jv *memories,
                       char hex[BACKUP_CHECKSUM_HEX])
{
    struct backup_checksum c;
    int ret = -1;

    md_start(&c);
    md_update(&c, "{\"episodes\": ", 13);
    if (checksum_list(&c, episodes) < 0)
        goto cleanup;
    md_update(&c, ", \"memories\": ", 14);
    if (checksum_list(&c, memories) < 0)
        goto cleanup;
    md_update(&c, "}", 1);
    md_finish(&c, hex);
    ret = 0;
cleanup:
    backup_checksum_release(&c);
    return ret;
}

/* ---- export records ---- */

static struct jv *str_or_null(struct arena *a, const char *s)
{
    return s ? jv_str(a, s) : jv_null();
}

/* An offset-form timestamp (§0), or null for TS_NULL. */
static struct jv *ts_value(struct arena *a, int64_t us)
{
    char text[TS_STR_LEN];

    if (us == TS_NULL)
        return jv_null();
    ts_format_offset(us, text, sizeof(text));
    return jv_str(a, text);
}

/* A stored JSON column, parsed so that number tokens survive; dflt stands in for NULL. */
static struct jv *stored_json(struct arena *a, const char *text, const char *dflt,
                              const char *what, const char *id, struct err *err)
{
    const char *msg = NULL;
    size_t pos = 0;
    struct jv *v;

    if (!text)
        text = dflt;
    v = jv_parse(a, text, strlen(text), &pos, &msg);
    if (!v) {
        log_write(LOG_ERROR, "export: stored %s of '%s' is not valid JSON: %s at byte %zu",
                  what, id, msg ? msg : "?", pos);
        err_set(err, ERR_INTERNAL, "stored JSON is invalid");
    }
    return v;
}

struct jv *backup_episode_record(struct arena *a, const struct episode *ep, struct err *err)
{
    struct jv *r, *payload, *metadata, *provenance;

    payload = stored_json(a, ep->payload, "{}", "payload", ep->id, err);
    metadata = stored_json(a, ep->metadata, "{}", "metadata", ep->id, err);
    provenance = stored_json(a, ep->provenance, "{}", "provenance", ep->id, err);
    if (!payload || !metadata || !provenance)
        return NULL;
    r = jv_object(a);
    jv_object_set(a, r, "id", jv_str(a, ep->id));
    jv_object_set(a, r, "subject_id", jv_str(a, ep->subject_id));
    jv_object_set(a, r, "tenant_id", str_or_null(a, ep->tenant_id));
    if (ep->session_id)   /* ENG only, and only when set (§1.3) */
        jv_object_set(a, r, "session_id", jv_str(a, ep->session_id));
    jv_object_set(a, r, "source", jv_str(a, ep->source));
    jv_object_set(a, r, "type", jv_str(a, ep->type));
    jv_object_set(a, r, "payload", payload);
    jv_object_set(a, r, "metadata", metadata);
    jv_object_set(a, r, "provenance", provenance);
    jv_object_set(a, r, "created_at", ts_value(a, ep->created_at));
    jv_object_set(a, r, "last_compiled_at", ts_value(a, ep->last_compiled_at));
    if (ep->occurred_at != TS_NULL)   /* ENG only, and only when set (§1.3) */
        jv_object_set(a, r, "occurred_at", ts_value(a, ep->occurred_at));
    return r;
}

/* The stored float32 vector, each element widened to double (§1.3), or null. */
static struct jv *embedding_value(struct arena *a, const float *vec, size_t dim)
{
    struct jv *arr;
    size_t i;

    if (!vec || dim == 0)
        return jv_null();
    arr = jv_array(a);
    for (i = 0; i < dim; i++)
        jv_array_append(a, arr, jv_real(a, (double)vec[i]));
    return arr;
}

struct jv *backup_memory_record(struct arena *a, const struct memory *m, struct err *err)
{
    struct jv *r, *sources, *metadata, *labels;

    sources = stored_json(a, m->source_episode_ids, "[]", "source_episode_ids", m->id, err);
    metadata = stored_json(a, m->metadata, "{}", "metadata", m->id, err);
    labels = stored_json(a, m->sensitivity_labels, "[]", "sensitivity_labels", m->id, err);
    if (!sources || !metadata || !labels)
        return NULL;
    r = jv_object(a);
    jv_object_set(a, r, "id", jv_str(a, m->id));
    jv_object_set(a, r, "subject_id", jv_str(a, m->subject_id));
    jv_object_set(a, r, "tenant_id", str_or_null(a, m->tenant_id));
    jv_object_set(a, r, "kind", jv_str(a, m->kind));
    jv_object_set(a, r, "content", jv_str(a, m->content));
    jv_object_set(a, r, "summary", jv_str(a, m->summary ? m->summary : ""));
    jv_object_set(a, r, "confidence", jv_real(a, m->confidence));   /* always a float */
    jv_object_set(a, r, "valid_from", ts_value(a, m->valid_from));
    jv_object_set(a, r, "valid_to", ts_value(a, m->valid_to));
    jv_object_set(a, r, "source_episode_ids", sources);
    jv_object_set(a, r, "metadata", metadata);
    jv_object_set(a, r, "status", jv_str(a, m->status));
    if (!(jv_type(labels) == JV_ARRAY && jv_array_size(labels) == 0))   /* ENG, non-empty */
        jv_object_set(a, r, "sensitivity_labels", labels);
    jv_object_set(a, r, "embedding", embedding_value(a, m->embedding, m->embedding_dim));
    jv_object_set(a, r, "created_at", ts_value(a, m->created_at));
    jv_object_set(a, r, "updated_at", ts_value(a, m->updated_at));
    return r;
}

/* ---- the streaming export ---- */

enum export_phase { X_HEADER, X_EPISODES, X_MEMORIES, X_DONE, X_FAILED };

struct backup_export {
    store *st;                  /* holds our read transaction; borrowed unless own_st */
    int own_st;                 /* st was opened for this export: closed with it */
    int in_tx;                  /* the read transaction is open */
    struct arena *own;          /* copies of the options */
    struct arena *page;         /* the current page of rows */
    struct arena *scratch;      /* one record's jv tree */
    const char *subject;
    const char *tenant;         /* NULL = every tenant */
    const char *tenant_echo;
    int64_t exported_at;
    enum export_phase phase;
    struct backup_checksum sum; /* canonical form of everything written so far */
    struct backup_export_stats stats;
    int64_t list_written;       /* records written to the current list */
    struct episode *eps;        /* the current page (one of the two) */
    struct memory *mems;
    size_t nrows, row;          /* rows in the page, next row to write */
    int more;                   /* the store may have rows after this page */
    int have_key;               /* after_* hold the last row written */
    int64_t after_created;
    char after_id[UUID_STR_LEN];
};

static int not_found(const char *subject, struct err *err)
{
    return err_set(err, ERR_NOT_FOUND, "No data found for subject '%s'", subject);
}

int backup_export_begin(store *st, const struct backup_export_opts *o,
                        struct backup_export **out, struct err *err)
{
    struct backup_export *x;
    struct row_counts counts;

    *out = NULL;
    /* Snapshot data is backed up with the database tools, never by subject export (§1.1). */
    if (store_subject_reserved(o->subject))
        return not_found(o->subject, err);
    if (store_tx_begin_read(st, err) < 0)
        return -1;
    if (store_export_count(st,
                           &(struct store_scope){ .tenant = o->tenant, .subject = o->subject,
                                                  .all_tenants = o->tenant == NULL },
                           &counts, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    if (counts.episodes == 0 && counts.memories == 0) {
        store_tx_rollback(st);
        return not_found(o->subject, err);
    }
    x = xcalloc(1, sizeof(*x));
    x->st = st;
    x->in_tx = 1;
    x->own = arena_new();
    x->page = arena_new();
    x->scratch = arena_new();
    x->subject = arena_strdup(x->own, o->subject);
    x->tenant = o->tenant ? arena_strdup(x->own, o->tenant) : NULL;
    x->tenant_echo = o->tenant_echo ? arena_strdup(x->own, o->tenant_echo) : NULL;
    x->exported_at = ts_now();
    x->phase = X_HEADER;
    x->stats.episodes = counts.episodes;
    x->stats.memories = counts.memories;
    backup_checksum_init(&x->sum);
    *out = x;
    return 0;
}

static void end_read(struct backup_export *x)
{
    if (x->in_tx)
        store_tx_rollback(x->st);   /* nothing was written: rolling back ends it cheapest */
    x->in_tx = 0;
}

static int fail(struct backup_export *x, struct err *err)
{
    x->phase = X_FAILED;
    end_read(x);
    if (err->kind == ERR_NONE)
        err_set(err, ERR_INTERNAL, "export failed");
    return -1;
}

static void write_string(struct arena *a, struct buf *out, const char *s)
{
    jv_write_compact(out, s ? jv_str(a, s) : jv_null());
}

/* `{"format_version":…,"counts":{…},"episodes":[` */
static void write_header(struct backup_export *x, struct buf *out)
{
    char ts[TS_STR_LEN];

    ts_format_offset(x->exported_at, ts, sizeof(ts));
    buf_puts(out, "{\"format_version\":\"" BACKUP_FORMAT_VERSION "\",\"exported_at\":\"");
    buf_puts(out, ts);
    buf_puts(out, "\",\"subject_id\":");
    write_string(x->scratch, out, x->subject);
    buf_puts(out, ",\"tenant_id\":");
    write_string(x->scratch, out, x->tenant_echo);
    buf_printf(out, ",\"counts\":{\"episodes\":%lld,\"memories\":%lld},\"episodes\":[",
               (long long)x->stats.episodes, (long long)x->stats.memories);
    arena_reset(x->scratch);
}

/* Read the next page of the current list after the last row written (keyset paging on
 * (created_at, id), the order of §1.2). */
static int fetch_page(struct backup_export *x, struct err *err)
{
    const struct store_scope sc = { .tenant = x->tenant, .subject = x->subject,
                                    .all_tenants = x->tenant == NULL };
    const struct store_cursor cur = { .after_created = x->after_created,
                                      .after_id = x->have_key ? x->after_id : NULL,
                                      .limit = BACKUP_PAGE_ROWS };
    struct episode_rows eps = { NULL, 0 };
    struct memory_rows mems = { NULL, 0 };
    int rc;

    arena_reset(x->page);
    x->row = x->nrows = 0;
    if (x->phase == X_EPISODES)
        rc = store_export_episodes(x->st, x->page, &sc, &cur, &eps, err);
    else
        rc = store_export_memories(x->st, x->page, &sc, &cur, &mems, err);
    if (rc < 0)
        return -1;
    x->eps = eps.items;
    x->mems = mems.items;
    x->nrows = x->phase == X_EPISODES ? eps.n : mems.n;
    x->more = x->nrows == BACKUP_PAGE_ROWS;
    if (x->nrows > 0) {
        const char *id = x->phase == X_EPISODES ? x->eps[x->nrows - 1].id
                                                : x->mems[x->nrows - 1].id;

        x->after_created = x->phase == X_EPISODES ? x->eps[x->nrows - 1].created_at
                                                  : x->mems[x->nrows - 1].created_at;
        memcpy(x->after_id, id, UUID_STR_LEN);
        x->after_id[UUID_STR_LEN - 1] = '\0';
        x->have_key = 1;
    }
    return 0;
}

static int write_record(struct backup_export *x, struct buf *out, struct err *err)
{
    struct jv *rec;

    arena_reset(x->scratch);
    rec = x->phase == X_EPISODES ? backup_episode_record(x->scratch, &x->eps[x->row], err)
                                 : backup_memory_record(x->scratch, &x->mems[x->row], err);
    if (!rec)
        return -1;
    if (x->list_written++)
        buf_putc(out, ',');
    jv_write_compact(out, rec);
    if (backup_checksum_add(&x->sum, rec) < 0)
        return err_set(err, ERR_INTERNAL, "canonical form failed");
    x->row++;
    x->stats.written++;
    return 0;
}

/* The current list is exhausted: check it against the count taken at the start (the read
 * transaction makes them equal; anything else is a bug worth an aborted document), then
 * open the memories or end the document. Returns 1 while more follows, 0 at the end. */
static int end_list(struct backup_export *x, struct buf *out, struct err *err)
{
    char hex[BACKUP_CHECKSUM_HEX];
    int64_t want = x->phase == X_EPISODES ? x->stats.episodes : x->stats.memories;

    if (x->list_written != want) {
        log_write(LOG_ERROR, "export of '%s': %lld %s written, %lld counted", x->subject,
                  (long long)x->list_written, x->phase == X_EPISODES ? "episodes" : "memories",
                  (long long)want);
        return err_set(err, ERR_INTERNAL, "export changed while reading");
    }
    x->list_written = 0;
    x->have_key = 0;
    x->more = 1;
    x->row = x->nrows = 0;
    if (x->phase == X_EPISODES) {
        buf_puts(out, "],\"memories\":[");
        backup_checksum_next_list(&x->sum);
        x->phase = X_MEMORIES;
        return 1;
    }
    backup_checksum_final(&x->sum, hex);
    buf_printf(out, "],\"checksum\":\"%s\"}", hex);
    end_read(x);
    x->phase = X_DONE;
    return 0;
}

static int step(struct backup_export *x, struct buf *out, struct err *err)
{
    switch (x->phase) {
    case X_HEADER:
        write_header(x, out);
        x->phase = X_EPISODES;
        x->more = 1;
        return 1;
    case X_EPISODES:
    case X_MEMORIES:
        if (x->row == x->nrows && x->more && fetch_page(x, err) < 0)
            return -1;
        if (x->row == x->nrows)
            return end_list(x, out, err);
        return write_record(x, out, err) < 0 ? -1 : 1;
    case X_DONE:
        return 0;
    case X_FAILED:
        return err_set(err, ERR_INTERNAL, "export failed");
    }
    BUG("backup export: bad phase");
}

int backup_export_next(struct backup_export *x, struct buf *out, struct err *err)
{
    size_t before = out->len;
    int rc = step(x, out, err);

    x->stats.bytes += out->len - before;
    return rc < 0 ? fail(x, err) : rc;
}

void backup_export_stats(const struct backup_export *x, struct backup_export_stats *s)
{
    *s = x->stats;
}

int backup_export_begin_own(const struct backup_export_opts *o, struct backup_export **out,
                            struct err *err)
{
    char *conninfo = NULL;
    const struct store_ops *ops = store_backend_for(cfg->database_url, &conninfo, err);
    store *st = NULL;
    int rc = -1;

    *out = NULL;
    if (ops && store_open(ops, conninfo, &st, err) == 0)
        rc = backup_export_begin(st, o, out, err);
    free(conninfo);
    if (rc < 0) {
        store_close(st);
        return -1;
    }
    (*out)->own_st = 1;
    return 0;
}

void backup_export_free(struct backup_export *x)
{
    if (!x)
        return;
    end_read(x);
    if (x->own_st)
        store_close(x->st);
    backup_checksum_release(&x->sum);
    arena_free(x->scratch);
    arena_free(x->page);
    arena_free(x->own);
    free(x);
}

/* ---- locating a parse error ---- */

struct path_frame {
    int is_object;
    const char *key;     /* object: the current member's key (raw text), NULL before one */
    size_t key_len;
    size_t index;        /* array: the current element */
};

/* The end of the string starting at text[i] == '"': the index of its closing quote, or n. */
static size_t string_end(const char *text, size_t n, size_t i)
{
    for (i++; i < n && text[i] != '"'; i++) {
        if (text[i] == '\\')
            i++;
    }
    return i < n ? i : n;
}

static void path_write(const struct path_frame *st, size_t depth, const char *skip_first,
                       int *inside_first, struct buf *out)
{
    size_t d = 0;

    if (inside_first)
        *inside_first = !skip_first;
    if (skip_first && depth > 0 && st[0].is_object && st[0].key &&
        st[0].key_len == strlen(skip_first) && memcmp(st[0].key, skip_first,
                                                      st[0].key_len) == 0) {
        if (inside_first)
            *inside_first = 1;
        d = 1;
    }
    for (; d < depth; d++) {
        if (!st[d].is_object) {
            buf_printf(out, "[%zu]", st[d].index);
        } else if (st[d].key) {
            if (out->len)
                buf_putc(out, '.');
            buf_append(out, st[d].key, st[d].key_len);
        }
    }
}

void backup_json_path(const char *text, size_t n, size_t pos, const char *skip_first,
                      int *inside_first, struct buf *out)
{
    struct path_frame *st = NULL;
    size_t depth = 0, cap = 0, i = 0;

    while (i < n && i <= pos) {
        char c = text[i];

        if (c == '"') {
            size_t end = string_end(text, n, i);
            struct path_frame *top = depth ? &st[depth - 1] : NULL;

            if (top && top->is_object && !top->key) {   /* a key, or the bad one itself */
                top->key = text + i + 1;
                top->key_len = (end < pos ? end : pos) - i - 1;
            }
            if (end >= pos)
                break;
            i = end + 1;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == cap) {
                cap = cap ? cap * 2 : 16;
                st = xrealloc(st, cap * sizeof(*st));
            }
            st[depth].is_object = c == '{';
            st[depth].key = NULL;
            st[depth].key_len = 0;
            st[depth].index = 0;
            depth++;
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        } else if (c == ',' && depth) {
            st[depth - 1].index++;
            st[depth - 1].key = NULL;
        }
        i++;
    }
    path_write(st, depth, skip_first, inside_first, out);
    free(st);
}
