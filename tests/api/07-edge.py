"""07-edge: the HTTP edge under attack (issue 14 defects 1, 2, 3, 8 and 10): memory bounded by
the body, nothing read or allocated before the headers are accepted, connection caps and the
header timeout, libmicrohttpd's own errors, and a 413 that reaches a client still sending."""

import errno
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_error, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

MIB = 1024 * 1024
KEY = "edge-key-1"


def proc_status(s):
    """VmHWM, VmRSS and VmSize of the server process, in bytes."""
    out = {}
    with open("/proc/%d/status" % s.proc.pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "VmSize"):
                out[k] = int(v.split()[0]) * 1024
    return out


def sanitized(s):
    """True when the server runs under AddressSanitizer (make SAN=1): its redzones and
    quarantine make memory figures meaningless, so the bounds are not checked there."""
    with open("/proc/%d/maps" % s.proc.pid) as f:
        return "libasan" in f.read()


def settle_rss(s, ceiling, tries=20):
    """The server's VmRSS once it is at or below ceiling (it may take a moment for the
    worker to finish freeing), or its last value."""
    rss = proc_status(s)["VmRSS"]
    for _ in range(tries):
        if rss <= ceiling:
            break
        time.sleep(0.05)
        rss = proc_status(s)["VmRSS"]
    return rss


def post_raw(s, path, body, headers=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), raw
    finally:
        c.close()


def zeros_body(nbytes, token=b"0"):
    """An episode whose payload is one array of `token`s, about nbytes long."""
    n = nbytes // (len(token) + 1)
    return (b'{"subject_id":"' + uid().encode() + b'","source":"c","type":"t",'
            b'"payload":{"a":[' + b",".join([token] * n) + b"]}}")


def envelope(raw, headers, status, code, got_status):
    assert got_status == status, "status %s, want %s: %r" % (got_status, status, raw[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert headers.get("x-request-id"), headers
    body = json.loads(raw)
    assert body["error"]["code"] == code, body
    return body["error"]


# -- defect 1: memory amplification ------------------------------------------------------------

MEM = {"STATEWAVE_WORKERS": "2", "STATEWAVE_MAX_CONNECTIONS": "1000"}


@test("07.1 a 20 MB array of zeros is 413 (parse over budget); peak <= 8x the body, back to idle",
      env=MEM)
def _(s):
    idle = proc_status(s)
    body = zeros_body(20 * MIB)
    status, headers, raw = post_raw(s, "/v1/episodes", body)
    e = envelope(raw, headers, 413, "http_error", status)
    assert e["message"].startswith("Request body too complex: its JSON would take more than"), e
    assert e["request_id"] == headers["x-request-id"], e
    if sanitized(s):
        return
    after = proc_status(s)
    peak = after["VmHWM"] - idle["VmRSS"]
    assert peak <= 8 * len(body), "peak %d MiB over idle for a %d MiB body" % (
        peak // MIB, len(body) // MIB)
    rss = settle_rss(s, idle["VmRSS"] + 32 * MIB)
    assert rss - idle["VmRSS"] <= 32 * MIB, "RSS %d MiB after, idle %d MiB" % (
        rss // MIB, idle["VmRSS"] // MIB)


@test("07.2 a 10 MB payload within the parse budget is stored; RSS returns within 32 MiB of idle",
      env=MEM)
def _(s):
    idle = proc_status(s)["VmRSS"]
    # 15-digit numbers: the densest nodes that are not shared (about 5 times their text).
    body = zeros_body(10 * MIB, token=b"123456789012345")
    status, headers, raw = post_raw(s, "/v1/episodes", body)
    assert status == 201, raw[:300]
    assert json.loads(raw)["payload"]["a"][-1] == 123456789012345
    if sanitized(s):
        return
    rss = settle_rss(s, idle + 32 * MIB)
    assert rss - idle <= 32 * MIB, "RSS %d MiB after, idle %d MiB" % (rss // MIB, idle // MIB)


@test("07.3 the parse budget also guards /admin/import: 413 with the envelope")
def _(s):
    body = b'{"document":{"x":[' + b",".join([b"10"] * 3000000) + b"]}}"
    status, headers, raw = post_raw(s, "/admin/import", body)
    e = envelope(raw, headers, 413, "http_error", status)
    assert e["message"].startswith("Request body too complex"), e


# -- defect 2: work before auth ----------------------------------------------------------------

KEYED = {"STATEWAVE_API_KEY": KEY}


def raw_exchange(s, data, method="GET", timeout=10):
    """Send raw bytes (a request head alone, or a whole request) on a fresh connection and
    read the answer that comes back."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    try:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        raw = resp.read()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), raw
    finally:
        sock.close()


def big_post_head(path="/v1/episodes", key=None, length=50 * MIB, method="POST"):
    h = "%s %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" % (method, path)
    if key is not None:
        h += "X-API-Key: %s\r\n" % key
    h += "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % length
    return h.encode()


@test("07.4 401/403/404/405 come before the body: a 50 MB declared body is never sent", env=KEYED)
def _(s):
    status, headers, raw = raw_exchange(s, big_post_head(key=None), "POST")
    assert status == 401 and json.loads(raw)["error"]["code"] == "missing_api_key", raw
    status, headers, raw = raw_exchange(s, big_post_head(key="wrong"), "POST")
    assert status == 403 and json.loads(raw)["error"]["code"] == "invalid_api_key", raw
    assert headers.get("x-request-id"), headers
    status, headers, raw = raw_exchange(s, big_post_head(path="/v1/nowhere", key=KEY), "POST")
    e = envelope(raw, headers, 404, "http_error", status)
    assert e["message"] == "Not Found", e
    status, headers, raw = raw_exchange(s, big_post_head(path="/v1/timeline", key=KEY), "POST")
    e = envelope(raw, headers, 405, "http_error", status)
    assert e["message"] == "Method Not Allowed", e
    # The right key gets 100 Continue: the server is ready to read the body.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        sock.sendall(big_post_head(key=KEY))
        assert sock.recv(64).startswith(b"HTTP/1.1 100"), "no 100 Continue for an accepted head"
    finally:
        sock.close()


@test("07.5 200 header-only connections declaring 60 MB allocate nothing (VmSize, VmRSS)",
      env=KEYED)
def _(s):
    before = proc_status(s)
    socks = []
    try:
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(("POST /v1/episodes HTTP/1.1\r\nHost: t\r\nX-API-Key: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                       % (KEY, 60 * MIB)).encode())
            socks.append(c)
        time.sleep(0.5)   # let the workers read every head
        during = proc_status(s)
        r = s.get("/healthz")
        assert r.status == 200, r
    finally:
        for c in socks:
            c.close()
    assert during["VmSize"] - before["VmSize"] < 256 * MIB, "VmSize grew by %d MiB" % (
        (during["VmSize"] - before["VmSize"]) // MIB)
    assert during["VmRSS"] - before["VmRSS"] < 32 * MIB, "VmRSS grew by %d MiB" % (
        (during["VmRSS"] - before["VmRSS"]) // MIB)


INFLIGHT = {"STATEWAVE_MAX_INFLIGHT_BODY_BYTES": "100000"}


@test("07.6 past STATEWAVE_MAX_INFLIGHT_BODY_BYTES: 503 service_unavailable with Retry-After",
      env=INFLIGHT)
def _(s):
    sid = uid()
    doc = json.dumps(episode(sid, payload={"text": "x" * 80000})).encode()
    held = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        held.sendall(("POST /v1/episodes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                      "\r\nContent-Length: %d\r\n\r\n" % len(doc)).encode() + doc[:-10])
        time.sleep(0.3)   # the server holds 80 KB of this body
        second = json.dumps(episode(uid(), payload={"text": "y" * 40000})).encode()
        status, headers, raw = post_raw(s, "/v1/episodes", second)
        e = envelope(raw, headers, 503, "service_unavailable", status)
        assert headers.get("retry-after") == "1", headers
        assert e["request_id"] == headers["x-request-id"], e
        held.sendall(doc[-10:])
        resp = http.client.HTTPResponse(held, method="POST")
        resp.begin()
        assert resp.status == 201, resp.read()
        resp.read()
    finally:
        held.close()
    # Nothing held any more: the same request now passes.
    status, headers, raw = post_raw(s, "/v1/episodes", second)
    assert status == 201, raw[:300]
    assert s.episode_count(sid) == 1


# -- defect 3: connection exhaustion -----------------------------------------------------------

PER_IP = {"STATEWAVE_MAX_CONNECTIONS_PER_IP": "8"}


def is_closed(sock, wait):
    """True when the server closed sock within wait seconds (EOF or reset)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


@test("07.7 idle connections past the per-IP cap are closed; another address is served",
      env=PER_IP)
def _(s):
    # From an address of their own (127.0.0.3), so that no other connection of the harness
    # counts against the cap.
    socks = [socket.create_connection(("127.0.0.1", s.port), source_address=("127.0.0.3", 0))
             for _ in range(12)]
    try:
        time.sleep(0.3)
        closed = [is_closed(c, 0.5) for c in socks]
        assert closed.count(False) == 8 and closed.count(True) == 4, closed
        # Another client (a different loopback address) still gets served.
        other = socket.socket()
        other.bind(("127.0.0.2", 0))
        other.connect(("127.0.0.1", s.port))
        other.settimeout(10)
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = http.client.HTTPResponse(other, method="GET")
        resp.begin()
        assert resp.status == 200
        other.close()
    finally:
        for c in socks:
            c.close()
    time.sleep(0.3)
    assert s.get("/healthz").status == 200   # the slots came back


@test("07.13 a flood of refused connections is not a flood of log lines", env=PER_IP)
def _(s):
    mark = s.log_size()
    t0 = time.monotonic()
    socks = [socket.create_connection(("127.0.0.1", s.port), source_address=("127.0.0.4", 0))
             for _ in range(80)]
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    for c in socks:
        c.close()
    with open(s.log_path, "rb") as f:
        f.seek(mark)
        lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                 if "relay: connection refused" in ln]
    assert lines, "the refusals were not logged at all"
    assert len(lines) <= 10 * (int(elapsed) + 2), "%d lines for 72 refusals in %.1f s" % (
        len(lines), elapsed)


HEADER_TIMEOUT = {"STATEWAVE_HEADER_TIMEOUT_SECONDS": "1",
                  "STATEWAVE_CONNECTION_TIMEOUT_SECONDS": "30"}


@test("07.8 a connection without a complete header is closed after the header timeout; "
      "keep-alive after a request keeps the longer timeout", env=HEADER_TIMEOUT)
def _(s):
    idle = socket.create_connection(("127.0.0.1", s.port))
    partial = socket.create_connection(("127.0.0.1", s.port))
    served = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        served.request("GET", "/healthz")
        r = served.getresponse()
        r.read()
        assert r.status == 200
        assert is_closed(idle, 8), "an idle connection outlived the 1 s header timeout"
        assert is_closed(partial, 8), "a half-sent header outlived the 1 s header timeout"
        time.sleep(1.5)
        served.request("GET", "/healthz")   # same connection, past the header timeout
        r = served.getresponse()
        r.read()
        assert r.status == 200
    finally:
        idle.close()
        partial.close()
        served.close()


@test("07.14 a header trickled a byte at a time is cut off at the header timeout",
      env=HEADER_TIMEOUT)
def _(s):
    sock = socket.create_connection(("127.0.0.1", s.port))
    t0 = time.monotonic()
    cut = None
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        # One byte every 0.3 s: never idle for the 1 s idle timeout, for up to 8 s.
        while time.monotonic() - t0 < 8:
            try:
                sock.sendall(b"X")
            except OSError:
                cut = time.monotonic() - t0
                break
            if is_closed(sock, 0.3):
                cut = time.monotonic() - t0
                break
    finally:
        sock.close()
    assert cut is not None, "a trickled header kept its connection for 8 s (header timeout 1 s)"
    assert s.get("/healthz").status == 200


# -- defect 8: errors that are not ours --------------------------------------------------------


@test("07.9 a request target over 8 KiB is 414 and headers over 16 KiB are 431, with the envelope")
def _(s):
    status, headers, raw = raw_exchange(
        s, b"GET /v1/subjects?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    e = envelope(raw, headers, 414, "http_error", status)
    assert e["request_id"] == headers["x-request-id"], e
    status, headers, raw = raw_exchange(
        s, b"GET /v1/subjects HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 20000 + b"\r\n\r\n")
    e = envelope(raw, headers, 431, "http_error", status)
    assert e["request_id"] == headers["x-request-id"], e


@test("07.10 broken requests reach the log as JSON lines, none of them libmicrohttpd's")
def _(s):
    mark = s.log_size()
    bad = [
        b"POST /v1/episodes HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/episodes HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 100000 + b"\r\n\r\n",
    ]
    for data in bad:
        status, _, _ = raw_exchange(s, data)
        assert 400 <= status < 500, status
    time.sleep(0.2)
    with open(s.log_path, "rb") as f:
        f.seek(mark)
        lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    refused = 0
    for ln in lines:
        obj = json.loads(ln)   # every line is a JSON object
        assert isinstance(obj, dict) and "level" in obj, ln
        assert not obj.get("msg", "").startswith("libmicrohttpd: "), ln
        refused += obj.get("msg") == "request" and "refused" in obj
    assert refused == 3, lines


# -- defect 10: the 413 reaches a client still sending -----------------------------------------

SMALL = {"STATEWAVE_MAX_BODY_BYTES": "65536", "STATEWAVE_API_KEY": KEY}


def urllib_post(s, data, key=KEY, chunked=False):
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    if chunked:
        data = iter([data[i:i + 65536] for i in range(0, len(data), 65536)])
        headers["Transfer-Encoding"] = "chunked"
    req = urllib.request.Request("http://127.0.0.1:%d/v1/episodes" % s.port, data=data,
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


@test("07.11 urllib posting 4 MB over a 64 KiB cap gets the 413, not a broken pipe", env=SMALL)
def _(s):
    status, headers, raw = urllib_post(s, b"x" * (4 * MIB))
    e = envelope(raw, headers, 413, "http_error", status)
    assert e["message"] == "Request body too large (limit 65536 bytes)", e
    status, headers, raw = urllib_post(s, b"x" * (4 * MIB), chunked=True)
    envelope(raw, headers, 413, "http_error", status)


@test("07.12 urllib posting 4 MB with a wrong key gets the 403, not a broken pipe", env=SMALL)
def _(s):
    status, headers, raw = urllib_post(s, b"x" * (4 * MIB), key="wrong")
    assert status == 403, raw
    assert json.loads(raw) == {"error": {"code": "invalid_api_key", "message": "Invalid API key."}}
    status, headers, raw = urllib_post(s, json.dumps(episode(uid())).encode())
    assert status == 201, raw


# -- defect 6, for real: the disk fills up under a running server ------------------------------

FULL_MESSAGE = "The database is out of space; writes are refused until space is freed."


def mount_small_fs(path, size="8m"):
    """A tmpfs of `size` at path; None when mounting is not permitted here, else the path."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        return None
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path],
                       capture_output=True, text=True)
    return path if r.returncode == 0 else None


def fill(path):
    """Write a file at path until the file system is full; returns its size."""
    n = 0
    chunk = b"f" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                return n


def until(what, fn, limit=8.0):
    t0 = time.monotonic()
    while True:
        r = fn()
        if r:
            return r
        assert time.monotonic() - t0 < limit, "%s: not within %.0f s" % (what, limit)
        time.sleep(0.1)


def big_episode(sid, kb=48):
    return episode(sid, payload={"text": os.urandom(kb * 512).hex()})


if pgctl.backend() == "sqlite":

    @test("07.15 the disk really fills under a running SQLite server: writes 503 database_full "
          "with Retry-After, /readyz 503 with the reason, reads 200; space freed: ready and "
          "201 without a restart")
    def _(s):
        mnt = mount_small_fs(os.path.join(s.workdir, "small-fs"))
        if not mnt:
            print("    07.15 skipped: mounting a tmpfs is not permitted here (needs root and "
                  "CAP_SYS_ADMIN); disk full stays covered by tests/unit/test_store_faults.c")
            return
        srv = Server(database_url="sqlite:///" + os.path.join(mnt, "full.db"),
                     workdir=s.workdir, name=s.name + "-full")
        filler = os.path.join(mnt, "filler")
        try:
            srv.start()
            sid = uid()
            for _ in range(3):
                assert srv.post("/v1/episodes", big_episode(sid)).status == 201
            assert srv.get("/readyz").status == 200
            fill(filler)
            # Writes go on into space SQLite already holds, then fail: never with 500.
            stored, full = 3, None
            for _ in range(400):
                r = srv.post("/v1/episodes", big_episode(sid))
                if r.status == 201:
                    stored += 1
                    continue
                full = r
                break
            assert full is not None, "the disk never filled up"
            check_error(full, 503, "database_full", FULL_MESSAGE)
            ra = full.headers.get("retry-after", "")
            assert ra.isdigit() and int(ra) >= 1, full.headers
            r = srv.post("/v1/episodes/batch", {"episodes": [big_episode(sid) for _ in range(4)]})
            check_error(r, 503, "database_full", FULL_MESSAGE)
            # Readiness says why.
            r = until("readyz 503", lambda: (lambda r: r if r.status == 503 else None)(
                srv.get("/readyz")))
            assert r.body.get("status") == "not_ready", r
            db = {c.get("name"): c for c in r.body["checks"]}["database"]
            assert db.get("status") == "fail", db
            assert db.get("detail") == "database_full: " + FULL_MESSAGE, db
            # Reads still answer, with everything acknowledged.
            r = srv.get("/v1/timeline", query={"subject_id": sid})
            assert r.status == 200 and len(r.body["episodes"]) == stored, (stored, r)
            assert srv.get("/healthz").status == 200
            # Space freed: ready again and writing, without a restart.
            os.unlink(filler)
            until("readyz 200", lambda: srv.get("/readyz").status == 200)
            r = srv.post("/v1/episodes", big_episode(sid))
            assert r.status == 201, r
            r = srv.get("/v1/timeline", query={"subject_id": sid})
            assert r.status == 200 and len(r.body["episodes"]) == stored + 1, r
            assert srv.stop() == 0
            log = open(srv.log_path, encoding="utf-8").read()
            assert "database_full" in log or "database or disk is full" in log, log[-2000:]
        finally:
            srv.kill()
            subprocess.run(["umount", "-l", mnt], capture_output=True)


if __name__ == "__main__":
    main()
