/* compiler.h - turning episodes into memories: the heuristic compiler (PCRE2 patterns,
 * spec/behavior.md §4) and the LLM compiler (OpenAI-compatible chat completions, §8,
 * data-model.md §3). Pure functions of their input: no database access. */
#ifndef ENGRAM_SERVICE_COMPILER_H
#define ENGRAM_SERVICE_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Compile the fact patterns once at start (JIT where available). */
int compiler_setup(struct err *err);
void compiler_shutdown(void);

/* Memories for eps (oldest first), in emission order. Each memory is complete: new id,
 * subject from its episode, tenant, valid_from = the episode's created_at, valid_to open,
 * source_episode_ids = [episode id], status active, created_at = updated_at = now. */
int compile_heuristic(struct arena *a, const struct episode *eps, size_t n, const char *tenant,
                      int64_t now, struct memory **out, size_t *nout, struct err *err);
/* The LLM compiler (cfg->compiler_type "llm"): batches of ≤6000 characters, ≤4 calls in
 * flight; a failed batch falls back to the heuristic compiler for its episodes. */
int compile_llm(struct arena *a, const struct episode *eps, size_t n, const char *tenant,
                int64_t now, struct memory **out, size_t *nout, struct err *err);

#endif
