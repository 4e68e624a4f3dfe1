/* service.c - the service layer's start-up and shut-down, in dependency order. */
#include "service/service.h"

#include "service/compiler.h"
#include "service/embed.h"
#include "service/jobs.h"
#include "service/tokens.h"

int service_setup(struct err *err)
{
    if (compiler_setup(err) < 0)
        return -1;
    if (embed_setup(err) < 0)
        goto fail_compiler;
    if (tokens_setup(err) < 0)
        goto fail_embed;
    if (jobs_start(err) < 0)
        goto fail_tokens;
    return 0;
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
    jobs_stop();
    tokens_shutdown();
    embed_shutdown();
    compiler_shutdown();
}
