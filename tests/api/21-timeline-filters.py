"""21-timeline-filters: Engram's GET /v1/timeline filters (spec/api.md §11): since, until (on
occurred_at falling back to created_at), kinds (comma-separated episode types), limit (1-500).
Without them the answer is the reference's (20-timeline)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, episode, main, test, uid  # noqa: E402


def tl(s, sid, tenant=None, **query):
    r = s.get("/v1/timeline", query=dict(query, subject_id=sid), tenant=tenant)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["subject_id", "episodes", "memories"], r
    return r.body


def seed(s, sid, tenant=None):
    """Four episodes: three with occurred_at (not in insertion order), one without."""
    b = s.batch([
        episode(sid, type="note", occurred_at="2026-01-03T00:00:00Z", payload={"n": "jan3"}),
        episode(sid, type="chat", occurred_at="2026-01-01T00:00:00Z", payload={"n": "jan1"}),
        episode(sid, type="note", occurred_at="2026-01-02T12:00:00+02:00", payload={"n": "jan2"}),
    ], tenant=tenant)
    now = s.create(sid, tenant=tenant, type="chat", payload={"n": "now"})
    return b["episodes"], now


def names(body):
    return [e["payload"]["n"] for e in body["episodes"]]


@test("21.1 since/until select on occurred_at (inclusive), ordered by the time they happened")
def _(s):
    sid = uid()
    seed(s, sid)
    assert names(tl(s, sid, since="2000-01-01T00:00:00Z")) == ["jan1", "jan2", "jan3", "now"]
    assert names(tl(s, sid, since="2026-01-02T10:00:00Z")) == ["jan2", "jan3", "now"]
    assert names(tl(s, sid, until="2026-01-02T10:00:00Z")) == ["jan1", "jan2"]
    assert names(tl(s, sid, since="2026-01-01T00:00:00.000001Z",
                    until="2026-01-03T00:00:00Z")) == ["jan2", "jan3"]
    assert names(tl(s, sid, since="2026-01-02T11:00:00+01:00", until="2026-01-02T10:00:00Z")) == ["jan2"]


@test("21.2 an episode without occurred_at falls back to created_at")
def _(s):
    sid = uid()
    _, now = seed(s, sid)
    body = tl(s, sid, since=now["created_at"])
    assert names(body) == ["now"], body
    assert body["episodes"][0] == now
    assert names(tl(s, sid, until="2026-01-05T00:00:00Z")) == ["jan1", "jan2", "jan3"]


@test("21.3 kinds keeps the listed episode types")
def _(s):
    sid = uid()
    seed(s, sid)
    assert names(tl(s, sid, kinds="note")) == ["jan2", "jan3"]
    assert names(tl(s, sid, kinds="chat,note")) == ["jan1", "jan2", "jan3", "now"]
    assert names(tl(s, sid, kinds="chat", until="2026-01-02T00:00:00Z")) == ["jan1"]
    assert names(tl(s, sid, kinds="other")) == []
    assert names(tl(s, sid, kinds="no te")) == []


@test("21.4 limit caps the episodes (oldest first) and the memories; 500 is allowed")
def _(s):
    sid = uid()
    seed(s, sid)
    assert names(tl(s, sid, limit=2)) == ["jan1", "jan2"]
    assert names(tl(s, sid, limit="3", kinds="note,chat")) == ["jan1", "jan2", "jan3"]
    assert len(tl(s, sid, limit=500)["episodes"]) == 4


@test("21.5 more than 100 episodes with limit 500 and with a filter")
def _(s):
    sid = uid()
    for k in range(2):
        s.batch([episode(sid, payload={"i": 100 * k + i}) for i in range(100)])
    s.create(sid, payload={"i": 200})
    assert len(s.timeline(sid)["episodes"]) == 100   # the reference's cap without filters
    body = tl(s, sid, limit=500)
    assert [e["payload"]["i"] for e in body["episodes"]] == list(range(201))
    assert len(tl(s, sid, since="2000-01-01T00:00:00Z")["episodes"]) == 100


@test("21.6 bad values are 422 at their query loc")
def _(s):
    sid = uid()
    for name, bad in (("since", "yesterday"), ("until", "2026-02-30T00:00:00Z"), ("since", ""),
                      ("limit", "0"), ("limit", "501"), ("limit", "ten"), ("limit", "-1"),
                      ("kinds", ""), ("kinds", "a,,b"), ("kinds", "a,"), ("kinds", "x" * 129),
                      ("kinds", ",".join(["k"] * 101))):
        check_422(s.get("/v1/timeline", query={"subject_id": sid, name: bad}), ["query", name])
    check_422(s.get("/v1/timeline", query={"subject_id": sid, "since": "2026-01-02T00:00:00Z",
                                           "until": "2026-01-01T00:00:00Z"}), ["query", "until"])
    check_422(s.get("/v1/timeline", query={"since": "2026-01-02T00:00:00Z"}),
              ["query", "subject_id"])


@test("21.7 filters stay inside the tenant; reserved subjects read empty")
def _(s):
    sid, tn = uid(), uid("tn")
    seed(s, sid, tenant=tn)
    s.create(sid, type="note", occurred_at="2026-01-02T00:00:00Z", payload={"n": "other"})
    assert names(tl(s, sid, tenant=tn, kinds="note")) == ["jan2", "jan3"]
    assert names(tl(s, sid, kinds="note")) == ["other"]
    body = tl(s, "_snapshot/x/v1", since="2000-01-01T00:00:00Z")
    assert body["episodes"] == [] and body["memories"] == [], body


@test("21.8 memories come back with the filters (limit applies to them too)")
def _(s):
    sid = uid()
    s.create(sid, payload={"messages": [{"role": "user", "content": "My name is Ada Lovelace."}]})
    s.create(sid, payload={"messages": [{"role": "user", "content": "I live in London."}]})
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200, r
    full = s.timeline(sid)
    assert len(full["memories"]) >= 2, full
    body = tl(s, sid, since="2000-01-01T00:00:00Z")
    assert body["memories"] == full["memories"]
    assert tl(s, sid, limit=1)["memories"] == full["memories"][:1]


if __name__ == "__main__":
    main()
