/* schema_sqlite.c - the SQLite schema as versioned migration steps (data-model.md §1.2, §1.3).
 * Timestamps are fixed-width TEXT (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), JSON is compact TEXT, vectors
 * are BLOBs. schema_migrations itself is created by sqlite.c's migrate before step 1. */
#include "store/migrations.h"

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
 * Step 5, Engram (issue 18): the text search index. memories_trgm is an FTS5 trigram index
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
 * Step 6, Engram (issue 18): ranked full text (search mode=bm25). memories_fts is an FTS5
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
 * Step 7, Engram (issue 18): compact vectors. memory_codes holds, per memory with an
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

const struct migration sqlite_migrations[] = {
    { 1, "initial_schema", initial_schema },
    { 2, "heartbeat", heartbeat },
    { 3, "support_indexes", support_indexes },
    { 4, "episode_occurred_at", episode_occurred_at },
    { 5, "search_text_index", search_text_index },
    { 6, "search_bm25_index", search_bm25_index },
    { 7, "search_vector_codes", search_vector_codes },
};

const size_t sqlite_migrations_count = ARRAY_SIZE(sqlite_migrations);
