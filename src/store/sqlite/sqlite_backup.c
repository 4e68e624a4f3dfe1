/* sqlite_backup.c - SQLite backend: an online, consistent copy of the whole database
 * (spec/backup-snapshots.md §4), written to a private `<path>.tmp-<random>` file and linked
 * into place, so two backups never share a temporary file and an existing file is never
 * replaced. */
#include "store/sqlite/sqlite-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/uuid.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BACKUP_PAGES_PER_STEP 256   /* the source is unlocked between steps */
#define BACKUP_RETRY_MS 10          /* sleep before retrying a step that met a lock */

/* Reading sqlite_master inside BEGIN starts the read transaction that pins one snapshot for
 * every step: without it each step takes its own, and a write from another connection
 * between two steps would restart the copy from the first page. */
static const char SQL_READ_BEGIN[] = "BEGIN";
static const char SQL_READ_PIN[] = "SELECT COUNT(*) FROM sqlite_master";
static const char SQL_READ_END[] = "ROLLBACK";

/* Remove what a failed or interrupted backup may leave at tmp. */
static void remove_tmp(const char *tmp)
{
    static const char *const suffixes[] = { "", "-journal", "-wal", "-shm" };
    struct buf name = BUF_INIT;
    size_t i;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        buf_reset(&name);
        buf_printf(&name, "%s%s", tmp, suffixes[i]);
        if (unlink(name.data) < 0 && errno != ENOENT)
            log_write(LOG_WARN, "cannot remove '%s': %s", name.data, strerror(errno));
    }
    buf_release(&name);
}

/* Start a read transaction on the source and hold it until end_read(). */
static int begin_read(struct sqlite_store *s, struct err *err)
{
    sqlite3_stmt *q;
    int64_t ignored;

    if (sq_exec(s, SQL_READ_BEGIN, err) < 0)
        return -1;
    q = sq_stmt(s, SQL_READ_PIN, err);
    if (q && sq_query_int64(s, q, "backup snapshot", &ignored, err) == 0)
        return 0;
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, SQL_READ_END, NULL, NULL, NULL);
    return -1;
}

static void end_read(struct sqlite_store *s)
{
    struct err ignored = ERR_INIT;

    if (!sqlite3_get_autocommit(s->db))
        sq_exec(s, SQL_READ_END, &ignored);
}

/* Step b to the end, BACKUP_PAGES_PER_STEP pages at a time; a step that meets a lock is
 * retried after a short sleep, for at most SQ_BUSY_TIMEOUT_MS in a row. Returns the last
 * step's result: SQLITE_DONE on success. */
static int step_all(sqlite3_backup *b)
{
    int rc, waited = 0;

    for (;;) {
        rc = sqlite3_backup_step(b, BACKUP_PAGES_PER_STEP);
        if (rc == SQLITE_OK) {
            waited = 0;
            continue;
        }
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return rc;
        if (waited >= SQ_BUSY_TIMEOUT_MS)
            return rc;
        sqlite3_sleep(BACKUP_RETRY_MS);
        waited += BACKUP_RETRY_MS;
    }
}

/* Copy every page of s's main database into the open database dest. Failures are logged
 * with the destination's message and never mark the source broken: most come from the
 * target (disk full, permissions). */
static int copy_pages(struct sqlite_store *s, sqlite3 *dest, const char *tmp,
                      struct err *err)
{
    sqlite3_backup *b;
    int rc;

    if (begin_read(s, err) < 0)
        return -1;
    b = sqlite3_backup_init(dest, "main", s->db, "main");
    if (!b) {
        rc = sqlite3_errcode(dest);
    } else {
        rc = step_all(b);
        if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_DONE)
            rc = sqlite3_errcode(dest);
    }
    end_read(s);
    if (rc == SQLITE_DONE)
        return 0;
    log_write(LOG_ERROR, "sqlite backup to '%s' failed: %s (%s)", tmp, sqlite3_errmsg(dest),
              sqlite3_errstr(rc));
    return err_set(err, ERR_INTERNAL, "database error");
}

/* Write the backup into the new database file tmp and close it. */
static int write_tmp(struct sqlite_store *s, const char *tmp, struct err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    sqlite3 *dest = NULL;
    int rc = sqlite3_open_v2(tmp, &dest, flags, NULL);
    int ret = -1;

    if (rc != SQLITE_OK) {
        log_write(LOG_ERROR, "cannot create backup file '%s': %s", tmp,
                  dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        err_set(err, ERR_INTERNAL, "database error");
        goto cleanup;
    }
    ret = copy_pages(s, dest, tmp, err);
cleanup:
    rc = sqlite3_close(dest);
    if (rc != SQLITE_OK && ret == 0) {
        log_write(LOG_ERROR, "cannot close backup file '%s': %s", tmp, sqlite3_errstr(rc));
        ret = err_set(err, ERR_INTERNAL, "database error");
    }
    return ret;
}

/* Make the rename into path durable; a failure only costs durability, so it is logged. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct buf dir = BUF_INIT;
    int fd;

    if (!slash)
        buf_puts(&dir, ".");
    else if (slash == path)
        buf_puts(&dir, "/");
    else
        buf_append(&dir, path, (size_t)(slash - path));
    fd = open(dir.data, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) < 0)
        log_write(LOG_WARN, "cannot sync directory '%s': %s", dir.data, strerror(errno));
    if (fd >= 0)
        close(fd);
    buf_release(&dir);
}

/* Put the finished tmp file at path without ever replacing a file there: link() fails with
 * EEXIST when another backup (or anything else) created path in the meantime. */
static int publish(const char *tmp, const char *path, struct err *err)
{
    if (link(tmp, path) == 0)
        return 0;
    if (errno == EEXIST)
        return err_set(err, ERR_CONFLICT, "backup file '%s' already exists", path);
    return err_set(err, ERR_INVALID, "cannot create '%s': %s", path, strerror(errno));
}

int sq_backup(store *st, const char *path, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct buf tmp = BUF_INIT;
    char suffix[17];
    struct stat sb;
    int ret = -1;

    if (st->in_tx)
        BUG("store_backup inside an open transaction");
    if (lstat(path, &sb) == 0)
        return err_set(err, ERR_CONFLICT, "backup file '%s' already exists", path);
    random_hex(suffix, 16);
    buf_printf(&tmp, "%s.tmp-%s", path, suffix);
    if (write_tmp(s, tmp.data, err) < 0) {
        if (err->kind == ERR_INTERNAL)
            err_set(err, ERR_INVALID, "cannot write '%s' (see the log)", tmp.data);
        goto cleanup;
    }
    if (publish(tmp.data, path, err) < 0)
        goto cleanup;
    sync_parent_dir(path);
    log_write(LOG_INFO, "sqlite backup written to '%s'", path);
    ret = 0;
cleanup:
    remove_tmp(tmp.data);
    buf_release(&tmp);
    return ret;
}
