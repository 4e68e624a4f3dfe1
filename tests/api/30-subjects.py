"""30-subjects: GET /v1/subjects (spec/api.md §3.8, §1.10, §1.1 leniency; behavior.md §11;
backup-snapshots.md §0 and §5.8 for reserved prefixes).

Every test lists under a fresh random tenant, so the listing holds only its own subjects even
when the database is shared (DESIGN.md: strict tenant isolation)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, episode, main, test, uid  # noqa: E402


def listing(s, tenant, **query):
    r = s.get("/v1/subjects", query=query or None, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["subjects", "total"], r
    assert r.body["total"] == len(r.body["subjects"]), "total must be the page item count: %r" % (r.body,)
    for it in r.body["subjects"]:
        assert list(it.keys()) == ["subject_id", "episode_count", "memory_count"], it
    return r.body["subjects"]


def ids(items):
    return [it["subject_id"] for it in items]


@test("30.1 counts per subject; empty tenant lists nothing")
def _(s):
    t = uid("t")
    assert listing(s, t) == []
    a, b = "a-" + uid(), "b-" + uid()
    s.batch([episode(a), episode(a), episode(b), episode(a)], tenant=t)
    got = listing(s, t)
    assert got == [{"subject_id": a, "episode_count": 3, "memory_count": 0},
                   {"subject_id": b, "episode_count": 1, "memory_count": 0}], got


@test("30.2 ordered by subject_id in byte order")
def _(s):
    t = uid("t")
    names = ["b", "B", "a", "a b", "a-b", "ab", "Z1", "_x", "é", "z", "1", "~", "日本", "ä"]
    s.batch([episode(n) for n in names], tenant=t)
    got = ids(listing(s, t))
    want = sorted(names, key=lambda x: x.encode("utf-8"))
    assert got == want, "got %r, want byte order %r" % (got, want)


@test("30.3 limit and offset page through the list; total is the page size")
def _(s):
    t = uid("t")
    names = ["s%02d" % i for i in range(7)]
    s.batch([episode(n) for n in names], tenant=t)
    assert ids(listing(s, t, limit=3)) == names[:3]
    assert ids(listing(s, t, limit=3, offset=3)) == names[3:6]
    assert ids(listing(s, t, limit=3, offset=6)) == names[6:]
    assert ids(listing(s, t, limit=3, offset=7)) == []
    assert ids(listing(s, t, offset=100)) == []
    assert ids(listing(s, t, offset=10000000000)) == [], "offsets beyond 32 bits are valid"
    assert ids(listing(s, t, limit=1, offset=0)) == names[:1]


@test("30.4 default limit is 50; limit 200 is allowed")
def _(s):
    t = uid("t")
    names = ["n%03d" % i for i in range(55)]
    s.batch([episode(n) for n in names], tenant=t)
    assert ids(listing(s, t)) == names[:50]
    assert ids(listing(s, t, limit=200)) == names
    assert ids(listing(s, t, offset=50)) == names[50:]


@test("30.5 limit outside 1..200 is 422 at loc [query, limit]")
def _(s):
    for bad in (0, -1, 201, 1000):
        check_422(s.get("/v1/subjects", query={"limit": bad}), ["query", "limit"])


@test("30.6 negative offset is 422 at loc [query, offset]")
def _(s):
    check_422(s.get("/v1/subjects", query={"offset": -1}), ["query", "offset"])


@test("30.7 non-numeric limit/offset are 422")
def _(s):
    for bad in ("abc", "", "1x", "5.5"):
        check_422(s.get("/v1/subjects", query={"limit": bad}), ["query", "limit"])
    check_422(s.get("/v1/subjects", query={"offset": "x"}), ["query", "offset"])


@test("30.8 numeric strings are accepted for limit and offset")
def _(s):
    t = uid("t")
    s.batch([episode("n%d" % i) for i in range(6)], tenant=t)
    r = s.get("/v1/subjects?limit=5&offset=0", tenant=t)
    assert r.status == 200 and r.body["total"] == 5, r
    r = s.get("/v1/subjects?limit=200&offset=5", tenant=t)
    assert r.status == 200 and r.body["total"] == 1, r


@test("30.9 a subject appears once per tenant however many episodes it has")
def _(s):
    t = uid("t")
    sid = uid()
    for _ in range(3):
        s.create(sid, tenant=t)
    got = listing(s, t)
    assert got == [{"subject_id": sid, "episode_count": 3, "memory_count": 0}], got


@test("30.10 writing to _snapshot/x/v1 is refused with 400 and the exact message")
def _(s):
    t = uid("t")
    r = s.post("/v1/episodes", episode("_snapshot/x/v1"), tenant=t)
    check_error(r, 400, "http_error", "Subject id '_snapshot/x/v1' uses a reserved prefix (_snapshot/)")
    r = s.post("/v1/episodes", episode("_snapshot/x/v1"))
    check_error(r, 400, "http_error", "Subject id '_snapshot/x/v1' uses a reserved prefix (_snapshot/)")
    assert listing(s, t) == []


@test("30.11 reserved prefixes are literal: xsnapshot/a and similar ids are listed")
def _(s):
    t = uid("t")
    names = ["xsnapshot/a", "_snapshotx/a", "_snapshot", "xbootstrap_tmp/a", "_bootstrap_tmp",
             "_Snapshot/a", "a_snapshot/b"]
    for n in names:
        r = s.post("/v1/episodes", episode(n), tenant=t)
        assert r.status == 201, "%r is not a reserved id and must be writable: %r" % (n, r)
    got = ids(listing(s, t))
    assert got == sorted(names, key=lambda x: x.encode()), got


@test("30.12 _bootstrap_tmp/ subjects are hidden from the listing")
def _(s):
    t = uid("t")
    visible = "visible-" + uid()
    s.create(visible, tenant=t)
    hidden = "_bootstrap_tmp/" + uid()
    r = s.post("/v1/episodes", episode(hidden), tenant=t)
    if r.status == 201:
        assert ids(listing(s, t)) == [visible], "a _bootstrap_tmp/ subject was listed"
        assert s.episode_count(hidden, tenant=t) == 1
    else:
        # Engram may also refuse writes here; then it must be the reserved-prefix 400.
        check_error(r, 400, "http_error")
        assert "reserved prefix" in r.body["error"]["message"], r
        assert ids(listing(s, t)) == [visible]


@test("30.13 listings are tenant-scoped")
def _(s):
    ta, tb = uid("t"), uid("t")
    s.create("only-a", tenant=ta)
    s.create("only-b", tenant=tb)
    s.create("both", tenant=ta)
    s.create("both", tenant=tb)
    s.create("both", tenant=tb)
    assert listing(s, ta) == [{"subject_id": "both", "episode_count": 1, "memory_count": 0},
                              {"subject_id": "only-a", "episode_count": 1, "memory_count": 0}]
    assert listing(s, tb) == [{"subject_id": "both", "episode_count": 2, "memory_count": 0},
                              {"subject_id": "only-b", "episode_count": 1, "memory_count": 0}]


@test("30.14 a deleted subject disappears from the listing")
def _(s):
    t = uid("t")
    s.create("keep", tenant=t)
    s.create("gone", tenant=t)
    r = s.delete("/v1/subjects/gone", tenant=t)
    assert r.status == 200, r
    assert ids(listing(s, t)) == ["keep"]


@test("30.15 SHOULD (§1.1 leniency): an integral float string limit=5.0 is accepted")
def _(s):
    t = uid("t")
    s.batch([episode("n%d" % i) for i in range(6)], tenant=t)
    r = s.get("/v1/subjects?limit=5.0&offset=1.0", tenant=t)
    assert r.status == 200, r
    assert [it["subject_id"] for it in r.body["subjects"]] == ["n1", "n2", "n3", "n4", "n5"], r


if __name__ == "__main__":
    main()
