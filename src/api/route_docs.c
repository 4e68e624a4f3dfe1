/* route_docs.c - what each route of routes.c takes and answers, for GET /openapi.json
 * (openapi.h explains the single-quoted fragments). Adding a route to api_routes means adding
 * its entry here: tests/unit/test_openapi.c fails until it exists, and tests/api/94-openapi.py
 * checks that every field its validators read is described and that the example is accepted.
 * Shapes and limits are spec/api.md's (§ numbers below). */
#include "api/openapi.h"

/* The fragments are laid out by hand so that each JSON member starts where a reader looks for
 * it; clang-format would break them at arbitrary string joins. */
/* clang-format off */

/* ---- Reusable parameter fragments ---- */

#define P_PATH(name, extra) \
    "{'name':'" name "','in':'path','required':true,'schema':{'type':'string'" extra "}}"
#define P_SUBJECT_PATH P_PATH("subject_id", ",'minLength':1")
#define P_QUERY(name, schema, desc) \
    "{'name':'" name "','in':'query','schema':" schema ",'description':'" desc "'}"
#define P_QUERY_EXT(name, schema, desc) \
    "{'name':'" name "','in':'query','schema':" schema ",'description':'" desc "'," \
    "'x-engram-extension':true}"
#define P_QUERY_REQ(name, schema, desc) \
    "{'name':'" name "','in':'query','required':true,'schema':" schema \
    ",'description':'" desc "'}"
#define P_LIMIT(def, max) \
    P_QUERY("limit", "{'type':'integer','minimum':1,'maximum':" max ",'default':" def "}", \
            "Page size.")
#define P_OFFSET P_QUERY("offset", "{'type':'integer','minimum':0,'default':0}", "Items to skip.")
#define P_TENANT_FILTER \
    P_QUERY("tenant_id", "{'type':'string'}", "Only rows of this tenant (empty: no filter).")

#define S_STR "{'type':'string'}"
#define S_INT "{'type':'integer'}"
#define S_BOOL "{'type':'boolean'}"
#define S_OBJ "{'type':'object'}"
#define S_NSTR "{'type':['string','null']}"
#define S_NTS "{'type':['string','null'],'format':'date-time'}"
#define S_TS "{'type':'string','format':'date-time'}"
#define REF(name) "{'$ref':'#/components/schemas/" name "'}"
#define LIST_OF(name) "{'type':'array','items':" REF(name) "}"

/* ---- Reusable schemas (#/components/schemas) ---- */

const struct route_doc_schema api_doc_schemas[] = {
    { "ErrorEnvelope",
      "{'type':'object','required':['error'],'properties':{'error':{'type':'object',"
      "'required':['code','message'],'properties':{'code':{'type':'string','examples':"
      "['validation_error','http_error','missing_api_key','invalid_api_key','missing_tenant',"
      "'rate_limited','internal_error']},'message':" S_STR ",'details':{'type':'array',"
      "'items':" REF("ValidationDetail") "},'request_id':" S_STR "}}}}" },
    { "ValidationDetail",
      "{'type':'object','required':['type','loc','msg'],'properties':{'type':{'type':'string',"
      "'examples':['missing','string_type','string_too_long','int_parsing','json_invalid']},"
      "'loc':{'type':'array','items':{'type':['string','integer']},'description':'body, query,"
      " path or header, then keys and indices'},'msg':" S_STR ",'input':{},'ctx':" S_OBJ "}}" },
    { "Episode",
      "{'type':'object','required':['id','subject_id','source','type','payload','metadata',"
      "'provenance','session_id','occurred_at','created_at'],'properties':{'id':{'type':'string','format':"
      "'uuid'},'subject_id':" S_STR ",'source':" S_STR ",'type':" S_STR ",'payload':" S_OBJ
      ",'metadata':" S_OBJ ",'provenance':" S_OBJ ",'session_id':" S_NSTR ",'occurred_at':"
      "{'type':['string','null'],'format':'date-time','x-engram-extension':true},'created_at':"
      S_TS "}}" },
    { "EpisodeIn",
      "{'type':'object','required':['subject_id','source','type','payload'],'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'source':{'type':'string','minLength':1,'maxLength':256},"
      "'type':{'type':'string','minLength':1,'maxLength':128},"
      "'payload':{'type':'object','description':'Stored verbatim; its text is messages[], else"
      " text, else content.'},"
      "'metadata':{'type':'object','default':{}},'provenance':{'type':'object','default':{}},"
      "'session_id':{'type':['string','null'],'maxLength':256},"
      "'idempotency_key':{'type':['string','null'],'maxLength':256,'description':'A second "
      "episode with the same key (per subject and tenant) returns the first. When absent, "
      "metadata.idempotency_key is used (x-engram-extension).'},"
      "'occurred_at':{'type':['string','null'],'format':'date-time','x-engram-extension':true,"
      "'description':'When the event happened (RFC 3339), as opposed to created_at.'}}}" },
    { "Memory",
      "{'type':'object','required':['id','subject_id','kind','content','summary','confidence',"
      "'valid_from','valid_to','source_episode_ids','metadata','status','created_at',"
      "'updated_at'],'properties':{'id':{'type':'string','format':'uuid'},'subject_id':" S_STR
      ",'kind':{'type':'string','examples':['profile_fact','episode_summary','procedure',"
      "'artifact_ref']},'content':" S_STR ",'summary':" S_STR ",'confidence':{'type':'number'},"
      "'valid_from':" S_TS ",'valid_to':" S_NTS ",'source_episode_ids':{'type':'array','items':"
      "{'type':'string','format':'uuid'}},'metadata':" S_OBJ ",'status':{'type':'string',"
      "'examples':['active','superseded','deleted']},'created_at':" S_TS ",'updated_at':" S_TS
      ",'sensitivity_labels':{'type':'array','items':" S_STR "}}}" },
    { "SessionInfo",
      "{'type':'object','properties':{'session_id':" S_STR ",'episode_count':" S_INT
      ",'first_at':" S_NTS ",'last_at':" S_NTS "}}" },
    { "Readiness",
      "{'type':'object','required':['status','checks'],'properties':{'status':{'enum':["
      "'ready','degraded','not_ready']},'checks':{'type':'array','items':{'type':'object',"
      "'required':['name','status'],'properties':{'name':" S_STR ",'status':{'enum':['ok',"
      "'degraded','fail']},'detail':" S_STR ",'latency_ms':{'type':'number'}}}}}}" },
    { "Job",
      "{'type':'object','properties':{'job_id':" S_STR ",'subject_id':" S_STR ",'tenant_id':"
      S_NSTR ",'status':" S_STR ",'memories_created':" S_INT ",'error':" S_NSTR ",'created_at':"
      S_TS ",'started_at':" S_NTS ",'completed_at':" S_NTS "}}" },
    { "WebhookEvent",
      "{'type':'object','properties':{'id':{'type':'string','format':'uuid'},'event':" S_STR
      ",'status':{'enum':['pending','delivered','dead_letter']},'attempts':" S_INT
      ",'max_attempts':" S_INT ",'last_attempt_at':" S_NTS ",'next_attempt_at':" S_NTS
      ",'last_error':" S_NSTR ",'http_status':{'type':['integer','null']},'created_at':" S_TS
      ",'delivered_at':" S_NTS ",'tenant_id':" S_NSTR "}}" },
    { "Snapshot",
      "{'type':'object','properties':{'id':{'type':'string','format':'uuid'},'name':" S_STR
      ",'version':" S_INT ",'source_subject_id':" S_STR ",'episode_count':" S_INT
      ",'memory_count':" S_INT ",'metadata':" S_OBJ ",'created_at':" S_TS "}}" },
    { "SubjectExport",
      "{'type':'object','description':'The subject export document (spec/api.md 6.1); the "
      "checksum is SHA-256 over the canonical JSON of its episodes and memories.','required':["
      "'format_version','subject_id','episodes','memories','checksum'],'properties':{"
      "'format_version':{'const':'1.0'},'exported_at':" S_TS ",'subject_id':" S_STR
      ",'tenant_id':" S_NSTR ",'counts':" S_OBJ ",'episodes':{'type':'array','items':" S_OBJ
      "},'memories':{'type':'array','items':" S_OBJ "},'checksum':{'type':'string','pattern':"
      "'^[0-9a-f]{64}$'}}}" },
    { "MemoryPayload",
      "{'type':'object','description':'The portable memory payload (spec/api.md 6.4).',"
      "'required':['format','format_version'],'properties':{'format':{'const':"
      "'statewave-memory-payload'},'format_version':{'const':1},'export_id':" S_STR
      ",'exported_at':" S_TS ",'export_scope':" S_STR ",'subjects':{'type':'array','items':"
      S_OBJ "},'episodes':{'type':'array','items':" S_OBJ "},'memories':{'type':'array',"
      "'items':" S_OBJ "},'sources':{'type':'array'},'metadata':" S_OBJ "}}" },
    { "Resolution",
      "{'type':'object','required':['id','subject_id','session_id','status',"
      "'resolution_summary','resolved_at','metadata','created_at','updated_at'],'properties':{"
      "'id':{'type':'string','format':'uuid'},'subject_id':" S_STR ",'session_id':" S_STR
      ",'status':{'enum':['open','resolved','unresolved']},'resolution_summary':" S_NSTR
      ",'resolved_at':" S_NTS ",'metadata':" S_OBJ ",'created_at':" S_TS ",'updated_at':" S_TS
      "}}" },
    { "HealthFactor",
      "{'type':'object','required':['signal','impact','detail'],'properties':{'signal':" S_STR
      ",'impact':" S_INT ",'detail':" S_STR "}}" },
    { "SessionSLA",
      "{'type':'object','properties':{'session_id':" S_STR ",'status':" S_STR
      ",'first_message_at':" S_NTS ",'first_response_at':" S_NTS ",'resolved_at':" S_NTS
      ",'first_response_seconds':{'type':['number','null']},'resolution_seconds':{'type':"
      "['number','null']},'open_duration_seconds':{'type':['number','null']},"
      "'first_response_breached':" S_BOOL ",'resolution_breached':" S_BOOL "}}" },
    { "JsonRpcMessage",
      "{'type':'object','properties':{'jsonrpc':{'const':'2.0'},'id':{'type':['string',"
      "'integer','null']},'method':{'type':'string','examples':['initialize','tools/list',"
      "'tools/call','ping']},'params':{'type':'object'}}}" },
    { "DeleteCounts",
      "{'type':'object','required':['subject_id','episodes_deleted','memories_deleted'],"
      "'properties':{'subject_id':" S_STR ",'episodes_deleted':" S_INT ",'memories_deleted':"
      S_INT "}}" },
};

const size_t api_doc_schemas_count = sizeof(api_doc_schemas) / sizeof(api_doc_schemas[0]);

/* ---- Bodies and answers used by more than one route ---- */

#define R_LIVE "{'type':'object','properties':{'status':{'const':'ok'}}}"
#define EX_EPISODE "{'subject_id':'user-42','source':'chat','type':'conversation'," \
    "'payload':{'messages':[{'role':'user','content':'Hi, my name is Ada Lovelace.'}]}," \
    "'session_id':'s-1'}"
#define R_RESTORED "{'type':'object','properties':{'episodes_restored':" S_INT \
    ",'memories_restored':" S_INT ",'resolutions_restored':" S_INT ",'subject_id':" S_STR "}}"
#define R_DELETED "{'type':'object','required':['deleted'],'properties':{'deleted':" S_INT "}}"
#define TARGET_TENANT "'target_tenant_id':{'type':['string','null'],'maxLength':256}"

const struct route_doc api_route_docs[] = {
    /* ---- liveness, readiness, metrics (§3.10, §11) ---- */
    { "healthz", "core", "Liveness", NULL, 0, NULL, NULL, NULL,
      { { 200, "The process is up.", R_LIVE, NULL } } },
    { "health", "core", "Liveness (alias of /healthz)", NULL, 0, NULL, NULL, NULL,
      { { 200, "The process is up.", R_LIVE, NULL } } },
    { "readyz", "core", "Readiness: database, job queue, LLM", NULL, 0, NULL, NULL, NULL,
      { { 200, "Ready or degraded.", REF("Readiness"), NULL },
        { 503, "Not ready (a check failed).", REF("Readiness"), NULL } } },
    { "ready", "core", "Readiness (alias of /readyz)", NULL, 0, NULL, NULL, NULL,
      { { 200, "Ready or degraded.", REF("Readiness"), NULL },
        { 503, "Not ready (a check failed).", REF("Readiness"), NULL } } },
    { "metrics", "engram", "Prometheus metrics", "Request counters and latency histograms per "
      "route, plus gauges read from the database (text exposition format 0.0.4).",
      ROUTE_DOC_ENGRAM, NULL, NULL, NULL,
      { { 200, "Metrics.", S_STR, "text/plain; version=0.0.4" } } },

    /* ---- episodes (§3.1, §3.2) ---- */
    { "episodes.create", "core", "Ingest one episode", "The episode is stored uncompiled and "
      "immutable; fires `episode.created`.", 0, NULL, REF("EpisodeIn"), EX_EPISODE,
      { { 201, "The stored episode.", REF("Episode"), NULL } } },
    { "episodes.batch", "core", "Ingest 1 to 100 episodes in one transaction",
      "Every item is validated before anything is written; all share one `created_at`.", 0,
      NULL,
      "{'type':'object','required':['episodes'],'properties':{'episodes':{'type':'array',"
      "'minItems':1,'maxItems':100,'items':" REF("EpisodeIn") "}}}",
      "{'episodes':[" EX_EPISODE ",{'subject_id':'user-43','source':'chat','type':'message',"
      "'payload':{'text':'I work at Acme.'}}]}",
      { { 201, "The stored episodes, in request order.",
          "{'type':'object','required':['episodes_created','episodes'],'properties':{"
          "'episodes_created':{'type':'integer'},'episodes':" LIST_OF("Episode") "}}",
          NULL } } },

    /* ---- subjects and timeline (§3.7 - §3.9) ---- */
    { "timeline", "core", "A subject's episodes and memories, oldest first",
      "The oldest 100 episodes and the oldest 100 memories of any status; since, until, kinds "
      "and limit (Engram) filter the episodes.", 0,
      "[" P_QUERY_REQ("subject_id", "{'type':'string','minLength':1,'maxLength':256}",
                      "The subject.") ","
      P_QUERY_EXT("since", "{'type':'string','format':'date-time'}",
                  "Episodes that occurred at or after (occurred_at, else created_at).") ","
      P_QUERY_EXT("until", "{'type':'string','format':'date-time'}",
                  "Episodes that occurred at or before; not before since.") ","
      P_QUERY_EXT("kinds", S_STR, "Comma-separated episode types (1 to 100).") ","
      P_QUERY_EXT("limit", "{'type':'integer','minimum':1,'maximum':500}",
                  "At most this many episodes and memories (default 100 each).") "]",
      NULL, NULL,
      { { 200, "The timeline (empty lists for an unknown subject).",
          "{'type':'object','required':['subject_id','episodes','memories'],'properties':{"
          "'subject_id':" S_STR ",'episodes':" LIST_OF("Episode") ",'memories':"
          LIST_OF("Memory") "}}", NULL } } },
    { "subjects.list", "core", "Subjects with episodes or memories",
      "`total` is the item count of this page (as the reference answers).", 0,
      "[" P_LIMIT("50", "200") "," P_OFFSET "]", NULL, NULL,
      { { 200, "One page, by subject_id.",
          "{'type':'object','required':['subjects','total'],'properties':{'subjects':{'type':"
          "'array','items':{'type':'object','properties':{'subject_id':" S_STR ",'episode_count':"
          S_INT ",'memory_count':" S_INT "}}},'total':" S_INT "}}", NULL } } },
    { "subjects.delete", "core", "Delete a subject's episodes and memories",
      "Tenant-scoped; answers 200 with zero counts when nothing existed.", 0,
      "[" P_SUBJECT_PATH "]", NULL, NULL,
      { { 200, "What was deleted.", REF("DeleteCounts"), NULL } } },

    /* ---- support (§4.1 - §4.4) ---- */
    { "resolutions.create", "support", "Create or update a session's resolution",
      "Upsert by (subject_id, session_id, tenant); resolved_at is now when status is "
      "resolved, else null. Answers 200, not 201.", 0, NULL,
      "{'type':'object','required':['subject_id','session_id'],'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'session_id':{'type':'string','minLength':1,'maxLength':256},"
      "'status':{'type':'string','pattern':'^(open|resolved|unresolved)$','default':'open'},"
      "'resolution_summary':{'type':['string','null'],'maxLength':2000},"
      "'metadata':{'type':'object','default':{}}}}",
      "{'subject_id':'user-42','session_id':'s-1','status':'resolved',"
      "'resolution_summary':'Password reset link sent.'}",
      { { 200, "The resolution.", REF("Resolution"), NULL } } },
    { "resolutions.list", "support", "A subject's resolutions, most recently updated first",
      "At most 50; a bare JSON array.", 0,
      "[" P_QUERY_REQ("subject_id", "{'type':'string','minLength':1}", "The subject.") ","
      P_QUERY("status", "{'type':'string','pattern':'^(open|resolved|unresolved)$'}",
              "Only this status.") "]", NULL, NULL,
      { { 200, "The resolutions.", LIST_OF("Resolution"), NULL } } },
    { "handoff", "support", "A handoff brief for a human agent",
      "Facts, the active issue, what was tried, resolution history, health and SLA, as "
      "structured fields and as markdown notes cut to max_tokens. Never 404.", 0, NULL,
      "{'type':'object','required':['subject_id','session_id'],'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'session_id':{'type':'string','minLength':1,'maxLength':256},"
      "'reason':{'type':'string','maxLength':256,'default':'escalation'},"
      "'max_tokens':{'type':['integer','null'],'minimum':1,'maximum':16000,'default':4000}}}",
      "{'subject_id':'user-42','session_id':'s-1','reason':'escalation'}",
      { { 200, "The brief.",
          "{'type':'object','required':['subject_id','session_id','reason','generated_at',"
          "'customer_summary','active_issue','attempted_steps','key_facts',"
          "'resolution_history','recent_context','health_score','health_state',"
          "'health_factors','handoff_notes','token_estimate','provenance'],'properties':{"
          "'subject_id':" S_STR ",'session_id':" S_STR ",'reason':" S_STR ",'generated_at':"
          S_TS ",'customer_summary':" S_STR ",'active_issue':" S_STR ",'attempted_steps':"
          "{'type':'array','items':" S_STR "},'key_facts':{'type':'array','items':" S_STR "},"
          "'resolution_history':{'type':'array','items':{'type':'object','properties':{"
          "'session_id':" S_STR ",'status':" S_STR ",'summary':" S_NSTR ",'resolved_at':" S_NTS
          "}}},'recent_context':{'type':'array','items':" S_STR "},'health_score':{'type':"
          "['integer','null']},'health_state':" S_NSTR ",'health_factors':"
          LIST_OF("HealthFactor") ",'handoff_notes':" S_STR ",'token_estimate':" S_INT
          ",'provenance':" S_OBJ "}}", NULL } } },
    { "subjects.health", "support", "A subject's health score", "Starts at 100; healthy >= 70, "
      "watch >= 40, else at_risk. Never 404.", 0, "[" P_PATH("subject_id",
      ",'minLength':1,'maxLength':256") "]", NULL, NULL,
      { { 200, "The score and its factors.",
          "{'type':'object','required':['subject_id','score','state','factors'],'properties':{"
          "'subject_id':" S_STR ",'score':{'type':'integer','minimum':0,'maximum':100},"
          "'state':{'enum':['healthy','watch','at_risk']},'factors':" LIST_OF("HealthFactor")
          "}}", NULL } } },
    { "subjects.sla", "support", "A subject's SLA per session", "Never 404.", 0,
      "[" P_PATH("subject_id", ",'minLength':1,'maxLength':256") ","
      P_QUERY("first_response_threshold_minutes", "{'type':'number','minimum':0,'default':5.0}",
              "Breach threshold for the first response.") ","
      P_QUERY("resolution_threshold_hours", "{'type':'number','minimum':0,'default':24.0}",
              "Breach threshold for the resolution.") "]", NULL, NULL,
      { { 200, "Totals, averages and one entry per session.",
          "{'type':'object','required':['subject_id','total_sessions','resolved_sessions',"
          "'open_sessions','avg_first_response_seconds','avg_resolution_seconds',"
          "'first_response_breach_count','resolution_breach_count','sessions'],'properties':{"
          "'subject_id':" S_STR ",'total_sessions':" S_INT ",'resolved_sessions':" S_INT
          ",'open_sessions':" S_INT ",'avg_first_response_seconds':{'type':['number','null']},"
          "'avg_resolution_seconds':{'type':['number','null']},'first_response_breach_count':"
          S_INT ",'resolution_breach_count':" S_INT ",'sessions':" LIST_OF("SessionSLA") "}}",
          NULL } } },

    /* ---- compile, search, context, labels (§3.3 - §3.6, §5.3) ---- */
    { "memories.compile", "core", "Compile a subject's new episodes into memories",
      "Synchronous by default; `async: true` queues a job and answers 202.", 0, NULL,
      "{'type':'object','required':['subject_id'],'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'async':{'type':'boolean','default':false},"
      "'force':{'type':'boolean','default':false,'x-engram-extension':true,'description':"
      "'Delete the subject memories first and recompile every episode.'}}}",
      "{'subject_id':'user-42'}",
      { { 200, "The memories created (after conflict resolution).",
          "{'type':'object','required':['subject_id','memories_created','memories'],"
          "'properties':{'subject_id':" S_STR ",'memories_created':" S_INT ",'memories':"
          LIST_OF("Memory") "}}", NULL },
        { 202, "The queued job.",
          "{'type':'object','required':['job_id','status','subject_id'],'properties':{"
          "'job_id':" S_STR ",'status':{'const':'pending'},'subject_id':" S_STR "}}",
          NULL } } },
    { "memories.compile_status", "core", "State of an async compile job", NULL, 0,
      "[" P_PATH("job_id", ",'minLength':1") "]", NULL, NULL,
      { { 200, "The job; completed adds memories_created and memories, failed adds error.",
          "{'type':'object','required':['job_id','status','subject_id'],'properties':{"
          "'job_id':" S_STR ",'status':{'enum':['pending','running','completed','failed']},"
          "'subject_id':" S_STR ",'memories_created':" S_INT ",'memories':" LIST_OF("Memory")
          ",'error':" S_STR "}}", NULL },
        { 404, "Unknown or purged job.", REF("ErrorEnvelope"), NULL } } },
    { "memories.search", "core", "Search a subject's active memories",
      "Text mode: optional exact kind and case-insensitive substring q, newest first. "
      "Semantic mode (semantic=true with q) orders by embedding distance. Engram adds "
      "mode: bm25 (ranked full text: most query words held first, then relevance) and "
      "hybrid (BM25 and vector lists fused by reciprocal rank fusion, k = 60).", 0,
      "[" P_QUERY_REQ("subject_id", "{'type':'string','minLength':1,'maxLength':256}",
                      "The subject.") ","
      P_QUERY("kind", S_STR, "Exact memory kind.") ","
      P_QUERY("q", S_STR, "Text to look for.") ","
      P_QUERY("semantic", "{'type':'boolean','default':false}", "Order by embedding distance.")
      "," P_QUERY_EXT("mode", "{'type':'string','enum':['text','bm25','semantic','hybrid']}",
                      "How q is read: text (default: substring, newest first), bm25 (ranked "
                      "full text), semantic (= semantic=true), hybrid (BM25 and vector lists "
                      "fused by reciprocal rank fusion, k = 60).")
      "," P_LIMIT("20", "100") "]",
      NULL, NULL,
      { { 200, "Matching memories.",
          "{'type':'object','required':['memories'],'properties':{'memories':"
          LIST_OF("Memory") "}}", NULL } } },
    { "context", "core", "Assemble a context bundle for a task",
      "Ranks the subject's memories and episodes and packs them under a token budget "
      "(cl100k_base tokens).", 0, NULL,
      "{'type':'object','required':['subject_id','task'],'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'task':{'type':'string','minLength':1,'maxLength':4000},"
      "'max_tokens':{'type':['integer','null'],'minimum':1,'maximum':128000,'description':"
      "'Default STATEWAVE_DEFAULT_MAX_CONTEXT_TOKENS.'},"
      "'session_id':{'type':['string','null'],'maxLength':256}}}",
      "{'subject_id':'user-42','task':'Greet the user by name','max_tokens':500}",
      { { 200, "The bundle.",
          "{'type':'object','required':['subject_id','task','facts','episodes','procedures',"
          "'provenance','assembled_context','token_estimate','sessions'],'properties':{"
          "'subject_id':" S_STR ",'task':" S_STR ",'facts':" LIST_OF("Memory") ",'episodes':"
          LIST_OF("Episode") ",'procedures':" LIST_OF("Memory") ",'provenance':{'type':'object',"
          "'properties':{'fact_ids':{'type':'array','items':" S_STR "},'summary_ids':{'type':"
          "'array','items':" S_STR "},'procedure_ids':{'type':'array','items':" S_STR "},"
          "'episode_ids':{'type':'array','items':" S_STR "}}},'assembled_context':" S_STR
          ",'token_estimate':" S_INT ",'sessions':" LIST_OF("SessionInfo") "}}", NULL } } },
    { "memories.labels", "extra", "Set a memory's sensitivity labels",
      "Labels are trimmed, lower-cased, deduplicated and sorted; [] clears them.", 0,
      "[" P_PATH("memory_id", ",'format':'uuid'") "]",
      "{'type':'object','required':['sensitivity_labels'],'properties':{'sensitivity_labels':"
      "{'type':'array','maxItems':32,'items':{'type':'string','minLength':1,'maxLength':64}}}}",
      "{'sensitivity_labels':['pii']}",
      { { 200, "The updated memory.", REF("Memory"), NULL },
        { 404, "No such memory in this tenant.", REF("ErrorEnvelope"), NULL } } },

    /* ---- compile jobs, operator view (§7.2) ---- */
    { "admin.jobs_list", "admin", "List compile jobs, newest first", NULL, 0,
      "[" P_QUERY("status", S_STR, "Exact status.") ","
      P_QUERY("subject_id", S_STR, "Exact subject.") "," P_TENANT_FILTER ","
      P_LIMIT("50", "100") "," P_OFFSET "]", NULL, NULL,
      { { 200, "One page; total counts every match.",
          "{'type':'object','required':['jobs','total','limit','offset'],'properties':{'jobs':"
          LIST_OF("Job") ",'total':" S_INT ",'limit':" S_INT ",'offset':" S_INT "}}",
          NULL } } },
    { "admin.jobs_delete", "admin", "Delete finished compile jobs", "At least one filter is "
      "required; only completed and failed jobs are deleted.", 0,
      "[" P_QUERY("status", "{'enum':['completed','failed']}", "Terminal status.") ","
      P_QUERY("subject_id", S_STR, "Exact subject.") "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "How many were deleted.", R_DELETED, NULL },
        { 400, "No filter, or a non-terminal status.", REF("ErrorEnvelope"), NULL } } },

    /* ---- subject export and import (§6.1, §6.2) ---- */
    { "admin.export", "seed", "Export a subject as a checksummed document",
      "Every status, ordered by created_at; streamed.", 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "The export document.", REF("SubjectExport"), NULL },
        { 404, "The subject has no data.", REF("ErrorEnvelope"), NULL } } },
    { "admin.import", "seed", "Import a subject export document",
      "Format, checksum and id conflicts are checked first; one transaction.", 0, NULL,
      "{'type':'object','required':['document'],'properties':{'document':"
      REF("SubjectExport") ",'target_subject_id':{'type':['string','null'],'maxLength':256},"
      TARGET_TENANT ",'preserve_ids':{'type':'boolean','default':true}}}",
      "{'document':{'format_version':'1.0','subject_id':'user-42','tenant_id':null,"
      "'episodes':[],'memories':[],'checksum':"
      "'0000000000000000000000000000000000000000000000000000000000000000'},"
      "'target_subject_id':'user-42-copy'}",
      { { 200, "What was imported.",
          "{'type':'object','required':['subject_id','tenant_id','episodes_imported',"
          "'memories_imported','ids_preserved'],'properties':{'subject_id':" S_STR
          ",'tenant_id':" S_NSTR ",'episodes_imported':" S_INT ",'memories_imported':" S_INT
          ",'ids_preserved':" S_BOOL "}}", NULL },
        { 400, "Bad format version, checksum mismatch, id conflict.", REF("ErrorEnvelope"),
          NULL } } },

    /* ---- memory payload export and import (§6.4, §6.5) ---- */
    { "admin.memory_export", "seed", "Export subjects as a portable memory payload", NULL, 0,
      NULL,
      "{'type':'object','required':['subject_ids'],'properties':{'subject_ids':{'type':"
      "'array','items':{'type':'string','pattern':'^[A-Za-z0-9_.:-]{1,128}$'}},'tenant_id':"
      S_NSTR ",'export_scope':{'enum':['episodes','memories','episodes_and_memories',"
      "'episodes_memories_sources'],'default':'episodes_memories_sources'}}}",
      "{'subject_ids':['user-42'],'export_scope':'episodes_and_memories'}",
      { { 200, "The payload.", REF("MemoryPayload"), NULL },
        { 400, "No subject ids, or an id breaking the rule.", REF("ErrorEnvelope"), NULL },
        { 413, "More subjects than STATEWAVE_MEMORY_IMPORT_MAX_SUBJECTS.",
          REF("ErrorEnvelope"), NULL } } },
    { "admin.memory_import", "seed", "Import a memory payload", "Every record gets a new id; "
      "one transaction per subject group.", 0, NULL,
      "{'type':'object','required':['payload'],'properties':{'payload':" REF("MemoryPayload")
      "," TARGET_TENANT ",'conflict_strategy':{'enum':['create_copy','merge','cancel'],"
      "'default':'create_copy'}}}",
      "{'payload':{'format':'statewave-memory-payload','format_version':1,'subjects':[],"
      "'episodes':[],'memories':[]},'conflict_strategy':'create_copy'}",
      { { 200, "What was imported and where.",
          "{'type':'object','properties':{'imported_at':" S_TS ",'export_id':" S_NSTR
          ",'conflict_strategy':" S_STR ",'subject_id_map':{'type':'object',"
          "'additionalProperties':" S_STR "},'imported_subjects':{'type':'array','items':"
          S_STR "},'imported_episodes':" S_INT ",'imported_memories':" S_INT
          ",'imported_sources':" S_INT "}}", NULL },
        { 400, "A malformed payload.", REF("ErrorEnvelope"), NULL },
        { 409, "cancel, and the target already has data.", REF("ErrorEnvelope"), NULL },
        { 413, "Over a STATEWAVE_MEMORY_IMPORT_MAX_* cap.", REF("ErrorEnvelope"), NULL } } },

    /* ---- snapshots and cleanup, flag-gated (§6.6 - §6.11) ---- */
    { "admin.snapshots_list", "seed", "List snapshots", NULL, ROUTE_DOC_SNAPSHOTS, NULL, NULL,
      NULL,
      { { 200, "By name, then version.",
          "{'type':'object','required':['snapshots'],'properties':{'snapshots':"
          LIST_OF("Snapshot") "}}", NULL } } },
    { "admin.snapshots_create", "seed", "Snapshot a subject",
      "Copies the source's episodes, memories and resolutions into a hidden subject.",
      ROUTE_DOC_SNAPSHOTS, NULL,
      "{'type':'object','required':['name','source_subject_id'],'properties':{'name':" S_STR
      ",'source_subject_id':{'type':'string','minLength':1},'version':{'type':'integer',"
      "'default':1},'metadata':{'type':['object','null']},'source_tenant_id':{'type':"
      "['string','null'],'maxLength':256,'x-engram-extension':true,'description':'Copy only "
      "this tenant (default: every tenant).'}}}",
      "{'name':'onboarding','source_subject_id':'user-42','version':1}",
      { { 200, "created, or exists (nothing changed).",
          "{'type':'object','required':['status','name','version'],'properties':{'status':"
          "{'enum':['created','exists']},'id':" S_STR ",'name':" S_STR ",'version':" S_INT
          ",'episode_count':" S_INT ",'memory_count':" S_INT "}}", NULL },
        { 400, "The source has no episodes.", REF("ErrorEnvelope"), NULL } } },
    { "admin.snapshots_restore_by_name", "seed", "Restore a snapshot by name and version",
      "Version defaults to the highest one with that name.", ROUTE_DOC_SNAPSHOTS, NULL,
      "{'type':'object','required':['name','target_subject_id'],'properties':{'name':" S_STR
      ",'target_subject_id':" S_STR ",'version':{'type':['integer','null']}," TARGET_TENANT
      "}}",
      "{'name':'onboarding','target_subject_id':'user-42-restored'}",
      { { 200, "What was restored.", R_RESTORED, NULL },
        { 404, "Unknown snapshot.", REF("ErrorEnvelope"), NULL } } },
    { "admin.snapshots_restore", "seed", "Restore a snapshot into a subject",
      "Timestamps are shifted so the newest episode is now; the target is appended to.",
      ROUTE_DOC_SNAPSHOTS, "[" P_PATH("snapshot_id", ",'format':'uuid'") "]",
      "{'type':'object','required':['target_subject_id'],'properties':{'target_subject_id':"
      S_STR "," TARGET_TENANT "}}",
      "{'target_subject_id':'user-42-restored'}",
      { { 200, "What was restored.", R_RESTORED, NULL },
        { 404, "Unknown snapshot.", REF("ErrorEnvelope"), NULL } } },
    { "admin.cleanup", "seed", "Delete stale subjects by literal id prefix",
      "Subjects whose newest episode is older than max_age_hours; never _snapshot/ ones.",
      ROUTE_DOC_SNAPSHOTS,
      "[" P_QUERY("prefix", "{'type':'string','default':'live_'}", "Literal id prefix.") ","
      P_QUERY("max_age_hours", "{'type':'integer','minimum':0,'default':24}",
              "Age of the newest episode.") ","
      P_QUERY("dry_run", "{'type':'boolean','default':false}",
              "List what would be deleted (x-engram-extension).") ","
      P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "How many subjects were cleaned (dry_run: which).",
          "{'type':'object','required':['subjects_cleaned'],'properties':{'subjects_cleaned':"
          S_INT ",'dry_run':" S_BOOL ",'subjects':{'type':'array','items':" S_OBJ "}}}",
          NULL } } },

    /* ---- webhook events (§7.3) ---- */
    { "admin.webhooks_list", "admin", "List webhook events, newest first", NULL, 0,
      "[" P_QUERY("status", "{'enum':['pending','delivered','dead_letter']}", "Exact status.")
      "," P_QUERY("event_type", S_STR, "Exact event name.") "," P_TENANT_FILTER ","
      P_LIMIT("50", "100") "," P_OFFSET "]", NULL, NULL,
      { { 200, "One page; total counts every match.",
          "{'type':'object','required':['events','total','limit','offset'],'properties':{"
          "'events':" LIST_OF("WebhookEvent") ",'total':" S_INT ",'limit':" S_INT ",'offset':"
          S_INT "}}", NULL } } },
    { "admin.webhooks_purge", "admin", "Delete delivered or dead-lettered events",
      "At least one filter is required.", 0,
      "[" P_QUERY("status", "{'enum':['delivered','dead_letter']}", "Terminal status.") ","
      P_QUERY("event_type", S_STR, "Exact event name.") "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "How many were deleted.", R_DELETED, NULL },
        { 400, "No filter, or a non-terminal status.", REF("ErrorEnvelope"), NULL } } },
    { "admin.webhooks_stats", "admin", "Webhook event counts by status", NULL, 0, NULL, NULL,
      NULL,
      { { 200, "Counts.",
          "{'type':'object','properties':{'pending':" S_INT ",'delivered':" S_INT
          ",'dead_letter':" S_INT ",'total':" S_INT "}}", NULL } } },
    { "admin.webhooks_get", "admin", "One webhook event", NULL, 0,
      "[" P_PATH("event_id", ",'format':'uuid'") "]", NULL, NULL,
      { { 200, "The event (without tenant_id).", REF("WebhookEvent"), NULL },
        { 404, "Unknown event.", REF("ErrorEnvelope"), NULL } } },

    /* ---- MCP over Streamable HTTP (§11, §11.1) ---- */
    { "mcp", "engram", "Model Context Protocol (Streamable HTTP)",
      "One JSON-RPC 2.0 message or a batch per POST (MCP revision 2025-06-18): initialize, "
      "ping, tools/list, tools/call with the statewave_* tools. Requests get application/json, "
      "or one text/event-stream event when Accept names only the stream; notifications get "
      "202. Tool and protocol errors are JSON-RPC errors in a 200, not the error envelope. "
      "No session id is issued.", ROUTE_DOC_ENGRAM,
      "[{'name':'MCP-Protocol-Version','in':'header','schema':{'type':'string','examples':["
      "'2025-06-18']},'description':'An unsupported version is a 400.'}]",
      "{'oneOf':[" REF("JsonRpcMessage") ",{'type':'array','minItems':1,'items':"
      REF("JsonRpcMessage") "}]}",
      "{'jsonrpc':'2.0','id':1,'method':'tools/list'}",
      { { 200, "The JSON-RPC response(s).", "{'type':['object','array']}", NULL },
        { 202, "Only notifications or responses were sent: no body.", NULL, NULL },
        { 400, "Unparsable JSON (JSON-RPC -32700) or an unsupported protocol version.",
          "{'type':'object'}", NULL },
        { 406, "Accept names neither application/json nor text/event-stream.",
          "{'type':'object'}", NULL } } },

    /* ---- this document and the page that shows it (§11) ---- */
    { "openapi", "engram", "This OpenAPI 3.1 document",
      "Built from the route table; names the configured tenant header. Needs no key.",
      ROUTE_DOC_ENGRAM, NULL, NULL, NULL,
      { { 200, "The document.", S_OBJ, NULL } } },
    { "docs", "engram", "Interactive API reference (Swagger UI)",
      "An HTML page that loads its script and styles from /docs/assets/ (no CDN, strict "
      "Content-Security-Policy). Needs no key.", ROUTE_DOC_ENGRAM, NULL, NULL,
      NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "docs.asset", "engram", "A file of the /docs page", NULL,
      ROUTE_DOC_ENGRAM, "[" P_PATH("file", "") "]", NULL, NULL,
      { { 200, "The file (JavaScript, CSS or PNG).", NULL, "application/octet-stream" },
        { 404, "No such file.", REF("ErrorEnvelope"), NULL } } },
    { "docs.redoc", "engram", "Redirect to /docs", "The Statewave API lists /redoc among its "
      "documentation paths; Engram has one page, /docs.", ROUTE_DOC_ENGRAM, NULL, NULL, NULL,
      { { 308, "Location: docs (relative to /redoc).", NULL, NULL } } },
};

const size_t api_route_docs_count = sizeof(api_route_docs) / sizeof(api_route_docs[0]);
/* clang-format on */
