/* ratelimit.h - request budgets per client key (spec/api.md §1.7, data-model.md §5); the
 * http pipeline step (http/ratelimit.c) finds the key and asks here.
 *
 * Two strategies (STATEWAVE_RATE_LIMIT_STRATEGY):
 * - memory: a sliding 60 s window per key in this process. A hit is allowed while fewer than
 *   rpm accepted hits lie in the last 60 s, and only allowed hits are recorded.
 * - distributed: fixed windows aligned to epoch minutes, counted in the database
 *   (rate_limit_hits) so that every process on it shares one budget. Rejected hits count too.
 *   The upsert runs on the worker thread's own connection (one autocommit statement, outside
 *   any transaction; a short busy timeout on SQLite), so the limiter never waits for a
 *   connection. Any database failure allows the request (fail-open) and logs a warning.
 */
#ifndef ENGRAM_SERVICE_RATELIMIT_H
#define ENGRAM_SERVICE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_WINDOW_US (60 * INT64_C(1000000))

/* Count one request of key (a client address) against cfg->rate_limit_rpm with the configured
 * strategy. Returns 0 when it may proceed (the limit is off, the budget allows it, or the
 * database failed), else the Retry-After seconds (>= 1). */
int ratelimit_take(const char *key);

/* ---- the memory strategy, usable on its own (tests) ---- */

/* Sliding windows for any number of keys; thread-safe (one mutex). Memory stays bounded: a
 * key holds at most rpm hit times, and keys whose hits all left the window are dropped by
 * the sweep that runs at most once per window length. */
struct ratelimit_window;

struct ratelimit_window *ratelimit_window_new(int rpm);
void ratelimit_window_free(struct ratelimit_window *w);
/* Count a hit of key at now_us (a monotonic clock in microseconds, never going back). Returns
 * 0 and records the hit when fewer than rpm hits lie in (now_us - 60 s, now_us]; otherwise
 * records nothing and returns the Retry-After seconds, int(60 - (now - oldest)) + 1 (≥ 1). */
int ratelimit_window_hit(struct ratelimit_window *w, const char *key, int64_t now_us);
/* Forget hits at least 60 s old and the keys left without any; returns the keys kept. */
size_t ratelimit_window_sweep(struct ratelimit_window *w, int64_t now_us);
/* Keys currently held. */
size_t ratelimit_window_keys(struct ratelimit_window *w);

/* ---- the distributed strategy's arithmetic ---- */

/* Start of the fixed window holding epoch second t: floor(t / 60) * 60. */
int64_t ratelimit_window_start(int64_t t);
/* Retry-After for a rejection at epoch second t in the window starting at start:
 * max(1, 60 - (t - start)). */
int ratelimit_retry_after_fixed(int64_t t, int64_t start);

#endif
