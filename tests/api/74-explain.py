"""74-explain: Engram's `explain` on POST /v1/context (spec/api.md §11): per selected item the
terms of its score (behavior.md §10.3; checked against the §19.2 golden table), scores that
add up and reproduce the ranking order, and why every other candidate of the subject was left
out (budget, filtered, superseded, limit). Without explain the response bytes are exactly
those of a request that never heard of it."""

import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, episode, main, test, uid  # noqa: E402

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
MEMORY_TERMS = ["kind", "recency", "relevance", "temporal", "breadcrumb"]


def chat(user, assistant):
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": assistant}]}


def golden_subject(s):
    """behavior.md §19.2's four episodes in one batch (one created_at: recency 5 for all)."""
    sid = uid()
    r = s.post("/v1/episodes/batch", {"episodes": [
        episode(sid, source="support-chat", type="conversation", payload=chat(u, a))
        for u, a in GOLDEN]})
    assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] == 8, r
    return sid, r.body["memories"], [e["id"] for e in s.get(
        "/v1/timeline", query={"subject_id": sid}).body["episodes"]]


def explain(s, body, tenant=None):
    r = s.post("/v1/context", dict(body, explain=True), tenant=tenant)
    assert r.status == 200, r
    x = r.body["explanation"]
    assert list(x.keys()) == ["selected", "dropped"], x
    return r.body, x


def close(a, b):
    return abs(a - b) < 1e-9


@test("74.1 without explain the bytes are unchanged; with it, explanation is only appended")
def _(s):
    sid, _, _ = golden_subject(s)
    body = {"subject_id": sid, "task": TASK, "max_tokens": 100}
    plain = s.post("/v1/context", body)
    assert plain.status == 200 and "explanation" not in plain.body
    for extra in ({"explain": False}, {"explain": None}, {"explain": "no"}, {"explain": 0}):
        r = s.post("/v1/context", dict(body, **extra))
        assert r.raw == plain.raw, (extra, r.raw, plain.raw)
    r = s.post("/v1/context", dict(body, explain=True))
    tail = b',"explanation":' + json.dumps(r.body["explanation"], separators=(",", ":"),
                                           ensure_ascii=False).encode() + b"}"
    assert r.raw == plain.raw[:-1] + tail, (r.raw, plain.raw)
    check_422(s.post("/v1/context", dict(body, explain="perhaps")), ["body", "explain"])


@test("74.2 the terms are §19.2's, they add up to the score, and the scores reproduce the "
      "ranking order")
def _(s):
    sid, mems, _ = golden_subject(s)
    b, x = explain(s, {"subject_id": sid, "task": TASK, "max_tokens": 500})
    by_id = {m["id"]: m for m in mems}
    sel = x["selected"]
    assert [i["id"] for i in sel] == [m["id"] for m in b["facts"]], (sel, b["facts"])
    scores = [i["score"] for i in sel]
    assert scores == sorted(scores, reverse=True), scores
    for item in sel:
        assert list(item.keys()) == ["id", "type", "score", "components"], item
        assert item["type"] == "memory" and list(item["components"]) == MEMORY_TERMS, item
        c = item["components"]
        assert close(sum(c.values()), item["score"]), item
        m = by_id[item["id"]]
        assert c["kind"] == (10.0 if m["kind"] == "profile_fact" else 5.0), item
        assert c["recency"] == 5.0 and c["temporal"] == 3.0 and c["breadcrumb"] == 0.0, item
    # the golden table: F Alice 18.714, three facts 18.0, S3 14.429, S1/S2 13.714, S4 13.0
    want = [10 + 5 + 5 / 7 + 3, 18.0, 18.0, 18.0, 5 + 5 + 10 / 7 + 3, 5 + 5 + 5 / 7 + 3,
            5 + 5 + 5 / 7 + 3, 13.0]
    assert all(close(a, w) for a, w in zip(scores, want)) and len(scores) == 8, scores
    assert by_id[sel[0]["id"]]["content"] == FACTS[0]
    assert close(sel[0]["components"]["relevance"], 5 / 7), sel[0]


@test("74.3 dropped: budget for ranked items that did not fit, filtered for episodes the "
      "summaries cover")
def _(s):
    sid, mems, eps = golden_subject(s)
    b, x = explain(s, {"subject_id": sid, "task": TASK, "max_tokens": 100})
    assert len(x["selected"]) == 5, x
    budget = [d for d in x["dropped"] if d["reason"] == "budget"]
    summaries = {m["content"]: m["id"] for m in mems if m["kind"] == "episode_summary"}
    s1, s2, s4 = (summaries["\n".join("%s: %s" % r for r in zip(("user", "assistant"), g))]
                  for g in (GOLDEN[0], GOLDEN[1], GOLDEN[3]))
    assert [d["id"] for d in budget] == [s1, s2, s4], (budget, s1, s2, s4)
    assert all(d["type"] == "memory" and list(d.keys()) == ["id", "type", "reason"]
               for d in budget), budget
    filtered = sorted(d["id"] for d in x["dropped"] if d["reason"] == "filtered")
    assert filtered == sorted(eps) and len(x["dropped"]) == 7, x["dropped"]


@test("74.4 dropped: superseded for a replaced fact, limit past the newest 30 episodes; as_of "
      "explains the past")
def _(s):
    sid = uid()

    def say(text):
        assert s.post("/v1/episodes", episode(sid, payload={"text": text})).status == 201
        return s.post("/v1/memories/compile", {"subject_id": sid}).body["memories"]

    old = [m for m in say("My name is Alice Chen.") if m["kind"] == "profile_fact"][0]
    time.sleep(0.02)
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.02)
    say("My name is Alice Smith.")
    _, x = explain(s, {"subject_id": sid, "task": "name"})
    reasons = {d["id"]: d["reason"] for d in x["dropped"]}
    assert reasons.get(old["id"]) == "superseded", x
    _, then = explain(s, {"subject_id": sid, "task": "name", "as_of": t})
    assert old["id"] in [i["id"] for i in then["selected"]], then
    assert all(d["reason"] != "superseded" for d in then["dropped"]), then
    # 32 raw episodes: the two oldest are beyond the newest-30 pool
    sid2, raw = uid(), []
    for i in range(32):
        r = s.post("/v1/episodes", episode(sid2, payload={"text": "note number %d" % i}))
        raw.append(r.body["id"])
    _, x = explain(s, {"subject_id": sid2, "task": "note", "max_tokens": 128000})
    limit = [d["id"] for d in x["dropped"] if d["reason"] == "limit"]
    assert sorted(limit) == sorted(raw[:2]), (limit, raw[:2])
    sel = [i for i in x["selected"] if i["type"] == "episode"]
    assert len(sel) == 30 and all(close(sum(i["components"].values()), i["score"])
                                  for i in sel), sel
    assert all(list(i["components"])[:3] == ["base", "recency", "relevance"] for i in sel), sel


@test("74.5 explain and emit_receipt together: the receipt ranks what explanation selects")
def _(s):
    sid, _, _ = golden_subject(s)
    b, x = explain(s, {"subject_id": sid, "task": TASK, "emit_receipt": True})
    rc = s.get("/v1/receipts/" + b["receipt_id"]).body
    assert [e["memory_id"] for e in rc["selected_entries"]] == [i["id"] for i in x["selected"]]
    assert [e["score"] for e in rc["selected_entries"]] == [i["score"] for i in x["selected"]]
    assert list(b.keys())[-3:] == ["receipt_id", "receipt_emitted", "explanation"], list(b)


if __name__ == "__main__":
    main()
