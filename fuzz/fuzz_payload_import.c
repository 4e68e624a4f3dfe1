/* fuzz_payload_import.c - memory payloads (POST /admin/memory/import, format
 * "statewave-memory-payload"): memory_payload_plan(), which checks a payload touching no
 * database, then memory_payload_import(), which plans again, resolves the targets and writes
 * everything in one transaction on an in-memory SQLite store.
 *
 * The input is the payload's JSON text; its last byte picks the conflict strategy (mod 3)
 * and, with bit 2, a target tenant. The limits are small (4 subjects, 24 episodes and 24
 * memories per group, 48 KiB) so that every 413 is within reach.
 *
 * Invariants: the plan either fails with 400/413 or lists groups whose records all have
 * the group's subject; the import fails exactly when the plan fails or a target is refused,
 * always with a client error (never 500), and writes nothing then (the tenant's row count
 * is unchanged); an accepted import reports as many records as the plan holds, grows the
 * tenant by exactly that many rows and names a target for every group.
 */
#include <string.h>

#include "fuzz_store.h"
#include "service/memory_payload.h"
#include "util/arena.h"
#include "util/jv.h"
#include "util/ts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_config_setup();
    return 0;
}

/* Limits far below the defaults, so that inputs of a few kilobytes reach every 413. */
static struct payload_limits limits(void)
{
    struct payload_limits lim = { 0 };

    lim.max_bytes = 48 * 1024;
    lim.max_subjects = 4;
    lim.max_episodes = 24;
    lim.max_memories = 24;
    lim.embedding_dim = (size_t)cfg->embedding_dimensions;
    return lim;
}

static void check_plan(const struct payload_plan *p, size_t *eps, size_t *mems)
{
    size_t g;

    *eps = *mems = 0;
    for (g = 0; g < p->ngroups; g++) {
        FUZZ_CHECK(p->groups[g].original && *p->groups[g].original, "group without subject");
        *eps += p->groups[g].nepisodes;
        *mems += p->groups[g].nmemories;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct payload_limits lim = limits();
    struct payload_plan plan;
    struct payload_import_result res;
    struct err perr = ERR_INIT, err = ERR_INIT;
    struct arena *a;
    const struct jv *payload;
    size_t eps = 0, mems = 0, g;
    const char *tenant;
    int64_t before;
    int planned;
    uint8_t opt;
    store *st;

    if (size == 0)
        return 0;
    a = arena_new();
    payload = jv_parse(a, (const char *)data, size, NULL, NULL);
    if (!payload)
        goto cleanup;
    opt = data[size - 1];
    planned = memory_payload_plan(a, payload, &lim, ts_now(), &plan, &perr) == 0;
    if (planned)
        check_plan(&plan, &eps, &mems);
    else
        fuzz_check_client_error(&perr);
    st = fuzz_store();
    tenant = opt & 4 ? "fuzz-t" : NULL;
    before = fuzz_tenant_rows(st, tenant);
    if (memory_payload_import(a, st, payload, tenant, (enum payload_strategy)(opt % 3), &lim, &res,
                              &err) < 0) {
        fuzz_check_client_error(&err);
        if (!planned)
            FUZZ_CHECK(err.kind == perr.kind && strcmp(err.msg, perr.msg) == 0,
                       "import and plan refuse the payload differently");
        FUZZ_CHECK(fuzz_tenant_rows(st, tenant) == before, "a refused import wrote rows");
    } else {
        FUZZ_CHECK(planned, "import accepted a payload the plan refuses");
        FUZZ_CHECK(res.episodes == eps && res.memories == mems,
                   "import wrote another number of records than planned");
        FUZZ_CHECK(fuzz_tenant_rows(st, tenant) ==
                       before + (int64_t)res.episodes + (int64_t)res.memories,
                   "the tenant did not grow by the records reported");
        for (g = 0; g < res.plan.ngroups; g++)
            FUZZ_CHECK(res.plan.groups[g].target && *res.plan.groups[g].target,
                       "a group without a target");
    }
cleanup:
    err_release(&perr);
    err_release(&err);
    arena_free(a);
    return 0;
}
