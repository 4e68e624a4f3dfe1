"""90-export: GET /admin/export/{subject_id} and `engram export` (spec/backup-snapshots.md §1,
§2; spec/api.md §6.1). The document's shape and key order, the checksum recomputed the
reference way (Python json.dumps(sort_keys=True)), 404s decided before any byte, tenant
scoping (query, header, 403 on a mismatch), the (created_at, id) order, reproducible
exports, a 20,000-episode subject streamed with bounded server memory and imported again,
and the CLI (same document as the endpoint, atomic files, exit codes)."""

import hashlib
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_error, engram_bin, episode, main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

DIMS = "8"
ENV = {"STATEWAVE_EMBEDDING_DIMENSIONS": DIMS}
KEYED = dict(ENV, STATEWAVE_API_KEY="k-export")

TOP_KEYS = ["format_version", "exported_at", "subject_id", "tenant_id", "counts", "episodes",
            "memories", "checksum"]
EPISODE_KEYS = ["id", "subject_id", "tenant_id", "session_id", "source", "type", "payload",
                "metadata", "provenance", "created_at", "last_compiled_at"]
MEMORY_KEYS = ["id", "subject_id", "tenant_id", "kind", "content", "summary", "confidence",
               "valid_from", "valid_to", "source_episode_ids", "metadata", "status",
               "sensitivity_labels", "embedding", "created_at", "updated_at"]
OFFSET_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
EXPORTED_AT = re.compile(rb'"exported_at":"[^"]*"')


# -- helpers ------------------------------------------------------------------------------------

def checksum(doc):
    """The reference algorithm (§2.1)."""
    canon = json.dumps({"episodes": doc.get("episodes", []), "memories": doc.get("memories", [])},
                       sort_keys=True)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def export(s, sid, tenant=None, query_tenant=None, status=200):
    query = {"tenant_id": query_tenant} if query_tenant is not None else None
    r = s.get("/admin/export/" + q(sid), tenant=tenant, query=query)
    assert r.status == status, "export of %r: %r" % (sid, r)
    return r


def export_doc(s, sid, **kw):
    r = export(s, sid, **kw)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    doc = json.loads(r.raw)
    assert doc["checksum"] == checksum(doc), "checksum %s, recomputed %s" % (doc["checksum"],
                                                                             checksum(doc))
    return doc


def compile_subject(s, sid, tenant=None):
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200, r
    return r.body


def without_exported_at(raw):
    return EXPORTED_AT.sub(b'"exported_at":""', raw)


def fresh_database(s, tag):
    """A new empty database for a second server: a new SQLite file, or a new database in
    this run's PostgreSQL cluster."""
    if pgctl.is_postgres(s.database_url):
        return pgctl.Cluster.shared_or_own().createdb(pgctl.dbname("engram_x_" + tag))
    return "sqlite:///" + os.path.join(s.workdir, "%s-%s.db" % (tag, uid("f")))


def fresh_server(s, tag, env=ENV):
    f = Server(env=env, database_url=fresh_database(s, tag), workdir=s.workdir,
               name="%s-%s" % (tag, uid("srv")))
    f.start()
    return f


def cli(args, database_url, cwd, extra_env=None, stdin=None):
    """bin/engram ARGS on database_url (no other STATEWAVE_* setting, no .env)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = database_url
    env["STATEWAVE_EMBEDDING_DIMENSIONS"] = DIMS
    env.update(extra_env or {})
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=cwd, input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)


def import_doc(s, doc, **fields):
    body = {"document": doc}
    body.update(fields)
    return s.post("/admin/import", body)


def rich_subject(s, tenant=None):
    """A subject with sessions, numbers that must survive, compiled memories and labels."""
    sid = uid("exp")
    s.batch([episode(sid, payload={"text": "My name is Alice. I live in Paris. Café ☕ 😀",
                                   "n": [1e20, 0.1, -0.0, 12345678901234567, 1.5e-7, 3],
                                   "nested": {"b": True, "a": None}},
                     metadata={"rank": 1}, provenance={"from": "test"}, session_id="sess-1"),
             episode(sid, payload={"text": "I prefer tea over coffee"})], tenant=tenant)
    mems = compile_subject(s, sid, tenant)["memories"]
    assert mems, "the compiler made no memories"
    r = s.request("PATCH", "/v1/memories/%s/labels" % mems[0]["id"],
                  body={"sensitivity_labels": ["pii"]}, tenant=tenant)
    assert r.status == 200, r
    return sid


# -- shape --------------------------------------------------------------------------------------

@test("90.1 the document: key order, formats, ENG keys only when set, checksum", env=ENV)
def _(s):
    sid = rich_subject(s)
    r = export(s, sid)
    doc = json.loads(r.raw)
    assert list(doc) == TOP_KEYS, list(doc)
    assert doc["format_version"] == "1.0"
    assert OFFSET_TS.match(doc["exported_at"]), doc["exported_at"]
    assert doc["subject_id"] == sid and doc["tenant_id"] is None
    assert list(doc["counts"]) == ["episodes", "memories"]
    assert doc["counts"] == {"episodes": 2, "memories": len(doc["memories"])}
    assert HEX64.match(doc["checksum"]) and doc["checksum"] == checksum(doc)
    sessions = 0
    for ep in doc["episodes"]:
        want = [k for k in EPISODE_KEYS if k != "session_id" or "session_id" in ep]
        assert list(ep) == want, list(ep)
        sessions += "session_id" in ep
        assert OFFSET_TS.match(ep["created_at"]) and OFFSET_TS.match(ep["last_compiled_at"])
        assert ep["subject_id"] == sid and ep["tenant_id"] is None
    assert sessions == 1, "session_id appears exactly where it is set"
    labelled = 0
    for m in doc["memories"]:
        want = [k for k in MEMORY_KEYS if k != "sensitivity_labels" or "sensitivity_labels" in m]
        assert list(m) == want, list(m)
        labelled += "sensitivity_labels" in m
        assert isinstance(m["confidence"], float), m["confidence"]
        assert len(m["embedding"]) == int(DIMS) and all(isinstance(x, float)
                                                        for x in m["embedding"])
        for k in ("valid_from", "created_at", "updated_at"):
            assert OFFSET_TS.match(m[k]), (k, m[k])
    assert labelled == 1, "sensitivity_labels appears only on the labelled memory"
    tokens = re.findall(rb'"confidence":([^,]+),', r.raw)
    assert len(tokens) == len(doc["memories"]) and all(b"." in t or b"e" in t for t in tokens), \
        "confidence is always written as a JSON float: %r" % (tokens,)
    text = [ep for ep in doc["episodes"] if "session_id" in ep][0]
    assert text["payload"]["n"] == [1e20, 0.1, -0.0, 12345678901234567, 1.5e-7, 3]
    assert b'[1e+20,0.1,-0.0,12345678901234567,1.5e-07,3]' in r.raw, r.raw[:600]
    assert "Café ☕ 😀".encode() in r.raw, "compact body with raw UTF-8"


@test("90.2 unknown subject, reserved subject: 404 No data found", env=ENV)
def _(s):
    sid = uid("none")
    r = export(s, sid, status=404)
    check_error(r, 404, "http_error", "No data found for subject '%s'" % sid)
    s.create(uid())   # the database is not empty
    for reserved in ("_snapshot/demo/v1", "_bootstrap_tmp/x"):
        r = export(s, reserved, status=404)
        check_error(r, 404, "http_error", "No data found for subject '%s'" % reserved)


@test("90.3 every memory status is exported; (created_at, id) order breaks batch ties", env=ENV)
def _(s):
    sid = uid("ord")
    s.batch([episode(sid, payload={"i": i}) for i in range(60)])
    s.batch([episode(sid, payload={"i": 60 + i}) for i in range(40)])
    doc = export_doc(s, sid)
    keys = [(e["created_at"], e["id"]) for e in doc["episodes"]]
    assert len(keys) == 100 and keys == sorted(keys), "not ordered by (created_at, id)"
    assert len({e["created_at"] for e in doc["episodes"]}) == 2
    # statuses beyond active come from an import
    other = uid("st")
    mems = []
    for i, status in enumerate(["active", "superseded", "deleted", "archived-by-hand"]):
        mems.append({"id": str(uuid.uuid4()),
                     "subject_id": other, "tenant_id": None, "kind": "profile_fact",
                     "content": "c%d" % i, "summary": "", "confidence": 0.5,
                     "valid_from": "2026-01-01T00:00:00+00:00", "valid_to": None,
                     "source_episode_ids": [], "metadata": {}, "status": status,
                     "embedding": None, "created_at": "2026-01-01T00:00:0%d+00:00" % i,
                     "updated_at": "2026-01-01T00:00:00+00:00"})
    d = {"format_version": "1.0", "subject_id": other, "tenant_id": None,
         "counts": {"episodes": 0, "memories": 4}, "episodes": [], "memories": mems}
    d["checksum"] = checksum(d)
    r = import_doc(s, d)
    assert r.status == 200, r
    got = export_doc(s, other)
    assert [m["status"] for m in got["memories"]] == ["active", "superseded", "deleted",
                                                      "archived-by-hand"]
    assert got["memories"] == mems and got["checksum"] == d["checksum"]


@test("90.4 two exports of unchanged data are identical except exported_at", env=ENV)
def _(s):
    sid = rich_subject(s)
    s.batch([episode(sid, payload={"i": i}) for i in range(30)])
    a, b = export(s, sid).raw, export(s, sid).raw
    assert without_exported_at(a) == without_exported_at(b)


# -- tenants ------------------------------------------------------------------------------------

@test("90.5 tenant scoping: the query filters and is echoed; the tenant header is ignored "
      "(admin is cross-tenant, README \"Admin and tenants\")", env=ENV)
def _(s):
    sid, ta, tb = uid("ten"), uid("ta"), uid("tb")
    s.batch([episode(sid, payload={"t": "a", "i": i}) for i in range(3)], tenant=ta)
    s.batch([episode(sid, payload={"t": "b", "i": i}) for i in range(2)], tenant=tb)
    s.create(sid, payload={"t": None})
    everything = export_doc(s, sid)
    assert everything["tenant_id"] is None and everything["counts"]["episodes"] == 6
    assert sorted({e["tenant_id"] or "" for e in everything["episodes"]}) == sorted(["", ta, tb])
    only_a = export_doc(s, sid, query_tenant=ta)
    assert only_a["tenant_id"] == ta, "the query parameter is echoed"
    assert [e["payload"]["t"] for e in only_a["episodes"]] == ["a"] * 3
    assert all(e["tenant_id"] == ta for e in only_a["episodes"])
    by_header = export_doc(s, sid, tenant=tb)
    assert by_header["tenant_id"] is None, "tenant_id echoes the query, not the header"
    assert by_header["counts"]["episodes"] == 6, "the header must not filter: %r" % by_header
    same = export_doc(s, sid, tenant=ta, query_tenant=ta)
    assert same["counts"]["episodes"] == 3
    other = export_doc(s, sid, tenant=tb, query_tenant=ta)
    assert [e["payload"]["t"] for e in other["episodes"]] == ["a"] * 3, \
        "the query decides, whatever the header says"
    only_a_sid = uid("ten")
    s.create(only_a_sid, tenant=ta)
    assert export_doc(s, only_a_sid, tenant=tb)["counts"]["episodes"] == 1
    r = export(s, only_a_sid, query_tenant=tb, status=404)
    check_error(r, 404, "http_error", "No data found for subject '%s'" % only_a_sid)


@test("90.6 the API key guards the export like every other route", env=KEYED)
def _(s):
    sid = uid("key")
    r = s.post("/v1/episodes", episode(sid), headers={"X-API-Key": "k-export"})
    assert r.status == 201, r
    r = s.get("/admin/export/" + q(sid))
    check_error(r, 401, "missing_api_key", request_id=False)
    r = s.get("/admin/export/" + q(sid), headers={"X-API-Key": "wrong"})
    check_error(r, 403, "invalid_api_key", request_id=False)
    r = s.get("/admin/export/" + q(sid), headers={"X-API-Key": "k-export"})
    assert r.status == 200 and json.loads(r.raw)["counts"]["episodes"] == 1, r


@test("90.7 subject ids with '/', ':' and unicode are one path segment", env=ENV)
def _(s):
    sid = uid("a/b:c ü")
    s.create(sid)
    doc = export_doc(s, sid)
    assert doc["subject_id"] == sid and doc["episodes"][0]["subject_id"] == sid


# -- a large subject ----------------------------------------------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.002)


@test("90.8 20,000 episodes: streamed with RSS growth < 40 MB, then imported elsewhere", env=ENV)
def _(s):
    sid = uid("big")
    for b in range(200):
        s.batch([episode(sid, payload={"b": b, "i": i, "text": "episode %d of batch %d" % (i, b)})
                 for i in range(100)])
    export(s, uid("warm"), status=404)
    before = rss_kb(s.proc.pid)
    sampler = RssSampler(s.proc.pid)
    sampler.start()
    t0 = time.monotonic()
    r = export(s, sid)
    took = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()
    growth_mb = (sampler.peak - before) / 1024.0
    assert growth_mb < 40, "server RSS grew by %.1f MB during the export" % growth_mb
    assert r.headers.get("transfer-encoding") == "chunked", r.headers
    doc = json.loads(r.raw)
    assert doc["counts"] == {"episodes": 20000, "memories": 0}
    assert len(doc["episodes"]) == 20000 and doc["checksum"] == checksum(doc)
    print("    (export of 20,000 episodes: %.2f s, %.1f MB, RSS +%.1f MB)"
          % (took, len(r.raw) / 1e6, growth_mb))
    f = fresh_server(s, "big")
    try:
        r2 = f.post("/admin/import", body=b'{"document":' + r.raw + b'}',
                    headers={"Content-Type": "application/json"})
        assert r2.status == 200, r2
        assert r2.body["episodes_imported"] == 20000, r2.body
        again = json.loads(export(f, sid).raw)
        assert again["episodes"] == doc["episodes"] and again["checksum"] == doc["checksum"]
    finally:
        f.stop()


@test("90.13 an export is one snapshot: writes during it never tear the document", env=ENV)
def _(s):
    sid = uid("snap")
    for b in range(30):
        s.batch([episode(sid, payload={"b": b, "i": i}) for i in range(100)])
    stop, errors = threading.Event(), []

    def writer():
        while not stop.is_set():
            r = s.post("/v1/episodes/batch", {"episodes": [episode(sid, payload={"w": 1})] * 20})
            if r.status != 201:
                errors.append(r)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        docs = [export_doc(s, sid) for _ in range(3)]
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:2]
    for d in docs:
        assert d["counts"]["episodes"] == len(d["episodes"]) >= 3000, d["counts"]
    assert len(export_doc(s, sid)["episodes"]) > docs[0]["counts"]["episodes"], \
        "the writer got nothing in"


if pgctl.backend() == "sqlite":
    @test("90.14 (SQLite) a failure after the first byte cuts the connection before the "
          "checksum", env=ENV)
    def _(s):
        sid = uid("cut")
        for b in range(10):
            s.batch([episode(sid, payload={"b": b, "i": i, "pad": "x" * 100})
                     for i in range(100)])
        # Corrupt the stored payload of the last episode in export order behind the server's
        # back: the export fails on it, long after the first bytes went out.
        con = sqlite3.connect(s.database_url[len("sqlite://"):], timeout=10)
        (eid,) = con.execute("SELECT id FROM episodes WHERE subject_id = ? "
                             "ORDER BY created_at DESC, id DESC LIMIT 1", (sid,)).fetchone()
        con.execute("UPDATE episodes SET payload = ? WHERE id = ?", ('{"broken": ', eid))
        con.commit()
        con.close()
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
        try:
            c.request("GET", "/admin/export/" + q(sid))
            resp = c.getresponse()
            assert resp.status == 200, resp.status
            try:
                body = resp.read()
            except http.client.IncompleteRead as e:
                body = e.partial
            else:
                raise AssertionError("the response ended normally: %r" % body[-200:])
        finally:
            c.close()
        assert len(body) > 65536 and b'"checksum"' not in body, (len(body), body[-200:])
        assert s.get("/healthz").status == 200
        assert "export aborted after" in s.log_tail(), "the abort is logged"
        # the CLI: exit 1, and no file (the temporary one is removed)
        path = os.path.join(s.workdir, uid("cut") + ".json")
        p = cli(["export", sid, "-o", path], s.database_url, s.workdir)
        assert p.returncode == 1 and b"engram: export failed" in p.stderr, (p.returncode,
                                                                           p.stderr)
        assert not os.path.exists(path)
        assert not [n for n in os.listdir(s.workdir) if ".tmp." in n], "temporary file left"


# -- the CLI ------------------------------------------------------------------------------------

@test("90.9 `engram export` writes the endpoint's document (to a file and to stdout)", env=ENV)
def _(s):
    sid = rich_subject(s)
    http = export(s, sid).raw
    path = os.path.join(s.workdir, uid("doc") + ".json")
    p = cli(["export", sid, "-o", path], s.database_url, s.workdir)
    assert p.returncode == 0, p.stderr
    assert re.search(rb"exported 2 episodes, \d+ memories \([0-9.]+ MB\) in [0-9.]+ s",
                     p.stderr), p.stderr
    with open(path, "rb") as fh:
        from_file = fh.read()
    assert without_exported_at(from_file) == without_exported_at(http)
    assert not [n for n in os.listdir(s.workdir) if ".tmp." in n], "temporary file left behind"
    p = cli(["export", sid], s.database_url, s.workdir)
    assert p.returncode == 0, p.stderr
    assert without_exported_at(p.stdout) == without_exported_at(http)


@test("90.10 `engram export --tenant` filters and echoes; 404 exits 1; usage exits 2", env=ENV)
def _(s):
    sid, ta = uid("cli"), uid("ta")
    s.create(sid, tenant=ta)
    s.create(sid)
    p = cli(["export", sid, "--tenant", ta], s.database_url, s.workdir)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["tenant_id"] == ta and doc["counts"]["episodes"] == 1
    assert without_exported_at(p.stdout) == without_exported_at(
        export(s, sid, query_tenant=ta).raw)
    missing = uid("none")
    path = os.path.join(s.workdir, uid("nothing") + ".json")
    p = cli(["export", missing, "-o", path], s.database_url, s.workdir)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert ("No data found for subject '%s'" % missing).encode() in p.stderr, p.stderr
    assert not os.path.exists(path), "no file for a failed export"
    for args in (["export"], ["export", "a", "b"], ["export", "a", "--tenant"],
                 ["export", "a", "--bogus"]):
        p = cli(args, s.database_url, s.workdir)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert b"usage: engram export" in p.stderr
    p = cli(["export", "--help"], s.database_url, s.workdir)
    assert p.returncode == 0 and b"usage: engram export" in p.stdout


@test("90.11 `engram import` + `engram export` round trip through files into a fresh database",
      env=ENV)
def _(s):
    sid = rich_subject(s)
    d1 = export_doc(s, sid)
    path = os.path.join(s.workdir, uid("rt") + ".json")
    with open(path, "w") as fh:
        json.dump(d1, fh)
    url = fresh_database(s, "cli")
    p = cli(["import", path], url, s.workdir)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert list(res) == ["subject_id", "tenant_id", "episodes_imported", "memories_imported",
                         "ids_preserved"]
    assert res == {"subject_id": sid, "tenant_id": None, "episodes_imported": 2,
                   "memories_imported": len(d1["memories"]), "ids_preserved": True}, res
    p = cli(["export", sid], url, s.workdir)
    assert p.returncode == 0, p.stderr
    d2 = json.loads(p.stdout)
    assert d2["episodes"] == d1["episodes"] and d2["memories"] == d1["memories"]
    assert d2["checksum"] == d1["checksum"]
    # again: every id is taken now
    p = cli(["import", path], url, s.workdir)
    assert p.returncode == 1 and b"ID conflict: 2 episode(s) and" in p.stderr, p.stderr
    # --new-ids under another subject, from standard input
    other = uid("copy")
    with open(path, "rb") as fh:
        p = cli(["import", "-", "--new-ids", "--target-subject", other, "--target-tenant", "tx"],
                url, s.workdir, stdin=fh.read())
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"subject_id": other, "tenant_id": "tx",
                                    "episodes_imported": 2,
                                    "memories_imported": len(d1["memories"]),
                                    "ids_preserved": False}
    p = cli(["export", other, "--tenant", "tx"], url, s.workdir)
    d3 = json.loads(p.stdout)
    assert {e["id"] for e in d3["episodes"]}.isdisjoint({e["id"] for e in d1["episodes"]})
    for args in (["import"], ["import", path, "--target-subject"], ["import", path, "-x"]):
        p = cli(args, url, s.workdir)
        assert p.returncode == 2 and b"usage: engram import" in p.stderr, (args, p.stderr)
    bad = os.path.join(s.workdir, uid("bad") + ".json")
    with open(bad, "w") as fh:
        fh.write('{"format_version": "1.0", "episodes": [')
    p = cli(["import", bad], url, s.workdir)
    assert p.returncode == 1 and b"is not valid JSON" in p.stderr, p.stderr


@test("90.12 default 1536-dimension embeddings export, import and re-export bit for bit")
def _(s):
    sid = uid("dim")
    s.create(sid, payload={"text": "My name is Bob. I work at Initech."})
    compile_subject(s, sid)
    d1 = export_doc(s, sid)
    assert d1["memories"] and all(len(m["embedding"]) == 1536 for m in d1["memories"])
    f = fresh_server(s, "dim", env={})
    try:
        r = import_doc(f, d1)
        assert r.status == 200, r
        d2 = export_doc(f, sid)
        assert d2["memories"] == d1["memories"] and d2["checksum"] == d1["checksum"]
    finally:
        f.stop()


if __name__ == "__main__":
    main()
