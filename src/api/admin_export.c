/* admin_export.c - GET /admin/export/{subject_id} (a streamed export document) and
 * POST /admin/import (spec/backup-snapshots.md §1, §3; spec/api.md §6.1, §6.2). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/validate.h"
#include "service/backup.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/xalloc.h"

#define EXPORT_CHUNK (64 * 1024)   /* bytes produced per stream callback, roughly */

/* ---- export ---- */

/* One streamed export: it owns a connection of its own, because the read transaction stays
 * open between stream callbacks while this worker thread serves other connections, and
 * those use the thread's connection (store_thread()) with transactions of their own. */
struct export_stream {
    store *st;
    struct backup_export *x;
    char request_id[REQUEST_ID_MAX + 1];
};

static store *open_own_connection(struct err *err)
{
    char *conninfo = NULL;
    const struct store_ops *ops = store_backend_for(cfg->database_url, &conninfo, err);
    store *st = NULL;

    if (ops && store_open(ops, conninfo, &st, err) < 0)
        st = NULL;
    free(conninfo);
    return st;
}

static int export_fill(void *ctx, struct buf *out)
{
    struct export_stream *es = ctx;
    struct err err = ERR_INIT;
    int rc = 1;

    while (rc == 1 && out->len < EXPORT_CHUNK)
        rc = backup_export_next(es->x, out, &err);
    if (rc < 0) {
        struct backup_export_stats s;

        backup_export_stats(es->x, &s);
        log_write(LOG_ERROR, "request %s: export aborted after %lld records: %s",
                  es->request_id, (long long)s.written, err.msg);
    }
    err_release(&err);
    return rc;
}

static void export_free(void *ctx)
{
    struct export_stream *es = ctx;

    backup_export_free(es->x);
    store_close(es->st);
    free(es);
}

/* The tenant scope: the tenant_id query, else every tenant, as the reference does. /admin is
 * cross-tenant under the one API key (spec/api.md §1.5, §6; README "Admin and tenants"): the
 * tenant header confines no admin endpoint, so it is ignored here too. */
static int export_scope(struct req *req, struct backup_export_opts *o)
{
    const char *query = req_query(req, "tenant_id");

    if (query && !*query)
        query = NULL;   /* "?tenant_id=" is no filter, as an empty header is no tenant */
    o->tenant = query;
    o->tenant_echo = query;
    return 0;
}

/* GET /admin/export/{subject_id}: the 404 is decided before the first byte; then the
 * document streams, hashed as it goes, and ends with its checksum. */
int api_admin_export(struct req *req)
{
    struct backup_export_opts o;
    struct export_stream *es;
    struct backup_export *x;
    struct vctx v;
    store *st;

    v_init(&v);
    o.subject = v_path_string(&v, req, 0, "subject_id", 1, 0);
    if (v_finish(&v, &req->err) < 0 || export_scope(req, &o) < 0)
        return -1;
    st = open_own_connection(&req->err);
    if (!st)
        return -1;
    if (backup_export_begin(st, &o, &x, &req->err) < 0) {
        store_close(st);
        return -1;
    }
    es = xcalloc(1, sizeof(*es));
    es->st = st;
    es->x = x;
    memcpy(es->request_id, req->request_id, sizeof(es->request_id));
    if (http_reply_stream(req, 200, "application/json", export_fill, export_free, es) < 0)
        return err_set(&req->err, ERR_INTERNAL, "cannot queue the export");
    return 0;
}

/* ---- import ---- */

struct import_in {
    const struct jv *document;
    struct backup_import_opts opts;
};

/* application/json, any application/...+json, or none (spec/api.md §1.1). */
static int json_content_type(const char *ct)
{
    const char *semi;
    size_t n;

    if (!ct)
        return 1;
    semi = strchr(ct, ';');
    n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
        return 1;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* A body that is not JSON: 422 json_invalid, except a lone surrogate or \u0000 escape inside
 * the document, which §2.4 answers with 400 naming the field. */
static int body_not_json(struct req *req, size_t pos, const char *msg)
{
    json_t *loc = v_loc("body", NULL), *ctx = json_object(), *empty = json_object();
    struct vctx v;

    if (msg && strcmp(msg, "invalid unicode") == 0) {
        struct buf path = BUF_INIT;
        int inside = 0;

        backup_json_path(req->body.data, req->body.len, pos, "document", &inside, &path);
        if (inside) {
            err_set(&req->err, ERR_INVALID, "Invalid document: %s: invalid unicode",
                    path.len ? path.data : "document");
            buf_release(&path);
            json_decref(loc);
            json_decref(ctx);
            json_decref(empty);
            return -1;
        }
        buf_release(&path);
    }
    v_init(&v);
    json_array_append_new(loc, json_integer((json_int_t)pos));
    json_object_set_new(ctx, "error", json_string(msg ? msg : "invalid JSON"));
    v_add(&v, "json_invalid", loc, "JSON decode error", empty, ctx);
    json_decref(empty);
    return v_finish(&v, &req->err);
}

/* A jansson copy of one top-level field for the shared validators. A value jansson cannot
 * hold (1e400) becomes 2.5: wrong for every field here, as the original is. */
static json_t *shadow_value(const struct jv *v)
{
    json_t *j = jv_to_jansson(v);

    return j ? j : json_real(2.5);
}

/* The body's small fields as jansson, with the document replaced by an empty object (it
 * may be 50 MB and is never needed in jansson form). */
static json_t *shadow_body(const struct jv *root)
{
    static const char *const keys[] = { "target_subject_id", "target_tenant_id",
                                        "preserve_ids" };
    const struct jv *doc = jv_object_get(root, "document");
    json_t *o = json_object();
    size_t i;

    if (doc)
        json_object_set_new(o, "document", jv_type(doc) == JV_OBJECT ? json_object()
                                                                    : shadow_value(doc));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct jv *v = jv_object_get(root, keys[i]);

        if (v)
            json_object_set_new(o, keys[i], shadow_value(v));
    }
    return o;
}

/* A validated nullable string field: its value, or NULL when missing or null. */
static const char *optional_string(const struct jv *root, const char *key)
{
    const struct jv *v = jv_object_get(root, key);

    return v && jv_type(v) == JV_STRING ? jv_string(v, NULL) : NULL;
}

static int validate_fields(struct req *req, const struct jv *root, struct import_in *in)
{
    json_t *shadow = shadow_body(root), *raw;
    struct vctx v;
    int ret;

    v_init(&v);
    v_object(&v, shadow, v_loc("body", "document"), 1);
    v_string(&v, shadow, v_loc("body", "target_subject_id"), 0, 0, BACKUP_ID_MAX_CHARS, 1,
             NULL);
    v_string(&v, shadow, v_loc("body", "target_tenant_id"), 0, 0, BACKUP_ID_MAX_CHARS, 1,
             NULL);
    in->opts.preserve_ids = 1;
    raw = json_object_get(shadow, "preserve_ids");
    if (raw)
        v_bool_value(&v, raw, v_loc("body", "preserve_ids"), &in->opts.preserve_ids);
    ret = v_finish(&v, &req->err);
    json_decref(shadow);
    if (ret < 0)
        return -1;
    in->document = jv_object_get(root, "document");
    in->opts.target_subject = optional_string(root, "target_subject_id");
    in->opts.target_tenant = optional_string(root, "target_tenant_id");
    return 0;
}

/* The body is parsed once with jv (big integers and 1 vs 1.0 survive: they change the
 * checksum). api_body_object() is not used: it also builds a jansson copy of the whole body,
 * which for an import is the whole document. */
static int parse_import_body(struct req *req, struct import_in *in)
{
    const char *msg = NULL;
    struct jv *root;
    size_t pos = 0;
    struct vctx v;

    v_init(&v);
    if (!json_content_type(req_header(req, "Content-Type")) || req->body.len == 0) {
        v_add(&v, "missing", v_loc("body", NULL), "Field required", NULL, NULL);
        return v_finish(&v, &req->err);
    }
    root = jv_parse(req->arena, req->body.data, req->body.len, &pos, &msg);
    if (!root)
        return body_not_json(req, pos, msg);
    if (jv_type(root) != JV_OBJECT) {
        json_t *input = shadow_value(root);

        v_add(&v, "model_attributes_type", v_loc("body", NULL),
              "Input should be a valid dictionary or object to extract fields from", input,
              NULL);
        json_decref(input);
        return v_finish(&v, &req->err);
    }
    return validate_fields(req, root, in);
}

static json_t *import_result_json(const struct backup_import_result *res)
{
    json_t *o = json_object();

    json_object_set_new(o, "subject_id", json_string(res->subject_id));
    json_object_set_new(o, "tenant_id", res->tenant_id ? json_string(res->tenant_id)
                                                       : json_null());
    json_object_set_new(o, "episodes_imported", json_integer(res->episodes_imported));
    json_object_set_new(o, "memories_imported", json_integer(res->memories_imported));
    json_object_set_new(o, "ids_preserved", json_boolean(res->ids_preserved));
    return o;
}

/* POST /admin/import: size cap, body, then every §3.2 check and one transaction. */
int api_admin_import(struct req *req)
{
    struct backup_import_result res;
    struct import_in in;
    store *st;

    if (backup_import_check_size(req->body.len, &req->err) < 0 ||
        parse_import_body(req, &in) < 0)
        return -1;
    /* The parsed tree holds copies of everything: give the raw text back before the
     * transaction (up to STATEWAVE_MEMORY_IMPORT_MAX_BYTES) instead of holding both. */
    buf_release(&req->body);
    st = store_thread(&req->err);
    if (!st || backup_import(req->arena, st, in.document, &in.opts, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, import_result_json(&res));
}
