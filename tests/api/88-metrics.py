"""88-metrics: GET /metrics in the Prometheus text format (README "Metrics and logs"): request
counters per route, method and status, latency histograms per route, compile jobs by status,
the webhook backlog, database errors and rate-limit refusals; protected by the API key.

A request is counted when it completes, which can be a moment after its client has read the
answer: checks on counters poll /metrics until the expected value shows (or time runs out)."""

import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

CTYPE = "text/plain; version=0.0.4; charset=utf-8"
KEY = "metrics-key-1"
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
FAMILIES = {
    "engram_http_requests_total": "counter",
    "engram_http_request_duration_seconds": "histogram",
    "engram_compile_jobs": "gauge",
    "engram_webhook_queue_depth": "gauge",
    "engram_database_errors_total": "counter",
    "engram_rate_limited_total": "counter",
}


def parse(text):
    """Parse the text exposition format strictly. Returns ({family: type}, [(name, labels,
    value)]); every sample must belong to a family declared (# TYPE) before it."""
    types, samples, helps = {}, [], set()
    assert text.endswith("\n"), "the body must end with a newline"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helps, "line %d: second HELP for %s" % (n, name)
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            assert len(parts) == 4, "line %d: %r" % (n, line)
            assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert parts[2] not in types, "line %d: second TYPE for %s" % (n, parts[2])
            types[parts[2]] = parts[3]
            continue
        assert line and not line.startswith("#"), "line %d: unexpected %r" % (n, line)
        m = SAMPLE_RE.match(line)
        assert m, "line %d: not a sample: %r" % (n, line)
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL_RE.match(labels_text, pos)
                assert lm, "line %d: bad labels %r" % (n, labels_text)
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "line %d: %s has no # TYPE before it" % (n, name)
        v = float(value)
        samples.append((name, labels, v))
    return types, samples


def scrape(s, **kw):
    r = s.get("/metrics", **kw)
    assert r.status == 200, r
    assert r.headers.get("content-type") == CTYPE, r.headers
    assert r.headers.get("x-request-id"), r.headers
    return parse(r.body if isinstance(r.body, str) else r.raw.decode())


def value(samples, name, **labels):
    for n, ls, v in samples:
        if n == name and ls == labels:
            return v
    return 0.0


def requests_count(samples, route, method, status):
    return value(samples, "engram_http_requests_total", route=route, method=method,
                 status=str(status))


def wait_for(s, check, what, timeout=3.0, **kw):
    """Scrape until check(samples) holds; returns the samples."""
    deadline = time.monotonic() + timeout
    while True:
        _, samples = scrape(s, **kw)
        if check(samples):
            return samples
        assert time.monotonic() < deadline, "%s: not seen within %.0f s" % (what, timeout)
        time.sleep(0.05)


@test("88.1 /metrics is text/plain 0.0.4 that parses; every family has HELP and TYPE")
def _(s):
    s.get("/v1/subjects")
    types, samples = scrape(s)
    for fam, typ in FAMILIES.items():
        assert types.get(fam) == typ, "family %s: type %r, want %r" % (fam, types.get(fam), typ)
    assert value(samples, "engram_database_errors_total") >= 0
    assert value(samples, "engram_rate_limited_total") == 0
    for st in ("pending", "running", "completed", "failed"):
        assert [v for n, ls, v in samples if n == "engram_compile_jobs" and ls == {"status": st}], st
    assert [v for n, ls, v in samples if n == "engram_webhook_queue_depth" and ls == {}]


@test("88.2 request counters move by route, method and status")
def _(s):
    _, before = scrape(s)
    sid = uid()
    s.get("/v1/subjects")
    s.get("/v1/subjects")
    s.create(sid)
    s.post("/v1/episodes", {"subject_id": sid})          # 422
    s.get("/v1/no-such-thing")                           # 404, no route
    s.request("PUT", "/v1/episodes")                     # 405, no route
    s.delete("/v1/subjects/" + sid)

    def moved(after):
        def d(route, method, status):
            return requests_count(after, route, method, status) - \
                requests_count(before, route, method, status)
        return (d("subjects.list", "GET", 200) == 2 and d("episodes.create", "POST", 201) == 1
                and d("episodes.create", "POST", 422) == 1 and d("unmatched", "GET", 404) == 1
                and d("unmatched", "PUT", 405) == 1 and d("subjects.delete", "DELETE", 200) == 1)
    wait_for(s, moved, "the counters of 7 requests")


@test("88.3 histograms: buckets cumulative and sorted, +Inf equals _count, _sum moves")
def _(s):
    for _ in range(3):
        s.get("/v1/subjects")
    samples = wait_for(s, lambda sm: value(sm, "engram_http_request_duration_seconds_count",
                                           route="subjects.list") >= 3, "subjects.list count")
    routes = {ls["route"] for n, ls, v in samples if n == "engram_http_request_duration_seconds_count"}
    assert "subjects.list" in routes and "metrics" in routes, routes
    for route in routes:
        buckets = [(ls["le"], v) for n, ls, v in samples
                   if n == "engram_http_request_duration_seconds_bucket" and ls["route"] == route]
        assert buckets and buckets[-1][0] == "+Inf", (route, buckets)
        les = [float(le) for le, _ in buckets[:-1]]
        assert les == sorted(les) and len(set(les)) == len(les), (route, les)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "buckets of %s not cumulative: %r" % (route, buckets)
        count = value(samples, "engram_http_request_duration_seconds_count", route=route)
        assert counts[-1] == count, (route, counts[-1], count)
        total = value(samples, "engram_http_request_duration_seconds_sum", route=route)
        assert total > 0.0, (route, total)
    assert [float(le) for le, _ in buckets[:-1]][:3] == [0.001, 0.0025, 0.005], buckets


@test("88.4 engram_compile_jobs counts jobs by status at scrape time")
def _(s):
    _, before = scrape(s)
    sid = uid()
    s.create(sid, payload={"text": "I use vim"})
    r = s.post("/v1/memories/compile", {"subject_id": sid, "async": True})
    assert r.status == 202, r
    job = r.body["job_id"]
    deadline = time.monotonic() + 20
    while s.get("/v1/memories/compile/" + job).body["status"] != "completed":
        assert time.monotonic() < deadline, "job did not complete"
        time.sleep(0.05)
    _, after = scrape(s)
    done = value(after, "engram_compile_jobs", status="completed") - \
        value(before, "engram_compile_jobs", status="completed")
    assert done >= 1, (before, after)


@test("88.5 /metrics needs the API key like every non-probe path", env={"STATEWAVE_API_KEY": KEY})
def _(s):
    r = s.get("/metrics")
    assert r.status == 401 and r.body["error"]["code"] == "missing_api_key", r
    r = s.get("/metrics", headers={"X-API-Key": "nope"})
    assert r.status == 403, r
    scrape(s, headers={"X-API-Key": KEY})
    scrape(s, query={"api_key": KEY})


@test("88.6 engram_rate_limited_total counts 429s; /metrics itself is never limited",
      env={"STATEWAVE_RATE_LIMIT_RPM": "1"})
def _(s):
    assert s.get("/v1/subjects").status == 200
    assert s.get("/v1/subjects").status == 429
    assert s.get("/v1/no-such-thing").status == 429
    samples = wait_for(s, lambda sm: value(sm, "engram_rate_limited_total") == 2 and
                       requests_count(sm, "unmatched", "GET", 429) == 2, "two 429s")
    assert requests_count(samples, "subjects.list", "GET", 429) == 0, samples
    for _ in range(5):
        scrape(s)


def sqlite_path(url):
    return url[len("sqlite://"):]


@test("88.7 engram_database_errors_total counts store failures (an outage or a lock held past "
      "the busy timeout: 503 service_unavailable)")
def _(s):
    if pgctl.backend() == "postgres":
        cluster = pgctl.Cluster.start()
        srv = Server(database_url=cluster.url, workdir=s.workdir, name=s.name + "-dberr")
    else:
        cluster = None
        srv = Server(env={}, workdir=s.workdir, name=s.name + "-dberr")
    try:
        srv.start()
        _, before = scrape(srv)
        if cluster:
            cluster.pause()
            try:
                r = srv.get("/v1/subjects")
            finally:
                cluster.resume()
        else:
            # Another connection holds the write lock past the server's busy timeout.
            con = sqlite3.connect(sqlite_path(srv.database_url), isolation_level=None, timeout=10)
            con.execute("BEGIN IMMEDIATE")
            try:
                r = srv.post("/v1/episodes", episode(uid()))
            finally:
                con.execute("ROLLBACK")
                con.close()
        assert r.status == 503 and r.body["error"]["code"] == "service_unavailable", r
        assert r.headers.get("retry-after") == "1", r.headers
        wait_for(srv, lambda sm: value(sm, "engram_database_errors_total") ==
                 value(before, "engram_database_errors_total") + 1, "one database error",
                 timeout=10.0)
    finally:
        rc = srv.stop()
        if cluster:
            cluster.close()
    assert rc == 0, rc


if __name__ == "__main__":
    main()
