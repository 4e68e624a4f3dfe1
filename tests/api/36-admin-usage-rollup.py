"""36-admin-usage-rollup: GET /admin/usage and /admin/dashboard answered from rollups
(issue 16; spec/api.md §7.6) give exactly what counting the tables gives.

The rollup (usage_daily: rows per table, tenant and UTC day, kept by triggers; SQLite schema
step 16, PostgreSQL step 16) and subject_stats replace scans of the tables. Here random rows
are written around every cut-off (today's midnight, now - 7 days, now - 30 days, to the
microsecond on either side) in two fresh tenants and none, through SQL and the API, then
deleted, moved between tenants (an operator's UPDATE), imported (created_at kept), snapshotted
(a reserved subject) and restored; after each step both routes must equal the counts of the
tables (the statements the routes ran before the rollup, run here on the database), with the
cut-offs the route itself used (generated_at, period_start). Runs on both backends."""

import datetime
import json
import os
import random
import sqlite3
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

DAY = 86400 * 10**6
TABLES = ("episodes", "memories", "compile_jobs", "webhook_events")


def query(s, sql):
    """Rows of sql on the server's database (tuples of strings / ints)."""
    url = s.database_url
    if pgctl.is_postgres(url):
        r = pgctl.run([pgctl.pg_bin("psql"), url.replace("postgresql+asyncpg", "postgresql"),
                       "-v", "ON_ERROR_STOP=1", "-AtqF", "\x1f", "-0", "-c", sql])
        assert r.returncode == 0, r.stderr
        return [tuple(rec.split("\x1f")) for rec in r.stdout.split("\0") if rec]
    con = sqlite3.connect(url[len("sqlite://"):], isolation_level=None, timeout=10)
    try:
        return [tuple(str(v) for v in row) for row in con.execute(sql).fetchall()]
    finally:
        con.close()


def us_of(text):
    """Microseconds since the epoch of a rendered timestamp (offset form)."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(t.timestamp()) * 10**6 + t.microsecond


def stamp(us, postgres):
    t = datetime.datetime.fromtimestamp(us // 10**6, tz=datetime.timezone.utc)
    base = t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06d" % (us % 10**6)
    return base + ("+00:00" if postgres else "Z")


def scan_usage(s, tenant, now, today):
    """What GET /admin/usage answered by counting the tables (before the rollup)."""
    pg = pgctl.is_postgres(s.database_url)
    cut = {"today": today, "7d": now - 7 * DAY, "30d": now - 30 * DAY}
    if tenant is None:
        where = ""
    elif pg:
        where = " AND COALESCE(tenant_id, '') = '%s'" % tenant
    else:
        where = " AND tenant_id = '%s'" % tenant
    out = {}
    for t in TABLES:
        w = {}
        for k, c in cut.items():
            w[k] = int(query(s, "SELECT count(*) FROM %s WHERE created_at >= '%s'%s"
                             % (t, stamp(c, pg), where))[0][0])
        w["total"] = int(query(s, "SELECT count(*) FROM %s WHERE true%s" % (t, where))[0][0])
        out["webhooks" if t == "webhook_events" else t] = w
    maxes = [us_of(m[0].replace(" ", "T")) if pg else us_of(m[0]) for m in query(
        s, "SELECT max(created_at) FROM episodes WHERE true%s GROUP BY subject_id" % where)]
    out["active_subjects"] = {"7d": sum(m >= cut["7d"] for m in maxes),
                              "30d": sum(m >= cut["30d"] for m in maxes), "total": len(maxes)}
    return out


def scan_dashboard(s):
    """What GET /admin/dashboard's counts were by counting the tables."""
    one = lambda sql: int(query(s, sql)[0][0])  # noqa: E731
    key = "COALESCE(%s.tenant_id, '')"
    return {"counts": {"episodes": one("SELECT count(*) FROM episodes"),
                       "memories": one("SELECT count(*) FROM memories"),
                       "subjects": one("SELECT count(DISTINCT subject_id) FROM episodes")},
            "health_distribution": {
                st: one("SELECT count(*) FROM subject_health_cache WHERE last_state = '%s'" % st)
                for st in ("healthy", "watch", "at_risk")} | {
                "unknown": one("SELECT count(*) FROM (SELECT DISTINCT %s AS t, subject_id FROM "
                               "episodes e) p WHERE NOT EXISTS (SELECT 1 FROM "
                               "subject_health_cache c WHERE %s = p.t AND c.subject_id = "
                               "p.subject_id)" % (key % "e", key % "c"))}}


def api_usage(s, tenant):
    r = s.get("/admin/usage", query={"tenant_id": tenant} if tenant else None)
    assert r.status == 200, r
    return r.body


def check_usage(s, tenant, what):
    """The route equals the scan at the route's own cut-offs; retried when a background
    writer (a compile job, a webhook) changed the tables between the two reads."""
    for _ in range(5):
        body = api_usage(s, tenant)
        now, today = us_of(body["generated_at"]), us_of(body["period_start"])
        want = scan_usage(s, tenant, now, today)
        again = scan_usage(s, tenant, now, today)
        if want != again:
            continue
        got = {k: body[k] for k in want}
        assert got == want, "%s, tenant %r:\n got %r\nwant %r" % (what, tenant, got, want)
        return
    raise AssertionError("%s: the tables kept changing" % what)


def check_dashboard(s, what):
    for _ in range(5):
        want = scan_dashboard(s)
        r = s.get("/admin/dashboard")
        assert r.status == 200, r
        if scan_dashboard(s) != want:
            continue
        got = {"counts": r.body["counts"], "health_distribution": r.body["health_distribution"]}
        assert got == want, "%s:\n got %r\nwant %r" % (what, got, want)
        return
    raise AssertionError("%s: the tables kept changing" % what)


def check_all(s, tenants, what):
    for t in [None] + tenants:
        check_usage(s, t, what)
    check_dashboard(s, what)


def insert_rows(s, rng, subjects, tenants, now, today):
    """Rows of every table at times around each cut-off, written straight into the tables."""
    pg = pgctl.is_postgres(s.database_url)
    marks = [now, today, today - 1, today + 1, now - 7 * DAY, now - 30 * DAY]
    offsets = [-10**6, -1, 0, 1, 10**6, 5 * 10**6]
    # A day boundary right next to each windowed cut-off, too.
    for c in (now - 7 * DAY, now - 30 * DAY):
        midnight = c - c % DAY
        marks += [midnight, midnight + DAY, midnight - 1, midnight + DAY - 1]
    stmts = []
    for _ in range(40):
        at = stamp(rng.choice(marks) + rng.choice(offsets) + rng.randrange(0, 3), pg)
        if rng.random() < 0.2:
            at = stamp(now - rng.randrange(0, 45 * DAY), pg)
        sid, tenant = rng.choice(subjects), rng.choice(tenants + [None])
        tv = "'%s'" % tenant if tenant else "NULL"
        table = rng.choice(TABLES)
        rid = str(uuid.uuid4())
        if table == "episodes":
            stmts.append("INSERT INTO episodes (id, subject_id, tenant_id, source, type, payload,"
                         " created_at) VALUES ('%s', '%s', %s, 'chat', 'message', '{}', '%s')"
                         % (rid, sid, tv, at))
        elif table == "memories":
            srcs = "'{}'" if pg else "'[]'"
            stmts.append("INSERT INTO memories (id, subject_id, tenant_id, kind, content, summary,"
                         " confidence, valid_from, source_episode_ids, metadata, status,"
                         " created_at, updated_at) VALUES ('%s', '%s', %s, 'profile_fact', 'c',"
                         " '', 0.7, '%s', %s, '{}', 'active', '%s', '%s')"
                         % (rid, sid, tv, at, srcs, at, at))
        elif table == "compile_jobs":
            stmts.append("INSERT INTO compile_jobs (id, subject_id, tenant_id, status, created_at)"
                         " VALUES ('%s', '%s', %s, 'completed', '%s')" % (rid, sid, tv, at))
        else:
            stmts.append("INSERT INTO webhook_events (id, tenant_id, event, payload, status,"
                         " created_at) VALUES ('%s', %s, 'test.event', '{}', 'delivered', '%s')"
                         % (rid, tv, at))
    for st in stmts:
        pgctl.run_sql(s.database_url, st)


@test("36.1 usage and dashboard from rollups equal the table counts: random rows around "
      "every cut-off and day boundary, deletes, tenant moves, imports, snapshots, restores",
      env={"STATEWAVE_ENABLE_SNAPSHOTS": "true"})
def _(s):
    rng = random.Random(uid("seed"))
    t1, t2 = uid("u36"), uid("u36")
    subjects = [uid("r36") for _ in range(6)]
    try:
        body = api_usage(s, None)
        now, today = us_of(body["generated_at"]), us_of(body["period_start"])
        check_all(s, [t1, t2], "before")
        insert_rows(s, rng, subjects, [t1, t2], now, today)
        for sid in subjects[:3]:
            s.create(sid, tenant=t1)
            s.create(sid)
        check_all(s, [t1, t2], "after inserts")

        # Deletes: a whole subject through the API, single rows through SQL.
        r = s.delete("/admin/subjects/" + q(subjects[0]), query={"tenant_id": t1})
        assert r.status in (200, 404), r
        pgctl.run_sql(s.database_url, "DELETE FROM memories WHERE subject_id = '%s'" % subjects[1])
        pgctl.run_sql(s.database_url, "DELETE FROM compile_jobs WHERE subject_id = '%s'"
                      % subjects[2])
        check_all(s, [t1, t2], "after deletes")

        # An operator moves rows between tenants and fixes a created_at (the rollup follows such
        # updates; episode moves, which the active-subject counts read through subject_stats,
        # are 37's).
        pgctl.run_sql(s.database_url, "UPDATE memories SET tenant_id = '%s' WHERE subject_id = '%s'"
                      % (t2, subjects[3]))
        pgctl.run_sql(s.database_url, "UPDATE memories SET tenant_id = NULL WHERE subject_id = '%s'"
                      % subjects[4])
        pgctl.run_sql(s.database_url, "UPDATE compile_jobs SET tenant_id = '%s', created_at = "
                      "created_at - interval '1 day' WHERE subject_id = '%s'" % (t1, subjects[4])
                      if pgctl.is_postgres(s.database_url) else
                      "UPDATE compile_jobs SET tenant_id = '%s', created_at = strftime("
                      "'%%Y-%%m-%%dT%%H:%%M:%%S', created_at, '-1 day') || substr(created_at, 20)"
                      " WHERE subject_id = '%s'"
                      % (t1, subjects[4]))
        check_all(s, [t1, t2], "after tenant moves")

        # Import: an export of a subject imported under another id keeps created_at.
        r = s.get("/admin/export/" + q(subjects[5]), query={"tenant_id": t2})
        if r.status == 200:
            doc = json.loads(r.raw)
            r = s.post("/admin/import", {"document": doc, "target_subject_id": uid("imp36"),
                                         "preserve_ids": False}, tenant=t2)
            assert r.status == 200, r
        s.create(subjects[5], tenant=t1)
        r = s.get("/admin/export/" + q(subjects[5]), query={"tenant_id": t1})
        assert r.status == 200, r
        r = s.post("/admin/import", {"document": json.loads(r.raw), "target_subject_id":
                                     uid("imp36"), "preserve_ids": False}, tenant=t1)
        assert r.status == 200, r
        check_all(s, [t1, t2], "after imports")

        # A snapshot (a reserved subject) and its restore into a new subject.
        snap = s.post("/admin/snapshots", {"name": uid("n36"), "source_subject_id": subjects[2]})
        assert snap.status == 200, snap
        check_all(s, [t1, t2], "after a snapshot")
        r = s.post("/admin/snapshots/%s/restore" % snap.body["id"],
                   {"target_subject_id": uid("rest36")})
        assert r.status == 200, r
        check_all(s, [t1, t2], "after a restore")

        # The health distribution moves with the explorer's cached health.
        r = s.get("/admin/subjects", query={"tenant_id": t1})
        assert r.status == 200, r
        check_dashboard(s, "after health was cached")
    finally:
        # The webhook rows are the only ones no API call removes: other files list every
        # event of the shared database (86.8 expects none with a tenant).
        pgctl.run_sql(s.database_url, "DELETE FROM webhook_events WHERE event = 'test.event'"
                      " AND tenant_id IN ('%s', '%s')" % (t1, t2))


if __name__ == "__main__":
    main()
