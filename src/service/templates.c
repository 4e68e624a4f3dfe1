/* templates.c - Engram's built-in memory templates (spec/api.md §5.5) and applying one. */
#include "service/templates.h"

#include <string.h>

#include "service/episodes.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/xalloc.h"

static const struct memory_template templates[] = {
    { "support_ticket", 1, "Support ticket",
      "A customer problem as reported, with its product area and severity.", "support_ticket",
      { { "summary", 1, "What the customer reports, in one sentence." },
        { "product", 0, "The product or area concerned." },
        { "severity", 0, "low, medium, high or critical." },
        { "details", 0, "Steps, error messages, what was tried." } },
      "Support ticket ({severity}) about {product}: {summary}. {details}" },
    { "decision_record", 1, "Decision record",
      "A decision that was taken, why, and what it replaces.", "decision",
      { { "decision", 1, "What was decided." },
        { "rationale", 1, "Why." },
        { "alternatives", 0, "Options considered and rejected." },
        { "owner", 0, "Who decided or owns it." } },
      "Decision: {decision}. Rationale: {rationale}. Alternatives considered: {alternatives}. "
      "Owner: {owner}." },
    { "user_preference", 1, "User preference",
      "Something the user likes, wants or avoids.", "preference",
      { { "preference", 1, "The preference, in the user's terms." },
        { "topic", 0, "What it is about (language, tone, tools, ...)." },
        { "strength", 0, "How strongly held: mild, firm, hard rule." } },
      "The user prefers {preference} (topic: {topic}; {strength})." },
    { "incident", 1, "Incident",
      "An outage or failure: impact, cause and the fix.", "incident",
      { { "title", 1, "Short name of the incident." },
        { "impact", 1, "Who or what was affected, and how badly." },
        { "cause", 0, "Root cause, when known." },
        { "resolution", 0, "What fixed it." },
        { "started_at", 0, "When it started (free text or RFC 3339)." } },
      "Incident: {title}. Impact: {impact}. Cause: {cause}. Resolution: {resolution}. "
      "Started: {started_at}." },
    { "meeting_note", 1, "Meeting note",
      "What a meeting discussed and decided, and who does what next.", "meeting_note",
      { { "topic", 1, "What the meeting was about." },
        { "attendees", 0, "Who attended." },
        { "decisions", 0, "What was decided." },
        { "action_items", 0, "Who does what next." } },
      "Meeting about {topic} with {attendees}. Decisions: {decisions}. Action items: "
      "{action_items}." },
};

const struct memory_template *templates_all(size_t *n)
{
    *n = ARRAY_SIZE(templates);
    return templates;
}

const struct memory_template *templates_find(const char *id)
{
    size_t i;

    for (i = 0; id && i < ARRAY_SIZE(templates); i++) {
        if (strcmp(templates[i].id, id) == 0)
            return &templates[i];
    }
    return NULL;
}

static const char *value_of(const char *name, size_t len, const char *const *names,
                            const char *const *values, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
            return values[i];
    }
    return "";
}

const char *templates_render(struct arena *a, const struct memory_template *t,
                             const char *const *names, const char *const *values, size_t n)
{
    struct buf b = BUF_INIT;
    const char *p = t->content_template, *close, *out;

    while (*p) {
        if (*p == '{' && (close = strchr(p, '}'))) {
            buf_puts(&b, value_of(p + 1, (size_t)(close - p - 1), names, values, n));
            p = close + 1;
        } else {
            buf_putc(&b, *p++);
        }
    }
    out = arena_strdup(a, b.data ? b.data : "");
    buf_release(&b);
    return out;
}

int templates_apply(struct arena *a, store *st, const char *tenant, const char *subject,
                    const char *session, const struct memory_template *t,
                    const char *const *names, const char *const *values, size_t n,
                    struct episode *ep, struct err *err)
{
    struct jv *payload = jv_object(a), *fields = jv_object(a), *meta = jv_object(a);
    struct jv *ref = jv_object(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_object_set(a, fields, names[i], jv_str(a, values[i]));
    jv_object_set(a, payload, "template_id", jv_str(a, t->id));
    jv_object_set(a, payload, "template_version", jv_int(a, t->version));
    jv_object_set(a, payload, "fields", fields);
    jv_object_set(a, payload, "content", jv_str(a, templates_render(a, t, names, values, n)));
    jv_object_set(a, ref, "id", jv_str(a, t->id));
    jv_object_set(a, ref, "version", jv_int(a, t->version));
    jv_object_set(a, meta, "template", ref);
    memset(ep, 0, sizeof(*ep));
    ep->subject_id = subject;
    ep->session_id = session && *session ? session : NULL;
    ep->source = "template";
    ep->type = t->episode_type;
    ep->payload = jv_compact_text(a, payload);
    ep->metadata = jv_compact_text(a, meta);
    ep->provenance = "{}";
    ep->occurred_at = TS_NULL;
    ep->last_compiled_at = TS_NULL;
    return episodes_record(a, st, tenant, ep, 1, err);
}
