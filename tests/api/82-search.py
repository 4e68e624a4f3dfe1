"""82-search: GET /v1/memories/search (spec/api.md §3.5; behavior.md §9, §7.1, §7.5, §19.6;
DESIGN.md: limit < 1 is 422, q is literal, strict tenant isolation)."""

import hashlib
import http.server
import json
import math
import os
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, main, test, uid  # noqa: E402

MEMORY_KEYS = ["id", "subject_id", "kind", "content", "summary", "confidence", "valid_from",
               "valid_to", "source_episode_ids", "metadata", "status", "created_at",
               "updated_at"]
NONE = {"STATEWAVE_EMBEDDING_PROVIDER": "none"}


def say(s, sid, text, tenant=None):
    """Ingest one episode with payload text and compile the subject; returns the memories."""
    r = s.post("/v1/episodes", {"subject_id": sid, "source": "chat", "type": "message",
                                "payload": {"text": text}}, tenant=tenant)
    assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200, r
    return r.body["memories"]


def search(s, tenant=None, **query):
    r = s.get("/v1/memories/search", query=query, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["memories"], r
    for m in r.body["memories"]:
        assert list(m.keys()) == MEMORY_KEYS, m
        assert UUID_RE.match(m["id"]) and ZTS_RE.match(m["created_at"]), m
        assert m["status"] == "active", m
    return r.body["memories"]


def contents(mems):
    return [m["content"] for m in mems]


# --------------------------------------------------------------------------------------------
# validation


@test("82.1 subject_id is required and 1..256 code points: 422 at [query, subject_id]")
def _(s):
    check_422(s.get("/v1/memories/search"), ["query", "subject_id"])
    check_422(s.get("/v1/memories/search", query={"subject_id": ""}), ["query", "subject_id"])
    check_422(s.get("/v1/memories/search", query={"subject_id": "x" * 257}),
              ["query", "subject_id"])
    # 256 code points, unique so a shared database cannot hold memories for it
    assert search(s, subject_id="é" * 240 + uid()[:16].ljust(16, "x")) == []


@test("82.2 limit is 1..100 (0, 101, -1 and text are 422 at [query, limit]); lenient ints")
def _(s):
    sid = uid()
    for bad in ("0", "101", "-1", "abc", "1.5", ""):
        check_422(s.get("/v1/memories/search", query={"subject_id": sid, "limit": bad}),
                  ["query", "limit"])
    for good in ("1", "100", "5.0", " 7"):
        assert search(s, subject_id=sid, limit=good) == []


@test("82.3 semantic is a lenient boolean: yes/on/1/t pass, 'maybe' is 422")
def _(s):
    sid = uid()
    for good in ("true", "False", "yes", "on", "1", "t", "N", "off"):
        assert search(s, subject_id=sid, semantic=good, q="x") == []
    check_422(s.get("/v1/memories/search", query={"subject_id": sid, "semantic": "maybe"}),
              ["query", "semantic"])


# --------------------------------------------------------------------------------------------
# text path (§19.6)


@test("82.4 kind filters exactly (§19.6 Eve): 2 facts, 1 summary, no procedures")
def _(s):
    sid = uid()
    say(s, sid, "My name is Eve and I work at Stark Industries.")
    facts = search(s, subject_id=sid, kind="profile_fact")
    assert sorted(contents(facts)) == ["I work at Stark Industries", "My name is Eve"], facts
    assert [m["kind"] for m in search(s, subject_id=sid, kind="episode_summary")] == \
        ["episode_summary"]
    assert search(s, subject_id=sid, kind="procedure") == []
    assert search(s, subject_id=sid, kind="Profile_Fact") == []
    assert len(search(s, subject_id=sid, kind="")) == 3, "an empty kind counts as absent"


@test("82.5 q is a case-insensitive substring of content (§19.6 Frank)")
def _(s):
    sid = uid()
    say(s, sid, "My name is Frank and I work at Wayne Enterprises.")
    hits = search(s, subject_id=sid, q="Wayne")
    assert sorted(m["kind"] for m in hits) == ["episode_summary", "profile_fact"], hits
    assert "I work at Wayne Enterprises" in contents(hits)
    assert search(s, subject_id=sid, q="wayne") == hits
    assert search(s, subject_id=sid, q="WAYNE ENTERPRISES") == hits
    assert search(s, subject_id=sid, q="xyznonexistent") == []
    assert len(search(s, subject_id=sid, q="")) == 3, "an empty q counts as absent"
    assert len(search(s, subject_id=sid, query="xyznonexistent")) == 3, "query= is ignored"


@test("82.6 q is literal: % and _ are not wildcards")
def _(s):
    sid = uid()
    say(s, sid, "My name is Grace and the rate is 100% of plan_a.")
    assert search(s, subject_id=sid, q="W%e") == []
    assert search(s, subject_id=sid, q="%") != [] and search(s, subject_id=sid, q="100%") != []
    assert search(s, subject_id=sid, q="G_ace") == []
    assert search(s, subject_id=sid, q="PLAN_A") != []
    assert search(s, subject_id=sid, q="plan_b") == []


@test("82.7 text results are newest first and limited")
def _(s):
    sid = uid()
    first = say(s, sid, "first note about the weather")
    second = say(s, sid, "second note about the weather")
    third = say(s, sid, "third note about the weather")
    got = search(s, subject_id=sid, q="NOTE")
    assert [m["id"] for m in got] == [third[0]["id"], second[0]["id"], first[0]["id"]], got
    assert [m["id"] for m in search(s, subject_id=sid, q="note", limit=2)] == \
        [third[0]["id"], second[0]["id"]]
    assert [m["id"] for m in search(s, subject_id=sid, limit=1)] == [third[0]["id"]]


@test("82.8 superseded memories are not returned")
def _(s):
    sid = uid()
    alice = say(s, sid, "My name is Alice")
    bob = say(s, sid, "My name is Bob")
    old = [m for m in alice if m["kind"] == "profile_fact"][0]
    facts = search(s, subject_id=sid, kind="profile_fact")
    assert contents(facts) == ["My name is Bob"], facts
    assert old["id"] not in [m["id"] for m in search(s, subject_id=sid, limit=100)]
    assert old["id"] not in [m["id"] for m in search(s, subject_id=sid, q="alice",
                                                     semantic="true")]
    assert [m for m in bob if m["kind"] == "profile_fact"][0]["id"] == facts[0]["id"]


@test("82.9 tenants are isolated (strict: no header sees only the no-tenant space)")
def _(s):
    sid, ta, tb = uid(), uid("t"), uid("t")
    say(s, sid, "My name is Heidi", tenant=ta)
    assert len(search(s, tenant=ta, subject_id=sid)) == 2
    assert search(s, tenant=tb, subject_id=sid) == []
    assert search(s, subject_id=sid) == []
    assert search(s, tenant=tb, subject_id=sid, q="heidi", semantic="true") == []
    say(s, sid, "My name is Ivan", tenant=tb)
    assert contents(search(s, tenant=tb, subject_id=sid, kind="profile_fact")) == \
        ["My name is Ivan"]
    assert contents(search(s, tenant=ta, subject_id=sid, kind="profile_fact")) == \
        ["My name is Heidi"]


@test("82.10 unknown and reserved subjects give an empty list")
def _(s):
    assert search(s, subject_id=uid()) == []
    assert search(s, subject_id="_snapshot/%s/v1" % uid(), q="x", semantic="true") == []
    assert search(s, subject_id="_bootstrap_tmp/%s" % uid()) == []


# --------------------------------------------------------------------------------------------
# semantic path (stub provider by default; `none` falls back to text)


def stub(text, d=1536):
    """behavior.md §7.1, rounded to float32 as stored."""
    seed, out, counter = text.encode("utf-8"), [], 0
    while len(out) < d:
        digest = hashlib.sha512(seed + counter.to_bytes(4, "big")).digest()
        for k in range(16):
            if len(out) == d:
                break
            out.append(int.from_bytes(digest[4 * k:4 * k + 4], "big") / 2147483647.5 - 1.0)
        counter += 1
    norm = math.sqrt(sum(x * x for x in out))
    out = [x / norm for x in out] if norm > 0 else out
    return [struct.unpack("f", struct.pack("f", x))[0] for x in out]


def distance(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 1.0 - (dot / (na * nb) if na and nb else 0.0)


def expected_semantic(s, sid, q, kind=None, limit=20):
    """The active memories in list order (created_at, insertion), stably sorted by the stub
    distance to q."""
    active = [m for m in s.timeline(sid)["memories"] if m["status"] == "active" and
              (kind is None or m["kind"] == kind)]
    qv = stub(q)
    ranked = sorted(active, key=lambda m: distance(qv, stub(m["content"])))
    return [m["id"] for m in ranked][:limit]


@test("82.11 semantic=true with the stub provider: every active memory with an embedding, "
      "in stub cosine order, deterministic; kind and limit still apply")
def _(s):
    sid = uid()
    say(s, sid, "My name is Judy and I work at Initech. I am on the Pro plan.")
    say(s, sid, "I prefer tea over coffee.")
    want = expected_semantic(s, sid, "where does she work")
    assert len(want) >= 6, want
    got = search(s, subject_id=sid, q="where does she work", semantic="true")
    assert [m["id"] for m in got] == want, (contents(got), want)
    again = s.get("/v1/memories/search", query={"subject_id": sid, "q": "where does she work",
                                                "semantic": "true"})
    assert again.body["memories"] == got
    facts = search(s, subject_id=sid, q="where does she work", semantic="1",
                   kind="profile_fact")
    assert [m["id"] for m in facts] == expected_semantic(s, sid, "where does she work",
                                                         kind="profile_fact")
    top2 = search(s, subject_id=sid, q="where does she work", semantic="yes", limit=2)
    assert [m["id"] for m in top2] == want[:2]
    assert search(s, subject_id=sid, q="zz", semantic="true", kind="procedure") == [], \
        "an empty semantic result is returned as is"


@test("82.12 semantic=true with an empty q takes the text path (newest first)")
def _(s):
    sid = uid()
    a = say(s, sid, "alpha note")
    b = say(s, sid, "beta note")
    got = search(s, subject_id=sid, semantic="true")
    assert [m["id"] for m in got] == [b[0]["id"], a[0]["id"]], got


@test("82.13 provider none: semantic=true falls back to the text path", env=NONE)
def _(s):
    sid = uid()
    say(s, sid, "My name is Frank and I work at Wayne Enterprises.")
    say(s, sid, "Something else entirely")
    got = search(s, subject_id=sid, q="wayne", semantic="true")
    assert sorted(m["kind"] for m in got) == ["episode_summary", "profile_fact"], got
    assert search(s, subject_id=sid, q="wayne") == got
    assert search(s, subject_id=sid, q="xyznonexistent", semantic="true") == []


# --------------------------------------------------------------------------------------------
# a semantic provider: a fake OpenAI-compatible /v1/embeddings endpoint with keyword vectors


def keyword_vector(text):
    t = text.lower()
    return [float("refund" in t or "invoice" in t), float("name" in t),
            float("tea" in t or "coffee" in t), 0.1]


class FakeEmbeddings(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        data = [{"object": "embedding", "index": i, "embedding": keyword_vector(t)}
                for i, t in enumerate(body["input"])]
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
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


@test("82.14 semantic provider: nearest first by cosine distance, ties in list order",
      env=SEMANTIC)
def _(s):
    sid = uid()
    tea = say(s, sid, "I prefer tea over coffee.")
    name = say(s, sid, "My name is Karl")
    refund = say(s, sid, "Please refund my invoice")
    got = search(s, subject_id=sid, q="invoice", semantic="true")
    assert [m["id"] for m in got][0] == refund[0]["id"], contents(got)
    # the rest are equally far from [1,0,0,.1]: list order (oldest first)
    rest = [m["id"] for m in tea + name]
    assert [m["id"] for m in got][1:] == rest, (contents(got), rest)
    facts = search(s, subject_id=sid, q="coffee", semantic="true", kind="profile_fact")
    want = [m["id"] for m in tea + name if m["kind"] == "profile_fact"]
    assert len(want) == 2 and [m["id"] for m in facts] == want, contents(facts)


@test("82.15 an unreachable provider: semantic search falls back to the text path",
      env=UNREACHABLE)
def _(s):
    sid = uid()
    say(s, sid, "My name is Frank and I work at Wayne Enterprises.")
    got = search(s, subject_id=sid, q="wayne", semantic="true")
    assert sorted(m["kind"] for m in got) == ["episode_summary", "profile_fact"], got
    assert search(s, subject_id=sid, q="wayne") == got


if __name__ == "__main__":
    main()
