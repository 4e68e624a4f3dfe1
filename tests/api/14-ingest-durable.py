"""14-ingest-durable: an acknowledged single episode written through the group commit queue
(issue 22) is durable. A reply leaves only after its group committed: killing the server with
SIGKILL while 16 clients post leaves every acknowledged episode stored once, with its payload,
and an unanswered request at most once. SIGTERM while requests wait in the queue answers them
all before the server exits 0. Both backends (STATEWAVE_INGEST_GROUP_COMMIT=on, so that
PostgreSQL queues too on the test cluster)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, episode, main, test, uid  # noqa: E402

ENV = {"STATEWAVE_INGEST_GROUP_COMMIT": "on", "STATEWAVE_LOG_LEVEL": "warning"}
THREADS = 16


def post_until(srv, sub, stop, acked, sent, lock, name):
    i = 0
    while not stop.is_set():
        body = episode("%s-%d" % (sub, name), payload={"c": name, "i": i})
        with lock:
            sent.append((name, i))
        try:
            r = srv.post("/v1/episodes", body)
        except Exception:  # noqa: BLE001 - the kill cut it off: its fate is unknown
            return
        if r.status != 201:
            return
        with lock:
            acked[(name, i)] = r.body["id"]
        i += 1


def stored(srv, sub):
    """What the clients' subjects hold (sub-0 ... sub-15), by (client, i)."""
    out = {}
    for n in range(THREADS):
        r = srv.get("/v1/timeline", query={"subject_id": "%s-%d" % (sub, n), "limit": 500})
        assert r.status == 200, r
        assert len(r.body["episodes"]) < 500, "more than one page: raise the limit"
        for e in r.body["episodes"]:
            key = (e["payload"]["c"], e["payload"]["i"])
            assert key not in out, "stored twice: %r" % (key,)
            out[key] = e["id"]
    return out


def load(srv, sub, seconds, finish):
    """THREADS clients post to sub for `seconds`, then finish(srv) (a kill or a stop) while
    they are still at it; returns (acked, sent)."""
    stop = threading.Event()
    acked, sent, lock = {}, [], threading.Lock()
    ts = [threading.Thread(target=post_until, args=(srv, sub, stop, acked, sent, lock, n))
          for n in range(THREADS)]
    for t in ts:
        t.start()
    time.sleep(seconds)
    rc = finish(srv)
    stop.set()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    return acked, sent, rc


@test("14.1 SIGKILL under concurrent single ingest: every acknowledged episode is stored "
      "once with its id and payload", env=ENV)
def _(s):
    srv = Server(env=ENV, database_url=s.database_url, workdir=s.workdir, name=s.name + "-kill")
    srv.start()
    try:
        for rnd in range(2):
            sub = uid("kill")
            acked, sent, _ = load(srv, sub, 0.6 + 0.4 * rnd, lambda x: x.kill())
            assert acked, "nothing was acknowledged before the kill"
            srv.start()
            got = stored(srv, sub)
            for key, eid in acked.items():
                assert got.get(key) == eid, "acknowledged %r (%s) is %r after the kill" % (
                    key, eid, got.get(key))
            assert set(got) <= set(sent), "an episode nobody sent"
    finally:
        srv.stop()


@test("14.2 SIGTERM while requests wait in the queue: each is answered, stored, and the "
      "server exits 0", env=ENV)
def _(s):
    srv = Server(env=ENV, database_url=s.database_url, workdir=s.workdir, name=s.name + "-term")
    srv.start()
    sub = uid("term")
    acked, sent, rc = load(srv, sub, 0.8, lambda x: x.stop())
    assert rc == 0, "exit code %s after SIGTERM; log:\n%s" % (rc, srv.log_tail(1500))
    assert acked
    srv.start()
    try:
        got = stored(srv, sub)
        for key, eid in acked.items():
            assert got.get(key) == eid, (key, eid, got.get(key))
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
