/* test_sqlite_checkpoint.c - the SQLite backend's background checkpointer
 * (src/store/sqlite_checkpoint.c): commits past the threshold wake the thread and the pages
 * reach the database file; past the inline threshold the committing connection checkpoints
 * itself; connections to one file share one checkpointer; the last close stops it and
 * leaves the data whole. Thresholds are lowered so that a few hundred KiB suffice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "store/sqlite/sqlite-internal.h"

static char path[64];

/* Thresholds far above anything a test writes: never reached. */
#define NEVER 1000000

static off_t file_size(const char *suffix)
{
    char name[80];
    struct stat sb;

    snprintf(name, sizeof(name), "%s%s", path, suffix);
    return stat(name, &sb) == 0 ? sb.st_size : -1;
}

static store *open_store(void)
{
    struct err err = ERR_INIT;
    store *st = NULL;

    assert_int_equal(store_open(&store_sqlite_ops, path, &st, &err), 0);
    return st;
}

static void exec(store *st, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(sq_downcast(st)->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* With the checkpoint thresholds set, a store on the test file holding an empty table t. */
static store *table_store(int pages, int inline_pages)
{
    store *st;

    sq_ckpt_tune(pages, inline_pages);
    st = open_store();
    exec(st, "CREATE TABLE t (x BLOB)");
    return st;
}

/* n commits of one 4,000-byte row each: about one page per commit. */
static void write_rows(store *st, int n)
{
    int i;

    for (i = 0; i < n; i++)
        exec(st, "INSERT INTO t (x) VALUES (zeroblob(4000))");
}

static int64_t count_rows(store *st)
{
    sqlite3_stmt *q;
    int64_t n;

    assert_int_equal(sqlite3_prepare_v2(sq_downcast(st)->db, "SELECT count(*) FROM t", -1,
                                        &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Wait (at most 20 s: a functional deadline, not a timing assertion) until the database file
 * holds at least size bytes: the checkpoints that copy pages into it run on their own thread,
 * and the last ones may still be under way when the writer is done. Returns the size. */
static off_t wait_file_size(off_t size)
{
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    int i;

    for (i = 0; i < 2000 && file_size("") < size; i++)
        nanosleep(&pause, NULL);
    return file_size("");
}

/* Wait (at most 20 s, as above) until the checkpointer of path has run at least once;
 * returns its count. */
static uint64_t wait_runs(void)
{
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    uint64_t runs;
    int i;

    for (i = 0; i < 2000 && (runs = sq_ckpt_runs(path)) == 0; i++)
        nanosleep(&pause, NULL);
    return runs;
}

static int setup(void **state)
{
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/engram-ckpt-test-XXXXXX.db");
    fd = mkstemps(path, 3);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    char name[80];

    (void)state;
    sq_ckpt_tune(0, 0);
    sq_ckpt_tune_cap(0);
    unlink(path);
    snprintf(name, sizeof(name), "%s-wal", path);
    unlink(name);
    snprintf(name, sizeof(name), "%s-shm", path);
    unlink(name);
    return 0;
}

/* Past the threshold the thread wakes, and its checkpoint puts the pages into the file. */
static void test_background_checkpoint(void **state)
{
    store *st;
    off_t before;

    (void)state;
    st = table_store(50, NEVER);
    before = file_size("");
    assert_int_equal(sq_ckpt_runs(path), 0);
    write_rows(st, 80);
    assert_true(wait_runs() > 0);
    /* The thread checkpointed, not the writer (its threshold is never reached): 80 rows of
     * about a page each reach the file. */
    assert_true(wait_file_size(before + 60 * 4096) >= before + 60 * 4096);
    assert_int_equal(count_rows(st), 80);
    store_close(st);
}

/* Past the inline threshold the committing connection checkpoints itself, whatever the
 * thread does (here it is never woken). */
static void test_inline_checkpoint(void **state)
{
    store *st;

    (void)state;
    st = table_store(NEVER, 40);
    write_rows(st, 60);
    assert_int_equal(sq_ckpt_runs(path), 0);
    assert_true(file_size("") >= 30 * 4096);
    store_close(st);
}

/* Two connections to one file share its checkpointer; it outlives the first close, and the
 * last close stops it, checkpoints the rest and removes the WAL, with every row kept. */
static void test_shared_and_stopped(void **state)
{
    store *a, *b;

    (void)state;
    sq_ckpt_tune(50, NEVER);
    a = open_store();
    b = open_store();
    assert_non_null(sq_downcast(a)->ckpt);
    assert_ptr_equal(sq_downcast(a)->ckpt, sq_downcast(b)->ckpt);
    exec(a, "CREATE TABLE t (x BLOB)");
    write_rows(a, 40);
    write_rows(b, 40);
    assert_true(wait_runs() > 0);
    store_close(a);
    write_rows(b, 100);
    assert_int_equal(count_rows(b), 180);
    store_close(b);
    assert_int_equal(sq_ckpt_runs(path), 0);   /* gone from the registry */
    assert_int_equal(file_size("-wal"), -1);
    sq_ckpt_tune(0, 0);
    a = open_store();
    assert_int_equal(count_rows(a), 180);
    store_close(a);
}

/* A checkpointer whose first open fails (a test seam fails it) tries again at the next
 * wake-up, and its checkpoints then reach the file. Before, it gave up for good. */
static void test_checkpointer_retries_open(void **state)
{
    store *st;
    off_t before;

    (void)state;
    st = table_store(50, NEVER);
    sq_ckpt_fail_opens(1);
    write_rows(st, 80);
    assert_true(wait_runs() > 0);          /* woken, and could not open the file */
    before = file_size("");
    write_rows(st, 80);
    assert_true(wait_file_size(before + 60 * 4096) >= before + 60 * 4096);
    assert_int_equal(count_rows(st), 160);
    store_close(st);
    sq_ckpt_fail_opens(0);
}

/* ---- the hard cap under concurrent writers and overlapping readers ---- */

#define CAP_MIB 1                 /* the cap, through the setting's entry point */
#define CAP_PAGES 256             /* 1 MiB of 4 KiB pages */
#define WRITER_COMMITS 200        /* each: 10 rows of about a page, 8 MiB per writer */
#define WAL_BOUND (4 << 20)       /* the cap, plus commits in flight while it acts */

static struct {
    atomic_int writers_left;      /* readers stop when it reaches 0 */
    atomic_llong wal_max;         /* the largest -wal size any writer saw after a commit */
} race;

static void note_wal_size(void)
{
    long long now = (long long)file_size("-wal"), seen = atomic_load(&race.wal_max);

    while (now > seen && !atomic_compare_exchange_weak(&race.wal_max, &seen, now))
        ;
}

static void *writer_main(void *arg)
{
    struct err err = ERR_INIT;
    store *st = open_store();
    int i, j;

    (void)arg;
    for (i = 0; i < WRITER_COMMITS; i++) {
        if (store_tx_begin(st, &err) < 0)
            fail_msg("begin: %s", err.msg);
        for (j = 0; j < 10; j++)
            exec(st, "INSERT INTO t (x) VALUES (zeroblob(4000))");
        if (store_tx_commit(st, &err) < 0)
            fail_msg("commit: %s", err.msg);
        note_wal_size();
    }
    store_close(st);
    atomic_fetch_sub(&race.writers_left, 1);
    return NULL;
}

/* Read transactions back to back, each a few milliseconds long: with two of these there is
 * nearly always a reader holding an old frame of the WAL, so it can never start over on its
 * own (an export reading while restores write). */
static void *reader_main(void *arg)
{
    struct timespec pause = { 0, 3 * 1000 * 1000 };
    store *st = open_store();

    (void)arg;
    while (atomic_load(&race.writers_left) > 0) {
        exec(st, "BEGIN");
        count_rows(st);
        nanosleep(&pause, NULL);
        count_rows(st);
        exec(st, "COMMIT");
    }
    store_close(st);
    return NULL;
}

/* Issue #14 defect 4: two restorers and two exporters grew the WAL to 1.65 GB; passive
 * checkpoints never let it start over. Scaled down: two writers append 16 MiB in all while
 * two readers keep overlapping read transactions open; past the (lowered) cap a RESTART
 * checkpoint holds the writers until the WAL starts over, so it never grows much past the
 * cap, and every row is kept. */
static void test_wal_cap_with_readers(void **state)
{
    pthread_t th[4];
    store *st;
    int i;

    (void)state;
    st = table_store(64, 128);
    store_sqlite_wal_cap(CAP_MIB);
    assert_int_equal(sq_ckpt_cap(), CAP_PAGES);
    atomic_store(&race.writers_left, 2);
    atomic_store(&race.wal_max, 0);
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, i < 2 ? writer_main : reader_main, NULL),
                         0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&race.wal_max) > WAL_BOUND)
        fail_msg("the WAL reached %lld bytes, bound %d (cap %d pages)",
                 (long long)atomic_load(&race.wal_max), WAL_BOUND, CAP_PAGES);
    assert_int_equal(count_rows(st), 2 * WRITER_COMMITS * 10);
    store_close(st);
}

/* STATEWAVE_SQLITE_WAL_MAX_MB's entry point: MiB to pages; 0 (or nonsense) is the default. */
static void test_wal_cap_setting(void **state)
{
    (void)state;
    assert_int_equal(sq_ckpt_cap(), SQ_CKPT_CAP_PAGES);
    assert_int_equal(SQ_CKPT_CAP_PAGES, 128 * 256);
    store_sqlite_wal_cap(512);
    assert_int_equal(sq_ckpt_cap(), 512 * 256);
    store_sqlite_wal_cap(0);
    assert_int_equal(sq_ckpt_cap(), SQ_CKPT_CAP_PAGES);
    store_sqlite_wal_cap(8);
    assert_int_equal(sq_ckpt_cap(), 8 * 256);
    store_sqlite_wal_cap(-3);
    assert_int_equal(sq_ckpt_cap(), SQ_CKPT_CAP_PAGES);
}

/* A database without a file has no WAL and gets no checkpointer. */
static void test_memory_database(void **state)
{
    struct err err = ERR_INIT;
    store *st = NULL;

    (void)state;
    assert_int_equal(store_open(&store_sqlite_ops, ":memory:", &st, &err), 0);
    assert_null(sq_downcast(st)->ckpt);
    store_close(st);
}

/* STATEWAVE_SQLITE_SYNCHRONOUS: connections opened after store_set_sqlite_sync_full(1) run
 * synchronous=FULL (2), the others NORMAL (1). */
static int64_t synchronous_of(store *st)
{
    sqlite3_stmt *q;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(sq_downcast(st)->db, "PRAGMA synchronous", -1, &q,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void test_synchronous_setting(void **state)
{
    store *normal, *full;

    (void)state;
    normal = open_store();
    store_set_sqlite_sync_full(1);
    full = open_store();
    store_set_sqlite_sync_full(0);
    assert_int_equal(synchronous_of(normal), 1);
    assert_int_equal(synchronous_of(full), 2);
    store_close(full);
    store_close(normal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_background_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_and_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpointer_retries_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_cap_with_readers, setup, teardown),
        cmocka_unit_test(test_memory_database),
        cmocka_unit_test_setup_teardown(test_synchronous_setting, setup, teardown),
        cmocka_unit_test(test_wal_cap_setting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
