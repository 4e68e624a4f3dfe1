"""75-fork-diff: fork and diff of subjects (Engram extension, spec/api.md §11, README "Fork
and diff"): POST /admin/subjects/{id}/fork, GET /admin/subjects/{id}/lineage,
GET /admin/subjects/diff.

The use case: fork a subject, teach the fork something (an episode and a compile), and the
diff shows exactly what it learned; a fork as of an instant brings back the subject as it stood
then (a fact superseded later is active again, an episode compiled later is uncompiled); bad
input answers the error envelope (400/404/409/422), never a 500."""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, check_422, check_error, main, q, test, uid  # noqa: E402

LINEAGE_KEYS = ["source_subject_id", "source_tenant_id", "target_subject_id",
                "target_tenant_id", "as_of", "forked_at", "episodes_copied", "memories_copied"]
DIFF_KEYS = ["a", "b", "a_tenant", "b_tenant", "only_in_a", "only_in_b", "changed"]


def say(s, sid, text, tenant=None):
    return s.create(sid, tenant=tenant, payload={"messages": [{"role": "user", "content": text}]})


def compile_(s, sid, tenant=None):
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200, r
    return r.body["memories"]


def fork(s, source, body, tenant=None, status=201):
    query = {"tenant_id": tenant} if tenant is not None else None
    r = s.post("/admin/subjects/%s/fork" % q(source), body, query=query)
    assert r.status == status, r
    return r


def diff(s, a, b, **tenants):
    query = {"a": a, "b": b}
    query.update(tenants)
    r = s.get("/admin/subjects/diff", query=query)
    assert r.status == 200, r
    assert list(r.body.keys()) == DIFF_KEYS, r
    return r.body


def contents(mems):
    return sorted((m["kind"], m["content"]) for m in mems)


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def z(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seeded(s, tenant=None):
    """A compiled subject: a name and an employer."""
    sid = uid("src")
    say(s, sid, "My name is Alice Smith.", tenant)
    say(s, sid, "I work at Acme.", tenant)
    compile_(s, sid, tenant)
    return sid


@test("75.1 fork, add an episode and compile on the fork: the diff shows exactly the new memories")
def _(s):
    src, dst = seeded(s), uid("fork")
    r = fork(s, src, {"target_subject_id": dst})
    assert list(r.body.keys()) == LINEAGE_KEYS + ["resolutions_copied"], r
    assert r.body["source_subject_id"] == src and r.body["target_subject_id"] == dst, r
    assert r.body["as_of"] is None and r.body["source_tenant_id"] is None, r
    assert r.body["episodes_copied"] == 2 and r.body["memories_copied"] == 4, r
    assert r.body["resolutions_copied"] == 0, r
    before = diff(s, src, dst)
    assert before["only_in_a"] == [] and before["only_in_b"] == [] and before["changed"] == [], \
        before
    # the copy is a copy: fresh ids, same contents, sources remapped onto the fork's episodes
    ts, tf = s.timeline(src), s.timeline(dst)
    assert {e["id"] for e in ts["episodes"]}.isdisjoint(e["id"] for e in tf["episodes"])
    assert contents(ts["memories"]) == contents(tf["memories"])
    fork_eps = {e["id"] for e in tf["episodes"]}
    for m in tf["memories"]:
        assert UUID_RE.match(m["id"]) and set(m["source_episode_ids"]) <= fork_eps, m

    say(s, dst, "I live in Paris.")
    learned = compile_(s, dst)
    assert len(learned) == 2, learned          # its summary and the fact
    after = diff(s, src, dst)
    assert after["only_in_a"] == [] and after["changed"] == [], after
    assert sorted(m["id"] for m in after["only_in_b"]) == sorted(m["id"] for m in learned), after
    assert contents(after["only_in_b"]) == [("episode_summary", "user: I live in Paris."),
                                            ("profile_fact", "I live in Paris")], after
    # the other way round, the same difference mirrored
    back = diff(s, dst, src)
    assert back["only_in_a"] == after["only_in_b"] and back["only_in_b"] == [], back
    # the source learned nothing
    assert len(s.timeline(src)["episodes"]) == 2


@test("75.2 a fact the fork learned differently is `changed`, paired with the source's")
def _(s):
    src, dst = seeded(s), uid("fork")
    fork(s, src, {"target_subject_id": dst})
    say(s, dst, "I work at Globex.")
    compile_(s, dst)
    d = diff(s, src, dst)
    assert [(c["a"]["content"], c["b"]["content"]) for c in d["changed"]] == \
        [("I work at Acme", "I work at Globex")], d
    assert d["changed"][0]["a"]["kind"] == d["changed"][0]["b"]["kind"] == "profile_fact", d
    assert d["only_in_a"] == [], d
    assert contents(d["only_in_b"]) == [("episode_summary", "user: I work at Globex.")], d


@test("75.3 fork as_of: the subject as it stood then; a later supersede is undone")
def _(s):
    sid = uid("src")
    say(s, sid, "I work at Acme.")
    compile_(s, sid)
    later = say(s, sid, "I work at Globex.")
    compile_(s, sid)
    now = s.timeline(sid)
    acme = [m for m in now["memories"] if m["content"] == "I work at Acme"]
    assert acme and acme[0]["status"] == "superseded", now
    as_of = parse_ts(later["created_at"]) - datetime.timedelta(microseconds=1)
    dst = uid("fork")
    r = fork(s, sid, {"target_subject_id": dst, "as_of": z(as_of)})
    assert r.body["episodes_copied"] == 1 and r.body["memories_copied"] == 2, r
    assert parse_ts(r.body["as_of"]) == as_of, r
    then = s.timeline(dst)
    assert [e["payload"] for e in then["episodes"]] == [now["episodes"][0]["payload"]], then
    assert contents(then["memories"]) == [("episode_summary", "user: I work at Acme."),
                                          ("profile_fact", "I work at Acme")], then
    assert all(m["status"] == "active" and m["valid_to"] is None for m in then["memories"]), then
    d = diff(s, sid, dst)
    assert [(c["a"]["content"], c["b"]["content"]) for c in d["changed"]] == \
        [("I work at Globex", "I work at Acme")], d
    assert contents(d["only_in_a"]) == [("episode_summary", "user: I work at Globex.")], d
    assert d["only_in_b"] == [], d
    # as_of between the episode and its compile: the episode comes back uncompiled, and a
    # compile on the fork learns it again
    first = parse_ts(now["episodes"][0]["created_at"])
    dst2 = uid("fork")
    r = fork(s, sid, {"target_subject_id": dst2,
                      "as_of": z(first + datetime.timedelta(microseconds=1))})
    assert r.body["episodes_copied"] == 1 and r.body["memories_copied"] == 0, r
    assert contents(compile_(s, dst2)) == [("episode_summary", "user: I work at Acme."),
                                           ("profile_fact", "I work at Acme")]


@test("75.4 lineage is kept on the target, per tenant; a fork into another tenant")
def _(s):
    ta, tb = uid("t"), uid("t")
    src, dst = seeded(s, tenant=ta), uid("fork")
    r = fork(s, src, {"target_subject_id": dst, "target_tenant_id": tb}, tenant=ta)
    assert r.body["source_tenant_id"] == ta and r.body["target_tenant_id"] == tb, r
    assert len(s.timeline(dst, tenant=tb)["episodes"]) == 2
    assert s.timeline(dst)["episodes"] == [] and s.timeline(dst, tenant=ta)["episodes"] == []
    r = s.get("/admin/subjects/%s/lineage" % q(dst), query={"tenant_id": tb})
    assert r.status == 200 and list(r.body.keys()) == LINEAGE_KEYS, r
    assert (r.body["source_subject_id"], r.body["source_tenant_id"]) == (src, ta), r
    assert r.body["episodes_copied"] == 2, r
    check_error(s.get("/admin/subjects/%s/lineage" % q(dst)), 404, "http_error",
                "Subject '%s' is not a fork" % dst)
    check_error(s.get("/admin/subjects/%s/lineage" % q(src), query={"tenant_id": ta}), 404,
                "http_error")
    d = diff(s, src, dst, a_tenant=ta, b_tenant=tb)
    assert d["a_tenant"] == ta and d["b_tenant"] == tb, d
    assert d["only_in_a"] == d["only_in_b"] == d["changed"] == [], d
    # the wrong tenant space sees an empty subject
    d = diff(s, src, dst, a_tenant=ta)
    assert len(d["only_in_a"]) == 4 and d["only_in_b"] == [], d
    # the tenant header is ignored on /admin: the source is named by ?tenant_id=
    r = s.post("/admin/subjects/%s/fork" % q(src), {"target_subject_id": uid("fork")}, tenant=ta)
    check_error(r, 404, "http_error", "Subject '%s' not found" % src)
    # deleting the fork forgets its lineage
    assert s.delete("/v1/subjects/%s" % q(dst), tenant=tb).status == 200
    assert s.get("/admin/subjects/%s/lineage" % q(dst), query={"tenant_id": tb}).status == 404


@test("75.5 refusals: 409 existing target, 404 nothing to copy, 400 bad target")
def _(s):
    src = seeded(s)
    other = seeded(s)
    r = fork(s, src, {"target_subject_id": other}, status=409)
    check_error(r, 409, "http_error")
    assert r.body["error"]["message"].startswith(
        "Target subject '%s' already has data (2 episodes, 4 memories)." % other), r
    r = fork(s, src, {"target_subject_id": src}, status=409)
    check_error(s.post("/admin/subjects/%s/fork" % q(uid("none")), {"target_subject_id": uid()}),
                404, "http_error")
    r = fork(s, src, {"target_subject_id": uid(), "as_of": "2001-01-01T00:00:00Z"}, status=404)
    check_error(r, 404, "http_error", "Subject '%s' had no episodes or memories at as_of" % src)
    for bad in ("", "x" * 257, "_snapshot/x/v1", "_bootstrap_tmp/y"):
        check_error(fork(s, src, {"target_subject_id": bad}, status=400), 400, "http_error")
    check_error(s.post("/admin/subjects/%s/fork" % q("_snapshot/a/v1"),
                       {"target_subject_id": uid()}), 404, "http_error")
    # nothing of the refused forks was written
    assert s.timeline(other)["episodes"] and len(s.timeline(other)["episodes"]) == 2


@test("75.6 validation: 422 with the envelope for a malformed fork or diff request")
def _(s):
    src = seeded(s)
    path = "/admin/subjects/%s/fork" % q(src)
    check_422(s.post(path, {}), ["body", "target_subject_id"])
    check_422(s.post(path, {"target_subject_id": 5}), ["body", "target_subject_id"])
    check_422(s.post(path, {"target_subject_id": uid(), "as_of": "yesterday"}),
              ["body", "as_of"], "yesterday")
    check_422(s.post(path, {"target_subject_id": uid(), "as_of": 12}), ["body", "as_of"])
    check_422(s.post(path, {"target_subject_id": uid(), "target_tenant_id": "t" * 257}),
              ["body", "target_tenant_id"])
    check_422(s.post(path, [1]))
    check_422(s.post(path, b"{nope"))
    check_422(s.post(path, {"target_subject_id": uid()}, query={"tenant_id": "t" * 257}),
              ["query", "tenant_id"])
    check_422(s.post("/admin/subjects/%s/fork" % ("x" * 257), {"target_subject_id": uid()}),
              ["path", "subject_id"])
    # explicit nulls are absent values
    r = fork(s, src, {"target_subject_id": uid(), "as_of": None, "target_tenant_id": None})
    assert r.body["as_of"] is None and r.body["target_tenant_id"] is None, r
    check_422(s.get("/admin/subjects/diff", query={"b": src}), ["query", "a"])
    check_422(s.get("/admin/subjects/diff", query={"a": src}), ["query", "b"])
    check_422(s.get("/admin/subjects/diff", query={"a": "", "b": src}), ["query", "a"])
    check_422(s.get("/admin/subjects/diff", query={"a": src, "b": src, "b_tenant": "t" * 257}),
              ["query", "b_tenant"])
    check_422(s.get("/admin/subjects/%s/lineage" % q(src), query={"tenant_id": "t" * 257}),
              ["query", "tenant_id"])
    check_error(s.request("PUT", path, {}), 405, "http_error")


@test("75.7 diff: case and spacing do not count; a subject against itself is empty")
def _(s):
    a, b = uid("a"), uid("b")
    say(s, a, "My name is Alice.")
    say(s, b, "MY NAME IS   Alice.")
    compile_(s, a)
    compile_(s, b)
    d = diff(s, a, b)
    # summaries and facts differ only in case and spacing
    assert d["only_in_a"] == [] and d["only_in_b"] == [] and d["changed"] == [], d
    d = diff(s, a, a)
    assert d["only_in_a"] == d["only_in_b"] == d["changed"] == [], d
    d = diff(s, a, uid("none"))
    assert len(d["only_in_a"]) == 2 and d["only_in_b"] == [], d
    for m in d["only_in_a"]:
        assert set(m) >= {"id", "subject_id", "kind", "content", "status", "created_at"}, m


if __name__ == "__main__":
    main()
