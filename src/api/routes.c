/* routes.c - the static route table: method, path pattern, handler, name.
 * Static paths come before patterns that could also match them. */
#include "api/api.h"

const struct route api_routes[] = {
    { "GET", "/healthz", api_healthz, "healthz" },
    { "GET", "/health", api_healthz, "health" },
    { "GET", "/readyz", api_readyz, "readyz" },
    { "GET", "/ready", api_readyz, "ready" },
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
    { "PATCH", "/v1/memories/{memory_id}/labels", api_memories_labels, "memories.labels" },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
