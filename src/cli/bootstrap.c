/* bootstrap.c - `engram snapshot bootstrap FILE` (spec/backup-snapshots.md §5.3): each persona
 * of the file becomes a snapshot, built by ingesting its episodes into a scratch subject,
 * compiling them and snapshotting the result; a (name, version) that exists is skipped. */
#include "cli/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/snapshot.h"
#include "service/compile.h"
#include "service/compiler.h"
#include "service/embed.h"
#include "service/snapshots.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/uuid.h"

#define PERSONAS_MAX_BYTES (16u * 1024 * 1024)
#define EPISODE_SPACING_US INT64_C(60000000) /* bootstrap episodes lie a minute apart */

static int read_file(const char *path, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0) {
        fprintf(stderr, "engram: snapshot bootstrap: cannot open '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    rc = cli_read_all(fd, PERSONAS_MAX_BYTES, b);
    if (rc != 0)
        fprintf(stderr, "engram: snapshot bootstrap: cannot read '%s': %s\n", path,
                rc < 0 ? strerror(errno) : "file too large");
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* The compact text of member key of o, or def when absent. */
static const char *member_json(struct arena *a, const struct jv *o, const char *key,
                               const char *def)
{
    const struct jv *v = jv_object_get(o, key);
    struct buf b = BUF_INIT;
    const char *copy;

    if (!v)
        return def;
    jv_write_compact(&b, v);
    copy = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return copy;
}

/* 1 if v is present and of type t (the jv accessors need a value). */
static int is_type(const struct jv *v, enum jv_type t)
{
    return v && jv_type(v) == t;
}

/* A string member's value; NULL when absent or not a string. */
static const char *string_member(const struct jv *o, const char *key)
{
    const struct jv *v = jv_object_get(o, key);

    return is_type(v, JV_STRING) ? jv_string(v, NULL) : NULL;
}

/* An object member that must be an object when present. */
static int object_or_absent(const struct jv *o, const char *key)
{
    const struct jv *v = jv_object_get(o, key);

    return !v || jv_type(v) == JV_OBJECT;
}

/* One episode body of a persona into ep (subject and tenant set by the caller). */
static int parse_episode(struct arena *a, const struct jv *o, struct episode *ep, struct buf *why)
{
    const struct jv *session;

    memset(ep, 0, sizeof(*ep));
    if (!is_type(o, JV_OBJECT)) {
        buf_puts(why, "an episode must be an object");
        return -1;
    }
    session = jv_object_get(o, "session_id");
    ep->source = string_member(o, "source");
    ep->type = string_member(o, "type");
    if (!ep->source || !*ep->source || !ep->type || !*ep->type ||
        !is_type(jv_object_get(o, "payload"), JV_OBJECT) || !object_or_absent(o, "metadata") ||
        !object_or_absent(o, "provenance") ||
        (session && !is_type(session, JV_NULL) && !is_type(session, JV_STRING))) {
        buf_puts(why, "needs source and type (non-empty strings), payload (an object), and "
                      "optional metadata/provenance objects and session_id string");
        return -1;
    }
    ep->payload = member_json(a, o, "payload", "{}");
    ep->metadata = member_json(a, o, "metadata", "{}");
    ep->provenance = member_json(a, o, "provenance", "{}");
    ep->session_id = is_type(session, JV_STRING) ? jv_string(session, NULL) : NULL;
    ep->last_compiled_at = TS_NULL;
    ep->occurred_at = TS_NULL;
    return 0;
}

/* A persona as the file gives it. */
struct persona {
    const char *name;
    int64_t version;
    const char *metadata; /* compact JSON object text, NULL = {} */
    struct episode *episodes;
    size_t nepisodes;
};

static int parse_persona(struct arena *a, const struct jv *o, struct persona *p, struct buf *why)
{
    const struct jv *version, *eps;
    size_t i;

    memset(p, 0, sizeof(*p));
    if (!is_type(o, JV_OBJECT))
        return buf_puts(why, "a persona must be an object"), -1;
    version = jv_object_get(o, "version");
    eps = jv_object_get(o, "episodes");
    p->name = string_member(o, "name");
    p->version = 1;
    if (!p->name)
        return buf_puts(why, "\"name\" must be a string"), -1;
    if (version && jv_int64(version, &p->version) < 0)
        return buf_puts(why, "\"version\" must be an integer"), -1;
    if (!snapshot_name_valid(p->name) || !snapshot_version_valid(p->version))
        return buf_puts(why, "Invalid snapshot name or version"), -1;
    if (!object_or_absent(o, "metadata"))
        return buf_puts(why, "\"metadata\" must be an object"), -1;
    p->metadata = member_json(a, o, "metadata", NULL);
    if (!is_type(eps, JV_ARRAY) || jv_array_size(eps) == 0)
        return buf_puts(why, "\"episodes\" must be a non-empty list"), -1;
    p->nepisodes = jv_array_size(eps);
    p->episodes = arena_calloc(a, p->nepisodes, sizeof(*p->episodes));
    for (i = 0; i < p->nepisodes; i++) {
        if (parse_episode(a, jv_array_get(eps, i), &p->episodes[i], why) < 0) {
            buf_printf(why, " (episode %zu)", i);
            return -1;
        }
    }
    return 0;
}

/* Ingest the persona's episodes into the scratch subject in one transaction, a minute apart
 * and ending now, as a conversation would have left them. */
static int ingest(store *st, struct persona *p, const char *scratch, struct err *err)
{
    int64_t now = ts_now();
    size_t i;

    for (i = 0; i < p->nepisodes; i++) {
        struct episode *ep = &p->episodes[i];

        uuid_v4(ep->id);
        ep->subject_id = scratch;
        ep->tenant_id = NULL;
        ep->created_at = now - (int64_t)(p->nepisodes - 1 - i) * EPISODE_SPACING_US;
    }
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (store_episode_insert_many(st, p->episodes, p->nepisodes, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

/* Compile every episode of the scratch subject (more than one batch if need be). */
static int compile_all(struct arena *a, store *st, const char *scratch, struct err *err)
{
    struct compile_result res;

    do {
        if (compile_subject(a, st, NULL, scratch, 0, &res, err) < 0)
            return -1;
    } while (res.episodes_compiled == COMPILE_BATCH_MAX);
    return 0;
}

static void drop_scratch(store *st, const char *scratch)
{
    struct row_counts gone;
    struct err err = ERR_INIT;

    if (store_tx_begin(st, &err) == 0) {
        if (store_subject_delete(st, &(struct store_scope){ .subject = scratch }, &gone,
                                 &err) == 0 &&
            store_tx_commit(st, &err) == 0) {
            err_release(&err);
            return;
        }
        store_tx_rollback(st);
    }
    fprintf(stderr, "engram: snapshot bootstrap: cannot delete scratch subject '%s': %s\n", scratch,
            err.msg);
    err_release(&err);
}

static void report(const struct persona *p, const struct snapshot_create_result *res)
{
    printf("%s %s v%lld: %lld episodes, %lld memories (id %s)\n",
           res->created ? "created" : "exists", p->name, (long long)p->version,
           (long long)res->snap.episode_count, (long long)res->snap.memory_count, res->snap.id);
}

/* The scratch subject is an ordinary subject id: compile_subject refuses reserved ones. */
static int build_snapshot(struct arena *a, store *st, struct persona *p, struct err *err)
{
    struct snapshot_create_in in;
    struct snapshot_create_result res;
    char hex[9];
    const char *scratch;
    int ret = -1;

    random_hex(hex, 8);
    scratch = arena_printf(a, "bootstrap-%s-%s", p->name, hex);
    if (ingest(st, p, scratch, err) < 0)
        return -1;
    memset(&in, 0, sizeof(in));
    in.name = p->name;
    in.version = p->version;
    in.source_subject = scratch;
    in.source_all_tenants = 0;
    in.source_tenant = NULL;
    in.metadata = p->metadata;
    if (compile_all(a, st, scratch, err) == 0 && snapshots_create(a, st, &in, &res, err) == 0) {
        report(p, &res);
        ret = 0;
    }
    drop_scratch(st, scratch);
    return ret;
}

/* One persona: skipped when (name, version) exists, else built. */
static int bootstrap_one(struct arena *a, store *st, const struct jv *o, size_t index)
{
    struct snapshot_create_result res;
    struct err err = ERR_INIT;
    struct buf why = BUF_INIT;
    struct persona p;
    struct snapshot *found = NULL;
    int ret = -1;

    if (parse_persona(a, o, &p, &why) < 0) {
        fprintf(stderr, "engram: snapshot bootstrap: persona %zu%s%s: %s\n", index,
                p.name ? " " : "", p.name ? p.name : "", why.data);
        buf_release(&why);
        return -1;
    }
    buf_release(&why);
    if (store_snapshot_find(st, a, p.name, p.version, &found, &err) == 0 && found) {
        memset(&res, 0, sizeof(res));
        res.snap = *found;
        report(&p, &res);
        ret = 0;
    } else if (err.kind == ERR_NONE && build_snapshot(a, st, &p, &err) == 0) {
        ret = 0;
    }
    if (ret < 0)
        fprintf(stderr, "engram: snapshot bootstrap: persona %s v%lld failed: %s\n", p.name,
                (long long)p.version, err.msg);
    fflush(stdout);
    err_release(&err);
    return ret;
}

static int bootstrap_all(store *st, const char *file, const struct buf *text)
{
    struct arena *a = arena_new();
    const char *msg = NULL;
    struct jv *list;
    size_t pos = 0, i;
    int failed = 0;

    list = jv_parse(a, text->data, text->len, &pos, &msg);
    if (!list || jv_type(list) != JV_ARRAY) {
        fprintf(stderr, "engram: snapshot bootstrap: '%s' is not a JSON array of personas%s%s\n",
                file, msg ? ": " : "", msg ? msg : "");
        arena_free(a);
        return 1;
    }
    for (i = 0; i < jv_array_size(list); i++) {
        if (bootstrap_one(a, st, jv_array_get(list, i), i) < 0)
            failed++;
    }
    arena_free(a);
    return failed ? 1 : 0;
}

int cmd_snapshot_bootstrap(int argc, char **argv)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    int ret = 1;
    store *st;

    if (argc != 4 || argv[3][0] == '-')
        return cli_usage_error(cmd_snapshot_usage, "snapshot bootstrap takes one FILE");
    if (read_file(argv[3], &text) < 0) {
        buf_release(&text);
        return 1;
    }
    st = cli_setup_store(&err);
    if (st && compiler_setup(&err) == 0) {
        if (embed_setup(&err) == 0) {
            ret = bootstrap_all(st, argv[3], &text);
            embed_shutdown();
        } else {
            fprintf(stderr, "engram: snapshot bootstrap: %s\n", err.msg);
        }
        compiler_shutdown();
    } else if (st) {
        fprintf(stderr, "engram: snapshot bootstrap: %s\n", err.msg);
    }
    if (st)
        cli_teardown();
    buf_release(&text);
    err_release(&err);
    return ret;
}
