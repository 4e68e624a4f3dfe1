#!/usr/bin/env python3
"""fuzz-seeds.py - (re)build the seed corpora fuzz/corpus/<target>/ from the API test suite.

    python3 scripts/fuzz-seeds.py [API test file prefixes...]   (default: every file)

Runs tests/api on SQLite (bin/engram must be built) with the harness's client wrapped so that
every request it sends and every response it gets is recorded, then writes:

  request/         each request as raw HTTP/1.1 bytes, without Content-Length (the target adds
                   it for the body that follows the header block)
  json/            request and response bodies that are JSON
  router/          `METHOD PATH` lines
  ts/              every timestamp-looking string found in the bodies
  backup_import/   subject export documents (bodies of GET /admin/export, "document" of
                   POST /admin/import), each ending in one whitespace byte that picks the
                   target's options (see fuzz/fuzz_backup_import.c)
  payload_import/  memory payloads (responses of POST /admin/memory/export, "payload" of
                   POST /admin/memory/import), with the same option byte
  config/          the STATEWAVE_* settings of each test server as .env text

Files are named by the SHA-1 of their content (libFuzzer's convention), so reruns add only
what is new. At most PER_TARGET files are kept per target, chosen by distinct shape.
"""

import hashlib
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

import harness  # noqa: E402
import run  # noqa: E402

PER_TARGET = 400
MAX_BYTES = 60000          # fuzz/ targets run with -max_len=65536
OPTION_BYTES = [b" ", b"\n", b"\t", b"\r"]   # 0x20, 0x0a, 0x09, 0x0d: different option bits
TS_RE = re.compile(r'"(\d{4}-\d{2}-\d{2}[T ][0-9:.]+(?:Z|[+-]\d{2}(?::?\d{2})?)?)"')

seeds = {t: {} for t in ("request", "json", "router", "ts", "backup_import", "payload_import",
                         "config")}


def add(target, data, shape=None):
    """Keep data (bytes) for target; shape groups similar seeds so one of each is kept
    first."""
    if not data or len(data) > MAX_BYTES:
        return
    key = shape if shape is not None else hashlib.sha1(data).hexdigest()
    bucket = seeds[target].setdefault(key, [])
    if len(bucket) < 3 and data not in bucket:
        bucket.append(data)


def add_json_text(raw):
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    add("json", raw, shape=("json", _shape(doc)))
    for m in TS_RE.finditer(raw.decode("utf-8", "replace")):
        add("ts", m.group(1).encode(), shape=("ts", re.sub(r"\d", "9", m.group(1))))
    return doc


def _shape(v, depth=0):
    if depth > 3:
        return "…"
    if isinstance(v, dict):
        return "{" + ",".join("%s:%s" % (k, _shape(x, depth + 1)) for k, x in sorted(v.items())[:12]) + "}"
    if isinstance(v, list):
        return "[" + (_shape(v[0], depth + 1) if v else "") + "]"
    return type(v).__name__


def add_doc(target, doc, n):
    raw = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    add(target, raw + OPTION_BYTES[n % len(OPTION_BYTES)], shape=(target, _shape(doc), n % 4))


counter = [0]


def record(method, path, body, headers, resp):
    route = re.sub(r"/[^/?]*-[0-9a-f]{6,}[^/?]*", "/ID", path.split("?")[0])
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    for k, v in (headers or {}).items():
        if v is not None and k.lower() != "content-length":
            head += "%s: %s\r\n" % (k, v)
    data = (head + "\r\n").encode("utf-8", "surrogateescape") + (body or b"")
    add("request", data, shape=(method, route, len(body or b"") > 0, _shape_of_bytes(body)))
    add("router", ("%s %s" % (method, path)).encode("utf-8", "surrogateescape"),
        shape=(method, route))
    req_doc = add_json_text(body) if body else None
    resp_doc = add_json_text(resp.raw) if "json" in resp.headers.get("content-type", "") else None
    counter[0] += 1
    n = counter[0]
    if isinstance(req_doc, dict):
        if route.startswith("/admin/import") and isinstance(req_doc.get("document"), dict):
            add_doc("backup_import", req_doc["document"], n)
        if route.startswith("/admin/memory/import") and isinstance(req_doc.get("payload"), dict):
            add_doc("payload_import", req_doc["payload"], n)
    if isinstance(resp_doc, dict):
        if route.startswith("/admin/export") and resp.status == 200:
            add_doc("backup_import", resp_doc, n)
        if route.startswith("/admin/memory/export") and resp.status == 200:
            add_doc("payload_import", resp_doc, n)


def _shape_of_bytes(body):
    if not body:
        return None
    try:
        return _shape(json.loads(body))
    except ValueError:
        return "raw"


def wrap():
    """Record at the wire: what http.client sends (the harness builds the request) and the
    response the harness reads for it, on the same thread."""
    import http.client
    import threading
    last = threading.local()
    orig_send = http.client.HTTPConnection.request
    orig_read = harness._read_response
    orig_start = harness.Server.start

    def send(self, method, url, body=None, headers=None, **kw):
        last.req = (method, url, body, dict(headers or {}))
        return orig_send(self, method, url, body=body, headers=headers or {}, **kw)

    def read(resp):
        r = orig_read(resp)
        req, last.req = getattr(last, "req", None), None
        if req is not None:
            try:
                record(req[0], req[1], req[2], req[3], r)
            except Exception as e:  # noqa: BLE001 - recording must never fail a test
                print("fuzz-seeds: not recorded: %s" % e, file=sys.stderr)
        return r

    def start(self):
        env = "".join("%s=%s\n" % (k, v) for k, v in sorted(self.extra_env.items())
                      if k.upper().startswith("STATEWAVE_"))
        if env:
            add("config", env.encode(), shape=("config", env))
        return orig_start(self)

    http.client.HTTPConnection.request = send
    harness._read_response = read
    harness.Server.start = start


def write():
    for target, groups in seeds.items():
        out = os.path.join(ROOT, "fuzz", "corpus", target)
        os.makedirs(out, exist_ok=True)
        kept = 0
        for rank in range(3):   # one seed of each shape first, then seconds, then thirds
            for bucket in groups.values():
                if rank < len(bucket) and kept < PER_TARGET:
                    data = bucket[rank]
                    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
                        f.write(data)
                    kept += 1
        print("fuzz-seeds: %-15s %d seeds" % (target, kept))


def main(argv):
    os.environ.pop("ENGRAM_TEST_DATABASE_URL", None)
    wrap()
    rc = run.main(argv)
    write()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
