"""24-admin-subject-days: the subject counts of GET /admin/usage and /admin/dashboard come
from subject_days (issue 16; spec/api.md §7.6; SQLite and PostgreSQL schema step
subject_days): distinct subjects and (tenant, subject) pairs per UTC day of their newest
episode, kept by triggers on subject_stats. Here subjects with episodes in several tenants and
none, on days around every cut-off and midnight, go through what moves a subject's newest
day: a newer episode in another tenant, the newest episode of a pair deleted, episodes moved
to another tenant or back in time across midnight (an operator's UPDATE), a pair emptied,
whole subjects deleted through the API, an import, a snapshot and its restore; and writers in
eight tenants ingest the same new subjects at once (on PostgreSQL each transaction applies its
subjects at commit: two writers of one subject must not both count it). After each step the
table equals a recount of subject_stats, nothing is left pending, and both routes equal 36's
counts of the tables. Runs on both backends."""

import json
import os
import random
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

# 36's table scans of the usage and dashboard answers, without its tests.
usage36 = harness.helpers_of("36-admin-usage-rollup.py")

DAY = usage36.DAY


def recount_sql(pg):
    day = "(last_episode_at AT TIME ZONE 'UTC')::date" if pg else "substr(last_episode_at, 1, 10)"
    return ("SELECT kind, tk, day, sum(n) FROM ("
            " SELECT 2 AS kind, COALESCE(tenant_id, '') AS tk, %s AS day, count(*) AS n"
            " FROM subject_stats WHERE episode_count > 0 GROUP BY 1, 2, 3"
            " UNION ALL SELECT 1, '', d, count(*) FROM (SELECT max(%s) AS d FROM subject_stats"
            " WHERE episode_count > 0 GROUP BY subject_id) a GROUP BY 1, 2, 3"
            " UNION ALL SELECT kind, tenant_key, day, -n FROM subject_days) w"
            " GROUP BY 1, 2, 3 HAVING sum(n) <> 0" % (day, day))


def check_days(s, what):
    """subject_days equals a recount of subject_stats (retried while a background writer
    changes the tables), nothing is pending, and the routes equal the table counts."""
    pg = pgctl.is_postgres(s.database_url)
    for _ in range(5):
        wrong = pgctl.query(s.database_url, recount_sql(pg))
        if not wrong:
            break
    assert not wrong, "%s: subject_days differs from subject_stats: %r" % (what, wrong[:10])
    if pg:
        left = pgctl.query(s.database_url, "SELECT count(*) FROM subject_days_pending")
        assert left[0][0] == "0", "%s: %s notes left pending" % (what, left[0][0])


def check_all(s, tenants, what):
    check_days(s, what)
    usage36.check_all(s, tenants, what)


def ep_sql(sid, tenant, at):
    tv = "'%s'" % tenant if tenant else "NULL"
    return ("INSERT INTO episodes (id, subject_id, tenant_id, source, type, payload, created_at)"
            " VALUES ('%s', '%s', %s, 'chat', 'message', '{}', '%s')"
            % (uuid.uuid4(), sid, tv, at))


@test("24.1 subject counts by day of newest episode follow every write: tenants, midnights, "
      "cut-offs, deletes, moves, imports, snapshots, restores",
      env={"STATEWAVE_ENABLE_SNAPSHOTS": "true"})
def _(s):
    rng = random.Random(uid("seed"))
    pg = pgctl.is_postgres(s.database_url)
    t1, t2 = uid("u24"), uid("u24")
    subjects = [uid("d24") for _ in range(8)]
    body = usage36.api_usage(s, None)
    now, today = usage36.us_of(body["generated_at"]), usage36.us_of(body["period_start"])
    check_all(s, [t1, t2], "before")

    # Episodes at times around each cut-off and midnight, each subject in one to three tenants.
    marks = [now, today, today - 1, now - 7 * DAY, now - 30 * DAY, now - 40 * DAY]
    for c in (now - 7 * DAY, now - 30 * DAY):
        midnight = c - c % DAY
        marks += [midnight, midnight - 1, midnight + DAY, midnight + DAY - 1]
    for sid in subjects:
        for tenant in rng.sample([None, t1, t2], rng.randint(1, 3)):
            for _ in range(rng.randint(1, 3)):
                at = rng.choice(marks) + rng.choice([-10**6, -1, 0, 1, 10**6])
                pgctl.run_sql(s.database_url, ep_sql(sid, tenant, usage36.stamp(at, pg)))
    check_all(s, [t1, t2], "after inserts")

    # A newer episode in another tenant moves the subject to today; the same day again.
    s.create(subjects[0], tenant=t2)
    s.create(subjects[0], tenant=t2)
    s.create(subjects[1])
    check_all(s, [t1, t2], "after newer episodes")

    # The newest episode of each pair of a subject deleted: back to an older day.
    pgctl.run_sql(s.database_url,
                  "DELETE FROM episodes WHERE id IN (SELECT id FROM episodes e WHERE"
                  " e.subject_id = '%s' AND e.created_at = (SELECT max(created_at) FROM"
                  " episodes x WHERE x.subject_id = e.subject_id AND COALESCE(x.tenant_id, '')"
                  " = COALESCE(e.tenant_id, '')))" % subjects[0])
    check_all(s, [t1, t2], "after deleting newest episodes")

    # An operator's moves: a subject's episodes to another tenant, back in time across midnight.
    pgctl.run_sql(s.database_url, "UPDATE episodes SET tenant_id = '%s' WHERE subject_id = '%s'"
                  % (t1, subjects[2]))
    back = ("created_at - interval '1 day'" if pg else
            "strftime('%Y-%m-%dT%H:%M:%S', created_at, '-1 day') || substr(created_at, 20)")
    pgctl.run_sql(s.database_url, "UPDATE episodes SET created_at = %s WHERE subject_id = '%s'"
                  % (back, subjects[3]))
    pgctl.run_sql(s.database_url, "UPDATE episodes SET tenant_id = NULL WHERE subject_id = '%s'"
                  " AND tenant_id = '%s'" % (subjects[4], t2))
    check_all(s, [t1, t2], "after moves")

    # A pair emptied (its memories keep the row), a whole subject deleted through the API.
    pgctl.run_sql(s.database_url, "INSERT INTO memories (id, subject_id, tenant_id, kind,"
                  " content, summary, confidence, valid_from, source_episode_ids, metadata,"
                  " status, created_at, updated_at) VALUES ('%s', '%s', NULL, 'profile_fact',"
                  " 'c', '', 0.7, '%s', %s, '{}', 'active', '%s', '%s')"
                  % (uuid.uuid4(), subjects[5], usage36.stamp(now, pg),
                     "'{}'" if pg else "'[]'", usage36.stamp(now, pg), usage36.stamp(now, pg)))
    pgctl.run_sql(s.database_url, "DELETE FROM episodes WHERE subject_id = '%s'"
                  " AND tenant_id IS NULL" % subjects[5])
    r = s.delete("/admin/subjects/" + q(subjects[6]))
    assert r.status in (200, 404), r
    for t in (t1, t2):
        r = s.delete("/admin/subjects/" + q(subjects[6]), query={"tenant_id": t})
        assert r.status in (200, 404), r
    check_all(s, [t1, t2], "after deletes")

    # An import keeps created_at; a snapshot (reserved) and its restore.
    s.create(subjects[7], tenant=t1)
    r = s.get("/admin/export/" + q(subjects[7]), query={"tenant_id": t1})
    assert r.status == 200, r
    r = s.post("/admin/import", {"document": json.loads(r.raw), "target_subject_id":
                                 uid("imp24"), "preserve_ids": False}, tenant=t1)
    assert r.status == 200, r
    check_all(s, [t1, t2], "after an import")
    snap = s.post("/admin/snapshots", {"name": uid("n24"), "source_subject_id": subjects[1]})
    assert snap.status == 200, snap
    r = s.post("/admin/snapshots/%s/restore" % snap.body["id"],
               {"target_subject_id": uid("rest24")})
    assert r.status == 200, r
    check_all(s, [t1, t2], "after a snapshot and a restore")


@test("24.2 writers in eight tenants ingesting the same new subjects at once count each "
      "subject once")
def _(s):
    tenants = [uid("c24") for _ in range(8)]
    subjects = [uid("w24") for _ in range(40)]
    errors = []

    def writer(tenant, order):
        try:
            for i in range(0, len(order), 10):
                s.batch([harness.episode(sid) for sid in order[i:i + 10]], tenant=tenant)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    rng = random.Random(uid("seed"))
    threads = []
    for t in tenants:
        order = list(subjects)
        rng.shuffle(order)
        threads.append(threading.Thread(target=writer, args=(t, order)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    check_all(s, tenants[:2], "after concurrent writers")
    r = s.get("/admin/usage", query={"tenant_id": tenants[0]})
    assert r.status == 200 and r.body["active_subjects"]["total"] == len(subjects), r


if __name__ == "__main__":
    main()
