/* llm_complete.h - POST /v1/llm/complete (spec/api.md §5.1): one chat completion with the
 * configured model (STATEWAVE_LITELLM_MODEL) through the OpenAI-compatible client (llm.h).
 * The caller never picks the model, and the provider's own text never reaches the caller. */
#ifndef ENGRAM_SERVICE_LLM_COMPLETE_H
#define ENGRAM_SERVICE_LLM_COMPLETE_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

struct llm_message {
    const char *role;               /* system | user | assistant | tool */
    const char *content;
};

struct llm_request {
    const struct llm_message *messages;
    size_t n;
    int64_t max_tokens;             /* 0 = not sent */
    int has_temperature;            /* 0: the configured STATEWAVE_LITELLM_TEMPERATURE */
    double temperature;
};

/*
 * Run rq; *reply (arena a) gets the completion's text. Failures, each with its spec message:
 *   503 llm_not_configured   `LLM provider is not configured.` (the model setting is empty)
 *   504 upstream_llm_timeout `LLM call timed out after N seconds.`
 *   502 upstream_llm_error   `Upstream LLM call failed.` (any other provider failure; the
 *                            cause is logged, never returned)
 */
int llm_complete(struct arena *a, const struct llm_request *rq, const char **reply,
                 struct err *err);

#endif
