/* snapshots.c - capture and restore of subject snapshots (spec/backup-snapshots.md §5).
 *
 * Both operations are one transaction each around one store_subject_copy(), which copies the
 * rows with set-based statements: no row passes through C. Concurrency:
 * - two creates of one (name, version): the unique index decides; the loser's copy is rolled
 *   back and it answers with the winner's row ("exists", §5.3 ENG);
 * - restore: the target's (tenant, subject) is locked (store_subject_lock) before the
 *   emptiness check, so a concurrent compile or restore of the same target waits.
 */
#include "service/snapshots.h"

#include <string.h>

#include "service/episodes.h"
#include "util/log.h"
#include "util/reserved.h"
#include "util/ts.h"
#include "util/utf8.h"


/* ---- names and arithmetic ---- */

static int name_char(char c, int first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return !first && (c == '.' || c == '_' || c == '-');
}

int snapshot_name_valid(const char *name)
{
    size_t i;

    if (!name || !name_char(name[0], 1))
        return 0;
    for (i = 1; name[i]; i++) {
        if (i >= SNAPSHOT_NAME_MAX || !name_char(name[i], 0))
            return 0;
    }
    return 1;
}

int snapshot_version_valid(int64_t version)
{
    return version >= 1 && version <= SNAPSHOT_VERSION_MAX;
}

char *snapshot_source_subject(struct arena *a, const char *name, int64_t version)
{
    return arena_printf(a, RESERVED_SNAPSHOT "%s/v%lld", name, (long long)version);
}

int64_t snapshot_shift(int64_t now, int64_t newest)
{
    return now - newest;
}

int64_t snapshot_shift_clamped(int64_t t, int64_t shift, int64_t now)
{
    if (t == TS_NULL)
        return TS_NULL;
    t += shift;
    return t > now ? now : t;
}

/* ---- create ---- */

/* Rows left under the hidden subject by a snapshot row deleted by hand (retiring a snapshot
 * is a database operation, §5.9) would be mixed into the new capture: remove them first. */
static int drop_orphans(store *st, const char *dst, struct err *err)
{
    struct row_counts c, gone;

    if (store_export_count(st, &(struct store_scope){ .subject = dst, .all_tenants = 1 }, &c,
                           err) < 0)
        return -1;
    if (c.episodes == 0 && c.memories == 0)
        return 0;
    log_write(LOG_WARN, "snapshot source '%s' holds %lld episodes and %lld memories without "
              "a snapshot row: removed before the capture", dst, (long long)c.episodes,
              (long long)c.memories);
    return store_subject_delete(st, &(struct store_scope){ .subject = dst }, &gone, err);
}

static void fill_row(struct arena *a, const struct snapshot_create_in *in, const char *dst,
                     const struct row_counts *n, struct snapshot *snap)
{
    memset(snap, 0, sizeof(*snap));
    uuid_v4(snap->id);
    snap->tenant_id = in->source_all_tenants || !in->source_tenant
                          ? NULL : arena_strdup(a, in->source_tenant);
    snap->name = arena_strdup(a, in->name);
    snap->version = in->version;
    snap->source_subject_id = dst;
    snap->episode_count = n->episodes;
    snap->memory_count = n->memories;
    snap->metadata = arena_strdup(a, in->metadata ? in->metadata : "{}");
    snap->created_at = ts_now();
}

/* Steps 1-6 of §5.3 inside the caller's transaction. */
static int create_in_tx(struct arena *a, store *st, const struct snapshot_create_in *in,
                        struct snapshot_create_result *out, struct err *err)
{
    struct subject_copy spec;
    struct row_counts n;
    struct snapshot *found = NULL;
    struct row_counts c;
    const char *tenant = in->source_all_tenants ? NULL : in->source_tenant;
    char *dst;

    if (store_snapshot_find(st, a, in->name, in->version, &found, err) < 0)
        return -1;
    if (found) {
        out->snap = *found;
        return 0;
    }
    if (store_export_count(st,
                           &(struct store_scope){ .tenant = tenant,
                                                  .subject = in->source_subject,
                                                  .all_tenants = in->source_all_tenants },
                           &c, err) < 0)
        return -1;
    if (c.episodes == 0)
        return err_set(err, ERR_INVALID, "Source subject '%s' has no episodes",
                       in->source_subject);
    dst = snapshot_source_subject(a, in->name, in->version);
    if (drop_orphans(st, dst, err) < 0)
        return -1;
    memset(&spec, 0, sizeof(spec));
    spec.src_subject = in->source_subject;
    spec.src_all_tenants = in->source_all_tenants;
    spec.src_tenant = tenant;
    spec.dst_subject = dst;
    spec.dst_tenant = NULL;
    spec.keep_res_tenant = 1;
    spec.shift_us = 0;
    spec.clamp_at = TS_NULL;
    spec.mark_original_id = 1;
    if (store_subject_copy(st, &spec, &n, err) < 0)
        return -1;
    fill_row(a, in, dst, &n, &out->snap);
    if (store_snapshot_insert(st, &out->snap, err) < 0)
        return -1;
    out->created = 1;
    return 0;
}

/* A concurrent create of the same pair committed first: answer with its row. */
static int lost_race(struct arena *a, store *st, const struct snapshot_create_in *in,
                     struct snapshot_create_result *out, struct err *err)
{
    struct snapshot *found = NULL;

    err_release(err);
    if (store_snapshot_find(st, a, in->name, in->version, &found, err) < 0)
        return -1;
    if (!found)
        return err_set(err, ERR_CONFLICT, "Snapshot '%s' version %lld is being changed; "
                       "try again", in->name, (long long)in->version);
    out->snap = *found;
    out->created = 0;
    return 0;
}

int snapshots_create(struct arena *a, store *st, const struct snapshot_create_in *in,
                     struct snapshot_create_result *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (!snapshot_name_valid(in->name) || !snapshot_version_valid(in->version))
        return err_set(err, ERR_INVALID, "Invalid snapshot name or version");
    if (subject_check_writable(in->source_subject, err) < 0)
        return -1;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (create_in_tx(a, st, in, out, err) == 0 && store_tx_commit(st, err) == 0)
        return 0;
    store_tx_rollback(st);
    memset(out, 0, sizeof(*out));
    if (err->kind == ERR_CONFLICT)
        return lost_race(a, st, in, out, err);
    return -1;
}

int snapshots_list(struct arena *a, store *st, struct snapshot **out, size_t *n,
                   struct err *err)
{
    return store_snapshot_list(st, a, out, n, err);
}

/* ---- restore ---- */

int snapshots_check_target(const char *target, struct err *err)
{
    size_t len = target ? strlen(target) : 0;

    if (len == 0 || utf8_valid_len(target, len) != len ||
        utf8_count(target, len) > SNAPSHOT_TARGET_MAX)
        return err_set(err, ERR_INVALID, "target_subject_id must be 1-%d characters",
                       SNAPSHOT_TARGET_MAX);
    return subject_check_writable(target, err);
}

static int find_snapshot(struct arena *a, store *st, const struct snapshot_restore_in *in,
                         struct snapshot **snap, struct err *err)
{
    *snap = NULL;
    if (in->id) {
        if (store_snapshot_get(st, a, in->id, snap, err) < 0)
            return -1;
        if (!*snap)
            return err_set(err, ERR_NOT_FOUND, "Snapshot '%s' not found", in->id);
        return 0;
    }
    if (!in->has_version || snapshot_version_valid(in->version)) {
        if ((in->has_version ? store_snapshot_find(st, a, in->name, in->version, snap, err)
                             : store_snapshot_latest(st, a, in->name, snap, err)) < 0)
            return -1;
    }
    if (!*snap)
        return err_set(err, ERR_NOT_FOUND, "Snapshot '%s' not found", in->name);
    return 0;
}

int snapshots_check_target_empty(store *st, const char *tenant, const char *subject,
                                 struct err *err)
{
    struct row_counts c;

    if (store_export_count(st, &(struct store_scope){ .tenant = tenant, .subject = subject },
                           &c, err) < 0)
        return -1;
    if (c.episodes == 0 && c.memories == 0)
        return 0;
    return err_set(err, ERR_CONFLICT, "Target subject '%s' already has data (%lld episodes, "
                   "%lld memories). Pick a new target id or delete the subject first.",
                   subject, (long long)c.episodes, (long long)c.memories);
}

/*
 * The copy itself. The source scope is every tenant of the hidden subject: its episodes and
 * memories all have tenant NULL, but a capture keeps each resolution's own tenant (§5.3
 * step 5), and those resolutions must come back too. Nothing but a capture writes there.
 */
static int restore_in_tx(struct arena *a, store *st, const struct snapshot_restore_in *in,
                         struct snapshot_restore_result *out, struct err *err)
{
    struct subject_copy spec;
    struct snapshot *snap;
    int64_t newest = TS_NULL, now;

    if (find_snapshot(a, st, in, &snap, err) < 0)
        return -1;
    if (store_subject_newest_episode(st,
                                     &(struct store_scope){ .subject = snap->source_subject_id,
                                                            .all_tenants = 1 },
                                     &newest, err) < 0)
        return -1;
    if (newest == TS_NULL)
        return err_set(err, ERR_NOT_FOUND, "Snapshot source '%s' has no episodes",
                       snap->source_subject_id);
    if (store_subject_lock(st, &(struct store_scope){ .tenant = in->target_tenant,
                                                      .subject = in->target_subject },
                           err) < 0 ||
        snapshots_check_target_empty(st, in->target_tenant, in->target_subject, err) < 0)
        return -1;
    now = ts_now();
    memset(&spec, 0, sizeof(spec));
    spec.src_subject = snap->source_subject_id;
    spec.src_all_tenants = 1;
    spec.src_tenant = NULL;
    spec.dst_subject = in->target_subject;
    spec.dst_tenant = in->target_tenant;
    spec.keep_res_tenant = 0;
    spec.shift_us = snapshot_shift(now, newest);
    spec.clamp_at = now;
    spec.mark_snapshot_id = snap->id;
    spec.mark_original_id = 0;
    /* The target's last health state (it may have had resolutions) says nothing about the
     * restored rows. */
    if (store_subject_copy(st, &spec, &out->counts, err) < 0 ||
        store_health_cache_delete(st, &(struct store_scope){ .tenant = in->target_tenant,
                                                             .subject = in->target_subject },
                                  err) < 0)
        return -1;
    memcpy(out->snapshot_id, snap->id, sizeof(out->snapshot_id));
    out->subject_id = arena_strdup(a, in->target_subject);
    return 0;
}

int snapshots_restore(struct arena *a, store *st, const struct snapshot_restore_in *in,
                      struct snapshot_restore_result *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (snapshots_check_target(in->target_subject, err) < 0)
        return -1;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (restore_in_tx(a, st, in, out, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}
