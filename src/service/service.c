/* service.c - the service layer's start-up and shut-down, in dependency order. */
#include "service/service.h"

#include "service/cleanup.h"
#include "service/compiler.h"
#include "service/embed.h"
#include "service/jobs.h"
#include "service/tokens.h"
#include "service/webhooks.h"

int service_setup(struct err *err)
{
    if (compiler_setup(err) < 0)
        return -1;
    if (embed_setup(err) < 0)
        goto fail_compiler;
    if (tokens_setup(err) < 0)
        goto fail_embed;
    if (webhooks_start(err) < 0)
        goto fail_tokens;
    if (jobs_start(err) < 0)
        goto fail_webhooks;
    if (cleanup_loop_start(err) < 0)
        goto fail_jobs;
    return 0;
fail_jobs:
    jobs_stop();
fail_webhooks:
    webhooks_stop();
fail_tokens:
    tokens_shutdown();
fail_embed:
    embed_shutdown();
fail_compiler:
    compiler_shutdown();
    return -1;
}

void service_shutdown(void)
{
    cleanup_loop_stop();
    jobs_stop();
    webhooks_stop();
    tokens_shutdown();
    embed_shutdown();
    compiler_shutdown();
}
