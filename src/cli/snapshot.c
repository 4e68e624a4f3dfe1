/* snapshot.c - `engram snapshot create|list|restore` and `engram cleanup`
 * (spec/backup-snapshots.md §5.3, §7; `snapshot bootstrap` is in bootstrap.c): argument
 * parsing and output; the work is done by service/snapshots.c and service/cleanup.c on the
 * database named by STATEWAVE_DATABASE_URL, exactly as the admin endpoints do it, and the
 * JSON printed is theirs. */
#include "cli/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/bootstrap.h"
#include "cli/cli.h"
#include "service/cleanup.h"
#include "service/snapshots.h"
#include "store/store.h"
#include "util/jv.h"
#include "util/ts.h"

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

/* ---- arguments, output ---- */

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
    return cli_usage_error(cmd_snapshot_usage, what);
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
        if (cli_is_option(argc, argv, &i, "--name", &v))
            c->in.name = v;
        else if (cli_is_option(argc, argv, &i, "--source", &v))
            c->in.source_subject = v;
        else if (cli_is_option(argc, argv, &i, "--version", &v))
            version = v;
        else if (cli_is_option(argc, argv, &i, "--metadata", &v))
            c->metadata = v;
        else if (cli_is_option(argc, argv, &i, "--source-tenant", &v))
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
    st = cli_setup_store(&err);
    if (st) {
        if (snapshots_create(a, st, &c.in, &res, &err) < 0) {
            fprintf(stderr, "engram: snapshot create failed: %s\n", err.msg);
        } else {
            print_json(api_snapshot_create_json(a, &res));
            ret = 0;
        }
        cli_teardown();
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
    st = cli_setup_store(&err);
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
    cli_teardown();
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
        if (cli_is_option(argc, argv, &i, "--id", &v))
            raw_id = v;
        else if (cli_is_option(argc, argv, &i, "--name", &v))
            in->name = v;
        else if (cli_is_option(argc, argv, &i, "--version", &v))
            version = v;
        else if (cli_is_option(argc, argv, &i, "--target", &v))
            in->target_subject = v;
        else if (cli_is_option(argc, argv, &i, "--target-tenant", &v))
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
    st = cli_setup_store(&err);
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
    cli_teardown();
    err_release(&err);
    return ret;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : NULL;

    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
        strcmp(sub, "help") == 0 || cli_wants_help(argc, argv, 3)) {
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
        return cmd_snapshot_bootstrap(argc, argv);
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
        if (cli_is_option(argc, argv, &i, "--prefix", &v)) {
            in->prefix = v;
        } else if (cli_is_option(argc, argv, &i, "--max-age-hours", &v)) {
            if (v && parse_int(v, 0, INT64_MAX, &in->max_age_hours) < 0)
                return -1;
        } else if (cli_is_option(argc, argv, &i, "--tenant", &v)) {
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
    st = cli_setup_store(&err);
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
    cli_teardown();
    err_release(&err);
    return ret;
}
