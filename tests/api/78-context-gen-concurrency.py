"""78-context-gen-concurrency: the context generation (schema step "context_gen") under
concurrent writers. Runs on both backends. On PostgreSQL the generation rows are written at
commit, pair by pair in key order, after the transaction's own notes: concurrent batches that
name the same subjects in other orders, compiles and label edits of those subjects must all
succeed (a lock taken in two orders would make PostgreSQL abort one as a deadlock: a 500),
and afterwards every subject's cached context must equal an uncached server's. 78.2
(PostgreSQL only) checks the cache against a read replica whose replay is paused: a context
served by the replica answers what the replica has, whatever the process cached from the
primary, and the reverse; 78.3 that a lost connection (a failover) invalidates every entry, so
a generation handed out again by a promoted standby is not taken for a cached one."""

import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ha"))

from harness import Server, episode, lsn_value, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

SEED = int(os.environ.get("ENGRAM_TEST_SEED", "0")) or random.randrange(1, 1 << 30)
THREADS = 8
ROUNDS = 12


@test("78.1 concurrent multi-subject batches in opposite orders, compiles and label edits: "
      "every request succeeds, then cached context equals uncached")
def _(s):
    subjects = [uid("g%d" % i) for i in range(5)]
    failures = []
    barrier = threading.Barrier(THREADS)

    def worker(k):
        rng = random.Random(SEED * 100 + k)
        for r in range(ROUNDS):
            barrier.wait()
            op = rng.random()
            if op < 0.6:
                order = subjects[:]
                rng.shuffle(order)
                items = [episode(sub, payload={"text": "My name is Ann %d. I work at Globex."
                                                       % r}) for sub in order for _ in (0, 1)]
                res = s.post("/v1/episodes/batch", {"episodes": items})
                want = 201
            elif op < 0.85:
                res = s.post("/v1/memories/compile", {"subject_id": rng.choice(subjects)})
                want = 200
            else:
                ctx = s.post("/v1/context", {"subject_id": rng.choice(subjects),
                                             "task": "name", "max_tokens": 128000})
                ids = ctx.body["provenance"]["fact_ids"] if ctx.status == 200 else []
                if not ids:
                    continue
                res = s.request("PATCH", "/v1/memories/%s/labels" % rng.choice(ids),
                                body={"sensitivity_labels": ["pii"] if r % 2 else []})
                want = 200
            if res.status != want:
                failures.append((k, r, res.status, res.raw[:300]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, "seed %d: %s" % (SEED, failures[:5])

    off = Server(env={"STATEWAVE_CONTEXT_CACHE_MB": "0"}, database_url=s.database_url,
                 workdir=s.workdir, name=s.name + "-nocache")
    off.start()
    try:
        for sub in subjects:
            body = {"subject_id": sub, "task": "where does Ann work", "max_tokens": 2000}
            a = s.post("/v1/context", body)
            b = off.post("/v1/context", body)
            assert a.status == b.status == 200, (a, b)
            assert a.raw == b.raw, "seed %d, %s:\n%s\n%s" % (SEED, sub, a.raw[:2000],
                                                            b.raw[:2000])
    finally:
        off.stop()


if pgctl.backend() == "postgres":
    import hactl  # noqa: E402

    @test("78.2 a replica with replay paused: context after its LSN is the replica's rows, "
          "past it the primary's, each cached under its own database's generation")
    def _(s):
        pair = hactl.Pair.start(sync=False)
        srv = Server(database_url=pair.primary.url, workdir=s.workdir, name=s.name + "-rep",
                     env={"STATEWAVE_DATABASE_REPLICA_URLS": pair.standby.url})
        try:
            srv.start()
            sid = uid("rep")
            r = srv.post("/v1/episodes", episode(sid, payload={"text": "first words"}))
            assert r.status == 201, r
            lsn1 = r.headers.get("x-engram-lsn")
            pair.wait_replayed(lsn1)
            time.sleep(0.6)   # the background check sees the replica caught up
            body = {"subject_id": sid, "task": "words"}
            old = srv.post("/v1/context", body, headers={"X-Engram-Read-After": lsn1})
            assert old.status == 200 and "first words" in old.body["assembled_context"], old
            pair.standby.sql("SELECT pg_wal_replay_pause()")
            at = pair.replayed()
            r = srv.post("/v1/episodes", episode(sid, payload={"text": "second words"}))
            assert r.status == 201, r
            lsn2 = r.headers.get("x-engram-lsn")
            assert lsn_value(lsn2) > lsn_value(at), (lsn2, at)
            for _ in range(2):   # each twice: the second of each is a cache hit
                new = srv.post("/v1/context", body, headers={"X-Engram-Read-After": lsn2})
                assert new.status == 200, new
                assert "second words" in new.body["assembled_context"], new   # the primary
                rep = srv.post("/v1/context", body, headers={"X-Engram-Read-After": at})
                assert rep.status == 200, rep
                assert rep.raw == old.raw, "served by the replica: its rows, not the " \
                    "primary's cached ones:\n%s" % rep.raw[:1500]
            pair.standby.sql("SELECT pg_wal_replay_resume()")
            pair.wait_replayed(lsn2)
            time.sleep(0.6)
            rep = srv.post("/v1/context", body, headers={"X-Engram-Read-After": lsn2})
            assert rep.raw == new.raw, rep
        finally:
            srv.stop()
            pair.close()


    @test("78.3 a connection lost (as in a failover) invalidates the cache: a generation the "
          "database hands out again afterwards is not taken for the cached one")
    def _(s):
        sid = uid("ep")
        s.create(sid, payload={"text": "My name is Alpha."})
        assert s.post("/v1/memories/compile", {"subject_id": sid}).status == 200
        body = {"subject_id": sid, "task": "name"}
        first = s.post("/v1/context", body)
        assert first.status == 200 and "Alpha" in first.body["assembled_context"], first
        url = s.database_url
        keep = "ctxgen_%s" % uid("k").replace("-", "_")
        # What an asynchronous primary's lost commit followed by a promotion can do: the rows
        # change and the generation reads as before.
        pgctl.run_sql(url, "CREATE TABLE %s AS SELECT gen FROM context_gen WHERE subject_id"
                           " = '%s' AND tenant_key = ''" % (keep, sid))
        pgctl.run_sql(url, "UPDATE memories SET content = replace(content, 'Alpha', 'Omega')"
                           " WHERE subject_id = '%s'" % sid)
        pgctl.run_sql(url, "UPDATE context_gen SET gen = (SELECT gen FROM %s) WHERE"
                           " subject_id = '%s' AND tenant_key = ''" % (keep, sid))
        stale = s.post("/v1/context", body)
        assert stale.raw == first.raw, "the set-up did not reproduce a re-issued generation"
        # The failover: every connection of the server is lost.
        pgctl.run_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                           " datname = current_database() AND pid <> pg_backend_pid()")
        pgctl.run_sql(url, "DROP TABLE %s" % keep)
        for _ in range(20):   # every worker's connection notices on its next request
            r = s.post("/v1/context", body)
            if r.status == 200:
                assert "Omega" in r.body["assembled_context"], r
                assert "Alpha" not in r.body["assembled_context"], r
            else:
                assert r.status == 503, r


if __name__ == "__main__":
    main()
