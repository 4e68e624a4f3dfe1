"""41-admin-delete: the admin deletes (spec/api.md §7.5, behavior.md §11).

DELETE /admin/subjects/{id}[?tenant_id=], POST /admin/subjects/preview-delete and
POST /admin/subjects/bulk-delete, with bad input for each. The cases of Statewave's own
tests/test_admin_subjects.py ("Subject deletion (admin)") are mirrored (41.1-41.6 keep their
asserts). Engram commits a bulk delete in ONE transaction (all or nothing; `failed` is always
empty); the failure paths are covered by tests/unit/test_store_faults.c. Every subject id and
prefix is random, so the files may share a database. Runs on both backends."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, episode, main, q, test, uid  # noqa: E402

EMPTY = ("At least one filter must be set (subject_id_prefix, older_than_days, or tenant_id), "
         "or match_all=true to explicitly target every subject.")


def ingest(s, subject, n=1, tenant=None, **over):
    for i in range(n):
        body = episode(subject, payload={"text": "hello %d" % i})
        body.update(over)
        r = s.post("/v1/episodes", body, tenant=tenant)
        assert r.status == 201, r


def preview(s, body, status=200):
    r = s.post("/admin/subjects/preview-delete", body)
    assert r.status == status, r
    return r.body


@test("41.1 DELETE /admin/subjects/{id} removes the subject's data; then it is 404 "
      "(test_admin_delete_subject_single)")
def _(s):
    sub = uid("del")
    ingest(s, sub, 3)
    r = s.delete("/admin/subjects/" + q(sub))
    assert r.status == 200, r
    assert r.body == {"subject_id": sub, "episodes_deleted": 3, "memories_deleted": 0}, r
    check_error(s.get("/admin/subjects/" + q(sub)), 404, "http_error")
    assert s.timeline(sub)["episodes"] == []


@test("41.2 DELETE of nothing is 404 Subject '<id>' not found "
      "(test_admin_delete_subject_not_found)")
def _(s):
    sub = "nope_does_not_exist_" + uid()
    check_error(s.delete("/admin/subjects/" + q(sub)), 404, "http_error",
                "Subject '%s' not found" % sub)
    check_422(s.delete("/admin/subjects/" + "x" * 257), ("path", "subject_id"))


@test("41.3 without tenant_id every tenant's rows go, with it only that tenant's; memories "
      "and resolutions go too; the tenant header is ignored")
def _(s):
    sub = uid("dt")
    ingest(s, sub, 2, tenant="ta")
    ingest(s, sub, 1, tenant="tb")
    ingest(s, sub, 1)
    assert s.post("/v1/resolutions", {"subject_id": sub, "session_id": "s"},
                  tenant="tb").status == 200
    r = s.request("DELETE", "/admin/subjects/" + q(sub), query={"tenant_id": "ta"},
                  tenant="tb")
    assert r.status == 200 and r.body["episodes_deleted"] == 2, r
    assert s.timeline(sub, tenant="ta")["episodes"] == []
    assert len(s.timeline(sub, tenant="tb")["episodes"]) == 1
    r = s.delete("/admin/subjects/" + q(sub), tenant="ta")
    assert r.status == 200 and r.body["episodes_deleted"] == 2, r
    assert s.timeline(sub, tenant="tb")["episodes"] == [] and s.timeline(sub)["episodes"] == []
    assert s.get("/v1/resolutions", query={"subject_id": sub}, tenant="tb").body == []
    check_error(s.delete("/admin/subjects/" + q(sub)), 404, "http_error")
    # a subject with memories only: DELETE takes it, the bulk selection (pairs with
    # episodes, as the reference groups them) never matches it
    src = uid("mo")
    ingest(s, src, 1, payload={"text": "My name is Ida Holm."})
    assert s.post("/v1/memories/compile", {"subject_id": src}).status == 200
    mem = uid("memonly")
    r = s.post("/admin/memory/clone", {"source_subject_id": src, "target_subject_id": mem,
                                       "clone_scope": "memories"})
    assert r.status == 200 and r.body["episode_count"] == 0 and r.body["memory_count"] > 0, r
    assert preview(s, {"subject_id_prefix": mem})["matched"] == 0
    r = s.delete("/admin/subjects/" + q(mem))
    assert r.status == 200 and r.body["episodes_deleted"] == 0, r
    assert r.body["memories_deleted"] > 0, r


@test("41.4 preview: an empty selector is 400; a prefix gives the matches, a sample and "
      "totals (test_admin_preview_delete_*)")
def _(s):
    for body in ({}, {"subject_id_prefix": ""}, {"tenant_id": ""}, {"match_all": False},
                 {"subject_id_prefix": None, "older_than_days": None}):
        r = s.post("/admin/subjects/preview-delete", body)
        check_error(r, 400, "http_error", EMPTY)
        assert "filter" in r.body["error"]["message"].lower()
    p = uid("bulkpfx") + "_"
    for sid in [p + "a", p + "b", p + "c"]:
        ingest(s, sid)
    ingest(s, p + "c", 1, tenant="tc")
    ingest(s, "other_unrelated_" + uid())
    body = preview(s, {"subject_id_prefix": p})
    assert list(body) == ["matched", "sample", "total_episodes", "total_memories"], body
    assert body["matched"] == 4 and body["total_episodes"] == 4, body
    assert {x["subject_id"] for x in body["sample"]} == {p + "a", p + "b", p + "c"}, body
    assert list(body["sample"][0]) == ["subject_id", "tenant_id", "episode_count",
                                       "memory_count", "last_episode_at"], body
    assert preview(s, {"subject_id_prefix": p, "tenant_id": "tc"})["matched"] == 1
    assert preview(s, {"subject_id_prefix": p, "older_than_days": 1})["matched"] == 0
    assert preview(s, {"subject_id_prefix": p, "older_than_days": 0})["matched"] == 4
    assert preview(s, {"subject_id_prefix": p, "match_all": True})["matched"] == 4
    # a LIKE prefix: `_` matches any character, case matters
    assert preview(s, {"subject_id_prefix": p[:-1] + "?"})["matched"] == 0
    assert preview(s, {"subject_id_prefix": p[:-1] + "_"})["matched"] == 4
    assert preview(s, {"subject_id_prefix": p.upper()})["matched"] == 0
    assert preview(s, {"match_all": True})["matched"] >= 4


@test("41.5 preview's bad input: 422 at the field")
def _(s):
    for body, loc in [({"older_than_days": "x"}, "older_than_days"),
                      ({"older_than_days": -1}, "older_than_days"),
                      ({"older_than_days": 100001}, "older_than_days"),
                      ({"match_all": "maybe"}, "match_all"),
                      ({"subject_id_prefix": 5}, "subject_id_prefix"),
                      ({"tenant_id": ["a"]}, "tenant_id")]:
        check_422(s.post("/admin/subjects/preview-delete", body), ("body", loc))
    check_422(s.post("/admin/subjects/preview-delete", [1]))
    r = s.request("POST", "/admin/subjects/preview-delete", body=None,
                  headers={"content-type": "application/json"})
    check_422(r)


@test("41.6 bulk delete: confirm required (400), count mismatch 409, then preview and commit "
      "(test_admin_bulk_delete_*)")
def _(s):
    p = uid("bulkok") + "_"
    for sid in [p + "a", p + "b", p + "c"]:
        ingest(s, sid)
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "expected_count": 3,
                                               "confirm": False})
    check_error(r, 400, "http_error", "confirm must be true to commit a bulk delete")
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "expected_count": 3})
    check_error(r, 400, "http_error", "confirm must be true to commit a bulk delete")
    r = s.post("/admin/subjects/bulk-delete", {"confirm": True, "expected_count": 3})
    check_error(r, 400, "http_error", EMPTY)
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "expected_count": 1,
                                               "confirm": True})
    check_error(r, 409, "http_error", "Match count changed since preview (3 now vs expected "
                "1). Re-preview before committing.")
    assert preview(s, {"subject_id_prefix": p})["matched"] == 3   # the 409 deleted nothing
    matched = preview(s, {"subject_id_prefix": p})["matched"]
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "confirm": True,
                                               "expected_count": matched})
    assert r.status == 200, r
    assert r.body == {"deleted_subjects": 3, "deleted_episodes": 3, "deleted_memories": 0,
                      "failed": []}, r
    assert preview(s, {"subject_id_prefix": p})["matched"] == 0
    for sid in [p + "a", p + "b", p + "c"]:
        assert s.timeline(sid)["episodes"] == []


@test("41.7 bulk delete's bad input: 422 at the field")
def _(s):
    p = uid("bad")
    for body, loc in [({"subject_id_prefix": p, "confirm": True}, "expected_count"),
                      ({"subject_id_prefix": p, "confirm": True, "expected_count": "x"},
                       "expected_count"),
                      ({"subject_id_prefix": p, "confirm": "maybe", "expected_count": 0},
                       "confirm"),
                      ({"subject_id_prefix": p, "confirm": True, "expected_count": 0,
                        "older_than_days": 1.5}, "older_than_days")]:
        check_422(s.post("/admin/subjects/bulk-delete", body), ("body", loc))
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "confirm": "yes",
                                               "expected_count": "0"})
    assert r.status == 200 and r.body["deleted_subjects"] == 0, r


@test("41.8 the selector's tenant: only that tenant's pairs are deleted")
def _(s):
    p = uid("bt") + "-"
    ingest(s, p + "a", 1, tenant="keep-" + p)
    ingest(s, p + "a", 2, tenant="drop-" + p)
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "tenant_id": "drop-" + p,
                                               "confirm": True, "expected_count": 1})
    assert r.status == 200 and r.body["deleted_episodes"] == 2, r
    assert len(s.timeline(p + "a", tenant="keep-" + p)["episodes"]) == 1


if __name__ == "__main__":
    main()
