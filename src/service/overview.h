/* overview.h - the operator's overview (spec/api.md §7.6, §5.2): tenants, rows without a
 * tenant, usage windows, the dashboard's figures and the schema's migration state. Cross-tenant
 * reads for /admin and /ops; each is a bounded, indexed query of the store. */
#ifndef ENGRAM_SERVICE_OVERVIEW_H
#define ENGRAM_SERVICE_OVERVIEW_H

#include <stdint.h>

#include "service/health.h"
#include "store/store.h"

/* The hint GET /admin/tenant-audit gives with its counts. */
extern const char overview_tenant_guidance[];

/* The migration state of the database against this binary (GET /ops/migrations). */
struct schema_status {
    const char *current_revision;     /* "0005_admin_usage_indexes"; NULL on an empty database
                                       * or when it could not be read */
    const char *expected_head;        /* this binary's last step */
    int is_compatible;                /* the database is exactly at the head */
    int64_t pending_count;
    const char **pending_revisions;   /* the steps not applied yet, oldest first */
    const char *error;                /* NULL, or why the version could not be read */
    const char *summary;              /* one human sentence */
};

/* Fill *out for st's database (strings in a). Never fails: a database error becomes
 * out->error. */
void overview_schema_status(struct arena *a, store *st, struct schema_status *out);

/* One page of the distinct episode tenants, sorted. */
int overview_tenants(struct arena *a, store *st, const struct store_page *pg,
                     struct string_rows *out, struct err *err);

/* Usage of tenant (NULL = every tenant) as of now: rows created since today 00:00 UTC
 * (*period_start), the last 7 and 30 days, and in all. */
int overview_usage(store *st, const char *tenant, int64_t now, int64_t *period_start,
                   struct usage_report *out, struct err *err);

/* Everything GET /admin/dashboard shows. */
struct dashboard {
    struct health_report readiness;   /* the /readyz checks */
    struct schema_status migration;
    struct overview_counts counts;    /* totals and the health distribution */
    struct status_count_rows jobs;    /* compile jobs by status */
    struct webhook_stats webhooks;
};

/* Gather the dashboard from st (strings and rows in a); -1 with err set when a count fails. */
int overview_dashboard(struct arena *a, store *st, struct dashboard *out, struct err *err);

#endif
