"""63-search-modes: GET /v1/memories/search?mode= (an Engram extension, spec/api.md §11; issue
18): text (the reference's substring search), bm25 (ranked full text), semantic
(= semantic=true) and hybrid (reciprocal rank fusion, k = 60); anything else is 422."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, main, test, uid  # noqa: E402

NONE = {"STATEWAVE_EMBEDDING_PROVIDER": "none"}


def say(s, sid, text):
    """One episode compiled; returns its episode_summary memory (content = the text)."""
    r = s.post("/v1/episodes", {"subject_id": sid, "source": "chat", "type": "message",
                                "payload": {"text": text}})
    assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200, r
    summary = [m for m in r.body["memories"] if m["kind"] == "episode_summary"]
    assert len(summary) == 1, r.body
    return summary[0]


def search(s, **query):
    r = s.get("/v1/memories/search", query=query)
    assert r.status == 200, r
    for m in r.body["memories"]:
        assert m["status"] == "active", m
    return r.body["memories"]


def ids(mems):
    return [m["id"] for m in mems]


@test("63.1 mode is text, bm25, semantic or hybrid; anything else is 422 at [query, mode]")
def _(s):
    sid = uid()
    for bad in ("fuzzy", "", "BM25", "Text", "vector"):
        item = check_422(s.get("/v1/memories/search",
                               query={"subject_id": sid, "q": "x", "mode": bad}),
                         ["query", "mode"], input_is=bad)
        assert item["type"] == "literal_error", item
        assert item["ctx"]["expected"] == "'text', 'bm25', 'semantic' or 'hybrid'", item
    for good in ("text", "bm25", "semantic", "hybrid"):
        assert search(s, subject_id=sid, q="x", mode=good) == []
        assert search(s, subject_id=sid, mode=good) == []


@test("63.2 mode=text is the default substring search; mode=semantic is semantic=true")
def _(s):
    sid = uid()
    say(s, sid, "My name is Heidi and I work at Umbrella.")
    say(s, sid, "I work at Umbrella on Tuesdays.")
    assert search(s, subject_id=sid, q="umbrella", mode="text") == \
        search(s, subject_id=sid, q="umbrella")
    assert search(s, subject_id=sid, q="umbrella", mode="text", semantic="true") == \
        search(s, subject_id=sid, q="umbrella"), "an explicit mode wins over semantic=true"
    assert search(s, subject_id=sid, q="where", mode="semantic") == \
        search(s, subject_id=sid, q="where", semantic="true")
    everything = search(s, subject_id=sid)
    for mode in ("bm25", "hybrid", "semantic"):
        assert search(s, subject_id=sid, mode=mode) == everything, \
            "no q: every mode lists the newest, as text does"


@test("63.3 mode=bm25: a memory holding every query word ranks above one holding some, "
      "whatever its word counts; words, not substrings; case-insensitive; limit applies")
def _(s):
    sid = uid()
    one = say(s, sid, "zebra zebra zebra zebra zebra zebra on the river")
    three = say(s, sid, "the zebra met a quokka near the heron lake")
    two = say(s, sid, "a quokka and a zebra")
    none = say(s, sid, "nothing about animals here")
    sub = say(s, sid, "zebras and quokkas are plural here")
    got = search(s, subject_id=sid, q="Zebra QUOKKA heron", mode="bm25", kind="episode_summary")
    assert ids(got) == [three["id"], two["id"], one["id"]], [m["content"] for m in got]
    assert none["id"] not in ids(got) and sub["id"] not in ids(got), "whole words only"
    assert ids(search(s, subject_id=sid, q="zebra quokka heron", mode="bm25",
                      kind="episode_summary", limit=2)) == [three["id"], two["id"]]
    assert ids(search(s, subject_id=sid, q="heron, zebra!  (quokka)", mode="bm25",
                      kind="episode_summary")) == ids(got), "punctuation separates words"
    assert search(s, subject_id=sid, q="%%% ---", mode="bm25") == [], "no word: no match"
    assert search(s, subject_id=sid, q="zebra", mode="bm25", kind="procedure") == []


@test("63.4 mode=bm25 reads active memories of the subject only")
def _(s):
    sid, other = uid(), uid()
    say(s, other, "my favourite colour is teal")
    first = say(s, sid, "my favourite colour is teal")
    assert ids(search(s, subject_id=sid, q="teal", mode="bm25", kind="episode_summary")) == \
        [first["id"]]
    r = s.delete("/v1/subjects/" + sid)
    assert r.status == 200, r
    assert search(s, subject_id=sid, q="teal", mode="bm25") == []


def rrf(lists, k=60):
    """Reciprocal rank fusion as the extension defines it: score desc, then best single rank,
    then presence in the first (BM25) list, then id."""
    score, best, lex = {}, {}, set()
    for li, lst in enumerate(lists):
        for r, i in enumerate(lst, 1):
            score[i] = score.get(i, 0.0) + 1.0 / (k + r)
            best[i] = min(best.get(i, r), r)
            if li == 0:
                lex.add(i)
    return sorted(score, key=lambda i: (-score[i], best[i], i not in lex, i))


@test("63.5 mode=hybrid fuses the BM25 list and the vector list by reciprocal rank (k = 60)")
def _(s):
    sid = uid()
    texts = ["the harbour lights at dusk", "dusk falls on the harbour", "lights out at nine",
             "a quiet harbour town", "nine lights and a harbour at dusk", "unrelated words"]
    for t in texts:
        say(s, sid, t)
    q = "harbour lights dusk"
    lex = ids(search(s, subject_id=sid, q=q, mode="bm25", limit=100))
    vec = ids(search(s, subject_id=sid, q=q, mode="semantic", limit=100))
    assert len(lex) >= 5 and len(vec) == len(search(s, subject_id=sid, limit=100)), (lex, vec)
    want = rrf([lex, vec])
    for limit in (3, 20):
        got = ids(search(s, subject_id=sid, q=q, mode="hybrid", limit=limit))
        assert got == want[:limit], (got, want)
    assert ids(search(s, subject_id=sid, q=q, mode="hybrid")) == want[:20], "deterministic"


@test("63.6 mode=hybrid without an embedding provider is the BM25 list", env=NONE)
def _(s):
    sid = uid()
    for t in ("red kite over the moor", "a red door", "kite festival", "moor walk"):
        say(s, sid, t)
    lex = ids(search(s, subject_id=sid, q="red kite", mode="bm25"))
    assert len(lex) >= 3
    assert ids(search(s, subject_id=sid, q="red kite", mode="hybrid")) == lex


if __name__ == "__main__":
    main(__file__)
