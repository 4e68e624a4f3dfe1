/* postgres_backup.c - PostgreSQL backend: full-database backup is pg_dump's job
 * (spec/backup-snapshots.md §4); the op only says so. */
#include "store/postgres/postgres-internal.h"

int pgst_backup(store *st, const char *path, struct err *err)
{
    (void)pgst_downcast(st);
    (void)path;
    return err_set(err, ERR_INVALID, "use pg_dump to back up a PostgreSQL database (see README)");
}
