/* routes.c - the static route table: method, path pattern, handler, name.
 * Static paths come before patterns that could also match them.
 * Every route also needs its description in route_docs.c (looked up by name) for
 * GET /openapi.json: tests/unit/test_openapi.c fails until it has one. */
#include "api/api.h"

const struct route api_routes[] = {
    { "GET", "/healthz", api_healthz, "healthz" },
    { "GET", "/health", api_healthz, "health" },
    { "GET", "/readyz", api_readyz, "readyz" },
    { "GET", "/ready", api_readyz, "ready" },
    { "GET", "/metrics", api_metrics, "metrics" },
    { "POST", "/v1/episodes", api_episodes_create, "episodes.create" },
    { "POST", "/v1/episodes/batch", api_episodes_batch, "episodes.batch" },
    { "GET", "/v1/timeline", api_timeline, "timeline" },
    { "GET", "/v1/subjects", api_subjects_list, "subjects.list" },
    { "DELETE", "/v1/subjects/{subject_id}", api_subjects_delete, "subjects.delete" },
    { "POST", "/v1/memories/compile", api_memories_compile, "memories.compile" },
    { "GET", "/v1/memories/compile/{job_id}", api_memories_compile_status,
      "memories.compile_status" },
    { "GET", "/v1/memories/search", api_memories_search, "memories.search" },
    { "POST", "/v1/context", api_context, "context" },
    { "POST", "/mcp", api_mcp_post, "mcp" },
    { "PATCH", "/v1/memories/{memory_id}/labels", api_memories_labels, "memories.labels" },
    { "POST", "/v1/resolutions", api_resolutions_create, "resolutions.create" },
    { "GET", "/v1/resolutions", api_resolutions_list, "resolutions.list" },
    { "POST", "/v1/handoff", api_handoff, "handoff" },
    { "GET", "/v1/subjects/{subject_id}/health", api_subject_health, "subjects.health" },
    { "GET", "/v1/subjects/{subject_id}/sla", api_subject_sla, "subjects.sla" },
    { "GET", "/v1/deletions/{receipt_id}", api_deletions_get, "deletions.get" },
    { "GET", "/admin/jobs", api_admin_jobs_list, "admin.jobs_list" },
    { "DELETE", "/admin/jobs", api_admin_jobs_delete, "admin.jobs_delete" },
    { "GET", "/admin/export/{subject_id}", api_admin_export, "admin.export" },
    { "POST", "/admin/import", api_admin_import, "admin.import" },
    { "POST", "/admin/memory/export", api_admin_memory_export, "admin.memory_export" },
    { "POST", "/admin/memory/import", api_admin_memory_import, "admin.memory_import" },
    { "GET", "/admin/snapshots", api_admin_snapshots_list, "admin.snapshots_list" },
    { "POST", "/admin/snapshots", api_admin_snapshots_create, "admin.snapshots_create" },
    { "POST", "/admin/snapshots/restore-by-name", api_admin_snapshots_restore_by_name,
      "admin.snapshots_restore_by_name" },
    { "POST", "/admin/snapshots/{snapshot_id}/restore", api_admin_snapshots_restore,
      "admin.snapshots_restore" },
    { "POST", "/admin/cleanup", api_admin_cleanup, "admin.cleanup" },
    /* Engram: fork and diff. The static /admin/subjects/diff comes before any
     * /admin/subjects/{subject_id} pattern. */
    { "GET", "/admin/subjects/diff", api_admin_subjects_diff, "admin.subjects_diff" },
    { "POST", "/admin/subjects/{subject_id}/fork", api_admin_subjects_fork,
      "admin.subjects_fork" },
    { "GET", "/admin/subjects/{subject_id}/lineage", api_admin_subjects_lineage,
      "admin.subjects_lineage" },
    { "GET", "/admin/webhooks", api_admin_webhooks_list, "admin.webhooks_list" },
    { "DELETE", "/admin/webhooks", api_admin_webhooks_purge, "admin.webhooks_purge" },
    { "GET", "/admin/webhooks/stats", api_admin_webhooks_stats, "admin.webhooks_stats" },
    { "GET", "/admin/webhooks/{event_id}", api_admin_webhooks_get, "admin.webhooks_get" },
    { "GET", "/openapi.json", api_openapi, "openapi" },
    { "GET", "/docs", api_docs, "docs" },
    { "GET", "/docs/assets/{file}", api_docs_asset, "docs.asset" },
    { "GET", "/redoc", api_docs_redirect, "docs.redoc" },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
