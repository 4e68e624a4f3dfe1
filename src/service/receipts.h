/* receipts.h - context receipts (spec/api.md §5.4): what a POST /v1/context delivered, kept
 * with one insert, fetched, listed, verified (Ed25519) and replayed as of its instant. */
#ifndef ENGRAM_SERVICE_RECEIPTS_H
#define ENGRAM_SERVICE_RECEIPTS_H

#include <stddef.h>
#include <stdint.h>

#include "service/context.h"
#include "store/store.h"

struct jv;

#define RECEIPTS_LIMIT_DEFAULT 50
#define RECEIPTS_LIMIT_MAX 200
#define RECEIPT_ALGORITHM "ed25519"

/* The caller's fields of POST /v1/context that a receipt records (NULL = not sent). */
struct receipt_meta {
    const char *query_id;
    const char *task_id;
    const char *parent_receipt_id;
    const char *caller_id;
    const char *caller_type;
};

/* Load STATEWAVE_RECEIPT_SIGNING_KEY (an Ed25519 private key, PEM) when it is set; fails when
 * the file cannot be read or holds another kind of key. */
int receipts_setup(struct err *err);
void receipts_shutdown(void);

/* Store the receipt of bundle b, assembled for rq at now, signed when a key is configured;
 * its ULID into id. One insert. */
int receipts_emit(struct arena *a, store *st, const char *tenant,
                  const struct context_request *rq, const struct context_bundle *b,
                  const struct receipt_meta *meta, int64_t now, char id[32], struct err *err);
/* The receipt id of the tenant as the API returns it; *out NULL when there is none. */
int receipts_get(struct arena *a, store *st, const char *tenant, const char *id,
                 struct jv **out, struct err *err);
/* {"receipts": [...], "next_cursor": id?}: the subject's receipts that q selects (q->limit of
 * them at most; next_cursor set when more follow). */
int receipts_list(struct arena *a, store *st, const char *tenant, const char *subject,
                  const struct receipt_query *q, struct jv **out, struct err *err);
/* {"valid", "key_id", "algorithm", "reason"} for receipt id; *out NULL when there is none. */
int receipts_verify(struct arena *a, store *st, const char *tenant, const char *id,
                    struct jv **out, struct err *err);
/* Re-run the retrieval of receipt id as of its as_of, store the replay receipt and answer
 * {"original_receipt_id", "replay_receipt_id", "diff"}; *out NULL when there is none. A
 * receipt that cannot be replayed fails with 422 and code unreplayable.<reason>. */
int receipts_replay(struct arena *a, store *st, const char *tenant, const char *id,
                    int64_t now, struct jv **out, struct err *err);

/* ---- signing (receipts_sign.c) ---- */

/* 1 when a signing key is loaded. */
int receipts_can_sign(void);
/* The loaded key's id: the first 16 hex digits of SHA-256 over its raw public key. */
const char *receipts_key_id(void);
/* Sign msg with the loaded key: base64 signature (arena); NULL when no key is loaded. */
const char *receipts_sign(struct arena *a, const char *msg, size_t n);
/* 1 if sig (base64) is the loaded key's signature of msg, 0 if not. */
int receipts_check(const char *msg, size_t n, const char *sig);

#endif
