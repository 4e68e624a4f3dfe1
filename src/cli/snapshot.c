/* snapshot.c - `engram snapshot create|list|restore|bootstrap` and `engram cleanup`
 * (spec/backup-snapshots.md §5.3, §7): argument parsing and output; the work is done by
 * service/snapshots.c and service/cleanup.c on the database named by STATEWAVE_DATABASE_URL,
 * exactly as the admin endpoints do it, and the JSON printed is theirs. */
#include "cli/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "service/cleanup.h"
#include "service/compile.h"
#include "service/compiler.h"
#include "service/embed.h"
#include "service/snapshots.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jsonw.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"

#define PERSONAS_MAX_BYTES (16u * 1024 * 1024)
#define EPISODE_SPACING_US INT64_C(60000000)   /* bootstrap episodes lie a minute apart */

extern char **environ;

const char cmd_snapshot_usage[] =
    "usage: engram snapshot create --name N --source S [--version V] [--metadata JSON]\n"
    "                              [--source-tenant T]\n"
    "       engram snapshot list\n"
    "       engram snapshot restore (--id ID | --name N [--version V]) --target S\n"
    "                               [--target-tenant T]\n"
    "       engram snapshot bootstrap FILE\n"
    "\n"
    "Subject snapshots, straight on STATEWAVE_DATABASE_URL (no server needed, not gated by\n"
    "STATEWAVE_ENABLE_SNAPSHOTS). Each command prints the JSON of the matching endpoint.\n"
    "\n"
    "  create     copy subject S into the hidden subject _snapshot/N/vV (V defaults to 1);\n"
    "             N matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}. An existing (N, V) is left\n"
    "             as it is and reported as \"exists\" (exit 0). --source-tenant T copies\n"
    "             only tenant T's rows (default: every tenant). --metadata is a JSON object.\n"
    "  list       every snapshot, by name then version\n"
    "  restore    copy a snapshot into the new subject S (tenant T, default none): fresh\n"
    "             ids, timestamps shifted so the newest episode lands on now. --name without\n"
    "             --version takes the highest version. Refused when S already has data.\n"
    "  bootstrap  create one snapshot per persona of FILE, a JSON array of\n"
    "             {\"name\", \"version\"?, \"metadata\"?, \"episodes\": [episode bodies as for\n"
    "             POST /v1/episodes, without subject_id]}: each persona is ingested into a\n"
    "             scratch subject, compiled, snapshotted, and the scratch subject deleted.\n"
    "             Personas whose (name, version) exists are skipped: safe to re-run.\n"
    "             Prints one line per persona.\n"
    "\n"
    "Exits 1 when the command fails, 2 on a usage error.\n";

const char cmd_cleanup_usage[] =
    "usage: engram cleanup [--prefix P] [--max-age-hours H] [--tenant T] [--dry-run]\n"
    "\n"
    "Delete the episodes, memories, resolutions and health rows of every subject whose id\n"
    "starts with P (a literal prefix, default live_) and whose newest episode (or, without\n"
    "episodes, newest memory update) is more than H hours old (default 24; 0 = everything\n"
    "older than now), in one transaction, straight on STATEWAVE_DATABASE_URL. Snapshot\n"
    "data (_snapshot/...) is never touched. Prints {\"subjects_cleaned\": n}.\n"
    "\n"
    "  --tenant T   only subjects of tenant T (default: every tenant)\n"
    "  --dry-run    delete nothing; list the subjects that would go (at most 1000)\n"
    "\n"
    "Exits 1 when the cleanup fails, 2 on a usage error.\n";

static struct config config;

/* ---- set-up, arguments, output ---- */

/* Configuration, the store, and the schema, as `engram serve` would have them. */
static store *setup(struct err *err)
{
    struct migrate_result mr;
    store *st;

    if (config_load(&config, environ, ".env", err) < 0) {
        fprintf(stderr, "engram: configuration error: %s\n", err->msg);
        return NULL;
    }
    cfg = &config;
    log_setup((enum log_level)config.log_level, config.debug);
    if (store_setup(config.database_url, err) < 0) {
        fprintf(stderr, "engram: configuration error: STATEWAVE_DATABASE_URL: %s\n", err->msg);
        config_release(&config);
        return NULL;
    }
    st = store_thread(err);
    if (!st || store_migrate(st, &mr, err) < 0) {
        fprintf(stderr, "engram: cannot open the database: %s\n", err->msg);
        store_shutdown();
        config_release(&config);
        return NULL;
    }
    return st;
}

static void teardown(void)
{
    store_shutdown();
    config_release(&config);
}

/* Whether argv[*i] is option name (`--opt V` or `--opt=V`). When it is, *value is its value
 * (*i moves past it), or NULL when the value is missing; otherwise *value is untouched. */
static int is_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (strcmp(argv[*i], name) != 0)
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static int wants_help(int argc, char **argv, int from)
{
    int i;

    for (i = from; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* A whole decimal integer in [min, max]. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long x;

    if (!s || !*s)
        return -1;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || *end || x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int usage_error(const char *what)
{
    fprintf(stderr, "engram: %s\n\n%s", what, cmd_snapshot_usage);
    return 2;
}

/* Print a response body on one line. */
static void print_json(const struct jv *o)
{
    struct buf b = BUF_INIT;

    jv_write_compact(&b, o);
    printf("%s\n", b.data);
    buf_release(&b);
}

/* A lowercase copy of a canonical UUID into out, or -1. */
static int lower_uuid(const char *s, char out[UUID_STR_LEN])
{
    size_t i;

    if (!uuid_valid(s))
        return -1;
    for (i = 0; i < UUID_STR_LEN; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    return 0;
}

/* ---- snapshot create ---- */

struct create_args {
    struct snapshot_create_in in;
    const char *metadata;   /* as given */
};

static int parse_create(int argc, char **argv, struct create_args *c)
{
    const char *v, *version = NULL;
    int i;

    memset(c, 0, sizeof(*c));
    c->in.source_all_tenants = 1;
    for (i = 3; i < argc; i++) {
        v = argv[i];
        if (is_option(argc, argv, &i, "--name", &v))
            c->in.name = v;
        else if (is_option(argc, argv, &i, "--source", &v))
            c->in.source_subject = v;
        else if (is_option(argc, argv, &i, "--version", &v))
            version = v;
        else if (is_option(argc, argv, &i, "--metadata", &v))
            c->metadata = v;
        else if (is_option(argc, argv, &i, "--source-tenant", &v))
            c->in.source_tenant = v;
        else
            return usage_error("snapshot create: unexpected argument");
        if (!v)
            return usage_error("snapshot create: an option lacks its value");
    }
    if (!c->in.name || !c->in.source_subject)
        return usage_error("snapshot create: --name and --source are required");
    c->in.version = 1;
    if (version && parse_int(version, INT64_MIN, INT64_MAX, &c->in.version) < 0)
        return usage_error("snapshot create: --version must be an integer");
    c->in.source_all_tenants = c->in.source_tenant == NULL;
    return 0;
}

/* --metadata: a JSON object, stored in its compact form (numbers as written). */
static int metadata_text(struct arena *a, const char *json, const char **out)
{
    struct buf b = BUF_INIT;
    const char *msg = NULL;
    struct jv *v;

    *out = NULL;
    if (!json)
        return 0;
    v = jv_parse(a, json, strlen(json), NULL, &msg);
    if (!v || jv_type(v) != JV_OBJECT) {
        fprintf(stderr, "engram: snapshot create: --metadata must be a JSON object%s%s\n",
                msg ? ": " : "", msg ? msg : "");
        return -1;
    }
    jv_write_compact(&b, v);
    *out = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return 0;
}

static int snapshot_create_cmd(int argc, char **argv)
{
    struct snapshot_create_result res;
    struct create_args c;
    struct err err = ERR_INIT;
    struct arena *a;
    int ret = 1, rc;
    store *st;

    rc = parse_create(argc, argv, &c);
    if (rc)
        return rc;
    a = arena_new();
    if (metadata_text(a, c.metadata, &c.in.metadata) < 0) {
        arena_free(a);
        return 2;
    }
    st = setup(&err);
    if (st) {
        if (snapshots_create(a, st, &c.in, &res, &err) < 0) {
            fprintf(stderr, "engram: snapshot create failed: %s\n", err.msg);
        } else {
            print_json(api_snapshot_create_json(a, &res));
            ret = 0;
        }
        teardown();
    }
    err_release(&err);
    arena_free(a);
    return ret;
}

/* ---- snapshot list ---- */

static int snapshot_list_cmd(int argc, char **argv)
{
    struct err err = ERR_INIT;
    struct snapshot *snaps = NULL;
    struct arena *a;
    size_t n = 0;
    int ret = 1;
    store *st;

    (void)argv;
    if (argc > 3)
        return usage_error("snapshot list takes no arguments");
    st = setup(&err);
    if (!st) {
        err_release(&err);
        return 1;
    }
    a = arena_new();
    if (snapshots_list(a, st, &snaps, &n, &err) < 0) {
        fprintf(stderr, "engram: snapshot list failed: %s\n", err.msg);
    } else {
        print_json(api_snapshot_list_json(a, snaps, n));
        ret = 0;
    }
    arena_free(a);
    teardown();
    err_release(&err);
    return ret;
}

/* ---- snapshot restore ---- */

static int parse_restore(int argc, char **argv, struct snapshot_restore_in *in,
                         char id[UUID_STR_LEN])
{
    const char *v, *raw_id = NULL, *version = NULL;
    int i;

    memset(in, 0, sizeof(*in));
    for (i = 3; i < argc; i++) {
        v = argv[i];
        if (is_option(argc, argv, &i, "--id", &v))
            raw_id = v;
        else if (is_option(argc, argv, &i, "--name", &v))
            in->name = v;
        else if (is_option(argc, argv, &i, "--version", &v))
            version = v;
        else if (is_option(argc, argv, &i, "--target", &v))
            in->target_subject = v;
        else if (is_option(argc, argv, &i, "--target-tenant", &v))
            in->target_tenant = v;
        else
            return usage_error("snapshot restore: unexpected argument");
        if (!v)
            return usage_error("snapshot restore: an option lacks its value");
    }
    if ((raw_id != NULL) == (in->name != NULL) || !in->target_subject)
        return usage_error("snapshot restore: give --id or --name, and --target");
    if (version && raw_id)
        return usage_error("snapshot restore: --version goes with --name");
    if (raw_id && lower_uuid(raw_id, id) < 0)
        return usage_error("snapshot restore: --id must be a UUID");
    in->id = raw_id ? id : NULL;
    in->has_version = version != NULL;
    if (version && parse_int(version, INT64_MIN, INT64_MAX, &in->version) < 0)
        return usage_error("snapshot restore: --version must be an integer");
    return 0;
}

static int snapshot_restore_cmd(int argc, char **argv)
{
    struct snapshot_restore_result res;
    struct snapshot_restore_in in;
    struct err err = ERR_INIT;
    char id[UUID_STR_LEN];
    struct arena *a;
    int ret = 1, rc;
    store *st;

    rc = parse_restore(argc, argv, &in, id);
    if (rc)
        return rc;
    st = setup(&err);
    if (!st) {
        err_release(&err);
        return 1;
    }
    a = arena_new();
    if (snapshots_restore(a, st, &in, &res, &err) < 0) {
        fprintf(stderr, "engram: snapshot restore failed: %s\n", err.msg);
    } else {
        print_json(api_snapshot_restore_json(a, &res));
        ret = 0;
    }
    arena_free(a);
    teardown();
    err_release(&err);
    return ret;
}

/* ---- snapshot bootstrap ---- */

static int read_file(const char *path, struct buf *b)
{
    char chunk[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr, "engram: snapshot bootstrap: cannot open '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || b->len + (size_t)n > PERSONAS_MAX_BYTES) {
            if (n != 0)
                fprintf(stderr, "engram: snapshot bootstrap: cannot read '%s': %s\n", path,
                        n < 0 ? strerror(errno) : "file too large");
            close(fd);
            return n == 0 ? 0 : -1;
        }
        buf_append(b, chunk, (size_t)n);
    }
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
static int parse_episode(struct arena *a, const struct jv *o, struct episode *ep,
                         struct buf *why)
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
    return 0;
}

/* A persona as the file gives it. */
struct persona {
    const char *name;
    int64_t version;
    const char *metadata;        /* compact JSON object text, NULL = {} */
    struct episode *episodes;
    size_t nepisodes;
};

static int parse_persona(struct arena *a, const struct jv *o, struct persona *p,
                         struct buf *why)
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
    struct copy_counts gone;
    struct err err = ERR_INIT;

    if (store_tx_begin(st, &err) == 0) {
        if (store_subject_purge(st, NULL, scratch, &gone, &err) == 0 &&
            store_tx_commit(st, &err) == 0) {
            err_release(&err);
            return;
        }
        store_tx_rollback(st);
    }
    fprintf(stderr, "engram: snapshot bootstrap: cannot delete scratch subject '%s': %s\n",
            scratch, err.msg);
    err_release(&err);
}

static void report(const struct persona *p, const struct snapshot_create_result *res)
{
    printf("%s %s v%lld: %lld episodes, %lld memories (id %s)\n",
           res->created ? "created" : "exists", p->name, (long long)p->version,
           (long long)res->snap.episode_count, (long long)res->snap.memory_count,
           res->snap.id);
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

static int snapshot_bootstrap_cmd(int argc, char **argv)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    int ret = 1;
    store *st;

    if (argc != 4 || argv[3][0] == '-')
        return usage_error("snapshot bootstrap takes one FILE");
    if (read_file(argv[3], &text) < 0) {
        buf_release(&text);
        return 1;
    }
    st = setup(&err);
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
        teardown();
    buf_release(&text);
    err_release(&err);
    return ret;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : NULL;

    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
        strcmp(sub, "help") == 0 || wants_help(argc, argv, 3)) {
        fputs(cmd_snapshot_usage, sub ? stdout : stderr);
        return sub ? 0 : 2;
    }
    if (strcmp(sub, "create") == 0)
        return snapshot_create_cmd(argc, argv);
    if (strcmp(sub, "list") == 0)
        return snapshot_list_cmd(argc, argv);
    if (strcmp(sub, "restore") == 0)
        return snapshot_restore_cmd(argc, argv);
    if (strcmp(sub, "bootstrap") == 0)
        return snapshot_bootstrap_cmd(argc, argv);
    return usage_error("snapshot: unknown command");
}

/* ---- cleanup ---- */

static int parse_cleanup(int argc, char **argv, struct cleanup_in *in)
{
    const char *v;
    int i;

    memset(in, 0, sizeof(*in));
    in->prefix = CLEANUP_DEFAULT_PREFIX;
    in->max_age_hours = CLEANUP_DEFAULT_MAX_AGE_HOURS;
    in->all_tenants = 1;
    for (i = 2; i < argc; i++) {
        v = argv[i];
        if (is_option(argc, argv, &i, "--prefix", &v)) {
            in->prefix = v;
        } else if (is_option(argc, argv, &i, "--max-age-hours", &v)) {
            if (v && parse_int(v, 0, INT64_MAX, &in->max_age_hours) < 0)
                return -1;
        } else if (is_option(argc, argv, &i, "--tenant", &v)) {
            in->tenant = v;
            in->all_tenants = 0;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            in->dry_run = 1;
        } else {
            return -1;
        }
        if (!v)
            return -1;   /* an option without its value */
    }
    return 0;
}

int cmd_cleanup(int argc, char **argv)
{
    struct cleanup_result res;
    struct err err = ERR_INIT;
    struct cleanup_in in;
    struct arena *a;
    int ret = 1;
    store *st;

    if (parse_cleanup(argc, argv, &in) < 0) {
        fputs(cmd_cleanup_usage, stderr);
        return 2;
    }
    st = setup(&err);
    if (!st) {
        err_release(&err);
        return 1;
    }
    a = arena_new();
    if (cleanup_run(a, st, &in, ts_now(), &res, &err) < 0) {
        fprintf(stderr, "engram: cleanup failed: %s\n", err.msg);
    } else {
        print_json(api_cleanup_json(a, &res, in.dry_run));
        ret = 0;
    }
    arena_free(a);
    teardown();
    err_release(&err);
    return ret;
}
