/* webhooks.h - outbound webhook events (spec/api.md §1.12, behavior.md §12): recording an
 * event in the same transaction as the change it describes, and the deliverer thread that
 * POSTs due events with retries and backoff, then marks them delivered or dead_letter.
 *
 * With STATEWAVE_WEBHOOK_URL unset nothing is recorded and no thread runs. Delivery happens
 * only in the deliverer thread, so a slow or dead receiver never slows an API request.
 */
#ifndef ENGRAM_SERVICE_WEBHOOKS_H
#define ENGRAM_SERVICE_WEBHOOKS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define WEBHOOK_MAX_ATTEMPTS 5     /* attempts before an event is dead_letter */
#define WEBHOOK_CLAIM_MAX 20       /* events the deliverer takes per pass */
#define WEBHOOK_POLL_SECONDS 5     /* longest sleep between passes */

/* 1 when STATEWAVE_WEBHOOK_URL is set. */
int webhooks_enabled(void);

/* Record one event: a pending webhook_events row (tenant NULL) whose payload is the envelope
 * {"event": event, "timestamp": <offset-form now>, "data": data}. Call inside the caller's
 * open transaction, so the event is durable exactly when the change commits. Takes over the
 * reference to data (json_pack's NULL is a failure). Does nothing but release data when
 * webhooks are off. Returns -1 with err set when the row cannot be written. */
int webhooks_record(store *st, const char *event, json_t *data, struct err *err);

/* After the caller committed a transaction in which this thread recorded events: wake the
 * deliverer so they go out now rather than at its next poll. Cheap when nothing was
 * recorded. */
void webhooks_wake(void);

/* The envelope text of event at time now with data (borrowed): compact JSON, keys in the
 * order event, timestamp, data. Caller frees. */
char *webhooks_envelope(const char *event, int64_t now, const json_t *data);

/* Seconds to wait after failed attempt number `attempts` (1-based): 30 * 4^(attempts-1) times
 * a random factor in [0.5, 1.5], times STATEWAVE_WEBHOOK_BACKOFF_SCALE. */
double webhooks_backoff(int attempts);

/* Start the deliverer thread when webhooks are on (its own store connection). */
int webhooks_start(struct err *err);
/* Stop it: an attempt in flight is abandoned and the events it still held become due again
 * at once, attempts unchanged. */
void webhooks_stop(void);

#endif
