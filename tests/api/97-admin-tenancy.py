"""97-admin-tenancy: one rule for /admin (issue #14 defect 9).

The rule (spec/api.md §1.5 and §6; README "Admin and tenants"): /admin is cross-tenant under
the one API key. The tenant header confines no admin endpoint: it is ignored, and the explicit
tenant_id / target_tenant_id / source_tenant_id parameters are the only tenant controls.
Before, GET /admin/export/{id} alone pretended to confine by the header while memory export,
snapshots, import and jobs did not. Here every admin endpoint is called with X-Tenant-ID: A on
tenant B's data and must answer exactly as without the header. Runs on both backends."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import episode, main, test, uid  # noqa: E402

ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
STAMPS = ("exported_at", "export_id", "created_at", "imported_at", "id", "started_at",
          "completed_at", "subject_id_map", "imported_subjects", "target_subject_id")


def strip(v):
    """v without the fields that differ between two calls (stamps, fresh ids)."""
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in STAMPS}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def seed_b(s):
    """Tenant B's subject with episodes, memories and an async compile job; returns its id."""
    tb, sb = uid("tb"), uid("sb")
    for text in ["My name is Bea Lind.", "I work at Initech.", "I use Vim."]:
        assert s.post("/v1/episodes", episode(sb, payload={"text": text}), tenant=tb).status == 201
    r = s.post("/v1/memories/compile", {"subject_id": sb, "async": True}, tenant=tb)
    assert r.status in (200, 202), r
    # Wait for the job to be completed, not only for its memories: their embeddings are
    # written after the compile's commit, and two exports must see the same rows.
    t0 = time.monotonic()
    while [j["status"] for j in s.get("/admin/jobs", query={"subject_id": sb}).body["jobs"]] \
            != ["completed"]:
        assert time.monotonic() - t0 < 20, "the async compile did not finish"
        time.sleep(0.05)
    assert s.get("/v1/timeline", query={"subject_id": sb}, tenant=tb).body["memories"] != []
    return tb, sb


def same_both_ways(s, method, path, body=None, query=None, status=200):
    """Call without and with X-Tenant-ID: A; both answers equal (stamps aside); returns one."""
    ta = uid("ta")
    plain = s.request(method, path, body=body, query=query)
    scoped = s.request(method, path, body=body, query=query, tenant=ta)
    assert plain.status == status, "%s %s without a header: %r" % (method, path, plain)
    assert scoped.status == status, "%s %s with X-Tenant-ID A: %r (without: %r)" \
        % (method, path, scoped, plain)
    assert strip(scoped.body) == strip(plain.body), \
        "%s %s: the tenant header changed the answer:\n%r\n%r" % (method, path, scoped, plain)
    return scoped


@test("97.1 reads: export, memory export, jobs, webhooks, snapshots list answer the same with "
      "and without a tenant header (B's data, header A)", env=ON)
def _(s):
    tb, sb = seed_b(s)
    r = same_both_ways(s, "GET", "/admin/export/" + sb)
    assert r.body["counts"]["episodes"] == 3 and r.body["counts"]["memories"] > 0, r
    r = same_both_ways(s, "POST", "/admin/memory/export", {"subject_ids": [sb]})
    assert len(r.body["episodes"]) == 3, r
    r = same_both_ways(s, "POST", "/admin/memory/export", {"subject_ids": [sb], "tenant_id": tb})
    assert len(r.body["episodes"]) == 3, r
    r = same_both_ways(s, "GET", "/admin/jobs", query={"subject_id": sb})
    assert [j["tenant_id"] for j in r.body["jobs"]] == [tb], r
    same_both_ways(s, "GET", "/admin/jobs", query={"tenant_id": tb})
    same_both_ways(s, "GET", "/admin/webhooks")
    same_both_ways(s, "GET", "/admin/webhooks/stats")
    same_both_ways(s, "GET", "/admin/snapshots")


@test("97.2 writes: snapshot create and restore, import, memory import, jobs delete and "
      "cleanup act on B's data under header A exactly as without it", env=ON)
def _(s):
    tb, sb = seed_b(s)
    ta = uid("ta")
    # Snapshot of B's subject: every tenant's rows, as without a header.
    name = uid("snap")
    r = s.post("/admin/snapshots", {"name": name, "source_subject_id": sb}, tenant=ta)
    assert r.status == 200 and r.body["episode_count"] == 3, r
    # Restore without target_tenant_id: no tenant (the header is no default).
    target = uid("rt")
    r = s.post("/admin/snapshots/%s/restore" % r.body["id"], {"target_subject_id": target},
               tenant=ta)
    assert r.status == 200 and r.body["episodes_restored"] == 3, r
    assert s.episode_count(target) == 3 and s.episode_count(target, tenant=ta) == 0
    # Restore by name into tenant B explicitly.
    target = uid("rt")
    r = s.post("/admin/snapshots/restore-by-name",
               {"name": name, "target_subject_id": target, "target_tenant_id": tb}, tenant=ta)
    assert r.status == 200, r
    assert s.episode_count(target, tenant=tb) == 3 and s.episode_count(target, tenant=ta) == 0
    # Subject import into tenant B under header A.
    doc = s.get("/admin/export/" + sb, query={"tenant_id": tb}).body
    target = uid("imp")
    r = s.post("/admin/import", {"document": doc, "target_subject_id": target,
                                 "target_tenant_id": tb, "preserve_ids": False}, tenant=ta)
    assert r.status == 200 and r.body["tenant_id"] == tb, r
    assert s.episode_count(target, tenant=tb) == 3 and s.episode_count(target, tenant=ta) == 0
    # Without target_tenant_id the document's tenant applies, not the header.
    target = uid("imp")
    r = s.post("/admin/import", {"document": doc, "target_subject_id": target,
                                 "preserve_ids": False}, tenant=ta)
    assert r.status == 200 and r.body["tenant_id"] == tb, r
    # Memory import into tenant B under header A; without a target tenant: no tenant.
    payload = s.post("/admin/memory/export", {"subject_ids": [sb]}).body
    r = s.post("/admin/memory/import", {"payload": payload, "target_tenant_id": tb}, tenant=ta)
    assert r.status == 200, r
    new = r.body["imported_subjects"][0]
    assert s.episode_count(new, tenant=tb) == 3 and s.episode_count(new, tenant=ta) == 0
    r = s.post("/admin/memory/import", {"payload": payload}, tenant=ta)
    assert r.status == 200, r
    new = r.body["imported_subjects"][0]
    assert s.episode_count(new) == 3 and s.episode_count(new, tenant=ta) == 0
    # Jobs delete of B's finished job under header A.
    r = s.delete("/admin/jobs", query={"subject_id": sb}, tenant=ta)
    assert r.status == 200 and r.body["deleted"] == 1, r
    # Cleanup of B's stale subject under header A (max_age_hours 0: everything is stale).
    prefix = uid("live")
    assert s.post("/v1/episodes", episode(prefix + "-x"), tenant=tb).status == 201
    time.sleep(0.01)
    r = s.request("POST", "/admin/cleanup", query={"prefix": prefix, "max_age_hours": 0},
                  tenant=ta)
    assert r.status == 200 and r.body["subjects_cleaned"] == 1, r
    assert s.episode_count(prefix + "-x", tenant=tb) == 0


@test("97.3 the subject explorer, the admin deletes and clone (issue 16) ignore the header too")
def _(s):
    tb, sb = seed_b(s)
    r = same_both_ways(s, "GET", "/admin/subjects", query={"search": sb})
    assert [(x["subject_id"], x["tenant_id"]) for x in r.body["subjects"]] == [(sb, tb)], r
    r = same_both_ways(s, "GET", "/admin/subjects/" + sb)
    assert r.body["tenant_id"] == tb and r.body["summary"]["episode_count"] == 3, r
    same_both_ways(s, "GET", "/admin/subjects/%s/sla" % sb)
    r = same_both_ways(s, "GET", "/admin/subjects/%s/memories" % sb)
    assert r.body["total"] > 0, r
    mem = r.body["memories"][0]
    r = same_both_ways(s, "GET", "/admin/subjects/%s/episodes" % sb)
    assert r.body["total"] == 3, r
    same_both_ways(s, "GET", "/admin/subjects/%s/episodes/%s/citing-memories"
                   % (sb, mem["source_episode_ids"][0]))
    same_both_ways(s, "GET", "/admin/subjects/%s/memories/%s/related" % (sb, mem["id"]))
    same_both_ways(s, "GET", "/admin/subjects/%s/sessions/none/timeline" % sb)
    r = same_both_ways(s, "POST", "/admin/subjects/preview-delete", {"subject_id_prefix": sb})
    assert r.body["matched"] == 1, r
    ta = uid("ta")
    # Clone under header A: the copy goes to no tenant (target_tenant_id absent), not A.
    target = uid("cl")
    r = s.post("/admin/memory/clone", {"source_subject_id": sb, "target_subject_id": target},
               tenant=ta)
    assert r.status == 200 and r.body["episode_count"] == 3, r
    assert s.episode_count(target) == 3 and s.episode_count(target, tenant=ta) == 0
    # Deletes under header A reach B's rows.
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": target, "confirm": True,
                                               "expected_count": 1}, tenant=ta)
    assert r.status == 200 and r.body["deleted_subjects"] == 1, r
    r = s.delete("/admin/subjects/" + sb, tenant=ta)
    assert r.status == 200 and r.body["episodes_deleted"] == 3, r
    assert s.episode_count(sb, tenant=tb) == 0


if __name__ == "__main__":
    main()
