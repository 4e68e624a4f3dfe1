/* test_config.c - STATEWAVE_* parsing: defaults, case-insensitive names, .env, bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"

static int load(struct config *c, const char *const *env, const char *dotenv, struct err *e)
{
    err_init(e);
    /* config_load takes environ's type; the strings are only read. */
    return config_load(c, (char *const *)env, dotenv, e);
}

static void test_config_defaults(void **state)
{
    const char *env[] = { NULL };
    struct config c;
    struct err e;

    (void)state;
    assert_int_equal(load(&c, env, NULL, &e), 0);
    assert_string_equal(c.database_url, CONFIG_DEFAULT_DATABASE_URL);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8100);
    assert_null(c.api_key);
    assert_string_equal(c.tenant_header, "X-Tenant-ID");
    assert_null(c.tenant_id);
    assert_int_equal(c.require_tenant, 0);
    assert_int_equal(c.sqlite_sync_full, 0);
    assert_int_equal(c.cors_any, 1);
    assert_int_equal(c.ncors_origins, 1);
    assert_true(c.max_body_bytes >= 52428800);
    assert_true(c.workers >= 1);
    assert_int_equal(c.connection_timeout, 60);
    assert_int_equal(c.header_timeout, 10);
    assert_int_equal(c.max_connections, 4096);
    assert_int_equal(c.max_connections_per_ip, 256);
    assert_int_equal(c.max_inflight_body, CONFIG_DEFAULT_MAX_INFLIGHT_BODY);
    assert_int_equal(c.sqlite_wal_max_mb, 128);
    config_release(&c);
}

static void test_config_values_case_insensitive(void **state)
{
    const char *env[] = { "statewave_port=9001", "STATEWAVE_HOST=0.0.0.0",
                          "Statewave_Require_Tenant=YES", "STATEWAVE_API_KEY=k1",
                    "STATEWAVE_CORS_ORIGINS=[\"https://a.example\",\"https://b.example\"]",
                    "STATEWAVE_TENANT_HEADER=X-Org", "STATEWAVE_API_KEY_OTHER=zz",
                    "STATEWAVE_DATABASE_URL=sqlite:///tmp/x.db", "statewave_tenant_id=org-a",
                    "STATEWAVE_SQLITE_SYNCHRONOUS=Full", "STATEWAVE_INGEST_GROUP_COMMIT=On",
                    NULL };
    struct config c;
    struct err e;

    (void)state;
    assert_int_equal(load(&c, env, NULL, &e), 0);
    assert_int_equal(c.port, 9001);
    assert_string_equal(c.host, "0.0.0.0");
    assert_int_equal(c.require_tenant, 1);
    assert_string_equal(c.api_key, "k1");
    assert_int_equal(c.cors_any, 0);
    assert_int_equal(c.ncors_origins, 2);
    assert_string_equal(c.cors_origins[1], "https://b.example");
    assert_string_equal(c.tenant_header, "X-Org");
    assert_string_equal(c.database_url, "sqlite:///tmp/x.db");
    assert_string_equal(c.tenant_id, "org-a");
    assert_int_equal(c.sqlite_sync_full, 1);
    assert_int_equal(c.ingest_group_commit, 1);
    config_release(&c);
}

/* STATEWAVE_INGEST_GROUP_COMMIT: auto (also unset or empty) -1, on 1, off 0, any case. */
static void test_config_ingest_group_commit(void **state)
{
    static const struct {
        const char *assignment;
        int want;
    } cases[] = { { "STATEWAVE_INGEST_GROUP_COMMIT=auto", -1 },
                  { "STATEWAVE_INGEST_GROUP_COMMIT=", -1 },
                  { "STATEWAVE_INGEST_GROUP_COMMIT=OFF", 0 },
                  { "STATEWAVE_INGEST_GROUP_COMMIT=on", 1 },
                  { "STATEWAVE_PORT=8100", -1 } };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *env[] = { cases[i].assignment, NULL };
        struct config c;
        struct err e;

        assert_int_equal(load(&c, env, NULL, &e), 0);
        assert_int_equal(c.ingest_group_commit, cases[i].want);
        config_release(&c);
    }
}

static void expect_bad(const char *assignment, const char *name)
{
    const char *env[] = { (char *)assignment, NULL };
    struct config c;
    struct err e;

    assert_int_equal(load(&c, env, NULL, &e), -1);
    assert_non_null(strstr(e.msg, name));
}

static void test_config_bad_values_name_the_variable(void **state)
{
    (void)state;
    /* set but empty is a mistake, never the default database (issue 19) */
    expect_bad("STATEWAVE_DATABASE_URL=", "STATEWAVE_DATABASE_URL is set but empty");
    expect_bad("STATEWAVE_PORT=80x", "STATEWAVE_PORT");
    expect_bad("STATEWAVE_PORT=70000", "STATEWAVE_PORT");
    expect_bad("STATEWAVE_REQUIRE_TENANT=maybe", "STATEWAVE_REQUIRE_TENANT");
    expect_bad("STATEWAVE_CORS_ORIGINS=*", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS=[1]", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_MAX_BODY_BYTES=-1", "STATEWAVE_MAX_BODY_BYTES");
    expect_bad("STATEWAVE_WORKERS=0", "STATEWAVE_WORKERS");
    expect_bad("STATEWAVE_LOG_LEVEL=loud", "STATEWAVE_LOG_LEVEL");
    expect_bad("STATEWAVE_SQLITE_SYNCHRONOUS=off", "STATEWAVE_SQLITE_SYNCHRONOUS");
    expect_bad("STATEWAVE_INGEST_GROUP_COMMIT=yes", "STATEWAVE_INGEST_GROUP_COMMIT");
    expect_bad("STATEWAVE_TENANT_HEADER=Bad Header", "STATEWAVE_TENANT_HEADER");
}

/* The CORS list is a JSON array of strings: escapes are decoded (non-ASCII arrives as UTF-8),
 * whitespace around the tokens is fine, and "*" anywhere in it allows every origin. Anything
 * else (another JSON type, trailing commas, trailing text, a NUL escape, a non-string item)
 * is refused with the variable's name. */
static void test_config_cors_origins_json(void **state)
{
    const char *env[] = {
        "STATEWAVE_CORS_ORIGINS= [ \"https://caf\\u00e9.example\" , \"http://\\/x\",\"*\" ] ",
        NULL };
    struct config c;
    struct err e;

    (void)state;
    assert_int_equal(load(&c, env, NULL, &e), 0);
    assert_int_equal(c.ncors_origins, 3);
    assert_string_equal(c.cors_origins[0], "https://caf\xc3\xa9.example");
    assert_string_equal(c.cors_origins[1], "http:///x");
    assert_int_equal(c.cors_any, 1);
    config_release(&c);
    expect_bad("STATEWAVE_CORS_ORIGINS=\"*\"", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS={\"a\":\"b\"}", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS=[\"a\",]", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS=[\"a\"] x", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS=[\"a\\u0000\"]", "STATEWAVE_CORS_ORIGINS");
    expect_bad("STATEWAVE_CORS_ORIGINS=[\"a\", null]", "STATEWAVE_CORS_ORIGINS");
}

/* The HTTP edge's limits (issue 14): read, and 0 turns the per-IP cap off. */
static void test_config_connection_limits(void **state)
{
    const char *env[] = { "STATEWAVE_HEADER_TIMEOUT_SECONDS=3", "STATEWAVE_MAX_CONNECTIONS=100",
                          "STATEWAVE_MAX_CONNECTIONS_PER_IP=0",
                          "STATEWAVE_MAX_INFLIGHT_BODY_BYTES=1048576", NULL };
    struct config c;
    struct err e;

    (void)state;
    assert_int_equal(load(&c, env, NULL, &e), 0);
    assert_int_equal(c.header_timeout, 3);
    assert_int_equal(c.max_connections, 100);
    assert_int_equal(c.max_connections_per_ip, 0);
    assert_int_equal(c.max_inflight_body, 1048576);
    config_release(&c);
    expect_bad("STATEWAVE_HEADER_TIMEOUT_SECONDS=0", "STATEWAVE_HEADER_TIMEOUT_SECONDS");
    expect_bad("STATEWAVE_MAX_CONNECTIONS=8", "STATEWAVE_MAX_CONNECTIONS");
    expect_bad("STATEWAVE_MAX_CONNECTIONS_PER_IP=-1", "STATEWAVE_MAX_CONNECTIONS_PER_IP");
    expect_bad("STATEWAVE_MAX_INFLIGHT_BODY_BYTES=10", "STATEWAVE_MAX_INFLIGHT_BODY_BYTES");
}

/* The SQLite WAL's hard cap (issue 14): MiB, 8 to 65536. */
static void test_config_sqlite_wal_max(void **state)
{
    const char *env[] = { "STATEWAVE_SQLITE_WAL_MAX_MB=512", NULL };
    struct config c;
    struct err e;

    (void)state;
    assert_int_equal(load(&c, env, NULL, &e), 0);
    assert_int_equal(c.sqlite_wal_max_mb, 512);
    config_release(&c);
    expect_bad("STATEWAVE_SQLITE_WAL_MAX_MB=7", "STATEWAVE_SQLITE_WAL_MAX_MB");
    expect_bad("STATEWAVE_SQLITE_WAL_MAX_MB=65537", "STATEWAVE_SQLITE_WAL_MAX_MB");
    expect_bad("STATEWAVE_SQLITE_WAL_MAX_MB=64MB", "STATEWAVE_SQLITE_WAL_MAX_MB");
}

static void test_config_dotenv_and_env_precedence(void **state)
{
    char path[] = "/tmp/engram-env-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    const char *env[] = { "STATEWAVE_PORT=9100", NULL };
    struct config c;
    struct err e;

    (void)state;
    fputs("# comment\nSTATEWAVE_PORT=9200\nexport STATEWAVE_API_KEY=\"from-file\"\n"
          "\nSTATEWAVE_DEBUG=on\n", f);
    fclose(f);
    assert_int_equal(load(&c, env, path, &e), 0);
    assert_int_equal(c.port, 9100);       /* the environment wins */
    assert_string_equal(c.api_key, "from-file");
    assert_int_equal(c.debug, 1);
    config_release(&c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_values_case_insensitive),
        cmocka_unit_test(test_config_bad_values_name_the_variable),
        cmocka_unit_test(test_config_ingest_group_commit),
        cmocka_unit_test(test_config_cors_origins_json),
        cmocka_unit_test(test_config_connection_limits),
        cmocka_unit_test(test_config_sqlite_wal_max),
        cmocka_unit_test(test_config_dotenv_and_env_precedence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
