"""12-episode-extensions: Engram's episode extensions (spec/api.md §11): `occurred_at` (stored,
returned, exported, imported, restored from snapshots) and `metadata.idempotency_key` as the
idempotency key when the top-level one is absent."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, episode, main, q, test, uid  # noqa: E402

SNAP = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}


@test("12.1 occurred_at is stored and returned in Z form; null when not sent")
def _(s):
    sid = uid()
    a = s.create(sid, occurred_at="2026-03-01T09:30:00.250000+02:00")
    assert a["occurred_at"] == "2026-03-01T07:30:00.250000Z", a
    b = s.create(sid)
    assert b["occurred_at"] is None, b
    c = s.create(sid, occurred_at=None)
    assert c["occurred_at"] is None, c
    d = s.create(sid, occurred_at="2026-03-01T07:30:00Z")
    assert d["occurred_at"] == "2026-03-01T07:30:00Z", d
    tl = s.timeline(sid)["episodes"]
    assert [e["occurred_at"] for e in tl] == [a["occurred_at"], None, None, d["occurred_at"]], tl
    assert tl == [a, b, c, d], tl


@test("12.2 malformed occurred_at is 422 at [body, occurred_at]; nothing is stored")
def _(s):
    sid = uid()
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "", "0000-01-01T00:00:00Z",
                "2026-01-01T00:00:00+99:00x"):
        check_422(s.post("/v1/episodes", episode(sid, occurred_at=bad)),
                  ["body", "occurred_at"], input_is=bad)
    for bad in (5, True, {"t": 1}, ["2026-01-01"]):
        item = check_422(s.post("/v1/episodes", episode(sid, occurred_at=bad)),
                         ["body", "occurred_at"])
        assert item["type"] == "string_type", item
    assert s.episode_count(sid) == 0


@test("12.3 batch items take occurred_at; a bad one is 422 at [body, episodes, i, occurred_at]")
def _(s):
    sid = uid()
    r = s.post("/v1/episodes/batch", {"episodes": [
        episode(sid, occurred_at="2026-01-02T03:04:05.000006Z"), episode(sid)]})
    assert r.status == 201, r
    assert [e["occurred_at"] for e in r.body["episodes"]] == ["2026-01-02T03:04:05.000006Z", None]
    r = s.post("/v1/episodes/batch", {"episodes": [episode(sid), episode(sid, occurred_at="nope")]})
    check_422(r, ["body", "episodes", 1, "occurred_at"], input_is="nope")
    assert s.episode_count(sid) == 2


@test("12.4 export carries occurred_at only when set; import restores it; checksum verifies")
def _(s):
    sid, target = uid(), uid("t")
    s.create(sid, occurred_at="2025-12-31T23:59:59.999999Z")
    s.create(sid)
    r = s.get("/admin/export/" + q(sid))
    assert r.status == 200, r
    doc = r.body
    eps = doc["episodes"]
    assert eps[0]["occurred_at"] == "2025-12-31T23:59:59.999999+00:00", eps[0]
    assert list(eps[0].keys())[-1] == "occurred_at", list(eps[0].keys())
    assert "occurred_at" not in eps[1], eps[1]
    r = s.post("/admin/import", {"document": doc, "target_subject_id": target, "preserve_ids": False})
    assert r.status == 200, r
    got = s.timeline(target)["episodes"]
    assert [e["occurred_at"] for e in got] == ["2025-12-31T23:59:59.999999Z", None], got


@test("12.5 an import document without occurred_at (an older export) imports unchanged")
def _(s):
    sid, target = uid(), uid("t")
    s.create(sid)
    doc = s.get("/admin/export/" + q(sid)).body
    assert all("occurred_at" not in e for e in doc["episodes"]), doc
    r = s.post("/admin/import", {"document": doc, "target_subject_id": target, "preserve_ids": False})
    assert r.status == 200, r
    assert [e["occurred_at"] for e in s.timeline(target)["episodes"]] == [None]
    # The same document with occurred_at added after export: the checksum no longer matches.
    doc["episodes"][0]["occurred_at"] = "2026-01-01T00:00:00+00:00"
    r = s.post("/admin/import", {"document": doc, "target_subject_id": uid("t"), "preserve_ids": False})
    assert r.status == 400 and "Checksum mismatch" in r.body["error"]["message"], r


@test("12.6 import refuses a malformed occurred_at with the structure error")
def _(s):
    import hashlib
    import json
    sid = uid()
    s.create(sid, occurred_at="2026-01-01T00:00:00Z")
    doc = s.get("/admin/export/" + q(sid)).body
    doc["episodes"][0]["occurred_at"] = "not a time"
    canon = json.dumps({"episodes": doc["episodes"], "memories": doc["memories"]}, sort_keys=True)
    doc["checksum"] = hashlib.sha256(canon.encode()).hexdigest()
    r = s.post("/admin/import", {"document": doc, "target_subject_id": uid("t"), "preserve_ids": False})
    assert r.status == 400, r
    assert r.body["error"]["message"] == \
        "Invalid document: episodes[0].occurred_at: invalid timestamp", r


@test("12.7 a snapshot restore copies occurred_at, shifted with created_at", env=SNAP)
def _(s):
    sid, name, target = uid(), uid("snap"), uid("t")
    src = s.create(sid, occurred_at="2020-01-01T00:00:00Z")
    s.create(sid)
    r = s.post("/admin/snapshots", {"name": name, "source_subject_id": sid})
    assert r.status == 200 and r.body["status"] == "created", r
    r = s.post("/admin/snapshots/restore-by-name", {"name": name, "target_subject_id": target})
    assert r.status == 200, r
    got = s.timeline(target)["episodes"]
    assert got[1]["occurred_at"] is None, got
    import datetime

    def z(t):
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in t else "%Y-%m-%dT%H:%M:%SZ"
        return datetime.datetime.strptime(t, fmt)
    # occurred_at keeps its distance to created_at exactly.
    assert z(src["occurred_at"]) - z(src["created_at"]) == \
        z(got[0]["occurred_at"]) - z(got[0]["created_at"]), (src, got[0])


@test("12.8 metadata.idempotency_key dedupes when the top-level key is absent")
def _(s):
    sid = uid()
    key = uid("k")
    a = s.post("/v1/episodes", episode(sid, metadata={"idempotency_key": key, "x": 1}))
    b = s.post("/v1/episodes", episode(sid, metadata={"idempotency_key": key}, payload={"t": 2}))
    assert a.status == 201 and b.status == 201, (a, b)
    assert b.body == a.body, (a, b)
    assert s.episode_count(sid) == 1
    # The same key at the top level names the same episode.
    c = s.post("/v1/episodes", episode(sid, idempotency_key=key))
    assert c.status == 201 and c.body["id"] == a.body["id"], c


@test("12.9 a top-level idempotency_key wins over metadata's")
def _(s):
    sid = uid()
    k1, k2 = uid("k"), uid("k")
    a = s.create(sid, idempotency_key=k1, metadata={"idempotency_key": k2})
    b = s.create(sid, metadata={"idempotency_key": k2})
    assert a["id"] != b["id"], (a, b)
    c = s.create(sid, idempotency_key=k1)
    assert c["id"] == a["id"]
    assert s.episode_count(sid) == 2


@test("12.10 metadata idempotency values that are no key: stored verbatim, never deduped")
def _(s):
    sid = uid()
    for val in (5, "", None, {"k": 1}, "x" * 257):
        a = s.create(sid, metadata={"idempotency_key": val})
        b = s.create(sid, metadata={"idempotency_key": val})
        assert a["id"] != b["id"], (val, a, b)
        assert a["metadata"] == {"idempotency_key": val}
    assert s.episode_count(sid) == 10


@test("12.11 metadata.idempotency_key in a batch and across tenants")
def _(s):
    sid, key, tenant = uid(), uid("k"), uid("tn")
    r = s.post("/v1/episodes/batch", {"episodes": [
        episode(sid, metadata={"idempotency_key": key}),
        episode(sid, metadata={"idempotency_key": key})]})
    assert r.status == 201, r
    e = r.body["episodes"]
    assert e[0]["id"] == e[1]["id"], e
    other = s.create(sid, tenant=tenant, metadata={"idempotency_key": key})
    assert other["id"] != e[0]["id"]


if __name__ == "__main__":
    main()
