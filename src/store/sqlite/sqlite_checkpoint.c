/* sqlite_checkpoint.c - WAL checkpoints off the request path.
 *
 * SQLite's default checkpoints inside the COMMIT that takes the WAL past 1,000 pages: that
 * request then copies every page of the WAL into the database file and syncs it, which is as
 * much I/O again as the write itself (a snapshot restore of 400 memories with 1,536-float
 * embeddings writes about 1,000 pages). Here every connection to one database file installs
 * a WAL hook that only wakes a checkpointer thread, which runs PASSIVE checkpoints on its own
 * connection while writers go on appending (WAL lets both run at once).
 *
 * A passive checkpoint never waits for a lock and stops at the oldest frame a reader still
 * needs, so a long reader, or a writer outrunning the thread, can keep the WAL growing: past
 * CKPT_INLINE_PAGES the committing connection checkpoints itself, as SQLite would, which
 * bounds the WAL whatever happens to the thread. The WAL file is truncated back to
 * journal_size_limit (set in sqlite.c) when it restarts.
 *
 * One checkpointer per database path and process, shared by that path's connections and
 * counted by them: the thread starts at the first wake-up and stops, after a last
 * checkpoint, when the last connection detaches. Paths that name no file (":memory:") get
 * none; they have no WAL.
 */
#include "store/sqlite/sqlite-internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

struct sq_ckpt {
    struct sq_ckpt *next;       /* the registry's list */
    char *path;                 /* owned */
    unsigned refs;              /* attached connections */
    int started, wanted, stop;  /* the thread runs; work is waiting; the thread must end */
    pthread_t thread;
    pthread_cond_t wake;
    uint64_t runs;              /* checkpoints the thread has finished (tests read it) */
};

/* One lock for the registry and every entry's fields: the hook takes it only once the WAL
 * has passed CKPT_PAGES, so it is never contended on the hot path. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sq_ckpt *registry;

/* Checkpoints in a row at most, per wake-up. */
#define CATCH_UP_ROUNDS 4

/* Read by every commit's hook without the lock. */
static atomic_int ckpt_pages = SQ_CKPT_PAGES;
static atomic_int ckpt_inline_pages = SQ_CKPT_INLINE_PAGES;

/* Tests: opens of the thread's connection still to fail (sq_ckpt_fail_opens). */
static atomic_int fail_opens;

void sq_ckpt_fail_opens(int n)
{
    atomic_store(&fail_opens, n);
}

void sq_ckpt_tune(int pages, int inline_pages)
{
    atomic_store(&ckpt_pages, pages > 0 ? pages : SQ_CKPT_PAGES);
    atomic_store(&ckpt_inline_pages, inline_pages > 0 ? inline_pages : SQ_CKPT_INLINE_PAGES);
}

/* One passive checkpoint; 1 when it copied every frame of the WAL (the next writer can then
 * start the WAL over), 0 when frames remain or it failed. */
static int checkpoint(sqlite3 *db, const char *who)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

    /* BUSY: another connection (or process) is checkpointing; it does the work. */
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
        log_write(LOG_WARN, "sqlite %s checkpoint failed: %s (code %d)", who,
                  sqlite3_errmsg(db), rc);
    return rc == SQLITE_OK && done >= log;
}

/* A connection learns that the file is in WAL mode, and opens the WAL, with its first read;
 * until then sqlite3_wal_checkpoint_v2() has nothing to checkpoint and does nothing. */
static const char SQL_OPEN_WAL[] = "SELECT count(*) FROM sqlite_schema";

/* The thread's connection, opened and its WAL found on first use; NULL while that fails,
 * so the next wake-up tries again. A read that failed (the file busy with another
 * connection's recovery, say) would otherwise leave every later checkpoint a silent no-op.
 * The first failure of a run of them is logged, and the recovery. */
static sqlite3 *ckpt_connection(struct sq_ckpt *c, sqlite3 **db, int *ready, int *failing)
{
    int rc;

    if (!*db) {
        rc = sqlite3_open_v2(c->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK && atomic_load(&fail_opens) > 0) {
            atomic_fetch_sub(&fail_opens, 1);   /* tests: as if the open had failed */
            rc = SQLITE_CANTOPEN;
        }
        if (rc != SQLITE_OK) {
            if (!*failing)
                log_write(LOG_WARN, "sqlite checkpointer cannot open '%s': %s", c->path,
                          *db && sqlite3_errcode(*db) != SQLITE_OK ? sqlite3_errmsg(*db)
                                                                   : sqlite3_errstr(rc));
            sqlite3_close(*db);
            *db = NULL;
        }
    }
    if (*db && !*ready) {
        if (sqlite3_exec(*db, SQL_OPEN_WAL, NULL, NULL, NULL) == SQLITE_OK)
            *ready = 1;
        else if (!*failing)
            log_write(LOG_WARN, "sqlite checkpointer cannot read '%s': %s", c->path,
                      sqlite3_errmsg(*db));
    }
    if (!*db || !*ready) {
        *failing = 1;
        return NULL;
    }
    if (*failing)
        log_write(LOG_INFO, "sqlite checkpointer: '%s' is checkpointed again", c->path);
    *failing = 0;
    return *db;
}

static void *ckpt_main(void *arg)
{
    struct sq_ckpt *c = arg;
    sqlite3 *db = NULL, *conn;
    int ready = 0, failing = 0, i;

    pthread_setname_np(pthread_self(), "sqlite-ckpt");
    pthread_mutex_lock(&registry_lock);
    for (;;) {
        while (!c->wanted && !c->stop)
            pthread_cond_wait(&c->wake, &registry_lock);
        if (c->stop)
            break;
        c->wanted = 0;
        pthread_mutex_unlock(&registry_lock);
        /* Without a connection, the inline checkpoints of the hook still bound the WAL.
         * Writers append while a checkpoint copies: go again while that left frames behind,
         * so that the WAL can start over, but only a few times against a steady stream. */
        conn = ckpt_connection(c, &db, &ready, &failing);
        for (i = 0; conn && i < CATCH_UP_ROUNDS && !checkpoint(conn, "background"); i++)
            ;
        pthread_mutex_lock(&registry_lock);
        c->runs++;
    }
    pthread_mutex_unlock(&registry_lock);
    /* Closing the last connection of the process checkpoints the whole WAL and removes it;
     * any other close just closes. */
    sqlite3_close(db);
    return NULL;
}

/* The WAL hook: called by SQLite after each commit with the pages now in the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct sq_ckpt *c = arg;
    int rc;

    (void)name;
    if (pages >= atomic_load_explicit(&ckpt_inline_pages, memory_order_relaxed)) {
        checkpoint(db, "inline");
        return SQLITE_OK;
    }
    if (pages < atomic_load_explicit(&ckpt_pages, memory_order_relaxed))
        return SQLITE_OK;
    pthread_mutex_lock(&registry_lock);
    if (!c->started && !c->stop) {
        rc = pthread_create(&c->thread, NULL, ckpt_main, c);
        if (rc == 0)
            c->started = 1;
        else
            log_write(LOG_WARN, "cannot start the sqlite checkpointer: %s", strerror(rc));
    }
    c->wanted = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&registry_lock);
    return SQLITE_OK;
}

struct sq_ckpt *sq_ckpt_attach(sqlite3 *db, const char *path)
{
    struct sq_ckpt *c;

    if (path[0] == '\0' || path[0] == ':' || strncmp(path, "file:", 5) == 0)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    for (c = registry; c; c = c->next)
        if (strcmp(c->path, path) == 0)
            break;
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->path = xstrdup(path);
        pthread_cond_init(&c->wake, NULL);
        c->next = registry;
        registry = c;
    }
    c->refs++;
    pthread_mutex_unlock(&registry_lock);
    sqlite3_wal_hook(db, wal_hook, c);
    return c;
}

void sq_ckpt_detach(struct sq_ckpt *c)
{
    struct sq_ckpt **p;
    int join;

    if (!c)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--c->refs > 0) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    for (p = &registry; *p != c; p = &(*p)->next)
        ;
    *p = c->next;
    c->stop = 1;
    join = c->started;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&registry_lock);
    if (join)
        pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    free(c->path);
    free(c);
}

uint64_t sq_ckpt_runs(const char *path)
{
    struct sq_ckpt *c;
    uint64_t runs = 0;

    pthread_mutex_lock(&registry_lock);
    for (c = registry; c; c = c->next)
        if (strcmp(c->path, path) == 0)
            runs = c->runs;
    pthread_mutex_unlock(&registry_lock);
    return runs;
}
