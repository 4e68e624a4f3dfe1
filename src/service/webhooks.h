/* webhooks.h - outbound webhook events (spec/api.md §1.12, behavior.md §12): recording an
 * event in the same transaction as the change it describes, and the deliverer thread that
 * POSTs due events with retries and backoff, then marks them delivered or dead_letter.
 *
 * With STATEWAVE_WEBHOOK_URL unset nothing is recorded and no thread runs. Delivery happens
 * only in the deliverer thread, so a slow or dead receiver never slows an API request.
 */
#ifndef ENGRAM_SERVICE_WEBHOOKS_H
#define ENGRAM_SERVICE_WEBHOOKS_H

#include <stdint.h>

#include "store/store.h"

#define WEBHOOK_MAX_ATTEMPTS 5     /* attempts before an event is dead_letter */
#define WEBHOOK_CLAIM_MAX 20       /* events the deliverer takes per pass */
#define WEBHOOK_POLL_SECONDS 5     /* longest sleep between passes */

/* 1 when STATEWAVE_WEBHOOK_URL is set. */
int webhooks_enabled(void);

struct jv;

/* Record one event: a pending webhook_events row (tenant NULL) whose payload is the envelope
 * {"event": event, "timestamp": <offset-form now>, "data": data}. Call inside the caller's
 * open transaction, so the event is durable exactly when the change commits. data is
 * borrowed (NULL: an empty object). Does nothing when webhooks are off. Returns -1 with err
 * set when the row cannot be written. */
int webhooks_record(store *st, const char *event, const struct jv *data, struct err *err);

/* After the caller committed a transaction in which this thread recorded events: wake the
 * deliverer so they go out now rather than at its next poll. Cheap when nothing was
 * recorded. */
void webhooks_wake(void);

/* The envelope text of event at time now with data (borrowed; NULL: an empty object):
 * compact JSON, keys in the order event, timestamp, data. Caller frees. */
char *webhooks_envelope(const char *event, int64_t now, const struct jv *data);

/* Seconds to wait after failed attempt number `attempts` (1-based): 30 * 4^(attempts-1) times
 * a random factor in [0.5, 1.5], times STATEWAVE_WEBHOOK_BACKOFF_SCALE. */
double webhooks_backoff(int attempts);

/* Start the deliverer thread when webhooks are on (its own store connection). */
int webhooks_start(struct err *err);
/* Stop it: an attempt in flight is abandoned and the events it still held become due again
 * at once, attempts unchanged. */
void webhooks_stop(void);

/* ---- the operator's view of the queue (spec/api.md §7.3) ---- */

/* One page of the events matching f into *out (rows in the arena). Returns -1 with err set
 * on failure. */
int webhooks_list(struct arena *a, store *st, const struct webhook_filter *f,
                  const struct store_page *pg, struct webhook_rows *out, struct err *err);
/* Counts per status. */
int webhooks_stats(store *st, struct webhook_stats *out, struct err *err);
/* The event with this id (lower-case canonical UUID); *out NULL when there is none. */
int webhooks_get(struct arena *a, store *st, const char *id, struct webhook_event **out,
                 struct err *err);
/* Delete the terminal events matching f: at least one filter is required (400), and a
 * status filter must be delivered or dead_letter (400). *deleted = how many. */
int webhooks_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                   struct err *err);

#endif
