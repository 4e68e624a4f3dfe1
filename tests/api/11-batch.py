"""11-batch: POST /v1/episodes/batch (spec/api.md §3.2, §1.2; behavior.md §3, §0.2)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, check_error, episode, main, test, uid  # noqa: E402

# occurred_at: Engram's extension (spec/api.md §11), on every Episode, null when not sent.
EPISODE_KEYS = ["id", "subject_id", "source", "type", "payload", "metadata", "provenance",
                "session_id", "created_at", "occurred_at"]


def check_batch(r, items):
    assert r.status == 201, "want 201: %r" % (r,)
    b = r.body
    assert list(b.keys()) == ["episodes_created", "episodes"], "batch keys %r" % (list(b.keys()),)
    eps = b["episodes"]
    assert len(eps) == len(items), "%d episodes returned for %d items" % (len(eps), len(items))
    for e, it in zip(eps, items):
        assert list(e.keys()) == EPISODE_KEYS, "Episode keys %r" % (list(e.keys()),)
        assert UUID_RE.match(e["id"]), e
        assert ZTS_RE.match(e["created_at"]), e
        for k in ("subject_id", "source", "type", "payload"):
            assert e[k] == it[k], "item order or content differs at %s: %r vs %r" % (k, e, it)
        assert e["metadata"] == it.get("metadata", {}), e
        assert e["provenance"] == it.get("provenance", {}), e
        assert e["session_id"] == it.get("session_id"), e
    return b


@test("11.1 one item: 201 {episodes_created: 1, episodes: [Episode]}")
def _(s):
    items = [episode(uid(), metadata={"m": 1}, session_id="s1")]
    b = check_batch(s.post("/v1/episodes/batch", {"episodes": items}), items)
    assert b["episodes_created"] == 1, b
    assert s.timeline(items[0]["subject_id"])["episodes"] == b["episodes"]


@test("11.2 100 items: request order kept, distinct ids, one shared created_at")
def _(s):
    sid = uid()
    items = [episode(sid, payload={"i": i}) for i in range(100)]
    b = check_batch(s.post("/v1/episodes/batch", {"episodes": items}), items)
    assert b["episodes_created"] == 100, b["episodes_created"]
    ids = [e["id"] for e in b["episodes"]]
    assert len(set(ids)) == 100, "duplicate ids"
    stamps = {e["created_at"] for e in b["episodes"]}
    assert len(stamps) == 1, "a batch shares one created_at, got %d values" % len(stamps)
    tl = s.timeline(sid)["episodes"]
    assert [e["id"] for e in tl] == ids, "timeline must keep batch order (ties by insertion)"
    assert [e["payload"]["i"] for e in tl] == list(range(100))


@test("11.3 zero items is 422 at loc [body, episodes]")
def _(s):
    check_422(s.post("/v1/episodes/batch", {"episodes": []}), ["body", "episodes"])


@test("11.4 101 items is 422 and nothing is stored")
def _(s):
    sid = uid()
    items = [episode(sid, payload={"i": i}) for i in range(101)]
    check_422(s.post("/v1/episodes/batch", {"episodes": items}), ["body", "episodes"])
    assert s.episode_count(sid) == 0


@test("11.5 one bad item among good ones: 422 naming its index, nothing stored")
def _(s):
    sid, other = uid(), uid()
    items = [episode(sid, payload={"i": i}) for i in range(5)] + [episode(other)]
    del items[3]["type"]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    check_422(r, ["body", "episodes", 3, "type"])
    assert s.episode_count(sid) == 0 and s.episode_count(other) == 0
    items = [episode(sid), episode(sid, payload=[1]), episode("x" * 257)]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    check_422(r, ["body", "episodes", 1, "payload"])
    check_422(r, ["body", "episodes", 2, "subject_id"])
    assert s.episode_count(sid) == 0


@test("11.6 the last item bad (index 99 of 100): nothing stored")
def _(s):
    sid = uid()
    items = [episode(sid, payload={"i": i}) for i in range(100)]
    items[99]["metadata"] = None
    check_422(s.post("/v1/episodes/batch", {"episodes": items}), ["body", "episodes", 99, "metadata"])
    assert s.episode_count(sid) == 0


@test("11.7 items may name different subjects")
def _(s):
    a, b, c = uid(), uid(), uid()
    items = [episode(a, payload={"n": 1}), episode(b), episode(a, payload={"n": 2}), episode(c)]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    body = check_batch(r, items)
    assert body["episodes_created"] == 4
    assert [e["payload"] for e in s.timeline(a)["episodes"]] == [{"n": 1}, {"n": 2}]
    assert s.episode_count(b) == 1 and s.episode_count(c) == 1


@test("11.8 malformed batch bodies: missing/non-list episodes, non-object item")
def _(s):
    check_422(s.post("/v1/episodes/batch", {}), ["body", "episodes"], input_is={})
    check_422(s.post("/v1/episodes/batch", {"episodes": None}), ["body", "episodes"])
    check_422(s.post("/v1/episodes/batch", {"episodes": {"a": 1}}), ["body", "episodes"])
    check_422(s.post("/v1/episodes/batch", {"episodes": "x"}), ["body", "episodes"])
    sid = uid()
    r = s.post("/v1/episodes/batch", {"episodes": [episode(sid), 5]})
    check_422(r, ["body", "episodes", 1])
    assert s.episode_count(sid) == 0


@test("11.9 unknown fields at both levels are ignored")
def _(s):
    items = [episode(uid(), idem="x", occurred_at="2024-01-01T00:00:00Z")]
    r = s.post("/v1/episodes/batch", {"episodes": items, "extra": True})
    check_batch(r, items)


@test("11.10 a reserved subject anywhere in the batch: 400, nothing stored")
def _(s):
    sid = uid()
    bad = "_snapshot/%s/v2" % uid("x")
    items = [episode(sid), episode(bad), episode(sid)]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    check_error(r, 400, "http_error", "Subject id '%s' uses a reserved prefix (_snapshot/)" % bad)
    assert s.episode_count(sid) == 0


@test("11.11 idempotency_key matching an existing episode returns the original in place")
def _(s):
    sid, key = uid(), uid("k")
    first = s.create(sid, idempotency_key=key, payload={"v": "orig"})
    items = [episode(sid, payload={"v": "a"}), episode(sid, idempotency_key=key, payload={"v": "dup"}),
             episode(sid, payload={"v": "b"})]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    assert r.status == 201, r
    eps = r.body["episodes"]
    assert len(eps) == 3, r
    assert eps[1]["id"] == first["id"], "item 1 must be the original episode: %r" % (eps[1],)
    assert eps[0]["payload"] == {"v": "a"} and eps[2]["payload"] == {"v": "b"}, eps
    tl = s.timeline(sid)["episodes"]
    assert len(tl) == 3, "expected the original + 2 new rows, got %d" % len(tl)
    assert [e["payload"]["v"] for e in tl] == ["orig", "a", "b"], tl


@test("11.12 the same idempotency_key twice inside one batch yields one episode")
def _(s):
    sid, key = uid(), uid("k")
    items = [episode(sid, idempotency_key=key, payload={"v": 1}),
             episode(sid, idempotency_key=key, payload={"v": 2}),
             episode(sid, idempotency_key=uid("k"), payload={"v": 3})]
    r = s.post("/v1/episodes/batch", {"episodes": items})
    assert r.status == 201, r
    eps = r.body["episodes"]
    assert len(eps) == 3, r
    assert eps[0]["id"] == eps[1]["id"], "duplicate keys in one batch must share one episode: %r" % (eps,)
    assert eps[2]["id"] != eps[0]["id"], eps
    tl = s.timeline(sid)["episodes"]
    assert len(tl) == 2, "want 2 rows, got %d: %r" % (len(tl), tl)
    assert tl[0]["payload"] == {"v": 1}, tl


@test("11.13 same key inside a batch but different subjects: separate episodes")
def _(s):
    a, b, key = uid(), uid(), uid("k")
    r = s.post("/v1/episodes/batch", {"episodes": [episode(a, idempotency_key=key),
                                                   episode(b, idempotency_key=key)]})
    assert r.status == 201, r
    assert r.body["episodes"][0]["id"] != r.body["episodes"][1]["id"], r
    assert s.episode_count(a) == 1 and s.episode_count(b) == 1


@test("11.14 a batch under a tenant stamps every item with that tenant")
def _(s):
    t, a, b = uid("t"), uid(), uid()
    s.batch([episode(a), episode(b)], tenant=t)
    assert s.episode_count(a, tenant=t) == 1 and s.episode_count(b, tenant=t) == 1
    assert s.episode_count(a) == 0 and s.episode_count(b, tenant=uid("t")) == 0


if __name__ == "__main__":
    main()
