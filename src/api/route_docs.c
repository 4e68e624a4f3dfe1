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
    { "Receipt",
      "{'type':'object','required':['receipt_id','parent_receipt_id','mode','subject_id',"
      "'task','as_of','created_at','selected_entries','policy','output'],'properties':{"
      "'receipt_id':{'type':'string','minLength':26,'maxLength':26},'parent_receipt_id':"
      S_NSTR ",'mode':{'enum':['retrieval','as_of_replay']},'query_id':" S_NSTR ",'task_id':"
      S_NSTR ",'tenant_id':" S_NSTR ",'subject_id':" S_STR ",'task':" S_STR ",'as_of':" S_TS
      ",'created_at':" S_TS ",'caller_id':" S_NSTR ",'caller_type':" S_NSTR
      ",'selected_entries':{'type':'array','items':" S_OBJ "},'policy':" S_OBJ ",'output':{"
      "'type':'object','properties':{'context_hash':" S_STR ",'context_size_bytes':" S_INT
      ",'canonicalization_version':" S_STR ",'token_estimate':" S_INT "}},'region':" S_NSTR
      ",'receipt_signature':" S_NSTR ",'receipt_signature_key_id':" S_NSTR
      ",'receipt_signature_algorithm':" S_NSTR ",'policy_snapshot':" S_OBJ "}}" },
    { "MemoryTemplate",
      "{'type':'object','required':['id','version','title','description','episode_type',"
      "'fields','content_template'],'properties':{'id':" S_STR ",'version':" S_INT ",'title':"
      S_STR ",'description':" S_STR ",'episode_type':" S_STR ",'fields':{'type':'array',"
      "'items':{'type':'object','properties':{'name':" S_STR ",'type':" S_STR ",'required':"
      S_BOOL ",'description':" S_STR "}}},'content_template':" S_STR "}}" },
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
    { "UsageWindow",
      "{'type':'object','required':['today','7d','30d','total'],'properties':{'today':" S_INT
      ",'7d':" S_INT ",'30d':" S_INT ",'total':" S_INT "}}" },
    { "StarterPack",
      "{'type':'object','required':['pack_id','kind'],'properties':{'pack_id':" S_STR
      ",'kind':{'enum':['support_docs','demo_agent']},'display_name':" S_STR ",'description':"
      S_STR ",'version':" S_STR ",'created_at':" S_STR ",'subject_id_suggestion':" S_STR
      ",'episode_count':" S_INT ",'memory_count':" S_INT ",'source_count':" S_INT ",'tags':"
      "{'type':'array','items':" S_STR "},'__error':{'type':'string','description':'Only on a "
      "pack whose manifest is broken (then only pack_id and kind are set).'}}}" },
    { "SupportState",
      "{'type':'object','required':['subject_id','pack_id','bundled_version','installed_version',"
      "'is_up_to_date','total_episode_count','total_memory_count','owned_episode_count',"
      "'owned_memory_count','operator_episode_count','operator_memory_count','last_reseed'],"
      "'properties':{'subject_id':" S_STR ",'pack_id':" S_STR ",'bundled_version':" S_STR
      ",'installed_version':" S_NSTR ",'is_up_to_date':" S_BOOL ",'total_episode_count':" S_INT
      ",'total_memory_count':" S_INT ",'owned_episode_count':" S_INT ",'owned_memory_count':"
      S_INT ",'operator_episode_count':" S_INT ",'operator_memory_count':" S_INT
      ",'last_reseed':{'type':'object','properties':{'imported_at':" S_NSTR ",'reason':" S_NSTR
      ",'version':" S_NSTR "}}}}" },
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
    { "AdminSubject",
      "{'type':'object','required':['subject_id','tenant_id','episode_count','memory_count',"
      "'session_count','last_episode_at','health_state','health_score','open_sessions'],"
      "'properties':{'subject_id':" S_STR ",'tenant_id':" S_NSTR ",'episode_count':" S_INT
      ",'memory_count':" S_INT ",'session_count':" S_INT ",'last_episode_at':" S_NTS
      ",'health_state':" S_NSTR ",'health_score':{'type':['integer','null']},'open_sessions':"
      S_INT "}}" },
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
#define P_OFFSET_ADMIN \
    P_QUERY("offset", "{'type':'integer','minimum':0,'maximum':100000,'default':0}", \
            "Items to skip (Engram bounds it).")
#define R_MEM_PAGE \
    "{'type':'object','required':['memories','total','limit','offset'],'properties':{" \
    "'memories':{'type':'array','items':" S_OBJ "},'total':" S_INT ",'limit':" S_INT \
    ",'offset':" S_INT "}}"
#define SELECTOR \
    "'subject_id_prefix':{'type':['string','null'],'description':'LIKE prefix of subject_id'}," \
    "'older_than_days':{'type':['integer','null'],'minimum':0,'maximum':100000,'description':" \
    "'Newest episode older than this many days'},'tenant_id':" S_NSTR ",'match_all':{'type':" \
    "'boolean','default':false}"
#define R_RESEED_BODY \
    "{'type':'object','properties':{'reason':{'type':['string','null'],'maxLength':200}," \
    "'force':{'type':'boolean','default':false}}}"
#define R_RESEED \
    "{'type':'object','required':['subject_id','pack_id','pack_version','installed_version'," \
    "'imported_episodes','imported_memories','reseeded_at','reason','updated','outcome']," \
    "'properties':{'subject_id':" S_STR ",'pack_id':" S_STR ",'pack_version':" S_STR \
    ",'installed_version':" S_NSTR ",'previous_version':" S_NSTR ",'imported_episodes':" S_INT \
    ",'imported_memories':" S_INT ",'operator_episodes_preserved':" S_INT \
    ",'operator_memories_preserved':" S_INT ",'reseeded_at':" S_NTS ",'reason':" S_NSTR \
    ",'updated':" S_BOOL ",'outcome':{'enum':['already_current','seeded','auto_updated'," \
    "'force_reseeded']}}}"
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
                  "At most this many episodes and memories (default 100 each).") ","
      P_QUERY_EXT("as_of", "{'type':'string','format':'date-time'}",
                  "As the subject stood at this instant: episodes created by then, memories "
                  "created by then and not yet superseded.") "]",
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
      "Semantic mode (semantic=true with q) orders by embedding distance.", 0,
      "[" P_QUERY_REQ("subject_id", "{'type':'string','minLength':1,'maxLength':256}",
                      "The subject.") ","
      P_QUERY("kind", S_STR, "Exact memory kind.") ","
      P_QUERY("q", S_STR, "Text to look for.") ","
      P_QUERY("semantic", "{'type':'boolean','default':false}", "Order by embedding distance.")
      "," P_LIMIT("20", "100") ","
      P_QUERY_EXT("as_of", "{'type':'string','format':'date-time'}",
                  "Search the memories as they stood at this instant (text mode).") "]",
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
      "'session_id':{'type':['string','null'],'maxLength':256},"
      "'emit_receipt':{'type':'boolean','default':false,'description':'Store a receipt of "
      "this answer (GET /v1/receipts/{id}); adds receipt_id and receipt_emitted. A value "
      "that is no boolean reads as false.'},"
      "'query_id':{'type':['string','null'],'description':'Recorded on the receipt; as the "
      "other SDK fields (task_id, parent_receipt_id, caller_id, caller_type) never a 422: a "
      "value that is no string is not recorded.'},"
      "'task_id':" S_NSTR ",'parent_receipt_id':" S_NSTR ",'caller_id':" S_NSTR
      ",'caller_type':" S_NSTR ","
      "'as_of':{'type':['string','null'],'format':'date-time','x-engram-extension':true,"
      "'description':'Answer as the subject stood at this instant: episodes created by then,"
      " memories created by then and not yet superseded (valid_to null or later).'},"
      "'explain':{'type':'boolean','default':false,'x-engram-extension':true,'description':"
      "'Add explanation: per selected item its score terms, per left-out candidate why "
      "(budget, superseded, filtered, limit).'}}}",
      "{'subject_id':'user-42','task':'Greet the user by name','max_tokens':500}",
      { { 200, "The bundle.",
          "{'type':'object','required':['subject_id','task','facts','episodes','procedures',"
          "'provenance','assembled_context','token_estimate','sessions'],'properties':{"
          "'subject_id':" S_STR ",'task':" S_STR ",'facts':" LIST_OF("Memory") ",'episodes':"
          LIST_OF("Episode") ",'procedures':" LIST_OF("Memory") ",'provenance':{'type':'object',"
          "'properties':{'fact_ids':{'type':'array','items':" S_STR "},'summary_ids':{'type':"
          "'array','items':" S_STR "},'procedure_ids':{'type':'array','items':" S_STR "},"
          "'episode_ids':{'type':'array','items':" S_STR "}}},'assembled_context':" S_STR
          ",'token_estimate':" S_INT ",'sessions':" LIST_OF("SessionInfo") ",'receipt_id':"
          S_STR ",'receipt_emitted':" S_BOOL ",'explanation':{'type':'object',"
          "'x-engram-extension':true,'properties':{'selected':{'type':'array','items':{"
          "'type':'object','properties':{'id':" S_STR ",'type':{'enum':['memory','episode']},"
          "'score':{'type':'number'},'components':{'type':'object','additionalProperties':{"
          "'type':'number'}}}}},'dropped':{'type':'array','items':{'type':'object',"
          "'properties':{'id':" S_STR ",'type':{'enum':['memory','episode']},'reason':{'enum':"
          "['budget','superseded','filtered','limit']}}}}}}}}", NULL } } },
    { "memories.labels", "extra", "Set a memory's sensitivity labels",
      "Labels are trimmed, lower-cased, deduplicated and sorted; [] clears them.", 0,
      "[" P_PATH("memory_id", ",'format':'uuid'") "]",
      "{'type':'object','required':['sensitivity_labels'],'properties':{'sensitivity_labels':"
      "{'type':'array','maxItems':32,'items':{'type':'string','minLength':1,'maxLength':64}}}}",
      "{'sensitivity_labels':['pii']}",
      { { 200, "The updated memory.", REF("Memory"), NULL },
        { 404, "No such memory in this tenant.", REF("ErrorEnvelope"), NULL } } },

    /* ---- receipts, version, memory templates (§5.4, §5.5) ---- */
    { "receipts.list", "extra", "A subject's context receipts, newest first",
      "Cursor paging: pass the previous page's next_cursor as cursor.", 0,
      "[" P_QUERY_REQ("subject_id", "{'type':'string','minLength':1,'maxLength':256}",
                      "The subject.") ","
      P_QUERY("since", "{'type':'string','format':'date-time'}", "Created at or after.") ","
      P_QUERY("until", "{'type':'string','format':'date-time'}", "Created at or before.") ","
      P_QUERY("cursor", S_STR, "The last receipt_id of the previous page.") ","
      P_LIMIT("50", "200") "]", NULL, NULL,
      { { 200, "One page.",
          "{'type':'object','required':['receipts','next_cursor'],'properties':{'receipts':"
          LIST_OF("Receipt") ",'next_cursor':" S_NSTR "}}", NULL } } },
    { "receipts.get", "extra", "One context receipt", NULL, 0,
      "[" P_PATH("receipt_id", ",'minLength':1,'maxLength':64") "]", NULL, NULL,
      { { 200, "The receipt.", REF("Receipt"), NULL },
        { 404, "No such receipt in this tenant.", REF("ErrorEnvelope"), NULL } } },
    { "receipts.verify", "extra", "Check a receipt's Ed25519 signature",
      "Receipts are signed when STATEWAVE_RECEIPT_SIGNING_KEY names an Ed25519 key (PEM).", 0,
      "[" P_PATH("receipt_id", ",'minLength':1,'maxLength':64") "]", NULL, NULL,
      { { 200, "The verdict.",
          "{'type':'object','required':['valid','key_id','algorithm','reason'],'properties':{"
          "'valid':{'type':['boolean','null']},'key_id':" S_NSTR ",'algorithm':" S_NSTR
          ",'reason':{'enum':['ok','signature_mismatch','no_signature','key_unavailable',"
          "'unsupported_algorithm']}}}", NULL },
        { 404, "No such receipt in this tenant.", REF("ErrorEnvelope"), NULL } } },
    { "receipts.replay", "extra", "Re-run a receipt's retrieval as of its instant",
      "Stores a new as_of_replay receipt and answers the difference. A replay receipt is not "
      "replayed again (422 unreplayable.nested_replay); 422 unreplayable.missing_policy_"
      "snapshot and unreplayable.invalid_snapshot for receipts that cannot be read back.", 0,
      "[" P_PATH("receipt_id", ",'minLength':1,'maxLength':64") "]", NULL, NULL,
      { { 200, "The replay and its diff.",
          "{'type':'object','required':['original_receipt_id','replay_receipt_id','diff'],"
          "'properties':{'original_receipt_id':" S_STR ",'replay_receipt_id':" S_NSTR
          ",'diff':{'type':'object','properties':{'context_hash':{'type':'object',"
          "'properties':{'original':" S_NSTR ",'replay':" S_NSTR ",'changed':" S_BOOL "}},"
          "'selected_entries':{'type':'object','properties':{'added':{'type':'array'},"
          "'removed':{'type':'array'},'common':" S_INT "}},'filters_applied':{'type':'object',"
          "'properties':{'added':{'type':'array'},'removed':{'type':'array'}}}}}}}", NULL },
        { 404, "No such receipt in this tenant.", REF("ErrorEnvelope"), NULL },
        { 422, "The receipt cannot be replayed (code unreplayable.<reason>).",
          REF("ErrorEnvelope"), NULL } } },
    { "version", "extra", "The server version", "Public: no API key needed.", 0, NULL, NULL,
      NULL,
      { { 200, "The version.",
          "{'type':'object','required':['version','api_contract'],'properties':{'version':"
          S_STR ",'api_contract':{'const':'v1'}}}", NULL } } },
    { "templates.list", "extra", "The memory templates",
      "support_ticket, decision_record, user_preference, incident, meeting_note.", 0, NULL,
      NULL, NULL,
      { { 200, "Every template.",
          "{'type':'object','required':['templates'],'properties':{'templates':"
          LIST_OF("MemoryTemplate") "}}", NULL } } },
    { "templates.get", "extra", "One memory template", NULL, 0,
      "[" P_PATH("template_id", ",'minLength':1,'maxLength':128") "]", NULL, NULL,
      { { 200, "The template.", REF("MemoryTemplate"), NULL },
        { 404, "No such template.", REF("ErrorEnvelope"), NULL } } },
    { "templates.apply", "extra", "Record an episode from a template",
      "Strict: an unknown member, an unknown or non-string value or a missing required value "
      "is 422.", 0,
      "[" P_PATH("template_id", ",'minLength':1,'maxLength':128") "]",
      "{'type':'object','required':['subject_id'],'additionalProperties':false,'properties':{"
      "'subject_id':{'type':'string','minLength':1,'maxLength':256},"
      "'values':{'type':['object','null'],'additionalProperties':" S_STR "},"
      "'session_id':{'type':['string','null'],'maxLength':256}}}",
      "{'subject_id':'user-42','values':{'preference':'short answers'}}",
      { { 201, "The created episode.", REF("Episode"), NULL },
        { 404, "No such template.", REF("ErrorEnvelope"), NULL } } },

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

    /* ---- clone (§7.1) ---- */
    { "admin.memory_clone", "admin", "Clone a subject into a new subject",
      "Reads the source in every tenant and copies the records of the scope with new ids, the "
      "target tenant, no session ids and the stamps original_episode_id / original_memory_id, "
      "cloned_from_subject_id, cloned_at, cloned_by (header X-Statewave-Operator-Email) and "
      "display_name. One transaction: all or nothing.", 0,
      "[{'name':'X-Statewave-Operator-Email','in':'header','schema':" S_STR ",'description':"
      "'Stamped as cloned_by.'}]",
      "{'type':'object','required':['source_subject_id'],'properties':{'source_subject_id':"
      "{'type':'string','pattern':'^[A-Za-z0-9_.:-]{1,128}$'},'target_subject_id':{'type':"
      "['string','null'],'pattern':'^[A-Za-z0-9_.:-]{1,128}$','description':'Default: "
      "<source>-clone, or a derived id when that has data.'},'target_display_name':" S_NSTR
      ",'target_tenant_id':" S_NSTR ",'clone_scope':{'enum':['episodes','memories',"
      "'episodes_and_memories','episodes_memories_sources'],'default':"
      "'episodes_memories_sources'}}}",
      "{'source_subject_id':'user-42','target_subject_id':'user-42-copy'}",
      { { 200, "What was copied where.",
          "{'type':'object','required':['status','source_subject_id','target_subject_id',"
          "'target_display_name','clone_scope','episode_count','memory_count','source_count',"
          "'cloned_at'],'properties':{'status':{'const':'cloned'},'source_subject_id':" S_STR
          ",'target_subject_id':" S_STR ",'target_display_name':" S_NSTR ",'clone_scope':"
          S_STR ",'episode_count':" S_INT ",'memory_count':" S_INT ",'source_count':" S_INT
          ",'cloned_at':" S_TS "}}", NULL },
        { 400, "A source or target id breaking the rule (a demo_web_ target).",
          REF("ErrorEnvelope"), NULL },
        { 404, "The source has no episodes and no memories.", REF("ErrorEnvelope"), NULL },
        { 409, "The explicit target already has data.", REF("ErrorEnvelope"), NULL } } },

    /* ---- subject explorer (§7.4) ---- */
    { "admin.subjects_list", "admin", "List (subject, tenant) pairs with their stats",
      "Pairs with episodes, reserved subjects left out; a pair without a cached health value "
      "gets it computed and cached.", 0,
      "[" P_TENANT_FILTER ","
      P_QUERY("search", S_STR, "Case-insensitive substring of subject_id (LIKE wildcards act).") ","
      P_QUERY("health_state", S_STR, "Exact cached health state.") ","
      P_QUERY("has_open_sessions", S_BOOL, "Only pairs with (true) or without (false) an open "
              "resolution.") ","
      P_QUERY("sort_by", "{'enum':['subject_id','last_activity','episode_count','memory_count'],"
              "'default':'last_activity'}", "Sort key.") ","
      P_QUERY("sort_order", "{'enum':['asc','desc'],'default':'desc'}", "Sort direction.") ","
      P_LIMIT("50", "200") "," P_OFFSET_ADMIN "]", NULL, NULL,
      { { 200, "One page; total counts every match.",
          "{'type':'object','required':['subjects','total','limit','offset'],'properties':{"
          "'subjects':" LIST_OF("AdminSubject") ",'total':" S_INT ",'limit':" S_INT ",'offset':"
          S_INT "}}", NULL } } },
    { "admin.subjects_get", "admin", "One subject: counts, health and SLA", NULL, 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "The subject.",
          "{'type':'object','required':['subject_id','tenant_id','summary','health','sla'],"
          "'properties':{'subject_id':" S_STR ",'tenant_id':" S_NSTR ",'summary':{'type':"
          "'object','properties':{'episode_count':" S_INT ",'memory_count':" S_INT
          ",'session_count':" S_INT ",'first_seen_at':" S_NTS ",'last_activity_at':" S_NTS
          "}},'health':{'type':['object','null'],'properties':{'score':" S_INT ",'state':" S_STR
          ",'factors':{'type':'array','items':" S_OBJ "}}},'sla':{'type':['object','null']}}}",
          NULL },
        { 404, "No episodes and no memories.", REF("ErrorEnvelope"), NULL } } },
    { "admin.subjects_sla", "admin", "A subject's SLA with its sessions",
      "The §4.4 body without subject_id, default thresholds.", 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "The SLA.", S_OBJ, NULL } } },
    { "admin.subjects_memories", "admin", "A subject's memories, newest first", NULL, 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER ","
      P_QUERY("status", "{'enum':['all','active','superseded'],'default':'all'}", "Status.") ","
      P_QUERY("kind", S_STR, "Exact kind.") ","
      P_QUERY("search", S_STR, "Substring of content, summary or kind.") ","
      P_LIMIT("50", "200") "," P_OFFSET_ADMIN "]", NULL, NULL,
      { { 200, "One page.", R_MEM_PAGE, NULL } } },
    { "admin.subjects_episodes", "admin", "A subject's episodes, newest first", NULL, 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER ","
      P_QUERY("session_id", S_STR, "Exact session.") ","
      P_QUERY("type", S_STR, "Exact episode type.") ","
      P_QUERY("search", S_STR, "Substring of the payload JSON, type, source or session_id.") ","
      P_LIMIT("50", "200") "," P_OFFSET_ADMIN "]", NULL, NULL,
      { { 200, "One page.",
          "{'type':'object','required':['episodes','total','limit','offset'],'properties':{"
          "'episodes':{'type':'array','items':" S_OBJ "},'total':" S_INT ",'limit':" S_INT
          ",'offset':" S_INT "}}", NULL } } },
    { "admin.subjects_citing", "admin", "Memories citing an episode, newest first", NULL, 0,
      "[" P_SUBJECT_PATH "," P_PATH("episode_id", ",'format':'uuid'") "," P_TENANT_FILTER ","
      P_LIMIT("50", "200") "," P_OFFSET_ADMIN "]", NULL, NULL,
      { { 200, "One page.", R_MEM_PAGE, NULL },
        { 400, "episode_id is no UUID.", REF("ErrorEnvelope"), NULL } } },
    { "admin.subjects_related", "admin", "A memory's lineage and siblings", NULL, 0,
      "[" P_SUBJECT_PATH "," P_PATH("memory_id", ",'format':'uuid'") "," P_TENANT_FILTER "]",
      NULL, NULL,
      { { 200, "superseding_memory, superseded_memories (<=5), sibling_memories (<=10).",
          "{'type':'object','required':['memory_id','status','created_at','superseding_memory',"
          "'superseded_memories','sibling_memories','source_episode_count'],'properties':{"
          "'memory_id':" S_STR ",'status':" S_STR ",'created_at':" S_TS ",'superseding_memory':"
          "{'type':['object','null']},'superseded_memories':{'type':'array'},"
          "'sibling_memories':{'type':'array'},'source_episode_count':" S_INT "}}", NULL },
        { 400, "memory_id is no UUID.", REF("ErrorEnvelope"), NULL },
        { 404, "No such memory of the subject.", REF("ErrorEnvelope"), NULL } } },
    { "admin.subjects_session_timeline", "admin", "A session's episodes and resolution, in order",
      NULL, 0,
      "[" P_SUBJECT_PATH "," P_PATH("session_id", ",'minLength':1") "," P_TENANT_FILTER ","
      P_LIMIT("200", "500") "]", NULL, NULL,
      { { 200, "SLA figures and events.", S_OBJ, NULL } } },

    /* ---- subject deletion (§7.5) ---- */
    { "admin.subjects_delete", "admin", "Delete a subject (every tenant, or one)",
      "The §3.9 cascade over every (tenant, subject) pair, in one transaction.", 0,
      "[" P_SUBJECT_PATH "," P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "The counts.",
          "{'type':'object','required':['subject_id','episodes_deleted','memories_deleted'],"
          "'properties':{'subject_id':" S_STR ",'episodes_deleted':" S_INT ",'memories_deleted':"
          S_INT "}}", NULL },
        { 404, "Nothing of the subject exists.", REF("ErrorEnvelope"), NULL } } },
    { "admin.subjects_preview_delete", "admin", "Preview a filtered bulk delete",
      "Matches are (subject, tenant) pairs with episodes; reserved subjects never match.", 0,
      NULL, "{'type':'object','properties':{" SELECTOR "}}",
      "{'subject_id_prefix':'demo_'}",
      { { 200, "The match count, up to 20 of them and the totals.",
          "{'type':'object','required':['matched','sample','total_episodes','total_memories'],"
          "'properties':{'matched':" S_INT ",'sample':{'type':'array','items':" S_OBJ
          "},'total_episodes':" S_INT ",'total_memories':" S_INT "}}", NULL },
        { 400, "No filter and no match_all.", REF("ErrorEnvelope"), NULL } } },
    { "admin.subjects_bulk_delete", "admin", "Commit a previewed bulk delete",
      "Every match in ONE transaction (Engram: all or nothing, so failed is always empty).", 0,
      NULL,
      "{'type':'object','required':['expected_count'],'properties':{" SELECTOR ",'confirm':"
      "{'type':'boolean','default':false},'expected_count':" S_INT "}}",
      "{'subject_id_prefix':'demo_','confirm':true,'expected_count':3}",
      { { 200, "What was deleted.",
          "{'type':'object','required':['deleted_subjects','deleted_episodes',"
          "'deleted_memories','failed'],'properties':{'deleted_subjects':" S_INT
          ",'deleted_episodes':" S_INT ",'deleted_memories':" S_INT ",'failed':{'type':'array',"
          "'items':" S_STR "}}}", NULL },
        { 400, "confirm not true, or no filter.", REF("ErrorEnvelope"), NULL },
        { 409, "The match count changed since the preview.", REF("ErrorEnvelope"), NULL } } },

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

    /* ---- tenants, usage, dashboard (§7.6) ---- */
    { "admin.tenants", "admin", "The distinct episode tenants, sorted",
      "Tenants without a tenant_id row are not listed. limit and offset are Engram's bound on "
      "the reference's unpaginated list (a larger limit is a 422).", 0,
      "[" P_QUERY_EXT("limit", "{'type':'integer','minimum':1,'maximum':1000,'default':1000}",
                      "Page size.") ","
      P_QUERY_EXT("offset", "{'type':'integer','minimum':0,'default':0}", "Items to skip.") "]",
      NULL, NULL,
      { { 200, "One page of tenant ids.",
          "{'type':'object','required':['tenants'],'properties':{'tenants':{'type':'array',"
          "'items':" S_STR "}}}", NULL } } },
    { "admin.tenant_audit", "admin", "Rows without a tenant", NULL, 0, NULL, NULL, NULL,
      { { 200, "Counts per table and a backfill hint.",
          "{'type':'object','required':['null_tenant_rows','guidance'],'properties':{"
          "'null_tenant_rows':{'type':'object','properties':{'episodes':" S_INT ",'memories':"
          S_INT ",'compile_jobs':" S_INT "}},'guidance':" S_STR "}}", NULL } } },
    { "admin.usage", "admin", "Rows created today, in 7 and 30 days, and in all",
      "Counted by created_at; the tenant filter applies to every table (webhook events have "
      "no tenant, so their filtered counts are 0).", 0, "[" P_TENANT_FILTER "]", NULL, NULL,
      { { 200, "Usage windows.",
          "{'type':'object','required':['period_start','generated_at','episodes','memories',"
          "'compile_jobs','webhooks','active_subjects'],'properties':{'period_start':" S_TS
          ",'generated_at':" S_TS ",'tenant_id':" S_STR ",'episodes':" REF("UsageWindow")
          ",'memories':" REF("UsageWindow") ",'compile_jobs':" REF("UsageWindow")
          ",'webhooks':" REF("UsageWindow") ",'active_subjects':{'type':'object','properties':"
          "{'7d':" S_INT ",'30d':" S_INT ",'total':" S_INT "}}}}", NULL } } },
    { "admin.dashboard", "admin", "Readiness, schema, counts, jobs, webhooks, health", NULL, 0,
      NULL, NULL, NULL,
      { { 200, "The dashboard.",
          "{'type':'object','required':['readiness','migration','counts','jobs','webhooks',"
          "'health_distribution'],'properties':{'readiness':{'type':'object'},'migration':"
          "{'type':'object','properties':{'current_revision':" S_NSTR ",'expected_head':"
          S_NSTR ",'is_compatible':" S_BOOL ",'pending_count':" S_INT "}},'counts':{'type':"
          "'object','properties':{'episodes':" S_INT ",'memories':" S_INT ",'subjects':" S_INT
          "}},'jobs':{'type':'object','additionalProperties':" S_INT "},'webhooks':{'type':"
          "'object'},'health_distribution':{'type':['object','null'],'properties':{'healthy':"
          S_INT ",'watch':" S_INT ",'at_risk':" S_INT ",'unknown':" S_INT "}}}}", NULL } } },

    /* ---- starter packs and the support docs pack (§7.7) ---- */
    { "admin.starter_packs", "extra", "The bundled starter packs",
      "Read-only data built into the binary: statewave-support-agent (Engram's own "
      "documentation) and five demo_agent personas. A pack whose manifest is broken is listed "
      "with __error.", 0, NULL, NULL, NULL,
      { { 200, "Every pack's manifest.",
          "{'type':'object','required':['packs'],'properties':{'packs':{'type':'array',"
          "'items':" REF("StarterPack") "}}}", NULL } } },
    { "admin.starter_packs_import", "extra", "Import a starter pack into a subject",
      "The target is resolve(target_subject_id, subject_id_suggestion, conflict_strategy); "
      "one transaction.", 0, NULL,
      "{'type':'object','required':['pack_id'],'properties':{'pack_id':" S_STR
      ",'target_subject_id':" S_NSTR ",'target_display_name':" S_NSTR "," TARGET_TENANT
      ",'conflict_strategy':{'enum':['create_copy','merge','cancel'],'default':'create_copy'},"
      "'allow_reserved_target':{'type':'boolean','default':false}}}",
      "{'pack_id':'demo-support-agent','conflict_strategy':'create_copy'}",
      { { 200, "What was imported and where.",
          "{'type':'object','properties':{'pack_id':" S_STR ",'target_subject_id':" S_STR
          ",'imported_episodes':" S_INT ",'imported_memories':" S_INT ",'imported_sources':"
          S_INT ",'conflict_strategy':" S_STR ",'imported_at':" S_TS "}}", NULL },
        { 400, "A target id that breaks the subject-id rule.", REF("ErrorEnvelope"), NULL },
        { 404, "Unknown pack.", REF("ErrorEnvelope"), NULL },
        { 409, "cancel, and the target already has data.", REF("ErrorEnvelope"), NULL } } },
    { "admin.support_state", "extra", "The support docs subject against the bundled pack",
      NULL, 0, NULL, NULL, NULL,
      { { 200, "Versions and row counts.", REF("SupportState"), NULL } } },
    { "admin.support_reseed", "extra", "Rebuild the support docs subject",
      "Deletes the rows the pack owns and imports it again (no tenant), unless the installed "
      "version is the bundled one and force is false. Operator rows are kept.", 0, NULL,
      R_RESEED_BODY, "{'reason':'docs updated','force':true}",
      { { 200, "What the reseed did.", R_RESEED, NULL } } },
    { "admin.docs_pack_reseed", "extra", "Rebuild the support docs subject (deprecated alias)",
      "Identical to POST /admin/memory/support/reseed.", 0, NULL, R_RESEED_BODY,
      "{'force':false}", { { 200, "What the reseed did.", R_RESEED, NULL } } },

    /* ---- migrations and the LLM pass-through (§5.1, §5.2) ---- */
    { "ops.migrations", "extra", "The schema's migration state",
      "Engram's own schema steps, named NNNN_name.", 0, NULL, NULL, NULL,
      { { 200, "Current and expected revisions.",
          "{'type':'object','required':['current_revision','expected_head','is_compatible',"
          "'pending_count','pending_revisions','error','summary'],'properties':{"
          "'current_revision':" S_NSTR ",'expected_head':" S_NSTR ",'is_compatible':" S_BOOL
          ",'pending_count':" S_INT ",'pending_revisions':{'type':'array','items':" S_STR "},"
          "'error':" S_NSTR ",'summary':" S_STR "}}", NULL } } },
    { "llm.complete", "extra", "One chat completion with the configured model",
      "The model is always STATEWAVE_LITELLM_MODEL; the provider's own error text is never "
      "returned.", 0, NULL,
      "{'type':'object','required':['messages'],'properties':{'messages':{'type':'array',"
      "'minItems':1,'maxItems':50,'items':{'type':'object','required':['role','content'],"
      "'properties':{'role':{'type':'string','pattern':'^(system|user|assistant|tool)$'},"
      "'content':{'type':'string','maxLength':16000}}}},'max_tokens':{'type':'integer',"
      "'minimum':1,'maximum':4096},'temperature':{'type':'number','minimum':0,'maximum':2}}}",
      "{'messages':[{'role':'user','content':'Say hello.'}],'max_tokens':16}",
      { { 200, "The reply.",
          "{'type':'object','required':['reply'],'properties':{'reply':" S_STR "}}", NULL },
        { 502, "upstream_llm_error: the provider failed.", REF("ErrorEnvelope"), NULL },
        { 503, "llm_not_configured: the model setting is empty.", REF("ErrorEnvelope"), NULL },
        { 504, "upstream_llm_timeout.", REF("ErrorEnvelope"), NULL } } },

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

    /* ---- the admin web UI (§11) ---- */
    { "ui.redirect", "engram", "Redirect to /ui/", NULL, ROUTE_DOC_ENGRAM, NULL, NULL, NULL,
      { { 308, "Location: /ui/.", NULL, NULL } } },
    { "ui.home", "engram", "Admin web UI: the subject list",
      "The admin web UI's page (needs no key; every data call it makes does). Its script shows the view the path names.", ROUTE_DOC_ENGRAM,
      NULL, NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.subjects", "engram", "Admin web UI: the subject list",
      "The admin web UI's page (needs no key; every data call it makes does). Reloadable URL of the list (search and sort in the query string).", ROUTE_DOC_ENGRAM,
      NULL, NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.subject", "engram", "Admin web UI: one subject",
      "The admin web UI's page (needs no key; every data call it makes does). Timeline, memories, episodes, provenance and actions of one subject.", ROUTE_DOC_ENGRAM,
      "[" P_PATH("subject_id", "") "]", NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.context", "engram", "Admin web UI: the context playground",
      "The admin web UI's page (needs no key; every data call it makes does). Calls POST /v1/context.", ROUTE_DOC_ENGRAM,
      NULL, NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.search", "engram", "Admin web UI: the search playground",
      "The admin web UI's page (needs no key; every data call it makes does). Calls GET /v1/memories/search in every mode.", ROUTE_DOC_ENGRAM,
      NULL, NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.operations", "engram", "Admin web UI: operations",
      "The admin web UI's page (needs no key; every data call it makes does). Dashboard, usage, snapshots, jobs, webhooks, bulk delete.", ROUTE_DOC_ENGRAM,
      NULL, NULL, NULL, { { 200, "The page.", S_STR, "text/html" } } },
    { "ui.asset", "engram", "A file of the admin web UI (script, styles, licences)", NULL,
      ROUTE_DOC_ENGRAM, "[" P_PATH("file", "") "]", NULL, NULL,
      { { 200, "The file (JavaScript, CSS or text).", NULL, "application/octet-stream" },
        { 404, "No such file.", REF("ErrorEnvelope"), NULL } } },
};

const size_t api_route_docs_count = sizeof(api_route_docs) / sizeof(api_route_docs[0]);
/* clang-format on */
