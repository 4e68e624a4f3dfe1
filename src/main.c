/* main.c - the engram command: serve | migrate | help. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/backup_cmd.h"
#include "cli/cli.h"
#include "cli/mcp.h"
#include "cli/snapshot.h"
#include "http/server.h"
#include "service/service.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/version.h"

static const char usage[] =
    "usage: engram <command> [options]\n"
    "\n"
    "Engram: a memory runtime for AI agents, compatible with the Statewave API.\n"
    "\n"
    "commands:\n"
    "  serve      start the HTTP server (applies pending migrations first)\n"
    "  migrate    apply pending schema migrations and report what was done\n"
    "  backup     copy the whole SQLite database to a file, online (PostgreSQL: pg_dump)\n"
    "  export     write a subject's export document (JSON with a SHA-256 checksum)\n"
    "  import     import a subject export document, all or nothing\n"
    "  snapshot   create, list and restore subject snapshots; bootstrap persona snapshots\n"
    "  cleanup    delete stale ephemeral subjects (literal id prefix, default live_)\n"
    "  mcp        serve the Model Context Protocol on stdio (agents; HTTP: POST /mcp)\n"
    "  version    print the version\n"
    "  help       show this help; `engram <command> --help` for a command\n"
    "\n"
    "Settings come from STATEWAVE_* environment variables (and ./.env); see README.md.\n"
    "The database is STATEWAVE_DATABASE_URL (default " CONFIG_DEFAULT_DATABASE_URL ").\n";

static const char serve_usage[] =
    "usage: engram serve\n"
    "\n"
    "Start the HTTP server on STATEWAVE_HOST:STATEWAVE_PORT (default 127.0.0.1:8100)\n"
    "against STATEWAVE_DATABASE_URL (default " CONFIG_DEFAULT_DATABASE_URL "),\n"
    "after applying any pending schema migrations. Serves until SIGINT or SIGTERM, then\n"
    "finishes in-flight requests, closes the database and exits 0.\n"
    "\n"
    "main settings (environment):\n"
    "  STATEWAVE_DATABASE_URL    sqlite:///abs/path, sqlite://relative/path, postgresql://...\n"
    "  STATEWAVE_HOST            bind address (default 127.0.0.1)\n"
    "  STATEWAVE_PORT            bind port (default 8100)\n"
    "  STATEWAVE_API_KEY         shared API key; unset = open access\n"
    "  STATEWAVE_TENANT_HEADER   tenant header name (default X-Tenant-ID)\n"
    "  STATEWAVE_REQUIRE_TENANT  refuse requests without the tenant header (default false)\n"
    "  STATEWAVE_CORS_ORIGINS    JSON array of allowed origins (default [\"*\"])\n"
    "  STATEWAVE_MAX_BODY_BYTES  request body limit (default 67108864)\n"
    "  STATEWAVE_MAX_INFLIGHT_BODY_BYTES  body bytes held at once, all requests; past it 503\n"
    "                            (default 268435456)\n"
    "  STATEWAVE_MAX_CONNECTIONS  open connections, all clients (default 4096)\n"
    "  STATEWAVE_MAX_CONNECTIONS_PER_IP  open connections from one IP; 0 = no cap (default 256)\n"
    "  STATEWAVE_HEADER_TIMEOUT_SECONDS  seconds to send a complete header (default 10)\n"
    "  STATEWAVE_CONNECTION_TIMEOUT_SECONDS  idle keep-alive seconds (default 60)\n"
    "  STATEWAVE_WORKERS         HTTP worker threads (default 2 x CPUs, at least 4)\n"
    "  STATEWAVE_LOG_LEVEL       debug, info, warning or error (default info)\n"
    "  STATEWAVE_DEBUG           human-readable logs instead of JSON lines\n"
    "See README.md for every setting.\n";

static const char migrate_usage[] =
    "usage: engram migrate\n"
    "\n"
    "Apply pending schema migrations to STATEWAVE_DATABASE_URL and say what was done.\n"
    "Safe to run while servers are running, and from several processes at once.\n";

static const char backup_usage[] =
    "usage: engram backup FILE\n"
    "\n"
    "Copy the whole SQLite database named by STATEWAVE_DATABASE_URL into FILE (which must\n"
    "not exist) with SQLite's online backup API: consistent while servers keep reading and\n"
    "writing. Restore by stopping the servers and putting FILE in place of the database file.\n"
    "For PostgreSQL use pg_dump / pg_restore (see README.md).\n";

/* Apply migrations on this thread's connection; verbose prints a summary on stdout. */
static int run_migrations(int verbose)
{
    struct err err = ERR_INIT;
    struct migrate_result res;
    store *st = store_thread(&err);

    if (!st || store_migrate(st, &res, &err) < 0) {
        fprintf(stderr, "engram: migration failed: %s\n", err.msg);
        return -1;
    }
    if (verbose && res.applied)
        printf("applied %d migration(s): schema version %d -> %d (%s)\n", res.applied,
               res.from_version, res.to_version, store_backend_name(st));
    else if (verbose)
        printf("schema is up to date at version %d (%s)\n", res.to_version,
               store_backend_name(st));
    else if (res.applied)
        log_write(LOG_INFO, "applied %d migration(s): schema version %d -> %d", res.applied,
                  res.from_version, res.to_version);
    if (res.to_version > res.from_version + res.applied || res.to_version < res.from_version)
        log_write(LOG_WARN, "schema version %d is newer than this binary knows",
                  res.to_version);
    return 0;
}

static int cmd_migrate(void)
{
    int ret;

    if (cli_setup() < 0)
        return 1;
    ret = run_migrations(1);
    cli_teardown();
    return ret < 0 ? 1 : 0;
}

static int cmd_backup(int argc, char **argv)
{
    struct err err = ERR_INIT;
    store *st;
    int ret = 1;

    if (argc != 3 || argv[2][0] == '-') {
        fputs(backup_usage, stderr);
        return 2;
    }
    if (cli_setup() < 0)
        return 1;
    st = store_thread(&err);
    if (st && store_backup(st, argv[2], &err) == 0) {
        printf("backed up %s to %s\n", cfg->database_url, argv[2]);
        ret = 0;
    } else {
        fprintf(stderr, "engram: backup failed: %s\n", err.msg);
    }
    cli_teardown();
    return ret;
}

static int cmd_serve(void)
{
    struct err err = ERR_INIT;
    struct http_server *srv;
    sigset_t set;
    int sig = 0;

    if (cli_setup() < 0)
        return 1;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Block before any thread starts, so only sigwait() below sees the signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (run_migrations(0) < 0)
        goto cleanup;
    if (service_setup(&err) < 0) {
        fprintf(stderr, "engram: %s\n", err.msg);
        goto cleanup;
    }
    srv = http_server_start(api_routes, api_routes_count, &err);
    if (!srv) {
        fprintf(stderr, "engram: %s\n", err.msg);
        service_shutdown();
        goto cleanup;
    }
    log_write(LOG_INFO, "engram %s listening on http://%s:%d (%s, %d workers)", ENGRAM_VERSION,
              cfg->host, http_server_port(srv), store_backend_name(store_thread(&err)),
              cfg->workers);
    sigwait(&set, &sig);
    log_write(LOG_INFO, "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    service_shutdown();
    log_write(LOG_INFO, "stopped");
    cli_teardown();
    return 0;
cleanup:
    cli_teardown();
    return 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";

    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("engram %s\n", ENGRAM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(serve_usage, stdout), 0) : cmd_serve();
    if (strcmp(cmd, "migrate") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(migrate_usage, stdout), 0) : cmd_migrate();
    if (strcmp(cmd, "backup") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(backup_usage, stdout), 0) : cmd_backup(argc, argv);
    if (strcmp(cmd, "export") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(cmd_export_usage, stdout), 0)
                                      : cmd_export(argc, argv);
    if (strcmp(cmd, "import") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(cmd_import_usage, stdout), 0)
                                      : cmd_import(argc, argv);
    if (strcmp(cmd, "snapshot") == 0)
        return cmd_snapshot(argc, argv);
    if (strcmp(cmd, "cleanup") == 0)
        return cli_wants_help(argc, argv, 2) ? (fputs(cmd_cleanup_usage, stdout), 0)
                                      : cmd_cleanup(argc, argv);
    if (strcmp(cmd, "mcp") == 0)
        return cmd_mcp(argc, argv);
    fprintf(stderr, "engram: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
