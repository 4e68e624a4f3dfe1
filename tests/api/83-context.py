"""83-context: POST /v1/context (spec/api.md §3.6, §2; behavior.md §10, §19.2, §19.3, §19.5;
DESIGN.md: the newest 30 episodes, strict tenant isolation)."""

import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, episode, main, test, uid  # noqa: E402

BUNDLE_KEYS = ["subject_id", "task", "facts", "episodes", "procedures", "provenance",
               "assembled_context", "token_estimate", "sessions"]
PROVENANCE_KEYS = ["fact_ids", "summary_ids", "procedure_ids", "episode_ids"]
MEMORY_KEYS = ["id", "subject_id", "kind", "content", "summary", "confidence", "valid_from",
               "valid_to", "source_episode_ids", "metadata", "status", "created_at",
               "updated_at"]
# occurred_at: Engram's extension (spec/api.md §11), on every Episode, null when not sent.
EPISODE_KEYS = ["id", "subject_id", "source", "type", "payload", "metadata", "provenance",
                "session_id", "created_at", "occurred_at"]
SESSION_KEYS = ["session_id", "episode_count", "first_at", "last_at"]

TASK = "Customer is asking about their billing issue"
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
FACTS = ["My name is Alice Chen", "I work at Globex Corporation", "I am on the Enterprise plan",
         "I prefer email notifications over Slack"]
HEADER = "## Task\n%s\n" % TASK
LINE = {  # rendered history lines of the summaries S1..S4
    i: "- %s \u2192 %s" % GOLDEN[i] for i in range(4)
}
GOLDEN_500 = (HEADER + "\n## About this user\n" + "".join("- %s\n" % f for f in FACTS) +
              "\n## Recent history\n" + LINE[2] + "\n" + LINE[0] + "\n" + LINE[1] + "\n" +
              LINE[3] + "\n")
GOLDEN_100 = (HEADER + "\n## About this user\n" + "".join("- %s\n" % f for f in FACTS) +
              "\n## Recent history\n" + LINE[2] + "\n")

# §19.2 table: item tokens in ranked order (F1..F4, S3, S1, S2, S4) and the header's.
HEADER_TOKENS = 11
RANKED = [("F", 0, 6), ("F", 1, 7), ("F", 2, 7), ("F", 3, 7), ("S", 2, 36), ("S", 0, 32),
          ("S", 1, 27), ("S", 3, 37)]


def chat(user, assistant):
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": assistant}]}


def golden_subject(s, tenant=None):
    """Ingest the four §19.2 episodes as one batch and compile: returns (sid, memories)."""
    sid = uid()
    s.batch([episode(sid, source="support-chat", type="conversation", payload=chat(u, a))
             for u, a in GOLDEN], tenant=tenant)
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] == 8, r
    return sid, r.body["memories"]


def context(s, body, tenant=None):
    r = s.post("/v1/context", body, tenant=tenant)
    assert r.status == 200, r
    b = r.body
    assert list(b.keys()) == BUNDLE_KEYS, list(b.keys())
    assert list(b["provenance"].keys()) == PROVENANCE_KEYS, b["provenance"]
    for m in b["facts"] + b["procedures"]:
        assert list(m.keys()) == MEMORY_KEYS and ZTS_RE.match(m["created_at"]), m
    for e in b["episodes"]:
        assert list(e.keys()) == EPISODE_KEYS and ZTS_RE.match(e["created_at"]), e
    for x in b["sessions"]:
        assert list(x.keys()) == SESSION_KEYS, x
        assert ZTS_RE.match(x["first_at"]) and ZTS_RE.match(x["last_at"]), x
    return b


def header_only(sid, task):
    return {"subject_id": sid, "task": task, "facts": [], "episodes": [], "procedures": [],
            "provenance": {"fact_ids": [], "summary_ids": [], "procedure_ids": [],
                           "episode_ids": []},
            "assembled_context": "## Task\n%s\n" % task,
            "token_estimate": None, "sessions": []}


def expect_header_only(b, sid, task, tokens=None):
    want = header_only(sid, task)
    want["token_estimate"] = b["token_estimate"] if tokens is None else tokens
    assert b == want, b


def by_kind(mems):
    facts = {m["content"]: m for m in mems if m["kind"] == "profile_fact"}
    summaries = [m for m in mems if m["kind"] == "episode_summary"]
    return facts, summaries


# --------------------------------------------------------------------------------------------
# §19.2 golden path over HTTP


@test("83.1 golden path, max_tokens 500: every memory, the exact §19.2 text, 183 tokens")
def _(s):
    sid, mems = golden_subject(s)
    facts, summaries = by_kind(mems)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 500})
    assert b["assembled_context"] == GOLDEN_500, b["assembled_context"]
    assert b["token_estimate"] == 183, b["token_estimate"]
    assert b["subject_id"] == sid and b["task"] == TASK
    fact_ids = [facts[f]["id"] for f in FACTS]
    summary_ids = [summaries[i]["id"] for i in (2, 0, 1, 3)]
    assert b["provenance"] == {"fact_ids": fact_ids, "summary_ids": summary_ids,
                               "procedure_ids": [], "episode_ids": []}, b["provenance"]
    assert [m["id"] for m in b["facts"]] == fact_ids + summary_ids
    assert b["facts"][0] == facts[FACTS[0]], "facts are the Memory objects as compiled"
    assert b["episodes"] == [] and b["procedures"] == [] and b["sessions"] == []


@test("83.2 golden path, max_tokens 100: the 4 facts and S3 only, 87 tokens")
def _(s):
    sid, mems = golden_subject(s)
    _, summaries = by_kind(mems)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 100})
    assert b["assembled_context"] == GOLDEN_100, b["assembled_context"]
    assert b["token_estimate"] == 87, b["token_estimate"]
    assert b["provenance"]["summary_ids"] == [summaries[2]["id"]]
    assert len(b["provenance"]["fact_ids"]) == 4 and len(b["facts"]) == 5


@test("83.3 the same rows and request give byte-identical responses")
def _(s):
    sid, _ = golden_subject(s)
    body = {"subject_id": sid, "task": TASK, "max_tokens": 300}
    first = s.post("/v1/context", body)
    assert first.status == 200, first
    for _ in range(3):
        again = s.post("/v1/context", body)
        assert again.raw == first.raw, (again.raw, first.raw)


@test("83.4 packing: header + packed items + the 10-token reserve never pass the budget, "
      "and a skipped item lets later, smaller ones in")
def _(s):
    sid, mems = golden_subject(s)
    facts, summaries = by_kind(mems)
    ids = {("F", i): facts[FACTS[i]]["id"] for i in range(4)}
    ids.update({("S", i): summaries[i]["id"] for i in range(4)})
    for budget in (1, 16, 26, 27, 34, 48, 55, 74, 83, 84, 100, 111, 116, 140, 143, 169, 170,
                   180, 500, 128000):
        used, want = HEADER_TOKENS, []
        for kind, i, n in RANKED:
            if used + n + 10 > budget:
                continue
            used += n
            want.append(ids[(kind, i)])
        b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": budget})
        p = b["provenance"]
        assert p["fact_ids"] + p["summary_ids"] == want, (budget, p, want)
        if want:
            assert used + 10 <= budget, (budget, used)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 111})
    assert b["provenance"]["summary_ids"] == [summaries[2]["id"], summaries[1]["id"]], \
        "S1 (32) is skipped at 111 but S2 (27) still fits"


# --------------------------------------------------------------------------------------------
# episodes, sessions, unknown subjects


@test("83.5 unknown subject: the header-only bundle (task 'help' is 5 tokens)")
def _(s):
    sid = uid()
    expect_header_only(context(s, {"subject_id": sid, "task": "help"}), sid, "help", 5)
    expect_header_only(context(s, {"subject_id": sid, "task": "anything", "max_tokens": 1}),
                       sid, "anything")


@test("83.6 reserved subject ids read as unknown subjects")
def _(s):
    sid = "_snapshot/%s/v1" % uid()
    expect_header_only(context(s, {"subject_id": sid, "task": "help"}), sid, "help", 5)


@test("83.7 budget edge (§19.5): a fact and max_tokens 1 give the header alone")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "My name is Dave"})
    assert s.post("/v1/memories/compile", {"subject_id": sid}).status == 200
    expect_header_only(context(s, {"subject_id": sid, "task": "help", "max_tokens": 1}),
                       sid, "help", 5)


@test("83.8 raw episodes render under the request session and report their sessions")
def _(s):
    sid = uid()
    old = s.create(sid, session_id="sess-abc", payload={"messages": [
        {"role": "user", "content": "earlier in session"}]})
    other = s.create(sid, session_id="sess-other", payload={"messages": [
        {"role": "user", "content": "recent other"}]})
    nosess = s.create(sid, payload={})
    b = context(s, {"subject_id": sid, "task": "help with billing", "session_id": "sess-abc"})
    # scores (§10.3): old 3+0+6 = 9; nosess 3+5 = 8 (no text: no idle penalty);
    # other 3+rec−2 (idle: "user: recent other" is 18 characters) < 6
    assert b["assembled_context"] == (
        "## Task\nhelp with billing\n\n## Recent interactions\n"
        "### Current session (sess-abc)\n- [chat/message] user: earlier in session\n"
        "### Previous interactions\n- [chat/message] (no text content)\n"
        "- [chat/message] user: recent other\n"), b["assembled_context"]
    assert [e["id"] for e in b["episodes"]] == [old["id"], nosess["id"], other["id"]]
    assert b["episodes"][0] == old
    assert b["provenance"]["episode_ids"] == [old["id"], nosess["id"], other["id"]]
    assert b["sessions"] == [
        {"session_id": "sess-abc", "episode_count": 1, "first_at": old["created_at"],
         "last_at": old["created_at"]},
        {"session_id": "sess-other", "episode_count": 1, "first_at": other["created_at"],
         "last_at": other["created_at"]}], b["sessions"]
    flat = context(s, {"subject_id": sid, "task": "help with billing", "session_id": None})
    assert "###" not in flat["assembled_context"], flat["assembled_context"]


@test("83.9 only the newest 30 episodes are candidates (DESIGN.md)")
def _(s):
    sid = uid()
    old = [s.create(sid, payload={"text": "older message number %d here" % i})
           for i in range(5)]
    new = s.batch([episode(sid, payload={"text": "newer message number %d here" % i})
                   for i in range(30)])["episodes"]
    b = context(s, {"subject_id": sid, "task": "message", "max_tokens": 128000})
    got = b["provenance"]["episode_ids"]
    assert sorted(got) == sorted(e["id"] for e in new), "want exactly the 30 newest"
    assert not set(got) & {e["id"] for e in old}
    assert got == [e["id"] for e in new], "equal scores keep oldest-first insertion order"


@test("83.10 superseded memories never reach the bundle")
def _(s):
    sid = uid()
    for text in ("My name is Alice", "My name is Bob"):
        s.create(sid, payload={"text": text})
        assert s.post("/v1/memories/compile", {"subject_id": sid}).status == 200
    b = context(s, {"subject_id": sid, "task": "name"})
    facts = [m for m in b["facts"] if m["kind"] == "profile_fact"]
    assert [m["content"] for m in facts] == ["My name is Bob"], b["facts"]
    assert [m["status"] for m in b["facts"]] == ["active"] * len(b["facts"])
    assert b["assembled_context"].startswith(
        "## Task\nname\n\n## About this user\n- My name is Bob\n\n## Recent history\n"), \
        b["assembled_context"]


# --------------------------------------------------------------------------------------------
# validation and tenancy


@test("83.11 validation: 422 with details at the offending field")
def _(s):
    sid = uid()
    cases = [
        ({"task": "x"}, ["body", "subject_id"]),
        ({"subject_id": sid}, ["body", "task"]),
        ({"subject_id": "", "task": "x"}, ["body", "subject_id"]),
        ({"subject_id": "x" * 257, "task": "x"}, ["body", "subject_id"]),
        ({"subject_id": 5, "task": "x"}, ["body", "subject_id"]),
        ({"subject_id": sid, "task": ""}, ["body", "task"]),
        ({"subject_id": sid, "task": "x" * 4001}, ["body", "task"]),
        ({"subject_id": sid, "task": None}, ["body", "task"]),
        ({"subject_id": sid, "task": "x", "max_tokens": 0}, ["body", "max_tokens"]),
        ({"subject_id": sid, "task": "x", "max_tokens": 128001}, ["body", "max_tokens"]),
        ({"subject_id": sid, "task": "x", "max_tokens": -5}, ["body", "max_tokens"]),
        ({"subject_id": sid, "task": "x", "max_tokens": "many"}, ["body", "max_tokens"]),
        ({"subject_id": sid, "task": "x", "max_tokens": 1.5}, ["body", "max_tokens"]),
        ({"subject_id": sid, "task": "x", "session_id": "s" * 257}, ["body", "session_id"]),
        ({"subject_id": sid, "task": "x", "session_id": 7}, ["body", "session_id"]),
    ]
    for body, loc in cases:
        check_422(s.post("/v1/context", body), loc)
    check_422(s.post("/v1/context", [1, 2]))
    check_422(s.post("/v1/context", b"{not json", headers={"Content-Type": "application/json"}))
    check_422(s.post("/v1/context", None))
    two = s.post("/v1/context", {"task": ""})
    check_422(two, ["body", "subject_id"])
    check_422(two, ["body", "task"])


@test("83.12 accepted edges: lenient max_tokens, 128000, 4000-character task, null session, "
      "unknown fields ignored")
def _(s):
    sid = uid()
    for extra in ({"max_tokens": 128000}, {"max_tokens": "7"}, {"max_tokens": 7.0},
                  {"max_tokens": None}, {"session_id": None}, {"session_id": ""},
                  {"emit_receipt": False, "caller_id": "x", "query_id": 5}, {"unknown": [1]}):
        body = {"subject_id": sid, "task": "help"}
        body.update(extra)
        expect_header_only(context(s, body), sid, "help", 5)
    # with emit_receipt the SDK fields are still never a 422 (a receipt is stored, §5.4, and
    # the bundle gains receipt_id and receipt_emitted, tests/api/71-receipts.py)
    r = s.post("/v1/context", {"subject_id": sid, "task": "help", "emit_receipt": True,
                               "caller_id": "x", "query_id": 5})
    assert r.status == 200 and list(r.body)[:len(BUNDLE_KEYS)] == BUNDLE_KEYS, r
    assert r.body["receipt_emitted"] is True, r
    long = "t" * 4000
    assert context(s, {"subject_id": "s" * 256, "task": long})["task"] == long


@test("83.13 tenants are isolated (strict: no header is its own space)")
def _(s):
    ta, tb = uid("t"), uid("t")
    sid, _ = golden_subject(s, tenant=ta)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 500}, tenant=ta)
    assert b["assembled_context"] == GOLDEN_500
    expect_header_only(context(s, {"subject_id": sid, "task": TASK}, tenant=tb), sid, TASK, 11)
    expect_header_only(context(s, {"subject_id": sid, "task": TASK}), sid, TASK, 11)
    s.create(sid, tenant=tb, payload={"text": "a message from the other tenant"})
    other = context(s, {"subject_id": sid, "task": TASK}, tenant=tb)
    assert other["facts"] == [] and len(other["episodes"]) == 1, other


@test("83.14 STATEWAVE_DEFAULT_MAX_CONTEXT_TOKENS is the budget when max_tokens is absent",
      env={"STATEWAVE_DEFAULT_MAX_CONTEXT_TOKENS": "20"})
def _(s):
    sid, _ = golden_subject(s)
    expect_header_only(context(s, {"subject_id": sid, "task": TASK}), sid, TASK, 11)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 100})
    assert b["assembled_context"] == GOLDEN_100


# --------------------------------------------------------------------------------------------
# a semantic provider: a fake OpenAI-compatible /v1/embeddings endpoint with keyword vectors


def keyword_vector(text):
    """4 dimensions: billing words, name words, contact words, and a small constant."""
    t = text.lower()
    return [float(sum(w in t for w in ("refund", "invoice", "charge", "billing"))),
            float(sum(w in t for w in ("name", "alice"))),
            float(sum(w in t for w in ("email", "slack"))), 0.1]


class FakeEmbeddings(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        data = [{"object": "embedding", "index": i, "embedding": keyword_vector(t)}
                for i, t in enumerate(body["input"])]
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200 if self.path == "/v1/embeddings" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


FAKE = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeEmbeddings)
threading.Thread(target=FAKE.serve_forever, daemon=True).start()
SEMANTIC = {"STATEWAVE_EMBEDDING_PROVIDER": "openai", "STATEWAVE_EMBEDDING_DIMENSIONS": "4",
            "STATEWAVE_LITELLM_API_KEY": "test-key",
            "STATEWAVE_LITELLM_API_BASE": "http://127.0.0.1:%d/v1" % FAKE.server_address[1]}
UNREACHABLE = dict(SEMANTIC, STATEWAVE_LITELLM_API_BASE="http://127.0.0.1:1/v1",
                   STATEWAVE_LITELLM_MAX_RETRIES="0")


def refund_subject(s):
    """One old refund conversation, then 30 newer filler notes compiled in one batch: the
    refund summary is the 31st newest, outside the 30 summary candidates."""
    sid = uid()
    s.create(sid, payload={"text": "Please refund the double charge on my last invoice"})
    assert s.post("/v1/memories/compile", {"subject_id": sid}).status == 200
    s.batch([episode(sid, payload={"text": "filler note number %d about nothing" % i})
             for i in range(30)])
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] == 30, r
    refund = [m for m in s.timeline(sid)["memories"] if "refund" in m["content"]]
    assert len(refund) == 1, refund
    return sid, refund[0]["id"]


@test("83.15 semantic provider: the nearest memories join the candidates and their "
      "similarity is the relevance", env=SEMANTIC)
def _(s):
    sid, refund = refund_subject(s)
    b = context(s, {"subject_id": sid, "task": "invoice refund", "max_tokens": 60})
    ids = b["provenance"]["summary_ids"]
    assert ids and ids[0] == refund, b["provenance"]
    assert b["assembled_context"].startswith(
        "## Task\ninvoice refund\n\n## Recent history\n"
        "- Please refund the double charge on my last invoice\n"), b["assembled_context"]
    again = s.post("/v1/context", {"subject_id": sid, "task": "invoice refund",
                                   "max_tokens": 60})
    assert again.body == b


@test("83.16 stub provider: no semantic union, the 31st newest summary is no candidate")
def _(s):
    sid, refund = refund_subject(s)
    b = context(s, {"subject_id": sid, "task": "invoice refund", "max_tokens": 128000})
    assert refund not in b["provenance"]["summary_ids"], b["provenance"]
    assert len(b["provenance"]["summary_ids"]) == 30


@test("83.17 an unreachable semantic provider: context still answers (word overlap)",
      env=UNREACHABLE)
def _(s):
    sid, mems = golden_subject(s)
    b = context(s, {"subject_id": sid, "task": TASK, "max_tokens": 500})
    assert b["assembled_context"] == GOLDEN_500, b["assembled_context"]
    assert b["token_estimate"] == 183


if __name__ == "__main__":
    main()
