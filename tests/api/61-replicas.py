"""61-replicas: read replicas (issue 21 part 2; docs/SCALING.md "Read replicas").

A primary and an asynchronous streaming standby of this file's own (tests/ha/hactl.py:
pg_basebackup -R), Engram with STATEWAVE_DATABASE_REPLICA_URLS naming the standby. To see
which server answered a read, the standby's replay is paused (pg_wal_replay_pause): a write
made afterwards is on the primary only. Checks:
- every write response carries X-Engram-LSN; a read with X-Engram-Read-After at or before what
  the replica replayed is served by the replica, one past it by the primary (never stale);
- without the header reads go to the primary (the default), or with
  STATEWAVE_REPLICA_READS=eventual to a replica within STATEWAVE_REPLICA_MAX_LAG_MS, and
  to the primary once the replica lags more;
- a context served by the replica still stores its receipt (on the primary);
- /readyz reports the replica; eventual reads keep answering while the primary is down
  (writes 503);
- a malformed X-Engram-Read-After is a 400 with the error envelope; a bad replica URL stops
  the start; on SQLite the setting is ignored with a warning.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ha"))

from harness import Server, ServerError, check_json_error, episode, lsn_value, main, test, uid  # noqa: E402,E501
import pgctl  # noqa: E402

_st = {"phase": 0}


def phase(n):
    if _st["phase"] != n - 1:
        raise AssertionError("an earlier phase failed (reached phase %d)" % _st["phase"])
    return _st


def timeline_ids(srv, sid, lsn=None):
    hdrs = {"X-Engram-Read-After": lsn} if lsn else None
    r = srv.get("/v1/timeline", query={"subject_id": sid}, headers=hdrs)
    assert r.status == 200, r
    return [e["id"] for e in r.body["episodes"]]


def write(srv, sid):
    r = srv.post("/v1/episodes", episode(sid))
    assert r.status == 201, r
    lsn = r.headers.get("x-engram-lsn")
    assert lsn and lsn_value(lsn) > 0, "no X-Engram-LSN on a write: %r" % (r.headers,)
    return r.body["id"], lsn


def replayed(pair):
    return pair.replayed()


def wait_replayed(pair, lsn, timeout=10):
    pair.wait_replayed(lsn, timeout)


def servers(s, pair):
    common = {"STATEWAVE_DATABASE_REPLICA_URLS": pair.standby.url, "STATEWAVE_WORKERS": "4"}
    a = Server(database_url=pair.primary.url, workdir=s.workdir, name=s.name + "-primary",
               env=common)
    b = Server(database_url=pair.primary.url, workdir=s.workdir, name=s.name + "-eventual",
               env=dict(common, STATEWAVE_REPLICA_READS="eventual",
                        STATEWAVE_REPLICA_MAX_LAG_MS="1500"))
    return a, b


if pgctl.backend() == "postgres":
    import hactl  # noqa: E402

    @test("61.1 primary + async standby; writes carry X-Engram-LSN; /readyz reports the "
          "replica")
    def _(s):
        st = phase(1)
        st["pair"] = pair = hactl.Pair.start(sync=False)
        st["a"], st["b"] = servers(s, pair)
        st["a"].start()
        st["b"].start()
        sid = uid()
        eid, lsn = write(st["a"], sid)
        wait_replayed(pair, lsn)
        r = st["a"].get("/readyz")
        assert r.status == 200, r
        names = [c["name"] for c in r.body["checks"]]
        want = "replica:127.0.0.1:%d" % pair.standby.port
        assert names == ["database", "queue", "llm", want], names
        rep = r.body["checks"][3]
        assert rep["status"] == "ok" and rep["detail"].startswith("replayed "), rep
        st.update(sid=sid, first=eid, lsn=lsn, phase=1)

    @test("61.2 with replay paused: Read-After at the replayed LSN is served by the replica "
          "(stale by design), past it by the primary; no header: the primary")
    def _(s):
        st = phase(2)
        pair, a, sid = st["pair"], st["a"], st["sid"]
        pair.standby.sql("SELECT pg_wal_replay_pause()")
        old = replayed(pair)
        eid, lsn = write(a, sid)
        assert lsn_value(lsn) > lsn_value(old), (lsn, old)
        # The replica has replayed `old`: a read after it may be (and is) served there.
        assert timeline_ids(a, sid, old) == [st["first"]], "not served by the replica"
        # Past what it replayed: the primary answers, with the new episode.
        assert timeline_ids(a, sid, lsn) == [st["first"], eid]
        assert timeline_ids(a, sid) == [st["first"], eid]   # default: the primary
        st.update(second=eid, lsn2=lsn, phase=2)

    @test("61.3 eventual reads: a replica within the lag limit serves them (stale), one past "
          "the limit does not")
    def _(s):
        st = phase(3)
        b, sid = st["b"], st["sid"]
        # Paused just now: lag below 1500 ms, the replica answers without the new episode.
        assert timeline_ids(b, sid) == [st["first"]], "eventual read not served by the replica"
        time.sleep(2.0)   # the replica is now > 1500 ms behind the primary's LSN
        assert timeline_ids(b, sid) == [st["first"], st["second"]], \
            "a replica past STATEWAVE_REPLICA_MAX_LAG_MS served an eventual read"
        r = b.get("/readyz")
        rep = r.body["checks"][3]
        assert rep["status"] == "ok" and "lag" in rep["detail"], rep
        st["phase"] = 3

    @test("61.4 replay resumed: Read-After the second write is served (by the replica once "
          "it replayed it); search, context and subjects work on the replica")
    def _(s):
        st = phase(4)
        pair, a, b, sid = st["pair"], st["a"], st["b"], st["sid"]
        pair.standby.sql("SELECT pg_wal_replay_resume()")
        wait_replayed(pair, st["lsn2"])
        assert timeline_ids(a, sid, st["lsn2"]) == [st["first"], st["second"]]
        time.sleep(0.6)   # the background check sees it caught up
        assert timeline_ids(b, sid) == [st["first"], st["second"]]
        for srv in (a, b):
            r = srv.get("/v1/memories/search", query={"subject_id": sid, "query": "hello"},
                        headers={"X-Engram-Read-After": st["lsn2"]})
            assert r.status == 200, r
            r = srv.post("/v1/context", {"subject_id": sid, "task": "hello"},
                         headers={"X-Engram-Read-After": st["lsn2"]})
            assert r.status == 200, r
            assert "x-engram-lsn" not in r.headers, "a read is no write: %r" % (r.headers,)
            r = srv.get("/v1/subjects", headers={"X-Engram-Read-After": st["lsn2"]})
            assert r.status == 200, r
            # A context served by the replica still stores its receipt (on the primary).
            r = srv.post("/v1/context", {"subject_id": sid, "task": "hello",
                                         "emit_receipt": True},
                         headers={"X-Engram-Read-After": st["lsn2"]})
            assert r.status == 200 and r.body.get("receipt_emitted") is True, r
            rid = r.body["receipt_id"]
            assert st["pair"].primary.sql(
                "SELECT count(*) FROM context_receipts WHERE id = '%s'" % rid) == [["1"]]
        st["phase"] = 4

    @test("61.5 a malformed X-Engram-Read-After: 400 error envelope naming the header")
    def _(s):
        st = phase(5)
        for bad in ("yesterday", "0/", "/1", "1/2/3", "-1/0", "123456789/0"):
            r = st["a"].get("/v1/timeline", query={"subject_id": "x"},
                            headers={"X-Engram-Read-After": bad})
            assert r.status in (400, 422), (bad, r)
            e = check_json_error(r)
            assert "X-Engram-Read-After" in e["message"], (bad, r)
        st["phase"] = 5

    @test("61.6 primary down: eventual reads keep answering from the replica, writes 503 "
          "with Retry-After; /readyz 503 with the replica's check ok")
    def _(s):
        st = phase(6)
        pair, b, sid = st["pair"], st["b"], st["sid"]
        pair.primary.kill()
        time.sleep(0.6)   # the background check notices
        for _ in range(5):
            assert timeline_ids(b, sid) == [st["first"], st["second"]]
        r = b.post("/v1/episodes", episode(sid))
        assert r.status == 503 and r.headers.get("retry-after"), r
        r = b.get("/readyz")
        assert r.status == 503, r
        assert r.body["checks"][3]["status"] == "ok", r.body
        st["phase"] = 6

    @test("61.7 teardown: servers stop with exit code 0, the pair is removed")
    def _(s):
        st = _st
        rcs = [srv.stop() for srv in (st.get("a"), st.get("b")) if srv]
        if st.get("pair"):
            st["pair"].close()
        assert rcs == [0, 0], rcs

    @test("61.8 a replica URL that is not postgresql:// stops the start, naming the setting")
    def _(s):
        srv = Server(workdir=s.workdir, name=s.name + "-badurl",
                     env={"STATEWAVE_DATABASE_REPLICA_URLS": "mysql://x/y"})
        try:
            srv.start()
        except ServerError as e:
            assert "STATEWAVE_DATABASE_REPLICA_URLS" in str(e), e
        else:
            srv.kill()
            raise AssertionError("started with a mysql:// replica")

if pgctl.backend() == "sqlite":

    @test("61.9 SQLite: replica settings are ignored with a warning; reads and writes work",
          env={"STATEWAVE_DATABASE_REPLICA_URLS": "postgresql://u@127.0.0.1:1/x",
               "STATEWAVE_REPLICA_READS": "eventual"})
    def _(s):
        sid = uid()
        r = s.post("/v1/episodes", episode(sid))
        assert r.status == 201 and "x-engram-lsn" not in r.headers, r
        assert s.episode_count(sid) == 1
        with open(s.log_path, "rb") as f:
            assert b"STATEWAVE_DATABASE_REPLICA_URLS is ignored on SQLite" in f.read()


if __name__ == "__main__":
    main()
