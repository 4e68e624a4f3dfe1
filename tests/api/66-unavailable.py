"""66-unavailable: a database that answers reads but refuses writes (issue #14 defect 6).

/readyz must not say ready when writes are impossible: its database check includes a write
probe (a one-row upsert in the heartbeat table, at most once a second), and a write refused by
the database answers 503 with a code that says why and Retry-After (never 500). Here the
database turns read-only while the server runs, for real:
- SQLite: the database file made immutable (chattr +i; chmod when not root), server restarted
  so its connections reopen, then made writable again without a restart;
- PostgreSQL: default_transaction_read_only switched on and off with ALTER SYSTEM and a
  configuration reload, on a throwaway cluster of this test's own (pgctl.Cluster.start).
Disk full (SQLITE_FULL, SQLSTATE 53100) is covered by the fault-injection store suite
(tests/unit/test_store_faults.c), which the HTTP layer maps with the same code path."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_error, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

SWITCH_LIMIT_S = 5.0   # readiness follows the database's state this soon (probe: once a second)
RO_MESSAGE = "The database is read-only; writes are refused."


def wait_ready(srv, want_status):
    t0 = time.monotonic()
    while True:
        r = srv.get("/readyz")
        if r.status == want_status:
            return r
        assert time.monotonic() - t0 < SWITCH_LIMIT_S, \
            "readyz not %d within %.0f s: %r" % (want_status, SWITCH_LIMIT_S, r)
        time.sleep(0.1)


def check_readonly_answers(srv, sid):
    """readyz 503 with the reason; writes 503 database_readonly + Retry-After; reads 200."""
    r = wait_ready(srv, 503)
    assert r.body.get("status") == "not_ready", r
    db = {c.get("name"): c for c in r.body["checks"]}["database"]
    assert db.get("status") == "fail", db
    assert db.get("detail") == "database_readonly: " + RO_MESSAGE, db
    writes = [("POST episode", lambda: srv.post("/v1/episodes", episode(sid))),
              ("POST batch", lambda: srv.post("/v1/episodes/batch",
                                              {"episodes": [episode(sid), episode(sid)]})),
              ("DELETE subject", lambda: srv.delete("/v1/subjects/" + sid))]
    for what, call in writes:
        r = call()
        try:
            check_error(r, 503, "database_readonly", RO_MESSAGE)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e))
        ra = r.headers.get("retry-after", "")
        assert ra.isdigit() and int(ra) >= 1, "%s: Retry-After %r" % (what, ra)
    r = srv.get("/v1/timeline", query={"subject_id": sid})
    assert r.status == 200 and len(r.body["episodes"]) == 1, \
        "reads must go on while writes are refused: %r" % (r,)


def check_writable_again(srv, sid):
    r = wait_ready(srv, 200)
    assert r.body.get("status") == "ready", r
    r = srv.post("/v1/episodes", episode(sid))
    assert r.status == 201, r
    r = srv.get("/v1/timeline", query={"subject_id": sid})
    assert r.status == 200 and len(r.body["episodes"]) == 2, r


def set_immutable(path, on):
    """Make path unwritable even for root (chattr), or by mode when not root."""
    if os.geteuid() != 0:
        os.chmod(path, 0o444 if on else 0o644)
        return
    r = subprocess.run(["chattr", "+i" if on else "-i", path], capture_output=True, text=True)
    assert r.returncode == 0, "chattr failed (the test needs it as root): %s" % r.stderr


if pgctl.backend() == "sqlite":

    @test("66.1 SQLite database file read-only: /readyz 503 database_readonly, writes 503 "
          "database_readonly with Retry-After, reads 200; writable again: ready and 201 "
          "without a restart")
    def _(s):
        srv = Server(workdir=s.workdir, name=s.name + "-ro")
        path = srv.database_url[len("sqlite://"):]
        srv.start()
        sid = uid()
        try:
            assert srv.post("/v1/episodes", episode(sid)).status == 201
            assert srv.get("/readyz").status == 200
            assert srv.stop() == 0
            set_immutable(path, True)
            srv.start()
            check_readonly_answers(srv, sid)
            set_immutable(path, False)
            check_writable_again(srv, sid)
            assert srv.stop() == 0
        finally:
            set_immutable(path, False)
            srv.kill()

if pgctl.backend() == "postgres":

    def set_readonly(cluster, on):
        sql = ("ALTER SYSTEM SET default_transaction_read_only = on" if on
               else "ALTER SYSTEM RESET default_transaction_read_only")
        for stmt in (sql, "SELECT pg_reload_conf()"):
            r = pgctl.run([pgctl.pg_bin("psql"), cluster.url, "-v", "ON_ERROR_STOP=1", "-qc",
                           stmt], cwd="/")
            assert r.returncode == 0, "psql %r: %s" % (stmt, r.stderr)

    @test("66.2 PostgreSQL read-only (default_transaction_read_only, 25006): /readyz 503 "
          "database_readonly, writes 503 database_readonly with Retry-After, reads 200; "
          "writable again: ready and 201 without a restart")
    def _(s):
        cluster = pgctl.Cluster.start()
        srv = None
        try:
            srv = Server(database_url=cluster.url, workdir=s.workdir, name=s.name + "-ro")
            srv.start()
            sid = uid()
            assert srv.post("/v1/episodes", episode(sid)).status == 201
            assert srv.get("/readyz").status == 200
            set_readonly(cluster, True)
            check_readonly_answers(srv, sid)
            set_readonly(cluster, False)
            check_writable_again(srv, sid)
            assert srv.stop() == 0
        finally:
            if srv is not None:
                srv.kill()
            cluster.close()


if __name__ == "__main__":
    main()
