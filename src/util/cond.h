/* cond.h - condition variables on the monotonic clock, for the background loops (util/worker:
 * compile jobs, webhook delivery, cleanup, ...) that sleep until a deadline or a wake-up. */
#ifndef ENGRAM_UTIL_COND_H
#define ENGRAM_UTIL_COND_H

#include <pthread.h>
#include <stdint.h>

/* Initialise *c to time its waits on CLOCK_MONOTONIC (wall-clock jumps do not cut or stretch
 * a sleep). */
void cond_init_monotonic(pthread_cond_t *c);
/* Wait on c for at most us microseconds (c made by cond_init_monotonic); lock is held by the
 * caller, released while waiting and held again on return. Spurious wake-ups happen: the
 * caller re-checks its condition. */
void cond_wait_us(pthread_cond_t *c, pthread_mutex_t *lock, int64_t us);

#endif
