/* fuzz_backup_import.c - subject export documents (POST /admin/import, `engram import`):
 * backup_import() with every check of spec/backup-snapshots.md §3.2 and the write, on an
 * in-memory SQLite store.
 *
 * The input is the document's JSON text. Its last byte picks the options: bit 0
 * preserve_ids, bit 1 a target subject ("fuzz-target"), bit 2 a target tenant ("fuzz-t").
 * A document whose "checksum" is a string gets the right checksum of its own lists (else
 * almost every mutation would stop at the checksum step); without the key it is left as is.
 *
 * Invariants: a document is refused with a client error (400/404/409/413/422), never 500;
 * a refused import leaves the subject's rows unchanged; an accepted one adds exactly the
 * episodes and memories it reports to the subject it names.
 */
#include <string.h>

#include "fuzz_store.h"
#include "service/backup.h"
#include "util/arena.h"
#include "util/jv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_config_setup();
    return 0;
}

/* Replace a string "checksum" member of doc with the checksum of its lists. */
static void fix_checksum(struct arena *a, struct jv *doc)
{
    const struct jv *given = jv_object_get(doc, "checksum");
    char hex[BACKUP_CHECKSUM_HEX];

    if (!given || jv_type(given) != JV_STRING)
        return;
    if (backup_checksum_of(jv_object_get(doc, "episodes"), jv_object_get(doc, "memories"), hex) < 0)
        return;
    jv_object_set(a, doc, "checksum", jv_str(a, hex));
}

/* The subject the import writes to, as backup_import decides it (NULL: none can be named). */
static const char *target_of(const struct jv *doc, const struct backup_import_opts *o)
{
    const struct jv *subject = jv_object_get(doc, "subject_id");

    if (o->target_subject)
        return o->target_subject;
    return subject ? jv_string(subject, NULL) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a;
    struct jv *doc;
    struct backup_import_opts o = { NULL, NULL, 0 };
    struct backup_import_result res;
    struct err err = ERR_INIT;
    const char *target;
    int64_t before = 0;
    store *st;
    uint8_t opt;

    if (size == 0)
        return 0;
    a = arena_new();
    doc = jv_parse(a, (const char *)data, size, NULL, NULL);
    if (!doc || jv_type(doc) != JV_OBJECT)
        goto cleanup;
    opt = data[size - 1];
    o.preserve_ids = opt & 1;
    o.target_subject = opt & 2 ? "fuzz-target" : NULL;
    o.target_tenant = opt & 4 ? "fuzz-t" : NULL;
    fix_checksum(a, doc);
    st = fuzz_store();
    target = target_of(doc, &o);
    if (target)
        before = fuzz_subject_rows(st, target);
    if (backup_import(a, st, doc, &o, &res, &err) < 0) {
        fuzz_check_client_error(&err);
        if (target)
            FUZZ_CHECK(fuzz_subject_rows(st, target) == before, "a refused import wrote rows");
    } else {
        FUZZ_CHECK(res.subject_id && target && strcmp(res.subject_id, target) == 0,
                   "imported into another subject than the one named");
        FUZZ_CHECK(fuzz_subject_rows(st, res.subject_id) ==
                       before + res.episodes_imported + res.memories_imported,
                   "the subject did not grow by the rows reported");
    }
cleanup:
    err_release(&err);
    arena_free(a);
    return 0;
}
