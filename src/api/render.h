/* render.h - the spec's object shapes (spec/api.md §2) as jv values in the request arena, and
 * the same shapes streamed straight into a buffer for the hot responses. */
#ifndef ENGRAM_API_RENDER_H
#define ENGRAM_API_RENDER_H

#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"

struct jv;

/* Z-form timestamp string (JSON null for TS_NULL). */
struct jv *render_ts_z(struct arena *a, int64_t us);
/* Offset-form timestamp string, as /admin responses write them (JSON null for TS_NULL). */
struct jv *render_ts_offset(struct arena *a, int64_t us);
/* A JSON string, or null for NULL. */
struct jv *render_str_or_null(struct arena *a, const char *s);
/* Stored compact JSON text (written by us), spliced as it is (a raw node); the fallback text
 * when it is NULL or empty. */
struct jv *render_stored_json(struct arena *a, const char *text, const char *fallback);
/* Episode: id, subject_id, source, type, payload, metadata, provenance, session_id,
 * created_at, occurred_at (Engram; null when not sent). */
struct jv *render_episode(struct arena *a, const struct episode *ep);
/* Memory: id, subject_id, kind, content, summary, confidence, valid_from, valid_to,
 * source_episode_ids, metadata, status, created_at, updated_at (and sensitivity_labels when
 * the memory has labels). */
struct jv *render_memory(struct arena *a, const struct memory *m);
/* Arrays of n episodes / memories, streamed (render_*_to) into one raw node. */
struct jv *render_episodes(struct arena *a, const struct episode *eps, size_t n);
struct jv *render_memories(struct arena *a, const struct memory *mems, size_t n);

/* The same objects appended to out as compact JSON, byte for byte what jv_write_compact
 * makes of the jv forms above; and a Z-form timestamp string (null for TS_NULL). */
void render_episode_to(struct buf *out, const struct episode *ep);
void render_memory_to(struct buf *out, const struct memory *m);
void render_ts_z_to(struct buf *out, int64_t us);

/* ---- support shapes shared with the admin explorer (support.c) ---- */

struct subject_health;
struct sla_summary;
/* HealthFactor objects: the first max factors of h. */
struct jv *support_factors_json(struct arena *a, const struct subject_health *h, size_t max);
/* The §4.4 SLA body of s; subject NULL leaves subject_id out, with_sessions 0 the sessions. */
struct jv *support_sla_json(struct arena *a, const char *subject, const struct sla_summary *s,
                            int with_sessions);

#endif
