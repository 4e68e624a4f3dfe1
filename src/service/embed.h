/* embed.h - embedding providers behind one interface (spec/data-model.md §2,
 * behavior.md §7): "none", "stub" (deterministic SHA-512 vectors, not semantic, the
 * default) and "openai" (any OpenAI-compatible /v1/embeddings endpoint, semantic). */
#ifndef ENGRAM_SERVICE_EMBED_H
#define ENGRAM_SERVICE_EMBED_H

#include <stddef.h>

#include "store/store.h"

/* Build the provider named by cfg->embedding_provider (once, at start). */
int embed_setup(struct err *err);
void embed_shutdown(void);
/* 1 unless the provider is "none". */
int embed_available(void);
/* 1 for a provider whose vectors carry meaning (not stub, not none). */
int embed_semantic(void);
/* Vector width (cfg->embedding_dimensions). */
size_t embed_dim(void);

/* Embed n texts in one provider call: *out gets n * embed_dim() floats (arena).
 * Returns -1 with err set when the provider fails (nothing is cached). */
int embed_texts(struct arena *a, const char *const *texts, size_t n, float **out,
                struct err *err);
/* Embed a query: for semantic providers through the caches (database L2, in-process L1),
 * for the stub directly. */
int embed_query(struct arena *a, store *st, const char *text, float **out, struct err *err);
/* Cosine similarity in double over float32 values (0 when either vector is zero). */
double embed_cosine(const float *x, const float *y, size_t dim);
/* x's squared norm, summed in order as embed_cosine sums it. */
double embed_norm2(const float *x, size_t dim);
/* embed_cosine(x, y, dim) for nx = embed_norm2(x, dim): the same sums in the same order, so
 * the same value to the bit, without summing x's norm once per y. */
double embed_cosine_nx(const float *x, double nx, const float *y, size_t dim);
/* embed_cosine_nx for four vectors y[0..3] at once, into out[0..3]: each value the same to
 * the bit, about four times the throughput (the sums of one vector are a chain of dependent
 * additions; four chains overlap). */
void embed_cosine_nx4(const float *x, double nx, const float *const y[4], size_t dim,
                      double out[4]);
/* The stub vector of text (len bytes) in double precision (spec/data-model.md §2.2). */
void embed_stub(const char *text, size_t len, size_t dim, double *out);

#endif
