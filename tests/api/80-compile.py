"""80-compile: POST /v1/memories/compile, synchronous (spec/api.md §3.3, §2; behavior.md §4, §5.1,
§6, §19.1, §19.2; DESIGN.md strict isolation; Engram `force`)."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, check_error, episode, main, test, uid  # noqa: E402

MEMORY_KEYS = ["id", "subject_id", "kind", "content", "summary", "confidence", "valid_from",
               "valid_to", "source_episode_ids", "metadata", "status", "created_at", "updated_at"]
COMPILE_KEYS = ["subject_id", "memories_created", "memories"]

GOLDEN = [
    ("My name is Alice Chen and I work at Globex Corporation. I am on the Enterprise plan.",
     "Welcome Alice! How can I help you today?"),
    ("I prefer email notifications over Slack. My email is alice@globex.com.",
     "Got it, I have updated your preference."),
    ("We had a billing issue last week \u2014 we were double-charged for the March invoice.",
     "I see the double charge. I have initiated a refund for the duplicate payment."),
    ("Can you help me upgrade our team from 5 to 20 seats?",
     "Sure, I have upgraded your team to 20 seats. Your next invoice will reflect the change."),
]


def chat(user, assistant=None):
    msgs = [{"role": "user", "content": user}]
    if assistant is not None:
        msgs.append({"role": "assistant", "content": assistant})
    return {"messages": msgs}


def summary_text(user, assistant):
    return "user: %s\nassistant: %s" % (user, assistant)


def golden_expected():
    """(episode index, kind, content) of the 8 memories, in emission order (§19.2)."""
    s = [summary_text(u, a) for u, a in GOLDEN]
    return [(0, "episode_summary", s[0]), (0, "profile_fact", "My name is Alice Chen"),
            (0, "profile_fact", "I work at Globex Corporation"),
            (0, "profile_fact", "I am on the Enterprise plan"), (1, "episode_summary", s[1]),
            (1, "profile_fact", "I prefer email notifications over Slack"),
            (2, "episode_summary", s[2]), (3, "episode_summary", s[3])]


def ingest_golden(s, sid, tenant=None):
    return [s.create(sid, tenant=tenant, source="support-chat", type="conversation",
                     payload=chat(u, a)) for u, a in GOLDEN]


def compile_ok(s, sid, tenant=None, **extra):
    body = {"subject_id": sid}
    body.update(extra)
    r = s.post("/v1/memories/compile", body, tenant=tenant)
    assert r.status == 200, "compile: %r" % (r,)
    assert list(r.body.keys()) == COMPILE_KEYS, "compile keys %r" % (list(r.body.keys()),)
    assert r.body["subject_id"] == sid, r.body
    assert r.body["memories_created"] == len(r.body["memories"]), r.body
    for m in r.body["memories"]:
        check_memory(m, sid)
    return r.body


def check_memory(m, sid):
    assert list(m.keys()) == MEMORY_KEYS, "Memory keys %r, want %r" % (list(m.keys()), MEMORY_KEYS)
    assert UUID_RE.match(m["id"]), m
    assert m["subject_id"] == sid, m
    assert m["kind"] in ("episode_summary", "profile_fact"), m
    assert isinstance(m["confidence"], float), m
    for k in ("valid_from", "created_at", "updated_at"):
        assert ZTS_RE.match(m[k]), "%s %r" % (k, m[k])
    assert m["valid_to"] is None or ZTS_RE.match(m["valid_to"]), m
    assert m["metadata"] == {}, m
    assert len(m["source_episode_ids"]) == 1 and UUID_RE.match(m["source_episode_ids"][0]), m
    assert m["status"] in ("active", "superseded"), m


def contents(mems):
    return [(m["kind"], m["content"]) for m in mems]


# -- the golden path (§19.2) ------------------------------------------------------------------

@test("80.1 golden path: 8 memories in emission order with exact contents and fields")
def _(s):
    sid = uid()
    eps = ingest_golden(s, sid)
    body = compile_ok(s, sid)
    mems = body["memories"]
    want = golden_expected()
    assert body["memories_created"] == 8, body
    assert [(m["kind"], m["content"]) for m in mems] == [(k, c) for _, k, c in want], \
        "got %r" % (contents(mems),)
    for m, (ei, kind, content) in zip(mems, want):
        ep = eps[ei]
        assert m["source_episode_ids"] == [ep["id"]], m
        assert m["valid_from"] == ep["created_at"], (m, ep)
        assert m["valid_to"] is None and m["status"] == "active", m
        assert m["summary"] == content[:200], m
        assert m["confidence"] == (0.8 if kind == "episode_summary" else 0.6), m
        assert m["created_at"] == m["updated_at"] == mems[0]["created_at"], m
    assert len({m["id"] for m in mems}) == 8
    assert "job_id" not in body


@test("80.2 a second compile creates nothing (idempotent), and the memories stay as they were")
def _(s):
    sid = uid()
    ingest_golden(s, sid)
    first = compile_ok(s, sid)["memories"]
    again = compile_ok(s, sid)
    assert again == {"subject_id": sid, "memories_created": 0, "memories": []}, again
    assert s.timeline(sid)["memories"] == first


@test("80.3 memories are visible in /v1/timeline exactly as the compile returned them")
def _(s):
    sid = uid()
    ingest_golden(s, sid)
    mems = compile_ok(s, sid)["memories"]
    tl = s.timeline(sid)
    assert tl["memories"] == mems, "timeline %r" % (contents(tl["memories"]),)
    assert len(tl["episodes"]) == 4


@test("80.4 force: a clean recompile with the same contents, new ids, no duplicates")
def _(s):
    sid = uid()
    ingest_golden(s, sid)
    first = compile_ok(s, sid)["memories"]
    again = compile_ok(s, sid, force=True)
    assert again["memories_created"] == 8, again
    assert contents(again["memories"]) == contents(first)
    assert not ({m["id"] for m in first} & {m["id"] for m in again["memories"]})
    tl = s.timeline(sid)["memories"]
    assert tl == again["memories"], "timeline after force: %r" % (contents(tl),)
    assert compile_ok(s, sid)["memories_created"] == 0
    third = compile_ok(s, sid, force="yes")
    assert contents(third["memories"]) == contents(first)
    assert len(s.timeline(sid)["memories"]) == 8


@test("80.5 force on a subject with nothing compiled, and on an empty subject")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "I use vim"})
    assert contents(compile_ok(s, sid, force=True)["memories"]) == [
        ("episode_summary", "I use vim"), ("profile_fact", "I use vim")]
    assert compile_ok(s, uid(), force=True)["memories_created"] == 0


# -- conflict resolution (§6) ------------------------------------------------------------------

@test("80.10 a contradicting fact compiled later supersedes the older one (valid_to set)")
def _(s):
    sid = uid()
    e1 = s.create(sid, payload=chat("My name is Alice"))
    first = compile_ok(s, sid)["memories"]
    alice = [m for m in first if m["kind"] == "profile_fact"]
    assert [m["content"] for m in alice] == ["My name is Alice"], first
    e2 = s.create(sid, payload=chat("My name is Bob"))
    second = compile_ok(s, sid)["memories"]
    assert contents(second) == [("episode_summary", "user: My name is Bob"),
                                ("profile_fact", "My name is Bob")]
    assert all(m["status"] == "active" for m in second), second
    by_id = {m["id"]: m for m in s.timeline(sid)["memories"]}
    old = by_id[alice[0]["id"]]
    assert old["status"] == "superseded", old
    assert old["valid_to"] == e2["created_at"], (old, e2)
    assert old["valid_from"] == e1["created_at"]
    assert old["updated_at"] == second[0]["created_at"], old
    # summaries: {user:, my, name, is, alice} vs {…, bob} = 4/6 < 0.8: both stay active
    summaries = [m for m in by_id.values() if m["kind"] == "episode_summary"]
    assert [m["status"] for m in summaries] == ["active", "active"], summaries


@test("80.11 a fact repeated inside one episode: the first copy is superseded in the response")
def _(s):
    sid = uid()
    e = s.create(sid, payload={"text": "I use vim. I use vim."})
    mems = compile_ok(s, sid)["memories"]
    assert contents(mems) == [("episode_summary", "I use vim. I use vim."),
                              ("profile_fact", "I use vim"), ("profile_fact", "I use vim")]
    assert [m["status"] for m in mems] == ["active", "superseded", "active"], mems
    assert mems[1]["valid_to"] == e["created_at"], mems[1]
    assert s.timeline(sid)["memories"] == mems


@test("80.12 different facts (Jaccard < 0.6) both stay active")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "I prefer vim"})
    compile_ok(s, sid)
    s.create(sid, payload={"text": "I prefer emacs"})
    compile_ok(s, sid)
    facts = [m for m in s.timeline(sid)["memories"] if m["kind"] == "profile_fact"]
    assert [(m["content"], m["status"]) for m in facts] == [
        ("I prefer vim", "active"), ("I prefer emacs", "active")], facts


# -- what gets compiled (§3.1, §4, §4.2, §19.1) ------------------------------------------------

@test("80.20 payload shapes: text, content, messages, none; text null compiles to 'None'")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "Hello, how can I help you today?"})
    s.create(sid, payload={"foo": "bar", "baz": 42})
    s.create(sid, payload={"content": "Some content"})
    s.create(sid, payload={"messages": [{"role": "user", "content": "hi"}]})
    s.create(sid, payload={"text": None})
    s.create(sid, payload={"messages": "not a list"})
    mems = compile_ok(s, sid)["memories"]
    assert contents(mems) == [("episode_summary", "Hello, how can I help you today?"),
                              ("episode_summary", "Some content"),
                              ("episode_summary", "user: hi"), ("episode_summary", "None")], mems
    assert compile_ok(s, sid)["memories_created"] == 0, "episodes without text must be consumed"


@test("80.25 non-string text is rendered as Python prints it: big ints exact, floats, dicts")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": 123456789012345678901234567890})
    s.create(sid, payload={"content": {"a": [1, 2.5, True, None], "b": "it's"}})
    s.create(sid, payload={"messages": [{"role": "user", "content": 1e22}, {"role": None}]})
    mems = compile_ok(s, sid)["memories"]
    assert contents(mems) == [
        ("episode_summary", "123456789012345678901234567890"),
        ("episode_summary", "{'a': [1, 2.5, True, None], 'b': \"it's\"}"),
        ("episode_summary", "user: 1e+22\nNone: ")], contents(mems)


@test("80.21 episodes that produce nothing are consumed; only new episodes compile next time")
def _(s):
    sid = uid()
    s.create(sid, payload={"foo": 1})
    assert compile_ok(s, sid) == {"subject_id": sid, "memories_created": 0, "memories": []}
    e = s.create(sid, payload={"text": "I live in Rome"})
    mems = compile_ok(s, sid)["memories"]
    assert contents(mems) == [("episode_summary", "I live in Rome"),
                              ("profile_fact", "I live in Rome")]
    assert all(m["source_episode_ids"] == [e["id"]] for m in mems)


@test("80.22 long and multibyte text: content is 500 code points, summary 200")
def _(s):
    sid = uid()
    text = "\u00e9\U0001F600\u4e2d" * 200
    s.create(sid, payload={"text": text})
    m = compile_ok(s, sid)["memories"][0]
    assert m["content"] == text[:500] and m["summary"] == text[:200], (len(m["content"]),
                                                                        len(m["summary"]))


@test("80.23 at most 500 episodes per call, oldest first; the next call takes the rest")
def _(s):
    sid = uid()
    for b in range(5):
        s.batch([episode(sid, payload={"text": "note %d" % (b * 100 + i)}) for i in range(100)])
    last = s.create(sid, payload={"text": "the last one"})
    first = compile_ok(s, sid)
    assert first["memories_created"] == 500, first["memories_created"]
    assert first["memories"][0]["content"] == "note 0"
    assert first["memories"][-1]["content"] == "note 499"
    rest = compile_ok(s, sid)
    assert contents(rest["memories"]) == [("episode_summary", "the last one")], rest
    assert rest["memories"][0]["source_episode_ids"] == [last["id"]]
    assert compile_ok(s, sid)["memories_created"] == 0


@test("80.24 an unknown subject compiles to nothing")
def _(s):
    sid = uid()
    assert compile_ok(s, sid) == {"subject_id": sid, "memories_created": 0, "memories": []}


# -- tenancy (DESIGN.md strict isolation) --------------------------------------------------------

@test("80.30 compile is tenant-scoped: B and no-tenant compile nothing of A's episodes")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    ingest_golden(s, sid, tenant=ta)
    assert compile_ok(s, sid, tenant=tb)["memories_created"] == 0
    assert compile_ok(s, sid)["memories_created"] == 0
    mems = compile_ok(s, sid, tenant=ta)["memories"]
    assert len(mems) == 8
    assert s.timeline(sid, tenant=tb)["memories"] == []
    assert s.timeline(sid)["memories"] == []
    assert s.timeline(sid, tenant=ta)["memories"] == mems


@test("80.31 conflict resolution never crosses tenants")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta, payload={"text": "My name is Alice"})
    a = compile_ok(s, sid, tenant=ta)["memories"]
    s.create(sid, tenant=tb, payload={"text": "My name is Bob"})
    compile_ok(s, sid, tenant=tb)
    s.create(sid, payload={"text": "My name is Carol"})
    compile_ok(s, sid)
    assert s.timeline(sid, tenant=ta)["memories"] == a, "tenant B's compile changed A's memories"
    assert all(m["status"] == "active" for m in a)


@test("80.32 force under tenant B leaves tenant A's memories alone")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta, payload={"text": "I use vim"})
    a = compile_ok(s, sid, tenant=ta)["memories"]
    s.create(sid, tenant=tb, payload={"text": "I use emacs"})
    compile_ok(s, sid, tenant=tb)
    b = compile_ok(s, sid, tenant=tb, force=True)["memories"]
    assert contents(b) == [("episode_summary", "I use emacs"), ("profile_fact", "I use emacs")]
    assert s.timeline(sid, tenant=ta)["memories"] == a


@test("80.33 concurrent compiles of one subject: every memory is created exactly once")
def _(s):
    sid = uid()
    s.batch([episode(sid, payload={"text": "note %d. I live in city%d" % (i, i)})
             for i in range(60)])
    created = []
    lock = threading.Lock()

    def go():
        body = compile_ok(s, sid)
        with lock:
            created.append(body["memories_created"])

    threads = [threading.Thread(target=go) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [0] * 11 + [120], created
    mems = s.timeline(sid)["memories"]
    assert len(mems) == 100 and len({m["content"] for m in mems}) == 100, len(mems)


# -- errors ------------------------------------------------------------------------------------

@test("80.40 reserved subject prefixes are 400 (sync and async), nothing compiled")
def _(s):
    for sid, prefix in (("_snapshot/x/v1", "_snapshot/"), ("_bootstrap_tmp/y", "_bootstrap_tmp/")):
        for extra in ({}, {"async": True}, {"force": True}):
            body = {"subject_id": sid}
            body.update(extra)
            r = s.post("/v1/memories/compile", body)
            check_error(r, 400, "http_error",
                        "Subject id '%s' uses a reserved prefix (%s)" % (sid, prefix))


@test("80.41 subject_id: missing, empty, too long, not a string, null are 422")
def _(s):
    check_422(s.post("/v1/memories/compile", {}), ["body", "subject_id"], {})
    check_422(s.post("/v1/memories/compile", {"async": False}), ["body", "subject_id"])
    item = check_422(s.post("/v1/memories/compile", {"subject_id": ""}), ["body", "subject_id"])
    assert item["type"] == "string_too_short", item
    item = check_422(s.post("/v1/memories/compile", {"subject_id": "x" * 257}),
                     ["body", "subject_id"])
    assert item["type"] == "string_too_long" and item["ctx"] == {"max_length": 256}, item
    for bad in (5, True, None, ["a"], {"a": 1}):
        item = check_422(s.post("/v1/memories/compile", {"subject_id": bad}),
                         ["body", "subject_id"], bad)
        assert item["type"] in ("string_type", "missing"), item


@test("80.42 async and force: lenient booleans accepted, anything else is 422")
def _(s):
    sid = uid()
    for ok in (False, 0, "false", "no", "off", "n", "0", "F"):
        compile_ok(s, sid, **{"async": ok})
        compile_ok(s, sid, force=ok)
    for bad in ("maybe", 2, None, [], {}, 0.5):
        for key in ("async", "force"):
            item = check_422(s.post("/v1/memories/compile", {"subject_id": sid, key: bad}),
                             ["body", key], bad)
            assert item["type"] in ("bool_parsing", "bool_type"), item


@test("80.43 boundary subject ids compile: 256 code points, spaces, '/' inside")
def _(s):
    for sid in ("\u00e9" * 256, " ", "a/b/c " + uid()):
        s.create(sid, payload={"text": "I use vim"})
        assert compile_ok(s, sid)["memories_created"] == 2


@test("80.44 malformed bodies are 422; unknown fields are ignored")
def _(s):
    check_422(s.post("/v1/memories/compile", b"{not json"), None)
    check_422(s.post("/v1/memories/compile", ["subject_id"]), None)
    check_422(s.post("/v1/memories/compile", None), None)
    sid = uid()
    s.create(sid, payload={"text": "hello"})
    body = compile_ok(s, sid, idempotency_key="k", extra={"x": 1})
    assert body["memories_created"] == 1


@test("80.45 other methods on /v1/memories/compile are 405")
def _(s):
    check_error(s.get("/v1/memories/compile"), 405, "http_error", "Method Not Allowed")
    check_error(s.delete("/v1/memories/compile"), 405, "http_error", "Method Not Allowed")


if __name__ == "__main__":
    main()
