/* config.h - settings from the environment (STATEWAVE_* names, case-insensitive) and an
 * optional .env file; read once at start-up and read-only afterwards. */
#ifndef ENGRAM_UTIL_CONFIG_H
#define ENGRAM_UTIL_CONFIG_H

#include <stddef.h>

#include "util/err.h"

struct config {
    char *app_name;            /* STATEWAVE_APP_NAME */
    char *database_url;        /* STATEWAVE_DATABASE_URL */
    char *host;                /* STATEWAVE_HOST */
    int port;                  /* STATEWAVE_PORT */
    char *api_key;             /* STATEWAVE_API_KEY; NULL = open access */
    char *tenant_header;       /* STATEWAVE_TENANT_HEADER */
    char *tenant_id;           /* STATEWAVE_TENANT_ID: the tenant of `engram mcp` (stdio);
                                * NULL = the no-tenant space */
    int require_tenant;        /* STATEWAVE_REQUIRE_TENANT */
    char **cors_origins;       /* STATEWAVE_CORS_ORIGINS (JSON array) */
    size_t ncors_origins;
    int cors_any;              /* 1 when the list holds "*" */
    size_t max_body_bytes;     /* STATEWAVE_MAX_BODY_BYTES */
    size_t import_max_bytes;   /* STATEWAVE_MEMORY_IMPORT_MAX_BYTES: subject import documents */
    size_t import_max_episodes; /* STATEWAVE_MEMORY_IMPORT_MAX_EPISODES: per subject group */
    size_t import_max_memories; /* STATEWAVE_MEMORY_IMPORT_MAX_MEMORIES: per subject group */
    size_t import_max_subjects; /* STATEWAVE_MEMORY_IMPORT_MAX_SUBJECTS: per export/import */
    char *support_subject_id;  /* STATEWAVE_SUPPORT_SUBJECT_ID: rebuilt by the support reseed */
    char *support_pack_id;     /* STATEWAVE_SUPPORT_STARTER_PACK_ID: the pack it is rebuilt from */
    int workers;               /* STATEWAVE_WORKERS: HTTP worker threads */
    int debug;                 /* STATEWAVE_DEBUG: human-readable logs */
    int log_level;             /* STATEWAVE_LOG_LEVEL: enum log_level */
    int sqlite_sync_full;      /* STATEWAVE_SQLITE_SYNCHRONOUS: 1 = full, 0 = normal */
    int ingest_group_commit;   /* STATEWAVE_INGEST_GROUP_COMMIT: -1 auto, 0 off, 1 on */
    int strict_schema;         /* STATEWAVE_STRICT_SCHEMA */
    int connection_timeout;    /* STATEWAVE_CONNECTION_TIMEOUT_SECONDS: idle keep-alive */
    int header_timeout;        /* STATEWAVE_HEADER_TIMEOUT_SECONDS: from connecting to a
                                * complete first request header */
    int max_connections;       /* STATEWAVE_MAX_CONNECTIONS: open connections, all clients */
    int max_connections_per_ip; /* STATEWAVE_MAX_CONNECTIONS_PER_IP: 0 = no per-IP cap */
    int sqlite_wal_max_mb;     /* STATEWAVE_SQLITE_WAL_MAX_MB: the SQLite WAL's hard cap */
    size_t max_inflight_body;  /* STATEWAVE_MAX_INFLIGHT_BODY_BYTES: body bytes held at once
                                * over all requests (503 past it) */

    /* the memory loop */
    char *compiler_type;       /* STATEWAVE_COMPILER_TYPE: "heuristic" | "llm" */
    char *embedding_provider;  /* STATEWAVE_EMBEDDING_PROVIDER: "stub" | "openai" | "none"
                                * ("litellm" is read as "openai") */
    int embedding_dimensions;  /* STATEWAVE_EMBEDDING_DIMENSIONS */
    char *llm_api_key;         /* STATEWAVE_LITELLM_API_KEY; NULL = none */
    char *llm_model;           /* STATEWAVE_LITELLM_MODEL */
    char *llm_embedding_model; /* STATEWAVE_LITELLM_EMBEDDING_MODEL */
    char *llm_api_base;        /* STATEWAVE_LITELLM_API_BASE; NULL = https://api.openai.com/v1 */
    double llm_timeout;        /* STATEWAVE_LITELLM_TIMEOUT_SECONDS */
    int llm_max_retries;       /* STATEWAVE_LITELLM_MAX_RETRIES */
    double llm_temperature;    /* STATEWAVE_LITELLM_TEMPERATURE */
    int default_max_context_tokens; /* STATEWAVE_DEFAULT_MAX_CONTEXT_TOKENS */
    int context_cache_mb;      /* STATEWAVE_CONTEXT_CACHE_MB: the context input cache; 0 = off */
    int job_retention_hours;   /* STATEWAVE_COMPILE_JOB_RETENTION_HOURS; 0 = keep */
    int compile_workers;       /* STATEWAVE_COMPILE_WORKERS: background compile threads */
    int compile_lease_seconds; /* STATEWAVE_COMPILE_LEASE_SECONDS: a running job's claim */

    /* snapshots and cleanup (spec/backup-snapshots.md §5.1, §7.4) */
    int enable_snapshots;      /* STATEWAVE_ENABLE_SNAPSHOTS: the five flag-gated endpoints and
                                * the background cleanup */
    int cleanup_interval;      /* STATEWAVE_CLEANUP_INTERVAL_SECONDS: background pass period */
    char *cleanup_prefix;      /* STATEWAVE_CLEANUP_PREFIX: literal subject id prefix */
    int cleanup_max_age_hours; /* STATEWAVE_CLEANUP_MAX_AGE_HOURS */

    /* rate limiting (spec/api.md §1.7) */
    int rate_limit_rpm;        /* STATEWAVE_RATE_LIMIT_RPM: requests per minute per IP; 0 = off */
    int rate_limit_distributed; /* STATEWAVE_RATE_LIMIT_STRATEGY: 1 = "distributed" (windows in
                                 * the database), 0 = "memory" (per process, the default) */

    /* PostgreSQL past one server (docs/SCALING.md) */
    int database_pooler;       /* STATEWAVE_DATABASE_POOLER: enum config_pooler */
    char *replica_urls;        /* STATEWAVE_DATABASE_REPLICA_URLS; NULL = none */
    int replica_eventual;      /* STATEWAVE_REPLICA_READS: 1 = "eventual", 0 = "primary" */
    int replica_max_lag_ms;    /* STATEWAVE_REPLICA_MAX_LAG_MS */

    /* webhooks (spec/api.md §1.12) */
    char *webhook_url;         /* STATEWAVE_WEBHOOK_URL; NULL = no events recorded */
    double webhook_timeout;    /* STATEWAVE_WEBHOOK_TIMEOUT: seconds per delivery attempt */
    char *receipt_signing_key; /* STATEWAVE_RECEIPT_SIGNING_KEY: an Ed25519 private key PEM
                                * file that signs context receipts; NULL = unsigned */
    double webhook_backoff_scale; /* STATEWAVE_WEBHOOK_BACKOFF_SCALE: multiplies the retry
                                   * delays; for tests only (default 1.0) */
};

/* What sits between Engram and PostgreSQL (STATEWAVE_DATABASE_POOLER). */
enum config_pooler {
    CONFIG_POOLER_AUTO,        /* "auto": detected on each connection (the default) */
    CONFIG_POOLER_NONE,        /* "none": a direct connection (or a TCP proxy) */
    CONFIG_POOLER_PGBOUNCER,   /* "pgbouncer": transaction pooling */
};

/* Defaults documented in the README. */
#define CONFIG_DEFAULT_DATABASE_URL "sqlite://data/engram.db"
#define CONFIG_DEFAULT_MAX_BODY (64u * 1024 * 1024)
#define CONFIG_DEFAULT_MAX_INFLIGHT_BODY (256u * 1024 * 1024)
#define CONFIG_DEFAULT_IMPORT_MAX (50u * 1024 * 1024)

/* Fill c from env (a NULL-terminated "NAME=value" array, e.g. environ) and, for names not
 * set there, from the file dotenv_path (may be NULL or missing). A bad value fails with a
 * message naming the variable. Release with config_release(). */
int config_load(struct config *c, char *const *env, const char *dotenv_path, struct err *err);
void config_release(struct config *c);

/* The process-wide configuration (set once by main before any thread starts). */
extern const struct config *cfg;

#endif
