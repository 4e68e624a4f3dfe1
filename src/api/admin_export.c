/* admin_export.c - GET /admin/export/{subject_id} (a streamed export document) and
 * POST /admin/import (spec/backup-snapshots.md §1, §3; spec/api.md §6.1, §6.2). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/validate.h"
#include "service/backup.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/xalloc.h"

#define EXPORT_CHUNK (64 * 1024)   /* bytes produced per stream callback, roughly */

/* ---- export ---- */

/* One streamed export: it runs on a connection of its own (backup_export_begin_own), because
 * the read transaction stays open between stream callbacks while this worker thread serves
 * other connections. */
struct export_stream {
    struct backup_export *x;
    char request_id[REQUEST_ID_MAX + 1];
};

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
    free(es);
}

/* The tenant scope: the tenant_id query, else every tenant, as the reference does. /admin is
 * cross-tenant under the one API key (spec/api.md §1.5, §6; README "Admin and tenants"): the
 * tenant header confines no admin endpoint, so it is ignored here too. */
static int export_scope(struct req *req, struct backup_export_opts *o)
{
    /* "?tenant_id=" is no filter, as an empty header is no tenant */
    const char *query = req_query_filter(req, "tenant_id");

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

    v_init(&v, req->arena);
    o.subject = v_path_string(&v, req, 0, "subject_id", (struct v_str){ .min = 1 });
    if (v_finish(&v, &req->err) < 0 || export_scope(req, &o) < 0 ||
        backup_export_begin_own(&o, &x, &req->err) < 0)
        return -1;
    es = xcalloc(1, sizeof(*es));
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

/* A body that is not JSON: 422 json_invalid, except a lone surrogate or \u0000 escape inside
 * the document, which §2.4 answers with 400 naming the field. */
static int body_not_json(struct req *req, size_t pos, const char *msg)
{
    struct vctx v;

    if (msg && strcmp(msg, "invalid unicode") == 0) {
        struct buf path = BUF_INIT;
        int inside = 0;

        backup_json_path(req->body.data, req->body.len, pos, "document", &inside, &path);
        if (inside) {
            err_set(&req->err, ERR_INVALID, "Invalid document: %s: invalid unicode",
                    path.len ? path.data : "document");
            buf_release(&path);
            return -1;
        }
        buf_release(&path);
    }
    v_init(&v, req->arena);
    return v_json_invalid(&v, pos, msg, &req->err);
}

/* The small fields are validated on the parsed body; the document (up to
 * STATEWAVE_MEMORY_IMPORT_MAX_BYTES) is only checked to be an object here. */
static int validate_fields(struct req *req, const struct jv *root, struct import_in *in)
{
    const struct v_str id_rule = { .flags = V_NULLABLE, .max = BACKUP_ID_MAX_CHARS };
    const struct jv *raw;
    struct vctx v;

    v_init(&v, req->arena);
    in->document = v_object(&v, root, v_loc(&v, "body", "document"), V_REQUIRED);
    in->opts.target_subject = v_string(&v, root, v_loc(&v, "body", "target_subject_id"), id_rule);
    in->opts.target_tenant = v_string(&v, root, v_loc(&v, "body", "target_tenant_id"), id_rule);
    in->opts.preserve_ids = 1;
    raw = jv_object_get(root, "preserve_ids");
    if (raw)
        v_bool_value(&v, raw, v_loc(&v, "body", "preserve_ids"), &in->opts.preserve_ids);
    return v_finish(&v, &req->err);
}

/* The body is parsed once with jv (big integers and 1 vs 1.0 survive: they change the
 * checksum). api_body_object() is not used: the document may hold numbers beyond the double
 * range, which the checksum keeps, and a bad escape inside it is a 400 (§2.4). */
static int parse_import_body(struct req *req, struct import_in *in)
{
    const char *msg = NULL;
    struct jv *root;
    size_t pos = 0;
    struct vctx v;

    v_init(&v, req->arena);
    if (!api_json_content_type(req_header(req, "Content-Type")) || req->body.len == 0) {
        v_add(&v, "missing", v_loc(&v, "body", NULL), "Field required", NULL, NULL);
        return v_finish(&v, &req->err);
    }
    root = jv_parse_bounded(req->arena, req->body.data, req->body.len,
                            jv_parse_budget(req->body.len), &pos, &msg);
    if (!root && msg == jv_msg_over_budget)
        return api_body_over_budget(req, &req->err);
    if (!root)
        return body_not_json(req, pos, msg);
    if (jv_type(root) != JV_OBJECT) {
        v_add(&v, "model_attributes_type", v_loc(&v, "body", NULL),
              "Input should be a valid dictionary or object to extract fields from", root,
              NULL);
        return v_finish(&v, &req->err);
    }
    return validate_fields(req, root, in);
}

static struct jv *import_result_json(struct arena *a, const struct backup_import_result *res)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "subject_id", jv_str(a, res->subject_id));
    jv_object_set(a, o, "tenant_id", res->tenant_id ? jv_str(a, res->tenant_id) : jv_null());
    jv_object_set(a, o, "episodes_imported", jv_int(a, res->episodes_imported));
    jv_object_set(a, o, "memories_imported", jv_int(a, res->memories_imported));
    jv_object_set(a, o, "ids_preserved", jv_bool(a, res->ids_preserved));
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
    return http_reply_json(req, 200, import_result_json(req->arena, &res));
}
