"""13-ingest-group: single-episode group commit (issue 22). Concurrent POST /v1/episodes are
written by the ingest writer in shared transactions (STATEWAVE_INGEST_GROUP_COMMIT=on here, so
that PostgreSQL queues them too whatever its fsync setting). Each request must still stand or
fall alone: idempotent replays inside one group, and a group in which one episode fails (a
trigger the test installs refuses it) is rolled back and replayed one episode per transaction.
The counters of /metrics (engram_ingest_*) show that groups, and replays, happened."""

import os
import re
import sqlite3
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_error, engram_bin, episode, main, test, uid  # noqa: E402

ENV = {"STATEWAVE_INGEST_GROUP_COMMIT": "on", "STATEWAVE_LOG_LEVEL": "warning"}


def counters(s):
    r = s.get("/metrics")
    assert r.status == 200, r
    text = r.raw.decode() if isinstance(r.raw, bytes) else r.raw
    out = {}
    for name in ("groups", "group_episodes", "group_replays"):
        m = re.search(r"^engram_ingest_%s_total (\d+)$" % name, text, re.M)
        assert m, "no engram_ingest_%s_total in /metrics" % name
        out[name] = int(m.group(1))
    return out


def hammer(s, bodies, threads):
    """POST every body of bodies (a list) from `threads` threads at once; returns the
    responses in the order of bodies."""
    out = [None] * len(bodies)
    nxt = [0]
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run():
        start.wait()
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(bodies):
                return
            out[i] = s.post("/v1/episodes", bodies[i])

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    return out


@test("13.1 concurrent keyed and unkeyed single ingests share groups; each key is stored "
      "once and every reply for it names that episode", env=ENV)
def _(s):
    sub = uid("grp")
    before = counters(s)
    bodies = []
    for i in range(240):
        if i % 3 == 0:
            bodies.append(episode(sub, payload={"n": i}))
        else:   # 20 keys, each sent 8 times, the copies spread over the whole run
            bodies.append(episode(sub, payload={"k": i % 20}, idempotency_key="key-%d" % (i % 20)))
    resps = hammer(s, bodies, 32)
    by_key = {}
    unkeyed = set()
    for b, r in zip(bodies, resps):
        assert r.status == 201, (r.status, r.body)
        if "idempotency_key" in b:
            by_key.setdefault(b["idempotency_key"], set()).add(r.body["id"])
            assert r.body["payload"] == {"k": int(b["idempotency_key"][4:])}, r.body
        else:
            assert r.body["payload"] == b["payload"], r.body
            unkeyed.add(r.body["id"])
    assert all(len(ids) == 1 for ids in by_key.values()), by_key
    assert len(unkeyed) == 80
    r = s.get("/v1/timeline", query={"subject_id": sub, "limit": 500})
    assert r.status == 200, r
    stored = [e["id"] for e in r.body["episodes"]]
    assert len(stored) == len(set(stored)) == 100, len(stored)
    assert set(stored) == unkeyed | {next(iter(ids)) for ids in by_key.values()}
    after = counters(s)
    assert after["group_episodes"] - before["group_episodes"] == 240, (before, after)
    # fewer groups than episodes: some requests shared a commit
    assert after["groups"] - before["groups"] < 240, (before, after)


def run_sql(s, sql):
    """Run sql on the server's database, behind its back (a test-only trigger)."""
    url = s.database_url
    if url.startswith("sqlite:"):
        path = re.sub(r"^sqlite:/*", "/", url)
        db = sqlite3.connect(path, timeout=30)
        db.executescript(sql)
        db.close()
        return
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   capture_output=True, timeout=60)


BOOM_ON = {
    "sqlite": "CREATE TRIGGER t13_boom BEFORE INSERT ON episodes WHEN NEW.source = 'boom' "
              "BEGIN SELECT RAISE(ABORT, 'boom'); END;",
    "postgres": "CREATE FUNCTION t13_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.source = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;"
                " CREATE TRIGGER t13_boom BEFORE INSERT ON episodes FOR EACH ROW EXECUTE "
                "FUNCTION t13_boom();",
}
BOOM_OFF = {
    "sqlite": "DROP TRIGGER t13_boom;",
    "postgres": "DROP TRIGGER t13_boom ON episodes; DROP FUNCTION t13_boom();",
}


@test("13.2 an episode that fails inside a group fails alone: the group is replayed one "
      "episode per transaction, the others are stored, the failed ones are not", env=ENV)
def _(s):
    kind = "sqlite" if s.database_url.startswith("sqlite:") else "postgres"
    subs = []
    run_sql(s, BOOM_ON[kind])
    try:
        for rnd in range(20):   # until a failing episode has shared a group (at once, mostly)
            before = counters(s)
            subs.append(uid("boom"))
            bodies = [episode(subs[-1], source="boom" if i % 7 == 3 else "chat",
                              payload={"i": i}) for i in range(96)]
            resps = hammer(s, bodies, 32)
            for b, r in zip(bodies, resps):
                if b["source"] == "boom":
                    check_error(r, 500, "internal_error")
                else:
                    assert r.status == 201, (r.status, r.body)
            after = counters(s)
            if after["group_replays"] > before["group_replays"]:
                break
        else:
            raise AssertionError("no group with a failing episode in 20 rounds")
    finally:
        run_sql(s, BOOM_OFF[kind])
    for sub in subs:
        r = s.get("/v1/timeline", query={"subject_id": sub, "limit": 500})
        assert r.status == 200, r
        got = r.body["episodes"]
        assert all(e["source"] == "chat" for e in got), "a refused episode was stored"
        have = [e["payload"]["i"] for e in got]
        want = {i for i in range(96) if i % 7 != 3}
        assert len(have) == len(set(have)) and set(have) == want, (len(have), len(want))
    # after the trigger is gone, the same subject takes episodes again (nothing is stuck)
    assert s.post("/v1/episodes", episode(subs[-1], source="boom")).status == 201


@test("13.3 without the queue (STATEWAVE_INGEST_GROUP_COMMIT=off) single ingests are "
      "answered the same way and counted in no group",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "off"})
def _(s):
    sub = uid("nogrp")
    before = counters(s)
    resps = hammer(s, [episode(sub, payload={"i": i}, idempotency_key="k%d" % (i % 5))
                       for i in range(40)], 8)
    assert all(r.status == 201 for r in resps)
    assert len({r.body["id"] for r in resps}) == 5
    assert counters(s) == before


@test("13.4 a bad STATEWAVE_INGEST_GROUP_COMMIT stops the server at start-up with its name")
def _(s):
    p = subprocess.run([engram_bin(), "serve"],
        env=dict(os.environ, STATEWAVE_DATABASE_URL=s.database_url,
                 STATEWAVE_INGEST_GROUP_COMMIT="sometimes", STATEWAVE_PORT="1"),
        capture_output=True, text=True, timeout=60, cwd=s.workdir)
    assert p.returncode != 0
    assert "STATEWAVE_INGEST_GROUP_COMMIT" in p.stdout + p.stderr, p.stdout + p.stderr


if __name__ == "__main__":
    main()
