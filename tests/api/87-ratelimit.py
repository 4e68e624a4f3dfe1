"""87-ratelimit: requests per minute per client IP (spec/api.md §1.3, §1.7; data-model.md §5;
behavior.md §13, §19.10).

Every test starts its own servers: the budget is per process (memory) or per database
(distributed) and per IP, and every request of these tests comes from 127.0.0.1, so a shared
server would carry one test's hits into the next. Distributed tests give their servers a
database of their own (a fresh SQLite file, or a fresh PostgreSQL database on the cluster of
this run) and start away from a minute boundary, where the fixed window resets."""

import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, ServerError, check_json_error, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

KEY = "rl-key-123"
MISSING_KEY = {"error": {"code": "missing_api_key", "message": "X-API-Key header is required."}}
MISSING_TENANT = {"error": {"code": "missing_tenant", "message": "X-Tenant-ID header is required."}}
PROBES = ("/healthz", "/health", "/readyz", "/ready")


def limited_body(rpm):
    return {"error": {"code": "rate_limited",
                      "message": "Rate limit exceeded. Max %d requests per minute." % rpm}}


def check_429(r, rpm):
    """The exact middleware envelope (no request_id), an X-Request-ID header, an integer
    Retry-After; returns Retry-After."""
    assert r.status == 429, "status %s, want 429: %r" % (r.status, r)
    check_json_error(r)
    assert r.body == limited_body(rpm), "body %r, want exactly %r" % (r.body, limited_body(rpm))
    ra = r.headers.get("retry-after")
    assert ra is not None and ra.isdigit(), "Retry-After %r is not whole seconds: %r" % (ra, r.headers)
    assert not [h for h in r.headers if h.startswith("x-ratelimit")], r.headers
    return int(ra)


class Servers:
    """Servers started inside one test, stopped (and checked for a clean exit) at the end."""

    def __init__(self, s):
        self.s = s
        self.procs = []

    def start(self, env, database_url=None, name="rl"):
        srv = Server(env=env, database_url=database_url, workdir=self.s.workdir,
                     name="%s-%s-%d" % (self.s.name, name, len(self.procs)))
        self.procs.append(srv)
        srv.start()
        return srv

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rcs = [p.stop() for p in self.procs]
        if exc[0] is None:
            assert rcs == [0] * len(rcs), "exit codes after SIGTERM: %r" % (rcs,)


def own_database(s, tag):
    """A database no other server of this run uses: a fresh SQLite file, or a fresh database
    on this run's PostgreSQL cluster."""
    if pgctl.backend() == "postgres":
        cluster = pgctl.Cluster.shared_or_own()
        return cluster.createdb(pgctl.dbname("engram_rl"))
    d = tempfile.mkdtemp(prefix="engram-rl-", dir=s.workdir)
    return "sqlite:///" + os.path.join(d, tag + ".db")


def fresh_window(margin=6.0):
    """Wait until at least `margin` seconds are left in the current epoch minute."""
    left = 60.0 - time.time() % 60.0
    if left < margin:
        time.sleep(left + 0.05)


def fixed_retry_after_ok(ra, when):
    """Retry-After of the distributed strategy: max(1, 60 - seconds into the window)."""
    want = max(1, 60 - int(when) % 60)
    return 1 <= ra <= 60 and abs(ra - want) <= 2


MEM2 = {"STATEWAVE_RATE_LIMIT_RPM": "2"}


# -- memory strategy -------------------------------------------------------------------------

@test("87.1 memory rpm=2: requests 1-2 pass, the 3rd is 429 with Retry-After and the exact body")
def _(s):
    with Servers(s) as ss:
        srv = ss.start(MEM2)
        assert srv.get("/v1/subjects").status == 200
        sid = uid()
        assert srv.post("/v1/episodes", episode(sid)).status == 201
        r = srv.get("/v1/subjects", headers={"X-Request-ID": "rid-429"})
        ra = check_429(r, 2)
        assert 58 <= ra <= 61, "Retry-After %d: the oldest hit is a moment old, want about 60" % ra
        assert r.headers.get("x-request-id") == "rid-429", r.headers
        # The rejected hit is not recorded and nothing was written for it.
        r = srv.post("/v1/episodes", episode(sid))
        check_429(r, 2)
        assert srv.get("/healthz").status == 200


@test("87.2 the probes are never limited; every other path (unknown ones too) is")
def _(s):
    with Servers(s) as ss:
        srv = ss.start({"STATEWAVE_RATE_LIMIT_RPM": "1"})
        for _ in range(5):
            for p in PROBES:
                r = srv.get(p)
                assert r.status == 200, (p, r)
        assert srv.get("/v1/subjects").status == 200
        check_429(srv.get("/v1/subjects"), 1)
        check_429(srv.get("/v1/no-such-path"), 1)      # limited before routing: not 404
        check_429(srv.request("PUT", "/v1/episodes"), 1)   # nor 405
        check_429(srv.get("/docs"), 1)                 # auth-exempt, but not rate-exempt
        for p in PROBES:
            assert srv.get(p).status == 200, p


@test("87.3 STATEWAVE_RATE_LIMIT_RPM unset or 0: never limited")
def _(s):
    with Servers(s) as ss:
        for env in ({}, {"STATEWAVE_RATE_LIMIT_RPM": "0"},
                    {"STATEWAVE_RATE_LIMIT_RPM": "0", "STATEWAVE_RATE_LIMIT_STRATEGY": "distributed"}):
            srv = ss.start(env)
            for i in range(40):
                r = srv.get("/v1/subjects")
                assert r.status == 200, (env, i, r)


@test("87.4 rejected auth consumes no budget; the limit runs before the tenant check")
def _(s):
    with Servers(s) as ss:
        srv = ss.start({"STATEWAVE_RATE_LIMIT_RPM": "2", "STATEWAVE_API_KEY": KEY,
                        "STATEWAVE_REQUIRE_TENANT": "true"})
        for _ in range(4):
            r = srv.get("/v1/subjects")
            assert r.status == 401 and r.body == MISSING_KEY, r
            assert srv.get("/v1/subjects", headers={"X-API-Key": "wrong"}).status == 403
        hdr = {"X-API-Key": KEY}
        # Past auth, a request without the tenant header spends budget, then gets 400 ...
        r = srv.get("/v1/subjects", headers=hdr)
        assert r.status == 400 and r.body == MISSING_TENANT, r
        assert srv.get("/v1/subjects", headers=hdr, tenant=uid("t")).status == 200
        # ... and once the budget is gone the limiter answers first.
        check_429(srv.get("/v1/subjects", headers=hdr), 2)
        check_429(srv.get("/v1/subjects", headers=hdr, tenant=uid("t")), 2)
        # Auth still runs before the limiter.
        r = srv.get("/v1/subjects")
        assert r.status == 401 and r.body == MISSING_KEY, r


@test("87.5 CORS headers are on the 429; a preflight is never limited")
def _(s):
    with Servers(s) as ss:
        srv = ss.start({"STATEWAVE_RATE_LIMIT_RPM": "1"})
        assert srv.get("/v1/subjects").status == 200
        r = srv.get("/v1/subjects", headers={"Origin": "https://app.example"})
        check_429(r, 1)
        assert r.headers.get("access-control-allow-origin") == "*", r.headers
        assert r.headers.get("access-control-allow-credentials") == "true", r.headers
        for _ in range(3):
            r = srv.request("OPTIONS", "/v1/episodes", headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
            assert r.status == 200 and r.raw == b"OK", r


@test("87.6 memory: each process keeps its own budget (two servers on one database)")
def _(s):
    url = own_database(s, "mem2")
    with Servers(s) as ss:
        a, b = ss.start(MEM2, url, "a"), ss.start(MEM2, url, "b")
        for srv in (a, b, a, b):
            assert srv.get("/v1/subjects").status == 200
        check_429(a.get("/v1/subjects"), 2)
        check_429(b.get("/v1/subjects"), 2)


@test("87.7 a bad STATEWAVE_RATE_LIMIT_STRATEGY stops the start with a message")
def _(s):
    srv = Server(env={"STATEWAVE_RATE_LIMIT_STRATEGY": "redis"}, workdir=s.workdir,
                 name=s.name + "-bad")
    try:
        srv.start()
    except ServerError as e:
        assert "STATEWAVE_RATE_LIMIT_STRATEGY" in str(e), str(e)
    else:
        srv.stop()
        raise AssertionError("the server started with STATEWAVE_RATE_LIMIT_STRATEGY=redis")


# -- distributed strategy ----------------------------------------------------------------------

def dist(rpm):
    return {"STATEWAVE_RATE_LIMIT_RPM": str(rpm), "STATEWAVE_RATE_LIMIT_STRATEGY": "distributed"}


@test("87.10 distributed rpm=3: 3 pass, the 4th is 429 with the fixed window's Retry-After")
def _(s):
    url = own_database(s, "dist")
    with Servers(s) as ss:
        srv = ss.start(dist(3), url)
        fresh_window()
        for i in range(3):
            r = srv.get("/v1/subjects")
            assert r.status == 200, (i, r)
        r = srv.get("/v1/subjects")
        when = time.time()
        ra = check_429(r, 3)
        assert fixed_retry_after_ok(ra, when), "Retry-After %d at second %d of the minute" % (
            ra, int(when) % 60)
        # Rejected hits count too; the probes stay open.
        check_429(srv.get("/v1/subjects"), 3)
        for p in PROBES:
            assert srv.get(p).status == 200, p


@test("87.11 distributed: two processes on one database share one budget (3 + 3 with rpm=5)")
def _(s):
    url = own_database(s, "shared")
    with Servers(s) as ss:
        a, b = ss.start(dist(5), url, "a"), ss.start(dist(5), url, "b")
        fresh_window()
        got = []
        for srv in (a, b, a, b, a, b):
            got.append(srv.get("/v1/subjects"))
        assert [r.status for r in got[:5]] == [200] * 5, [r.status for r in got]
        check_429(got[5], 5)
        check_429(a.get("/v1/subjects"), 5)


def hold_sqlite_write_lock(url):
    """Take SQLite's write lock on the database of url (sqlite:///abs or sqlite://rel, the
    server's own reading) from another connection; ROLLBACK and close to release it."""
    con = sqlite3.connect(url[len("sqlite://"):], isolation_level=None, timeout=10)
    con.execute("BEGIN IMMEDIATE")
    return con


if pgctl.backend() == "sqlite":

    @test("87.12 distributed fails open: with the SQLite write lock held elsewhere, requests pass")
    def _(s):
        url = own_database(s, "locked")
        with Servers(s) as ss:
            srv = ss.start(dist(1), url)
            fresh_window(margin=10.0)
            con = hold_sqlite_write_lock(url)
            try:
                for i in range(3):
                    r = srv.get("/v1/subjects")
                    assert r.status == 200, "request %d with the limiter's database busy: %r" % (i, r)
            finally:
                con.execute("ROLLBACK")
                con.close()
            # Nothing was counted while failing open: one request passes, then the limit.
            assert srv.get("/v1/subjects").status == 200
            check_429(srv.get("/v1/subjects"), 1)
            with open(srv.log_path, encoding="utf-8", errors="replace") as f:
                log = f.read()
            assert log.count("rate limit: counting in the database failed") == 1, \
                "want one warning per outage, log:\n" + log[-3000:]
            assert "rate limit: counting in the database works again" in log

if pgctl.backend() == "postgres":

    @test("87.13 distributed fails open: with PostgreSQL down no request is 429")
    def _(s):
        cluster = pgctl.Cluster.start()
        try:
            with Servers(s) as ss:
                srv = ss.start(dist(1), cluster.url)
                fresh_window(margin=15.0)
                assert srv.get("/v1/subjects").status == 200
                check_429(srv.get("/v1/subjects"), 1)
                cluster.pause()
                try:
                    for i in range(3):
                        r = srv.get("/v1/subjects")
                        assert r.status != 429, "request %d with the database down: %r" % (i, r)
                        assert r.status in (500, 503), r
                    for p in PROBES[:2]:
                        assert srv.get(p).status == 200, p
                finally:
                    cluster.resume()
        finally:
            cluster.close()


if __name__ == "__main__":
    main()
