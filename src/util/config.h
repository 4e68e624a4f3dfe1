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
    int require_tenant;        /* STATEWAVE_REQUIRE_TENANT */
    char **cors_origins;       /* STATEWAVE_CORS_ORIGINS (JSON array) */
    size_t ncors_origins;
    int cors_any;              /* 1 when the list holds "*" */
    size_t max_body_bytes;     /* STATEWAVE_MAX_BODY_BYTES */
    int workers;               /* STATEWAVE_WORKERS: HTTP worker threads */
    int debug;                 /* STATEWAVE_DEBUG: human-readable logs */
    int log_level;             /* STATEWAVE_LOG_LEVEL: enum log_level */
    int strict_schema;         /* STATEWAVE_STRICT_SCHEMA */
    int connection_timeout;    /* STATEWAVE_CONNECTION_TIMEOUT_SECONDS: idle keep-alive */

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
    int job_retention_hours;   /* STATEWAVE_COMPILE_JOB_RETENTION_HOURS; 0 = keep */
    int compile_workers;       /* STATEWAVE_COMPILE_WORKERS: background compile threads */
    int compile_lease_seconds; /* STATEWAVE_COMPILE_LEASE_SECONDS: a running job's claim */
};

/* Defaults documented in the README. */
#define CONFIG_DEFAULT_DATABASE_URL "sqlite://data/engram.db"
#define CONFIG_DEFAULT_MAX_BODY (64u * 1024 * 1024)

/* Fill c from env (a NULL-terminated "NAME=value" array, e.g. environ) and, for names not
 * set there, from the file dotenv_path (may be NULL or missing). A bad value fails with a
 * message naming the variable. Release with config_release(). */
int config_load(struct config *c, char *const *env, const char *dotenv_path, struct err *err);
void config_release(struct config *c);

/* The process-wide configuration (set once by main before any thread starts). */
extern const struct config *cfg;

#endif
