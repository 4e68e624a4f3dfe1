"""65-reconnect: the server survives its PostgreSQL going away and coming back (README "After
a lost connection the next request reconnects; /readyz answers 503 while the database is
unreachable and 200 again once it is back"; spec/api.md §3.10 fix allowed: 503 with
database: fail; issue #14 defect 7: requests during the outage get 503
service_unavailable with Retry-After, never 500).

PostgreSQL only (on SQLite nothing registers). It never touches the shared cluster: it starts
its OWN throwaway cluster (pgctl.Cluster.start), a server on it, then stops and restarts that
PostgreSQL on the same data directory and port. The tests are phases of one scenario and run
in order; a phase whose predecessor failed fails too. The last phase always cleans up."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_error, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

WORKERS = 4          # worker threads (each with its own connection) of the server under test
DOWN_LIMIT_S = 5.0   # an answer while the database is down must come at least this fast
BACK_LIMIT_S = 5.0   # /readyz must be 200 again this soon after PostgreSQL is back

_st = {"phase": 0}


def phase(n):
    """Assert the previous phases ran; returns the shared state."""
    if _st["phase"] != n - 1:
        raise AssertionError("an earlier phase failed (reached phase %d); see above"
                             % _st["phase"])
    return _st


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def check_not_ready(r):
    assert r.status == 503, "readyz with the database down: want 503, got %r" % (r,)
    b = r.body
    assert isinstance(b, dict) and b.get("status") == "not_ready", r
    checks = {c.get("name"): c for c in b.get("checks", [])}
    assert [c.get("name") for c in b["checks"]] == ["database", "queue", "llm"], r
    db = checks["database"]
    assert db.get("status") == "fail", "database check %r, want status fail" % (db,)
    assert "detail" not in db or (isinstance(db["detail"], str) and db["detail"]), db


def concurrently(n, fn):
    """Run fn(i) for i in 0..n-1 on n threads at once; returns the results in order."""
    out = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        try:
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


if pgctl.backend() == "postgres":

    @test("65.1 own cluster and server up; one episode stored; every worker has a connection")
    def _(s):
        st = phase(1)
        st["cluster"] = pgctl.Cluster.start()
        srv = Server(database_url=st["cluster"].url, workdir=s.workdir, name=s.name + "-own",
                     env={"STATEWAVE_WORKERS": str(WORKERS)})
        st["srv"] = srv
        srv.start()
        st["pid"] = srv.proc.pid
        st["sid"] = uid()
        st["ep"] = srv.create(st["sid"], session_id="before", payload={"text": "before ✓"})
        st["timeline"] = srv.get("/v1/timeline", query={"subject_id": st["sid"]}).raw
        # Open a connection on every worker thread (many simultaneous requests), so that
        # stale connections exist when PostgreSQL goes away.
        for _ in range(3):
            got = concurrently(4 * WORKERS, lambda i: srv.get("/v1/subjects").status)
            assert got == [200] * (4 * WORKERS), got
        st["phase"] = 1

    @test("65.2 PostgreSQL stopped: /readyz 503 not_ready with database fail; /v1 answers "
          "503 service_unavailable with Retry-After promptly (never 500; the SDKs retry "
          "503); the server keeps running")
    def _(s):
        st = phase(2)
        srv = st["srv"]
        st["cluster"].pause()
        r, took = timed(srv.get, "/readyz")
        check_not_ready(r)
        assert took < DOWN_LIMIT_S, "readyz took %.1f s with the database down" % took
        problems = []
        sid = st["sid"]
        calls = [("GET timeline", lambda: srv.get("/v1/timeline", query={"subject_id": sid})),
                 ("POST episode", lambda: srv.post("/v1/episodes", episode(sid))),
                 ("POST batch", lambda: srv.post("/v1/episodes/batch",
                                                 {"episodes": [episode(sid)]})),
                 ("GET subjects", lambda: srv.get("/v1/subjects")),
                 ("DELETE subject", lambda: srv.delete("/v1/subjects/" + uid()))]
        for what, call in calls:
            r, took = timed(call)
            if took > DOWN_LIMIT_S:
                problems.append("%s took %.1f s" % (what, took))
            try:
                check_error(r, 503, "service_unavailable",
                            "The database is unavailable; retry shortly.")
                ra = r.headers.get("retry-after", "")
                assert ra.isdigit() and int(ra) >= 1, "Retry-After %r, want seconds >= 1" % ra
            except AssertionError as e:
                problems.append("%s: %s" % (what, e))
        r = srv.get("/readyz")
        if r.status != 503:
            problems.append("readyz later: %r" % (r,))
        assert srv.alive() and srv.proc.pid == st["pid"], "the server exited: %s" \
            % srv.log_tail(1500)
        assert srv.get("/healthz").status == 200, "liveness must not depend on the database"
        assert not problems, "; ".join(problems)
        st["phase"] = 2

    @test("65.3 PostgreSQL back on the same port: /readyz 200 within 5 s, the earlier episode "
          "is readable, new ingests work, same server process")
    def _(s):
        st = phase(3)
        srv = st["srv"]
        st["cluster"].resume()
        t0 = time.monotonic()
        seen = []
        while True:
            r = srv.get("/readyz")
            seen.append(r.status)
            if r.status == 200:
                break
            assert time.monotonic() - t0 < BACK_LIMIT_S, \
                "readyz not 200 within %.0f s of PostgreSQL being back: %r" % (BACK_LIMIT_S, r)
            time.sleep(0.1)
        assert r.body.get("status") == "ready", r
        st["ready_after"] = (time.monotonic() - t0, seen)
        # Reads and writes, with a retry per request: a worker whose connection went stale
        # may fail the request that discovers it (65.4 checks that more strictly).
        retries = 0

        def ok(call, want):
            nonlocal retries
            for _ in range(WORKERS + 1):
                r = call()
                if r.status == want:
                    return r
                retries += 1
            raise AssertionError("still %r after %d tries" % (r, WORKERS + 1))
        sid = st["sid"]
        r = ok(lambda: srv.get("/v1/timeline", query={"subject_id": sid}), 200)
        assert r.raw == st["timeline"], "timeline changed across the outage: %r" % (r,)
        new = ok(lambda: srv.post("/v1/episodes", episode(sid, payload={"text": "after"})),
                 201).body
        more = ok(lambda: srv.post("/v1/episodes/batch",
                                   {"episodes": [episode(sid, payload={"i": i})
                                                 for i in range(3)]}), 201).body["episodes"]
        tl = ok(lambda: srv.get("/v1/timeline", query={"subject_id": sid}), 200).body
        assert [e["id"] for e in tl["episodes"]] == \
            [st["ep"]["id"], new["id"]] + [e["id"] for e in more], tl
        assert srv.alive() and srv.proc.pid == st["pid"], "the server exited"
        st["retries"] = retries
        st["phase"] = 3

    @test("65.4 once PostgreSQL is back and /readyz is 200, no request fails: stale "
          "connections are replaced without a 500 (ingest, timeline, context, text and "
          "semantic search)")
    def _(s):
        st = phase(4)
        srv = st["srv"]
        # Warm up: every worker must hold a live connection again. A worker whose connection
        # died in the first outage and was not used since fails the first request it gets.
        late = []
        for _ in range(10):
            got = concurrently(4 * WORKERS, lambda i: srv.get("/v1/subjects"))
            fails = [r for r in got if isinstance(r, Exception) or r.status != 200]
            late += fails
            if not fails:
                break
        else:
            raise AssertionError("requests still fail long after the first outage: %r"
                                 % (late[-1],))
        # A second outage with NO traffic while PostgreSQL is away: every worker still holds
        # a connection the database closed.
        st["cluster"].pause()
        st["cluster"].resume()
        t0 = time.monotonic()
        while srv.get("/readyz").status != 200:
            assert time.monotonic() - t0 < BACK_LIMIT_S, "readyz not 200 again"
            time.sleep(0.1)
        sid = st["sid"]
        # Ingest, timeline, context (whose reads go out as one pipelined batch), and both
        # searches (each a read transaction; the scans stream their rows).
        calls = [lambda i: srv.post("/v1/episodes", episode(sid, payload={"after2": i})),
                 lambda i: srv.get("/v1/timeline", query={"subject_id": sid}),
                 lambda i: srv.post("/v1/context", {"subject_id": sid, "task": "after"}),
                 lambda i: srv.get("/v1/memories/search", query={"subject_id": sid,
                                                                 "q": "after"}),
                 lambda i: srv.get("/v1/memories/search", query={"subject_id": sid, "q": "x",
                                                                 "semantic": "true"})]
        res = concurrently(10 * WORKERS, lambda i: calls[i % len(calls)](i))
        bad = [r for r in res if isinstance(r, Exception) or r.status not in (200, 201)]
        assert srv.alive() and srv.proc.pid == st["pid"], "the server exited"
        st["phase"] = 4
        problems = []
        if late:
            problems.append("after the first outage, once /readyz was 200 and 65.3 had passed "
                            "(with %d retries), %d later requests still failed, e.g. %r"
                            % (st.get("retries", -1), len(late), late[0]))
        if bad:
            problems.append("after a second outage without traffic, %d of %d requests sent "
                            "once /readyz was 200 again failed, e.g. %r"
                            % (len(bad), len(res), bad[0]))
        assert not problems, "; ".join(problems) + " (server log: %s)" % srv.log_path


    @test("65.5 clean up: the server (never restarted) exits 0 on SIGTERM; the own cluster "
          "is removed")
    def _(s):
        srv, cluster = _st.get("srv"), _st.get("cluster")
        rc = 0
        try:
            if srv is not None:
                assert srv.starts == 1, "the server was started %d times" % srv.starts
                alive = srv.alive()
                rc = srv.stop()
                assert alive, "the server had died: %s" % srv.log_tail(1500)
        finally:
            if cluster is not None:
                cluster.close()
                assert not os.path.exists(cluster.dir), "cluster directory left behind"
        assert rc == 0, "exit code after SIGTERM %r; log:\n%s" % (rc, srv.log_tail(1500))
        assert _st["phase"] == 4, "the scenario stopped at phase %d" % _st["phase"]


if __name__ == "__main__":
    main()
