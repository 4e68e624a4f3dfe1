/* cli.c - the set-up and argument helpers the commands share (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "service/context_cache.h"
#include "util/config.h"
#include "util/log.h"

extern char **environ;

static struct config config; /* what cfg points at while a command runs */

int cli_setup(void)
{
    struct err err = ERR_INIT;
    int ret = -1;

    if (config_load(&config, environ, ".env", &err) < 0) {
        fprintf(stderr, "engram: configuration error: %s\n", err.msg);
        goto cleanup;
    }
    cfg = &config;
    log_setup((enum log_level)config.log_level, config.debug);
    store_set_sqlite_sync_full(config.sqlite_sync_full);
    if (store_setup(config.database_url, &err) < 0) {
        fprintf(stderr, "engram: configuration error: STATEWAVE_DATABASE_URL: %s\n", err.msg);
        config_release(&config);
        goto cleanup;
    }
    store_set_pooler(config.database_pooler);
    if (config.replica_urls && store_setup_sqlite()) {
        log_write(LOG_WARN, "STATEWAVE_DATABASE_REPLICA_URLS is ignored on SQLite "
                  "(read replicas are PostgreSQL streaming standbys)");
    } else if (store_replicas_setup(config.replica_urls, config.replica_eventual,
                                    config.replica_max_lag_ms, &err) < 0) {
        fprintf(stderr, "engram: configuration error: STATEWAVE_DATABASE_REPLICA_URLS: %s\n",
                err.msg);
        store_shutdown();
        config_release(&config);
        goto cleanup;
    }
    store_sqlite_wal_cap(config.sqlite_wal_max_mb);
    context_cache_configure((size_t)config.context_cache_mb << 20);
    ret = 0;
cleanup:
    err_release(&err);
    return ret;
}

store *cli_setup_store(struct err *err)
{
    struct migrate_result mr;
    store *st;

    if (cli_setup() < 0) {
        err_set(err, ERR_INVALID, "configuration error");
        return NULL;
    }
    st = store_thread(err);
    if (!st || store_migrate(st, &mr, err) < 0) {
        fprintf(stderr, "engram: cannot open the database: %s\n", err_reason(err));
        cli_teardown();
        return NULL;
    }
    return st;
}

void cli_teardown(void)
{
    store_shutdown();
    config_release(&config);
}

int cli_is_option(int argc, char **argv, int *i, const char *name, const char **value)
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

int cli_wants_help(int argc, char **argv, int from)
{
    int i;

    for (i = from; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int cli_usage_error(const char *usage, const char *what)
{
    fprintf(stderr, "engram: %s\n\n%s", what, usage);
    return 2;
}

int cli_read_all(int fd, size_t max, struct buf *b)
{
    char chunk[65536];

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (b->len + (size_t)n > max)
            return 1;
        buf_append(b, chunk, (size_t)n);
    }
}
