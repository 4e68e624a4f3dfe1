/* backup.h - subject export documents and their import (spec/backup-snapshots.md §1-§3):
 * the streaming document writer with its incremental SHA-256 checksum, and the import
 * validator and writer. Knows neither HTTP nor SQL: an export appends the document to a
 * struct buf piece by piece, an import reads a document parsed with jv.
 *
 * Export, in outline (one read transaction, memory bounded by one page of rows):
 *
 *     backup_export_begin(st, &opts, &x, err)       404 decided here, before any byte
 *     while ((rc = backup_export_next(x, out, err)) > 0)
 *         send(out), buf_reset(out)
 *     backup_export_free(x)
 *
 * Import: backup_import() runs every check of §3.2 (steps 1-6) before the first write, then
 * writes everything in one transaction.
 */
#ifndef ENGRAM_SERVICE_BACKUP_H
#define ENGRAM_SERVICE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/jv.h"

#define BACKUP_FORMAT_VERSION "1.0"
#define BACKUP_PAGE_ROWS 500            /* rows read per store call while exporting */
#define BACKUP_CHECKSUM_HEX 65          /* 64 lowercase hex digits + NUL */
#define BACKUP_ID_MAX_CHARS 256         /* subject, tenant and session ids (code points) */

/* ---- the checksum (§2): SHA-256 of CANON({"episodes": E, "memories": M}) ---- */

struct backup_checksum {
    void *md;            /* EVP_MD_CTX *, owned */
    struct buf scratch;  /* one element's canonical text */
    int list;            /* 0 while in "episodes", 1 in "memories", 2 after the end */
    size_t count;        /* elements written to the current list */
};

/* Start a checksum: hashes `{"episodes": [`. Release with backup_checksum_release(). */
void backup_checksum_init(struct backup_checksum *c);
/* Hash one element of the current list in canonical form, after ", " when it is not the
 * first. Returns 0, or -1 if v holds a JV_RAW that is not valid JSON. */
int backup_checksum_add(struct backup_checksum *c, const struct jv *v);
/* Close "episodes" and open "memories": hashes `], "memories": [`. */
void backup_checksum_next_list(struct backup_checksum *c);
/* Close the document (`]}`) and write the lowercase hex digest into hex. */
void backup_checksum_final(struct backup_checksum *c, char hex[BACKUP_CHECKSUM_HEX]);
void backup_checksum_release(struct backup_checksum *c);

/* The checksum of a parsed document's lists as §2.1 defines it for an importer: episodes and
 * memories are the values found in the document (NULL = key missing, hashed as []); any other
 * JSON value is hashed as it stands. Returns 0, or -1 on an invalid JV_RAW. */
int backup_checksum_of(const struct jv *episodes, const struct jv *memories,
                       char hex[BACKUP_CHECKSUM_HEX]);

/* ---- export records (§1.3) ---- */

/* The export record of a stored episode / memory, keys in §1.3 order, as a jv object in a.
 * Stored JSON texts (payload, metadata, provenance, source_episode_ids, sensitivity_labels)
 * are parsed with jv so that their number tokens survive; confidence and embedding elements
 * are JSON floats. Returns NULL with ERR_INTERNAL if a stored text is not valid JSON (the
 * cause is logged). */
struct jv *backup_episode_record(struct arena *a, const struct episode *ep, struct err *err);
struct jv *backup_memory_record(struct arena *a, const struct memory *m, struct err *err);

/* ---- export (§1) ---- */

struct backup_export_opts {
    const char *subject;     /* the subject to export */
    const char *tenant;      /* only rows of this tenant; NULL = every tenant */
    const char *tenant_echo; /* the document's top-level tenant_id (NULL = null) */
};

/* Progress of an export, for the CLI's progress bar and summary. */
struct backup_export_stats {
    int64_t episodes, memories;  /* rows in the document (from the count) */
    int64_t written;             /* records written so far (episodes + memories) */
    uint64_t bytes;              /* document bytes appended so far */
};

struct backup_export;

/*
 * Start exporting a subject on st, which must be a connection no one else uses until
 * backup_export_free(): a read transaction stays open on it for the whole export. A reserved
 * subject id, or a subject without rows in the chosen tenant scope, fails with ERR_NOT_FOUND
 * "No data found for subject '<id>'" and nothing is open afterwards. The strings of o are
 * copied. On success *out is the export; free it with backup_export_free().
 */
int backup_export_begin(store *st, const struct backup_export_opts *o,
                        struct backup_export **out, struct err *err);
/*
 * backup_export_begin() on a connection of its own, opened from cfg->database_url and closed
 * by backup_export_free(): for an export streamed over many calls while the thread's own
 * connection (store_thread()) serves other requests with transactions of their own.
 */
int backup_export_begin_own(const struct backup_export_opts *o, struct backup_export **out,
                            struct err *err);
/*
 * Append the next part of the document (the header, one record, or the end with the
 * checksum) to out. Returns 1 while more follows, 0 once the document is complete (the read
 * transaction is then closed), -1 on failure: the document is then unusable and must not be
 * completed by the caller (a stream is aborted, a file removed).
 */
int backup_export_next(struct backup_export *x, struct buf *out, struct err *err);
void backup_export_stats(const struct backup_export *x, struct backup_export_stats *s);
/* Roll back the read transaction if it is still open and free x; accepts NULL. */
void backup_export_free(struct backup_export *x);

/* ---- import (§3) ---- */

struct backup_import_opts {
    const char *target_subject;  /* NULL or "" = the document's subject_id */
    const char *target_tenant;   /* NULL = "original" (§3.3); "" is the no-tenant space */
    int preserve_ids;            /* 1: keep the document's ids; 0: fresh UUIDs */
};

struct backup_import_result {
    const char *subject_id;      /* the target subject (in the arena) */
    const char *tenant_id;       /* the one tenant applied; NULL = null (or per-row mode) */
    int64_t episodes_imported;
    int64_t memories_imported;
    int ids_preserved;
};

/* Step 0 of §3.2: 413 "Request body too large (limit <n> bytes)" when n bytes pass the
 * STATEWAVE_MEMORY_IMPORT_MAX_BYTES cap. Returns 0 when n is within it. */
int backup_import_check_size(size_t n, struct err *err);

/*
 * Import the export document doc (a parsed JSON object): the checks of §3.2 steps 1-6 in
 * order, each failure an ERR_INVALID with the spec's exact message, then every episode and
 * memory in one transaction on st. A unique-id violation at commit is reported like step 6.
 * Nothing is written on any failure. Strings of res live in arena a.
 */
int backup_import(struct arena *a, store *st, const struct jv *doc,
                  const struct backup_import_opts *o, struct backup_import_result *res,
                  struct err *err);

/*
 * The location of byte offset pos in the JSON text (n bytes, valid up to pos): the keys and
 * indices of the values that enclose it, written as `episodes[0].payload.text` into out
 * (nothing for the top level). skip_first leaves out the outermost key (the "document" of an
 * import body); *inside_first, when not NULL, is set to whether the outermost key was
 * skip_first (NULL = any). Used to name the field of an "invalid unicode" parse error.
 */
void backup_json_path(const char *text, size_t n, size_t pos, const char *skip_first,
                      int *inside_first, struct buf *out);

#endif
