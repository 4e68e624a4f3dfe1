/* api.h - the HTTP resources: one handler per route (parse + validate → service → render),
 * and the static route table the server dispatches on. */
#ifndef ENGRAM_API_API_H
#define ENGRAM_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

extern const struct route api_routes[];
extern const size_t api_routes_count;

/* health.c */
int api_healthz(struct req *req);
int api_readyz(struct req *req);
/* episodes.c */
int api_episodes_create(struct req *req);
int api_episodes_batch(struct req *req);
/* subjects.c */
int api_timeline(struct req *req);
int api_subjects_list(struct req *req);
int api_subjects_delete(struct req *req);

/* compile.c (the memory loop: compile, jobs) */
int api_memories_compile(struct req *req);
int api_memories_compile_status(struct req *req);
/* search.c (memory search) */
int api_memories_search(struct req *req);
/* context.c (context bundles) */
int api_context(struct req *req);
/* labels.c (sensitivity labels) */
int api_memories_labels(struct req *req);
int api_receipts_list(struct req *req);
int api_receipts_get(struct req *req);
int api_receipts_verify(struct req *req);
int api_receipts_replay(struct req *req);
int api_version(struct req *req);
int api_templates_list(struct req *req);
int api_templates_get(struct req *req);
int api_templates_apply(struct req *req);
/* metrics.c (Prometheus text) */
int api_metrics(struct req *req);
/* admin_jobs.c (compile jobs, operator view) */
int api_admin_jobs_list(struct req *req);
int api_admin_jobs_delete(struct req *req);
/* admin_export.c (subject export and import) */
int api_admin_export(struct req *req);
int api_admin_import(struct req *req);

/* admin_memory.c (memory payload export/import) */
int api_admin_memory_export(struct req *req);
int api_admin_memory_import(struct req *req);
int api_admin_memory_clone(struct req *req);
/* admin_subjects.c: the subject explorer and the admin deletes (spec/api.md §7.4, §7.5) */
int api_admin_subjects_list(struct req *req);
int api_admin_subjects_get(struct req *req);
int api_admin_subjects_sla(struct req *req);
int api_admin_subjects_memories(struct req *req);
int api_admin_subjects_episodes(struct req *req);
int api_admin_subjects_citing(struct req *req);
int api_admin_subjects_related(struct req *req);
int api_admin_subjects_session_timeline(struct req *req);
int api_admin_subjects_delete(struct req *req);
int api_admin_subjects_preview_delete(struct req *req);
int api_admin_subjects_bulk_delete(struct req *req);

/* admin_snapshots.c (snapshots and cleanup, flag-gated) */
int api_admin_snapshots_list(struct req *req);
int api_admin_snapshots_create(struct req *req);
int api_admin_snapshots_restore(struct req *req);
int api_admin_snapshots_restore_by_name(struct req *req);
int api_admin_cleanup(struct req *req);
/* Their response bodies, also printed by `engram snapshot` and `engram cleanup` (jv values
 * in the arena a; the structs come from service/snapshots.h and service/cleanup.h). */
struct arena;
struct jv;
struct snapshot;
struct snapshot_create_result;
struct snapshot_restore_result;
struct cleanup_result;
struct jv *api_snapshot_json(struct arena *a, const struct snapshot *s);
struct jv *api_snapshot_list_json(struct arena *a, const struct snapshot *snaps, size_t n);
struct jv *api_snapshot_create_json(struct arena *a, const struct snapshot_create_result *r);
struct jv *api_snapshot_restore_json(struct arena *a, const struct snapshot_restore_result *r);
struct jv *api_cleanup_json(struct arena *a, const struct cleanup_result *r, int dry_run);
/* support.c: the body of POST /v1/handoff, also the engram_handoff MCP tool's result (the
 * structs come from service/handoff.h; now is the brief's generated_at). */
struct handoff_request;
struct handoff;
struct jv *api_handoff_json(struct arena *a, const struct handoff_request *rq,
                            const struct handoff *h, int64_t now);
/* mcp_http.c (the MCP server over Streamable HTTP, spec/api.md §11.1) */
int api_mcp_post(struct req *req);
/* admin_webhooks.c (the webhook queue, spec/api.md §7.3) */
int api_admin_webhooks_list(struct req *req);
int api_admin_webhooks_stats(struct req *req);
int api_admin_webhooks_get(struct req *req);
int api_admin_webhooks_purge(struct req *req);
/* resolutions.c (support resolutions, spec/api.md §4.1) */
int api_resolutions_create(struct req *req);
int api_resolutions_list(struct req *req);
struct resolution;
struct arena;
struct jv;
/* The Resolution object (spec/api.md §2), in the arena. */
struct jv *api_resolution_json(struct arena *a, const struct resolution *r);
/* support.c (handoff, subject health, SLA: spec/api.md §4.2-§4.4) */
int api_handoff(struct req *req);
int api_subject_health(struct req *req);
int api_subject_sla(struct req *req);
/* admin_overview.c (tenants, usage, dashboard: spec/api.md §7.6; migrations: §5.2) */
int api_admin_tenants(struct req *req);
int api_admin_tenant_audit(struct req *req);
int api_admin_usage(struct req *req);
int api_admin_dashboard(struct req *req);
int api_ops_migrations(struct req *req);
/* admin_packs.c (starter packs and the support docs pack, spec/api.md §7.7) */
int api_admin_packs_list(struct req *req);
int api_admin_packs_import(struct req *req);
int api_admin_support_state(struct req *req);
int api_admin_support_reseed(struct req *req);
/* llm.c (the LLM pass-through, spec/api.md §5.1) */
int api_llm_complete(struct req *req);
/* openapi.c (the OpenAPI document) and docs.c (the page that shows it, and its files) */
int api_openapi(struct req *req);
int api_docs(struct req *req);
int api_docs_redirect(struct req *req);
int api_docs_asset(struct req *req);
extern const char *const api_page_headers[]; /* CSP and friends of /docs and /ui/ */
/* ui.c (the admin web UI: its page at every /ui/ path, and its files) */
int api_ui(struct req *req);
int api_ui_redirect(struct req *req);
int api_ui_asset(struct req *req);
#endif
