/* overview.c - the operator's overview: tenants, usage windows, the dashboard and the
 * schema's migration state (spec/api.md §5.2, §7.6). */
#include "service/overview.h"

#include <string.h>

#include "service/jobs.h"
#include "service/webhooks.h"
#include "util/log.h"

#define DAY_US (86400LL * 1000000LL)

const char overview_tenant_guidance[] =
    "Rows with a NULL tenant_id are visible to every tenant-less request and to no tenant. "
    "To assign them to a tenant, run for example: "
    "UPDATE episodes SET tenant_id = '<tenant>' WHERE tenant_id IS NULL; "
    "UPDATE memories SET tenant_id = '<tenant>' WHERE tenant_id IS NULL; "
    "UPDATE compile_jobs SET tenant_id = '<tenant>' WHERE tenant_id IS NULL;";

/* "0005_admin_usage_indexes", or "0005" when the binary does not know the step. */
static const char *revision(struct arena *a, store *st, int version)
{
    const char *name = store_migration_name(st, version);

    if (name)
        return arena_printf(a, "%04d_%s", version, name);
    return arena_printf(a, "%04d", version);
}

static void fill_pending(struct arena *a, store *st, int current, int latest,
                         struct schema_status *out)
{
    int v;

    out->pending_count = current < latest ? latest - current : 0;
    out->pending_revisions = arena_alloc(a, (size_t)(out->pending_count + 1) *
                                                sizeof(*out->pending_revisions));
    for (v = current + 1; v <= latest; v++)
        out->pending_revisions[v - current - 1] = revision(a, st, v);
}

void overview_schema_status(struct arena *a, store *st, struct schema_status *out)
{
    struct err err = ERR_INIT;
    int current = 0, latest = 0;

    memset(out, 0, sizeof(*out));
    out->pending_revisions = arena_alloc(a, sizeof(*out->pending_revisions));
    if (store_schema_version(st, &current, &latest, &err) < 0) {
        log_write(LOG_WARN, "reading the schema version failed: %s", err.msg);
        err_release(&err);
        out->expected_head = revision(a, st, store_migration_latest(st));
        out->error = "The schema version could not be read from the database.";
        out->summary = "Schema state unknown";
        return;
    }
    out->expected_head = revision(a, st, latest);
    out->current_revision = current > 0 ? revision(a, st, current) : NULL;
    out->is_compatible = current == latest;
    fill_pending(a, st, current, latest, out);
    if (current == latest)
        out->summary = "Schema is up to date";
    else if (current < latest)
        out->summary = arena_printf(a, "%d migration(s) pending", latest - current);
    else
        out->summary = arena_printf(a, "Database schema (%d) is newer than this server (%d)",
                                    current, latest);
}

int overview_tenants(struct arena *a, store *st, const struct store_page *pg,
                     struct string_rows *out, struct err *err)
{
    return store_tenant_list(st, a, pg, out, err);
}

int overview_usage(store *st, const char *tenant, int64_t now, int64_t *period_start,
                   struct usage_report *out, struct err *err)
{
    struct usage_query q;

    memset(&q, 0, sizeof(q));
    q.tenant = tenant;
    q.today = now - (now % DAY_US + DAY_US) % DAY_US;
    q.d7 = now - 7 * DAY_US;
    q.d30 = now - 30 * DAY_US;
    *period_start = q.today;
    return store_usage(st, &q, out, err);
}

int overview_dashboard(struct arena *a, store *st, struct dashboard *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    health_readiness(a, &out->readiness);
    overview_schema_status(a, st, &out->migration);
    if (store_overview(st, &out->counts, err) < 0 ||
        jobs_count_by_status(a, st, &out->jobs, err) < 0 ||
        webhooks_stats(st, &out->webhooks, err) < 0)
        return -1;
    return 0;
}
