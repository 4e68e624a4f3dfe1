"""92-memory-export: POST /admin/memory/export and POST /admin/memory/import, the portable
"statewave-memory-payload" (spec/api.md §6.3-§6.5; backup-snapshots.md §6).

Engram's fixes checked here: the whole import is one transaction (a bad second group writes
nothing), every record is checked before any write (400 naming the field, never 500), reserved
subject ids (`_snapshot/`, `_bootstrap_tmp/`) are never targets and never exported, and every
imported record has a new id plus the imported_from_export_id / original_subject_id /
imported_at stamps."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, check_422, check_error, main, test, uid  # noqa: E402

EXPORT = "/admin/memory/export"
IMPORT = "/admin/memory/import"
OFFSET_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
RULE = " must be 1-128 characters of letters, digits, underscore, dot, dash, or colon."

TOP_KEYS = ["format", "format_version", "export_id", "exported_at", "export_scope", "subjects",
            "episodes", "memories", "sources", "metadata"]
SUBJECT_KEYS = ["original_subject_id", "tenant_id", "display_name", "tags", "metadata",
                "exported_at"]
EPISODE_KEYS = ["original_episode_id", "subject_id", "source", "type", "payload", "metadata",
                "provenance", "created_at", "last_compiled_at"]
MEMORY_KEYS = ["original_memory_id", "subject_id", "kind", "content", "summary", "confidence",
               "valid_from", "valid_to", "source_episode_ids", "status", "metadata",
               "created_at", "updated_at"]
IMPORT_KEYS = ["imported_at", "export_id", "conflict_strategy", "subject_id_map",
               "imported_subjects", "imported_episodes", "imported_memories", "imported_sources"]
STAMPS = ["imported_from_export_id", "original_subject_id", "imported_at"]
BIG = 123456789012345678901234567890

LIMITS = {"STATEWAVE_MEMORY_IMPORT_MAX_BYTES": "6000",
          "STATEWAVE_MEMORY_IMPORT_MAX_SUBJECTS": "2",
          "STATEWAVE_MEMORY_IMPORT_MAX_EPISODES": "2",
          "STATEWAVE_MEMORY_IMPORT_MAX_MEMORIES": "2"}


# -- helpers -----------------------------------------------------------------------------------

def sid(prefix="mp"):
    return uid(prefix)


def seed(s, subject, tenant=None):
    """Two episodes (one with a 30-digit integer and a 1E2 float in its payload) compiled into
    memories; returns the compile response."""
    s.create(subject, tenant=tenant, source="support-chat", type="conversation",
             payload={"messages": [{"role": "user",
                                    "content": "My name is Alice Chen and I work at Globex."}]},
             metadata={"channel": "web"}, provenance={"origin": "test"})
    s.create(subject, tenant=tenant, payload={"text": "I prefer email notifications.",
                                              "order": BIG})
    r = s.post("/v1/memories/compile", {"subject_id": subject}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] > 0, r
    return r.body


def export(s, subjects, **extra):
    body = {"subject_ids": subjects}
    body.update(extra)
    r = s.post(EXPORT, body)
    assert r.status == 200, r
    return r.body


def do_import(s, payload, **extra):
    body = {"payload": payload}
    body.update(extra)
    return s.post(IMPORT, body)


def import_ok(s, payload, **extra):
    r = do_import(s, payload, **extra)
    assert r.status == 200, r
    assert list(r.body.keys()) == IMPORT_KEYS, list(r.body.keys())
    return r.body


def payload(**over):
    p = {"format": "statewave-memory-payload", "format_version": 1, "export_id": "e" * 32,
         "subjects": [], "episodes": [], "memories": []}
    p.update(over)
    return p


def counts(s, subject, tenant=None):
    tl = s.timeline(subject, tenant)
    return len(tl["episodes"]), len(tl["memories"])


def strip_stamps(obj):
    return {k: v for k, v in obj.items() if k not in STAMPS}


def import_error(s, p, status, message, **extra):
    r = do_import(s, p, **extra)
    check_error(r, status, "http_error", message)
    return r


# -- export ------------------------------------------------------------------------------------

@test("92.1 export: payload shape, key order, records of both kinds, metadata counts")
def _(s):
    a, empty = sid(), sid()
    comp = seed(s, a)
    r = s.post(EXPORT, {"subject_ids": [a, empty]})
    assert r.status == 200, r
    d = r.body
    assert list(d.keys()) == TOP_KEYS, list(d.keys())
    assert b'"format_version":1,' in r.raw, "format_version must be the integer 1"
    assert d["format"] == "statewave-memory-payload"
    assert HEX32_RE.match(d["export_id"]), d["export_id"]
    assert OFFSET_TS_RE.match(d["exported_at"]), d["exported_at"]
    assert d["export_scope"] == "episodes_memories_sources"
    assert [x["original_subject_id"] for x in d["subjects"]] == [a, empty]
    for x in d["subjects"]:
        assert list(x.keys()) == SUBJECT_KEYS, list(x.keys())
        assert x["tenant_id"] is None and x["display_name"] is None
        assert x["tags"] == [] and x["metadata"] == {}
        assert OFFSET_TS_RE.match(x["exported_at"]), x
    assert len(d["episodes"]) == 2 and len(d["memories"]) == comp["memories_created"]
    tl = s.timeline(a)
    for rec, ep in zip(d["episodes"], tl["episodes"]):
        assert list(rec.keys()) == EPISODE_KEYS, list(rec.keys())
        assert rec["original_episode_id"] == ep["id"] and rec["subject_id"] == a
        assert rec["payload"] == ep["payload"] and rec["metadata"] == ep["metadata"]
        assert rec["provenance"] == ep["provenance"]
        assert OFFSET_TS_RE.match(rec["created_at"]) and OFFSET_TS_RE.match(rec["last_compiled_at"])
    assert d["episodes"][1]["payload"]["order"] == BIG
    assert str(BIG).encode() in r.raw
    ids = {e["original_episode_id"] for e in d["episodes"]}
    for rec in d["memories"]:
        assert list(rec.keys()) == MEMORY_KEYS, list(rec.keys())
        assert UUID_RE.match(rec["original_memory_id"]) and rec["subject_id"] == a
        assert isinstance(rec["confidence"], float)
        assert set(rec["source_episode_ids"]) <= ids
        assert rec["valid_to"] is None and OFFSET_TS_RE.match(rec["valid_from"])
    assert b'"confidence":0.' in r.raw or b'"confidence":1.0' in r.raw
    created = [m["created_at"] for m in d["memories"]]
    assert created == sorted(created)
    assert d["sources"] == []
    assert d["metadata"] == {"statewave_version": "0.1", "subject_count": 2, "episode_count": 2,
                             "memory_count": comp["memories_created"], "source_count": 0}
    assert list(d["metadata"].keys()) == ["statewave_version", "subject_count",
                                          "episode_count", "memory_count", "source_count"]


@test("92.2 export scopes: episodes, memories, episodes_and_memories, default")
def _(s):
    a = sid()
    comp = seed(s, a)
    n = comp["memories_created"]
    for scope, eps, mems in [("episodes", 2, 0), ("memories", 0, n),
                             ("episodes_and_memories", 2, n),
                             ("episodes_memories_sources", 2, n)]:
        d = export(s, [a], export_scope=scope)
        assert d["export_scope"] == scope
        assert (len(d["episodes"]), len(d["memories"])) == (eps, mems), (scope, d)
        assert d["metadata"]["episode_count"] == eps and d["metadata"]["memory_count"] == mems
        assert d["sources"] == [] and len(d["subjects"]) == 1


@test("92.3 export: tenant_id filters rows and is echoed; the tenant header is ignored")
def _(s):
    a, ta, tb = sid(), uid("t"), uid("t")
    s.create(a, tenant=ta, payload={"text": "from A"})
    s.create(a, tenant=tb, payload={"text": "from B"})
    s.create(a, payload={"text": "no tenant"})
    d = export(s, [a], tenant_id=ta)
    assert [e["payload"]["text"] for e in d["episodes"]] == ["from A"]
    assert d["subjects"][0]["tenant_id"] == ta
    r = s.post(EXPORT, {"subject_ids": [a]}, tenant=tb)
    assert r.status == 200, r
    assert sorted(e["payload"]["text"] for e in r.body["episodes"]) == \
        ["from A", "from B", "no tenant"]
    assert r.body["subjects"][0]["tenant_id"] is None


@test("92.4 export errors: empty list 400, bad id 400, reserved ids never exported")
def _(s):
    check_error(s.post(EXPORT, {"subject_ids": []}), 400, "http_error", "subject_ids is required.")
    for bad in ["has spaces", "x" * 129, "weird/path", "_snapshot/demo/v1", "_bootstrap_tmp/x",
                ""]:
        check_error(s.post(EXPORT, {"subject_ids": [sid(), bad]}), 400, "http_error",
                    "'subject_ids'" + RULE)
    # demo_web_ ids are valid sources.
    d = export(s, ["demo_web_" + sid()])
    assert d["episodes"] == [] and len(d["subjects"]) == 1


@test("92.5 export validation: 422 for a missing or mistyped field")
def _(s):
    check_422(s.post(EXPORT, {}), ["body", "subject_ids"])
    check_422(s.post(EXPORT, {"subject_ids": "a"}), ["body", "subject_ids"])
    check_422(s.post(EXPORT, {"subject_ids": ["a", 5]}), ["body", "subject_ids", 1])
    check_422(s.post(EXPORT, {"subject_ids": ["a"], "tenant_id": 5}), ["body", "tenant_id"])
    item = check_422(s.post(EXPORT, {"subject_ids": ["a"], "export_scope": "all"}),
                     ["body", "export_scope"], "all")
    assert item["type"] == "literal_error", item
    check_422(s.post(EXPORT, {"subject_ids": ["a"], "export_scope": None}),
              ["body", "export_scope"])


@test("92.6 export: more than MAX_SUBJECTS ids is 413", env=LIMITS)
def _(s):
    check_error(s.post(EXPORT, {"subject_ids": ["a", "b", "c"]}), 413, "http_error",
                "Too many subjects in one export: 3 > limit 2.")
    assert export(s, ["a", "b"])["metadata"]["subject_count"] == 2


# -- round trip --------------------------------------------------------------------------------

@test("92.10 round trip: create_copy into a derived id; equal contents, new ids, stamps")
def _(s):
    a = sid()
    seed(s, a)
    d = export(s, [a])
    res = import_ok(s, d)
    target = res["subject_id_map"][a]
    assert re.match("^" + re.escape(a) + "-[0-9a-f]{8}$", target), target
    assert res["imported_subjects"] == [target]
    assert res["conflict_strategy"] == "create_copy" and res["export_id"] == d["export_id"]
    assert res["imported_episodes"] == 2 and res["imported_memories"] == len(d["memories"])
    assert res["imported_sources"] == 0 and OFFSET_TS_RE.match(res["imported_at"])

    d2 = export(s, [target])
    assert len(d2["episodes"]) == 2 and len(d2["memories"]) == len(d["memories"])
    old_eps = {e["original_episode_id"] for e in d["episodes"]}
    new_eps = {e["original_episode_id"] for e in d2["episodes"]}
    assert not old_eps & new_eps, "episodes must get new ids"
    id_map = {}
    for old, new in zip(d["episodes"], d2["episodes"]):
        id_map[old["original_episode_id"]] = new["original_episode_id"]
        assert new["subject_id"] == target
        for k in ["source", "type", "payload", "created_at", "last_compiled_at"]:
            assert new[k] == old[k], (k, old[k], new[k])
        assert strip_stamps(new["metadata"]) == old["metadata"]
        assert strip_stamps(new["provenance"]) == old["provenance"]
        for obj in (new["metadata"], new["provenance"]):
            assert obj["imported_from_export_id"] == d["export_id"]
            assert obj["original_subject_id"] == a
            assert obj["imported_at"] == res["imported_at"]
    assert d2["episodes"][1]["payload"]["order"] == BIG
    old_m = sorted(d["memories"], key=lambda m: (m["created_at"], m["content"]))
    new_m = sorted(d2["memories"], key=lambda m: (m["created_at"], m["content"]))
    for old, new in zip(old_m, new_m):
        assert new["original_memory_id"] != old["original_memory_id"]
        for k in ["kind", "content", "summary", "confidence", "valid_from", "valid_to", "status",
                  "created_at", "updated_at"]:
            assert new[k] == old[k], (k, old[k], new[k])
        assert new["source_episode_ids"] == [id_map[x] for x in old["source_episode_ids"]]
        assert strip_stamps(new["metadata"]) == old["metadata"]
        assert [new["metadata"][k] for k in STAMPS] == [d["export_id"], a, res["imported_at"]]
    # The source is untouched.
    assert counts(s, a) == (2, len(d["memories"]))


@test("92.11 round trip: a free original id is kept; the tenant is target_tenant_id")
def _(s):
    a, fresh, t = sid(), sid(), uid("t")
    seed(s, a)
    d = export(s, [a])
    d["subjects"][0]["original_subject_id"] = fresh
    for rec in d["episodes"] + d["memories"]:
        rec["subject_id"] = fresh
    res = import_ok(s, d, target_tenant_id=t)
    assert res["subject_id_map"] == {fresh: fresh}
    assert counts(s, fresh, tenant=t) == (2, len(d["memories"]))
    assert counts(s, fresh) == (0, 0), "rows belong to the target tenant only"
    # Without target_tenant_id the rows have no tenant.
    d2 = export(s, [a], tenant_id=None)
    other = sid()
    d2["subjects"][0]["original_subject_id"] = other
    for rec in d2["episodes"] + d2["memories"]:
        rec["subject_id"] = other
    import_ok(s, d2)
    assert counts(s, other) == (2, len(d["memories"]))


@test("92.12 merge appends to a populated subject; cancel is 409 and writes nothing")
def _(s):
    a = sid()
    seed(s, a)
    d = export(s, [a])
    n = len(d["memories"])
    res = import_ok(s, d, conflict_strategy="merge")
    assert res["subject_id_map"] == {a: a} and res["imported_subjects"] == [a]
    assert counts(s, a) == (4, 2 * n)
    msg = ("Subject '%s' already has data (4 episodes, %d memories). Pick a different target "
           "id, choose 'merge', or delete the existing subject first." % (a, 2 * n))
    r = import_error(s, d, 409, msg, conflict_strategy="cancel")
    assert counts(s, a) == (4, 2 * n)
    # cancel on a free subject imports under the original id.
    fresh = sid()
    p = payload(subjects=[{"original_subject_id": fresh}],
                episodes=[{"subject_id": fresh, "payload": {"text": "hi"}}])
    res = import_ok(s, p, conflict_strategy="cancel")
    assert res["subject_id_map"] == {fresh: fresh}
    assert counts(s, fresh) == (1, 0)
    check_422(do_import(s, p, conflict_strategy="overwrite"), ["body", "conflict_strategy"])
    assert r.body["error"]["request_id"]


@test("92.13 defaults, numbers kept, unlisted groups derived, records without subject skipped")
def _(s):
    a, b = sid(), sid()
    p = payload(
        export_id=None,
        subjects=[{"original_subject_id": a}],
        episodes=[{"subject_id": a, "id": "old-1",
                   "payload": {"n": BIG, "f": 1.5, "s": "caf\u00e9 \u2615"}},
                  {"payload": {"text": "no subject: skipped"}},
                  {"subject_id": b, "source": "chat", "type": "message",
                   "created_at": "2026-05-01T10:00:00+02:00",
                   "last_compiled_at": "2026-05-01T09:00:00Z"}],
        memories=[{"subject_id": a, "content": "Lives in Z\u00fcrich",
                   "source_episode_ids": ["old-1", "junk"]}])
    res = import_ok(s, p)
    assert res["export_id"] is None
    assert res["subject_id_map"][a] == a
    tb = res["subject_id_map"][b]
    assert re.match("^" + re.escape(b) + "-[0-9a-f]{8}$", tb), tb
    assert res["imported_subjects"] == [a, tb]
    assert (res["imported_episodes"], res["imported_memories"]) == (2, 1)
    r = s.get("/v1/timeline", query={"subject_id": a})
    assert r.status == 200, r
    assert ('"n":%d' % BIG).encode() in r.raw, r.raw
    ep = r.body["episodes"][0]
    assert (ep["source"], ep["type"]) == ("memory-pack", "imported")
    assert ep["metadata"] == {"imported_from_export_id": None, "original_subject_id": a,
                              "imported_at": res["imported_at"]}
    assert ep["session_id"] is None
    m = r.body["memories"][0]
    assert (m["kind"], m["summary"], m["confidence"], m["status"]) == \
        ("fact", "Lives in Z\u00fcrich", 0.9, "active")
    assert m["source_episode_ids"] == [ep["id"]]
    eb = s.timeline(tb)["episodes"][0]
    assert eb["created_at"] == "2026-05-01T08:00:00Z"
    assert eb["metadata"]["original_subject_id"] == b



@test("92.14 imported memories without a vector are embedded (stub provider)")
def _(s):
    a = sid()
    p = payload(subjects=[{"original_subject_id": a}],
                memories=[{"subject_id": a, "content": "alpha %d" % i} for i in range(3)] +
                         [{"subject_id": a, "content": ""}])
    import_ok(s, p)
    # Semantic search returns only memories with a vector, nearest first, whatever the words
    # (text mode would find nothing for this q); the empty memory gets no vector.
    r = s.get("/v1/memories/search", query={"subject_id": a, "q": "zzz", "semantic": "true"})
    assert r.status == 200, r
    assert sorted(m["content"] for m in r.body["memories"]) == ["alpha 0", "alpha 1", "alpha 2"]

# -- validation --------------------------------------------------------------------------------

@test("92.20 import: format, format_version, unknown fields (400, exact text)")
def _(s):
    import_error(s, {"format": "wrong", "format_version": 1}, 400,
                 "Unexpected payload format 'wrong'; expected 'statewave-memory-payload'.")
    import_error(s, {"format_version": 1}, 400,
                 "Unexpected payload format None; expected 'statewave-memory-payload'.")
    import_error(s, payload(format_version=2), 400, "Unsupported format_version 2; expected 1.")
    import_error(s, payload(format_version=None), 400,
                 "Unsupported format_version None; expected 1.")
    import_error(s, payload(format_version="abc"), 400,
                 "Unsupported format_version abc; expected 1.")
    p = payload()
    del p["format_version"]
    import_error(s, p, 400, "Unsupported format_version None; expected 1.")
    import_error(s, payload(evil="drop_table", zeta=1), 400,
                 "Payload contains unknown fields: ['evil', 'zeta']")
    # "1" converts to 1.
    assert import_ok(s, payload(format_version="1"))["imported_episodes"] == 0


@test("92.21 import: structure errors are 400 naming the first bad field, nothing written")
def _(s):
    a = sid()
    cases = [
        (dict(episodes={"a": 1}), "Invalid payload: episodes: expected an array"),
        (dict(episodes=[{"subject_id": a}, 5]), "Invalid payload: episodes[1]: expected an object"),
        (dict(episodes=[{"subject_id": 7}]),
         "Invalid payload: episodes[0].subject_id: expected a string"),
        (dict(episodes=[{"subject_id": a, "source": 5}]),
         "Invalid payload: episodes[0].source: expected a string"),
        (dict(episodes=[{"subject_id": a, "payload": [1]}]),
         "Invalid payload: episodes[0].payload: expected an object"),
        (dict(episodes=[{"subject_id": a, "type": "t" * 129}]),
         "Invalid payload: episodes[0].type: longer than 128 characters"),
        (dict(memories=[{"subject_id": a, "confidence": None}]),
         "Invalid payload: memories[0].confidence: expected a number"),
        (dict(memories=[{"subject_id": a, "kind": "k" * 65}]),
         "Invalid payload: memories[0].kind: longer than 64 characters"),
        (dict(memories=[{"subject_id": a, "source_episode_ids": "x"}]),
         "Invalid payload: memories[0].source_episode_ids: expected an array"),
        (dict(memories=[{"subject_id": a, "metadata": "m"}]),
         "Invalid payload: memories[0].metadata: expected an object"),
        (dict(memories=[{"subject_id": a, "embedding": [0.1, 0.2]}]),
         "Invalid payload: memories[0].embedding: expected null or an array of 1536 numbers"),
        (dict(subjects=[{"original_subject_id": 5}]),
         "Invalid payload: subjects[0].original_subject_id: expected a string"),
        (dict(subjects=[{"original_subject_id": "has spaces"}]),
         "'subjects[].original_subject_id'" + RULE),
    ]
    for over, msg in cases:
        import_error(s, payload(**over), 400, msg)
    assert counts(s, a) == (0, 0)


@test("92.22 import body validation: 422 for payload, target_tenant_id, conflict_strategy")
def _(s):
    check_422(s.post(IMPORT, {}), ["body", "payload"])
    check_422(s.post(IMPORT, {"payload": []}), ["body", "payload"])
    check_422(s.post(IMPORT, {"payload": "x"}), ["body", "payload"])
    check_422(s.post(IMPORT, {"payload": payload(), "target_tenant_id": 5}),
              ["body", "target_tenant_id"])
    item = check_422(s.post(IMPORT, {"payload": payload(), "conflict_strategy": "replace"}),
                     ["body", "conflict_strategy"], "replace")
    assert item["type"] == "literal_error", item


@test("92.23 import limits: size, subjects, episodes and memories per group are 413",
      env=LIMITS)
def _(s):
    a, b, c = sid(), sid(), sid()
    blob = {"original_subject_id": a, "metadata": {"blob": "x" * 6000}}
    import_error(s, payload(subjects=[blob]), 413, "Payload exceeds size limit (6000 bytes).")
    # Non-ASCII counts as its \\uXXXX escape: 1000 x U+00E9 is 6000 bytes serialised.
    import_error(s, payload(episodes=[{"subject_id": a, "payload": {"t": "\u00e9" * 1000}}]),
                 413, "Payload exceeds size limit (6000 bytes).")
    import_error(s, payload(subjects=[{"original_subject_id": x} for x in (a, b, c)]), 413,
                 "Too many subjects: 3 > limit 2.")
    import_error(s, payload(episodes=[{"subject_id": a}] * 3), 413,
                 "Too many episodes: 3 > limit 2.")
    import_error(s, payload(memories=[{"subject_id": a, "content": "m"}] * 3), 413,
                 "Too many memories: 3 > limit 2.")
    # Atomic: a valid first group is not written when the second is over the limit.
    r = do_import(s, payload(subjects=[{"original_subject_id": a}, {"original_subject_id": b}],
                             episodes=[{"subject_id": a}, {"subject_id": b}, {"subject_id": b},
                                       {"subject_id": b}]))
    check_error(r, 413, "http_error", "Too many episodes: 3 > limit 2.")
    assert counts(s, a) == (0, 0) and counts(s, b) == (0, 0)
    res = import_ok(s, payload(subjects=[{"original_subject_id": a}],
                               episodes=[{"subject_id": a}] * 2,
                               memories=[{"subject_id": a, "content": "m"}] * 2))
    assert (res["imported_episodes"], res["imported_memories"]) == (2, 2)


# -- atomicity and reserved ids ----------------------------------------------------------------

@test("92.30 atomic: an invalid second subject group writes nothing of the first")
def _(s):
    a, b = sid(), sid()
    good = {"subject_id": a, "payload": {"text": "ok"}}
    p = payload(subjects=[{"original_subject_id": a}, {"original_subject_id": b}],
                episodes=[good, good, {"subject_id": b, "payload": {"text": "ok"}},
                          {"subject_id": b, "provenance": ["not", "an", "object"]}])
    import_error(s, p, 400, "Invalid payload: episodes[3].provenance: expected an object")
    assert counts(s, a) == (0, 0) and counts(s, b) == (0, 0)
    # The second group's target is populated and the strategy is cancel: 409, nothing written.
    s.create(b)
    p = payload(subjects=[{"original_subject_id": a}, {"original_subject_id": b}],
                episodes=[good, {"subject_id": b}])
    r = do_import(s, p, conflict_strategy="cancel")
    check_error(r, 409, "http_error")
    assert counts(s, a) == (0, 0) and counts(s, b) == (1, 0)
    # An unlisted second group with a reserved id: 400, nothing written.
    p = payload(subjects=[{"original_subject_id": a}],
                episodes=[good, {"subject_id": "_snapshot/%s/v1" % a}])
    import_error(s, p, 400, "Subject id '_snapshot/%s/v1' uses a reserved prefix (_snapshot/)" % a)
    assert counts(s, a) == (0, 0)


@test("92.31 reserved ids: _snapshot/ and _bootstrap_tmp/ are never targets; demo_web_ is derived")
def _(s):
    snap = "_snapshot/%s/v1" % sid()
    boot = "_bootstrap_tmp/%s" % sid()
    import_error(s, payload(memories=[{"subject_id": snap, "content": "x"}]), 400,
                 "Subject id '%s' uses a reserved prefix (_snapshot/)" % snap)
    import_error(s, payload(episodes=[{"subject_id": boot}]), 400,
                 "Subject id '%s' uses a reserved prefix (_bootstrap_tmp/)" % boot)
    import_error(s, payload(subjects=[{"original_subject_id": snap}]), 400,
                 "'subjects[].original_subject_id'" + RULE)
    r = s.get("/v1/timeline", query={"subject_id": snap})
    assert r.status == 200 and r.body["episodes"] == [] and r.body["memories"] == [], r
    # demo_web_ sources are accepted and land under imported-… with create_copy.
    demo = "demo_web_" + sid()
    res = import_ok(s, payload(subjects=[{"original_subject_id": demo}],
                               episodes=[{"subject_id": demo}]))
    target = res["subject_id_map"][demo]
    assert re.match("^imported-" + re.escape(demo[len("demo_web_"):]) + "-[0-9a-f]{8}$",
                    target), target
    assert counts(s, target) == (1, 0)
    assert counts(s, demo) == (0, 0)


@test("92.32 export → import → export keeps every payload value, including big integers")
def _(s):
    a = sid()
    s.create(a, payload={"big": BIG, "neg": -0, "f": 1e-7, "e": 1e16, "u": "\U0001F600 \u00e9",
                         "nested": {"z": [1.0, 0.1, None, True]}})
    d = export(s, [a])
    res = import_ok(s, d)
    target = res["subject_id_map"][a]
    r = s.post(EXPORT, {"subject_ids": [target]})
    assert r.status == 200, r
    assert r.body["episodes"][0]["payload"] == d["episodes"][0]["payload"]
    raw = r.raw.decode("utf-8")
    for piece in ['"big":%d' % BIG, '"f":1e-07', '"e":1e+16', '"z":[1.0,0.1,null,true]']:
        assert piece in raw, (piece, raw)


if __name__ == "__main__":
    main()
