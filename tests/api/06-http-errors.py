"""06-http-errors: requests whose HTTP framing is broken (issue 14, defect 8). Every one is
answered with the JSON error envelope and an X-Request-ID (never libmicrohttpd's HTML page),
after the answers to the requests before it on the connection, then the connection closes;
the refusal is logged as one JSON line; the server stays healthy. Raw sockets throughout."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import episode, main, test, uid  # noqa: E402

BODY_LIMIT = 1048576
ENV = {"STATEWAVE_MAX_BODY_BYTES": str(BODY_LIMIT)}


def read_all(sock, timeout=10):
    """Every byte until the server closes (a server that never closes fails the test)."""
    sock.settimeout(timeout)
    out = b""
    t0 = time.monotonic()
    while True:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            raise AssertionError("connection reset after %r" % out[:200])
        except socket.timeout:
            raise AssertionError("no close within %ss; got %r" % (timeout, out[:300]))
        if not d:
            return out
        out += d
        assert time.monotonic() - t0 < timeout, "still reading after %ss" % timeout


def parse_responses(data):
    """[(status, {lower-case header: value}, body)] for the responses in data, each framed
    by its Content-Length."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "incomplete response head: %r" % data[:300]
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0] == "HTTP/1.1", lines[0]
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        assert len(rest) >= n, "short body: %r" % rest
        out.append((int(parts[1]), headers, rest[:n]))
        data = rest[n:]
    return out


def exchange(s, data, timeout=10):
    """Send data on a fresh connection (the server may answer before all of it is read),
    read until the server closes, and return the parsed responses."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
        except OSError:
            pass
        return parse_responses(read_all(sock, timeout))
    finally:
        sock.close()


def log_lines(s, mark):
    time.sleep(0.1)
    with open(s.log_path, "rb") as f:
        f.seek(mark)
        text = f.read().decode("utf-8")
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def check_refused(s, data, status, message, request_id=None):
    """data gets exactly one answer: status with the envelope (code http_error, message,
    request_id == X-Request-ID); it is logged as one JSON request line with the reason; every
    new log line is JSON and none comes from libmicrohttpd; the server still answers."""
    mark = s.log_size()
    resps = exchange(s, data)
    assert len(resps) == 1, resps
    got, headers, body = resps[0]
    assert got == status, "status %s, want %s: %r" % (got, status, body)
    assert headers.get("content-type") == "application/json", headers
    rid = headers.get("x-request-id")
    assert rid, headers
    if request_id:
        assert rid == request_id, (rid, request_id)
    err = json.loads(body)["error"]
    assert err == {"code": "http_error", "message": message, "request_id": rid}, err
    lines = log_lines(s, mark)
    refused = [ln for ln in lines if ln.get("request_id") == rid]
    assert len(refused) == 1, lines
    assert refused[0]["msg"] == "request" and refused[0]["status"] == status, refused
    assert refused[0]["refused"] == message, refused
    assert not [ln for ln in lines if "libmicrohttpd" in ln.get("msg", "")], lines
    assert s.get("/healthz").status == 200
    return err


GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
POST = b"POST /v1/episodes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


def episode_body():
    return json.dumps(episode(uid())).encode()


@test("06.1 a malformed request line is 400 with the envelope", env=ENV)
def _(s):
    for data in [b"GARBAGE\r\n\r\n", b"GET /healthz\r\nHost: t\r\n\r\n",
                 b"GET  /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
                 b"GET /heal\x01thz HTTP/1.1\r\nHost: t\r\n\r\n",
                 b"GET /healthz HTTP/1.1 extra\r\nHost: t\r\n\r\n",
                 b"GET /healthz HTTP/1.1\rHost: t\r\n\r\n",
                 b"GET /healthz HTTP/x.y\r\nHost: t\r\n\r\n",
                 b"G(T /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
                 b"\r\n" * 20 + b"GET /healthz HTTP/1.1\r\n\r\n"]:
        check_refused(s, data, 400, "Malformed request line")


@test("06.2 an HTTP major version other than 1 is 505 with the envelope", env=ENV)
def _(s):
    for v in [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/3.1"]:
        check_refused(s, b"GET /healthz " + v + b"\r\nHost: t\r\n\r\n", 505,
                      "HTTP Version Not Supported (only HTTP/1.0 and HTTP/1.1)")
    # HTTP/1.0 and empty lines before the request line are fine.
    resps = exchange(s, b"\r\nGET /healthz HTTP/1.0\r\n\r\n")
    assert [r[0] for r in resps] == [200], resps


@test("06.3 a bad Content-Length is 400, an overflowing one 413, with the envelope", env=ENV)
def _(s):
    for v in [b"abc", b"-1", b"1 2", b"", b"0x10", b"+5"]:
        check_refused(s, POST + b"Content-Length: " + v + b"\r\n\r\n", 400,
                      "Invalid Content-Length header")
    for v in [b"99999999999999999999999", b"9223372036854775808", b"9" * 300]:
        check_refused(s, POST + b"Content-Length: " + v + b"\r\n\r\n", 413,
                      "Request body too large (limit %d bytes)" % BODY_LIMIT)
    check_refused(s, POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
                  "Conflicting Content-Length headers")
    # The same length twice is one length: the request goes through.
    body = episode_body()
    n = str(len(body)).encode()
    resps = exchange(s, POST + b"Content-Length: " + n + b"\r\nContent-Length: " + n +
                     b"\r\nConnection: close\r\n\r\n" + body)
    assert [r[0] for r in resps] == [201], resps


def chunked(body, ext=b"", trailer=b""):
    return (b"%x" % len(body)) + ext + b"\r\n" + body + b"\r\n0\r\n" + trailer + b"\r\n"


TE = POST + b"Transfer-Encoding: chunked\r\n"


@test("06.4 bad chunked framing is 400 (an overflowing size 413), other codings 501", env=ENV)
def _(s):
    # (whitespace before a chunk extension is refused too: libmicrohttpd would not take it)
    bad = [b"zz\r\n", b"5x\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXY0\r\n\r\n", b"5 ;a=b\r\n",
           b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n", b";ext\r\n", b"5\r\nhello\r\n0\r\n\r"
           b"X"]
    for body in bad:
        check_refused(s, TE + b"\r\n" + body, 400, "Malformed chunked encoding")
    check_refused(s, TE + b"\r\n" + b"1" * 17 + b"\r\n", 413,
                  "Request body too large (limit %d bytes)" % BODY_LIMIT)
    check_refused(s, TE + b"Content-Length: 3\r\n\r\n0\r\n\r\n", 400,
                  "Both Content-Length and Transfer-Encoding")
    check_refused(s, POST.replace(b"HTTP/1.1", b"HTTP/1.0") +
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                  "Transfer-Encoding in an HTTP/1.0 request")
    for te in [b"gzip", b"gzip, chunked", b"chunked, gzip"]:
        check_refused(s, POST + b"Transfer-Encoding: " + te + b"\r\n\r\n", 501,
                      "Transfer-Encoding not supported (only chunked)")
    check_refused(s, TE + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
                  "Repeated Transfer-Encoding header")
    # Well-formed chunks, with an extension and a trailer, are stored.
    resps = exchange(s, TE + b"Connection: close\r\n\r\n" +
                     chunked(episode_body(), b";a=b", b"X-Trailer: 1\r\n"))
    assert [r[0] for r in resps] == [201], resps


@test("06.5 a request target over 8 KiB or 256 arguments is 414; headers over 16 KiB or "
      "100 fields are 431", env=ENV)
def _(s):
    for n in (8193, 70000):
        check_refused(s, b"GET /v1/subjects?x=" + b"a" * n + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                      414, "URI Too Long (limit 8192 bytes)")
    check_refused(s, b"GET /v1/subjects?" + b"a=1&" * 300 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                  414, "URI Too Long (limit 256 query arguments)")
    for n in (17000, 100000):
        check_refused(s, GET + b"X-Pad: " + b"p" * n + b"\r\n\r\n", 431,
                      "Request Header Fields Too Large (limit 16384 bytes)")
    check_refused(s, GET + b"".join(b"X-F%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431,
                  "Request Header Fields Too Large (limit 100 fields)")
    # Just within every limit: answered by the server, not refused.
    resps = exchange(s, b"GET /healthz?" + b"a=1&" * 200 + b" HTTP/1.1\r\nHost: t\r\n" +
                     b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 100) for i in range(90)) +
                     b"Connection: close\r\n\r\n")
    assert [r[0] for r in resps] == [200], resps


@test("06.6 a malformed header line is 400 with the envelope", env=ENV)
def _(s):
    for line in [b"NoColonHere", b"Bad Name: x", b"Name : x", b" folded", b"\tfolded",
                 b"X-A: a\x00b", b"X-A: a\rb", b": empty-name", b"X-A: a\x7fb"]:
        check_refused(s, GET + b"X-Ok: 1\r\n" + line + b"\r\n\r\n", 400,
                      "Malformed header line")


@test("06.7 a client's X-Request-ID is kept on a refused request (quotes escaped in JSON)",
      env=ENV)
def _(s):
    check_refused(s, POST + b"X-Request-ID: my-id-06.7\r\nContent-Length: nope\r\n\r\n", 400,
                  "Invalid Content-Length header", request_id="my-id-06.7")
    check_refused(s, POST + b'X-Request-ID: a"b\\c\r\nContent-Length: nope\r\n\r\n', 400,
                  "Invalid Content-Length header", request_id='a"b\\c')


@test("06.8 pipelined: the requests before a broken one are answered first, in order",
      env=ENV)
def _(s):
    body = episode_body()
    data = (GET + b"\r\n" + POST + b"Content-Length: %d\r\n\r\n" % len(body) + body +
            GET + b"\r\n" + b"BROKEN LINE\r\n\r\n" + GET + b"\r\n")
    resps = exchange(s, data)
    assert [r[0] for r in resps] == [200, 201, 200, 400], resps
    assert json.loads(resps[3][2])["error"]["message"] == "Malformed request line"
    assert resps[3][1]["connection"] == "close"
    # A chunk broken in the middle of a body: nothing of that request is stored.
    sid = uid()
    good = json.dumps(episode(sid)).encode()
    resps = exchange(s, TE + b"\r\n14\r\n" + good[:20] + b"\r\nzz\r\n")
    assert [r[0] for r in resps] == [400], resps
    assert s.episode_count(sid) == 0
    assert s.get("/healthz").status == 200


@test("06.11 a client that stops sending mid-request: the answers to the complete requests "
      "before it, then the connection closes at once", env=ENV)
def _(s):
    for data, answers in [(GET + b"\r\n" + GET + b"\r\nGET /hea", 2),
                          (GET + b"X-Half: 1\n", 0),
                          (POST + b"Content-Length: 50\r\n\r\n{", 0),
                          (GET + b"\r\n", 1)]:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            t0 = time.monotonic()
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            resps = parse_responses(read_all(sock, timeout=5))
            took = time.monotonic() - t0
        finally:
            sock.close()
        assert [r[0] for r in resps] == [200] * answers, resps
        assert took < 2, "closed after %.1f s" % took
    assert s.get("/healthz").status == 200


@test("06.9 the answer reaches a client still sending its body (no reset)", env=ENV)
def _(s):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    errors = []

    def send_body():
        try:
            for _ in range(64):
                sock.sendall(b"x" * 16384)
        except OSError as e:
            errors.append(e)

    try:
        sock.sendall(POST + b"Content-Length: 1048576\r\nBad Header\r\n\r\n")
        t = threading.Thread(target=send_body)
        t.start()
        data = read_all(sock)
        t.join()
    finally:
        sock.close()
    resps = parse_responses(data)
    assert [r[0] for r in resps] == [400], resps
    assert json.loads(resps[0][2])["error"]["message"] == "Malformed header line"


@test("06.10 a refused request counts in /metrics under route unmatched", env=ENV)
def _(s):
    def count():
        r = s.get("/metrics")
        assert r.status == 200, r
        text = r.raw.decode()
        return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
                   if ln.startswith("engram_http_requests_total") and 'status="505"' in ln)
    before = count()
    exchange(s, b"GET /healthz HTTP/2.0\r\n\r\n")
    assert count() == before + 1


if __name__ == "__main__":
    main()
