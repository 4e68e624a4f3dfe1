/* episodes.c - recording episodes. */
#include "service/episodes.h"

#include <string.h>

#include "util/ts.h"

int subject_check_writable(const char *subject, struct err *err)
{
    static const char *const prefixes[] = { "_snapshot/", "_bootstrap_tmp/" };
    size_t i;

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(subject, prefixes[i], strlen(prefixes[i])) == 0)
            return err_set(err, ERR_INVALID, "Subject id '%s' uses a reserved prefix (%s)",
                           subject, prefixes[i]);
    }
    return 0;
}

static int insert_all(struct arena *a, store *st, struct episode *eps, size_t n,
                      struct err *err)
{
    size_t i;
    int inserted;

    for (i = 0; i < n; i++) {
        if (store_episode_insert(st, a, &eps[i], &inserted, err) < 0)
            return -1;
    }
    return 0;
}

int episodes_record(struct arena *a, store *st, const char *tenant, struct episode *eps,
                    size_t n, struct err *err)
{
    int64_t now = ts_now();
    size_t i;

    for (i = 0; i < n; i++) {
        if (subject_check_writable(eps[i].subject_id, err) < 0)
            return -1;
    }
    for (i = 0; i < n; i++) {
        uuid_v4(eps[i].id);
        eps[i].tenant_id = tenant;
        eps[i].created_at = now;
        eps[i].last_compiled_at = TS_NULL;
    }
    if (n == 1)
        return insert_all(a, st, eps, n, err);
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (insert_all(a, st, eps, n, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}
