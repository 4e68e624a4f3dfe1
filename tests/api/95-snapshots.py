"""95-snapshots: subject snapshots (spec/backup-snapshots.md §5; spec/api.md §6.6-§6.9, §6.11).

Checked here: the feature flag answers 404 "Not found" for any request while off (before
validation); create over HTTP and with `engram snapshot create` (same database as the server),
"exists" on a repeat and on a race; the name/version rule; list; restore by id and by name
(the highest version wins) with every restore rule R1-R4 checked field by field against the
source rows of a hand-built subject; target tenants; 409 on a populated target; 404s; the
reserved `_snapshot/` subjects seen through /v1; a restored subject that works at once; and
`engram snapshot bootstrap examples/personas.json`, twice."""

import datetime
import hashlib
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

from harness import (ROOT, UUID_RE, check_422, check_error, engram_bin, main, q,  # noqa: E402
                     test, uid)

ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
SNAPS = "/admin/snapshots"
BY_NAME = "/admin/snapshots/restore-by-name"
SKEW_US = 5 * 1000000           # server and test share a clock; allow for slow requests
OFFSET_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$"
CREATED_KEYS = ["status", "id", "name", "version", "episode_count", "memory_count"]
EXISTS_KEYS = ["status", "id", "name", "version"]
LIST_KEYS = ["id", "name", "version", "source_subject_id", "episode_count", "memory_count",
             "metadata", "created_at"]
RESTORE_KEYS = ["episodes_restored", "memories_restored", "resolutions_restored", "subject_id"]
RESERVED = "Subject id '%s' uses a reserved prefix (%s)"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# -- helpers -----------------------------------------------------------------------------------

def name(prefix="snap"):
    return uid(prefix)


def ts_us(text):
    """An RFC 3339 timestamp as integer microseconds since the epoch (exact)."""
    d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) - EPOCH
    return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds


def iso(us):
    """Offset-form text of integer microseconds."""
    return (EPOCH + datetime.timedelta(microseconds=us)).isoformat()


def now_us():
    return int(time.time() * 1000000)


def cli(s, *args):
    """`bin/engram ARGS` on the server's database (no other STATEWAVE_* setting)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = s.database_url
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=s.workdir, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)


def db_exec(s, sql):
    """Run one SQL statement on the server's database, behind its back (test set-up only)."""
    url = s.database_url
    if url.startswith("sqlite://"):
        con = sqlite3.connect(url[len("sqlite://"):], timeout=30)
        con.execute(sql)
        con.commit()
        con.close()
        return
    url = url.replace("postgresql+asyncpg://", "postgresql://")
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr


def db_query(s, sqlite_sql, pg_sql):
    """Rows (tuples of strings, None for NULL) of a query on the server's database."""
    url = s.database_url
    if url.startswith("sqlite://"):
        con = sqlite3.connect(url[len("sqlite://"):], timeout=30)
        rows = [tuple(None if v is None else str(v) for v in row)
                for row in con.execute(sqlite_sql)]
        con.close()
        return rows
    url = url.replace("postgresql+asyncpg://", "postgresql://")
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\x1f", "-0",
                        "-c", pg_sql], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return [tuple(v if v != "" else None for v in rec.split("\x1f"))
            for rec in r.stdout.split("\0") if rec]


def create(s, nm, source, expect="created", **extra):
    body = {"name": nm, "source_subject_id": source}
    body.update(extra)
    r = s.post(SNAPS, body)
    assert r.status == 200, r
    assert r.body["status"] == expect, r
    assert list(r.body.keys()) == (CREATED_KEYS if expect == "created" else EXISTS_KEYS), r
    assert UUID_RE.match(r.body["id"]), r
    return r.body


def restore(s, snap_id, target, status=200, tenant=None, **extra):
    body = {"target_subject_id": target}
    body.update(extra)
    r = s.post("%s/%s/restore" % (SNAPS, snap_id), body, tenant=tenant)
    assert r.status == status, r
    if status == 200:
        assert list(r.body.keys()) == RESTORE_KEYS, r
        assert r.body["subject_id"] == target, r
    return r


def export(s, subject, tenant_id=None):
    r = s.get("/admin/export/%s" % q(subject),
              query={"tenant_id": tenant_id} if tenant_id is not None else None)
    assert r.status == 200, r
    return r.body


def listing(s):
    r = s.get(SNAPS)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["snapshots"], r
    return r.body["snapshots"]


def seed(s, subject, tenant=None, compile_=True):
    """Three episodes that the heuristic compiler turns into facts; compiled when asked."""
    s.create(subject, tenant=tenant, payload={"text": "My name is Alice Moreau."},
             metadata={"channel": "web"}, provenance={"origin": "seed"}, session_id="sess-1")
    s.create(subject, tenant=tenant, payload={"text": "I work at Globex Corporation."})
    s.create(subject, tenant=tenant, payload={"text": "I use Neovim and Rust every day."})
    if compile_:
        r = s.post("/v1/memories/compile", {"subject_id": subject}, tenant=tenant)
        assert r.status == 200 and r.body["memories_created"] > 0, r


def checksum(episodes, memories):
    text = json.dumps({"episodes": episodes, "memories": memories}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def import_doc(s, subject, episodes, memories, tenant=None):
    """POST /admin/import of a hand-built document (the checksum as §2 defines it)."""
    doc = {"format_version": "1.0", "exported_at": iso(now_us()), "subject_id": subject,
           "tenant_id": tenant, "counts": {"episodes": len(episodes), "memories": len(memories)},
           "episodes": episodes, "memories": memories,
           "checksum": checksum(episodes, memories)}
    r = s.post("/admin/import", {"document": doc})
    assert r.status == 200, r
    return r.body


def ep_record(subject, created, last_compiled=None, text="hello", **over):
    rec = {"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": None, "source": "chat",
           "type": "message", "payload": {"text": text}, "metadata": {}, "provenance": {},
           "created_at": iso(created),
           "last_compiled_at": iso(last_compiled) if last_compiled is not None else None}
    rec.update(over)
    return rec


def mem_record(subject, content, valid_from, created, updated, **over):
    rec = {"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": None,
           "kind": "profile_fact", "content": content, "summary": content[:20],
           "confidence": 0.75, "valid_from": iso(valid_from), "valid_to": None,
           "source_episode_ids": [], "metadata": {}, "status": "active", "embedding": None,
           "created_at": iso(created), "updated_at": iso(updated)}
    rec.update(over)
    return rec


# -- 95.1 the flag -----------------------------------------------------------------------------

FIVE = [
    ("GET", SNAPS, None),
    ("POST", SNAPS, {"name": "x", "source_subject_id": "y"}),
    ("POST", SNAPS + "/00000000-0000-4000-8000-000000000000/restore", {"target_subject_id": "t"}),
    ("POST", BY_NAME, {"name": "x", "target_subject_id": "t"}),
    ("POST", "/admin/cleanup", None),
]
MALFORMED = [
    ("GET", SNAPS + "?x=%zz", b"{not json"),
    ("POST", SNAPS, b"{not json"),
    ("POST", SNAPS, {"name": 5, "version": "abc", "metadata": [1]}),
    ("POST", SNAPS + "/not-a-uuid/restore", b"[1,2"),
    ("POST", SNAPS + "/not-a-uuid/restore", None),
    ("POST", BY_NAME, b"[]"),
    ("POST", BY_NAME, {"version": "x"}),
    ("POST", "/admin/cleanup?prefix=&max_age_hours=abc&dry_run=maybe", None),
    ("POST", "/admin/cleanup?max_age_hours=-5", b"garbage"),
]


@test("95.1.1 flag off: each of the five endpoints answers 404 'Not found', valid or not")
def _(s):
    for method, path, body in FIVE + MALFORMED:
        r = s.request(method, path, body=body)
        check_error(r, 404, "http_error", "Not found")
        r = s.request(method, path, body=body, tenant=uid("t"))
        check_error(r, 404, "http_error", "Not found")
    # A query that is not UTF-8 is refused at the edge, before routing: the gated route
    # answers as an unknown one does, so it is not revealed.
    for path in [SNAPS + "?x=%ff", "/admin/snapshotz?x=%ff"]:
        check_error(s.get(path), 400, "http_error", "Query string is not valid UTF-8")
    # An unknown route keeps its own wording, and the wrong method stays 405.
    check_error(s.get("/admin/snapshotz"), 404, "http_error", "Not Found")
    check_error(s.delete(SNAPS), 405, "http_error", "Method Not Allowed")


@test("95.1.2 flag off: the CLI is not gated (create, list, restore work on the database)")
def _(s):
    src, nm, target = uid("src"), name(), uid("tgt")
    seed(s, src)
    r = cli(s, "snapshot", "create", "--name", nm, "--source", src)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "created" and out["episode_count"] == 3, out
    r = cli(s, "snapshot", "list")
    assert r.returncode == 0, r.stderr
    assert nm in [x["name"] for x in json.loads(r.stdout)["snapshots"]]
    r = cli(s, "snapshot", "restore", "--name", nm, "--target", target)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"episodes_restored": 3, "memories_restored":
                                    out["memory_count"], "resolutions_restored": 0,
                                    "subject_id": target}
    assert s.episode_count(target) == 3
    check_error(s.get(SNAPS), 404, "http_error", "Not found")


# -- 95.2 create -------------------------------------------------------------------------------

@test("95.2.1 create: created, then exists with the same id; list shows the row", env=ON)
def _(s):
    src, nm = uid("src"), name()
    seed(s, src)
    tl = s.timeline(src)
    c = create(s, nm, src, version=2, metadata={"persona": "founder", "n": 12345678901234567890})
    assert c["name"] == nm and c["version"] == 2, c
    assert c["episode_count"] == 3 and c["memory_count"] == len(tl["memories"]), (c, tl)
    again = create(s, nm, src, expect="exists", version=2, metadata={"other": True})
    assert again == {"status": "exists", "id": c["id"], "name": nm, "version": 2}, again
    rows = [x for x in listing(s) if x["name"] == nm]
    assert len(rows) == 1, rows
    row = rows[0]
    assert list(row.keys()) == LIST_KEYS, row
    assert row["id"] == c["id"] and row["version"] == 2
    assert row["source_subject_id"] == "_snapshot/%s/v2" % nm, row
    assert row["episode_count"] == 3 and row["memory_count"] == c["memory_count"]
    assert row["metadata"] == {"persona": "founder", "n": 12345678901234567890}, row
    assert b'"n":12345678901234567890' in s.get(SNAPS).raw   # the number survives verbatim
    assert re.match(OFFSET_TS, row["created_at"]), row
    assert abs(ts_us(row["created_at"]) - now_us()) < 60 * 1000000, row
    # The source is untouched.
    assert s.timeline(src) == tl


@test("95.2.2 create: version defaults to 1, metadata null is {}, lenient version", env=ON)
def _(s):
    src, a, b = uid("src"), name(), name()
    seed(s, src, compile_=False)
    c = create(s, a, src, metadata=None)
    assert c["version"] == 1 and c["memory_count"] == 0, c
    c2 = create(s, b, src, version="7")
    assert c2["version"] == 7, c2
    rows = {(x["name"], x["version"]): x for x in listing(s)}
    assert rows[(a, 1)]["metadata"] == {}, rows[(a, 1)]
    assert rows[(b, 7)]["source_subject_id"] == "_snapshot/%s/v7" % b


@test("95.2.3 create: the name and version rule (400), body validation (422)", env=ON)
def _(s):
    src = uid("src")
    s.create(src)
    msg = "Invalid snapshot name or version"
    for bad in ["", "-lead", ".lead", "_lead", "a/b", "has space", "caf\u00e9", "x" * 129, "a:b"]:
        r = s.post(SNAPS, {"name": bad, "source_subject_id": src})
        check_error(r, 400, "http_error", msg)
    for v in [0, -1, 2 ** 31, 2 ** 40]:
        r = s.post(SNAPS, {"name": name(), "source_subject_id": src, "version": v})
        check_error(r, 400, "http_error", msg)
    ok = create(s, "x" * 120 + uid("")[-8:], src, version=2 ** 31 - 1)
    assert ok["version"] == 2 ** 31 - 1
    check_422(s.post(SNAPS, {"source_subject_id": src}), ["body", "name"])
    check_422(s.post(SNAPS, {"name": name()}), ["body", "source_subject_id"])
    check_422(s.post(SNAPS, {"name": 5, "source_subject_id": src}), ["body", "name"])
    check_422(s.post(SNAPS, {"name": name(), "source_subject_id": src, "version": "abc"}),
              ["body", "version"])
    check_422(s.post(SNAPS, {"name": name(), "source_subject_id": src, "metadata": [1]}),
              ["body", "metadata"])
    check_422(s.post(SNAPS, {"name": name(), "source_subject_id": src, "source_tenant_id": 3}),
              ["body", "source_tenant_id"])
    check_422(s.post(SNAPS, b"{oops"), None)


@test("95.2.4 create: no episodes (unknown, memory-only) is 400; reserved source is 400", env=ON)
def _(s):
    unknown, memonly = uid("none"), uid("memonly")
    r = s.post(SNAPS, {"name": name(), "source_subject_id": unknown})
    check_error(r, 400, "http_error", "Source subject '%s' has no episodes" % unknown)
    t = now_us()
    import_doc(s, memonly, [], [mem_record(memonly, "Likes tea", t, t, t)])
    r = s.post(SNAPS, {"name": name(), "source_subject_id": memonly})
    check_error(r, 400, "http_error", "Source subject '%s' has no episodes" % memonly)
    for reserved, prefix in [("_snapshot/x/v1", "_snapshot/"),
                             ("_bootstrap_tmp/y", "_bootstrap_tmp/")]:
        r = s.post(SNAPS, {"name": name(), "source_subject_id": reserved})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))
    # Nothing was created by the refusals.
    assert not [x for x in listing(s) if x["source_subject_id"].startswith("_snapshot/x/")]


@test("95.2.5 create: two concurrent creates of one pair give one created, one exists", env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    for _round in range(6):
        nm = name("race")
        barrier = threading.Barrier(2)
        out = [None, None]

        def go(i):
            barrier.wait()
            out[i] = s.post(SNAPS, {"name": nm, "source_subject_id": src, "version": 3})

        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for r in out:
            assert r.status == 200, r
        statuses = sorted(r.body["status"] for r in out)
        assert statuses == ["created", "exists"], out
        assert out[0].body["id"] == out[1].body["id"], out
        rows = [x for x in listing(s) if x["name"] == nm]
        assert len(rows) == 1 and rows[0]["episode_count"] == 3, rows
        # The loser's copy was rolled back: one restore brings exactly 3 episodes.
        r = restore(s, rows[0]["id"], uid("tgt"))
        assert r.body["episodes_restored"] == 3, r


@test("95.2.6 create with the CLI on the server's database: created, exists, errors", env=ON)
def _(s):
    src, nm = uid("src"), name("cli")
    seed(s, src)
    r = cli(s, "snapshot", "create", "--name", nm, "--source", src, "--version", "4",
            "--metadata", '{"persona": "cli", "big": 1e400}')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out.keys()) == CREATED_KEYS and out["status"] == "created", out
    assert out["version"] == 4 and out["episode_count"] == 3, out
    r = cli(s, "snapshot", "create", "--name", nm, "--source", src, "--version", "4")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"status": "exists", "id": out["id"], "name": nm,
                                    "version": 4}
    # Over HTTP the pair exists too, and the list shows the CLI's metadata verbatim.
    create(s, nm, src, expect="exists", version=4)
    row = [x for x in listing(s) if x["name"] == nm][0]
    assert row["metadata"]["persona"] == "cli", row
    assert b'"big":1e400' in s.get(SNAPS).raw
    for args, code in [(["--name", "bad name", "--source", src], 1),
                       (["--name", name(), "--source", uid("none")], 1),
                       (["--name", name()], 2),
                       (["--name", name(), "--source", src, "--metadata", "[1]"], 2),
                       (["--name", name(), "--source", src, "--version", "x"], 2)]:
        r = cli(s, "snapshot", "create", *args)
        assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr)
        assert r.stdout == "", r.stdout
    r = cli(s, "snapshot", "create", "--help")
    assert r.returncode == 0 and "snapshot create" in r.stdout, r


@test("95.2.7 create: source_tenant_id copies that tenant only; default every tenant", env=ON)
def _(s):
    src, ta, tb = uid("src"), uid("ta"), uid("tb")
    s.create(src, tenant=ta, payload={"text": "tenant a one"})
    s.create(src, tenant=ta, payload={"text": "tenant a two"})
    s.create(src, tenant=tb, payload={"text": "tenant b"})
    s.create(src, payload={"text": "no tenant"})
    only_a = create(s, name(), src, source_tenant_id=ta)
    assert only_a["episode_count"] == 2, only_a
    every = create(s, name(), src)
    assert every["episode_count"] == 4, every
    none = s.post(SNAPS, {"name": name(), "source_subject_id": src,
                          "source_tenant_id": uid("tc")})
    assert none.status == 400, none
    target = uid("tgt")
    r = restore(s, only_a["id"], target)
    assert r.body["episodes_restored"] == 2
    texts = sorted(e["payload"]["text"] for e in s.timeline(target)["episodes"])
    assert texts == ["tenant a one", "tenant a two"], texts


# -- 95.3 restore: the rules, field by field ---------------------------------------------------

def build_source(s):
    """A hand-built subject with known timestamps, imported; returns (subject, doc lists)."""
    subject = uid("rules")
    base = now_us() - 10 * 86400 * 1000000
    h = 3600 * 1000000
    e1 = ep_record(subject, base + 1, base + 1 * h, "My name is Rita Ortiz.",
                   session_id="sess-a", metadata={"m": "x", "n": [1, 2.5]},
                   provenance={"k": 1, "original_id": "bogus"})
    e2 = ep_record(subject, base + 2 * h + 123457, None, "I work at Initech.",
                   provenance={"restored_from_snapshot": "old", "original_episode_id": "old"})
    e3 = ep_record(subject, base + 5 * h + 999999, base + 7 * h, "I use Emacs.",
                   session_id="sess-b")
    e0 = ep_record(subject, base - 3 * h, base - 2 * h, "An early note.")
    outside = str(uuid.uuid4())
    m1 = mem_record(subject, "Name is Rita Ortiz", base + 1, base + 1 * h, base + 3 * h,
                    source_episode_ids=[e1["id"], outside, e3["id"]],
                    metadata={"restored_from_snapshot": "old", "x": 1})
    m2 = mem_record(subject, "Works at Initech", base + 2 * h, base + 7 * h, base + 8 * h,
                    valid_to=iso(base + 6 * h), source_episode_ids=[e2["id"]],
                    status="superseded", kind="episode_summary", confidence=0.25)
    m3 = mem_record(subject, "Uses Emacs", base + 5 * h + 999999, base + 5 * h + 999999,
                    base + 5 * h + 999999, source_episode_ids=[e3["id"], e3["id"]],
                    kind="procedure")
    eps, mems = [e0, e1, e2, e3], [m1, m2, m3]
    import_doc(s, subject, eps, mems)
    return subject, eps, mems, outside


def check_restore(src_doc, dst_doc, snap_id, now, target_tenant=None):
    """Every rule of §5.7 for one restore: src_doc/dst_doc are export documents."""
    s_eps = {e["id"]: e for e in src_doc["episodes"]}
    d_eps = dst_doc["episodes"]
    assert len(d_eps) == len(s_eps), (len(d_eps), len(s_eps))
    newest = max(ts_us(e["created_at"]) for e in s_eps.values())
    shift = now - newest
    idmap = {}
    for e in d_eps:
        prov = e["provenance"]
        orig = s_eps[prov["original_id"]]
        assert UUID_RE.match(e["id"]) and e["id"] not in s_eps, e   # R1
        idmap[orig["id"]] = e["id"]
        # R4: the source provenance, original_id (capture), and the two restore keys.
        want = dict(orig["provenance"])
        want["original_id"] = orig["id"]
        want["restored_from_snapshot"] = snap_id
        assert UUID_RE.match(prov["original_episode_id"]), prov
        assert prov["original_episode_id"] not in s_eps, prov
        assert prov["original_episode_id"] != e["id"], prov
        want["original_episode_id"] = prov["original_episode_id"]
        assert prov == want, (prov, want)
        for k in ["source", "type", "payload", "metadata"]:
            assert e[k] == orig[k], (k, e, orig)
        assert e.get("session_id") == orig.get("session_id"), (e, orig)
        assert e["tenant_id"] == target_tenant, e
        # R3: created_at shifted exactly; last_compiled_at shifted and clamped.
        assert ts_us(e["created_at"]) == ts_us(orig["created_at"]) + shift, (e, orig, shift)
        if orig["last_compiled_at"] is None:
            assert e["last_compiled_at"] is None, e
        else:
            want_lc = min(ts_us(orig["last_compiled_at"]) + shift, now)
            assert ts_us(e["last_compiled_at"]) == want_lc, (e, orig)
    assert max(ts_us(e["created_at"]) for e in d_eps) == now
    s_mems = {m["content"]: m for m in src_doc["memories"]}
    assert len(dst_doc["memories"]) == len(s_mems)
    for m in dst_doc["memories"]:
        orig = s_mems[m["content"]]
        assert UUID_RE.match(m["id"]) and m["id"] != orig["id"], m      # R1
        assert m["source_episode_ids"] == [idmap.get(x, x) for x in orig["source_episode_ids"]], \
            (m, orig)                                                      # R2
        want_meta = dict(orig["metadata"])
        want_meta["restored_from_snapshot"] = snap_id
        assert m["metadata"] == want_meta, m                               # R4
        for k in ["kind", "summary", "confidence", "status", "embedding"]:
            assert m[k] == orig[k], (k, m, orig)
        assert m["tenant_id"] == target_tenant, m
        assert ts_us(m["valid_from"]) == ts_us(orig["valid_from"]) + shift  # R3, unclamped
        if orig["valid_to"] is None:
            assert m["valid_to"] is None
        else:
            assert ts_us(m["valid_to"]) == ts_us(orig["valid_to"]) + shift
        for k in ["created_at", "updated_at"]:
            assert ts_us(m[k]) == min(ts_us(orig[k]) + shift, now), (k, m, orig, now)
    return idmap


@test("95.3.1 restore by id: R1-R4 against the source rows; two restores share no id", env=ON)
def _(s):
    subject, eps, mems, outside = build_source(s)
    src_doc = export(s, subject)
    c = create(s, name("rules"), subject)
    assert c["episode_count"] == 4 and c["memory_count"] == 3, c
    results = []
    for _i in range(2):
        target = uid("restored")
        before = now_us()
        r = restore(s, c["id"], target)
        after = now_us()
        assert r.body == {"episodes_restored": 4, "memories_restored": 3,
                          "resolutions_restored": 0, "subject_id": target}, r
        doc = export(s, target)
        now = max(ts_us(e["created_at"]) for e in doc["episodes"])
        assert before - SKEW_US <= now <= after + SKEW_US, (before, now, after)
        idmap = check_restore(src_doc, doc, c["id"], now)
        results.append((doc, idmap))
    (d1, map1), (d2, map2) = results
    ids1 = {x["id"] for x in d1["episodes"] + d1["memories"]}
    ids2 = {x["id"] for x in d2["episodes"] + d2["memories"]}
    assert not ids1 & ids2, ids1 & ids2
    # original_episode_id names the snapshot-source episode: equal across restores.
    oe1 = {x["provenance"]["original_id"]: x["provenance"]["original_episode_id"]
           for x in d1["episodes"]}
    oe2 = {x["provenance"]["original_id"]: x["provenance"]["original_episode_id"]
           for x in d2["episodes"]}
    assert oe1 == oe2, (oe1, oe2)
    assert not set(oe1.values()) & (ids1 | ids2 | {e["id"] for e in eps})
    # The unmapped citation stays as it was, in place.
    m1 = [m for m in d1["memories"] if m["content"] == "Name is Rita Ortiz"][0]
    assert m1["source_episode_ids"][1] == outside, m1
    # The source subject is untouched by capture and restores.
    assert export(s, subject)["episodes"] == src_doc["episodes"]


@test("95.3.2 restore: the hidden source keeps the rows as captured (restore after restore)",
      env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name(), src)
    t1, t2 = uid("tgt"), uid("tgt")
    restore(s, c["id"], t1)
    # Writing to and compiling the restored subject does not touch the snapshot.
    s.create(t1, payload={"text": "I live in Lyon."})
    r = s.post("/v1/memories/compile", {"subject_id": t1})
    assert r.status == 200 and r.body["memories_created"] > 0, r
    r = restore(s, c["id"], t2)
    assert r.body["episodes_restored"] == 3, r
    assert s.episode_count(t2) == 3


@test("95.3.3 restore by name: the highest version wins; explicit versions; 404s", env=ON)
def _(s):
    nm = name("ver")
    subs = {}
    for v, n in [(1, 1), (3, 3), (2, 2)]:          # created out of order
        sub = uid("v%d" % v)
        for i in range(n):
            s.create(sub, payload={"text": "episode %d of version %d" % (i, v)})
        subs[v] = sub
        create(s, nm, sub, version=v)
    r = s.post(BY_NAME, {"name": nm, "target_subject_id": uid("t")})
    assert r.status == 200 and r.body["episodes_restored"] == 3, r
    r = s.post(BY_NAME, {"name": nm, "target_subject_id": uid("t"), "version": None})
    assert r.status == 200 and r.body["episodes_restored"] == 3, r
    for v in [1, 2, "2"]:
        target = uid("t")
        r = s.post(BY_NAME, {"name": nm, "target_subject_id": target, "version": v})
        assert r.status == 200, r
        assert list(r.body.keys()) == RESTORE_KEYS, r
        assert r.body["episodes_restored"] == int(v) and r.body["subject_id"] == target, r
    for v in [4, 0, -1, 2 ** 31]:
        r = s.post(BY_NAME, {"name": nm, "target_subject_id": uid("t"), "version": v})
        check_error(r, 404, "http_error", "Snapshot '%s' not found" % nm)
    unknown = name("nope")
    r = s.post(BY_NAME, {"name": unknown, "target_subject_id": uid("t")})
    check_error(r, 404, "http_error", "Snapshot '%s' not found" % unknown)
    check_422(s.post(BY_NAME, {"target_subject_id": uid("t")}), ["body", "name"])
    check_422(s.post(BY_NAME, {"name": nm}), ["body", "target_subject_id"])
    check_422(s.post(BY_NAME, {"name": nm, "target_subject_id": uid("t"), "version": "x"}),
              ["body", "version"])


@test("95.3.4 restore: target tenant from the body, else none; the tenant header is ignored "
      "(admin is cross-tenant, README \"Admin and tenants\")", env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name(), src)
    ta, th = uid("ta"), uid("th")
    # Body tenant.
    t1 = uid("tgt")
    restore(s, c["id"], t1, target_tenant_id=ta)
    assert s.episode_count(t1) == 0                       # not in the no-tenant space
    tl = s.timeline(t1, tenant=ta)
    assert len(tl["episodes"]) == 3 and len(tl["memories"]) == c["memory_count"], tl
    doc = export(s, t1, tenant_id=ta)
    assert {x["tenant_id"] for x in doc["episodes"] + doc["memories"]} == {ta}
    assert t1 in [x["subject_id"] for x in s.all_subjects(tenant=ta)]
    # A header alone is ignored (the body has none, or null): no tenant.
    for body_extra in [{}, {"target_tenant_id": None}]:
        t2 = uid("tgt")
        restore(s, c["id"], t2, tenant=th, **body_extra)
        assert s.episode_count(t2) == 3 and s.episode_count(t2, tenant=th) == 0
    # Both: the body decides.
    t3 = uid("tgt")
    restore(s, c["id"], t3, tenant=th, target_tenant_id=ta)
    assert s.episode_count(t3, tenant=th) == 0 and s.episode_count(t3, tenant=ta) == 3
    # Neither: no tenant.
    t4 = uid("tgt")
    restore(s, c["id"], t4)
    assert s.episode_count(t4) == 3
    check_422(s.post("%s/%s/restore" % (SNAPS, c["id"]),
                     {"target_subject_id": uid("t"), "target_tenant_id": 5}),
              ["body", "target_tenant_id"])


@test("95.3.5 restore: 409 on a target with data in the target tenant; other tenants free",
      env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name(), src)
    target, tenant = uid("busy"), uid("tb")
    s.create(target, tenant=tenant)
    s.create(target, tenant=tenant)
    msg = ("Target subject '%s' already has data (2 episodes, 0 memories). Pick a new target "
           "id or delete the subject first." % target)
    r = restore(s, c["id"], target, status=409, target_tenant_id=tenant)
    check_error(r, 409, "http_error", msg)
    r = s.post(BY_NAME, {"name": c["name"], "target_subject_id": target,
                         "target_tenant_id": tenant})
    check_error(r, 409, "http_error", msg)
    assert s.episode_count(target, tenant=tenant) == 2       # nothing appended
    # The same id in the no-tenant space is empty: allowed.
    restore(s, c["id"], target)
    assert s.episode_count(target) == 3
    # A second restore into it is now refused with its counts.
    r = restore(s, c["id"], target, status=409)
    check_error(r, 409, "http_error",
                "Target subject '%s' already has data (3 episodes, %d memories). Pick a new "
                "target id or delete the subject first." % (target, c["memory_count"]))
    # Memory-only targets count too.
    memonly = uid("memonly")
    t = now_us()
    import_doc(s, memonly, [], [mem_record(memonly, "Likes tea", t, t, t)])
    r = restore(s, c["id"], memonly, status=409)
    check_error(r, 409, "http_error",
                "Target subject '%s' already has data (0 episodes, 1 memories). Pick a new "
                "target id or delete the subject first." % memonly)
    # After a delete the target is free again.
    assert s.delete("/v1/subjects/%s" % q(target)).status == 200
    restore(s, c["id"], target)


@test("95.3.6 restore: 422 for a non-UUID id, 404s, 400 for a bad or reserved target", env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name(), src)
    for bad in ["not-a-uuid", "1234", c["id"] + "0", c["id"].replace("-", "")]:
        r = s.post("%s/%s/restore" % (SNAPS, bad), {"target_subject_id": uid("t")})
        check_422(r, ["path", "snapshot_id"])
    r = s.post("%s/not-a-uuid/restore" % SNAPS, b"{bad")
    loc = [d["loc"][0] for d in check_422(r, None) or r.body["error"]["details"]]
    assert loc == ["path", "body"], r                    # both problems, path first
    unknown = str(uuid.uuid4())
    r = s.post("%s/%s/restore" % (SNAPS, unknown), {"target_subject_id": uid("t")})
    check_error(r, 404, "http_error", "Snapshot '%s' not found" % unknown)
    # An upper-case id names the same snapshot.
    r = restore(s, c["id"].upper(), uid("t"))
    assert r.body["episodes_restored"] == 3
    check_422(s.post("%s/%s/restore" % (SNAPS, c["id"]), {}), ["body", "target_subject_id"])
    check_422(s.post("%s/%s/restore" % (SNAPS, c["id"]), {"target_subject_id": 7}),
              ["body", "target_subject_id"])
    for bad in ["", "x" * 257]:
        r = s.post("%s/%s/restore" % (SNAPS, c["id"]), {"target_subject_id": bad})
        assert r.status == 400 and r.body["error"]["code"] == "http_error", r
    # 256 code points, unique so a shared database holds nothing there
    r = restore(s, c["id"], "\u00e9" * 240 + uid("t")[:16].ljust(16, "x"))
    for reserved, prefix in [("_snapshot/%s/v1" % c["name"], "_snapshot/"),
                             ("_bootstrap_tmp/x", "_bootstrap_tmp/")]:
        r = s.post("%s/%s/restore" % (SNAPS, c["id"]), {"target_subject_id": reserved})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))
        r = s.post(BY_NAME, {"name": c["name"], "target_subject_id": reserved})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))


@test("95.3.7 restore: a snapshot whose source lost its episodes is 404", env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name("gone"), src)
    hidden = "_snapshot/%s/v1" % c["name"]
    db_exec(s, "DELETE FROM episodes WHERE subject_id = '%s'" % hidden)
    r = s.post("%s/%s/restore" % (SNAPS, c["id"]), {"target_subject_id": uid("t")})
    check_error(r, 404, "http_error", "Snapshot source '%s' has no episodes" % hidden)
    r = s.post(BY_NAME, {"name": c["name"], "target_subject_id": uid("t")})
    check_error(r, 404, "http_error", "Snapshot source '%s' has no episodes" % hidden)


def fixed(us):
    """The fixed storage form both backends accept: YYYY-MM-DDTHH:MM:SS.ffffffZ."""
    return (EPOCH + datetime.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolutions_of(s, subject):
    """(id, tenant_id, session_id, status, summary, metadata, resolved_at, created_at,
    updated_at) of a subject's resolutions, timestamps as µs."""
    cols = "id, tenant_id, session_id, status, resolution_summary, metadata_"
    ts = ["resolved_at", "created_at", "updated_at"]
    rows = db_query(
        s, "SELECT %s, %s FROM resolutions WHERE subject_id = '%s' ORDER BY created_at"
        % (cols, ", ".join(ts), subject),
        "SELECT %s, %s FROM resolutions WHERE subject_id = '%s' ORDER BY created_at"
        % (cols, ", ".join("(extract(epoch FROM %s) * 1000000)::bigint" % c for c in ts),
           subject))
    out = []
    for r in rows:
        times = [None if v is None else (int(v) if v.lstrip("-").isdigit() else ts_us(v))
                 for v in r[6:]]
        out.append(tuple(r[:5]) + (json.loads(r[5]),) + tuple(times))
    return out


@test("95.3.8 resolutions: captured with their tenant, restored into the target tenant", env=ON)
def _(s):
    src, ta, tb = uid("src"), uid("ta"), uid("tb")
    for text in ["My name is Ines Duarte.", "I work at Umbrella."]:
        s.create(src, tenant=ta, payload={"text": text}, session_id="sess-r")
    newest = max(ts_us(e["created_at"]) for e in s.timeline(src, tenant=ta)["episodes"])
    h = 3600 * 1000000
    rid1, rid2 = str(uuid.uuid4()), str(uuid.uuid4())
    db_exec(s, "INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status, "
               "resolution_summary, resolved_at, metadata_, created_at, updated_at) VALUES "
               "('%s', '%s', 'sess-r', '%s', 'resolved', 'fixed it', '%s', "
               "'{\"a\": 1, \"restored_from_snapshot\": \"old\"}', '%s', '%s')"
               % (rid1, src, ta, fixed(newest + h), fixed(newest - 2 * h), fixed(newest + 2 * h)))
    db_exec(s, "INSERT INTO resolutions (id, subject_id, session_id, tenant_id, status, "
               "resolution_summary, resolved_at, metadata_, created_at, updated_at) VALUES "
               "('%s', '%s', 'sess-o', '%s', 'open', NULL, NULL, '{}', '%s', '%s')"
               % (rid2, src, ta, fixed(newest - 3 * h), fixed(newest - h)))
    c = create(s, name("res"), src, source_tenant_id=ta)
    hidden = resolutions_of(s, "_snapshot/%s/v1" % c["name"])
    assert len(hidden) == 2 and {r[1] for r in hidden} == {ta}, hidden   # tenants kept
    target = uid("tgt")
    before = now_us()
    r = restore(s, c["id"], target, target_tenant_id=tb)
    after = now_us()
    assert r.body["resolutions_restored"] == 2 and r.body["episodes_restored"] == 2, r
    got = resolutions_of(s, target)
    assert len(got) == 2, got
    now = max(ts_us(e["created_at"]) for e in s.timeline(target, tenant=tb)["episodes"])
    assert before - SKEW_US <= now <= after + SKEW_US
    shift = now - newest
    opened, resolved = got
    for row in got:
        assert UUID_RE.match(row[0]) and row[0] not in (rid1, rid2), row
        assert row[1] == tb, row
    assert resolved[2:5] == ("sess-r", "resolved", "fixed it"), resolved
    assert resolved[5] == {"a": 1, "restored_from_snapshot": c["id"]}, resolved
    assert resolved[6] == now and resolved[8] == now, (resolved, now)      # clamped
    assert resolved[7] == newest - 2 * h + shift, resolved
    assert opened[2:6] == ("sess-o", "open", None, {"restored_from_snapshot": c["id"]}), opened
    assert opened[6] is None, opened
    assert opened[7:] == (newest - 3 * h + shift, newest - h + shift), opened
    # The target's purge takes them along (cleanup deletes resolutions too).
    r = s.post("/admin/cleanup", query={"prefix": target, "max_age_hours": "0",
                                        "tenant_id": tb})
    assert r.status == 200 and r.body == {"subjects_cleaned": 1}, r
    assert resolutions_of(s, target) == []


# -- 95.4 the hidden subjects through /v1 ------------------------------------------------------

@test("95.4.1 reserved ids: /v1 reads are empty, writes 400, delete 0/0, never listed", env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name("hid"), src)
    hidden = "_snapshot/%s/v1" % c["name"]
    tl = s.timeline(hidden)
    assert tl == {"subject_id": hidden, "episodes": [], "memories": []}, tl
    r = s.get("/v1/memories/search", query={"subject_id": hidden, "q": "Alice"})
    assert r.status == 200 and r.body == {"memories": []}, r
    r = s.post("/v1/context", {"subject_id": hidden, "task": "Who is the user?"})
    assert r.status == 200, r
    assert r.body["facts"] == [] and r.body["episodes"] == [], r
    assert "Moreau" not in r.body["assembled_context"], r
    for reserved, prefix in [(hidden, "_snapshot/"), ("_bootstrap_tmp/z", "_bootstrap_tmp/")]:
        r = s.post("/v1/episodes", {"subject_id": reserved, "source": "chat", "type": "message",
                                    "payload": {"text": "x"}})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))
        r = s.post("/v1/episodes/batch", {"episodes": [{"subject_id": reserved, "source": "c",
                                                         "type": "m", "payload": {}}]})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))
        r = s.post("/v1/memories/compile", {"subject_id": reserved})
        check_error(r, 400, "http_error", RESERVED % (reserved, prefix))
    r = s.delete("/v1/subjects/%s" % q(hidden))
    assert r.status == 200, r
    body = dict(r.body)
    assert body.pop("deletion_receipt")["episodes_deleted"] == 0, r   # Engram's addition
    assert body == {"subject_id": hidden, "episodes_deleted": 0, "memories_deleted": 0}, r
    assert not [x for x in s.all_subjects() if x["subject_id"].startswith("_snapshot/")]
    # The snapshot is intact after all of that.
    r = restore(s, c["id"], uid("tgt"))
    assert r.body["episodes_restored"] == 3 and r.body["memories_restored"] == c["memory_count"]


@test("95.4.2 a restored subject works at once: listing, timeline, search, context, compile",
      env=ON)
def _(s):
    src = uid("src")
    seed(s, src)
    c = create(s, name("live"), src)
    target = uid("restored")
    restore(s, c["id"], target)
    listed = {x["subject_id"]: x for x in s.all_subjects()}
    assert listed[target]["episode_count"] == 3, listed.get(target)
    assert listed[target]["memory_count"] == c["memory_count"]
    tl = s.timeline(target)
    assert len(tl["episodes"]) == 3 and len(tl["memories"]) == c["memory_count"], tl
    r = s.get("/v1/memories/search", query={"subject_id": target, "q": "Globex"})
    assert r.status == 200 and any("Globex" in m["content"] for m in r.body["memories"]), r
    r = s.post("/v1/context", {"subject_id": target, "task": "Where does Alice work?"})
    assert r.status == 200, r
    assert any("Alice Moreau" in f["content"] for f in r.body["facts"]), r.body
    assert "Globex" in r.body["assembled_context"], r.body
    r = s.post("/v1/memories/compile", {"subject_id": target})
    assert r.status == 200 and r.body["memories_created"] == 0, r     # all compiled already
    s.create(target, payload={"text": "I live in Porto."})
    r = s.post("/v1/memories/compile", {"subject_id": target})
    assert r.status == 200 and r.body["memories_created"] > 0, r
    r = s.post("/v1/context", {"subject_id": target, "task": "Where does Alice live?"})
    assert "Porto" in r.body["assembled_context"], r.body


# -- 95.5 bootstrap ----------------------------------------------------------------------------

@test("95.5.1 bootstrap examples/personas.json twice: snapshots made once, then all exist",
      env=ON)
def _(s):
    personas = json.load(open(os.path.join(ROOT, "examples", "personas.json")))
    assert 3 <= len(personas), personas
    path = os.path.join(ROOT, "examples", "personas.json")
    r = cli(s, "snapshot", "bootstrap", path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    lines = r.stdout.strip().split("\n")
    assert len(lines) == len(personas), lines
    first = {}
    for p, line in zip(personas, lines):
        word, rest = line.split(" ", 1)
        assert word in ("created", "exists"), line     # a shared database may hold them
        assert rest.startswith("%s v%d: %d episodes, " % (p["name"], p.get("version", 1),
                                                         len(p["episodes"]))), line
        first[p["name"]] = line.rsplit("(id ", 1)[1].rstrip(")")
    r = cli(s, "snapshot", "bootstrap", path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    again = r.stdout.strip().split("\n")
    assert [x.split(" ", 1)[0] for x in again] == ["exists"] * len(personas), again
    assert [x.rsplit("(id ", 1)[1].rstrip(")") for x in again] == \
        [first[p["name"]] for p in personas], again
    rows = {x["name"]: x for x in listing(s)}
    for p in personas:
        row = rows[p["name"]]
        assert row["id"] == first[p["name"]] and row["memory_count"] > len(p["episodes"]), row
        assert row["metadata"] == p.get("metadata", {}), row
    # No scratch subject is left behind.
    assert not [x for x in s.all_subjects() if x["subject_id"].startswith("bootstrap-")]
    # A persona restores into a subject whose context knows the person.
    target = uid("founder")
    r = s.post(BY_NAME, {"name": "startup-founder", "target_subject_id": target})
    assert r.status == 200, r
    r = s.post("/v1/context", {"subject_id": target, "task": "What is the user's name?"})
    assert any("Sarah Chen" in f["content"] for f in r.body["facts"]), r.body
    # Bad files fail with a message and exit 1.
    bad = os.path.join(s.workdir, "bad-personas.json")
    with open(bad, "w") as f:
        json.dump([{"name": "bad name", "episodes": [{"source": "c", "type": "m",
                                                      "payload": {}}]},
                   {"name": name("nopayload"), "episodes": [{"source": "c", "type": "m"}]}], f)
    r = cli(s, "snapshot", "bootstrap", bad)
    assert r.returncode == 1 and "Invalid snapshot name or version" in r.stderr, r.stderr
    r = cli(s, "snapshot", "bootstrap", os.path.join(s.workdir, "missing.json"))
    assert r.returncode == 1, r


if __name__ == "__main__":
    main()
