/* episodes.h - recording episodes: reserved-prefix rule, one clock read per request,
 * idempotency keys, and all-or-nothing batches. Knows neither HTTP nor SQL. */
#ifndef ENGRAM_SERVICE_EPISODES_H
#define ENGRAM_SERVICE_EPISODES_H

#include <stddef.h>

#include "store/store.h"

#define EPISODES_BATCH_MAX 100

/* Refuse a write to a reserved subject id: 400 "Subject id '<id>' uses a reserved prefix
 * (<prefix>)". Returns 0 when the id may be written. */
int subject_check_writable(const char *subject, struct err *err);

/* Store n validated episodes for tenant (NULL = none). Fills each id, tenant_id and the
 * shared created_at. When an idempotency key names an existing episode, eps[i] becomes that
 * episode. n > 1 runs in one transaction: on any failure nothing is written. With webhooks on,
 * the event (spec/api.md §1.12) is recorded in the same transaction, for the episodes that
 * were new.
 * Strings of replaced episodes live in arena a. */
int episodes_record(struct arena *a, store *st, const char *tenant, struct episode *eps,
                    size_t n, struct err *err);
/* episodes_record for one episode, saying whether it was new: *duplicate = 1 when its
 * idempotency key named an existing episode (which *ep then is). */
int episodes_record_one(struct arena *a, store *st, const char *tenant, struct episode *ep,
                        int *duplicate, struct err *err);
/* Parse the RFC 3339 text of an episode time (occurred_at, the timeline bounds): the forms of
 * ts_parse (no offset means UTC), between years 0001 and 9999 once in UTC. Returns 0 and sets
 * *us, or -1 when s is no such time. */
int episodes_parse_time(const char *s, int64_t *us);
/* episodes_record for POST /v1/episodes/batch: one transaction, and its webhook event is
 * episodes.batch_created whatever n (a single ingest fires episode.created). */
int episodes_record_batch(struct arena *a, store *st, const char *tenant, struct episode *eps,
                          size_t n, struct err *err);

#endif
