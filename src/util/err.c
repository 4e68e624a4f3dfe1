/* err.c - filling and releasing struct err. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_init(struct err *e)
{
    e->kind = ERR_NONE;
    e->code = NULL;
    e->msg[0] = '\0';
    e->details = NULL;
}

static int vset(struct err *e, enum err_kind kind, const char *code, const char *fmt, va_list ap)
{
    e->details = NULL;   /* an earlier error is replaced whole */
    e->kind = kind;
    e->code = code;
    if (kind == ERR_INTERNAL && (!code || strcmp(code, "internal_error") == 0)) {
        e->code = "internal_error";
        snprintf(e->msg, sizeof(e->msg), "An unexpected error occurred");
        return -1;
    }
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    if (!e->code)
        e->code = kind == ERR_VALIDATION ? "validation_error" : "http_error";
    return -1;
}

int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, kind, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int err_set_code(struct err *e, enum err_kind kind, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, kind, code, fmt, ap);
    va_end(ap);
    return -1;
}

void err_release(struct err *e)
{
    if (!e)
        return;
    err_init(e);
}
