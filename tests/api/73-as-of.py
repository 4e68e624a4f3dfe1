"""73-as-of: Engram's `as_of` (spec/api.md §11) on POST /v1/context (body), GET
/v1/memories/search and GET /v1/timeline (query): the answer as the subject stood at that
instant. Episodes created after it are left out; memories created after it are left out; a
memory superseded after it is still there (and gone from the answer of now). A malformed
as_of is 422."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, episode, main, test, uid  # noqa: E402


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def say(s, sid, text, tenant=None):
    r = s.post("/v1/episodes", episode(sid, payload={"text": text}), tenant=tenant)
    assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200, r
    return r.body["memories"]


def pause():
    time.sleep(0.02)


def facts(memories):
    return [m["content"] for m in memories if m["kind"] == "profile_fact"]


def history(s, tenant=None):
    """A subject whose name fact is superseded between T1 and now: (sid, T0, T1)."""
    sid = uid()
    t0 = now_iso()
    pause()
    say(s, sid, "My name is Alice Chen.", tenant)
    pause()
    t1 = now_iso()
    pause()
    say(s, sid, "My name is Alice Smith.", tenant)
    return sid, t0, t1


@test("73.1 a fact superseded after T is returned by as_of T and not now: search")
def _(s):
    sid, t0, t1 = history(s)
    q = {"subject_id": sid, "kind": "profile_fact"}
    now = s.get("/v1/memories/search", query=q).body["memories"]
    assert facts(now) == ["My name is Alice Smith"], now
    then = s.get("/v1/memories/search", query=dict(q, as_of=t1)).body["memories"]
    assert facts(then) == ["My name is Alice Chen"], then
    # as it stands now, the old fact is superseded; as of T1 it is returned as stored
    assert then[0]["status"] == "superseded" and then[0]["valid_to"] > t1, then[0]
    assert s.get("/v1/memories/search", query=dict(q, as_of=t0)).body["memories"] == []
    r = s.get("/v1/memories/search", query={"subject_id": sid, "q": "alice", "as_of": t1})
    assert sorted(m["content"] for m in r.body["memories"]) == \
        ["My name is Alice Chen", "My name is Alice Chen."], r.body
    assert s.get("/v1/memories/search", query=dict(q, as_of=now_iso())).body["memories"] == now


@test("73.2 context as_of T: the fact of then, the episodes of then; now: the new fact")
def _(s):
    sid, t0, t1 = history(s)
    body = {"subject_id": sid, "task": "What is the user's name?"}
    now = s.post("/v1/context", body).body
    then = s.post("/v1/context", dict(body, as_of=t1)).body
    assert "Alice Smith" in now["assembled_context"], now["assembled_context"]
    assert "Alice Chen" in then["assembled_context"] and \
        "Smith" not in then["assembled_context"], then["assembled_context"]
    assert [f["content"] for f in then["facts"]][0] == "My name is Alice Chen", then["facts"]
    empty = s.post("/v1/context", dict(body, as_of=t0)).body
    assert empty["assembled_context"] == "## Task\nWhat is the user's name?\n", empty
    assert empty["facts"] == [] and empty["episodes"] == [], empty


@test("73.3 context as_of: raw episodes created after T are left out")
def _(s):
    sid = uid()
    for text in ("first question about invoices", "second question about invoices"):
        assert s.post("/v1/episodes", episode(sid, payload={"text": text})).status == 201
    pause()
    t = now_iso()
    pause()
    assert s.post("/v1/episodes", episode(sid, payload={"text": "third question about "
                                                        "invoices"})).status == 201
    body = {"subject_id": sid, "task": "invoices"}
    assert len(s.post("/v1/context", body).body["episodes"]) == 3
    then = s.post("/v1/context", dict(body, as_of=t)).body
    assert sorted(e["payload"]["text"] for e in then["episodes"]) == \
        ["first question about invoices", "second question about invoices"], then


@test("73.4 timeline as_of: episodes created by then, memories visible then")
def _(s):
    sid, t0, t1 = history(s)
    now = s.get("/v1/timeline", query={"subject_id": sid}).body
    assert len(now["episodes"]) == 2 and len(now["memories"]) == 4, now
    then = s.get("/v1/timeline", query={"subject_id": sid, "as_of": t1}).body
    assert [e["payload"]["text"] for e in then["episodes"]] == ["My name is Alice Chen."], then
    assert sorted(m["content"] for m in then["memories"]) == \
        ["My name is Alice Chen", "My name is Alice Chen."], then["memories"]
    first = s.get("/v1/timeline", query={"subject_id": sid, "as_of": t0}).body
    assert first["episodes"] == [] and first["memories"] == [], first
    # with the Engram window filters too
    r = s.get("/v1/timeline", query={"subject_id": sid, "as_of": t1, "limit": 10})
    assert [e["payload"]["text"] for e in r.body["episodes"]] == ["My name is Alice Chen."], r


@test("73.5 as_of keeps tenants apart")
def _(s):
    t1, t2 = uid("t"), uid("t")
    sid, _, mid = history(s, tenant=t1)
    q = {"subject_id": sid, "as_of": now_iso()}
    assert s.get("/v1/memories/search", query=q, tenant=t2).body["memories"] == []
    assert s.get("/v1/timeline", query=q, tenant=t2).body["episodes"] == []
    assert len(s.get("/v1/timeline", query=q, tenant=t1).body["episodes"]) == 2
    r = s.post("/v1/context", {"subject_id": sid, "task": "name", "as_of": mid}, tenant=t2)
    assert r.body["facts"] == [], r.body


@test("73.6 a malformed as_of is 422 on all three; offsets and dates are accepted")
def _(s):
    sid = uid()
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "", "12"):
        check_422(s.get("/v1/memories/search", query={"subject_id": sid, "as_of": bad}),
                  ["query", "as_of"], bad)
        check_422(s.get("/v1/timeline", query={"subject_id": sid, "as_of": bad}),
                  ["query", "as_of"], bad)
        check_422(s.post("/v1/context", {"subject_id": sid, "task": "t", "as_of": bad}),
                  ["body", "as_of"], bad)
    check_422(s.post("/v1/context", {"subject_id": sid, "task": "t", "as_of": 12}),
              ["body", "as_of"])
    for good in ("2026-01-01T10:00:00+02:00", "2026-01-01T08:00:00Z", "2026-01-01"):
        assert s.get("/v1/timeline", query={"subject_id": sid, "as_of": good}).status == 200
        assert s.post("/v1/context", {"subject_id": sid, "task": "t", "as_of": good}).status \
            == 200
    assert s.post("/v1/context", {"subject_id": sid, "task": "t", "as_of": None}).status == 200


if __name__ == "__main__":
    main()
