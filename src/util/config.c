/* config.c - parse STATEWAVE_* settings. */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/xalloc.h"

const struct config *cfg;

struct source {
    char *const *env;      /* process environment */
    char **dotenv;         /* "NAME=value" lines of the .env file, NULL-terminated */
};

/* Case-insensitive lookup of NAME in a NAME=value array. */
static const char *lookup_in(char *const *vars, const char *name)
{
    size_t n = strlen(name);

    for (; vars && *vars; vars++) {
        if (strncasecmp(*vars, name, n) == 0 && (*vars)[n] == '=')
            return *vars + n + 1;
    }
    return NULL;
}

static const char *lookup(const struct source *s, const char *name)
{
    const char *v = lookup_in(s->env, name);

    return v ? v : lookup_in(s->dotenv, name);
}

static char *unquote(char *v)
{
    size_t n = strlen(v);

    while (n && isspace((unsigned char)v[n - 1]))
        v[--n] = '\0';
    while (*v && isspace((unsigned char)*v))
        v++, n--;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        v++;
    }
    return v;
}

/* Read KEY=VALUE lines; '#' comments, blank lines and an optional `export ` are skipped. */
static char **read_dotenv(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[8192];
    char **out = xcalloc(1, sizeof(*out));
    size_t n = 0;

    if (!f)
        return out;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *eq;

        while (isspace((unsigned char)*p))
            p++;
        if (*p == '#' || *p == '\0')
            continue;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        eq = strchr(p, '=');
        if (!eq)
            continue;
        *eq = '\0';
        {
            struct buf b = BUF_INIT;
            char *name = unquote(p);

            buf_printf(&b, "%s=%s", name, unquote(eq + 1));
            out = xrealloc(out, (n + 2) * sizeof(*out));
            out[n++] = buf_detach(&b, NULL);
            out[n] = NULL;
        }
    }
    fclose(f);
    return out;
}

static void free_dotenv(char **d)
{
    char **p;

    for (p = d; p && *p; p++)
        free(*p);
    free(d);
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
    static const char *const no[] = { "false", "0", "no", "off", "f", "n" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int get_bool(const struct source *s, const char *name, int def, int *out,
                    struct err *err)
{
    const char *v = lookup(s, name);

    *out = def;
    if (!v || !*v)
        return 0;
    if (parse_bool(v, out) < 0)
        return err_set(err, ERR_INVALID, "%s: expected a boolean (true/false), got '%s'",
                       name, v);
    return 0;
}

static int get_long(const struct source *s, const char *name, long def, long min, long max,
                    long *out, struct err *err)
{
    const char *v = lookup(s, name);
    char *end;
    long x;

    *out = def;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        return err_set(err, ERR_INVALID, "%s: expected an integer in [%ld, %ld], got '%s'",
                       name, min, max, v);
    *out = x;
    return 0;
}

static char *get_str(const struct source *s, const char *name, const char *def)
{
    const char *v = lookup(s, name);

    if (!v || !*v)
        return def ? xstrdup(def) : NULL;
    return xstrdup(v);
}

/* get_str(), but a variable set to "" stays "" (only an unset one takes def). */
static char *get_str_or_empty(const struct source *s, const char *name, const char *def)
{
    const char *v = lookup(s, name);

    return xstrdup(v ? v : def);
}

static int parse_cors(struct config *c, const char *v, struct err *err)
{
    struct arena *a = arena_new();
    struct jv *arr = jv_parse(a, v, strlen(v), NULL, NULL);
    size_t i, n = arr ? jv_array_size(arr) : 0;
    int rc = -1;

    if (!arr || jv_type(arr) != JV_ARRAY) {
        err_set(err, ERR_INVALID,
                "STATEWAVE_CORS_ORIGINS: expected a JSON array of strings, got '%s'", v);
        goto cleanup;
    }
    c->cors_origins = xcalloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        const char *o = jv_string(jv_array_get(arr, i), NULL);

        if (!o) {
            err_set(err, ERR_INVALID, "STATEWAVE_CORS_ORIGINS: item %zu is not a string", i);
            goto cleanup;
        }
        c->cors_origins[c->ncors_origins++] = xstrdup(o);
        if (strcmp(o, "*") == 0)
            c->cors_any = 1;
    }
    rc = 0;
cleanup:
    arena_free(a);
    return rc;
}

static int parse_log_level(const char *v, int *out)
{
    static const char *const names[] = { "debug", "info", "warning", "error" };
    int i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(v, names[i]) == 0)
            return *out = i, 0;
    }
    if (strcasecmp(v, "warn") == 0)
        return *out = LOG_WARN, 0;
    return -1;
}

static int load_strings(struct config *c, const struct source *s, struct err *err)
{
    const char *v;

    c->app_name = get_str(s, "STATEWAVE_APP_NAME", "statewave");
    v = lookup(s, "STATEWAVE_DATABASE_URL");
    if (v && !*v)   /* set but empty: a mistake (a failed substitution), never the default */
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_DATABASE_URL is set but empty; unset it for the default ("
                       CONFIG_DEFAULT_DATABASE_URL ") or give a database URL");
    c->database_url = get_str(s, "STATEWAVE_DATABASE_URL", NULL);
    if (!c->database_url)
        c->database_url = get_str(s, "DATABASE_URL", CONFIG_DEFAULT_DATABASE_URL);
    c->host = get_str(s, "STATEWAVE_HOST", "127.0.0.1");
    c->api_key = get_str(s, "STATEWAVE_API_KEY", NULL);
    c->tenant_header = get_str(s, "STATEWAVE_TENANT_HEADER", "X-Tenant-ID");
    c->tenant_id = get_str(s, "STATEWAVE_TENANT_ID", NULL);
    v = lookup(s, "STATEWAVE_CORS_ORIGINS");
    if (parse_cors(c, v && *v ? v : "[\"*\"]", err) < 0)
        return -1;
    v = lookup(s, "STATEWAVE_SQLITE_SYNCHRONOUS");
    c->sqlite_sync_full = v && strcasecmp(v, "full") == 0;
    if (v && *v && !c->sqlite_sync_full && strcasecmp(v, "normal") != 0)
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_SQLITE_SYNCHRONOUS: expected full or normal, got '%s'", v);
    v = lookup(s, "STATEWAVE_INGEST_GROUP_COMMIT");
    c->ingest_group_commit = !v || !*v || strcasecmp(v, "auto") == 0 ? -1
                             : strcasecmp(v, "on") == 0              ? 1
                             : strcasecmp(v, "off") == 0             ? 0
                                                                     : -2;
    if (c->ingest_group_commit == -2)
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_INGEST_GROUP_COMMIT: expected auto, on or off, got '%s'", v);
    v = lookup(s, "STATEWAVE_LOG_LEVEL");
    c->log_level = LOG_INFO;
    if (v && *v && parse_log_level(v, &c->log_level) < 0)
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_LOG_LEVEL: expected debug, info, warning or error, got '%s'", v);
    return 0;
}

static int get_double(const struct source *s, const char *name, double def, double min,
                      double max, double *out, struct err *err)
{
    const char *v = lookup(s, name);
    char *end;
    double x;

    *out = def;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= min && x <= max))
        return err_set(err, ERR_INVALID, "%s: expected a number in [%g, %g], got '%s'", name,
                       min, max, v);
    *out = x;
    return 0;
}

static int one_of(const char *name, const char *v, const char *const *allowed, size_t n,
                  struct err *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(v, allowed[i]) == 0)
            return 0;
    }
    return err_set(err, ERR_INVALID, "%s: unknown value '%s'", name, v);
}

/* Compiler, embeddings, LLM endpoint, context and job settings (spec/api.md §9). */
static int load_memory_loop(struct config *c, const struct source *s, struct err *err)
{
    static const char *const compilers[] = { "heuristic", "llm" };
    static const char *const providers[] = { "stub", "openai", "litellm", "none" };
    long x;

    c->compiler_type = get_str(s, "STATEWAVE_COMPILER_TYPE", "heuristic");
    c->embedding_provider = get_str(s, "STATEWAVE_EMBEDDING_PROVIDER", "stub");
    c->llm_api_key = get_str(s, "STATEWAVE_LITELLM_API_KEY", NULL);
    /* Set to "": no model, so POST /v1/llm/complete answers 503 (spec/api.md §5.1). */
    c->llm_model = get_str_or_empty(s, "STATEWAVE_LITELLM_MODEL", "gpt-4o-mini");
    c->llm_embedding_model = get_str(s, "STATEWAVE_LITELLM_EMBEDDING_MODEL",
                                     "text-embedding-3-small");
    c->llm_api_base = get_str(s, "STATEWAVE_LITELLM_API_BASE", NULL);
    c->support_subject_id = get_str(s, "STATEWAVE_SUPPORT_SUBJECT_ID", "statewave-support-docs");
    c->support_pack_id = get_str(s, "STATEWAVE_SUPPORT_STARTER_PACK_ID",
                                 "statewave-support-agent");
    if (one_of("STATEWAVE_COMPILER_TYPE", c->compiler_type, compilers, 2, err) < 0 ||
        one_of("STATEWAVE_EMBEDDING_PROVIDER", c->embedding_provider, providers, 4, err) < 0)
        return -1;
    if (strcmp(c->embedding_provider, "litellm") == 0) {
        free(c->embedding_provider);
        c->embedding_provider = xstrdup("openai");
    }
    if (get_long(s, "STATEWAVE_EMBEDDING_DIMENSIONS", 1536, 1, 16384, &x, err) < 0)
        return -1;
    c->embedding_dimensions = (int)x;
    if (get_double(s, "STATEWAVE_LITELLM_TIMEOUT_SECONDS", 60.0, 0.1, 3600.0, &c->llm_timeout,
                   err) < 0 ||
        get_double(s, "STATEWAVE_LITELLM_TEMPERATURE", 0.1, 0.0, 2.0, &c->llm_temperature,
                   err) < 0)
        return -1;
    if (get_long(s, "STATEWAVE_LITELLM_MAX_RETRIES", 2, 0, 10, &x, err) < 0)
        return -1;
    c->llm_max_retries = (int)x;
    if (get_long(s, "STATEWAVE_DEFAULT_MAX_CONTEXT_TOKENS", 4000, 1, 128000, &x, err) < 0)
        return -1;
    c->default_max_context_tokens = (int)x;
    if (get_long(s, "STATEWAVE_CONTEXT_CACHE_MB", 64, 0, 65536, &x, err) < 0)
        return -1;
    c->context_cache_mb = (int)x;
    if (get_long(s, "STATEWAVE_COMPILE_JOB_RETENTION_HOURS", 168, 0, 1000000, &x, err) < 0)
        return -1;
    c->job_retention_hours = (int)x;
    if (get_long(s, "STATEWAVE_COMPILE_WORKERS", 1, 1, 64, &x, err) < 0)
        return -1;
    c->compile_workers = (int)x;
    if (get_long(s, "STATEWAVE_COMPILE_LEASE_SECONDS", 60, 5, 86400, &x, err) < 0)
        return -1;
    c->compile_lease_seconds = (int)x;
    return 0;
}

/* The memory payload import caps (spec/api.md §6.4, §6.5): exceeding one answers 413. */
static int load_import_limits(struct config *c, const struct source *s, struct err *err)
{
    long x;

    if (get_long(s, "STATEWAVE_MEMORY_IMPORT_MAX_EPISODES", 50000, 0, 100000000, &x, err) < 0)
        return -1;
    c->import_max_episodes = (size_t)x;
    if (get_long(s, "STATEWAVE_MEMORY_IMPORT_MAX_MEMORIES", 50000, 0, 100000000, &x, err) < 0)
        return -1;
    c->import_max_memories = (size_t)x;
    if (get_long(s, "STATEWAVE_MEMORY_IMPORT_MAX_SUBJECTS", 100, 0, 1000000, &x, err) < 0)
        return -1;
    c->import_max_subjects = (size_t)x;
    return 0;
}

/* Snapshots and the background cleanup (spec/backup-snapshots.md §5.1, §7.4). */
static int load_snapshots(struct config *c, const struct source *s, struct err *err)
{
    long x;

    if (get_bool(s, "STATEWAVE_ENABLE_SNAPSHOTS", 0, &c->enable_snapshots, err) < 0)
        return -1;
    if (get_long(s, "STATEWAVE_CLEANUP_INTERVAL_SECONDS", 3600, 1, 31L * 24 * 3600, &x, err) < 0)
        return -1;
    c->cleanup_interval = (int)x;
    if (get_long(s, "STATEWAVE_CLEANUP_MAX_AGE_HOURS", 24, 0, 1000000, &x, err) < 0)
        return -1;
    c->cleanup_max_age_hours = (int)x;
    c->cleanup_prefix = get_str(s, "STATEWAVE_CLEANUP_PREFIX", "live_");
    return 0;
}

/* PostgreSQL past one server: the pooler in between (docs/SCALING.md). */
static int load_scaling(struct config *c, const struct source *s, struct err *err)
{
    static const char *const poolers[] = { "auto", "none", "pgbouncer" };
    const char *v = lookup(s, "STATEWAVE_DATABASE_POOLER");
    long x;
    int i;

    c->database_pooler = -1;
    for (i = 0; i < 3; i++) {
        if (!v || !*v || strcasecmp(v, poolers[i]) == 0) {
            c->database_pooler = v && *v ? i : CONFIG_POOLER_AUTO;
            break;
        }
    }
    if (c->database_pooler < 0)
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_DATABASE_POOLER: expected auto, none or pgbouncer, got '%s'", v);
    v = lookup(s, "STATEWAVE_DATABASE_REPLICA_URLS");
    c->replica_urls = v && *v ? get_str(s, "STATEWAVE_DATABASE_REPLICA_URLS", NULL) : NULL;
    v = lookup(s, "STATEWAVE_REPLICA_READS");
    if (v && *v && strcasecmp(v, "eventual") != 0 && strcasecmp(v, "primary") != 0)
        return err_set(err, ERR_INVALID,
                       "STATEWAVE_REPLICA_READS: expected primary or eventual, got '%s'", v);
    c->replica_eventual = v && strcasecmp(v, "eventual") == 0;
    if (get_long(s, "STATEWAVE_REPLICA_MAX_LAG_MS", 1000, 0, 3600000, &x, err) < 0)
        return -1;
    c->replica_max_lag_ms = (int)x;
    return 0;
}

/* Rate limiting (spec/api.md §1.7): requests per minute per client IP, and where the
 * windows live. */
static int load_rate_limit(struct config *c, const struct source *s, struct err *err)
{
    const char *v = lookup(s, "STATEWAVE_RATE_LIMIT_STRATEGY");
    long x;

    if (get_long(s, "STATEWAVE_RATE_LIMIT_RPM", 0, 0, 1000000, &x, err) < 0)
        return -1;
    c->rate_limit_rpm = (int)x;
    c->rate_limit_distributed = 0;
    if (!v || !*v || strcasecmp(v, "memory") == 0)
        return 0;
    if (strcasecmp(v, "distributed") == 0)
        return c->rate_limit_distributed = 1, 0;
    return err_set(err, ERR_INVALID,
                   "STATEWAVE_RATE_LIMIT_STRATEGY: expected memory or distributed, got '%s'", v);
}

/* Webhooks (spec/api.md §1.12): the target, the per-attempt timeout, and a test-only factor
 * on the retry delays. */
static int load_webhooks(struct config *c, const struct source *s, struct err *err)
{
    c->webhook_url = get_str(s, "STATEWAVE_WEBHOOK_URL", NULL);
    c->receipt_signing_key = get_str(s, "STATEWAVE_RECEIPT_SIGNING_KEY", NULL);
    if (get_double(s, "STATEWAVE_WEBHOOK_TIMEOUT", 5.0, 0.001, 3600.0, &c->webhook_timeout,
                   err) < 0)
        return -1;
    return get_double(s, "STATEWAVE_WEBHOOK_BACKOFF_SCALE", 1.0, 0.0, 1000.0,
                      &c->webhook_backoff_scale, err);
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 2 ? 4 : (int)(n * 2 > 64 ? 64 : n * 2 < 4 ? 4 : n * 2);
}

/* The HTTP edge: connection caps, the header timeout and the in-flight body budget. */
static int load_connection_limits(struct config *c, const struct source *s, struct err *err)
{
    long x;

    if (get_long(s, "STATEWAVE_HEADER_TIMEOUT_SECONDS", 10, 1, 3600, &x, err) < 0)
        return -1;
    c->header_timeout = (int)x;
    if (get_long(s, "STATEWAVE_MAX_CONNECTIONS", 4096, 16, 1000000, &x, err) < 0)
        return -1;
    c->max_connections = (int)x;
    if (get_long(s, "STATEWAVE_MAX_CONNECTIONS_PER_IP", 256, 0, 1000000, &x, err) < 0)
        return -1;
    c->max_connections_per_ip = (int)x;
    if (get_long(s, "STATEWAVE_SQLITE_WAL_MAX_MB", 128, 8, 65536, &x, err) < 0)
        return -1;
    c->sqlite_wal_max_mb = (int)x;
    if (get_long(s, "STATEWAVE_MAX_INFLIGHT_BODY_BYTES", CONFIG_DEFAULT_MAX_INFLIGHT_BODY, 1024,
                 64L * 1024 * 1024 * 1024, &x, err) < 0)
        return -1;
    c->max_inflight_body = (size_t)x;
    return 0;
}

static int load_numbers(struct config *c, const struct source *s, struct err *err)
{
    long x;

    if (get_long(s, "STATEWAVE_PORT", 8100, 0, 65535, &x, err) < 0)
        return -1;
    c->port = (int)x;
    if (get_long(s, "STATEWAVE_MAX_BODY_BYTES", CONFIG_DEFAULT_MAX_BODY, 1024,
                 1024L * 1024 * 1024, &x, err) < 0)
        return -1;
    c->max_body_bytes = (size_t)x;
    if (get_long(s, "STATEWAVE_MEMORY_IMPORT_MAX_BYTES", CONFIG_DEFAULT_IMPORT_MAX, 1,
                 16L * 1024 * 1024 * 1024, &x, err) < 0)
        return -1;
    c->import_max_bytes = (size_t)x;
    if (load_import_limits(c, s, err) < 0)
        return -1;
    if (get_long(s, "STATEWAVE_WORKERS", default_workers(), 1, 256, &x, err) < 0)
        return -1;
    c->workers = (int)x;
    if (get_long(s, "STATEWAVE_CONNECTION_TIMEOUT_SECONDS", 60, 1, 3600, &x, err) < 0)
        return -1;
    c->connection_timeout = (int)x;
    if (load_connection_limits(c, s, err) < 0)
        return -1;
    if (get_bool(s, "STATEWAVE_REQUIRE_TENANT", 0, &c->require_tenant, err) < 0 ||
        get_bool(s, "STATEWAVE_DEBUG", 0, &c->debug, err) < 0 ||
        get_bool(s, "STATEWAVE_STRICT_SCHEMA", 0, &c->strict_schema, err) < 0)
        return -1;
    return 0;
}

int config_load(struct config *c, char *const *env, const char *dotenv_path, struct err *err)
{
    struct source s = { env, read_dotenv(dotenv_path) };
    int ret;

    memset(c, 0, sizeof(*c));
    ret = load_strings(c, &s, err);
    if (ret == 0)
        ret = load_numbers(c, &s, err);
    if (ret == 0)
        ret = load_memory_loop(c, &s, err);
    if (ret == 0)
        ret = load_rate_limit(c, &s, err);
    if (ret == 0)
        ret = load_snapshots(c, &s, err);
    if (ret == 0)
        ret = load_webhooks(c, &s, err);
    if (ret == 0)
        ret = load_scaling(c, &s, err);
    if (ret == 0 && (!*c->tenant_header || strpbrk(c->tenant_header, " :\r\n")))
        ret = err_set(err, ERR_INVALID, "STATEWAVE_TENANT_HEADER: not a valid header name '%s'",
                      c->tenant_header);
    free_dotenv(s.dotenv);
    if (ret < 0)
        config_release(c);
    return ret;
}

void config_release(struct config *c)
{
    size_t i;

    if (!c)
        return;
    free(c->app_name);
    free(c->database_url);
    free(c->replica_urls);
    free(c->host);
    free(c->api_key);
    free(c->tenant_header);
    free(c->tenant_id);
    free(c->compiler_type);
    free(c->embedding_provider);
    free(c->llm_api_key);
    free(c->llm_model);
    free(c->llm_embedding_model);
    free(c->llm_api_base);
    free(c->support_subject_id);
    free(c->support_pack_id);
    free(c->webhook_url);
    free(c->receipt_signing_key);
    free(c->cleanup_prefix);
    for (i = 0; i < c->ncors_origins; i++)
        free(c->cors_origins[i]);
    free(c->cors_origins);
    memset(c, 0, sizeof(*c));
}
