"""00-health: liveness and readiness (spec/api.md §3.10, behavior.md §16.1)."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import HEX16_RE, check_error, main, test  # noqa: E402


def check_live(r):
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.body == {"status": "ok"}, r
    assert r.raw == b'{"status":"ok"}', "not compact JSON: %r" % (r.raw,)
    assert HEX16_RE.match(r.headers.get("x-request-id", "")), r.headers


def check_ready(r):
    """Check a readiness answer, reporting every deviation at once."""
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    b = r.body
    assert isinstance(b, dict) and list(b.keys()) == ["status", "checks"], r
    problems = []
    if b["status"] != "ready":
        problems.append("status %r, want ready (SQLite, no LLM key, no jobs)" % (b["status"],))
    checks = b["checks"]
    assert isinstance(checks, list), r
    names = [c.get("name") for c in checks]
    if names != ["database", "queue", "llm"]:
        problems.append("check names %r, want ['database', 'queue', 'llm']" % (names,))
    for c in checks:
        if not set(c) <= {"name", "status", "detail", "latency_ms"}:
            problems.append("unexpected check keys: %r" % (c,))
        if c.get("status") != "ok":
            problems.append("check %r status %r, want ok" % (c.get("name"), c.get("status")))
        if "detail" in c and not (isinstance(c["detail"], str) and c["detail"]):
            problems.append("detail must be a non-empty string or omitted: %r" % (c,))
        if "latency_ms" in c:
            v = c["latency_ms"]
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                problems.append("latency_ms not a number: %r" % (c,))
            elif v < 0:
                problems.append("latency_ms negative: %r" % (c,))
    by = {c.get("name"): c for c in checks}
    if "llm" in by and by["llm"].get("detail") != "not configured (skip)":
        problems.append("llm detail %r, want 'not configured (skip)'" % (by["llm"].get("detail"),))
    assert not problems, "; ".join(problems) + ": %r" % (r,)


@test("00.1 GET /healthz is 200 {\"status\":\"ok\"}")
def _(s):
    check_live(s.get("/healthz"))


@test("00.2 GET /health is 200 {\"status\":\"ok\"}")
def _(s):
    check_live(s.get("/health"))


@test("00.3 GET /readyz is ready with checks database, queue, llm (not configured)")
def _(s):
    check_ready(s.get("/readyz"))


@test("00.4 GET /ready has the same shape as /readyz")
def _(s):
    check_ready(s.get("/ready"))


@test("00.5 health endpoints echo X-Request-ID")
def _(s):
    for p in ("/healthz", "/health", "/readyz", "/ready"):
        r = s.get(p, headers={"X-Request-ID": "health-probe-1"})
        assert r.status == 200, (p, r)
        assert r.headers.get("x-request-id") == "health-probe-1", (p, r.headers)


@test("00.6 POST /healthz is 405 Method Not Allowed")
def _(s):
    r = s.post("/healthz", {})
    check_error(r, 405, "http_error", "Method Not Allowed")
    assert "allow" not in r.headers, "405 must not carry an Allow header: %r" % (r.headers,)


@test("00.7 health endpoints ignore the tenant header and query strings")
def _(s):
    r = s.get("/healthz?x=1", tenant="t-any")
    check_live(r)
    check_ready(s.get("/readyz", tenant="t-any"))


@test("00.8 latency_ms over 50 probes: never 0, always one decimal on the wire")
def _(s):
    problems = set()
    for _ in range(50):
        r = s.get("/readyz")
        assert r.status == 200, r
        for c in r.body["checks"]:
            if c.get("latency_ms") == 0:
                problems.add("latency_ms 0 emitted (must be omitted when 0)")
        for lit in re.findall(rb'"latency_ms":\s*([^,}\s]+)', r.raw):
            if not re.match(rb"^\d+(\.\d)?$", lit):
                problems.add("latency_ms written as %s, want one decimal" % lit.decode())
    assert not problems, "; ".join(sorted(problems))[:600]


@test("00.20 a restarted server opens the same database and keeps every acknowledged write")
def _(s):
    from harness import Server, episode, uid
    sid = uid()
    other = Server(database_url=s.database_url, workdir=s.workdir, name=s.name + "-restart")
    other.start()
    try:
        made = other.post("/v1/episodes/batch", {"episodes": [episode(sid, payload={"i": i})
                                                              for i in range(3)]})
        assert made.status == 201, made
        one = other.post("/v1/episodes", episode(sid, payload={"i": 3}))
        assert one.status == 201, one
    finally:
        rc = other.stop()
    assert rc == 0, "first server exit code %r after SIGTERM" % rc
    again = Server(database_url=s.database_url, workdir=s.workdir, name=s.name + "-restart2")
    again.start()
    try:
        tl = again.timeline(sid)["episodes"]
        assert [e["id"] for e in tl] == [e["id"] for e in made.body["episodes"]] + [one.body["id"]], tl
    finally:
        rc = again.stop()
    assert rc == 0, "second server exit code %r after SIGTERM" % rc
    # the original server still sees the data written by the others
    assert len(s.timeline(sid)["episodes"]) == 4


@test("00.21 SIGTERM under load: exit 0, and every acknowledged (201) write persists")
def _(s):
    import threading
    import time
    from harness import Server, episode, uid
    sid = uid()
    srv = Server(database_url=s.database_url, workdir=s.workdir, name=s.name + "-load")
    srv.start()
    acked, stop = [], threading.Event()
    lock = threading.Lock()

    def writer(n):
        i = 0
        while not stop.is_set():
            try:
                if i % 5 == 4:
                    r = srv.post("/v1/episodes/batch", {"episodes": [episode(sid, payload={"w": n, "i": i, "k": k})
                                                                     for k in range(20)]})
                    ids = [e["id"] for e in r.body["episodes"]] if r.status == 201 else []
                else:
                    r = srv.post("/v1/episodes", episode(sid, payload={"w": n, "i": i}))
                    ids = [r.body["id"]] if r.status == 201 else []
            except Exception:  # noqa: BLE001 - refused once the server stops
                ids = []
            with lock:
                acked.extend(ids)
            i += 1
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.4)
    rc = srv.stop()  # None when it did not exit within harness.STOP_TIMEOUT
    stop.set()
    for t in threads:
        t.join()
    assert rc == 0, "exit code %r after SIGTERM under load; log:\n%s" % (rc, srv.log_tail(1500))
    assert acked, "no write was acknowledged before SIGTERM"
    # every acknowledged id is stored: the delete count covers them (the timeline shows only 100)
    r = s.delete("/v1/subjects/" + sid)
    assert r.status == 200, r
    assert r.body["episodes_deleted"] >= len(set(acked)), \
        "%d writes acknowledged, only %d stored" % (len(set(acked)), r.body["episodes_deleted"])


if __name__ == "__main__":
    main()
