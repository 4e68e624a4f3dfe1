/* templates.h - memory templates (spec/api.md §5.5): Engram's built-in episode shapes for
 * recurring records (a support ticket, a decision, a preference, an incident, a meeting),
 * listed, fetched, and applied to record one episode. */
#ifndef ENGRAM_SERVICE_TEMPLATES_H
#define ENGRAM_SERVICE_TEMPLATES_H

#include <stddef.h>

#include "store/store.h"

#define TEMPLATE_FIELDS_MAX 8

struct template_field {
    const char *name;
    int required;
    const char *description;
};

struct memory_template {
    const char *id;
    int version;
    const char *title;
    const char *description;
    const char *episode_type;
    struct template_field fields[TEMPLATE_FIELDS_MAX];   /* name NULL ends the list */
    const char *content_template;                        /* {name} stands for a value */
};

/* Every template, in a fixed order; *n gets the count. */
const struct memory_template *templates_all(size_t *n);
/* The template id, or NULL. */
const struct memory_template *templates_find(const char *id);
/* content_template with each {name} replaced by its value (an absent optional value by
 * ""), in the arena. values are n name/value pairs. */
const char *templates_render(struct arena *a, const struct memory_template *t,
                             const char *const *names, const char *const *values, size_t n);
/* Record the episode of t applied to the values (already checked against t): source
 * "template", type t->episode_type, payload {template_id, template_version, fields, content},
 * metadata {template: {id, version}}. *ep gets the stored episode. */
int templates_apply(struct arena *a, store *st, const char *tenant, const char *subject,
                    const char *session, const struct memory_template *t,
                    const char *const *names, const char *const *values, size_t n,
                    struct episode *ep, struct err *err);

#endif
