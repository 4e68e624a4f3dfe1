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
 * SQ_CKPT_INLINE_PAGES the committing connection checkpoints itself, as SQLite would. That
 * alone does not bound the WAL: SQLite starts the WAL over only when every frame has been
 * copied AND no reader still reads from it, and with overlapping readers (exports, restores
 * reading their snapshot) and steady writers that moment never comes (two restorers and two
 * exporters grew it to 1.65 GB, issue #14). So a commit that takes the WAL past
 * SQ_CKPT_CAP_PAGES makes the next write transaction of the process close a gate
 * (sq_ckpt_write_begin, called by tx_begin): new write transactions wait at it, the ones under
 * way finish, and then, with no writer of this process inside SQLite, it runs a RESTART
 * checkpoint, which waits for the readers of old frames to finish (CAP_WAIT_MS at most; once
 * the WAL is half as much again past the cap, as long as busy_timeout, so that back-to-back
 * long readers such as exports cannot keep it growing),
 * copies everything and makes the next writer start the WAL over, truncating the file back
 * to journal_size_limit (set in sqlite.c). Then the gate opens. Writers pause only while the
 * WAL is past the cap; readers never wait. Not in the hook itself: a connection there still
 * holds its read lock, so two writers each waiting in a hook for the other would deadlock;
 * nor with writers still running: the RESTART holds SQLite's write lock while it waits, and
 * writers queued behind it time out.
 *
 * One checkpointer per database path and process, shared by that path's connections and
 * counted by them: the thread starts at the first wake-up and stops, after a last
 * checkpoint, when the last connection detaches. Paths that name no file (":memory:") get
 * none; they have no WAL.
 */
#include "store/sqlite/sqlite-internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

struct sq_ckpt {
    struct sq_ckpt *next;       /* the registry's list */
    char *path;                 /* owned */
    unsigned refs;              /* attached connections */
    int started, wanted, stop;  /* the thread runs; work is waiting; the thread must end */
    atomic_int over_cap;        /* pages in the WAL past the cap, else 0: the next writer
                                 * restarts it */
    pthread_mutex_t gate_lock;  /* guards the three below */
    pthread_cond_t gate_cv;     /* signalled when writers reaches 0 and when the gate opens */
    unsigned writers;           /* write transactions of this process under way */
    int closed;                 /* a cap checkpoint waits or runs: new writers wait */
    pthread_t thread;
    pthread_cond_t wake;
    uint64_t runs;              /* checkpoints the thread has finished (tests read it) */
};

/* One lock for the registry and every entry's fields: the hook takes it only once the WAL
 * has passed CKPT_PAGES, so it is never contended on the hot path. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sq_ckpt *registry;

/* Milliseconds between tries of a cap checkpoint while another checkpoint runs, and how long
 * one write transaction waits at most for the cap checkpoint. */
#define CAP_RETRY_MS 2
#define CAP_WAIT_MS 250

/* Checkpoints in a row at most, per wake-up. */
#define CATCH_UP_ROUNDS 4

/* Read by every commit's hook without the lock. */
static atomic_int ckpt_pages = SQ_CKPT_PAGES;
static atomic_int ckpt_inline_pages = SQ_CKPT_INLINE_PAGES;
static atomic_int ckpt_cap_pages = SQ_CKPT_CAP_PAGES;

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

void sq_ckpt_tune_cap(int cap_pages)
{
    atomic_store(&ckpt_cap_pages, cap_pages > 0 ? cap_pages : SQ_CKPT_CAP_PAGES);
}

int sq_ckpt_cap(void)
{
    return atomic_load(&ckpt_cap_pages);
}

void store_sqlite_wal_cap(int mib)
{
    sq_ckpt_tune_cap(mib > 0 && mib <= INT32_MAX / SQ_PAGES_PER_MIB ? mib * SQ_PAGES_PER_MIB : 0);
}

/* The hard cap: a RESTART checkpoint, which blocks new writers while it waits (through the
 * connection's busy handler) for readers of the WAL to finish, then makes the next writer
 * start the WAL over. BUSY: a reader outlasted the wait; the next write transaction tries
 * again. 1 when the WAL was restarted. */
static int checkpoint_restart(sqlite3 *db, int wait_ms)
{
    int log = -1, done = -1, rc, waited;

    /* Another connection's checkpoint (the thread's, another writer's) holds the checkpoint
     * lock, and SQLite does not wait for that one (BUSY with log -1): wait here as well, as
     * long at most. The caller holds no lock meanwhile. */
    for (waited = 0;; waited += CAP_RETRY_MS) {
        rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
        if ((rc & 0xff) != SQLITE_BUSY || log >= 0 || waited >= wait_ms)
            break;
        sqlite3_sleep(CAP_RETRY_MS);
    }
    if (rc == SQLITE_OK)
        return 1;
    if ((rc & 0xff) == SQLITE_BUSY)
        log_write(LOG_DEBUG, "sqlite WAL past its cap (%d pages) and still in use after "
                  "%d ms: %d of %d pages checkpointed", atomic_load(&ckpt_cap_pages),
                  wait_ms, done, log);
    else
        log_write(LOG_WARN, "sqlite restart checkpoint failed: %s (code %d)",
                  sqlite3_errmsg(db), rc);
    return 0;
}

/* Close the gate, wait for the writers under way, restart the WAL on db, open the gate.
 * Called with gate_lock held; returns with it held. */
static void cap_checkpoint(struct sq_ckpt *c, sqlite3 *db)
{
    int restarted, pages, cap, wait_ms;

    c->closed = 1;
    while (c->writers > 0)
        pthread_cond_wait(&c->gate_cv, &c->gate_lock);
    pthread_mutex_unlock(&c->gate_lock);
    /* A bounded wait for readers: writers stand still meanwhile. Past it (a long reader
     * needs the old frames) they go on, and the next write transaction tries again; once
     * the WAL is half as much again past the cap, the wait is busy_timeout. */
    pages = atomic_load(&c->over_cap);
    cap = atomic_load(&ckpt_cap_pages);
    wait_ms = pages >= cap + cap / 2 ? SQ_BUSY_TIMEOUT_MS : CAP_WAIT_MS;
    sqlite3_busy_timeout(db, wait_ms);
    restarted = checkpoint_restart(db, wait_ms);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    if (restarted)
        atomic_store(&c->over_cap, 0);
    pthread_mutex_lock(&c->gate_lock);
    c->closed = 0;
    pthread_cond_broadcast(&c->gate_cv);
}

void sq_ckpt_write_begin(struct sq_ckpt *c, sqlite3 *db)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->gate_lock);
    if (atomic_load_explicit(&c->over_cap, memory_order_relaxed) && !c->closed)
        cap_checkpoint(c, db);
    while (c->closed)
        pthread_cond_wait(&c->gate_cv, &c->gate_lock);
    c->writers++;
    pthread_mutex_unlock(&c->gate_lock);
}

void sq_ckpt_write_end(struct sq_ckpt *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->gate_lock);
    if (--c->writers == 0)
        pthread_cond_broadcast(&c->gate_cv);
    pthread_mutex_unlock(&c->gate_lock);
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
    if (pages >= atomic_load_explicit(&ckpt_cap_pages, memory_order_relaxed))
        atomic_store(&c->over_cap, pages);   /* the next write transaction restarts it */
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
        pthread_mutex_init(&c->gate_lock, NULL);
        pthread_cond_init(&c->gate_cv, NULL);
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
    pthread_cond_destroy(&c->gate_cv);
    pthread_mutex_destroy(&c->gate_lock);
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
