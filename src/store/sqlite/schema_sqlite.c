/* schema_sqlite.c - the SQLite schema as versioned migration steps (data-model.md §1.2, §1.3).
 * Timestamps are fixed-width TEXT (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), JSON is compact TEXT, vectors
 * are BLOBs. schema_migrations itself is created by sqlite.c's migrate before step 1. */
#include "store/migrations.h"

#include "store/sqlite/sqlite-internal.h" /* SQ_BULK_OFF */

#include "util/reserved.h"
#include "util/xalloc.h"

/*
 * Step 1: the full data model. Tables that rows are ordered in by timestamp carry
 * `seq INTEGER PRIMARY KEY` (the rowid) as the insertion-order tie-break of behavior.md §0.2,
 * with the uuid `id` as a UNIQUE column.
 */
static const char initial_schema[] =
    "CREATE TABLE episodes ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " session_id TEXT,"
    " source TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " metadata TEXT NOT NULL DEFAULT '{}',"
    " provenance TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL,"
    " last_compiled_at TEXT,"
    " idempotency_key TEXT"
    ") STRICT;"
    "CREATE INDEX ix_episodes_subject_id ON episodes (subject_id);"
    "CREATE INDEX ix_episodes_subject_created ON episodes (subject_id, created_at);"
    "CREATE INDEX ix_episodes_uncompiled ON episodes (subject_id)"
    " WHERE last_compiled_at IS NULL;"
    "CREATE INDEX ix_episodes_tenant_subject ON episodes (tenant_id, subject_id);"
    "CREATE INDEX ix_episodes_session ON episodes (session_id);"
    "CREATE UNIQUE INDEX ux_episodes_idem"
    " ON episodes (COALESCE(tenant_id, ''), subject_id, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"

    "CREATE TABLE memories ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " kind TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " summary TEXT NOT NULL DEFAULT '',"
    " confidence REAL NOT NULL DEFAULT 1.0,"
    " valid_from TEXT NOT NULL,"
    " valid_to TEXT,"
    " source_episode_ids TEXT NOT NULL DEFAULT '[]',"
    " metadata TEXT NOT NULL DEFAULT '{}',"
    " status TEXT NOT NULL DEFAULT 'active',"
    " embedding BLOB,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " sensitivity_labels TEXT NOT NULL DEFAULT '[]'"
    ") STRICT;"
    "CREATE INDEX ix_memories_subject_id ON memories (subject_id);"
    "CREATE INDEX ix_memories_subject_kind ON memories (subject_id, kind);"
    "CREATE INDEX ix_memories_tenant_subject ON memories (tenant_id, subject_id);"

    "CREATE TABLE compile_jobs ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " status TEXT NOT NULL DEFAULT 'pending',"
    " memories_created INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " created_at TEXT NOT NULL,"
    " started_at TEXT,"
    " completed_at TEXT,"
    " force INTEGER NOT NULL DEFAULT 0,"   /* Engram: recompile everything */
    " lease_expires_at TEXT"               /* Engram: a running job's claim expires here */
    ") STRICT;"
    "CREATE INDEX ix_compile_jobs_subject_id ON compile_jobs (subject_id);"
    "CREATE INDEX ix_compile_jobs_status ON compile_jobs (status);"
    "CREATE INDEX ix_compile_jobs_created_at ON compile_jobs (created_at);"
    "CREATE INDEX ix_compile_jobs_tenant ON compile_jobs (tenant_id);"

    "CREATE TABLE webhook_events ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT,"
    " event TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL DEFAULT 5,"
    " last_attempt_at TEXT,"
    " next_attempt_at TEXT,"
    " last_error TEXT,"
    " http_status INTEGER,"
    " created_at TEXT NOT NULL,"
    " delivered_at TEXT"
    ") STRICT;"
    "CREATE INDEX ix_webhook_events_status_next ON webhook_events (status, next_attempt_at);"
    "CREATE INDEX ix_webhook_events_tenant ON webhook_events (tenant_id);"

    "CREATE TABLE subject_snapshots ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " source_subject_id TEXT NOT NULL,"
    " episode_count INTEGER NOT NULL,"
    " memory_count INTEGER NOT NULL,"
    " metadata TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX ix_snapshots_name_version ON subject_snapshots (name, version);"
    "CREATE INDEX ix_snapshots_tenant ON subject_snapshots (tenant_id);"

    "CREATE TABLE rate_limit_hits ("
    " key TEXT NOT NULL,"
    " window_start INTEGER NOT NULL,"
    " hit_count INTEGER NOT NULL DEFAULT 1,"
    " updated_at TEXT,"
    " PRIMARY KEY (key, window_start)"
    ") STRICT;"
    "CREATE INDEX ix_rate_limit_hits_window ON rate_limit_hits (window_start);"

    "CREATE TABLE resolutions ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " subject_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " status TEXT NOT NULL DEFAULT 'open',"
    " resolution_summary TEXT,"
    " resolved_at TEXT,"
    " metadata_ TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX ix_resolutions_subject_id ON resolutions (subject_id);"
    "CREATE INDEX ix_resolutions_session_id ON resolutions (session_id);"
    "CREATE INDEX ix_resolutions_tenant_id ON resolutions (tenant_id);"
    "CREATE INDEX ix_resolutions_subject_status ON resolutions (subject_id, status);"

    /* Keyed per (tenant, subject): the "fix allowed" of data-model.md §1.2. */
    "CREATE TABLE subject_health_cache ("
    " seq INTEGER PRIMARY KEY,"
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " last_state TEXT NOT NULL,"
    " last_score INTEGER NOT NULL,"
    " updated_at TEXT NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX ux_subject_health_cache_key"
    " ON subject_health_cache (COALESCE(tenant_id, ''), subject_id);"

    "CREATE TABLE query_embedding_cache ("
    " text_key TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " embedding BLOB NOT NULL,"
    " expires_at TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " PRIMARY KEY (text_key, model)"
    ") STRICT;"
    "CREATE INDEX ix_query_embedding_cache_expires_at ON query_embedding_cache (expires_at);"

    /* Subject export pages by (created_at, id) (spec/backup-snapshots.md §1.2). */
    "CREATE INDEX ix_episodes_subject_created_id ON episodes (subject_id, created_at, id);"
    "CREATE INDEX ix_memories_subject_created_id ON memories (subject_id, created_at, id);"
    "CREATE INDEX ix_memories_active_kind ON memories (subject_id, kind, created_at DESC, seq)"
    " WHERE status = 'active';";

/* One row, rewritten by the readiness write probe (store_heartbeat): /readyz proves that a
 * write commits, not only that a SELECT answers (a full disk, a read-only file). */
static const char heartbeat[] =
    "CREATE TABLE heartbeat ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " beat_at TEXT NOT NULL"
    ") STRICT;";

/*
 * Step 3: the support tier's reads (spec/api.md §4): a subject's resolutions newest first
 * (listing, health, SLA, handoff) and the upsert's lookup of one (tenant, subject, session).
 */
static const char support_indexes[] =
    "CREATE INDEX ix_resolutions_tenant_subject_updated"
    " ON resolutions (tenant_id, subject_id, updated_at DESC, seq);"
    "CREATE INDEX ix_resolutions_tenant_subject_session"
    " ON resolutions (tenant_id, subject_id, session_id);";

/*
 * Step 4, Engram: when an episode happened (spec/api.md §11), NULL when the client did not
 * say, and the index the timeline filters read: a subject's episodes in one tenant by the
 * time they happened, falling back to when they were recorded.
 */
static const char episode_occurred_at[] =
    "ALTER TABLE episodes ADD COLUMN occurred_at TEXT;"
    "CREATE INDEX ix_episodes_subject_when"
    " ON episodes (subject_id, tenant_id, COALESCE(occurred_at, created_at));";

/*
 * Step 5, Engram: context receipts (spec/api.md §5.4). body is the receipt as signed; a
 * subject's receipts are listed newest first by id (a ULID: time-ordered).
 */
static const char context_receipts[] =
    "CREATE TABLE context_receipts ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT,"
    " subject_id TEXT NOT NULL,"
    " mode TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " signature TEXT,"
    " key_id TEXT,"
    " algorithm TEXT"
    ") STRICT;"
    "CREATE INDEX ix_context_receipts_subject"
    " ON context_receipts (subject_id, tenant_id, id);";

/*
 * Step 6, the admin subject explorer (spec/api.md §7.4, §7.5): one row per (tenant, subject)
 * with what the explorer lists and sorts by, kept by triggers so that every write path
 * (ingest, compile, import, copy, delete, cleanup) keeps it right without knowing about it.
 * Reserved subjects (`_snapshot/`, `_bootstrap_tmp/`) get no row: every listing leaves them
 * out. A row whose counts all fall to 0 is deleted. Episodes and memories never move between
 * subjects or sessions (no UPDATE of those columns exists), so inserts and deletes are all
 * the triggers need; a resolution's status changes, so its update is followed too.
 *   episode_count, memory_count   rows of the pair, every status
 *   session_count                 distinct non-null episode session ids
 *   open_sessions                 resolutions with status 'open'
 *   last_episode_at               the newest episode's created_at (NULL without episodes)
 */
#define STATS_KEY(row) \
    "COALESCE(tenant_id, '') = COALESCE(" row ".tenant_id, '') AND subject_id = " row ".subject_id"
#define STATS_NOT_RESERVED(row) \
    "substr(" row ".subject_id, 1, length('" RESERVED_SNAPSHOT "')) <> '" RESERVED_SNAPSHOT "'" \
    " AND substr(" row ".subject_id, 1, length('" RESERVED_BOOTSTRAP "')) <> '" \
    RESERVED_BOOTSTRAP "'"
#define STATS_DROP_EMPTY(row) \
    "DELETE FROM subject_stats WHERE " STATS_KEY(row) " AND episode_count = 0" \
    " AND memory_count = 0 AND open_sessions = 0;"
/* 1 when no other episode of row's pair has row's (non-null) session. */
#define STATS_LAST_OF_SESSION(row) \
    "(" row ".session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM episodes e" \
    " WHERE e.subject_id = " row ".subject_id AND e.tenant_id IS " row ".tenant_id" \
    " AND e.session_id = " row ".session_id AND e.seq <> " row ".seq))"
#define STATS_UPSERT "ON CONFLICT (COALESCE(tenant_id, ''), subject_id) DO UPDATE SET "
/* The insert triggers' bodies (also step counters_bulk_writes's). */
#define STATS_EPISODE_INSERT \
    " INSERT INTO subject_stats (subject_id, tenant_id, episode_count, session_count," \
    " last_episode_at) VALUES (NEW.subject_id, NEW.tenant_id, 1, " \
    STATS_LAST_OF_SESSION("NEW") ", NEW.created_at) " STATS_UPSERT \
    "episode_count = episode_count + 1, session_count = session_count + excluded.session_count," \
    " last_episode_at = MAX(COALESCE(last_episode_at, ''), excluded.last_episode_at);"
#define STATS_MEMORY_INSERT \
    " INSERT INTO subject_stats (subject_id, tenant_id, memory_count)" \
    " VALUES (NEW.subject_id, NEW.tenant_id, 1) " STATS_UPSERT "memory_count = memory_count + 1;"

static const char subject_stats[] =
    "CREATE TABLE subject_stats ("
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " episode_count INTEGER NOT NULL DEFAULT 0,"
    " memory_count INTEGER NOT NULL DEFAULT 0,"
    " session_count INTEGER NOT NULL DEFAULT 0,"
    " open_sessions INTEGER NOT NULL DEFAULT 0,"
    " last_episode_at TEXT"
    ") STRICT;"
    "CREATE UNIQUE INDEX ux_subject_stats_key"
    " ON subject_stats (COALESCE(tenant_id, ''), subject_id);"
    /* The explorer's sort orders, each with the (subject, tenant) tie-break and the columns
     * its filters read (tenant_id, open_sessions), so that a page, its offset and its count
     * are read from the index alone; only pairs with episodes are listed. */
    "CREATE INDEX ix_subject_stats_last ON subject_stats (last_episode_at, subject_id,"
    " COALESCE(tenant_id, ''), tenant_id, open_sessions, episode_count)"
    " WHERE episode_count > 0;"
    "CREATE INDEX ix_subject_stats_subject ON subject_stats (subject_id,"
    " COALESCE(tenant_id, ''), tenant_id, open_sessions, episode_count);"
    "CREATE INDEX ix_subject_stats_episodes ON subject_stats (episode_count, subject_id,"
    " COALESCE(tenant_id, ''), tenant_id, open_sessions) WHERE episode_count > 0;"
    "CREATE INDEX ix_subject_stats_memories ON subject_stats (memory_count, subject_id,"
    " COALESCE(tenant_id, ''), tenant_id, open_sessions, episode_count)"
    " WHERE episode_count > 0;"
    /* The session test of the triggers, and the explorer's session reads. */
    "CREATE INDEX ix_episodes_subject_session ON episodes (subject_id, tenant_id, session_id)"
    " WHERE session_id IS NOT NULL;"
    "CREATE INDEX ix_health_cache_state ON subject_health_cache (last_state);"

    "CREATE TRIGGER tr_subject_stats_episode_insert AFTER INSERT ON episodes"
    " WHEN " STATS_NOT_RESERVED("NEW") " BEGIN" STATS_EPISODE_INSERT " END;"
    "CREATE TRIGGER tr_subject_stats_episode_delete AFTER DELETE ON episodes"
    " WHEN " STATS_NOT_RESERVED("OLD") " BEGIN"
    " UPDATE subject_stats SET episode_count = episode_count - 1,"
    " session_count = session_count - " STATS_LAST_OF_SESSION("OLD") ","
    " last_episode_at = CASE WHEN last_episode_at > OLD.created_at THEN last_episode_at"
    " ELSE (SELECT MAX(e.created_at) FROM episodes e WHERE e.subject_id = OLD.subject_id"
    " AND e.tenant_id IS OLD.tenant_id) END"
    " WHERE " STATS_KEY("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " END;"
    "CREATE TRIGGER tr_subject_stats_memory_insert AFTER INSERT ON memories"
    " WHEN " STATS_NOT_RESERVED("NEW") " BEGIN" STATS_MEMORY_INSERT " END;"
    "CREATE TRIGGER tr_subject_stats_memory_delete AFTER DELETE ON memories"
    " WHEN " STATS_NOT_RESERVED("OLD") " BEGIN"
    " UPDATE subject_stats SET memory_count = memory_count - 1 WHERE " STATS_KEY("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " END;"
    "CREATE TRIGGER tr_subject_stats_resolution_insert AFTER INSERT ON resolutions"
    " WHEN NEW.status = 'open' AND " STATS_NOT_RESERVED("NEW") " BEGIN"
    " INSERT INTO subject_stats (subject_id, tenant_id, open_sessions)"
    " VALUES (NEW.subject_id, NEW.tenant_id, 1) " STATS_UPSERT "open_sessions = open_sessions + 1;"
    " END;"
    "CREATE TRIGGER tr_subject_stats_resolution_delete AFTER DELETE ON resolutions"
    " WHEN OLD.status = 'open' AND " STATS_NOT_RESERVED("OLD") " BEGIN"
    " UPDATE subject_stats SET open_sessions = open_sessions - 1 WHERE " STATS_KEY("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " END;"
    "CREATE TRIGGER tr_subject_stats_resolution_update AFTER UPDATE OF status ON resolutions"
    " WHEN (OLD.status = 'open') <> (NEW.status = 'open') AND " STATS_NOT_RESERVED("NEW") " BEGIN"
    " INSERT INTO subject_stats (subject_id, tenant_id, open_sessions)"
    " VALUES (NEW.subject_id, NEW.tenant_id, NEW.status = 'open') " STATS_UPSERT
    "open_sessions = open_sessions + CASE WHEN excluded.open_sessions = 1 THEN 1 ELSE -1 END;"
    " " STATS_DROP_EMPTY("NEW")
    " END;"

    /* What the database already holds. */
    "INSERT INTO subject_stats (subject_id, tenant_id, episode_count, session_count,"
    " last_episode_at) SELECT subject_id, tenant_id, COUNT(*), COUNT(DISTINCT session_id),"
    " MAX(created_at) FROM episodes WHERE " STATS_NOT_RESERVED("episodes")
    " GROUP BY subject_id, tenant_id;"
    "INSERT INTO subject_stats (subject_id, tenant_id, memory_count)"
    " SELECT subject_id, tenant_id, COUNT(*) FROM memories WHERE " STATS_NOT_RESERVED("memories")
    " GROUP BY subject_id, tenant_id " STATS_UPSERT "memory_count = excluded.memory_count;"
    "INSERT INTO subject_stats (subject_id, tenant_id, open_sessions)"
    " SELECT subject_id, tenant_id, COUNT(*) FROM resolutions WHERE status = 'open' AND "
    STATS_NOT_RESERVED("resolutions") " GROUP BY subject_id, tenant_id "
    STATS_UPSERT "open_sessions = excluded.open_sessions;";

/*
 * Step 7, Engram: the operator's usage windows (spec/api.md §7.6, GET /admin/usage): rows
 * created since a cut-off, read through a created_at index instead of a scan of the table.
 * compile_jobs has had one since step 1.
 */
static const char admin_usage_indexes[] =
    "CREATE INDEX ix_episodes_created_at ON episodes (created_at);"
    "CREATE INDEX ix_memories_created_at ON memories (created_at);"
    "CREATE INDEX ix_webhook_events_created_at ON webhook_events (created_at);";

/*
 * Step 8, Engram (issue 22): the episode indexes the queries use, and no others. Every
 * per-subject read filters on (subject_id, tenant_id) and orders by created_at, seq (the
 * rowid, which SQLite appends to every index): (subject_id, tenant_id, created_at) gives the
 * newest N of a context read or the oldest N of a listing without touching another tenant's
 * rows or sorting, and the partial copy of it gives compile the uncompiled episodes without
 * walking the compiled ones. (subject_id) and (subject_id, created_at), the reference's
 * (data-model.md §1.3), are prefixes of (subject_id, created_at, id) that no plan chose
 * once these exist (EXPLAIN QUERY PLAN of every episodes statement: docs/PERFORMANCE.md),
 * and cost a B-tree insert per episode.
 */
static const char episode_indexes[] =
    "DROP INDEX ix_episodes_subject_id;"
    "DROP INDEX ix_episodes_subject_created;"
    "DROP INDEX ix_episodes_uncompiled;"
    "CREATE INDEX ix_episodes_subject_tenant_created"
    " ON episodes (subject_id, tenant_id, created_at);"
    "CREATE INDEX ix_episodes_uncompiled ON episodes (subject_id, tenant_id, created_at)"
    " WHERE last_compiled_at IS NULL;";

/*
 * Step 9, Engram: deletion receipts (README "Provable deletion"): the evidence of each subject
 * delete, without content: counts and the SHA-256 of the deleted rows' ids. A subject delete
 * never touches this table.
 */
static const char deletion_receipts[] =
    "CREATE TABLE deletion_receipts ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT,"
    " subject_id TEXT NOT NULL,"
    " deleted_at TEXT NOT NULL,"
    " episodes_deleted INTEGER NOT NULL,"
    " memories_deleted INTEGER NOT NULL,"
    " resolutions_deleted INTEGER NOT NULL,"
    " digest TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX ix_deletion_receipts_tenant_subject"
    " ON deletion_receipts (tenant_id, subject_id);";

/*
 * Step 10, Engram: where a forked subject came from (README "Fork and diff"), one row per
 * (tenant, subject); deleted with the subject.
 */
static const char subject_lineage[] =
    "CREATE TABLE subject_lineage ("
    " seq INTEGER PRIMARY KEY,"
    " tenant_id TEXT,"
    " subject_id TEXT NOT NULL,"
    " source_subject_id TEXT NOT NULL,"
    " source_tenant_id TEXT,"
    " as_of TEXT,"
    " forked_at TEXT NOT NULL,"
    " episodes_copied INTEGER NOT NULL,"
    " memories_copied INTEGER NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX ux_subject_lineage_key"
    " ON subject_lineage (COALESCE(tenant_id, ''), subject_id);";

/*
 * Step 11, Engram (issue 18): the text search index. memories_trgm is an FTS5 trigram index
 * over memories.content (external content: it stores only the index, keyed by seq), kept in
 * step by triggers, so every path that writes memories (insert, import, snapshot copy,
 * delete, cleanup) keeps it right without knowing it exists. Its case folding is Unicode's,
 * a superset of the ASCII folding search matches with, so it narrows the candidates and C
 * decides. ix_memories_active_newest walks a subject's active memories newest first.
 */
static const char search_text_index[] =
    "CREATE VIRTUAL TABLE memories_trgm USING fts5("
    " content, content = 'memories', content_rowid = 'seq', tokenize = 'trigram');"
    "CREATE TRIGGER memories_trgm_ai AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_trgm (rowid, content) VALUES (new.seq, new.content);"
    " END;"
    "CREATE TRIGGER memories_trgm_ad AFTER DELETE ON memories BEGIN"
    " INSERT INTO memories_trgm (memories_trgm, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " END;"
    "CREATE TRIGGER memories_trgm_au AFTER UPDATE OF content ON memories BEGIN"
    " INSERT INTO memories_trgm (memories_trgm, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " INSERT INTO memories_trgm (rowid, content) VALUES (new.seq, new.content);"
    " END;"
    "INSERT INTO memories_trgm (memories_trgm) VALUES ('rebuild');"
    "CREATE INDEX ix_memories_active_newest"
    " ON memories (subject_id, tenant_id, created_at DESC, seq) WHERE status = 'active';";

/*
 * Step 12, Engram (issue 18): ranked full text (search mode=bm25). memories_fts is an FTS5
 * index of words (unicode61: case folded, accents kept, like PostgreSQL's 'simple'
 * configuration) over memories.content, external content keyed by seq, kept in step by
 * triggers like memories_trgm.
 */
static const char search_bm25_index[] =
    "CREATE VIRTUAL TABLE memories_fts USING fts5("
    " content, content = 'memories', content_rowid = 'seq',"
    " tokenize = 'unicode61 remove_diacritics 0');"
    "CREATE TRIGGER memories_fts_ai AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);"
    " END;"
    "CREATE TRIGGER memories_fts_ad AFTER DELETE ON memories BEGIN"
    " INSERT INTO memories_fts (memories_fts, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " END;"
    "CREATE TRIGGER memories_fts_au AFTER UPDATE OF content ON memories BEGIN"
    " INSERT INTO memories_fts (memories_fts, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);"
    " END;"
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');";

/*
 * Step 13, Engram (issue 18): compact vectors. memory_codes holds, per memory with an
 * embedding, the int8 code of its vector (util/vcode.h, a quarter of the float32 size) and
 * the columns a nearest-neighbour scan filters on, so a subject's semantic search reads this
 * narrow table and never the wide memory rows; the best candidates are re-ranked with the
 * exact vectors. Keyed by the memory's seq; triggers keep it in step with every write to
 * memories (engram_vector_code() is registered on every Engram connection, see
 * sqlite_search.c); the last statement fills it for the memories that exist.
 */
static const char search_vector_codes[] =
    "CREATE TABLE memory_codes ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL,"
    " subject_id TEXT NOT NULL,"
    " tenant_id TEXT,"
    " kind TEXT NOT NULL,"
    " active INTEGER NOT NULL,"
    " created_at TEXT NOT NULL,"
    " valid_to TEXT,"
    " code BLOB NOT NULL"
    ") STRICT;"
    "CREATE INDEX ix_memory_codes_subject ON memory_codes (subject_id, tenant_id)"
    " WHERE active = 1;"
    "CREATE TRIGGER memory_codes_ai AFTER INSERT ON memories"
    " WHEN new.embedding IS NOT NULL BEGIN"
    " INSERT INTO memory_codes (seq, id, subject_id, tenant_id, kind, active, created_at,"
    " valid_to, code) VALUES (new.seq, new.id, new.subject_id, new.tenant_id, new.kind,"
    " new.status = 'active', new.created_at, new.valid_to,"
    " engram_vector_code(new.embedding));"
    " END;"
    "CREATE TRIGGER memory_codes_ad AFTER DELETE ON memories BEGIN"
    " DELETE FROM memory_codes WHERE seq = old.seq;"
    " END;"
    "CREATE TRIGGER memory_codes_au_vector AFTER UPDATE OF embedding ON memories BEGIN"
    " DELETE FROM memory_codes WHERE seq = old.seq;"
    " INSERT INTO memory_codes (seq, id, subject_id, tenant_id, kind, active, created_at,"
    " valid_to, code) SELECT new.seq, new.id, new.subject_id, new.tenant_id, new.kind,"
    " new.status = 'active', new.created_at, new.valid_to, engram_vector_code(new.embedding)"
    " WHERE new.embedding IS NOT NULL;"
    " END;"
    "CREATE TRIGGER memory_codes_au_row"
    " AFTER UPDATE OF id, subject_id, tenant_id, kind, status, created_at, valid_to"
    " ON memories BEGIN"
    " UPDATE memory_codes SET id = new.id, subject_id = new.subject_id,"
    " tenant_id = new.tenant_id, kind = new.kind, active = new.status = 'active',"
    " created_at = new.created_at, valid_to = new.valid_to WHERE seq = new.seq;"
    " END;"
    /* A subject's generation: bumped with every change of its codes (a cache's check). */
    "CREATE TABLE memory_codes_gen ("
    " subject_id TEXT NOT NULL,"
    " tenant_key TEXT NOT NULL,"   /* ifnull(tenant_id, '') */
    " gen INTEGER NOT NULL,"
    " PRIMARY KEY (subject_id, tenant_key)"
    ") STRICT;"
    "CREATE TRIGGER memory_codes_gen_ai AFTER INSERT ON memory_codes BEGIN"
    " INSERT INTO memory_codes_gen VALUES (new.subject_id, ifnull(new.tenant_id, ''), 1)"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1;"
    " END;"
    "CREATE TRIGGER memory_codes_gen_ad AFTER DELETE ON memory_codes BEGIN"
    " INSERT INTO memory_codes_gen VALUES (old.subject_id, ifnull(old.tenant_id, ''), 1)"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1;"
    " END;"
    "CREATE TRIGGER memory_codes_gen_au AFTER UPDATE ON memory_codes BEGIN"
    " INSERT INTO memory_codes_gen VALUES (old.subject_id, ifnull(old.tenant_id, ''), 1)"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1;"
    " INSERT INTO memory_codes_gen VALUES (new.subject_id, ifnull(new.tenant_id, ''), 1)"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1;"
    " END;"
    "INSERT INTO memory_codes (seq, id, subject_id, tenant_id, kind, active, created_at,"
    " valid_to, code) SELECT seq, id, subject_id, tenant_id, kind, status = 'active',"
    " created_at, valid_to, engram_vector_code(embedding) FROM memories"
    " WHERE embedding IS NOT NULL;";

/*
 * Step 14, Engram (issue 18): the two text indexes leave the write path. Each memory fed
 * memories_trgm and memories_fts from its insert trigger, 486,000 instructions a memory, which
 * halved import and cut compile by a third. Now search_text_indexed holds the highest seq
 * both indexes hold: an insert above it writes no index entry, and the text searches bring
 * the indexes up to every row (store_search_text_sync: one INSERT … SELECT per index of the
 * rows above the mark, then the mark) before they read them, as PostgreSQL's GIN pending
 * list defers its own. Rows at or below the mark stay right on every write, as before: an
 * insert there (a seq reused after the highest row was deleted), a delete, a content update.
 */
static const char search_text_deferred[] =
    "CREATE TABLE search_text_indexed ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO search_text_indexed VALUES (1, (SELECT ifnull(max(seq), 0) FROM memories));"
    "DROP TRIGGER memories_trgm_ai;"
    "DROP TRIGGER memories_trgm_ad;"
    "DROP TRIGGER memories_trgm_au;"
    "DROP TRIGGER memories_fts_ai;"
    "DROP TRIGGER memories_fts_ad;"
    "DROP TRIGGER memories_fts_au;"
    "CREATE TRIGGER memories_text_ai AFTER INSERT ON memories"
    " WHEN new.seq <= (SELECT seq FROM search_text_indexed) BEGIN"
    " INSERT INTO memories_trgm (rowid, content) VALUES (new.seq, new.content);"
    " INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);"
    " END;"
    "CREATE TRIGGER memories_text_ad AFTER DELETE ON memories"
    " WHEN old.seq <= (SELECT seq FROM search_text_indexed) BEGIN"
    " INSERT INTO memories_trgm (memories_trgm, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " INSERT INTO memories_fts (memories_fts, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " END;"
    "CREATE TRIGGER memories_text_au AFTER UPDATE OF content ON memories"
    " WHEN old.seq <= (SELECT seq FROM search_text_indexed) BEGIN"
    " INSERT INTO memories_trgm (memories_trgm, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " INSERT INTO memories_trgm (rowid, content) VALUES (new.seq, new.content);"
    " INSERT INTO memories_fts (memories_fts, rowid, content)"
    " VALUES ('delete', old.seq, old.content);"
    " INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);"
    " END;";

/*
 * Step 15, Engram (issue 16): the explorer's `search` (spec/api.md §7.4: a case-insensitive
 * substring of subject_id, LIKE wildcards live) read through an index. subject_search_ids
 * holds each distinct subject_id of subject_stats once (an INTEGER PRIMARY KEY: VACUUM keeps
 * it, unlike subject_stats' implicit rowid); subject_search is an FTS5 trigram index over it
 * (external content; detail 'none' and no column sizes: a query is a set of single
 * trigrams, and each new subject writes less) that gives the ids holding given trigrams; the
 * reader tests the
 * search's own LIKE on each candidate, so the match is SQLite's LIKE exactly. Triggers on
 * subject_stats keep the ids: a row is added with the first (tenant, subject) pair of a
 * subject and removed with its last, so the cost lands on a subject's first and last write,
 * never on the episodes in between.
 */
static const char subject_search_index[] =
    "CREATE TABLE subject_search_ids ("
    " id INTEGER PRIMARY KEY,"
    " subject_id TEXT NOT NULL UNIQUE"
    ") STRICT;"
    "CREATE VIRTUAL TABLE subject_search USING fts5("
    " subject_id, content = 'subject_search_ids', content_rowid = 'id',"
    " tokenize = 'trigram', detail = 'none', columnsize = 0);"
    "CREATE TRIGGER subject_search_ids_ai AFTER INSERT ON subject_search_ids BEGIN"
    " INSERT INTO subject_search (rowid, subject_id) VALUES (new.id, new.subject_id);"
    " END;"
    "CREATE TRIGGER subject_search_ids_ad AFTER DELETE ON subject_search_ids BEGIN"
    " INSERT INTO subject_search (subject_search, rowid, subject_id)"
    " VALUES ('delete', old.id, old.subject_id);"
    " END;"
    "CREATE TRIGGER tr_subject_search_stats_insert AFTER INSERT ON subject_stats"
    " WHEN NOT EXISTS (SELECT 1 FROM subject_search_ids WHERE subject_id = NEW.subject_id)"
    " BEGIN"
    " INSERT INTO subject_search_ids (subject_id) VALUES (NEW.subject_id);"
    " END;"
    "CREATE TRIGGER tr_subject_search_stats_delete AFTER DELETE ON subject_stats"
    " WHEN NOT EXISTS (SELECT 1 FROM subject_stats WHERE subject_id = OLD.subject_id)"
    " BEGIN"
    " DELETE FROM subject_search_ids WHERE subject_id = OLD.subject_id;"
    " END;"
    "INSERT INTO subject_search_ids (subject_id)"
    " SELECT DISTINCT subject_id FROM subject_stats ORDER BY subject_id;";

/*
 * Step 16, Engram (issue 16): usage rollups for GET /admin/usage and /admin/dashboard
 * (spec/api.md §7.6), which counted whole tables. usage_daily holds, per table (kind 1
 * episodes, 2 memories, 3 compile_jobs, 4 webhook_events), per tenant ('' = none) and per UTC
 * day of created_at (its first 10 characters), how many rows there are; a window since a
 * cut-off is the sum of the days after the cut-off's day plus a count of the cut-off's own
 * day from created_at onwards (one day's rows, through the created_at index). Triggers keep
 * it: +1 on insert, -1 on delete, both on an update of tenant_id or created_at (an operator's
 * backfill). The table has no other index: an insert changes one entry of one B-tree. The
 * rollup code is these triggers and nothing else (USAGE_TRIGGERS below), so
 * that it can be restructured on its own. The last statements count what the tables hold.
 */
#define USAGE_KEY(row) "COALESCE(" row ".tenant_id, ''), substr(" row ".created_at, 1, 10)"
#define USAGE_ADD(kind, row) \
    " INSERT INTO usage_daily VALUES (" kind ", " USAGE_KEY(row) ", 1)" \
    " ON CONFLICT (kind, tenant_key, day) DO UPDATE SET n = n + 1;"
#define USAGE_SUB(kind, row) \
    " UPDATE usage_daily SET n = n - 1 WHERE kind = " kind \
    " AND tenant_key = COALESCE(" row ".tenant_id, '') AND day = substr(" row ".created_at, 1, 10);"
#define USAGE_TRIGGERS(table, kind) \
    "CREATE TRIGGER tr_usage_" table "_ai AFTER INSERT ON " table " BEGIN" \
    USAGE_ADD(kind, "NEW") " END;" \
    "CREATE TRIGGER tr_usage_" table "_ad AFTER DELETE ON " table " BEGIN" \
    USAGE_SUB(kind, "OLD") " END;" \
    "CREATE TRIGGER tr_usage_" table "_au AFTER UPDATE OF tenant_id, created_at ON " table \
    " BEGIN" USAGE_SUB(kind, "OLD") USAGE_ADD(kind, "NEW") " END;"
#define USAGE_BACKFILL(table, kind) \
    "INSERT INTO usage_daily SELECT " kind ", COALESCE(tenant_id, ''), substr(created_at, 1, 10)," \
    " COUNT(*) FROM " table " GROUP BY 2, 3;"

static const char usage_rollup[] =
    "CREATE TABLE usage_daily ("
    " kind INTEGER NOT NULL,"
    " tenant_key TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (kind, tenant_key, day)"
    ") STRICT, WITHOUT ROWID;"
    USAGE_TRIGGERS("episodes", "1")
    USAGE_TRIGGERS("memories", "2")
    USAGE_TRIGGERS("compile_jobs", "3")
    USAGE_TRIGGERS("webhook_events", "4")
    USAGE_BACKFILL("episodes", "1")
    USAGE_BACKFILL("memories", "2")
    USAGE_BACKFILL("compile_jobs", "3")
    USAGE_BACKFILL("webhook_events", "4");

/*
 * Step 17: the context generation (service/context_cache.h). context_gen holds, per (subject,
 * tenant), a counter bumped inside every transaction that inserts, changes or deletes one of
 * the subject's episodes, memories or resolutions: everything POST /v1/context reads. A
 * process that cached a subject's context inputs at generation g serves them again only
 * while the database still says g. Rows are never deleted (a deleted subject keeps counting
 * up), so a number never comes back with other rows behind it. Its own triggers, apart from
 * subject_stats's.
 */
#define GEN_BUMP(row) \
    " INSERT INTO context_gen VALUES (" row ".subject_id, ifnull(" row ".tenant_id, ''), 1)" \
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1;"

static const char context_gen[] =
    "CREATE TABLE context_gen ("
    " subject_id TEXT NOT NULL,"
    " tenant_key TEXT NOT NULL,"   /* ifnull(tenant_id, '') */
    " gen INTEGER NOT NULL,"
    " PRIMARY KEY (subject_id, tenant_key)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TRIGGER context_gen_episode_ai AFTER INSERT ON episodes BEGIN"
    GEN_BUMP("new")
    " END;"
    "CREATE TRIGGER context_gen_episode_ad AFTER DELETE ON episodes BEGIN"
    GEN_BUMP("old")
    " END;"
    "CREATE TRIGGER context_gen_episode_au AFTER UPDATE ON episodes BEGIN"
    GEN_BUMP("old")
    GEN_BUMP("new")
    " END;"
    "CREATE TRIGGER context_gen_memory_ai AFTER INSERT ON memories BEGIN"
    GEN_BUMP("new")
    " END;"
    "CREATE TRIGGER context_gen_memory_ad AFTER DELETE ON memories BEGIN"
    GEN_BUMP("old")
    " END;"
    "CREATE TRIGGER context_gen_memory_au AFTER UPDATE ON memories BEGIN"
    GEN_BUMP("old")
    GEN_BUMP("new")
    " END;"
    "CREATE TRIGGER context_gen_resolution_ai AFTER INSERT ON resolutions BEGIN"
    GEN_BUMP("new")
    " END;"
    "CREATE TRIGGER context_gen_resolution_ad AFTER DELETE ON resolutions BEGIN"
    GEN_BUMP("old")
    " END;"
    "CREATE TRIGGER context_gen_resolution_au AFTER UPDATE ON resolutions BEGIN"
    GEN_BUMP("old")
    GEN_BUMP("new")
    " END;";

/*
 * Step 18, Engram (issue 16): subject_stats follows UPDATEs. Step 6 assumed rows never move,
 * but the tenant audit (GET /admin/tenant-audit, README) tells operators to fix rows without
 * a tenant with an UPDATE of tenant_id, and an operator may fix a created_at: the explorer's
 * counts, last activity and the active-subject counts then drifted from the tables. Each
 * trigger below removes the row from its old (tenant, subject) pair exactly as step 6's
 * delete trigger does and adds it to its new pair as the insert trigger does; the session
 * test compares with the other rows (seq <> the row's), which are the same rows before and
 * after the update, and last_episode_at is recomputed from the (subject_id, tenant_id,
 * created_at) index when the row held the pair's newest time. The WHEN clauses leave every
 * other update (compile's last_compiled_at, a resolution's summary) alone. Step 6's
 * resolution trigger followed the new pair only: it is replaced by one that follows both.
 * The last statements repair what earlier updates left: every pair's row is recounted from
 * the tables, missing rows are added and empty ones removed.
 */
#define STATS_MOVED(a, b) "OLD." a " IS NOT NEW." a " OR OLD." b " IS NOT NEW." b
#define STATS_RECOUNT_PAIR(t) \
    "e.subject_id = " t ".subject_id AND e.tenant_id IS " t ".tenant_id"

static const char subject_stats_updates[] =
    "CREATE TRIGGER tr_subject_stats_episode_update"
    " AFTER UPDATE OF subject_id, tenant_id, session_id, created_at ON episodes"
    " WHEN " STATS_MOVED("subject_id", "tenant_id") " OR " STATS_MOVED("session_id", "created_at")
    " BEGIN"
    " UPDATE subject_stats SET episode_count = episode_count - 1,"
    " session_count = session_count - " STATS_LAST_OF_SESSION("OLD") ","
    " last_episode_at = CASE WHEN last_episode_at > OLD.created_at THEN last_episode_at"
    " ELSE (SELECT MAX(e.created_at) FROM episodes e WHERE " STATS_RECOUNT_PAIR("OLD") ") END"
    " WHERE " STATS_KEY("OLD") " AND " STATS_NOT_RESERVED("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " INSERT INTO subject_stats (subject_id, tenant_id, episode_count, session_count,"
    " last_episode_at) SELECT NEW.subject_id, NEW.tenant_id, 1, "
    STATS_LAST_OF_SESSION("NEW") ", NEW.created_at WHERE " STATS_NOT_RESERVED("NEW") " "
    STATS_UPSERT
    "episode_count = episode_count + 1, session_count = session_count + excluded.session_count,"
    " last_episode_at = MAX(COALESCE(last_episode_at, ''), excluded.last_episode_at);"
    " END;"
    "CREATE TRIGGER tr_subject_stats_memory_update AFTER UPDATE OF subject_id, tenant_id"
    " ON memories WHEN " STATS_MOVED("subject_id", "tenant_id") " BEGIN"
    " UPDATE subject_stats SET memory_count = memory_count - 1"
    " WHERE " STATS_KEY("OLD") " AND " STATS_NOT_RESERVED("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " INSERT INTO subject_stats (subject_id, tenant_id, memory_count)"
    " SELECT NEW.subject_id, NEW.tenant_id, 1 WHERE " STATS_NOT_RESERVED("NEW") " "
    STATS_UPSERT "memory_count = memory_count + 1;"
    " END;"
    "DROP TRIGGER tr_subject_stats_resolution_update;"
    "CREATE TRIGGER tr_subject_stats_resolution_update"
    " AFTER UPDATE OF status, subject_id, tenant_id ON resolutions"
    " WHEN (OLD.status = 'open' OR NEW.status = 'open') AND ((OLD.status = 'open') <>"
    " (NEW.status = 'open') OR " STATS_MOVED("subject_id", "tenant_id") ") BEGIN"
    " UPDATE subject_stats SET open_sessions = open_sessions - 1 WHERE " STATS_KEY("OLD")
    " AND OLD.status = 'open' AND " STATS_NOT_RESERVED("OLD") ";"
    " " STATS_DROP_EMPTY("OLD")
    " INSERT INTO subject_stats (subject_id, tenant_id, open_sessions)"
    " SELECT NEW.subject_id, NEW.tenant_id, 1 WHERE NEW.status = 'open' AND "
    STATS_NOT_RESERVED("NEW") " " STATS_UPSERT "open_sessions = open_sessions + 1;"
    " END;"

    /* The repair: every pair the tables hold gets a row, every row its recount. */
    "INSERT INTO subject_stats (subject_id, tenant_id)"
    " SELECT p.subject_id, p.tenant_id FROM ("
    "SELECT subject_id, tenant_id FROM episodes GROUP BY subject_id, tenant_id"
    " UNION SELECT subject_id, tenant_id FROM memories GROUP BY subject_id, tenant_id"
    " UNION SELECT subject_id, tenant_id FROM resolutions WHERE status = 'open'"
    " GROUP BY subject_id, tenant_id) p WHERE " STATS_NOT_RESERVED("p")
    " ON CONFLICT DO NOTHING;"
    "UPDATE subject_stats SET"
    " episode_count = (SELECT COUNT(*) FROM episodes e WHERE "
    STATS_RECOUNT_PAIR("subject_stats") "),"
    " session_count = (SELECT COUNT(DISTINCT e.session_id) FROM episodes e WHERE "
    STATS_RECOUNT_PAIR("subject_stats") " AND e.session_id IS NOT NULL),"
    " last_episode_at = (SELECT MAX(e.created_at) FROM episodes e WHERE "
    STATS_RECOUNT_PAIR("subject_stats") "),"
    " memory_count = (SELECT COUNT(*) FROM memories e WHERE "
    STATS_RECOUNT_PAIR("subject_stats") "),"
    " open_sessions = (SELECT COUNT(*) FROM resolutions e WHERE "
    STATS_RECOUNT_PAIR("subject_stats") " AND e.status = 'open');"
    "DELETE FROM subject_stats WHERE episode_count = 0 AND memory_count = 0"
    " AND open_sessions = 0;";

/*
 * Step 19, Engram (issue 18): the compact codes leave the write path too. Computing and
 * writing each memory's code (its memory_codes row, index entry and the subject's
 * generation) when its vector was set cost compile a sixth of its instructions. Now
 * search_codes_indexed holds the highest seq whose code is current: a vector written above
 * it writes no code, and a semantic search first brings memory_codes up to every row
 * (store_search_codes_sync: one INSERT … SELECT of the rows above the mark, then the mark),
 * as step 14 defers the text indexes. Rows at or below the mark keep their codes right on
 * every write, as before (an insert there when a seq is reused, a new vector); a delete or a
 * row update reaches every code, on either side of the mark (memory_codes_ad, _au_row).
 */
static const char search_codes_deferred[] =
    "CREATE TABLE search_codes_indexed ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO search_codes_indexed VALUES (1, (SELECT ifnull(max(seq), 0) FROM memories));"
    "DROP TRIGGER memory_codes_ai;"
    "DROP TRIGGER memory_codes_au_vector;"
    "CREATE TRIGGER memory_codes_ai AFTER INSERT ON memories"
    " WHEN new.embedding IS NOT NULL AND new.seq <= (SELECT seq FROM search_codes_indexed)"
    " BEGIN"
    " INSERT INTO memory_codes (seq, id, subject_id, tenant_id, kind, active, created_at,"
    " valid_to, code) VALUES (new.seq, new.id, new.subject_id, new.tenant_id, new.kind,"
    " new.status = 'active', new.created_at, new.valid_to,"
    " engram_vector_code(new.embedding));"
    " END;"
    "CREATE TRIGGER memory_codes_au_vector AFTER UPDATE OF embedding ON memories"
    " WHEN new.seq <= (SELECT seq FROM search_codes_indexed) BEGIN"
    " DELETE FROM memory_codes WHERE seq = old.seq;"
    " INSERT INTO memory_codes (seq, id, subject_id, tenant_id, kind, active, created_at,"
    " valid_to, code) SELECT new.seq, new.id, new.subject_id, new.tenant_id, new.kind,"
    " new.status = 'active', new.created_at, new.valid_to, engram_vector_code(new.embedding)"
    " WHERE new.embedding IS NOT NULL;"
    " END;";

/*
 * Step 20, Engram (issue 16): the subject counts of GET /admin/usage and /admin/dashboard
 * (spec/api.md §7.6) without a pass over subject_stats. subject_days holds how many subjects
 * (kind 1, tenant_key '': distinct subject ids, each at the UTC day of its newest episode over
 * all its tenants) and how many (tenant, subject) pairs (kind 2, per tenant key; '' = none, each
 * at the day of the pair's newest episode) with episodes there are per day; subjects active
 * since a cut-off are the days after the cut-off's day plus that day's subjects from the
 * cut-off on (ix_subject_stats_last over one day). Triggers on subject_stats keep it, whoever
 * writes that table: they run only when a row's day (NULL without episodes) changes, so an
 * episode of the same day costs a WHEN test. A subject moves when the newest day over its pairs
 * changes: the other pairs' newest day (ix_subject_stats_subject) against this row's day
 * before and after. Rows of reserved subjects are not in subject_stats, so not here either.
 */
#define SDAY(r) "CASE WHEN " r ".episode_count > 0 THEN substr(" r ".last_episode_at, 1, 10) END"
#define SDAY_MAX(a, b) "NULLIF(max(COALESCE(" a ", ''), COALESCE(" b ", '')), '')"
/* Move one unit of (kind, key) from day b to day a (NULL: none); nothing when equal. x is
 * computed once (LIMIT 1: not flattened into the join with m, which would evaluate b and a
 * per row and per use). */
#define SDAY_MOVE(kind, key, b, a) \
    " INSERT INTO subject_days (kind, tenant_key, day, n) SELECT " kind ", " key ","   \
    " CASE m.d WHEN -1 THEN x.b ELSE x.a END, m.d FROM (SELECT " b " AS b, " a " AS a LIMIT 1) x," \
    " (SELECT -1 AS d UNION ALL SELECT 1) m WHERE x.b IS NOT x.a AND"                   \
    " CASE m.d WHEN -1 THEN x.b ELSE x.a END IS NOT NULL"                               \
    " ON CONFLICT (kind, tenant_key, day) DO UPDATE SET n = n + excluded.n;"
/* The newest day of row r's subject over its other pairs. */
#define SDAY_OTHERS(r) \
    "(SELECT max(substr(o.last_episode_at, 1, 10)) FROM subject_stats o"          \
    " WHERE o.subject_id = " r ".subject_id AND o.episode_count > 0"              \
    " AND COALESCE(o.tenant_id, '') <> COALESCE(" r ".tenant_id, ''))"
#define SDAY_TRIGGER_BODY(r, old_day, new_day) \
    SDAY_MOVE("2", "COALESCE(" r ".tenant_id, '')", old_day, new_day)                 \
    SDAY_MOVE("1", "''", SDAY_MAX(SDAY_OTHERS(r), old_day), SDAY_MAX(SDAY_OTHERS(r), new_day))

static const char subject_days[] =
    "CREATE TABLE subject_days ("
    " kind INTEGER NOT NULL,"
    " tenant_key TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " PRIMARY KEY (kind, tenant_key, day)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TRIGGER tr_subject_days_ai AFTER INSERT ON subject_stats"
    " WHEN NEW.episode_count > 0 BEGIN"
    SDAY_TRIGGER_BODY("NEW", "NULL", SDAY("NEW"))
    " END;"
    "CREATE TRIGGER tr_subject_days_ad AFTER DELETE ON subject_stats"
    " WHEN OLD.episode_count > 0 BEGIN"
    SDAY_TRIGGER_BODY("OLD", SDAY("OLD"), "NULL")
    " END;"
    /* A key change is a delete from the old pair and an insert into the new one. */
    "CREATE TRIGGER tr_subject_days_au AFTER UPDATE OF episode_count, last_episode_at,"
    " subject_id, tenant_id ON subject_stats WHEN (" SDAY("OLD") ") IS NOT (" SDAY("NEW") ")"
    " OR OLD.subject_id IS NOT NEW.subject_id OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN"
    SDAY_TRIGGER_BODY("OLD", SDAY("OLD"), "NULL")
    SDAY_TRIGGER_BODY("NEW", "NULL", SDAY("NEW"))
    " END;"
    "INSERT INTO subject_days SELECT 2, COALESCE(tenant_id, ''), substr(last_episode_at, 1, 10),"
    " COUNT(*) FROM subject_stats WHERE episode_count > 0 GROUP BY 2, 3;"
    "INSERT INTO subject_days SELECT 1, '', d, COUNT(*) FROM (SELECT"
    " max(substr(last_episode_at, 1, 10)) AS d FROM subject_stats WHERE episode_count > 0"
    " GROUP BY subject_id) GROUP BY d;";

/*
 * Step 21, Engram (issue 18): bulk writes keep the counters from C. The per-row triggers that
 * an insert or a mark-compiled update fires on subject_stats, usage_daily and context_gen
 * (an upsert each per row: about 45,000 instructions an imported episode or memory) stand
 * aside while an Engram connection runs a bulk statement, which then adds its rows to the
 * counters with one upsert per run of rows (sqlite_counters.c): the same triggers, with
 * SQ_BULK_OFF in front of their WHEN. Every other connection (and Engram's own outside bulk
 * writes) finds it true and fires them as before, so the counts stay exact for every writer.
 */
#define BULK_TRIGGER(name, event, table, when, body) \
    "DROP TRIGGER " name ";" \
    "CREATE TRIGGER " name " AFTER " event " ON " table " WHEN " SQ_BULK_OFF when " BEGIN" \
    body " END;"

static const char counters_bulk_writes[] =
    BULK_TRIGGER("tr_subject_stats_episode_insert", "INSERT", "episodes",
                 " AND " STATS_NOT_RESERVED("NEW"), STATS_EPISODE_INSERT)
    BULK_TRIGGER("tr_subject_stats_memory_insert", "INSERT", "memories",
                 " AND " STATS_NOT_RESERVED("NEW"), STATS_MEMORY_INSERT)
    BULK_TRIGGER("tr_usage_episodes_ai", "INSERT", "episodes", "", USAGE_ADD("1", "NEW"))
    BULK_TRIGGER("tr_usage_memories_ai", "INSERT", "memories", "", USAGE_ADD("2", "NEW"))
    BULK_TRIGGER("context_gen_episode_ai", "INSERT", "episodes", "", GEN_BUMP("new"))
    BULK_TRIGGER("context_gen_memory_ai", "INSERT", "memories", "", GEN_BUMP("new"))
    BULK_TRIGGER("context_gen_episode_au", "UPDATE", "episodes", "",
                 GEN_BUMP("old") GEN_BUMP("new"));

const struct migration sqlite_migrations[] = {
    { 1, "initial_schema", initial_schema },
    { 2, "heartbeat", heartbeat },
    { 3, "support_indexes", support_indexes },
    { 4, "episode_occurred_at", episode_occurred_at },
    { 5, "context_receipts", context_receipts },
    { 6, "subject_stats", subject_stats },
    { 7, "admin_usage_indexes", admin_usage_indexes },
    { 8, "episode_indexes", episode_indexes },
    { 9, "deletion_receipts", deletion_receipts },
    { 10, "subject_lineage", subject_lineage },
    { 11, "search_text_index", search_text_index },
    { 12, "search_bm25_index", search_bm25_index },
    { 13, "search_vector_codes", search_vector_codes },
    { 14, "search_text_deferred", search_text_deferred },
    { 15, "subject_search_index", subject_search_index },
    { 16, "usage_rollup", usage_rollup },
    { 17, "context_gen", context_gen },
    { 18, "subject_stats_updates", subject_stats_updates },
    { 19, "search_codes_deferred", search_codes_deferred },
    { 20, "subject_days", subject_days },
    { 21, "counters_bulk_writes", counters_bulk_writes },
};

const size_t sqlite_migrations_count = ARRAY_SIZE(sqlite_migrations);
