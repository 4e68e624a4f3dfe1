"""15-ingest-counters: the counters of single-episode ingest stay exact under concurrency and
rollbacks (issue 22).

On PostgreSQL the ingest path writes subject_stats, usage_daily and context_gen itself
(schema step 21, episodes_counted: its episodes' INSERT triggers step aside, one engram_episodes_counted call
per transaction); on SQLite the triggers keep them. Here 24 client threads send single
episodes at once over six subjects in two fresh tenants and none, with and without sessions
(new ones and ones other requests also write), idempotent replays, through each write path of
the ingest: alone (group commit off: one statement per episode on PostgreSQL), in shared
transactions (group commit on), with a webhook event in the transaction (a webhook URL set),
and batches. A trigger the test installs refuses every episode whose source is 'boom' (about
one in six), so groups are rolled back and replayed, single transactions and whole batches
are rolled back. One subject only ever gets refused episodes. After each run: every
subject_stats row equals a count of the tables (episodes, sessions, newest episode; no row
missing, none extra), GET /admin/usage and /admin/dashboard equal the counts of the tables
(36's checks), every pair with an episode has a context_gen row, every pair that got an
episode in the run has a new generation, and the subject that got only refused episodes has
no context_gen row and no subject_stats row. Runs on both backends."""

import importlib.util
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402


def _load(name, path):
    before = len(harness._registry)
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(os.path.dirname(os.path.abspath(__file__)), path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    del harness._registry[before:]
    return mod


stats37 = _load("stats37", "37-admin-stats-updates.py")   # check(): subject_stats + usage
group13 = _load("group13", "13-ingest-group.py")           # run_sql, BOOM_ON / BOOM_OFF

GEN = "SELECT subject_id, tenant_key, gen FROM context_gen"
PAIRS = "SELECT DISTINCT subject_id, COALESCE(tenant_id, '') FROM episodes"


def check_stats(s, what):
    """Every subject_stats row equals a count of the tables (37's queries), pair by pair."""
    want = stats37.table(pgctl.query(s.database_url, stats37.TRUTH))
    got = stats37.table(pgctl.query(s.database_url, stats37.STATS))
    diff = sorted((k for k in set(got) | set(want) if got.get(k) != want.get(k)), key=repr)
    assert not diff, "%s: subject_stats differs from the tables on %d pairs:\n%s" % (
        what, len(diff), "\n".join("%r: got %r want %r" % (k, got.get(k), want.get(k))
                                   for k in diff[:10]))


def gens(s):
    return {(r[0], r[1] or ""): int(r[2]) for r in pgctl.query(s.database_url, GEN)}


def run_clients(s, jobs, threads):
    """Run every job (a callable taking the session-less server handle) from `threads`
    threads at once; returns their results in order."""
    out = [None] * len(jobs)
    nxt = [0]
    lock = threading.Lock()
    start = threading.Barrier(threads)
    errors = []

    def work():
        start.wait()
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(jobs):
                return
            try:
                out[i] = jobs[i]()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(180)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    assert not errors, errors[0]
    return out


def hammer(s, seed, batches):
    """One run: concurrent single episodes (and batches when `batches`); returns the set of
    pairs that got a stored episode, the boom-only subject and the tenants used."""
    rng = random.Random(seed)
    tenants = [uid("t15a"), uid("t15b")]
    subjects = [uid("c15") for _ in range(6)]
    lost = uid("c15lost")   # only refused episodes
    jobs, stored = [], set()

    def single(body, tenant):
        def go():
            r = s.post("/v1/episodes", body, tenant=tenant)
            if body["source"] == "boom":
                assert r.status == 500, (r.status, r.body)
            else:
                assert r.status == 201, (r.status, r.body)
            return r
        return go

    def batch(items, tenant):
        def go():
            r = s.post("/v1/episodes/batch", {"episodes": items}, tenant=tenant)
            if any(i["source"] == "boom" for i in items):
                assert r.status == 500, (r.status, r.body)
            else:
                assert r.status in (200, 201), (r.status, r.body)
            return r
        return go

    for i in range(300):
        tenant = rng.choice(tenants + [None])
        if i % 25 == 7:
            jobs.append(single(episode(lost, source="boom", payload={"i": i}), tenant))
            continue
        sub = rng.choice(subjects)
        boom = rng.random() < 0.17
        over = {"source": "boom" if boom else "chat", "payload": {"i": i}}
        sess = rng.choice([None, None, "s1", "s2", "s-%d" % i])
        if sess:
            over["session_id"] = sess
        if rng.random() < 0.15:
            over["idempotency_key"] = "k%d" % rng.randrange(6)
        if batches and i % 10 == 3:
            extra = {"session_id": sess} if sess else {}
            items = [episode(sub, source=over["source"], payload={"i": i, "j": j}, **extra)
                     for j in range(rng.randrange(2, 6))]
            jobs.append(batch(items, tenant))
            if not boom:
                stored.add((sub, tenant or ""))
            continue
        jobs.append(single(episode(sub, **over), tenant))
        if not boom:
            stored.add((sub, tenant or ""))
    return jobs, stored, lost, tenants


def run_and_check(s, seed, batches, what):
    kind = "postgres" if pgctl.is_postgres(s.database_url) else "sqlite"
    seq0 = pgctl.query(s.database_url, "SELECT COALESCE(max(seq), 0) FROM webhook_events")[0][0]
    try:
        check_run(s, seed, batches, what, kind)
    finally:
        # The events this run recorded go to a closed port: left pending, the database shared
        # by the later files would hand them to those files' receivers first (86.15 waited
        # 20 s behind them).
        pgctl.run_sql(s.database_url, "DELETE FROM webhook_events WHERE seq > %s" % seq0)


def check_run(s, seed, batches, what, kind):
    before = gens(s)
    jobs, stored, lost, tenants = hammer(s, seed, batches)
    group13.run_sql(s, group13.BOOM_ON[kind])
    try:
        run_clients(s, jobs, 24)
    finally:
        group13.run_sql(s, group13.BOOM_OFF[kind])
    check_stats(s, what)
    stats37.usage36.check_all(s, tenants, what)
    after = gens(s)
    pairs = {(r[0], r[1] or "") for r in pgctl.query(s.database_url, PAIRS)}
    missing = sorted(p for p in pairs if p not in after)
    assert not missing, "%s: pairs with episodes but no context_gen row: %r" % (what, missing[:5])
    stale = sorted(p for p in stored if after.get(p) == before.get(p))
    assert not stale, "%s: written pairs whose generation did not change: %r" % (what, stale)
    assert not any(k[0] == lost for k in after), "%s: a refused episode bumped context_gen" % what
    rows = pgctl.query(s.database_url, "SELECT count(*) FROM subject_stats WHERE subject_id = '%s'"
                       % lost)
    assert rows[0][0] == "0", "%s: a refused episode left a subject_stats row" % what
    if kind == "postgres":
        for t in ("subject_stats_pending", "usage_pending", "context_gen_pending"):
            left = pgctl.query(s.database_url, "SELECT count(*) FROM %s" % t)[0][0]
            assert left == "0", "%s: %s rows left in %s" % (what, left, t)


@test("15.1 alone (group commit off): concurrent single ingests with refused episodes, "
      "sessions and replays keep subject_stats, usage and context_gen exact",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "off"})
def _(s):
    run_and_check(s, 151, False, "15.1")


@test("15.2 shared transactions (group commit on): a refused episode rolls its group back "
      "and the replays count each stored episode once",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "on"})
def _(s):
    run_and_check(s, 152, False, "15.2")


@test("15.3 with a webhook event in each transaction, and batches (a refused episode rolls "
      "its whole batch back) beside the single ingests",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "off", "STATEWAVE_WEBHOOK_URL": "http://127.0.0.1:9/"})
def _(s):
    run_and_check(s, 153, True, "15.3")


@test("15.4 group commit on with webhooks and batches",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "on", "STATEWAVE_WEBHOOK_URL": "http://127.0.0.1:9/"})
def _(s):
    run_and_check(s, 154, True, "15.4")


if __name__ == "__main__":
    main()
