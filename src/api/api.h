/* api.h - the HTTP resources: one handler per route (parse + validate → service → render),
 * and the static route table the server dispatches on. */
#ifndef ENGRAM_API_API_H
#define ENGRAM_API_API_H

#include <stddef.h>

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

#endif
