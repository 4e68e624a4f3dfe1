"""37-admin-stats-updates: the explorer's counters (subject_stats) and the usage rollups follow
an operator's UPDATEs (issue 16; spec/api.md §7.4, §7.6).

GET /admin/tenant-audit and the README tell operators to give rows without a tenant one with
an UPDATE; an operator may also move rows between tenants, fix a created_at, a session or a
subject. Here random episodes (with and without sessions, at random times), memories and
resolutions (open and not) are written in two fresh tenants and none, then such UPDATEs run
(NULL tenant -> t1, moves t1 <-> t2 of part of a pair, created_at moved down and up, the
newest episode of a pair moved away, sessions changed, a row's id and tenant changed together,
rows moved to another subject and in and out of a reserved subject, a resolution's status and tenant in one statement, a swap of
tenants in one statement); after each, every subject_stats row must equal a count of the
tables (episodes, sessions, newest episode, memories, open resolutions; no row for a pair
with nothing, no row missing) and GET /admin/usage and /admin/dashboard must equal the counts
of the tables (36's checks). Runs on both backends."""

import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import main, test, uid  # noqa: E402
import pgctl  # noqa: E402

# 36's table scans of the usage and dashboard answers, without its tests.
usage36 = harness.helpers_of("36-admin-usage-rollup.py")

DAY = 86400 * 10**6
RESERVED = ("_snapshot/", "_bootstrap_tmp/")

# subject_stats against a count of the tables, pair by pair: (subject, tenant key) ->
# (episodes, memories, sessions, open resolutions, newest episode).
TRUTH = (
    "SELECT subject_id, tk, sum(e), sum(m), sum(sess), sum(o), max(last) FROM ("
    " SELECT subject_id, COALESCE(tenant_id, '') AS tk, count(*) AS e, 0 AS m,"
    " count(DISTINCT session_id) AS sess, 0 AS o, max(created_at) AS last FROM episodes"
    " GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, count(*), 0, 0, NULL"
    " FROM memories GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, 0, 0, count(*), NULL"
    " FROM resolutions WHERE status = 'open' GROUP BY 1, 2) x GROUP BY 1, 2")
STATS = ("SELECT subject_id, COALESCE(tenant_id, ''), episode_count, memory_count,"
         " session_count, open_sessions, last_episode_at FROM subject_stats")


def table(rows):
    out = {}
    for r in rows:
        if r[0].startswith(RESERVED):
            continue
        out[(r[0], r[1])] = (int(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6])
    return out


def check_stats(s, what):
    """Every subject_stats row equals the recount; retried while a background writer (a
    compile job) changes the tables between the reads."""
    for _ in range(5):
        want = table(pgctl.query(s.database_url, TRUTH))
        got = table(pgctl.query(s.database_url, STATS))
        if table(pgctl.query(s.database_url, TRUTH)) != want:
            continue
        if got != want:
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            raise AssertionError("%s: subject_stats differs from the tables on %d pairs:\n%s"
                                 % (what, len(diff), "\n".join(
                                     "%r: got %r want %r" % (k, got.get(k), want.get(k))
                                     for k in diff[:10])))
        return
    raise AssertionError("%s: the tables kept changing" % what)


def check(s, tenants, what):
    check_stats(s, what)
    usage36.check_all(s, tenants, what)


def shift(pg, days):
    """A SET expression moving created_at by days (negative: earlier)."""
    if pg:
        return "created_at + interval '%d days'" % days
    return ("strftime('%%Y-%%m-%%dT%%H:%%M:%%S', created_at, '%+d days')"
            " || substr(created_at, 20)" % days)


def insert_random(s, rng, subjects, tenants, now):
    """Episodes, memories and resolutions straight into the tables."""
    pg = pgctl.is_postgres(s.database_url)
    srcs = "'{}'" if pg else "'[]'"
    for _ in range(60):
        sid, tenant = rng.choice(subjects), rng.choice(tenants + [None])
        tv = "'%s'" % tenant if tenant else "NULL"
        at = usage36.stamp(now - rng.randrange(0, 45 * DAY), pg)
        rid = str(uuid.uuid4())
        kind = rng.random()
        if kind < 0.55:
            sess = rng.choice([None, "a", "b", "c"])
            sv = "'%s'" % sess if sess else "NULL"
            sql = ("INSERT INTO episodes (id, subject_id, tenant_id, session_id, source, type,"
                   " payload, created_at) VALUES ('%s', '%s', %s, %s, 'chat', 'message', '{}',"
                   " '%s')" % (rid, sid, tv, sv, at))
        elif kind < 0.8:
            sql = ("INSERT INTO memories (id, subject_id, tenant_id, kind, content, summary,"
                   " confidence, valid_from, source_episode_ids, metadata, status, created_at,"
                   " updated_at) VALUES ('%s', '%s', %s, 'profile_fact', 'c', '', 0.7, '%s', %s,"
                   " '{}', 'active', '%s', '%s')" % (rid, sid, tv, at, srcs, at, at))
        else:
            sql = ("INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status,"
                   " metadata_, created_at, updated_at) VALUES ('%s', '%s', '%s', %s, '%s',"
                   " '{}', '%s', '%s')" % (rid, sid, rng.choice("abc"), tv,
                                           rng.choice(["open", "open", "resolved"]), at, at))
        pgctl.run_sql(s.database_url, sql)


@test("37.1 subject_stats and the usage rollups follow an operator's UPDATEs of tenant_id, "
      "created_at, session_id and subject_id on episodes, memories and resolutions")
def _(s):
    url, pg = s.database_url, pgctl.is_postgres(s.database_url)
    rng = random.Random(uid("seed"))
    t1, t2 = uid("u37"), uid("u37")
    subjects = [uid("s37") for _ in range(5)]
    reserved = RESERVED[0] + uid("r37")
    body = usage36.api_usage(s, None)
    now = usage36.us_of(body["generated_at"])
    insert_random(s, rng, subjects, [t1, t2], now)
    for sid in subjects[:2]:
        s.create(sid)
        s.create(sid, tenant=t1, session_id="api")
    check(s, [t1, t2], "after inserts")
    run = lambda sql: pgctl.run_sql(url, sql)  # noqa: E731
    ids = lambda tab, sid: [r[0] for r in pgctl.query(  # noqa: E731
        url, "SELECT id FROM %s WHERE subject_id = '%s' ORDER BY id" % (tab, sid))]

    def every_other(sid, assignment):
        """Every other row of subject sid, in each table, gets assignment."""
        for tab in ("episodes", "memories", "resolutions"):
            part = ids(tab, sid)[::2]
            if part:
                run("UPDATE %s SET %s WHERE id IN (%s)"
                    % (tab, assignment, ", ".join("'%s'" % x for x in part)))

    # The tenant audit's fix: rows without a tenant get one (one subject first, then all).
    for tab in ("episodes", "memories", "resolutions"):
        run("UPDATE %s SET tenant_id = '%s' WHERE tenant_id IS NULL AND subject_id = '%s'"
            % (tab, t1, subjects[0]))
    check(s, [t1, t2], "after one subject's NULL tenants became t1")
    for tab in ("episodes", "memories", "resolutions"):
        run("UPDATE %s SET tenant_id = '%s' WHERE tenant_id IS NULL AND subject_id IN (%s)"
            % (tab, t1, ", ".join("'%s'" % x for x in subjects)))
    check(s, [t1, t2], "after every NULL tenant became t1")

    # Part of a pair moves to another tenant (every other row), and back to none.
    every_other(subjects[1], "tenant_id = '%s'" % t2)
    check(s, [t1, t2], "after part of a pair moved to t2")
    run("UPDATE episodes SET tenant_id = NULL WHERE subject_id = '%s' AND tenant_id = '%s'"
        % (subjects[2], t2))
    check(s, [t1, t2], "after t2's episodes of a subject lost their tenant")

    # Swap the two tenants in one statement.
    for tab in ("episodes", "memories", "resolutions"):
        run("UPDATE %s SET tenant_id = CASE WHEN tenant_id = '%s' THEN '%s' ELSE '%s' END"
            " WHERE tenant_id IN ('%s', '%s')" % (tab, t1, t2, t1, t1, t2))
    check(s, [t1, t2], "after swapping t1 and t2")
    # A row whose id changes with its tenant (matched by id on PostgreSQL: unmatched here).
    for tab in ("episodes", "memories"):
        one = ids(tab, subjects[2])[:1]
        if one:
            run("UPDATE %s SET id = '%s', tenant_id = '%s' WHERE id = '%s'"
                % (tab, uuid.uuid4(), t2, one[0]))
    check(s, [t1, t2], "after rows changed id and tenant together")

    # created_at: each pair's newest episode moves 40 days down, then some move up a day.
    for sid in subjects:
        newest = pgctl.query(url, "SELECT id FROM episodes WHERE subject_id = '%s'"
                                  " ORDER BY created_at DESC LIMIT 1" % sid)
        if newest:
            run("UPDATE episodes SET created_at = %s WHERE id = '%s'"
                % (shift(pg, -40), newest[0][0]))
    check(s, [t1, t2], "after each subject's newest episode moved 40 days back")
    run("UPDATE episodes SET created_at = %s WHERE subject_id IN ('%s', '%s')"
        % (shift(pg, 1), subjects[3], subjects[4]))
    check(s, [t1, t2], "after two subjects' episodes moved a day later")
    # created_at and tenant in one statement
    run("UPDATE episodes SET created_at = %s, tenant_id = '%s' WHERE subject_id = '%s'"
        % (shift(pg, -3), t2, subjects[3]))
    check(s, [t1, t2], "after a subject's episodes moved to t2 and 3 days back")

    # Sessions: a session renamed, episodes given one and losing one.
    run("UPDATE episodes SET session_id = 'b' WHERE session_id = 'a' AND subject_id IN (%s)"
        % ", ".join("'%s'" % x for x in subjects))
    run("UPDATE episodes SET session_id = 'n' WHERE session_id IS NULL AND subject_id = '%s'"
        % subjects[0])
    run("UPDATE episodes SET session_id = NULL WHERE session_id = 'c' AND subject_id = '%s'"
        % subjects[1])
    check(s, [t1, t2], "after session changes")

    # Rows move to another subject, into a reserved subject and out of it.
    for tab in ("episodes", "memories", "resolutions"):
        run("UPDATE %s SET subject_id = '%s' WHERE subject_id = '%s'"
            % (tab, subjects[4], subjects[3]))
    check(s, [t1, t2], "after a subject's rows moved to another subject")
    every_other(subjects[4], "subject_id = '%s'" % reserved)
    check(s, [t1, t2], "after rows moved into a reserved subject")
    for tab in ("episodes", "memories", "resolutions"):
        run("UPDATE %s SET subject_id = '%s' WHERE subject_id = '%s'"
            % (tab, subjects[3], reserved))
    check(s, [t1, t2], "after rows moved out of a reserved subject")

    # Resolutions: status and tenant in one statement, both ways.
    run("UPDATE resolutions SET status = CASE WHEN status = 'open' THEN 'resolved' ELSE 'open'"
        " END, tenant_id = CASE WHEN tenant_id IS NULL THEN '%s' ELSE NULL END"
        " WHERE subject_id IN (%s)" % (t1, ", ".join("'%s'" % x for x in subjects)))
    check(s, [t1, t2], "after resolutions changed status and tenant together")

    # Updates that move nothing leave everything as it was.
    run("UPDATE episodes SET tenant_id = tenant_id, created_at = created_at,"
        " last_compiled_at = created_at WHERE subject_id IN (%s)"
        % ", ".join("'%s'" % x for x in subjects))
    run("UPDATE memories SET tenant_id = tenant_id, content = 'd' WHERE subject_id = '%s'"
        % subjects[0])
    check(s, [t1, t2], "after updates that move nothing")

    # Everything of the test's subjects deleted: no row is left behind.
    for tab in ("episodes", "memories", "resolutions"):
        run("DELETE FROM %s WHERE subject_id IN (%s)"
            % (tab, ", ".join("'%s'" % x for x in subjects)))
    check(s, [t1, t2], "after deleting everything")
    left = pgctl.query(url, "SELECT count(*) FROM subject_stats WHERE subject_id IN (%s)"
                       % ", ".join("'%s'" % x for x in subjects))
    assert left == [("0",)], left


if __name__ == "__main__":
    main()
