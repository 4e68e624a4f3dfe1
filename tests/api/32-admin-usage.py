"""32-admin-usage: tenants, tenant audit, usage, dashboard (spec/api.md §7.6) and
GET /ops/migrations (§5.2).

The database may be shared with other test files (PostgreSQL runs), so global counts are
checked as deltas of this file's own writes, and tenant-filtered counts exactly (every tenant
here is fresh). The /admin rule (README "Admin and tenants", 97-admin-tenancy): the tenant
header changes no answer."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, episode, main, test, uid  # noqa: E402

OFFSET_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$")
REVISION = re.compile(r"^\d{4}_[a-z0-9_]+$")
KEY = "k-32"


def get_ok(s, path, query=None):
    """GET path with and without a tenant header: both 200 and equal (stamps aside)."""
    plain = s.get(path, query=query)
    scoped = s.get(path, query=query, tenant=uid("hdr"))
    assert plain.status == 200, "%s: %r" % (path, plain)
    assert scoped.status == 200, "%s with a tenant header: %r" % (path, scoped)
    volatile = ("generated_at", "readiness")   # a timestamp; probe latencies

    def same(b):
        return {k: v for k, v in b.items() if k not in volatile}
    assert same(plain.body) == same(scoped.body), \
        "the tenant header changed %s:\n%r\n%r" % (path, plain, scoped)
    return plain.body


def tenants(s, **query):
    r = s.get("/admin/tenants", query=query or None)
    assert r.status == 200, r
    assert list(r.body) == ["tenants"], r
    return r.body["tenants"]


@test("32.1 tenants: the distinct episode tenants, sorted, once each; no-tenant and "
      "memory-only rows are not tenants")
def _(s):
    ta, tb = sorted([uid("tn"), uid("tn")])
    for t in (ta, tb, ta):
        s.create(uid(), tenant=t)
    s.create(uid())   # no tenant
    body = get_ok(s, "/admin/tenants")
    listed = body["tenants"]
    assert ta in listed and tb in listed, listed
    assert listed.index(ta) < listed.index(tb), listed
    assert len(listed) == len(set(listed)), "a tenant listed twice: %r" % listed
    assert None not in listed and "" not in listed, listed


@test("32.2 tenants: limit and offset page through the same list; out-of-range values are 422")
def _(s):
    for _ in range(3):
        s.create(uid(), tenant=uid("tp"))
    full = tenants(s)
    assert len(full) >= 3, full
    assert tenants(s, limit=1, offset=1) == full[1:2]
    assert tenants(s, limit=2) == full[:2]
    assert tenants(s, offset=len(full)) == []
    for q, loc in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                   ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset")):
        check_422(s.get("/admin/tenants", query=q), ("query", loc))


@test("32.3 tenant-audit counts rows without a tenant, per table, with a guidance text")
def _(s):
    before = get_ok(s, "/admin/tenant-audit")
    assert set(before) == {"null_tenant_rows", "guidance"}, before
    assert set(before["null_tenant_rows"]) == {"episodes", "memories", "compile_jobs"}, before
    assert "tenant_id IS NULL" in before["guidance"], before
    sid = uid()
    s.create(sid, payload={"text": "My name is Ada Park."})
    s.create(sid, payload={"text": "I work at Initech."})
    s.create(uid(), tenant=uid("tn"))   # has a tenant: not counted
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200, r
    made = r.body["memories_created"]
    assert made >= 1, r
    after = get_ok(s, "/admin/tenant-audit")["null_tenant_rows"]
    assert after["episodes"] - before["null_tenant_rows"]["episodes"] == 2, (before, after)
    assert after["memories"] - before["null_tenant_rows"]["memories"] == made, (before, after)


def wait_jobs_done(s, sid):
    t0 = time.monotonic()
    while True:
        jobs = s.get("/admin/jobs", query={"subject_id": sid}).body["jobs"]
        if jobs and all(j["status"] in ("completed", "failed") for j in jobs):
            return jobs
        assert time.monotonic() - t0 < 20, jobs
        time.sleep(0.05)


@test("32.4 usage of one tenant: every window counts that tenant's rows exactly")
def _(s):
    t = uid("tu")
    a, b = uid(), uid()
    s.create(a, tenant=t, payload={"text": "My name is Bea Lind."})
    s.create(a, tenant=t, payload={"text": "I use Vim every day."})
    s.create(b, tenant=t)
    s.create(uid(), tenant=uid("other"))
    r = s.post("/v1/memories/compile", {"subject_id": a, "async": True}, tenant=t)
    assert r.status in (200, 202), r
    wait_jobs_done(s, a)
    mems = len(s.timeline(a, tenant=t)["memories"])
    assert mems >= 1
    u = get_ok(s, "/admin/usage", query={"tenant_id": t})
    assert list(u) == ["period_start", "generated_at", "tenant_id", "episodes", "memories",
                       "compile_jobs", "webhooks", "active_subjects"], u
    assert u["tenant_id"] == t
    assert u["episodes"] == {"today": 3, "7d": 3, "30d": 3, "total": 3}, u
    assert u["memories"] == {"today": mems, "7d": mems, "30d": mems, "total": mems}, u
    assert u["compile_jobs"] == {"today": 1, "7d": 1, "30d": 1, "total": 1}, u
    assert u["webhooks"] == {"today": 0, "7d": 0, "30d": 0, "total": 0}, u
    assert u["active_subjects"] == {"7d": 2, "30d": 2, "total": 2}, u


@test("32.5 usage: period_start is today 00:00 UTC, offset form; without a tenant the totals "
      "cover every tenant and tenant_id is absent; an unknown tenant counts nothing")
def _(s):
    t = uid("tu")
    s.create(uid(), tenant=t)
    u = get_ok(s, "/admin/usage")
    assert "tenant_id" not in u, u
    assert OFFSET_TS.match(u["period_start"]) and OFFSET_TS.match(u["generated_at"]), u
    assert u["period_start"][11:] == "00:00:00+00:00", u
    assert u["period_start"][:10] == u["generated_at"][:10], u
    for w in ("episodes", "memories", "compile_jobs", "webhooks"):
        c = u[w]
        assert c["today"] <= c["7d"] <= c["30d"] <= c["total"], (w, c)
    assert u["episodes"]["today"] >= 1
    assert u["active_subjects"]["7d"] <= u["active_subjects"]["30d"] <= u["active_subjects"]["total"]
    none = get_ok(s, "/admin/usage", query={"tenant_id": uid("nobody")})
    zero = {"today": 0, "7d": 0, "30d": 0, "total": 0}
    assert none["episodes"] == zero and none["memories"] == zero, none
    assert none["active_subjects"] == {"7d": 0, "30d": 0, "total": 0}, none
    # An empty tenant_id is no filter (as on /admin/jobs).
    assert "tenant_id" not in get_ok(s, "/admin/usage", query={"tenant_id": ""})


@test("32.6 usage counts webhook events (no tenant) when STATEWAVE_WEBHOOK_URL records them",
      env={"STATEWAVE_WEBHOOK_URL": "http://127.0.0.1:1/hook"})
def _(s):
    before = get_ok(s, "/admin/usage")["webhooks"]
    s.create(uid())
    s.create(uid(), tenant=uid("tw"))
    after = get_ok(s, "/admin/usage")["webhooks"]
    assert after["total"] - before["total"] == 2, (before, after)
    assert after["today"] - before["today"] == 2, (before, after)
    t = get_ok(s, "/admin/usage", query={"tenant_id": uid("tw")})["webhooks"]
    assert t == {"today": 0, "7d": 0, "30d": 0, "total": 0}, t


def dashboard(s):
    d = get_ok(s, "/admin/dashboard")
    assert list(d) == ["readiness", "migration", "counts", "jobs", "webhooks",
                       "health_distribution"], d
    return d


@test("32.7 dashboard: readiness checks carry detail and latency_ms; migration matches "
      "/ops/migrations; webhook counts match /admin/webhooks/stats")
def _(s):
    d = dashboard(s)
    r = d["readiness"]
    assert r["status"] == "ready", r
    assert [c["name"] for c in r["checks"]] == ["database", "queue", "llm"], r
    for c in r["checks"]:
        assert set(c) == {"name", "status", "detail", "latency_ms"}, c
        assert isinstance(c["latency_ms"], float), c
    m = s.get("/ops/migrations").body
    assert d["migration"] == {k: m[k] for k in ("current_revision", "expected_head",
                                                "is_compatible", "pending_count")}, (d, m)
    assert d["webhooks"] == s.get("/admin/webhooks/stats").body, d
    assert set(d["health_distribution"]) == {"healthy", "watch", "at_risk", "unknown"}, d


@test("32.8 dashboard counts: a new subject adds its episodes and memories, one subject, one "
      "unknown health; computing its health moves it out of unknown; jobs by status")
def _(s):
    before = dashboard(s)
    sid = uid()
    s.create(sid, payload={"text": "My name is Cy Moss."})
    s.create(sid, payload={"text": "I live in Oslo."})
    r = s.post("/v1/memories/compile", {"subject_id": sid, "async": True})
    assert r.status in (200, 202), r
    wait_jobs_done(s, sid)
    mems = len(s.timeline(sid)["memories"])
    mid = dashboard(s)
    assert mid["counts"]["episodes"] - before["counts"]["episodes"] == 2, (before, mid)
    assert mid["counts"]["memories"] - before["counts"]["memories"] == mems, (before, mid)
    assert mid["counts"]["subjects"] - before["counts"]["subjects"] == 1, (before, mid)
    hb, hm = before["health_distribution"], mid["health_distribution"]
    assert hm["unknown"] - hb["unknown"] == 1, (hb, hm)
    assert mid["jobs"].get("completed", 0) - before["jobs"].get("completed", 0) == 1, (before, mid)
    h = s.get("/v1/subjects/%s/health" % sid)
    assert h.status == 200, h
    after = dashboard(s)["health_distribution"]
    assert after["unknown"] == hm["unknown"] - 1, (hm, after)
    state = h.body["state"]
    assert after[state] == hm[state] + 1, (state, hm, after)


@test("32.9 GET /ops/migrations: Engram's own schema revisions, up to date")
def _(s):
    m = get_ok(s, "/ops/migrations")
    assert list(m) == ["current_revision", "expected_head", "is_compatible", "pending_count",
                       "pending_revisions", "error", "summary"], m
    assert REVISION.match(m["current_revision"]), m
    assert m["current_revision"] == m["expected_head"], m
    assert m["is_compatible"] is True and m["pending_count"] == 0, m
    assert m["pending_revisions"] == [] and m["error"] is None, m
    assert m["summary"] == "Schema is up to date", m
    assert m["current_revision"].startswith("%04d_" % int(m["current_revision"][:4])), m


@test("32.10 wrong methods are 405; the routes need the API key; /ops and /admin need the "
      "tenant header under REQUIRE_TENANT",
      env={"STATEWAVE_API_KEY": KEY, "STATEWAVE_REQUIRE_TENANT": "true"})
def _(s):
    k = {"X-API-Key": KEY}
    for path in ("/admin/tenants", "/admin/tenant-audit", "/admin/usage", "/admin/dashboard",
                 "/ops/migrations"):
        check_error(s.get(path), 401, "missing_api_key", request_id=False)
        check_error(s.get(path, headers=k), 400, "missing_tenant", request_id=False)
        r = s.get(path, headers=k, tenant=uid("t"))
        assert r.status == 200, (path, r)
        check_error(s.post(path, {}, headers=k, tenant="t"), 405, "http_error",
                    "Method Not Allowed")


if __name__ == "__main__":
    main()
