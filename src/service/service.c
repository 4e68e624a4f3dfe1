/* service.c - the service layer's start-up and shut-down, in dependency order. */
#include "service/service.h"

#include "service/cleanup.h"
#include "service/compiler.h"
#include "service/embed.h"
#include "service/episodes.h"
#include "service/jobs.h"
#include "service/receipts.h"
#include "service/tokens.h"
#include "service/webhooks.h"

static int replicas_start(struct err *err)
{
    return store_replicas_start(err);
}

/* The parts in dependency order: each starts after the ones above it and stops before them. */
static const struct part {
    int (*start)(struct err *err);
    void (*stop)(void);
} parts[] = {
    { replicas_start, store_replicas_stop },
    { compiler_setup, compiler_shutdown },
    { embed_setup, embed_shutdown },
    { tokens_setup, tokens_shutdown },
    { receipts_setup, receipts_shutdown },
    { webhooks_start, webhooks_stop },
    { episodes_writer_start, episodes_writer_stop },
    { jobs_start, jobs_stop },
    { cleanup_loop_start, cleanup_loop_stop },
};

#define N_PARTS (sizeof(parts) / sizeof(parts[0]))

int service_setup(struct err *err)
{
    size_t i;

    for (i = 0; i < N_PARTS; i++) {
        if (parts[i].start(err) < 0) {
            while (i-- > 0)   /* the started ones, in reverse */
                parts[i].stop();
            return -1;
        }
    }
    return 0;
}

void service_shutdown(void)
{
    size_t i = N_PARTS;

    while (i-- > 0)
        parts[i].stop();
}

/* A read endpoint's calls may go to a read replica (store_thread_routed). */
store *service_store(struct err *err)
{
    return store_thread_routed(err);
}
