"""50-tenancy: strict tenant isolation on /v1 (DESIGN.md "strict isolation everywhere: a row is
visible only under its own tenant (no header = the 'no tenant' space)"; spec/api.md §1.5;
behavior.md §19.10)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import episode, main, q, test, uid  # noqa: E402

REQUIRED = {"STATEWAVE_REQUIRE_TENANT": "true"}


def subject_ids(s, tenant):
    return {it["subject_id"] for it in s.all_subjects(tenant)}


@test("50.1 rows written under tenant A are invisible to tenant B and to no-tenant reads")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    e = s.create(sid, tenant=ta)
    assert [x["id"] for x in s.timeline(sid, tenant=ta)["episodes"]] == [e["id"]]
    assert s.timeline(sid, tenant=tb)["episodes"] == []
    assert s.timeline(sid)["episodes"] == [], "no-tenant reads must not see tenant rows (strict isolation)"


@test("50.2 rows written without a tenant are invisible to tenant A")
def _(s):
    ta, sid = uid("t"), uid()
    e = s.create(sid)
    assert [x["id"] for x in s.timeline(sid)["episodes"]] == [e["id"]]
    assert s.timeline(sid, tenant=ta)["episodes"] == []
    assert sid not in subject_ids(s, ta)


@test("50.3 subject listings: A's subjects are absent under B and without a tenant")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta)
    assert sid in subject_ids(s, ta)
    assert sid not in subject_ids(s, tb)
    assert sid not in subject_ids(s, None), "no-tenant listing must not show tenant subjects"


@test("50.4 the same subject id under A, B and none: three separate histories")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    ea = s.batch([episode(sid, payload={"who": "a"}) for _ in range(2)], tenant=ta)["episodes"]
    eb = s.create(sid, tenant=tb, payload={"who": "b"})
    en = s.batch([episode(sid, payload={"who": "none"}) for _ in range(3)])["episodes"]
    assert s.timeline(sid, tenant=ta)["episodes"] == ea
    assert s.timeline(sid, tenant=tb)["episodes"] == [eb]
    assert s.timeline(sid)["episodes"] == en
    la = [it for it in s.all_subjects(ta) if it["subject_id"] == sid]
    lb = [it for it in s.all_subjects(tb) if it["subject_id"] == sid]
    assert la == [{"subject_id": sid, "episode_count": 2, "memory_count": 0}], la
    assert lb == [{"subject_id": sid, "episode_count": 1, "memory_count": 0}], lb


def without_receipt(r):
    """The reference's body of a delete: Engram's added deletion_receipt (spec/api.md §11)
    left out, after checking that it is there."""
    body = dict(r.body)
    assert isinstance(body.pop("deletion_receipt", None), dict), r
    return body


@test("50.5 delete under B does not delete A's rows")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta)
    r = s.delete("/v1/subjects/" + q(sid), tenant=tb)
    assert r.status == 200, r
    assert without_receipt(r) == {"subject_id": sid, "episodes_deleted": 0,
                                  "memories_deleted": 0}, r
    assert s.episode_count(sid, tenant=ta) == 1


@test("50.6 delete without a tenant does not delete A's rows")
def _(s):
    ta, sid = uid("t"), uid()
    s.create(sid, tenant=ta)
    r = s.delete("/v1/subjects/" + q(sid))
    assert r.status == 200, r
    assert without_receipt(r) == {"subject_id": sid, "episodes_deleted": 0,
                                  "memories_deleted": 0}, r
    assert s.episode_count(sid, tenant=ta) == 1


@test("50.7 delete under A does not delete no-tenant rows")
def _(s):
    ta, sid = uid("t"), uid()
    s.create(sid)
    r = s.delete("/v1/subjects/" + q(sid), tenant=ta)
    assert r.status == 200 and r.body["episodes_deleted"] == 0, r
    assert s.episode_count(sid) == 1


@test("50.8 tenant ids are exact: case and whitespace matter")
def _(s):
    t, sid = uid("Acme"), uid()
    s.create(sid, tenant=t)
    assert s.episode_count(sid, tenant=t) == 1
    assert s.episode_count(sid, tenant=t.lower()) == 0
    assert s.episode_count(sid, tenant=t.upper()) == 0
    assert s.episode_count(sid, tenant=t + "x") == 0


@test("50.9 the tenant header name is case-insensitive")
def _(s):
    t, sid = uid("t"), uid()
    r = s.post("/v1/episodes", episode(sid), headers={"x-tenant-id": t})
    assert r.status == 201, r
    r = s.get("/v1/timeline", query={"subject_id": sid}, headers={"X-TENANT-ID": t})
    assert r.status == 200 and len(r.body["episodes"]) == 1, r


@test("50.10 a tenant_id body field never overrides the header", env=None)
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    r = s.post("/v1/episodes", episode(sid, tenant_id=tb), tenant=ta)
    assert r.status == 201, r
    assert s.episode_count(sid, tenant=ta) == 1
    assert s.episode_count(sid, tenant=tb) == 0


@test("50.20 REQUIRE_TENANT: tenants A and B are isolated in timeline, subjects and delete",
      env=REQUIRED)
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta)
    s.create(sid + "-2", tenant=ta)
    assert s.timeline(sid, tenant=tb)["episodes"] == []
    assert subject_ids(s, tb) == set()
    assert subject_ids(s, ta) == {sid, sid + "-2"}
    r = s.delete("/v1/subjects/" + q(sid), tenant=tb)
    assert r.status == 200 and r.body["episodes_deleted"] == 0, r
    r = s.delete("/v1/subjects/" + q(sid), tenant=ta)
    assert r.status == 200 and r.body["episodes_deleted"] == 1, r
    assert subject_ids(s, ta) == {sid + "-2"}


if __name__ == "__main__":
    main()
