/* service.h - start and stop the service layer's process-wide parts in one call: compiler
 * patterns, embedding provider, tokenizer, compile job workers, the cleanup loop. */
#ifndef ENGRAM_SERVICE_SERVICE_H
#define ENGRAM_SERVICE_SERVICE_H

#include "store/store.h"
#include "util/err.h"

/* Call once after the configuration and store_setup(), before serving requests. On failure
 * whatever was started is stopped again and err says why. */
int service_setup(struct err *err);
/* Stop the job workers (a running job finishes first) and release the rest. Call after the
 * HTTP server stopped and before store_shutdown(). */
void service_shutdown(void);
/* The calling thread's database connection, for the handlers to hand to the service calls
 * they make (each HTTP worker has its own, opened on first use). NULL with err set when the
 * database cannot be reached. Handlers never call store/ themselves (DESIGN.md's layers). */
store *service_store(struct err *err);

#endif
