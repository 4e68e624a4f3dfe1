"""62-pgbouncer: Engram through Debian's pgbouncer in pool_mode=transaction (issue 21 part 3).

Through a transaction pooler each transaction may run on another server connection, so
Engram must not rely on session state: no named statement prepared across transactions, no
SET outside a transaction, no session advisory lock (docs/SCALING.md). Here pgbouncer (pool
of 2 server connections) sits between 8 workers and the shared cluster; a database of this
file's own gets a non-UTC TimeZone default, so that only the startup packet's settings
(PGTZ, which pgbouncer passes on) keep timestamps right. scripts/run-tests.sh also runs a
part of the API suite through pgbouncer.

PostgreSQL only (on SQLite nothing registers)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, ServerError, check_error, episode, main, test, uid  # noqa: E402
import bouncer  # noqa: E402
import pgctl  # noqa: E402

_st = {}


def setup(s):
    """pgbouncer in front of a fresh database of the shared cluster (once per file)."""
    if "bouncer" not in _st:
        cluster = pgctl.Cluster.shared_or_own()
        name = pgctl.dbname("engram_pgb")
        url = cluster.createdb(name)
        r = pgctl.run([pgctl.pg_bin("psql"), url, "-v", "ON_ERROR_STOP=1", "-qc",
                       "ALTER DATABASE %s SET TimeZone = 'America/New_York'" % name], cwd="/")
        assert r.returncode == 0, r.stderr
        _st.update(cluster=cluster, db=name, direct=url,
                   bouncer=bouncer.Bouncer.start(cluster.port(), pool_size=2))
    return _st


def server(s, name, **env):
    st = setup(s)
    srv = Server(database_url=st["bouncer"].url(st["db"]), workdir=s.workdir,
                 name=s.name + "-" + name, env=dict({"STATEWAVE_WORKERS": "8"}, **env))
    srv.start()
    return srv


def log_has(srv, text):
    with open(srv.log_path, "rb") as f:
        return text in f.read().decode("utf-8", "replace")


def hammer(srv, sid, threads=8, each=25):
    """threads x each episodes at once, each with its own idempotency key; the answers."""
    out, lock = [], threading.Lock()

    def run(t):
        for i in range(each):
            r = srv.post("/v1/episodes", episode(sid, idempotency_key="%d-%d" % (t, i),
                                                 payload={"text": "I like tea %d %d" % (t, i)}))
            with lock:
                out.append(r)
    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


if pgctl.backend() == "postgres" and bouncer.available():

    @test("62.1 detected: 8 workers over 2 pooled server connections ingest 200 episodes "
          "at once, all 201, each stored once; the log names the pooler mode")
    def _(s):
        srv = server(s, "auto")
        try:
            sid = uid()
            answers = hammer(srv, sid)
            bad = [r for r in answers if r.status != 201]
            assert not bad, "%d non-201 answers, first %r" % (len(bad), bad[0])
            r = srv.get("/v1/subjects")
            assert r.status == 200, r
            r = srv.post("/v1/episodes", episode(sid, idempotency_key="0-0"))
            assert r.status in (200, 201), r
            ids = {a.body["id"] for a in answers}
            assert len(ids) == 200, len(ids)
            assert r.body["id"] in ids, "a repeated key must give the stored episode"
            assert log_has(srv, "transaction pooler mode (detected"), srv.log_tail()
            assert not log_has(srv, "prepared statement"), srv.log_tail()
            assert srv.stop() == 0
        finally:
            srv.kill()

    @test("62.2 STATEWAVE_DATABASE_POOLER=pgbouncer: compile (sync and a job), context, "
          "search, export and delete work; timestamps are UTC although the database "
          "defaults to America/New_York")
    def _(s):
        srv = server(s, "explicit", STATEWAVE_DATABASE_POOLER="pgbouncer")
        try:
            sid = uid()
            ep = srv.create(sid, payload={"text": "My name is Ada and I prefer tea."},
                            occurred_at="2026-03-01T09:30:00.250000+02:00")
            assert ep["occurred_at"] == "2026-03-01T07:30:00.250000Z", ep
            r = srv.get("/v1/timeline", query={"subject_id": sid})
            assert r.status == 200 and r.body["episodes"] == [ep], r
            r = srv.post("/v1/memories/compile", {"subject_id": sid})
            assert r.status == 200 and r.body["memories_created"] >= 1, r
            r = srv.post("/v1/memories/compile", {"subject_id": sid, "async": True,
                                                  "force": True})
            assert r.status == 202, r
            job = r.body["job_id"]
            deadline = time.monotonic() + 30
            while True:
                r = srv.get("/v1/memories/compile/" + job)
                assert r.status == 200, r
                if r.body["status"] in ("completed", "failed"):
                    break
                assert time.monotonic() < deadline, r
                time.sleep(0.05)
            assert r.body["status"] == "completed", r
            r = srv.post("/v1/context", {"subject_id": sid, "task": "what does Ada drink?"})
            assert r.status == 200 and "tea" in r.body["assembled_context"], r
            r = srv.get("/v1/memories/search", query={"subject_id": sid, "query": "tea"})
            assert r.status == 200 and r.body["memories"], r
            r = srv.get("/admin/export/" + sid)
            assert r.status == 200 and len(r.body["episodes"]) == 1, r
            r = srv.delete("/v1/subjects/" + sid)
            assert r.status == 200, r
            assert srv.episode_count(sid) == 0
            assert log_has(srv, "STATEWAVE_DATABASE_POOLER=pgbouncer")
            assert srv.stop() == 0
        finally:
            srv.kill()

    @test("62.3 the cleanup leader's lock is a transaction lock: two servers through "
          "pgbouncer, passes every second, live_ subjects removed, no lock error")
    def _(s):
        env = {"STATEWAVE_ENABLE_SNAPSHOTS": "true", "STATEWAVE_CLEANUP_INTERVAL_SECONDS": "1",
               "STATEWAVE_CLEANUP_MAX_AGE_HOURS": "0",
               "STATEWAVE_CLEANUP_PREFIX": "live_62_"}
        a = server(s, "lead-a", **env)
        b = server(s, "lead-b", **env)
        try:
            for _ in range(3):
                sid = "live_62_" + uid()
                a.create(sid)
                deadline = time.monotonic() + 15
                while a.episode_count(sid):
                    assert time.monotonic() < deadline, "not cleaned: %s" % sid
                    time.sleep(0.1)
            for srv in (a, b):
                assert not log_has(srv, "maintenance lock"), srv.log_tail()
                assert not log_has(srv, "cleanup pass failed"), srv.log_tail()
            assert log_has(a, "cleanup pass:") or log_has(b, "cleanup pass:")
            assert a.stop() == 0 and b.stop() == 0
        finally:
            a.kill()
            b.kill()

    @test("62.4 STATEWAVE_DATABASE_POOLER with an unknown value: the server refuses to start "
          "and names the setting")
    def _(s):
        st = setup(s)
        srv = Server(database_url=st["direct"], workdir=s.workdir, name=s.name + "-bad",
                     env={"STATEWAVE_DATABASE_POOLER": "odyssey"})
        try:
            srv.start()
        except ServerError as e:
            assert "STATEWAVE_DATABASE_POOLER" in str(e), e
        else:
            srv.kill()
            raise AssertionError("started with STATEWAVE_DATABASE_POOLER=odyssey")

    @test("62.5 direct connection (no pooler): statements are prepared as before, no pooler "
          "mode in the log")
    def _(s):
        st = setup(s)
        srv = Server(database_url=st["direct"], workdir=s.workdir, name=s.name + "-direct")
        srv.start()
        try:
            sid = uid()
            srv.create(sid)
            assert srv.episode_count(sid) == 1
            assert not log_has(srv, "transaction pooler mode"), srv.log_tail()
            assert srv.stop() == 0
        finally:
            srv.kill()

    @test("62.9 teardown: pgbouncer stopped, the database dropped")
    def _(s):
        st = _st
        if "bouncer" in st:
            st["bouncer"].close()
            st["cluster"].dropdb(st["db"])
            st["cluster"].close()


if __name__ == "__main__":
    main()
