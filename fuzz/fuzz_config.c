/* fuzz_config.c - settings parsing (config_load): the input is the text of a .env file and,
 * when its first byte is odd, also the process environment (its lines as NAME=value).
 *
 * Invariants: config_load either fails with a message (and leaves nothing allocated: the
 * leak checker sees every path) or gives a configuration every server start relies on: a
 * database URL, a host, a valid tenant header name, a port in 0-65535, at least one worker,
 * a body limit, and a CORS setting (any origin, or a list); loading the same input twice
 * gives the same settings.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/config.h"
#include "util/log.h"

#define MAX_ENV 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_setup((enum log_level)(LOG_ERROR + 1), 0); /* warnings about values are noise here */
    return 0;
}

/* The lines of text (NUL bytes end a line too) as a NULL-terminated array in storage. */
static void split_lines(char *text, size_t n, char **env)
{
    size_t i, k = 0;
    char *start = text;

    for (i = 0; i <= n && k < MAX_ENV; i++) {
        if (i == n || text[i] == '\n' || text[i] == '\0') {
            text[i] = '\0';
            if (*start)
                env[k++] = start;
            start = text + i + 1;
        }
    }
    env[k] = NULL;
}

static void check_loaded(const struct config *c)
{
    FUZZ_CHECK(c->database_url && c->host && c->tenant_header, "a required setting is NULL");
    FUZZ_CHECK(*c->tenant_header && !strpbrk(c->tenant_header, " :\r\n"),
               "tenant header is not a header name");
    FUZZ_CHECK(c->port >= 0 && c->port <= 65535, "port out of range");
    FUZZ_CHECK(c->workers >= 1, "no worker threads");
    FUZZ_CHECK(c->max_body_bytes > 0, "no body limit");
    FUZZ_CHECK(c->cors_any || c->ncors_origins == 0 || c->cors_origins, "CORS list missing");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c1, c2;
    struct err e1 = ERR_INIT, e2 = ERR_INIT;
    char path[64], *text, *env[MAX_ENV + 1] = { NULL };
    int fd = memfd_create("fuzz-dotenv", 0), r1, r2;

    FUZZ_CHECK(fd >= 0, "memfd_create failed");
    FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "writing the .env text failed");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    if (size && (data[0] & 1))
        split_lines(text, size, env);
    r1 = config_load(&c1, env, path, &e1);
    r2 = config_load(&c2, env, path, &e2);
    FUZZ_CHECK(r1 == r2, "the same input loads differently");
    if (r1 < 0) {
        FUZZ_CHECK(e1.kind != ERR_NONE && e1.msg[0], "failure without a message");
        FUZZ_CHECK(strcmp(e1.msg, e2.msg) == 0, "the same input fails differently");
    } else {
        check_loaded(&c1);
        FUZZ_CHECK(strcmp(c1.database_url, c2.database_url) == 0 && c1.port == c2.port &&
                       c1.max_body_bytes == c2.max_body_bytes,
                   "the same input loads different values");
        config_release(&c1);
        config_release(&c2);
    }
    err_release(&e1);
    err_release(&e2);
    free(text);
    close(fd);
    return 0;
}
