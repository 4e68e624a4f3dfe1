"""40-delete: DELETE /v1/subjects/{subject_id} (spec/api.md §3.9, §1.11; behavior.md §11;
backup-snapshots.md §5.8 for reserved ids; DESIGN.md: path split on raw '/', then decoded)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import episode, main, q, test, uid  # noqa: E402


def delete(s, raw_segment, tenant=None):
    r = s.delete("/v1/subjects/" + raw_segment, tenant=tenant)
    assert r.status == 200, "DELETE %r: %r" % (raw_segment, r)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    # The reference's three keys, in its order; Engram adds only deletion_receipt (spec/api.md
    # §11), which agrees with them (tests/api/76-deletion-receipts.py tests it further).
    assert list(r.body.keys()) == ["subject_id", "episodes_deleted", "memories_deleted",
                                   "deletion_receipt"], r
    body = dict(r.body)
    receipt = body.pop("deletion_receipt")
    assert receipt["subject_id"] == body["subject_id"], r
    assert receipt["episodes_deleted"] == body["episodes_deleted"], r
    assert receipt["memories_deleted"] == body["memories_deleted"], r
    return body


@test("40.1 deletes every episode of the subject and reports the counts")
def _(s):
    sid = uid()
    s.batch([episode(sid) for _ in range(3)])
    s.create(sid)
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 4, "memories_deleted": 0}
    assert s.timeline(sid)["episodes"] == []


@test("40.2 unknown subject: 200 with 0/0")
def _(s):
    sid = uid()
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 0, "memories_deleted": 0}


@test("40.3 deleting twice: the second delete reports 0/0")
def _(s):
    sid = uid()
    s.create(sid)
    assert delete(s, q(sid))["episodes_deleted"] == 1
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 0, "memories_deleted": 0}


@test("40.4 other subjects are untouched, including prefix-similar and LIKE-wildcard ids")
def _(s):
    sid = uid()
    for other in (sid + "x", sid[:-1], sid + "_", sid[:-1] + "_", sid + "%"):
        s.create(other)
    s.create(sid)
    s.create(sid)
    assert delete(s, q(sid))["episodes_deleted"] == 2
    for other in (sid + "x", sid[:-1], sid + "_", sid[:-1] + "_", sid + "%"):
        assert s.episode_count(other) == 1, "deleting %r touched %r" % (sid, other)
    assert delete(s, q(sid[:-1] + "_"))["episodes_deleted"] == 1
    assert s.episode_count(sid[:-1]) == 1 and s.episode_count(sid + "x") == 1


@test("40.5 %2F in the path is part of one segment: a/b is deleted as one id")
def _(s):
    base = uid()
    sid = base + "/b"
    s.create(sid)
    s.create(base)
    assert delete(s, base + "%2Fb") == {"subject_id": sid, "episodes_deleted": 1, "memories_deleted": 0}
    assert s.episode_count(sid) == 0
    assert s.episode_count(base) == 1, "the parent id must not be touched"
    s.create(sid)
    assert delete(s, base + "%2fb")["episodes_deleted"] == 1, "lower-case %2f decodes too"


@test("40.6 %3A (encodeURIComponent) and a raw ':' (Python SDK) both reach user:1")
def _(s):
    sid = uid() + ":1"
    s.create(sid)
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 1, "memories_deleted": 0}
    s.create(sid)
    assert delete(s, sid)["episodes_deleted"] == 1


@test("40.7 percent-encoded spaces and UTF-8 are decoded")
def _(s):
    sid = uid("é") + " ü 日本"
    s.create(sid)
    raw = q(sid)
    assert "%C3%A9" in raw and "%20" in raw
    assert delete(s, raw) == {"subject_id": sid, "episodes_deleted": 1, "memories_deleted": 0}


@test("40.8 a reserved id: 200 with zero counts and its subject_id decoded")
def _(s):
    sid = "_snapshot/%s/v1" % uid("x")
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 0, "memories_deleted": 0}
    sid = "_snapshot/x/v1"
    assert delete(s, q(sid)) == {"subject_id": sid, "episodes_deleted": 0, "memories_deleted": 0}


@test("40.9 tenant-scoped: a delete under tenant A leaves tenant B and no-tenant rows")
def _(s):
    sid, ta, tb = uid(), uid("t"), uid("t")
    s.create(sid, tenant=ta)
    s.create(sid, tenant=ta)
    s.create(sid, tenant=tb)
    s.create(sid)
    assert delete(s, q(sid), tenant=ta) == {"subject_id": sid, "episodes_deleted": 2,
                                            "memories_deleted": 0}
    assert s.episode_count(sid, tenant=ta) == 0
    assert s.episode_count(sid, tenant=tb) == 1
    assert s.episode_count(sid) == 1
    assert delete(s, q(sid))["episodes_deleted"] == 1, "no-tenant delete removes no-tenant rows"
    assert s.episode_count(sid, tenant=tb) == 1, "no-tenant delete must not reach tenant B"


@test("40.10 deleting frees the subject: new episodes can be written afterwards")
def _(s):
    sid = uid()
    s.create(sid, payload={"v": 1})
    delete(s, q(sid))
    e = s.create(sid, payload={"v": 2})
    assert [x["id"] for x in s.timeline(sid)["episodes"]] == [e["id"]]


@test("40.11 '+' in a path segment is a literal '+', not a space")
def _(s):
    sid = uid() + "+1"
    s.create(sid)
    s.create(sid.replace("+", " "))
    assert delete(s, sid) == {"subject_id": sid, "episodes_deleted": 1, "memories_deleted": 0}
    assert s.episode_count(sid.replace("+", " ")) == 1


if __name__ == "__main__":
    main()
