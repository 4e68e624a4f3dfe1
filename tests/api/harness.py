"""harness.py - black-box API test harness for Engram (Python 3 standard library only).

A test file (tests/api/NN-name.py) imports this module and registers test functions:

    from harness import test, check_error

    @test("10.1 minimal episode is 201")
    def _(s):
        r = s.post("/v1/episodes", {...})
        assert r.status == 201, r

    @test("05.10 missing key is 401", env={"STATEWAVE_API_KEY": "k"})
    def _(s): ...

Each test receives a Server handle `s`. Tests that share the same `env` share one server
process (started on first use, stopped with SIGTERM when the file is done; a clean exit 0
is itself recorded as a test). Every test makes its own random subject ids (uid()), so
tests may share a database (ENGRAM_TEST_DATABASE_URL) and order never matters.

Environment:
  ENGRAM_BIN                 server binary (default bin/engram, relative to the repo root)
  ENGRAM_TEST_DATABASE_URL   database shared by every server; default: a fresh SQLite file
                             per server in a temporary directory
  ENGRAM_TEST_VERBOSE=1      print the server log of failed tests
"""

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 20.0

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ZTS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
HEX16_RE = re.compile(r"^[0-9a-f]{16}$")


# --------------------------------------------------------------------------------------------
# Small helpers shared by the test files


def uid(prefix="s"):
    """A random id, unique across runs, for subjects and tenants."""
    return "%s-%s" % (prefix, secrets.token_hex(8))


def q(s):
    """Percent-encode one path segment the way encodeURIComponent does (':' and '/' too)."""
    return urllib.parse.quote(s, safe="")


def episode(subject_id, /, **over):
    """A valid POST /v1/episodes body; keyword arguments override or add fields."""
    body = {"subject_id": subject_id, "source": "chat", "type": "message",
            "payload": {"text": "hello"}}
    body.update(over)
    return body


def lsn_value(s):
    """A PostgreSQL LSN "HI/LO" as an integer."""
    hi, lo = s.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def _max_lsn(a, b):
    return b if a is None or lsn_value(b) > lsn_value(a) else a


class Resp:
    """An HTTP response: status, headers (dict, lower-case names), body (parsed JSON when the
    content type says JSON and it parses, else text), raw bytes. Unpacks as a 3-tuple."""

    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        text = self.raw.decode("utf-8", "replace")
        if len(text) > 600:
            text = text[:600] + "…"
        return "HTTP %s %s" % (self.status, text)


def _read_response(resp):
    raw = resp.read()
    headers = {}
    for k, v in resp.getheaders():
        k = k.lower()
        headers[k] = headers[k] + ", " + v if k in headers else v
    body = raw.decode("utf-8", "replace")
    if "json" in headers.get("content-type", ""):
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            pass
    return Resp(resp.status, headers, body, raw)


# --------------------------------------------------------------------------------------------
# Assertions shared by the test files


def check_json_error(r):
    """Every error response: JSON content type, X-Request-ID header, {"error": {...}} body."""
    ct = r.headers.get("content-type", "")
    assert ct.startswith("application/json"), "content-type %r, want application/json: %r" % (ct, r)
    assert r.headers.get("x-request-id"), "no X-Request-ID header: %r" % (r,)
    assert isinstance(r.body, dict) and isinstance(r.body.get("error"), dict), \
        "not an error envelope: %r" % (r,)
    assert list(r.body.keys()) == ["error"], "extra top-level keys: %r" % (r,)
    e = r.body["error"]
    for k, v in e.items():
        assert v is not None, "error.%s is null (must be omitted): %r" % (k, r)
    assert set(e) <= {"code", "message", "details", "request_id"}, "unexpected error keys: %r" % (r,)
    return e


def check_error(r, status, code, message=None, request_id=True):
    """An error envelope with this status and code (and message when given). request_id:
    True = error.request_id must equal the X-Request-ID header; False = must be absent."""
    assert r.status == status, "status %s, want %s: %r" % (r.status, status, r)
    e = check_json_error(r)
    assert e.get("code") == code, "error.code %r, want %r: %r" % (e.get("code"), code, r)
    assert isinstance(e.get("message"), str) and e["message"], "no error.message: %r" % (r,)
    if message is not None:
        assert e["message"] == message, "error.message %r, want %r" % (e["message"], message)
    if request_id:
        assert e.get("request_id") == r.headers.get("x-request-id"), \
            "error.request_id %r != X-Request-ID %r" % (e.get("request_id"), r.headers.get("x-request-id"))
    else:
        assert "request_id" not in e, "middleware envelope must not carry request_id: %r" % (r,)
    return e


def check_422(r, loc=None, input_is=Ellipsis):
    """A 422 validation_error with a well-formed details list; when loc is given, one item has
    exactly that loc (returned). input_is, when given, is the expected `input` of that item."""
    e = check_error(r, 422, "validation_error", "Request validation failed")
    d = e.get("details")
    assert isinstance(d, list) and d, "422 without details: %r" % (r,)
    for item in d:
        assert isinstance(item, dict), "details item not an object: %r" % (item,)
        assert isinstance(item.get("type"), str) and item["type"], "details item without type: %r" % (item,)
        assert isinstance(item.get("msg"), str), "details item without msg: %r" % (item,)
        assert isinstance(item.get("loc"), list) and item["loc"], "details item without loc: %r" % (item,)
        assert item["loc"][0] in ("body", "query", "path", "header"), "bad loc root: %r" % (item,)
        assert "input" in item, "details item without input: %r" % (item,)
        if "ctx" in item:
            assert isinstance(item["ctx"], dict), "ctx not an object: %r" % (item,)
    if loc is None:
        return None
    for item in d:
        if item["loc"] == list(loc):
            if input_is is not Ellipsis:
                assert item["input"] == input_is, "details input %r, want %r" % (item["input"], input_is)
            return item
    raise AssertionError("no details item with loc %r: %r" % (list(loc), d))


# --------------------------------------------------------------------------------------------
# The server under test


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def engram_bin():
    b = os.environ.get("ENGRAM_BIN", "bin/engram")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


class ServerError(Exception):
    pass


class Server:
    """One `engram serve` process on a free port, plus a small HTTP client for it."""

    def __init__(self, env=None, database_url=None, workdir=None, name="server"):
        self.extra_env = dict(env or {})
        self.workdir = workdir or tempfile.mkdtemp(prefix="engram-api-")
        self.name = name
        self.database_url = database_url or os.environ.get("ENGRAM_TEST_DATABASE_URL") or \
            "sqlite:///" + os.path.join(self.workdir, name + ".db")
        self.log_path = os.path.join(self.workdir, name + ".log")
        self.proc = None
        self.port = None
        self.starts = 0

    # -- lifecycle

    def start(self):
        binary = engram_bin()
        if not os.path.exists(binary):
            raise ServerError("server binary %s does not exist (build it: make bin/engram)" % binary)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
        env.update({
            "STATEWAVE_DATABASE_URL": self.database_url,
            "STATEWAVE_HOST": "127.0.0.1",
            "STATEWAVE_PORT": str(self.port),
        })
        # Settings for every server of a run (run_replica.py: read replicas), under the
        # test's own.
        env.update(json.loads(os.environ.get("ENGRAM_TEST_SERVER_ENV") or "{}"))
        env.update(self.extra_env)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(("\n==== start %d: %s serve, env %s\n" % (self.starts, binary, json.dumps(
            dict(self.extra_env, STATEWAVE_DATABASE_URL=self.database_url,
                 STATEWAVE_PORT=str(self.port))))).encode())
        log.flush()
        # cwd is the scratch directory so that no stray .env file is read.
        self.proc = subprocess.Popen([binary, "serve"], env=env, cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerError("server exited with code %s during start-up; log:\n%s"
                                  % (rc, self.log_tail()))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
                c.request("GET", "/healthz")
                resp = c.getresponse()
                resp.read()
                c.close()
                if resp.status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError("GET /healthz did not answer 200 within %.0f s; log:\n%s"
                                  % (START_TIMEOUT, self.log_tail()))
            time.sleep(0.03)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        return data[-n:].decode("utf-8", "replace")

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    # -- client

    def request(self, method, path, body=None, headers=None, query=None, tenant=None):
        """body: None (no body), bytes (sent as is), anything else (JSON-encoded, UTF-8, with
        Content-Type: application/json unless headers names a Content-Type; a header value of
        None means "do not send"). query: dict or list of pairs appended to the path.
        tenant: shorthand for the X-Tenant-ID header."""
        hdrs = {}
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                hdrs["Content-Type"] = "application/json"
        if tenant is not None:
            hdrs["X-Tenant-ID"] = tenant
        for k, v in (headers or {}).items():
            for existing in [h for h in hdrs if h.lower() == k.lower()]:
                del hdrs[existing]
            hdrs[k] = v
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if query:
            sep = "&" if "?" in path else "?"
            path = path + sep + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        # ENGRAM_TEST_READ_AFTER=1: a session-consistent client (docs/SCALING.md, read
        # replicas): every request names the newest X-Engram-LSN this client has seen.
        track = os.environ.get("ENGRAM_TEST_READ_AFTER") == "1"
        if track and getattr(self, "last_lsn", None) and \
                not any(k.lower() == "x-engram-read-after" for k in hdrs):
            hdrs["X-Engram-Read-After"] = self.last_lsn
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = _read_response(c.getresponse())
            if track and r.headers.get("x-engram-lsn"):
                self.last_lsn = _max_lsn(getattr(self, "last_lsn", None),
                                         r.headers["x-engram-lsn"])
            return r
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def raw(self, data, method_is_head=False):
        """Send raw bytes on a fresh connection and parse the response. A server that answers
        early and closes (e.g. 413) is fine: write errors are ignored."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=REQUEST_TIMEOUT)
        try:
            try:
                sock.sendall(data)
            except OSError:
                pass
            resp = http.client.HTTPResponse(sock, method="HEAD" if method_is_head else "GET")
            resp.begin()
            return _read_response(resp)
        finally:
            sock.close()

    # -- domain helpers

    def create(self, subject_id, tenant=None, **over):
        """POST one valid episode; asserts 201 and returns the Episode."""
        r = self.post("/v1/episodes", episode(subject_id, **over), tenant=tenant)
        assert r.status == 201, "creating an episode for %r: %r" % (subject_id, r)
        return r.body

    def batch(self, items, tenant=None):
        r = self.post("/v1/episodes/batch", {"episodes": items}, tenant=tenant)
        assert r.status == 201, "batch of %d: %r" % (len(items), r)
        return r.body

    def timeline(self, subject_id, tenant=None):
        """GET /v1/timeline; asserts 200 and returns the body."""
        r = self.get("/v1/timeline", query={"subject_id": subject_id}, tenant=tenant)
        assert r.status == 200, "timeline of %r: %r" % (subject_id, r)
        return r.body

    def episode_count(self, subject_id, tenant=None):
        return len(self.timeline(subject_id, tenant)["episodes"])

    def all_subjects(self, tenant=None):
        """Every item of GET /v1/subjects, paging with limit=200."""
        out, offset = [], 0
        while True:
            r = self.get("/v1/subjects", query={"limit": 200, "offset": offset}, tenant=tenant)
            assert r.status == 200, "subjects: %r" % (r,)
            out.extend(r.body["subjects"])
            if len(r.body["subjects"]) < 200:
                return out
            offset += 200


# --------------------------------------------------------------------------------------------
# The test framework

_registry = []


class Test:
    def __init__(self, tid, fn, env):
        self.id = tid
        self.fn = fn
        self.env = dict(env or {})


def test(tid, env=None):
    """Register a test function under a stable id such as "10.3 batch of 101 is 422"."""
    def deco(fn):
        _registry.append(Test(tid, fn, env))
        return fn
    return deco


def helpers_of(filename):
    """The module of another test file of this directory (its helpers), without its tests."""
    import importlib.util
    before = len(_registry)
    spec = importlib.util.spec_from_file_location(
        "helpers_" + re.sub(r"\W", "_", filename),
        os.path.join(os.path.dirname(os.path.abspath(__file__)), filename))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    del _registry[before:]
    return mod


def take_registry():
    """Return and clear the tests registered so far (one test file's worth)."""
    global _registry
    tests, _registry = _registry, []
    return tests


class Results:
    def __init__(self, out=sys.stdout):
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.out = out

    def ok(self, tid):
        self.passed += 1
        print("ok %s" % tid, file=self.out, flush=True)

    def fail(self, tid, reason, log=None):
        self.failed += 1
        reason = reason.strip().replace("\n", "\n    ")
        print("FAIL %s: %s" % (tid, reason), file=self.out, flush=True)
        if log:
            print("    server log: %s" % log, file=self.out, flush=True)
        self.failures.append(tid)

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed), file=self.out, flush=True)


def _env_key(env):
    return tuple(sorted(env.items()))


def run_tests(tests, results, workdir, file_tag="t"):
    """Run tests, one server per distinct env (started lazily, in order of first use), and
    record a shutdown test per server."""
    groups = []
    index = {}
    for t in tests:
        k = _env_key(t.env)
        if k not in index:
            index[k] = len(groups)
            groups.append((t.env, []))
        groups[index[k]][1].append(t)
    for gi, (env, group) in enumerate(groups):
        server = Server(env=env, workdir=workdir, name="%s-%d" % (file_tag, gi))
        start_error = None
        try:
            server.start()
        except ServerError as e:
            start_error = str(e)
        for t in group:
            if start_error is not None:
                results.fail(t.id, "server did not start: " + start_error, server.log_path)
                continue
            if not server.alive():
                try:
                    server.start()
                except ServerError as e:
                    results.fail(t.id, "server restart failed: " + str(e), server.log_path)
                    continue
            mark = server.log_size()
            try:
                t.fn(server)
            except AssertionError as e:
                msg = str(e) or "assertion failed at " + _where(e)
                results.fail(t.id, msg + _death_note(server), server.log_path)
            except Exception as e:  # noqa: BLE001 - a test crash is a failure, not an abort
                msg = "%s: %s (at %s)" % (type(e).__name__, e, _where(e))
                results.fail(t.id, msg + _death_note(server), server.log_path)
            else:
                results.ok(t.id)
            if os.environ.get("ENGRAM_TEST_VERBOSE") and results.failures and \
                    results.failures[-1] == t.id:
                with open(server.log_path, "rb") as f:
                    f.seek(mark)
                    sys.stdout.write(f.read().decode("utf-8", "replace")[-3000:])
        if start_error is not None:
            continue
        sid = "%s.99.%d SIGTERM stops the server with exit code 0" % (file_tag.split("-")[0], gi)
        was_alive = server.alive()
        rc = server.stop()
        if not was_alive:
            results.fail(sid, "the server was already dead before SIGTERM (exit %s)" % rc,
                         server.log_path)
        elif rc == 0:
            results.ok(sid)
        elif rc is None:
            results.fail(sid, "no exit within %.0f s of SIGTERM (killed)" % STOP_TIMEOUT,
                         server.log_path)
        else:
            results.fail(sid, "exit code %s after SIGTERM, want 0; log tail:\n%s"
                         % (rc, server.log_tail(1500)), server.log_path)


def _where(e):
    tb = traceback.extract_tb(e.__traceback__)
    for frame in reversed(tb):
        if os.path.basename(frame.filename) != "harness.py":
            return "%s:%d" % (os.path.basename(frame.filename), frame.lineno)
    return "%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno) if tb else "?"


def _death_note(server):
    if server.proc is not None and server.proc.poll() is not None:
        return " [the server died: exit code %s]" % server.proc.returncode
    return ""


def main():
    """Run the tests registered by the calling file (python3 tests/api/10-episodes.py)."""
    tests = take_registry()
    workdir = tempfile.mkdtemp(prefix="engram-api-")
    tag = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    results = Results()
    run_tests(tests, results, workdir, tag)
    if results.failed:
        print("server logs kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    results.summary()
    sys.exit(1 if results.failed else 0)
