"""84-labels: PATCH /v1/memories/{memory_id}/labels (spec/api.md §5.3, §2, §8 EXTRA; DESIGN.md
strict isolation). Engram: labels are kept as sent, repeats dropped keeping the first, 1-64
code points each, at most 32; `sensitivity_labels` appears on a Memory only when it has labels
(the PATCH answer always carries it)."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, main, test, uid  # noqa: E402

MEMORY_KEYS = ["id", "subject_id", "kind", "content", "summary", "confidence", "valid_from",
               "valid_to", "source_episode_ids", "metadata", "status", "created_at", "updated_at"]


def parse_z(ts):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in ts else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(ts, fmt)


def patch(s, mid, body, tenant=None):
    return s.request("PATCH", "/v1/memories/%s/labels" % mid, body=body, tenant=tenant)


def a_memory(s, tenant=None):
    """Compile one episode; returns (subject id, the episode_summary memory)."""
    sid = uid()
    s.create(sid, tenant=tenant, payload={"text": "I use vim"})
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] == 2, r
    for m in r.body["memories"]:
        assert "sensitivity_labels" not in m, "unlabelled memories keep the reference shape"
    return sid, r.body["memories"][0]


def timeline_memory(s, sid, mid, tenant=None):
    return [m for m in s.timeline(sid, tenant)["memories"] if m["id"] == mid][0]


@test("84.1 labels are set: 200 with the Memory plus sensitivity_labels; updated_at moves")
def _(s):
    sid, m = a_memory(s)
    time.sleep(0.002)
    r = patch(s, m["id"], {"sensitivity_labels": ["pii", "billing"]})  # stored sorted
    assert r.status == 200, r
    assert list(r.body.keys()) == MEMORY_KEYS + ["sensitivity_labels"], list(r.body.keys())
    assert r.body["sensitivity_labels"] == ["billing", "pii"], r.body
    for k in MEMORY_KEYS:
        if k != "updated_at":
            assert r.body[k] == m[k], (k, r.body[k], m[k])
    assert parse_z(r.body["updated_at"]) > parse_z(m["updated_at"]), (r.body["updated_at"],
                                                                      m["updated_at"])
    tm = timeline_memory(s, sid, m["id"])
    assert tm == r.body, "the timeline shows the labels too: %r" % (tm,)


@test("84.2 labels are trimmed, lower-cased, deduplicated and sorted (spec §5.3)")
def _(s):
    _, m = a_memory(s)
    r = patch(s, m["id"], {"sensitivity_labels": ["b", " A", "b", "a\t", "A", "\u00e9"]})
    assert r.status == 200, r
    assert r.body["sensitivity_labels"] == ["a", "b", "\u00e9"], r.body


@test("84.3 [] clears: the answer has sensitivity_labels [], the timeline drops the key")
def _(s):
    sid, m = a_memory(s)
    assert patch(s, m["id"], {"sensitivity_labels": ["pii"]}).status == 200
    r = patch(s, m["id"], {"sensitivity_labels": []})
    assert r.status == 200 and r.body["sensitivity_labels"] == [], r
    assert "sensitivity_labels" not in timeline_memory(s, sid, m["id"])


@test("84.4 a second PATCH replaces the labels")
def _(s):
    sid, m = a_memory(s)
    patch(s, m["id"], {"sensitivity_labels": ["x", "y"]})
    r = patch(s, m["id"], {"sensitivity_labels": ["z"]})
    assert r.status == 200 and r.body["sensitivity_labels"] == ["z"], r
    assert timeline_memory(s, sid, m["id"])["sensitivity_labels"] == ["z"]


@test("84.5 unknown memory: 404 'Memory not found' in the standard envelope")
def _(s):
    r = patch(s, "00000000-0000-4000-8000-000000000000", {"sensitivity_labels": ["x"]})
    check_error(r, 404, "http_error", "Memory not found")


@test("84.6 another tenant's memory is 404 and unchanged; no tenant cannot see it either")
def _(s):
    ta, tb = uid("t"), uid("t")
    sid, m = a_memory(s, tenant=ta)
    check_error(patch(s, m["id"], {"sensitivity_labels": ["x"]}, tenant=tb), 404, "http_error",
                "Memory not found")
    check_error(patch(s, m["id"], {"sensitivity_labels": ["x"]}), 404, "http_error",
                "Memory not found")
    assert "sensitivity_labels" not in timeline_memory(s, sid, m["id"], tenant=ta)
    r = patch(s, m["id"], {"sensitivity_labels": ["mine"]}, tenant=ta)
    assert r.status == 200 and r.body["sensitivity_labels"] == ["mine"], r


@test("84.7 the memory id must be a UUID (422 at [path, memory_id]); upper case is accepted")
def _(s):
    for bad in ("not-a-uuid", "1234", "00000000-0000-4000-8000-00000000000g"):
        check_422(patch(s, bad, {"sensitivity_labels": []}), ["path", "memory_id"], bad)
    _, m = a_memory(s)
    r = patch(s, m["id"].upper(), {"sensitivity_labels": ["up"]})
    assert r.status == 200 and r.body["id"] == m["id"], r


@test("84.8 body validation: missing, not a list, null, too many, bad items are 422")
def _(s):
    _, m = a_memory(s)
    mid = m["id"]
    check_422(patch(s, mid, {}), ["body", "sensitivity_labels"], {})
    for bad in ("pii", None, {"a": 1}, 3):
        item = check_422(patch(s, mid, {"sensitivity_labels": bad}), ["body", "sensitivity_labels"],
                         bad)
        assert item["type"] == "list_type", item
    item = check_422(patch(s, mid, {"sensitivity_labels": ["l%d" % i for i in range(33)]}),
                     ["body", "sensitivity_labels"])
    assert item["type"] == "too_long", item
    item = check_422(patch(s, mid, {"sensitivity_labels": ["ok", 5]}),
                     ["body", "sensitivity_labels", 1], 5)
    assert item["type"] == "string_type", item
    item = check_422(patch(s, mid, {"sensitivity_labels": [""]}), ["body", "sensitivity_labels", 0])
    assert item["type"] == "string_too_short", item
    item = check_422(patch(s, mid, {"sensitivity_labels": ["ok", " \t "]}),
                     ["body", "sensitivity_labels", 1])
    assert item["type"] == "string_too_short", item        # empty once trimmed
    item = check_422(patch(s, mid, {"sensitivity_labels": ["x" * 65]}),
                     ["body", "sensitivity_labels", 0])
    assert item["type"] == "string_too_long", item
    check_422(patch(s, mid, b"{oops"), None)
    assert "sensitivity_labels" not in m


@test("84.9 limits: 32 labels, 64 code points (multibyte) are accepted; duplicates count toward 32")
def _(s):
    _, m = a_memory(s)
    labels = ["l%02d" % i for i in range(32)]
    r = patch(s, m["id"], {"sensitivity_labels": labels})
    assert r.status == 200 and r.body["sensitivity_labels"] == labels, r
    r = patch(s, m["id"], {"sensitivity_labels": ["\U0001F600" * 64, "\u00e9" * 64]})
    # sorted by code point: é (U+00E9) before 😀 (U+1F600)
    assert r.status == 200 and r.body["sensitivity_labels"] == ["\u00e9" * 64, "\U0001F600" * 64]
    check_422(patch(s, m["id"], {"sensitivity_labels": ["a"] * 33}), ["body", "sensitivity_labels"])


@test("84.10 unknown body fields are ignored; other methods are 405")
def _(s):
    _, m = a_memory(s)
    r = patch(s, m["id"], {"sensitivity_labels": ["x"], "extra": True})
    assert r.status == 200 and "extra" not in r.body, r
    path = "/v1/memories/%s/labels" % m["id"]
    check_error(s.get(path), 405, "http_error", "Method Not Allowed")
    check_error(s.post(path, {"sensitivity_labels": []}), 405, "http_error", "Method Not Allowed")


@test("84.11 labels survive a later compile that supersedes the memory")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "My name is Alice"})
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    fact = r.body["memories"][1]
    assert patch(s, fact["id"], {"sensitivity_labels": ["pii"]}).status == 200
    s.create(sid, payload={"text": "My name is Bob"})
    assert s.post("/v1/memories/compile", {"subject_id": sid}).status == 200
    tm = timeline_memory(s, sid, fact["id"])
    assert tm["status"] == "superseded" and tm["sensitivity_labels"] == ["pii"], tm


@test("84.12 a label and a payload holding U+001F come back escaped as Python does (\\u001f)")
def _(s):
    sid, m = a_memory(s)
    r = patch(s, m["id"], {"sensitivity_labels": ["a\u001fb"]})
    assert r.status == 200 and r.body["sensitivity_labels"] == ["a\u001fb"], r
    assert b'"sensitivity_labels":["a\\u001fb"]' in r.raw, r.raw
    raw = s.request("GET", "/v1/timeline?subject_id=" + sid).raw
    assert b'"sensitivity_labels":["a\\u001fb"]' in raw, raw
    e = s.post("/v1/episodes", {"subject_id": sid, "source": "t", "type": "m",
                                "payload": {"k\u001f": "v\u001f\u0001"}})
    assert e.status == 201, e
    assert b'"payload":{"k\\u001f":"v\\u001f\\u0001"}' in e.raw, e.raw
    bad = patch(s, m["id"], {"x": "\u001f"})  # 422 missing: the input echoes the body
    assert bad.status == 422, bad
    assert b'"input":{"x":"\\u001f"}' in bad.raw, bad.raw


if __name__ == "__main__":
    main()
