/* err.h - the one error type: functions that fail return -1 (or NULL) and fill a struct err. */
#ifndef ENGRAM_UTIL_ERR_H
#define ENGRAM_UTIL_ERR_H

struct jv;

enum err_kind {            /* each value is the HTTP status the API answers with */
    ERR_NONE = 0,
    ERR_INVALID = 400,
    ERR_UNAUTHORIZED = 401,
    ERR_FORBIDDEN = 403,
    ERR_NOT_FOUND = 404,
    ERR_METHOD = 405,
    ERR_CONFLICT = 409,
    ERR_TOO_LARGE = 413,
    ERR_URI_TOO_LONG = 414,
    ERR_VALIDATION = 422,
    ERR_RATE_LIMITED = 429,
    ERR_HEADERS_TOO_LARGE = 431,
    ERR_INTERNAL = 500,
    ERR_UNAVAILABLE = 503,
};

struct err {
    enum err_kind kind;
    const char *code;      /* spec code ("validation_error"); NULL means "http_error" */
    char msg[1536];        /* safe to show to the client; fits a 256-character id */
    struct jv *details;    /* 422 details or NULL; a jv array in the arena of whoever set it
                              (the request's), which must outlive the err */
};

#define ERR_INIT { ERR_NONE, NULL, "", NULL }

void err_init(struct err *e);
/* Fill e (code "http_error", or "validation_error" for 422, "internal_error" for 500) and
 * return -1. An ERR_INTERNAL message is replaced by the spec's generic text; log the cause. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like err_set with an explicit spec code. */
int err_set_code(struct err *e, enum err_kind kind, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void err_release(struct err *e);

#endif
