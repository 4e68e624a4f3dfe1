"""89-admin-jobs: GET and DELETE /admin/jobs (spec/api.md §7.2; behavior.md §16.2;
data-model.md §4 operator purge).

Besides real async compiles, some tests write compile_jobs rows directly (SQLite through
Python's sqlite3, PostgreSQL through psql) to get exact created_at orders and jobs that stay
`running` (a lease far in the future, so no worker claims them). Such rows are recent, so the
readiness check never counts them as stuck, and every test removes its own rows."""

import os
import re
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_422, check_error, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

OFFSET_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
JOB_KEYS = ["job_id", "subject_id", "tenant_id", "status", "memories_created", "error",
            "created_at", "started_at", "completed_at"]
KEY = "jobs-key-1"


def iso(t):
    """Epoch seconds as the stored text form (UTC, 6 fraction digits, Z)."""
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + \
        ".%06dZ" % int(round((t - whole) * 1e6))


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def run_sql(s, statement):
    """Run one statement on the server's database."""
    pgctl.run_sql(s.database_url, statement)


def insert_job(s, subject, status, age, tenant=None, memories=0, error=None):
    """A compile_jobs row created `age` seconds ago; returns its id. Non-terminal rows are
    'running' under a lease no worker will take."""
    jid = secrets.token_hex(4)
    now = time.time()
    created = now - age
    terminal = status in ("completed", "failed")
    row = {
        "id": jid, "subject_id": subject, "tenant_id": tenant, "status": status,
        "memories_created": memories, "error": error, "created_at": iso(created),
        "started_at": iso(created + 0.25), "completed_at": iso(created + 0.5) if terminal else None,
        "lease_expires_at": None if terminal else iso(now + 86400),
    }
    run_sql(s, "INSERT INTO compile_jobs (%s) VALUES (%s)" % (
        ", ".join(row), ", ".join(sql_literal(v) for v in row.values())))
    return jid


def cleanup(s, *subjects):
    """End the running rows of these subjects and purge them all through the API."""
    for subject in subjects:
        run_sql(s, "UPDATE compile_jobs SET status = 'failed', lease_expires_at = NULL "
                   "WHERE subject_id = %s" % sql_literal(subject))
        r = s.delete("/admin/jobs", query={"subject_id": subject})
        assert r.status == 200, r


def listing(s, **query):
    r = s.get("/admin/jobs", query=query)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["jobs", "total", "limit", "offset"], r.body
    return r.body


def ids(body):
    return [j["job_id"] for j in body["jobs"]]


def wait_completed(s, job, tenant=None):
    deadline = time.monotonic() + 20
    while True:
        r = s.get("/v1/memories/compile/" + job, tenant=tenant)
        assert r.status == 200, r
        if r.body["status"] in ("completed", "failed"):
            return r.body
        assert time.monotonic() < deadline, "job %s did not finish" % job
        time.sleep(0.05)


@test("89.1 a real async job: every field, offset-form timestamps, default limit and offset")
def _(s):
    sid, t = uid(), uid("t")
    s.create(sid, tenant=t, payload={"text": "I use vim"})
    r = s.post("/v1/memories/compile", {"subject_id": sid, "async": True}, tenant=t)
    assert r.status == 202, r
    job = r.body["job_id"]
    assert wait_completed(s, job, tenant=t)["status"] == "completed"
    body = listing(s, subject_id=sid)
    assert body["total"] == 1 and body["limit"] == 50 and body["offset"] == 0, body
    j = body["jobs"][0]
    assert list(j.keys()) == JOB_KEYS, j
    assert j["job_id"] == job and j["subject_id"] == sid and j["tenant_id"] == t, j
    assert j["status"] == "completed" and j["memories_created"] == 2 and j["error"] is None, j
    for k in ("created_at", "started_at", "completed_at"):
        assert isinstance(j[k], str) and OFFSET_TS_RE.match(j[k]), (k, j[k])
    assert j["created_at"] <= j["started_at"] <= j["completed_at"], j
    cleanup(s, sid)


@test("89.2 newest first; limit and offset page through; total counts every match")
def _(s):
    sid = uid()
    made = [insert_job(s, sid, "completed", age) for age in (50, 40, 30, 20, 10)]
    try:
        newest = list(reversed(made))
        body = listing(s, subject_id=sid)
        assert ids(body) == newest and body["total"] == 5, body
        body = listing(s, subject_id=sid, limit=2)
        assert ids(body) == newest[:2] and body["total"] == 5 and body["limit"] == 2, body
        body = listing(s, subject_id=sid, limit=2, offset=2)
        assert ids(body) == newest[2:4] and body["offset"] == 2, body
        body = listing(s, subject_id=sid, limit=2, offset=4)
        assert ids(body) == newest[4:], body
        body = listing(s, subject_id=sid, offset=10)
        assert body["jobs"] == [] and body["total"] == 5, body
        body = listing(s, subject_id=sid, limit="5.0", offset="1")
        assert ids(body) == newest[1:] and body["limit"] == 5 and body["offset"] == 1, body
    finally:
        cleanup(s, sid)


@test("89.3 filters: status, subject_id, tenant_id, combined; the tenant header is ignored")
def _(s):
    s1, s2, t = uid(), uid(), uid("t")
    a = insert_job(s, s1, "completed", 40, tenant=t, memories=3)
    b = insert_job(s, s1, "failed", 30, error="compile failed: boom")
    c = insert_job(s, s2, "running", 20, tenant=t)
    d = insert_job(s, s2, "completed", 10)
    try:
        assert ids(listing(s, subject_id=s1)) == [b, a]
        assert ids(listing(s, subject_id=s1, status="failed")) == [b]
        assert ids(listing(s, tenant_id=t)) == [c, a]
        assert ids(listing(s, tenant_id=t, status="completed")) == [a]
        assert ids(listing(s, tenant_id=t, subject_id=s2, status="running")) == [c]
        body = listing(s, subject_id=s2, status="running")
        j = body["jobs"][0]
        assert j["status"] == "running" and j["completed_at"] is None and j["error"] is None, j
        assert OFFSET_TS_RE.match(j["started_at"]), j
        j = listing(s, subject_id=s1, status="failed")["jobs"][0]
        assert j["error"] == "compile failed: boom" and j["tenant_id"] is None, j
        # Empty values are no filter; the admin view ignores X-Tenant-ID.
        assert ids(listing(s, subject_id=s2, status="", tenant_id="")) == [d, c]
        r = s.get("/admin/jobs", query={"subject_id": s1}, tenant=uid("t"))
        assert r.status == 200 and ids(r.body) == [b, a], r
        # Unknown values match nothing; status is not validated on GET.
        for q in ({"tenant_id": uid("t")}, {"subject_id": s1, "status": "bogus"},
                  {"subject_id": uid()}):
            body = listing(s, **q)
            assert body["jobs"] == [] and body["total"] == 0, (q, body)
    finally:
        cleanup(s, s1, s2)


@test("89.4 limit must be 1..100 and offset >= 0 (422 naming the parameter)")
def _(s):
    for bad in ("0", "101", "-1", "abc", "1.5", ""):
        check_422(s.get("/admin/jobs", query={"limit": bad}), ["query", "limit"])
    for bad in ("-1", "x"):
        check_422(s.get("/admin/jobs", query={"offset": bad}), ["query", "offset"])
    assert listing(s, limit=100, subject_id=uid())["limit"] == 100
    assert listing(s, limit=1, subject_id=uid())["limit"] == 1


@test("89.5 DELETE needs a filter and accepts only a terminal status (400)")
def _(s):
    check_error(s.delete("/admin/jobs"), 400, "http_error", "at least one filter is required")
    check_error(s.delete("/admin/jobs", query={"status": "", "subject_id": "", "tenant_id": ""}),
                400, "http_error", "at least one filter is required")
    for bad in ("pending", "running", "bogus", "Completed"):
        check_error(s.delete("/admin/jobs", query={"status": bad}), 400, "http_error",
                    "status must be one of ('completed', 'failed'); got '%s'" % bad)
    check_error(s.delete("/admin/jobs", query={"status": "running", "subject_id": uid()}), 400,
                "http_error", "status must be one of ('completed', 'failed'); got 'running'")
    r = s.delete("/admin/jobs", query={"subject_id": uid()})
    assert r.status == 200 and r.body == {"deleted": 0}, r


@test("89.6 DELETE removes only finished jobs matching every filter; returns {deleted}")
def _(s):
    s1, s2, t = uid(), uid(), uid("t")
    live = insert_job(s, s1, "running", 50, tenant=t)
    insert_job(s, s1, "completed", 40, tenant=t)
    insert_job(s, s1, "failed", 30)
    keep_other_tenant = insert_job(s, s2, "completed", 20)
    t_failed = insert_job(s, s2, "failed", 15, tenant=t)
    t_done = insert_job(s, s2, "completed", 10, tenant=t)
    try:
        r = s.delete("/admin/jobs", query={"subject_id": s1})
        assert r.status == 200 and r.body == {"deleted": 2}, r
        assert ids(listing(s, subject_id=s1)) == [live]
        r = s.delete("/admin/jobs", query={"tenant_id": t, "status": "completed"})
        assert r.status == 200 and r.body == {"deleted": 1}, r
        assert ids(listing(s, subject_id=s2)) == [t_failed, keep_other_tenant]
        r = s.delete("/admin/jobs", query={"tenant_id": t})
        assert r.status == 200 and r.body == {"deleted": 1}, r
        assert ids(listing(s, subject_id=s2)) == [keep_other_tenant]
        assert ids(listing(s, tenant_id=t)) == [live]
        r = s.delete("/admin/jobs", query={"status": "failed", "subject_id": s2})
        assert r.status == 200 and r.body == {"deleted": 0}, r
        assert t_done not in ids(listing(s, subject_id=s2))
    finally:
        cleanup(s, s1, s2)


@test("89.7 /admin/jobs needs the API key", env={"STATEWAVE_API_KEY": KEY})
def _(s):
    r = s.get("/admin/jobs")
    assert r.status == 401 and r.body["error"]["code"] == "missing_api_key", r
    r = s.delete("/admin/jobs", query={"subject_id": "x"})
    assert r.status == 401, r
    r = s.get("/admin/jobs", headers={"X-API-Key": KEY})
    assert r.status == 200 and isinstance(r.body["jobs"], list), r


@test("89.8 other methods on /admin/jobs are 405")
def _(s):
    check_error(s.post("/admin/jobs", {}), 405, "http_error", "Method Not Allowed")
    check_error(s.request("PUT", "/admin/jobs"), 405, "http_error", "Method Not Allowed")


if pgctl.backend() == "postgres":

    @test("89.9 a database failure gives an empty page, never a 500")
    def _(s):
        cluster = pgctl.Cluster.start()
        srv = Server(database_url=cluster.url, workdir=s.workdir, name=s.name + "-down")
        try:
            srv.start()
            cluster.pause()
            try:
                r = srv.get("/admin/jobs", query={"limit": 7, "offset": 3})
            finally:
                cluster.resume()
            assert r.status == 200, r
            assert r.body == {"jobs": [], "total": 0, "limit": 7, "offset": 3}, r
        finally:
            rc = srv.stop()
            cluster.close()
        assert rc == 0, rc


if __name__ == "__main__":
    main()
