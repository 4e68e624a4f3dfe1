/* service.h - start and stop the service layer's process-wide parts in one call: compiler
 * patterns, embedding provider, tokenizer, compile job workers, the cleanup loop. */
#ifndef ENGRAM_SERVICE_SERVICE_H
#define ENGRAM_SERVICE_SERVICE_H

#include "util/err.h"

/* Call once after the configuration and store_setup(), before serving requests. On failure
 * whatever was started is stopped again and err says why. */
int service_setup(struct err *err);
/* Stop the job workers (a running job finishes first) and release the rest. Call after the
 * HTTP server stopped and before store_shutdown(). */
void service_shutdown(void);

#endif
