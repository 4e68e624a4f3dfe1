/* render.h - the spec's object shapes (spec/api.md §2) as JSON. */
#ifndef ENGRAM_API_RENDER_H
#define ENGRAM_API_RENDER_H

#include <jansson.h>

#include "store/store.h"
#include "util/buf.h"

/* Z-form timestamp string (json null for TS_NULL). */
json_t *render_ts_z(int64_t us);
/* Offset-form timestamp string, as /admin responses write them (json null for TS_NULL). */
json_t *render_ts_offset(int64_t us);
/* A JSON string, or null for NULL. */
json_t *render_str_or_null(const char *s);
/* Parse stored compact JSON text; a corrupt value renders as the given fallback text. */
json_t *render_stored_json(const char *text, const char *fallback);
/* Episode: id, subject_id, source, type, payload, metadata, provenance, session_id,
 * created_at, occurred_at (Engram; null when not sent). */
json_t *render_episode(const struct episode *ep);
/* Memory: id, subject_id, kind, content, summary, confidence, valid_from, valid_to,
 * source_episode_ids, metadata, status, created_at, updated_at. */
json_t *render_memory(const struct memory *m);

/* The same objects appended to out as compact JSON, byte for byte what json_write_compact
 * makes of the json_t forms above; and a Z-form timestamp string (null for TS_NULL). */
void render_episode_to(struct buf *out, const struct episode *ep);
void render_memory_to(struct buf *out, const struct memory *m);
void render_ts_z_to(struct buf *out, int64_t us);

#endif
