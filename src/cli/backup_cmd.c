/* backup_cmd.c - `engram export` and `engram import` (spec/backup-snapshots.md §1, §3):
 * argument parsing, files, progress on a terminal; the documents themselves come from and go
 * to service/backup.c, exactly as over HTTP. */
#include "cli/backup_cmd.h"
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/backup.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"

#define WRITE_CHUNK (256 * 1024)      /* document bytes gathered before each write */
#define PROGRESS_MIN_RECORDS 2000     /* smaller exports finish before a bar is worth it */
#define PROGRESS_EVERY_US 100000      /* redraw at most ten times a second */
#define IMPORT_STATUS_MIN_BYTES (4 * 1024 * 1024)   /* a status line for larger documents */


const char cmd_export_usage[] =
    "usage: engram export SUBJECT [--tenant T] [-o FILE]\n"
    "\n"
    "Write the export document of SUBJECT (format 1.0 with its SHA-256 checksum, the same\n"
    "document as GET /admin/export/SUBJECT) to FILE, or to standard output without -o or\n"
    "with -o -. Reads STATEWAVE_DATABASE_URL directly; no server is needed.\n"
    "\n"
    "  --tenant T    only rows of tenant T (the document's tenant_id is T); without it,\n"
    "                every tenant's rows and tenant_id null\n"
    "  -o FILE       write FILE atomically (a temporary file renamed into place)\n"
    "\n"
    "Exits 1 when the subject has no data, 2 on a usage error.\n";

const char cmd_import_usage[] =
    "usage: engram import FILE [--target-subject S] [--target-tenant T] [--new-ids]\n"
    "\n"
    "Import an export document (FILE, or - for standard input) into STATEWAVE_DATABASE_URL,\n"
    "with the checks and the single transaction of POST /admin/import: nothing is written\n"
    "unless the whole document is valid. Prints the result as JSON. No server is needed.\n"
    "\n"
    "  --target-subject S  import under S instead of the document's subject_id\n"
    "  --target-tenant T   write every row under tenant T (default: the document's\n"
    "                      tenant_id, else each row's own tenant)\n"
    "  --new-ids           fresh ids for every episode and memory (preserve_ids=false);\n"
    "                      memories' source_episode_ids follow their episodes\n"
    "\n"
    "Exits 1 when the document is refused, 2 on a usage error.\n";

static double seconds_since(int64_t start_us)
{
    return (double)(ts_monotonic() - start_us) / 1e6;
}

/* ---- export ---- */

struct export_args {
    const char *subject;
    const char *tenant;   /* NULL = every tenant */
    const char *output;   /* NULL or "-" = standard output */
};

static int parse_export_args(int argc, char **argv, struct export_args *a)
{
    const char *v;
    int i;

    memset(a, 0, sizeof(*a));
    for (i = 2; i < argc; i++) {
        v = argv[i];
        if (cli_is_option(argc, argv, &i, "--tenant", &v))
            a->tenant = v;
        else if (cli_is_option(argc, argv, &i, "-o", &v) ||
                 cli_is_option(argc, argv, &i, "--output", &v))
            a->output = v;
        else if (argv[i][0] == '-' || a->subject)
            return -1;
        else
            a->subject = argv[i];
        if (!v)
            return -1;   /* an option without its value */
    }
    return a->subject && *a->subject ? 0 : -1;
}

/* Where the document goes: standard output, or a temporary file next to the target that is
 * renamed over it only once the document is complete. */
struct sink {
    int fd;
    char *tmp;            /* NULL for standard output */
    const char *path;
};

static int sink_open(struct sink *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->fd = STDOUT_FILENO;
    if (!path || strcmp(path, "-") == 0)
        return 0;
    s->path = path;
    s->tmp = malloc(strlen(path) + 32);
    if (!s->tmp)
        return -1;
    snprintf(s->tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        fprintf(stderr, "engram: export failed: cannot create '%s': %s\n", s->tmp,
                strerror(errno));
        free(s->tmp);
        s->tmp = NULL;
        return -1;
    }
    return 0;
}

static int sink_write(struct sink *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "engram: export failed: cannot write '%s': %s\n",
                    s->tmp ? s->tmp : "standard output", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ok: fsync and rename into place; else remove the temporary file. */
static int sink_close(struct sink *s, int ok)
{
    int ret = ok ? 0 : -1;

    if (!s->tmp)
        return ret;
    if (ok && (fsync(s->fd) < 0 || rename(s->tmp, s->path) < 0)) {
        fprintf(stderr, "engram: export failed: cannot write '%s': %s\n", s->path,
                strerror(errno));
        ret = -1;
    }
    close(s->fd);
    if (ret < 0)
        unlink(s->tmp);
    free(s->tmp);
    s->tmp = NULL;
    return ret;
}

/* A progress bar on stderr, drawn only when stderr is a terminal and the export is large. */
struct progress {
    int on;
    int64_t last_us;
};

static void progress_draw(struct progress *p, const struct backup_export_stats *s, int final)
{
    int64_t total = s->episodes + s->memories, now = ts_monotonic();
    int width = 30, filled;

    if (!p->on || (!final && now - p->last_us < PROGRESS_EVERY_US))
        return;
    p->last_us = now;
    if (final) {
        fputs("\r\033[K", stderr);
        return;
    }
    filled = total ? (int)(s->written * width / total) : width;
    fprintf(stderr, "\rexporting [%.*s%*s] %3d%% %lld/%lld records, %.1f MB", filled,
            "##############################", width - filled, "",
            total ? (int)(s->written * 100 / total) : 100, (long long)s->written,
            (long long)total, (double)s->bytes / 1e6);
}

/* Stream the whole document into the sink, a chunk at a time. */
static int export_to(struct backup_export *x, struct sink *out, struct backup_export_stats *s)
{
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    struct progress p = { 0, 0 };
    int rc = 1;

    backup_export_stats(x, s);
    p.on = isatty(STDERR_FILENO) && s->episodes + s->memories >= PROGRESS_MIN_RECORDS;
    while (rc == 1) {
        rc = backup_export_next(x, &b, &err);
        if (rc >= 0 && (b.len >= WRITE_CHUNK || rc == 0)) {
            if (sink_write(out, b.data, b.len) < 0)
                rc = -2;
            buf_reset(&b);
            backup_export_stats(x, s);
            progress_draw(&p, s, 0);
        }
    }
    progress_draw(&p, s, 1);
    if (rc == -1)
        fprintf(stderr, "engram: export failed: %s\n", err.msg);
    backup_export_stats(x, s);
    buf_release(&b);
    err_release(&err);
    return rc == 0 ? 0 : -1;
}

int cmd_export(int argc, char **argv)
{
    struct backup_export_opts o;
    struct backup_export_stats s;
    struct backup_export *x = NULL;
    struct err err = ERR_INIT;
    struct export_args a;
    struct sink out;
    int64_t start = ts_monotonic();
    int ret = 1;
    store *st;

    if (parse_export_args(argc, argv, &a) < 0) {
        fputs(cmd_export_usage, stderr);
        return 2;
    }
    if (cli_setup() < 0)
        return 1;
    o.subject = a.subject;
    o.tenant = a.tenant;
    o.tenant_echo = a.tenant;
    st = store_thread(&err);
    if (!st || backup_export_begin(st, &o, &x, &err) < 0) {
        fprintf(stderr, "engram: export failed: %s\n", err.msg);
        goto cleanup;
    }
    if (sink_open(&out, a.output) < 0)
        goto cleanup;
    if (sink_close(&out, export_to(x, &out, &s) == 0) < 0)
        goto cleanup;
    fprintf(stderr, "exported %lld episodes, %lld memories (%.1f MB) in %.2f s\n",
            (long long)s.episodes, (long long)s.memories, (double)s.bytes / 1e6,
            seconds_since(start));
    ret = 0;
cleanup:
    backup_export_free(x);
    err_release(&err);
    cli_teardown();
    return ret;
}

/* ---- import ---- */

struct import_args {
    const char *file;
    struct backup_import_opts opts;
};

static int parse_import_args(int argc, char **argv, struct import_args *a)
{
    const char *v;
    int i;

    memset(a, 0, sizeof(*a));
    a->opts.preserve_ids = 1;
    for (i = 2; i < argc; i++) {
        v = argv[i];
        if (cli_is_option(argc, argv, &i, "--target-subject", &v))
            a->opts.target_subject = v;
        else if (cli_is_option(argc, argv, &i, "--target-tenant", &v))
            a->opts.target_tenant = v;
        else if (strcmp(argv[i], "--new-ids") == 0)
            a->opts.preserve_ids = 0;
        else if ((argv[i][0] == '-' && argv[i][1] != '\0') || a->file)
            return -1;
        else
            a->file = argv[i];
        if (!v)
            return -1;   /* an option without its value */
    }
    return a->file ? 0 : -1;
}

/* The body of POST /admin/import limits both targets to 256 characters (422 there). */
static int check_targets(const struct import_args *a)
{
    const char *names[] = { "--target-subject", "--target-tenant" };
    const char *vals[] = { a->opts.target_subject, a->opts.target_tenant };
    size_t i;

    for (i = 0; i < 2; i++) {
        if (vals[i] && utf8_count(vals[i], strlen(vals[i])) > BACKUP_ID_MAX_CHARS) {
            fprintf(stderr, "engram: import failed: %s is longer than %d characters\n",
                    names[i], BACKUP_ID_MAX_CHARS);
            return -1;
        }
    }
    return 0;
}

/* Read all of fd into b, refusing more than the import cap (§3.2 step 0). */
static int read_all(int fd, const char *name, struct buf *b)
{
    int rc = cli_read_all(fd, cfg->import_max_bytes, b);

    if (rc < 0)
        fprintf(stderr, "engram: import failed: cannot read '%s': %s\n", name, strerror(errno));
    else if (rc > 0)
        fprintf(stderr, "engram: import failed: '%s' is larger than %zu bytes "
                "(STATEWAVE_MEMORY_IMPORT_MAX_BYTES)\n", name, cfg->import_max_bytes);
    return rc == 0 ? 0 : -1;
}

static int read_document(const char *file, struct buf *b)
{
    int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    int ret;

    if (fd < 0) {
        fprintf(stderr, "engram: import failed: cannot open '%s': %s\n", file,
                strerror(errno));
        return -1;
    }
    ret = read_all(fd, file, b);
    if (fd != STDIN_FILENO)
        close(fd);
    return ret;
}

/* Parse the file as the document; a lone surrogate escape names its field (§2.4). */
static struct jv *parse_document(struct arena *a, const char *file, const struct buf *b)
{
    const char *msg = NULL;
    size_t pos = 0;
    struct jv *doc = jv_parse(a, b->data, b->len, &pos, &msg);

    if (doc)
        return doc;
    if (msg && strcmp(msg, "invalid unicode") == 0) {
        struct buf path = BUF_INIT;

        backup_json_path(b->data, b->len, pos, NULL, NULL, &path);
        fprintf(stderr, "engram: import failed: Invalid document: %s: invalid unicode\n",
                path.len ? path.data : "document");
        buf_release(&path);
    } else {
        fprintf(stderr, "engram: import failed: '%s' is not valid JSON: %s at byte %zu\n",
                file, msg ? msg : "error", pos);
    }
    return NULL;
}

static void print_result(struct arena *a, const struct backup_import_result *res)
{
    struct jv *o = jv_object(a);
    struct buf b = BUF_INIT;

    jv_object_set(a, o, "subject_id", jv_str(a, res->subject_id));
    jv_object_set(a, o, "tenant_id", res->tenant_id ? jv_str(a, res->tenant_id) : jv_null());
    jv_object_set(a, o, "episodes_imported", jv_int(a, res->episodes_imported));
    jv_object_set(a, o, "memories_imported", jv_int(a, res->memories_imported));
    jv_object_set(a, o, "ids_preserved", jv_bool(a, res->ids_preserved));
    jv_write_compact(&b, o);
    printf("%s\n", b.data);
    buf_release(&b);
}

/* On a terminal, say what a large import is busy with (it is one call, then one commit). */
static void import_status(const struct jv *doc, size_t bytes)
{
    const struct jv *eps = jv_object_get(doc, "episodes");
    const struct jv *mems = jv_object_get(doc, "memories");

    if (!isatty(STDERR_FILENO) || bytes < IMPORT_STATUS_MIN_BYTES)
        return;
    fprintf(stderr, "importing %zu episodes, %zu memories (%.1f MB): checking, then one "
            "transaction...", eps ? jv_array_size(eps) : 0, mems ? jv_array_size(mems) : 0,
            (double)bytes / 1e6);
}

static void import_status_clear(size_t bytes)
{
    if (isatty(STDERR_FILENO) && bytes >= IMPORT_STATUS_MIN_BYTES)
        fputs("\r\033[K", stderr);
}

/* The database gets its schema first, as `engram serve` would give it. */
static int import_into(struct arena *a, const struct jv *doc, const struct import_args *args,
                       struct backup_import_result *res, struct err *err)
{
    struct migrate_result mr;
    store *st = store_thread(err);

    if (!st || store_migrate(st, &mr, err) < 0)
        return -1;
    return backup_import(a, st, doc, &args->opts, res, err);
}

int cmd_import(int argc, char **argv)
{
    struct backup_import_result res;
    struct import_args args;
    struct buf text = BUF_INIT;
    struct err err = ERR_INIT;
    struct arena *a = NULL;
    int64_t start = ts_monotonic();
    struct jv *doc;
    int ret = 1, failed;

    if (parse_import_args(argc, argv, &args) < 0) {
        fputs(cmd_import_usage, stderr);
        return 2;
    }
    if (cli_setup() < 0)
        return 1;
    a = arena_new();
    if (check_targets(&args) < 0 || read_document(args.file, &text) < 0)
        goto cleanup;
    doc = parse_document(a, args.file, &text);
    if (!doc)
        goto cleanup;
    import_status(doc, text.len);
    failed = import_into(a, doc, &args, &res, &err) < 0;
    import_status_clear(text.len);
    if (failed) {
        fprintf(stderr, "engram: import failed: %s\n", err.msg);
        goto cleanup;
    }
    print_result(a, &res);
    fprintf(stderr, "imported %lld episodes, %lld memories into '%s' in %.2f s\n",
            (long long)res.episodes_imported, (long long)res.memories_imported,
            res.subject_id, seconds_since(start));
    ret = 0;
cleanup:
    err_release(&err);
    buf_release(&text);
    arena_free(a);
    cli_teardown();
    return ret;
}
