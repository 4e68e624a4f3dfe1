/* llm_complete.c - the LLM pass-through (spec/api.md §5.1) on the OpenAI-compatible client. */
#include "service/llm_complete.h"

#include <stdlib.h>
#include <string.h>

#include "service/llm.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"

/* The chat completion request for rq, as compact JSON (heap). */
static char *request_body(struct arena *a, const struct llm_request *rq)
{
    struct jv *o = jv_object(a), *msgs = jv_array(a);
    struct buf b = BUF_INIT;
    size_t i;

    jv_object_set(a, o, "model", jv_str(a, cfg->llm_model));
    for (i = 0; i < rq->n; i++) {
        struct jv *m = jv_object(a);

        jv_object_set(a, m, "role", jv_str(a, rq->messages[i].role));
        jv_object_set(a, m, "content", jv_str(a, rq->messages[i].content));
        jv_array_append(a, msgs, m);
    }
    jv_object_set(a, o, "messages", msgs);
    jv_object_set(a, o, "temperature",
                  jv_real(a, rq->has_temperature ? rq->temperature : cfg->llm_temperature));
    if (rq->max_tokens > 0)
        jv_object_set(a, o, "max_tokens", jv_int(a, rq->max_tokens));
    jv_write_compact(&b, o);
    return buf_detach(&b, NULL);
}

int llm_complete(struct arena *a, const struct llm_request *rq, const char **reply,
                 struct err *err)
{
    struct err up = ERR_INIT;
    char *body, *content = NULL;
    int ret;

    *reply = NULL;
    if (!cfg->llm_model || !*cfg->llm_model)
        return err_set_code(err, ERR_UNAVAILABLE, "llm_not_configured",
                            "LLM provider is not configured.");
    body = request_body(a, rq);
    ret = llm_chat(body, &content, &up);
    free(body);
    if (ret == 0) {
        *reply = arena_strdup(a, content);
        free(content);
        return 0;
    }
    log_write(LOG_WARN, "llm complete failed: %s", up.msg);
    if (up.kind == LLM_ERR_TIMEOUT)
        ret = err_set_code(err, LLM_ERR_TIMEOUT, "upstream_llm_timeout",
                           "LLM call timed out after %g seconds.", cfg->llm_timeout);
    else
        ret = err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error",
                           "Upstream LLM call failed.");
    err_release(&up);
    return ret;
}
