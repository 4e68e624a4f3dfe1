/* migrations.h - versioned schema steps compiled into the binary, one list per backend.
 * Step N is applied once, in its own transaction, and recorded in schema_migrations. */
#ifndef ENGRAM_STORE_MIGRATIONS_H
#define ENGRAM_STORE_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;        /* 1, 2, 3 … without gaps */
    const char *name;   /* short slug, e.g. "initial_schema" */
    const char *sql;    /* one or more statements separated by ';' */
};

/* Tests only: when > 0, a migration run stops after this version, leaving a database as an
 * older release did (tests/unit/test_store_search_migrate.c). 0 in the server. */
extern int store_migrate_upto;

extern const struct migration sqlite_migrations[];
extern const size_t sqlite_migrations_count;
extern const struct migration postgres_migrations[];
extern const size_t postgres_migrations_count;

#endif
