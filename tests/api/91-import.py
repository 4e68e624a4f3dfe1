"""91-import: POST /admin/import (spec/backup-snapshots.md §2, §3; spec/api.md §6.2). The
round trip into a fresh database (same episodes, memories and checksum), preserve_ids=false
(new ids, remapped provenance), every single-byte change to a document's data refused, each
validation step with its exact message, all-or-nothing writes, tenants (target, document,
per row; the header is ignored), numbers beyond 64 bits, and the size cap (413)."""

import hashlib
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_422, check_error, episode, main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

DIMS = 4
ENV = {"STATEWAVE_EMBEDDING_DIMENSIONS": str(DIMS)}
CAPPED = dict(ENV, STATEWAVE_MEMORY_IMPORT_MAX_BYTES="6000")
RESULT_KEYS = ["subject_id", "tenant_id", "episodes_imported", "memories_imported",
               "ids_preserved"]
MISMATCH = "Checksum mismatch \u2014 export file may be corrupted or tampered with"
CONFLICT_TAIL = "Use preserve_ids=false to generate new IDs, or delete existing data first."


# -- helpers ------------------------------------------------------------------------------------

def checksum(doc):
    canon = json.dumps({"episodes": doc.get("episodes", []), "memories": doc.get("memories", [])},
                       sort_keys=True)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def new_id():
    return str(uuid.uuid4())


def ep_record(sid, **over):
    r = {"id": new_id(), "subject_id": sid, "tenant_id": None, "source": "chat",
         "type": "message", "payload": {"text": "hello"}, "metadata": {}, "provenance": {},
         "created_at": "2026-05-01T10:00:00.123456+00:00", "last_compiled_at": None}
    r.update(over)
    return r


def mem_record(sid, sources, **over):
    r = {"id": new_id(), "subject_id": sid, "tenant_id": None, "kind": "profile_fact",
         "content": "Lives in Zürich", "summary": "Lives in Zürich", "confidence": 0.6,
         "valid_from": "2026-05-01T10:00:00.123456+00:00", "valid_to": None,
         "source_episode_ids": list(sources), "metadata": {}, "status": "active",
         "embedding": [0.10000000149011612, -2.5, 5.960464477539063e-08, 1.0],
         "created_at": "2026-05-01T10:00:01+00:00", "updated_at": "2026-05-01T10:00:01+00:00"}
    r.update(over)
    return r


def document(sid, episodes, memories, tenant=None, fix=True):
    d = {"format_version": "1.0", "exported_at": "2026-05-02T00:00:00+00:00",
         "subject_id": sid, "tenant_id": tenant,
         "counts": {"episodes": len(episodes), "memories": len(memories)},
         "episodes": episodes, "memories": memories}
    if fix:
        d["checksum"] = checksum(d)
    return d


def small_doc(sid=None, n_eps=1, n_mems=1, tenant=None):
    sid = sid or uid("imp")
    eps = [ep_record(sid, payload={"i": i}) for i in range(n_eps)]
    mems = [mem_record(sid, [eps[i % n_eps]["id"]] if n_eps else [], content="m%d" % i)
            for i in range(n_mems)]
    return document(sid, eps, mems, tenant)


def import_doc(s, doc, tenant=None, **fields):
    body = {"document": doc}
    body.update(fields)
    return s.post("/admin/import", body, tenant=tenant)


def import_ok(s, doc, **kw):
    r = import_doc(s, doc, **kw)
    assert r.status == 200, r
    assert list(r.body) == RESULT_KEYS, list(r.body)
    return r.body


def export(s, sid, query_tenant=None, status=200):
    query = {"tenant_id": query_tenant} if query_tenant is not None else None
    r = s.get("/admin/export/" + q(sid), query=query)
    assert r.status == status, "export of %r: %r" % (sid, r)
    return json.loads(r.raw) if status == 200 else r


def fresh_server(s, tag):
    if pgctl.is_postgres(s.database_url):
        url = pgctl.Cluster.shared_or_own().createdb(pgctl.dbname("engram_x_" + tag))
    else:
        url = "sqlite:///" + os.path.join(s.workdir, "%s-%s.db" % (tag, uid("f")))
    f = Server(env=ENV, database_url=url, workdir=s.workdir, name="%s-%s" % (tag, uid("srv")))
    f.start()
    return f


def compiled_subject(s, tenant=None):
    sid = uid("rt")
    s.batch([episode(sid, payload={"text": "My name is Alice. I work at Globex.",
                                   "n": [1e20, 12345678901234567, 0.5]}, session_id="s-1"),
             episode(sid, payload={"text": "I prefer email over Slack"})], tenant=tenant)
    s.create(sid, tenant=tenant, payload={"text": "not compiled yet"}, metadata={"k": [1, 2]})
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] > 0, r
    r = s.request("PATCH", "/v1/memories/%s/labels" % r.body["memories"][0]["id"],
                  body={"sensitivity_labels": ["pii", "hr"]}, tenant=tenant)
    assert r.status == 200, r
    s.create(sid, tenant=tenant, payload={"text": "after the compile"})
    return sid


# -- round trips ----------------------------------------------------------------------------------

@test("91.1 round trip into a fresh database: same episodes, memories and checksum", env=ENV)
def _(s):
    sid = compiled_subject(s)
    d1 = export(s, sid)
    assert any(e["last_compiled_at"] is None for e in d1["episodes"])
    assert any("session_id" in e for e in d1["episodes"])
    assert any("sensitivity_labels" in m for m in d1["memories"])
    f = fresh_server(s, "rt")
    try:
        res = import_ok(f, d1)
        assert res == {"subject_id": sid, "tenant_id": None, "episodes_imported": 4,
                       "memories_imported": len(d1["memories"]), "ids_preserved": True}, res
        d2 = export(f, sid)
        assert d2["episodes"] == d1["episodes"], "episodes differ after the round trip"
        assert d2["memories"] == d1["memories"], "memories differ after the round trip"
        assert d2["checksum"] == d1["checksum"]
        assert d2["counts"] == d1["counts"]
        # the imported subject is an ordinary subject: timeline and compile work
        tl = f.timeline(sid)
        assert len(tl["episodes"]) == 4
        r = f.post("/v1/memories/compile", {"subject_id": sid})
        assert r.status == 200 and r.body["memories_created"] > 0, \
            "the uncompiled episodes are compiled by the target: %r" % (r,)
    finally:
        f.stop()


@test("91.2 another target subject: only subject_id differs", env=ENV)
def _(s):
    sid = compiled_subject(s)
    d1 = export(s, sid)
    f = fresh_server(s, "tg")
    try:
        target = uid("moved")
        assert import_ok(f, d1, target_subject_id=target)["subject_id"] == target
        d2 = export(f, target)
        for a, b in zip(d1["episodes"] + d1["memories"], d2["episodes"] + d2["memories"]):
            assert b["subject_id"] == target
            assert dict(a, subject_id=target) == b
        r = import_doc(f, d1, target_subject_id="")   # "" = the document's subject
        assert r.status == 400 and r.body["error"]["message"].startswith("ID conflict:"), r
    finally:
        f.stop()


@test("91.3 preserve_ids=false: fresh ids, source_episode_ids remapped in order", env=ENV)
def _(s):
    sid = uid("new")
    eps = [ep_record(sid, payload={"i": i}) for i in range(3)]
    outside = new_id()
    mems = [mem_record(sid, [eps[2]["id"], outside, eps[0]["id"]]),
            mem_record(sid, [eps[1]["id"]], content="second")]
    d = document(sid, eps, mems)
    import_ok(s, d)
    target = uid("copy")
    res = import_ok(s, d, preserve_ids=False, target_subject_id=target)
    assert res["ids_preserved"] is False and res["episodes_imported"] == 3
    got = export(s, target)
    new_eps = {e["payload"]["i"]: e["id"] for e in got["episodes"]}
    old_ids = {e["id"] for e in eps} | {m["id"] for m in mems}
    assert not old_ids & ({e["id"] for e in got["episodes"]} | {m["id"] for m in got["memories"]})
    by_content = {m["content"]: m for m in got["memories"]}
    assert by_content["Lives in Zürich"]["source_episode_ids"] == [new_eps[2], outside, new_eps[0]]
    assert by_content["second"]["source_episode_ids"] == [new_eps[1]]
    # a second copy is independent
    res = import_ok(s, d, preserve_ids="false", target_subject_id=target)
    again = export(s, target)
    assert len(again["episodes"]) == 6 and len({e["id"] for e in again["episodes"]}) == 6


# -- integrity ----------------------------------------------------------------------------------

@test("91.4 every single-byte change to the records is refused (never 200)", env=ENV)
def _(s):
    sid = uid("mut")
    ep = ep_record(sid, payload={"t": "ab", "n": 12, "f": 0.5, "z": None}, session_id="s",
                   provenance={"b": True})
    mem = mem_record(sid, [ep["id"]], embedding=[0.5, -1.0, 2.0, 0.25],
                     sensitivity_labels=["x"])
    base = document(sid, [ep], [mem])
    head = json.dumps({k: v for k, v in base.items()
                       if k not in ("episodes", "memories", "checksum")},
                      separators=(",", ":"), ensure_ascii=False)[:-1]
    data = ('"episodes":' + json.dumps(base["episodes"], separators=(",", ":"),
                                       ensure_ascii=False) +
            ',"memories":' + json.dumps(base["memories"], separators=(",", ":"),
                                        ensure_ascii=False)).encode("utf-8")
    tail = (',"checksum":"%s"}' % base["checksum"]).encode()
    canon = json.dumps({"e": base["episodes"], "m": base["memories"]}, sort_keys=True)
    tried = 0
    for pos in range(len(data)):
        mutated = bytearray(data)
        mutated[pos] ^= 0x01
        doc_bytes = head.encode("utf-8") + b"," + bytes(mutated) + tail
        try:
            parsed = json.loads(doc_bytes)
        except ValueError:
            continue   # not JSON any more: a 422 anyway
        if json.dumps({"e": parsed.get("episodes"), "m": parsed.get("memories")},
                      sort_keys=True) == canon:
            continue   # the same values (e.g. a float digit beyond double precision)
        tried += 1
        r = s.post("/admin/import", body=b'{"document":' + doc_bytes + b'}',
                   headers={"Content-Type": "application/json"})
        assert r.status == 400, "byte %d (%r) changed: %r" % (pos, bytes(mutated[pos:pos + 1]), r)
        msg = r.body["error"]["message"]
        assert msg == MISMATCH or msg.startswith("Invalid document: "), (pos, msg)
    assert tried > 200, "only %d mutations were valid JSON" % tried
    assert export(s, sid, status=404).status == 404, "nothing was imported"


VALIDATION = [
    # (edit, message)
    (lambda d: d.update(format_version="2.0"), "Unsupported format version: 2.0 (expected 1.0)"),
    (lambda d: d.update(format_version=99.0), "Unsupported format version: 99.0 (expected 1.0)"),
    (lambda d: d.update(format_version=1), "Unsupported format version: 1 (expected 1.0)"),
    (lambda d: d.pop("format_version"), "Unsupported format version: None (expected 1.0)"),
    (lambda d: d.update(checksum=d["checksum"].upper()), MISMATCH),
    (lambda d: d.pop("checksum"), MISMATCH),
    (lambda d: d["episodes"][0].update(source="edited"), MISMATCH),
    (lambda d: d.update(subject_id=""), "No subject_id specified and none found in export "
                                        "document"),
    (lambda d: d.pop("subject_id"), "No subject_id specified and none found in export document"),
]

STRUCTURE = [
    # (edit of the records; checksum recomputed afterwards, message)
    (lambda d: d.update(episodes={}), "Invalid document: episodes: expected an array"),
    (lambda d: d["counts"].update(episodes=5),
     "Invalid document: counts.episodes: 5 does not match the 2 episodes of the document"),
    (lambda d: d["episodes"][1].pop("created_at"),
     "Invalid document: episodes[1].created_at: missing"),
    (lambda d: d["episodes"][0].update(payload="text"),
     "Invalid document: episodes[0].payload: expected an object"),
    (lambda d: d["episodes"][1].update(id=d["episodes"][0]["id"]),
     "Invalid document: episodes[1].id: duplicate id"),
    (lambda d: d["memories"][2].update(created_at="2026-02-30T00:00:00"),
     "Invalid document: memories[2].created_at: invalid timestamp"),
    (lambda d: d["memories"][1].update(id="nope"), "Invalid document: memories[1].id: invalid UUID"),
    (lambda d: d["memories"][0].update(embedding=[1.0, 2.0]),
     "Invalid document: memories[0].embedding: expected %d numbers "
     "(STATEWAVE_EMBEDDING_DIMENSIONS), got 2" % DIMS),
    (lambda d: d["memories"][0].update(embedding=[1.0, None, 2.0, 3.0]),
     "Invalid document: memories[0].embedding[1]: expected a finite number"),
    (lambda d: d["memories"][2].update(source_episode_ids=["x"]),
     "Invalid document: memories[2].source_episode_ids[0]: invalid UUID"),
    (lambda d: d["memories"][1].pop("kind"), "Invalid document: memories[1].kind: missing"),
    (lambda d: d["memories"][1].update(confidence="0.5"),
     "Invalid document: memories[1].confidence: expected a number"),
    (lambda d: d["memories"][2].update(id=d["memories"][0]["id"]),
     "Invalid document: memories[2].id: duplicate id"),
    (lambda d: d.update(subject_id="_snapshot/demo/v1"),
     "Subject id '_snapshot/demo/v1' uses a reserved prefix (_snapshot/)"),
]


@test("91.5 each validation step answers 400 with its exact message; nothing is written", env=ENV)
def _(s):
    for i, (edit, want) in enumerate(VALIDATION):
        d = small_doc(n_eps=2, n_mems=3)
        edit(d)
        r = import_doc(s, d)
        check_error(r, 400, "http_error", want)
    for i, (edit, want) in enumerate(STRUCTURE):
        d = small_doc(n_eps=2, n_mems=3)
        edit(d)
        d["checksum"] = checksum(d)
        r = import_doc(s, d)
        check_error(r, 400, "http_error", want)
        export(s, d["subject_id"], status=404)
    d = small_doc()
    r = import_doc(s, d, target_subject_id="_snapshot/x/v2")
    check_error(r, 400, "http_error", "Subject id '_snapshot/x/v2' uses a reserved prefix "
                                      "(_snapshot/)")


@test("91.6 a lone surrogate is a 400 naming its field; malformed bodies are 422", env=ENV)
def _(s):
    d = small_doc()
    text = json.dumps({"document": d}).replace('{"i": 0}', '{"i": "\\ud800"}')
    r = s.post("/admin/import", body=text.encode(), headers={"Content-Type": "application/json"})
    check_error(r, 400, "http_error", "Invalid document: episodes[0].payload.i: invalid unicode")
    r = s.post("/admin/import", body=b'{"document": {"a": 1,}}',
               headers={"Content-Type": "application/json"})
    check_422(r)
    assert r.body["error"]["details"][0]["type"] == "json_invalid", r
    check_422(s.post("/admin/import", {"target_subject_id": "x"}), loc=["body", "document"])
    check_422(s.post("/admin/import", {"document": [1]}), loc=["body", "document"])
    check_422(s.post("/admin/import", {"document": d, "target_subject_id": 5}),
              loc=["body", "target_subject_id"])
    check_422(s.post("/admin/import", {"document": d, "target_tenant_id": ["t"]}),
              loc=["body", "target_tenant_id"])
    check_422(s.post("/admin/import", {"document": d, "preserve_ids": "maybe"}),
              loc=["body", "preserve_ids"])
    check_422(s.post("/admin/import", [d]), loc=["body"])
    check_422(s.post("/admin/import", body=b'{"document": NaN}',
                     headers={"Content-Type": "application/json"}))
    export(s, d["subject_id"], status=404)


@test("91.7 id conflicts: episodes only, episodes and memories, memories only", env=ENV)
def _(s):
    d = small_doc(n_eps=2, n_mems=3)
    import_ok(s, d)
    r = import_doc(s, d)
    check_error(r, 400, "http_error", "ID conflict: 2 episode(s) and 3 memory(ies) already "
                                      "exist. " + CONFLICT_TAIL)
    only_eps = small_doc(n_eps=2, n_mems=1)
    only_eps["episodes"][1]["id"] = d["episodes"][0]["id"]
    only_eps["memories"][0]["source_episode_ids"] = [d["episodes"][0]["id"]]
    only_eps["checksum"] = checksum(only_eps)
    r = import_doc(s, only_eps)
    check_error(r, 400, "http_error", "ID conflict: 1 episode(s) already exist. " + CONFLICT_TAIL)
    export(s, only_eps["subject_id"], status=404)


@test("91.8 atomic: a document whose last memory id exists imports nothing", env=ENV)
def _(s):
    first = small_doc(n_eps=1, n_mems=1)
    import_ok(s, first)
    d = small_doc(n_eps=50, n_mems=40)
    d["memories"][-1]["id"] = first["memories"][0]["id"]
    d["checksum"] = checksum(d)
    r = import_doc(s, d)
    check_error(r, 400, "http_error", "ID conflict: 0 episode(s) and 1 memory(ies) already "
                                      "exist. " + CONFLICT_TAIL)
    export(s, d["subject_id"], status=404)
    res = import_ok(s, d, preserve_ids=False)
    assert (res["episodes_imported"], res["memories_imported"]) == (50, 40)


# -- tenants ------------------------------------------------------------------------------------

@test("91.9 tenants: target, the document's tenant, or each row's own; header ignored", env=ENV)
def _(s):
    sid, ta, tb, tx = uid("tn"), uid("ta"), uid("tb"), uid("tx")
    s.batch([episode(sid, payload={"t": "a"})], tenant=ta)
    s.batch([episode(sid, payload={"t": "none"})])
    mixed = export(s, sid)   # rows of tenant A and of no tenant, tenant_id null
    from_a = export(s, sid, query_tenant=ta)
    assert from_a["tenant_id"] == ta
    # target tenant: every row there, nowhere else
    t1 = uid("to-b")
    res = import_ok(s, mixed, preserve_ids=False, target_subject_id=t1, target_tenant_id=tb)
    assert res["tenant_id"] == tb
    assert len(s.timeline(t1, tenant=tb)["episodes"]) == 2
    assert s.timeline(t1)["episodes"] == [] and s.timeline(t1, tenant=ta)["episodes"] == []
    assert export(s, t1, query_tenant=tb)["counts"]["episodes"] == 2
    # the document's tenant_id (an export with ?tenant_id=A), whatever the header says
    t2 = uid("to-a")
    res = import_ok(s, from_a, preserve_ids=False, target_subject_id=t2, tenant=tx)
    assert res["tenant_id"] == ta, res
    assert len(s.timeline(t2, tenant=ta)["episodes"]) == 1
    assert s.timeline(t2, tenant=tx)["episodes"] == []
    # per-row: neither given, each row keeps its own tenant (ENG)
    t3 = uid("per-row")
    res = import_ok(s, mixed, preserve_ids=False, target_subject_id=t3, tenant=tx)
    assert res["tenant_id"] is None, res
    assert [e["payload"]["t"] for e in s.timeline(t3, tenant=ta)["episodes"]] == ["a"]
    assert [e["payload"]["t"] for e in s.timeline(t3)["episodes"]] == ["none"]
    assert s.timeline(t3, tenant=tx)["episodes"] == []
    # admin is cross-tenant (README "Admin and tenants"): a tenant header restricts no
    # export; ?tenant_id= does
    r = s.get("/admin/export/" + q(t2), tenant=tb)
    assert r.status == 200 and r.body["counts"]["episodes"] == 1, r
    r = s.get("/admin/export/" + q(t2), query={"tenant_id": tb})
    check_error(r, 404, "http_error", "No data found for subject '%s'" % t2)


# -- numbers, empty documents, size -------------------------------------------------------------

@test("91.10 big integers and 1e20 floats round-trip with the same checksum", env=ENV)
def _(s):
    sid = uid("num")
    payload_text = ('{"big": 123456789012345678901234567890, "neg": -98765432109876543210,'
                    ' "f": 1e20, "g": 1E2, "h": 1.0, "tiny": 5e-324, "z": -0.0, "i": 0}')
    ep = ep_record(sid)
    ep["payload"] = json.loads(payload_text)
    mem = mem_record(sid, [ep["id"]], metadata={"order": 99999999999999999999})
    d = document(sid, [ep], [mem])
    res = import_ok(s, d)
    assert res["episodes_imported"] == 1
    r = s.get("/admin/export/" + q(sid))
    assert b'"big":123456789012345678901234567890' in r.raw, r.raw[:500]
    assert b'"neg":-98765432109876543210' in r.raw
    assert b'"f":1e+20,"g":100.0,"h":1.0,"tiny":5e-324,"z":-0.0' in r.raw, r.raw[:600]
    assert b'"order":99999999999999999999' in r.raw
    got = json.loads(r.raw)
    assert got["episodes"] == d["episodes"] and got["memories"] == d["memories"]
    assert got["checksum"] == d["checksum"]
    # confidence 1 (an integer) is stored as a double and exported as 1.0: another checksum
    sid2 = uid("num")
    d2 = document(sid2, [], [mem_record(sid2, [], confidence=1)])
    import_ok(s, d2)
    r = s.get("/admin/export/" + q(sid2))
    assert b'"confidence":1.0' in r.raw, r.raw[:400]
    got = json.loads(r.raw)
    assert got["checksum"] == checksum(got) != d2["checksum"]


@test("91.11 an empty document imports with zero counts; timestamps stored in UTC", env=ENV)
def _(s):
    d = document(uid("empty"), [], [])
    assert d["checksum"] == "743a461383d986fa6fd7653ca7d0f5f5fb50bfd4b5aaa418e37f7d70a30796e5"
    res = import_ok(s, d, preserve_ids=False)
    assert res["episodes_imported"] == 0 and res["memories_imported"] == 0
    sid = uid("utc")
    ep = ep_record(sid, created_at="2026-05-01 12:30:00.1234567+02:00",
                   last_compiled_at="2026-05-01")
    mem = mem_record(sid, [], valid_from="2026-05-01T10:00Z", valid_to="2026-06-01T00:00:00",
                     embedding=None)
    import_ok(s, document(sid, [ep], [mem]))
    got = export(s, sid)
    assert got["episodes"][0]["created_at"] == "2026-05-01T10:30:00.123456+00:00"
    assert got["episodes"][0]["last_compiled_at"] == "2026-05-01T00:00:00+00:00"
    assert got["memories"][0]["valid_from"] == "2026-05-01T10:00:00+00:00"
    assert got["memories"][0]["valid_to"] == "2026-06-01T00:00:00+00:00"
    assert got["memories"][0]["embedding"] is None


@test("91.12 STATEWAVE_MEMORY_IMPORT_MAX_BYTES: 413 beyond the cap", env=CAPPED)
def _(s):
    d = small_doc()
    r = import_doc(s, d)
    assert r.status == 200, r
    big = small_doc(n_eps=30, n_mems=0)
    body = json.dumps({"document": big}).encode()
    assert len(body) > 6000
    r = s.post("/admin/import", body=body, headers={"Content-Type": "application/json"})
    check_error(r, 413, "http_error", "Request body too large (limit 6000 bytes)")
    export(s, big["subject_id"], status=404)


if __name__ == "__main__":
    main()
