"""31-admin-subjects: the admin subject explorer (spec/api.md §7.4).

GET /admin/subjects (pairs with their stats, search, filters, sorts, pages), /admin/subjects/
{id} (summary, health, SLA), …/sla, …/memories, …/episodes, …/episodes/{eid}/citing-memories,
…/memories/{mid}/related and …/sessions/{sid}/timeline, with bad input for each. The cases of
Statewave's own tests/test_admin_subjects.py are mirrored (31.1-31.8 keep their asserts). The
database may be shared with other files: every listing here is scoped by a random search
prefix. Some memories are written straight into the database (SQLite through sqlite3,
PostgreSQL through psql) to get exact supersession lineages. Runs on both backends."""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, episode, main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

OFFSET_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$"
ITEM_KEYS = ["subject_id", "tenant_id", "episode_count", "memory_count", "session_count",
             "last_episode_at", "health_state", "health_score", "open_sessions"]
MEM_KEYS = ["id", "kind", "content", "summary", "confidence", "status", "source_episode_ids",
            "valid_from", "valid_to", "created_at"]
EP_KEYS = ["id", "session_id", "source", "type", "payload", "metadata", "provenance",
           "created_at"]
REL_KEYS = ["id", "kind", "content", "summary", "confidence", "status", "created_at",
            "relationship"]


def run_sql(s, statement):
    pgctl.run_sql(s.database_url, statement)


def stored_ts(t):
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%06dZ" % int(
        round((t - whole) * 1e6))


def insert_memory(s, subject, kind, content, status, age, sources=(), tenant=None):
    """A memory row created `age` seconds ago; returns its id."""
    mid = str(uuid.uuid4())
    at = stored_ts(time.time() - age)
    if pgctl.is_postgres(s.database_url):
        srcs = "'{%s}'" % ",".join(sources)
    else:
        srcs = "'[%s]'" % ",".join('"%s"' % x for x in sources)
    run_sql(s, "INSERT INTO memories (id, subject_id, tenant_id, kind, content, summary, "
               "confidence, valid_from, source_episode_ids, metadata, status, created_at, "
               "updated_at) VALUES ('%s', '%s', %s, '%s', '%s', '', 0.7, '%s', %s, '{}', "
               "'%s', '%s', '%s')" % (mid, subject, "'%s'" % tenant if tenant else "NULL",
                                      kind, content, at, srcs, status, at, at))
    return mid


def ingest(s, subject, n=1, tenant=None, **over):
    ids = []
    for i in range(n):
        body = episode(subject, payload={"text": "message %d" % i})
        body.update(over)
        r = s.post("/v1/episodes", body, tenant=tenant)
        assert r.status == 201, r
        ids.append(r.body["id"])
    return ids


def listing(s, prefix, **query):
    query["search"] = prefix
    r = s.get("/admin/subjects", query=query)
    assert r.status == 200, r
    return r.body


@test("31.1 the list: one item per (subject, tenant) pair with episodes, every key, total "
      "counts every match; memory-only subjects are missing")
def _(s):
    p = uid("ex")
    a, b, c = p + "-a", p + "-b", p + "-c"
    ingest(s, a, 3)
    ingest(s, b, 1, tenant="t1-" + p)
    ingest(s, b, 2, tenant="t2-" + p, session_id="sess-1")
    insert_memory(s, c, "profile_fact", "memory only", "active", 1)
    body = listing(s, p)
    assert list(body) == ["subjects", "total", "limit", "offset"], body
    assert body["total"] == 3 and body["limit"] == 50 and body["offset"] == 0, body
    pairs = sorted((x["subject_id"], x["tenant_id"], x["episode_count"], x["session_count"])
                   for x in body["subjects"])
    assert pairs == [(a, None, 3, 0), (b, "t1-" + p, 1, 0), (b, "t2-" + p, 2, 1)], pairs
    for x in body["subjects"]:
        assert list(x) == ITEM_KEYS, x
        assert x["health_state"] == "healthy" and x["health_score"] == 100, x
        assert x["open_sessions"] == 0 and x["memory_count"] == 0, x
        assert re.match(OFFSET_TS, x["last_episode_at"]), x
    # default order: newest activity first
    assert [x["subject_id"] for x in body["subjects"]][0] == b, body


@test("31.2 search, tenant_id, sort_by / sort_order, limit / offset")
def _(s):
    p = uid("so")
    ingest(s, p + "-x", 1)
    ingest(s, p + "-y", 3)
    ingest(s, p + "-z", 2, tenant="tz-" + p)
    body = listing(s, p, sort_by="episode_count", sort_order="asc")
    assert [x["episode_count"] for x in body["subjects"]] == [1, 2, 3], body
    body = listing(s, p, sort_by="subject_id", sort_order="desc")
    assert [x["subject_id"] for x in body["subjects"]] == [p + "-z", p + "-y", p + "-x"], body
    body = listing(s, p, sort_by="subject_id", sort_order="asc", limit=2, offset=1)
    assert [x["subject_id"] for x in body["subjects"]] == [p + "-y", p + "-z"], body
    assert body["total"] == 3 and body["limit"] == 2 and body["offset"] == 1, body
    body = listing(s, p, tenant_id="tz-" + p)
    assert [x["subject_id"] for x in body["subjects"]] == [p + "-z"] and body["total"] == 1
    body = listing(s, p.upper())                      # case-insensitive substring
    assert body["total"] == 3, body
    body = listing(s, p, sort_by="memory_count")
    assert body["total"] == 3, body
    assert listing(s, p + "-nothing")["subjects"] == []


@test("31.3 has_open_sessions and health_state filter the pairs")
def _(s):
    p = uid("op")
    ingest(s, p + "-open", 1)
    ingest(s, p + "-calm", 1)
    r = s.post("/v1/resolutions", {"subject_id": p + "-open", "session_id": "s1"})
    assert r.status == 200, r
    body = listing(s, p, has_open_sessions="true")
    assert [x["subject_id"] for x in body["subjects"]] == [p + "-open"], body
    assert body["subjects"][0]["open_sessions"] == 1, body
    body = listing(s, p, has_open_sessions="false")
    assert [x["subject_id"] for x in body["subjects"]] == [p + "-calm"], body
    r = s.post("/v1/resolutions", {"subject_id": p + "-open", "session_id": "s1",
                                   "status": "resolved"})
    assert r.status == 200, r
    assert listing(s, p, has_open_sessions="true")["total"] == 0
    assert listing(s, p, health_state="healthy")["total"] == 2
    assert listing(s, p, health_state="at_risk")["total"] == 0


@test("31.4 the list's bad input: 422 at the field")
def _(s):
    for query, loc in [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"),
                       ({"offset": "-1"}, "offset"), ({"offset": "100001"}, "offset"),
                       ({"limit": "x"}, "limit"), ({"sort_by": "bogus"}, "sort_by"),
                       ({"sort_order": "up"}, "sort_order"),
                       ({"has_open_sessions": "maybe"}, "has_open_sessions")]:
        check_422(s.get("/admin/subjects", query=query), ("query", loc))
    assert s.get("/admin/subjects", query={"limit": "200", "offset": "100000"}).status == 200


@test("31.5 detail: summary, health and SLA; tenant_id scopes; unknown subject is 404 "
      "(test_get_subject_detail, test_get_subject_detail_not_found)")
def _(s):
    sub = uid("de")
    ingest(s, sub, 3, session_id="s1", tenant="ta")
    ingest(s, sub, 1, session_id="s2", tenant="tb")
    r = s.get("/admin/subjects/" + q(sub))
    assert r.status == 200, r
    assert list(r.body) == ["subject_id", "tenant_id", "summary", "health", "sla"], r
    assert r.body["subject_id"] == sub and r.body["tenant_id"] == "ta", r
    assert r.body["summary"]["episode_count"] == 4 and r.body["summary"]["memory_count"] == 0
    assert r.body["summary"]["session_count"] == 2, r
    assert list(r.body["health"]) == ["score", "state", "factors"], r
    assert list(r.body["sla"]) == ["total_sessions", "resolved_sessions", "open_sessions",
                                   "avg_first_response_seconds", "avg_resolution_seconds",
                                   "first_response_breach_count", "resolution_breach_count"]
    assert r.body["sla"]["total_sessions"] == 2, r
    r = s.get("/admin/subjects/" + q(sub), query={"tenant_id": "tb"})
    assert r.body["tenant_id"] == "tb" and r.body["summary"]["episode_count"] == 1, r
    check_error(s.get("/admin/subjects/" + q(sub), query={"tenant_id": "tc"}), 404,
                "http_error", "Subject '%s' not found" % sub)
    check_error(s.get("/admin/subjects/nonexistent_subject_xyz-" + uid()), 404, "http_error")
    check_422(s.get("/admin/subjects/" + "x" * 257), ("path", "subject_id"))


@test("31.6 …/sla: the §4.4 body without subject_id, default thresholds")
def _(s):
    sub = uid("sl")
    ingest(s, sub, 1, session_id="s1", source="user")
    r = s.get("/admin/subjects/%s/sla" % q(sub))
    assert r.status == 200, r
    assert "subject_id" not in r.body and r.body["total_sessions"] == 1, r
    assert [x["session_id"] for x in r.body["sessions"]] == ["s1"], r
    r = s.get("/admin/subjects/%s/sla" % q(uid("none")))
    assert r.status == 200 and r.body["total_sessions"] == 0 and r.body["sessions"] == [], r


@test("31.7 …/memories: newest first, status / kind / search filters, pages "
      "(test_list_subject_memories)")
def _(s):
    sub = uid("me")
    old = insert_memory(s, sub, "profile_fact", "likes tea", "superseded", 30)
    new = insert_memory(s, sub, "profile_fact", "likes coffee", "active", 20)
    proc = insert_memory(s, sub, "procedure", "Restart the Router", "active", 10)
    r = s.get("/admin/subjects/%s/memories" % q(sub))
    assert r.status == 200, r
    assert [m["id"] for m in r.body["memories"]] == [proc, new, old], r
    assert r.body["total"] == 3 and list(r.body["memories"][0]) == MEM_KEYS, r
    r = s.get("/admin/subjects/%s/memories" % q(sub), query={"status": "active"})
    assert [m["id"] for m in r.body["memories"]] == [proc, new], r
    r = s.get("/admin/subjects/%s/memories" % q(sub), query={"status": "superseded"})
    assert [m["id"] for m in r.body["memories"]] == [old], r
    r = s.get("/admin/subjects/%s/memories" % q(sub), query={"kind": "procedure"})
    assert [m["id"] for m in r.body["memories"]] == [proc], r
    r = s.get("/admin/subjects/%s/memories" % q(sub), query={"search": "router"})
    assert [m["id"] for m in r.body["memories"]] == [proc], r
    r = s.get("/admin/subjects/%s/memories" % q(sub), query={"limit": 1, "offset": 1})
    assert [m["id"] for m in r.body["memories"]] == [new] and r.body["total"] == 3, r
    check_422(s.get("/admin/subjects/%s/memories" % q(sub), query={"status": "deleted"}),
              ("query", "status"))
    check_422(s.get("/admin/subjects/%s/memories" % q(sub), query={"limit": "201"}),
              ("query", "limit"))


@test("31.8 …/episodes: newest first, session / type / search filters, pages "
      "(test_list_subject_episodes)")
def _(s):
    sub = uid("ep")
    e1 = ingest(s, sub, 1, session_id="s1")[0]
    e2 = ingest(s, sub, 1, session_id="s2", type="note")[0]
    e3 = ingest(s, sub, 1, payload={"text": "Printer on fire"})[0]
    r = s.get("/admin/subjects/%s/episodes" % q(sub))
    assert r.status == 200 and r.body["total"] == 3, r
    assert [e["id"] for e in r.body["episodes"]] == [e3, e2, e1], r
    assert list(r.body["episodes"][0]) == EP_KEYS, r
    got = lambda **qq: [e["id"] for e in s.get("/admin/subjects/%s/episodes" % q(sub),  # noqa
                                                query=qq).body["episodes"]]
    assert got(session_id="s1") == [e1]
    assert got(type="note") == [e2]
    assert got(search="printer") == [e3]
    assert got(search="s2") == [e2]
    assert got(limit=1, offset=2) == [e1]
    check_422(s.get("/admin/subjects/%s/episodes" % q(sub), query={"offset": "x"}),
              ("query", "offset"))


@test("31.9 …/citing-memories: memories whose sources hold the episode; a non-UUID is 400")
def _(s):
    sub = uid("ci")
    e1, e2 = ingest(s, sub, 2)
    m1 = insert_memory(s, sub, "profile_fact", "a", "active", 5, [e1])
    m2 = insert_memory(s, sub, "episode_summary", "b", "active", 4, [e1, e2])
    insert_memory(s, sub, "episode_summary", "c", "active", 3, [e2])
    r = s.get("/admin/subjects/%s/episodes/%s/citing-memories" % (q(sub), e1))
    assert r.status == 200, r
    assert [m["id"] for m in r.body["memories"]] == [m2, m1] and r.body["total"] == 2, r
    r = s.get("/admin/subjects/%s/episodes/%s/citing-memories" % (q(sub), e1.upper()))
    assert r.body["total"] == 2, r
    check_error(s.get("/admin/subjects/%s/episodes/not-a-uuid/citing-memories" % q(sub)), 400,
                "http_error", "Invalid episode_id format")


@test("31.10 …/related: lineage and siblings; a non-UUID is 400, an unknown id 404 "
      "(test_memory_related_*)")
def _(s):
    sub = uid("re")
    e1, e2 = ingest(s, sub, 2)
    old = insert_memory(s, sub, "profile_fact", "lives in Oslo", "superseded", 30, [e1])
    new = insert_memory(s, sub, "profile_fact", "lives in Bergen", "active", 20, [e2])
    sib = insert_memory(s, sub, "episode_summary", "moved", "active", 10, [e2])
    r = s.get("/admin/subjects/%s/memories/%s/related" % (q(sub), new))
    assert r.status == 200, r
    assert list(r.body) == ["memory_id", "status", "created_at", "superseding_memory",
                            "superseded_memories", "sibling_memories", "source_episode_count"]
    assert r.body["memory_id"] == new and r.body["status"] == "active", r
    assert r.body["superseding_memory"] is None, r
    assert [(m["id"], m["relationship"]) for m in r.body["superseded_memories"]] == \
        [(old, "superseded_by")], r
    assert [(m["id"], m["relationship"]) for m in r.body["sibling_memories"]] == \
        [(sib, "sibling")], r
    assert list(r.body["sibling_memories"][0]) == REL_KEYS and r.body["source_episode_count"] == 1
    r = s.get("/admin/subjects/%s/memories/%s/related" % (q(sub), old))
    assert r.body["superseding_memory"]["id"] == new, r
    assert r.body["superseding_memory"]["relationship"] == "supersedes", r
    assert r.body["superseded_memories"] == [], r
    check_error(s.get("/admin/subjects/%s/memories/%s/related" % (q(sub), uuid.uuid4())), 404,
                "http_error", "Memory not found")
    check_error(s.get("/admin/subjects/%s/memories/not-a-uuid/related" % q(sub)), 400,
                "http_error", "Invalid memory_id format")
    # another subject's memory is not found here
    check_error(s.get("/admin/subjects/%s/memories/%s/related" % (q(uid()), new)), 404,
                "http_error")


@test("31.11 …/sessions/{sid}/timeline: episodes oldest first with citing counts, the "
      "resolution event in place, SLA figures; limit bounds")
def _(s):
    sub = uid("tl")
    e1 = ingest(s, sub, 1, session_id="s1", source="user")[0]
    e2 = ingest(s, sub, 1, session_id="s1", source="agent")[0]
    ingest(s, sub, 1, session_id="other")
    insert_memory(s, sub, "profile_fact", "x", "active", 1, [e1])
    r = s.post("/v1/resolutions", {"subject_id": sub, "session_id": "s1",
                                   "status": "resolved"})
    assert r.status == 200, r
    e3 = ingest(s, sub, 1, session_id="s1", source="user")[0]
    r = s.get("/admin/subjects/%s/sessions/s1/timeline" % q(sub))
    assert r.status == 200, r
    assert list(r.body) == ["session_id", "status", "first_message_at", "first_response_at",
                            "resolved_at", "first_response_seconds", "resolution_seconds",
                            "first_response_breached", "resolution_breached", "episode_count",
                            "events"], r
    assert r.body["status"] == "resolved" and r.body["episode_count"] == 3, r
    kinds = [(ev["event_type"], ev.get("id")) for ev in r.body["events"]]
    assert kinds == [("episode", e1), ("episode", e2), ("resolution", None), ("episode", e3)]
    assert [ev.get("citing_memory_count") for ev in r.body["events"]] == [1, 0, None, 0], r
    assert r.body["first_response_seconds"] >= 0, r
    # the page ends before any episode newer than the resolution: its event comes last
    r = s.get("/admin/subjects/%s/sessions/s1/timeline" % q(sub), query={"limit": 1})
    assert [ev["event_type"] for ev in r.body["events"]] == ["episode", "resolution"], r
    assert r.body["episode_count"] == 3, r
    r = s.get("/admin/subjects/%s/sessions/nope/timeline" % q(sub))
    assert r.status == 200 and r.body["events"] == [] and r.body["status"] == "open", r
    for bad in ("0", "501", "x"):
        check_422(s.get("/admin/subjects/%s/sessions/s1/timeline" % q(sub),
                        query={"limit": bad}), ("query", "limit"))


@test("31.12 a reserved subject is a subject without data")
def _(s):
    r = s.get("/admin/subjects", query={"search": "_snapshot/"})
    assert r.status == 200 and all(not x["subject_id"].startswith("_snapshot/")
                                   for x in r.body["subjects"]), r


if __name__ == "__main__":
    main()
