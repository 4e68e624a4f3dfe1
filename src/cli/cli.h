/* cli.h - what the commands of bin/engram share: the set-up `engram serve` does (the
 * configuration, logging, the store) and the argument helpers. */
#ifndef ENGRAM_CLI_CLI_H
#define ENGRAM_CLI_CLI_H

#include <stddef.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Load the configuration (the environment, then ./.env) into the process-wide cfg, set up
 * logging and the store for STATEWAVE_DATABASE_URL. On failure prints "engram: configuration
 * error: ..." on stderr, releases what it loaded and returns -1. */
int cli_setup(void);
/* cli_setup(), then this thread's store connection with the schema migrated, as `engram
 * serve` would have it. On failure prints the cause, undoes the set-up, fills err and returns
 * NULL. */
store *cli_setup_store(struct err *err);
/* Undo cli_setup(): the store, then the configuration. */
void cli_teardown(void);

/* Whether argv[*i] is option name (`--opt V` or `--opt=V`). When it is, *value is its value
 * (*i moves past it), or NULL when the value is missing; otherwise *value is untouched. */
int cli_is_option(int argc, char **argv, int *i, const char *name, const char **value);
/* Whether "--help" or "-h" is among argv[from..argc). */
int cli_wants_help(int argc, char **argv, int from);
/* Print "engram: WHAT", a blank line and the usage text on stderr; returns 2, the exit code
 * of a usage error. */
int cli_usage_error(const char *usage, const char *what);

/* Append all of fd to b (reads retried on EINTR). Returns 0 at end of file, -1 on a read
 * error (errno says which), 1 as soon as b would grow past max bytes. */
int cli_read_all(int fd, size_t max, struct buf *b);

#endif
