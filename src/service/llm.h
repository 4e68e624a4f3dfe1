/* llm.h - a small client for OpenAI-compatible HTTP endpoints over libcurl: chat completions
 * (the LLM compiler) and embeddings (the "openai" embedding provider), spec/behavior.md §8,
 * data-model.md §2.3 and §3.2.
 *
 * Every call uses the process configuration: cfg->llm_api_base (NULL or "" means
 * https://api.openai.com/v1; "/v1" is appended when the base does not end in it) and
 * cfg->llm_api_key (sent as "Authorization: Bearer ..." when set). Calls are thread-safe:
 * each one uses its own curl handle. Neither the key nor any payload is ever logged.
 *
 * Failures fill err with one of two codes: "upstream_llm_timeout" (kind 504: the overall
 * deadline passed) or "upstream_llm_error" (kind 502: connection error, HTTP error status,
 * or a body that is not what the endpoint promises).
 */
#ifndef ENGRAM_SERVICE_LLM_H
#define ENGRAM_SERVICE_LLM_H

#include <stddef.h>

#include "util/err.h"

/* Error kinds of upstream failures: the HTTP statuses POST /v1/llm/complete answers with. */
#define LLM_ERR_UPSTREAM ((enum err_kind)502)
#define LLM_ERR_TIMEOUT ((enum err_kind)504)

/* Initialise libcurl once for the process (later calls do nothing). The request functions
 * call it themselves, so calling it at start-up only moves the cost there. */
int llm_setup(struct err *err);
/* Release libcurl's global state; call after every thread that used the client stopped. */
void llm_shutdown(void);

/* The full URL of path (e.g. "/embeddings") under the configured base. Caller frees. */
char *llm_url(const char *path);

/* POST the JSON text body to {base}{path} within one overall deadline of timeout_ms, retrying
 * up to `retries` extra times on transient failures (connection errors, 408, 429, 5xx) with a
 * short backoff that never passes the deadline. On a 2xx answer returns 0 with *response the
 * body (heap, NUL-terminated; caller frees). Otherwise returns -1 with *response NULL and err
 * set. *status (may be NULL) gets the last HTTP status, 0 when none was received. */
int llm_post_json(const char *path, const char *body, long timeout_ms, int retries,
                  char **response, long *status, struct err *err);

/* One chat completion: body is the complete request JSON. Uses cfg->llm_timeout and
 * cfg->llm_max_retries. On success *content gets choices[0].message.content (a JSON null
 * reads as ""), heap, caller frees. A body without choices[0].message is an error. */
int llm_chat(const char *body, char **content, struct err *err);

/* Embed n texts (n > 0) in one request {"model", "input": [...], "dimensions": dim} with
 * cfg->llm_timeout and no retries. out (caller-owned, n * dim floats) gets the vectors in
 * input order: sorted by data[*].index when every item has one, else in the order returned.
 * A missing data or embedding, a count other than n, or a vector whose length is not dim
 * is an error. */
int llm_embed(const char *model, const char *const *texts, size_t n, size_t dim, float *out,
              struct err *err);

#endif
