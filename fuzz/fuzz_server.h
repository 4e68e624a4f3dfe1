/* fuzz_server.h - the database of the targets that run the service layer as the server does
 * (fuzz_request.c, fuzz_mcp.c): a migrated SQLite file in a new scratch directory under
 * $ENGRAM_FUZZ_DIR (scripts/fuzz.sh makes one per run and removes it, also after a finding),
 * else under /dev/shm, else /tmp; removed at exit.
 *
 * Header only, included once by a target.
 */
#ifndef ENGRAM_FUZZ_FUZZ_SERVER_H
#define ENGRAM_FUZZ_FUZZ_SERVER_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "service/service.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"

static char fuzz_db_dir[256];   /* the database's scratch directory */
static char fuzz_db_url[320];   /* "STATEWAVE_DATABASE_URL=sqlite://<dir>/fuzz.db" */

/* Remove the database files (a server may still hold them open: unlinking is fine). */
static void fuzz_server_remove(void)
{
    static const char *const files[] = { "fuzz.db", "fuzz.db-wal", "fuzz.db-shm" };
    char path[300];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", fuzz_db_dir, files[i]);
        unlink(path);
    }
    rmdir(fuzz_db_dir);
}

/* Make the scratch database and load *c from env, whose first entry must be fuzz_db_url
 * (filled in here); then cfg = c, errors-only logging, the store set up and migrated, and
 * the service layer set up. */
static inline void fuzz_server_setup(struct config *c, char **env)
{
    const char *base = getenv("ENGRAM_FUZZ_DIR");
    struct migrate_result res;
    struct err err = ERR_INIT;
    store *st;

    snprintf(fuzz_db_dir, sizeof(fuzz_db_dir), "%s/engram-fuzz-XXXXXX",
             base ? base : "/dev/shm");
    if (!mkdtemp(fuzz_db_dir)) {
        snprintf(fuzz_db_dir, sizeof(fuzz_db_dir), "/tmp/engram-fuzz-XXXXXX");
        FUZZ_CHECK(mkdtemp(fuzz_db_dir) != NULL, "a scratch directory for the database");
    }
    atexit(fuzz_server_remove);
    snprintf(fuzz_db_url, sizeof(fuzz_db_url), "STATEWAVE_DATABASE_URL=sqlite://%s/fuzz.db",
             fuzz_db_dir);
    FUZZ_CHECK(env[0] == fuzz_db_url, "the database URL first in the environment");
    FUZZ_CHECK(config_load(c, env, NULL, &err) == 0, err.msg);
    cfg = c;
    log_setup(LOG_ERROR, 0);
    FUZZ_CHECK(store_setup(c->database_url, &err) == 0, err.msg);
    st = store_thread(&err);
    FUZZ_CHECK(st && store_migrate(st, &res, &err) == 0, err.msg);
    FUZZ_CHECK(service_setup(&err) == 0, err.msg);
}

#endif
