"""20-timeline: GET /v1/timeline (spec/api.md §3.7, §1.10; behavior.md §11, §0.2;
backup-snapshots.md §5.8 for reserved ids)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, episode, main, test, uid  # noqa: E402


@test("20.1 subject_id is required: 422 at loc [query, subject_id]")
def _(s):
    check_422(s.get("/v1/timeline"), ["query", "subject_id"])
    check_422(s.get("/v1/timeline", query={"subjectId": "x"}), ["query", "subject_id"])


@test("20.2 unknown subject: 200 with empty lists, keys subject_id, episodes, memories")
def _(s):
    sid = uid()
    r = s.get("/v1/timeline", query={"subject_id": sid})
    assert r.status == 200, r
    assert list(r.body.keys()) == ["subject_id", "episodes", "memories"], r
    assert r.body == {"subject_id": sid, "episodes": [], "memories": []}, r


@test("20.3 episodes come back oldest first, identical to what POST returned")
def _(s):
    sid = uid()
    made = [s.create(sid, payload={"i": i}) for i in range(3)]
    tl = s.timeline(sid)
    assert tl["subject_id"] == sid
    assert tl["episodes"] == made, "timeline %r != created %r" % (tl["episodes"], made)
    assert tl["memories"] == []
    stamps = [e["created_at"] for e in tl["episodes"]]
    assert stamps == sorted(stamps), stamps


@test("20.4 at most 100 episodes: the oldest 100 of 105, ascending")
def _(s):
    sid = uid()
    first = [s.create(sid, payload={"i": i}) for i in range(5)]
    b = s.batch([episode(sid, payload={"i": 5 + i}) for i in range(100)])
    tl = s.timeline(sid)["episodes"]
    assert len(tl) == 100, "want 100 episodes, got %d" % len(tl)
    assert [e["payload"]["i"] for e in tl] == list(range(100)), \
        "want the oldest 100 (0..99) in order, got %r…" % ([e["payload"]["i"] for e in tl][:8],)
    assert tl[:5] == first
    assert [e["id"] for e in tl[5:]] == [e["id"] for e in b["episodes"][:95]]


@test("20.5 subject ids with '/', ':', spaces and non-ASCII work in the query string")
def _(s):
    for sid in (uid() + "/a:b c", uid("ü") + "?&=#%", uid() + "+plus"):
        e = s.create(sid)
        r = s.get("/v1/timeline", query={"subject_id": sid})
        assert r.status == 200, r
        assert r.body["subject_id"] == sid and [x["id"] for x in r.body["episodes"]] == [e["id"]], \
            (sid, r)


@test("20.6 subjects are separate: no episodes leak between similar ids")
def _(s):
    a = uid()
    s.create(a)
    s.create(a + "x")
    s.create(a.upper())
    assert s.episode_count(a) == 1
    assert s.episode_count(a + "x") == 1
    assert s.episode_count(a[:-1]) == 0
    assert s.episode_count(a + "%") == 0 and s.episode_count(a[:-1] + "_") == 0


@test("20.7 reserved subject ids read as unknown subjects (200, empty lists)")
def _(s):
    sid = "_snapshot/%s/v1" % uid("x")
    r = s.get("/v1/timeline", query={"subject_id": sid})
    assert r.status == 200, r
    assert r.body == {"subject_id": sid, "episodes": [], "memories": []}, r


@test("20.8 unknown query parameters are ignored")
def _(s):
    sid = uid()
    s.create(sid)
    r = s.get("/v1/timeline", query={"subject_id": sid, "limit": 1, "foo": "bar"})
    assert r.status == 200 and len(r.body["episodes"]) == 1, r


@test("20.9 query strings are form-decoded: '+' is a space (URLSearchParams), %2B is '+'")
def _(s):
    sid = uid()
    a = s.create(sid + " x")
    b = s.create(sid + "+y")
    r = s.get("/v1/timeline?subject_id=%s+x" % sid)
    assert r.status == 200 and r.body["subject_id"] == sid + " x", r
    assert [e["id"] for e in r.body["episodes"]] == [a["id"]], r
    r = s.get("/v1/timeline?subject_id=%s%%2By" % sid)
    assert r.status == 200 and [e["id"] for e in r.body["episodes"]] == [b["id"]], r


if __name__ == "__main__":
    main()
