"""10-episodes: POST /v1/episodes (spec/api.md §2, §3.1, §1.1, §8; behavior.md §2, §3;
data-model.md §1.2 for the Engram idempotency key)."""

import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, check_error, episode, main, test, uid  # noqa: E402

# occurred_at: Engram's extension (spec/api.md §11), on every Episode, null when not sent.
EPISODE_KEYS = ["id", "subject_id", "source", "type", "payload", "metadata", "provenance",
                "session_id", "created_at", "occurred_at"]


def parse_z(ts):
    assert ZTS_RE.match(ts), "timestamp %r is not Z form (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)" % ts
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in ts else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(ts, fmt).replace(tzinfo=datetime.timezone.utc)


def check_episode(e, body):
    """e is a returned Episode for the request body `body`."""
    assert isinstance(e, dict), e
    assert list(e.keys()) == EPISODE_KEYS, "Episode keys %r, want %r" % (list(e.keys()), EPISODE_KEYS)
    assert UUID_RE.match(e["id"]), "id %r is not a lowercase UUIDv4" % e["id"]
    for k in ("subject_id", "source", "type", "payload"):
        assert e[k] == body[k], "%s: got %r, sent %r" % (k, e[k], body[k])
    assert e["metadata"] == body.get("metadata", {}), e
    assert e["provenance"] == body.get("provenance", {}), e
    assert e["session_id"] == body.get("session_id"), e
    if body.get("occurred_at") is None:
        assert e["occurred_at"] is None, e
    created = parse_z(e["created_at"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - created).total_seconds()) < 300, "created_at %s is not now" % e["created_at"]


def post_ok(s, body, tenant=None):
    r = s.post("/v1/episodes", body, tenant=tenant)
    assert r.status == 201, "want 201: %r" % (r,)
    check_episode(r.body, body)
    return r.body


def post_422(s, body, loc, input_is=Ellipsis, subject=None):
    """POST an invalid body; 422 with a details item at loc; nothing written for subject."""
    r = s.post("/v1/episodes", body)
    check_422(r, loc, input_is)
    if subject is not None:
        assert s.episode_count(subject) == 0, "a 422 wrote an episode for %r" % subject
    return r


# -- success shapes ----------------------------------------------------------------------------

@test("10.1 minimal episode: 201, exact Episode keys in order, defaults")
def _(s):
    body = episode(uid())
    e = post_ok(s, body)
    assert e["metadata"] == {} and e["provenance"] == {} and e["session_id"] is None, e
    assert "tenant_id" not in e and "last_compiled_at" not in e, e


@test("10.2 201 response is JSON with X-Request-ID")
def _(s):
    r = s.post("/v1/episodes", episode(uid()))
    assert r.status == 201, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.headers.get("x-request-id"), r.headers


@test("10.3 every field round-trips verbatim (payload, metadata, provenance, session_id)")
def _(s):
    body = episode(uid(), source="support-widget", type="conversation", session_id="sess-1",
                   payload={"messages": [{"role": "user", "content": "Hi, my name is Ada."}],
                            "n": 1.5, "big": 12345678901234, "neg": -7, "flags": [True, False, None],
                            "nested": {"a": {"b": [], "c": {}}}, "empty": ""},
                   metadata={"channel": "web", "score": 0.25, "tags": ["a", "b"]},
                   provenance={"agent": "bot-1", "trace": {"span": 3}})
    e = post_ok(s, body)
    tl = s.timeline(body["subject_id"])
    assert tl["episodes"] == [e], "timeline episode differs from the POST response: %r" % (tl,)


@test("10.4 unicode round trip; non-ASCII written raw, not \\u-escaped")
def _(s):
    sid = uid("ünï") + "-日本"
    payload = {"text": "Grüße, 世界! 😀 «quotes» \"dq\" back\\slash\ttab\nnewline",
               "ключ": "значение", "ctl": "\u0001\u001f\u007f\u2028\u2029 / </script>"}
    body = episode(sid, payload=payload, metadata={"émoji": "🎉"}, source="sœurce",
                   session_id="séance")
    r = s.post("/v1/episodes", body)
    assert r.status == 201, r
    check_episode(r.body, body)
    assert "😀".encode() in r.raw and "世界".encode() in r.raw, "non-ASCII must be raw UTF-8: %r" % r.raw
    assert b"\\u00e9" not in r.raw.lower() and b"\\ud83d" not in r.raw.lower(), \
        "non-ASCII must not be \\u-escaped: %r" % r.raw
    # \u escapes in the request decode to the same characters
    esc = json.dumps(episode(sid, payload={"text": "é😀"}), ensure_ascii=True).encode()
    r = s.post("/v1/episodes", esc, headers={"Content-Type": "application/json"})
    assert r.status == 201 and r.body["payload"] == {"text": "é😀"}, r
    tl = s.timeline(sid)
    assert [x["payload"] for x in tl["episodes"]] == [payload, {"text": "é😀"}], tl


@test("10.5 each POST creates a new episode with a new id; created_at non-decreasing")
def _(s):
    sid = uid()
    a = post_ok(s, episode(sid))
    b = post_ok(s, episode(sid))
    assert a["id"] != b["id"], (a, b)
    assert parse_z(a["created_at"]) <= parse_z(b["created_at"]), (a, b)
    assert [x["id"] for x in s.timeline(sid)["episodes"]] == [a["id"], b["id"]]


@test("10.6 unknown body fields are ignored and never echoed")
def _(s):
    body = episode(uid(), occurred_at="2024-01-01T00:00:00Z", emit_receipt=True, foo={"x": 1},
                   tenant_id="evil", id="00000000-0000-4000-8000-000000000000",
                   created_at="2000-01-01T00:00:00Z", last_compiled_at=None)
    r = s.post("/v1/episodes", body)
    assert r.status == 201, r
    check_episode(r.body, body)
    assert r.body["id"] != body["id"], "client-supplied id must be ignored"
    assert not r.body["created_at"].startswith("2000-"), "client-supplied created_at must be ignored"
    assert s.episode_count(body["subject_id"]) == 1
    assert s.episode_count(body["subject_id"], tenant="evil") == 0, "body tenant_id must be ignored"


@test("10.7 limits count code points: 256 × 'é' and 256 × '😀' are valid subject ids")
def _(s):
    for ch in ("é", "😀"):
        sid = ch * 240 + uid("")[1:]  # 240 + 16 random hex = 256 code points
        assert len(sid) == 256
        post_ok(s, episode(sid))
        assert s.episode_count(sid) == 1


@test("10.8 boundary lengths are accepted: subject/source 256, type 128, session 256")
def _(s):
    sid = uid() + "a" * (256 - len(uid()))
    assert len(sid) == 256
    post_ok(s, episode(sid, source="s" * 256, type="t" * 128, session_id="q" * 256))


@test("10.9 nothing is trimmed: ' ' satisfies min length 1; session_id '' is valid")
def _(s):
    post_ok(s, episode(uid(), source=" ", type=" "))
    post_ok(s, episode(uid(), session_id=""))
    post_ok(s, episode(uid(), session_id=None))


@test("10.10 empty objects are valid for payload, metadata and provenance")
def _(s):
    post_ok(s, episode(uid(), payload={}, metadata={}, provenance={}))


@test("10.11 nothing is trimmed: spaces, tabs and newlines in ids are kept exactly")
def _(s):
    sid = "  " + uid() + " \t\n "
    e = post_ok(s, episode(sid, source=" chat ", type="\tmsg\n", session_id=" s "))
    assert e["subject_id"] == sid
    assert s.episode_count(sid) == 1
    assert s.episode_count(sid.strip()) == 0, "ids must not be trimmed"


@test("10.12 payload numbers round-trip by value: floats, negative, exponent, int64 edges")
def _(s):
    payload = {"f": 0.1, "g": 1.0, "e": 1e-7, "neg": -0.5, "i": 9007199254740993,
               "max": 9223372036854775807, "min": -9223372036854775808, "zero": 0}
    e = post_ok(s, episode(uid(), payload=payload))
    for k, v in payload.items():
        assert e["payload"][k] == v and type(e["payload"][k]) is type(v), \
            "%s: sent %r, got %r" % (k, v, e["payload"][k])


@test("10.13 a 1000-key payload and a 300-deep nesting round-trip")
def _(s):
    wide = {"k%04d" % i: i for i in range(1000)}
    post_ok(s, episode(uid(), payload=wide))
    deep = {}
    cur = deep
    for _ in range(300):
        cur["d"] = {}
        cur = cur["d"]
    post_ok(s, episode(uid(), payload=deep))


@test("10.14 large-magnitude floats (1e20, 1.5e300) round-trip; nothing else is lost")
def _(s):
    for big in (1e20, 1.5e300, -2.5e25):
        sid = uid()
        payload = {"big": big, "text": "keep me"}
        e = post_ok(s, episode(sid, payload=payload, metadata={"m": big}))
        tl = s.timeline(sid)["episodes"]
        assert tl and tl[0]["payload"] == payload and tl[0]["metadata"] == {"m": big}, \
            "stored %r, read back %r" % (payload, tl[0]["payload"] if tl else None)


@test("10.15 integers beyond 64 bits are valid JSON and round-trip by value")
def _(s):
    sid = uid()
    raw = ('{"subject_id":"%s","source":"a","type":"b","payload":{"n":18446744073709551616,'
           '"m":-123456789012345678901234567890}}' % sid).encode()
    r = s.post("/v1/episodes", raw, headers={"Content-Type": "application/json"})
    assert r.status == 201, r
    assert r.body["payload"] == {"n": 18446744073709551616, "m": -123456789012345678901234567890}, r
    assert s.timeline(sid)["episodes"][0]["payload"] == r.body["payload"]


# -- validation (§3.1, behavior.md §2) ---------------------------------------------------------

@test("10.20 each missing required field is 422 with loc [body, field]")
def _(s):
    for f in ("subject_id", "source", "type", "payload"):
        sid = uid()
        body = episode(sid)
        del body[f]
        post_422(s, body, ["body", f], input_is=body, subject=sid if f != "subject_id" else None)


@test("10.21 an empty object is 422 naming all four required fields")
def _(s):
    r = s.post("/v1/episodes", {})
    check_422(r)
    locs = [d["loc"] for d in r.body["error"]["details"]]
    for f in ("subject_id", "source", "type", "payload"):
        assert ["body", f] in locs, "no details item for %s: %r" % (f, locs)


@test("10.22 numbers, booleans, arrays and objects are rejected for string fields")
def _(s):
    for f in ("subject_id", "source", "type", "session_id"):
        for bad in (123, 1.5, True, ["a"], {"a": 1}):
            sid = uid()
            body = episode(sid, **{f: bad})
            post_422(s, body, ["body", f], input_is=bad, subject=sid if f != "subject_id" else None)


@test("10.23 null is rejected for subject_id, source and type")
def _(s):
    for f in ("subject_id", "source", "type"):
        sid = uid()
        post_422(s, episode(sid, **{f: None}), ["body", f],
                 subject=sid if f != "subject_id" else None)


@test("10.24 payload must be an object: array, string, number, null are 422")
def _(s):
    for bad in ([], [{"text": "x"}], "text", 5, True, None):
        sid = uid()
        post_422(s, episode(sid, payload=bad), ["body", "payload"], input_is=bad, subject=sid)


@test("10.25 metadata and provenance must be objects; null is 422")
def _(s):
    for f in ("metadata", "provenance"):
        for bad in (None, [], "x", 1):
            sid = uid()
            post_422(s, episode(sid, **{f: bad}), ["body", f], input_is=bad, subject=sid)


@test("10.26 empty strings are 422 for subject_id, source and type")
def _(s):
    for f in ("subject_id", "source", "type"):
        sid = uid()
        post_422(s, episode(sid, **{f: ""}), ["body", f], input_is="",
                 subject=sid if f != "subject_id" else None)


@test("10.27 too long: subject_id 257, source 257, type 129, session_id 257")
def _(s):
    sid = uid()
    post_422(s, episode("a" * 257), ["body", "subject_id"], input_is="a" * 257)
    post_422(s, episode(sid, source="s" * 257), ["body", "source"], subject=sid)
    post_422(s, episode(sid, type="t" * 129), ["body", "type"], subject=sid)
    post_422(s, episode(sid, session_id="q" * 257), ["body", "session_id"], subject=sid)


@test("10.28 code points, not bytes: 257 × 'é' is too long; 129 × 'ü' type too long")
def _(s):
    post_422(s, episode("é" * 257), ["body", "subject_id"])
    sid = uid()
    post_422(s, episode(sid, type="ü" * 129), ["body", "type"], subject=sid)
    post_ok(s, episode(sid, type="ü" * 128))


@test("10.29 several bad fields are all reported")
def _(s):
    sid = uid()
    r = s.post("/v1/episodes", {"subject_id": sid, "source": "", "type": 5, "payload": []})
    check_422(r)
    locs = [d["loc"] for d in r.body["error"]["details"]]
    for f in ("source", "type", "payload"):
        assert ["body", f] in locs, "no details item for %s: %r" % (f, locs)
    assert s.episode_count(sid) == 0


@test("10.30 validation (422) runs before the reserved-prefix check (400)")
def _(s):
    r = s.post("/v1/episodes", {"subject_id": "_snapshot/x/v1", "source": "", "type": "t",
                                "payload": {}})
    check_422(r, ["body", "source"])


# -- idempotency (§8, data-model.md §1.2: ENG de-dups on tenant+subject+key) -------------------

@test("10.40 same idempotency_key + subject: 201 with the original episode, one row")
def _(s):
    sid, key = uid(), uid("k")
    a = post_ok(s, episode(sid, idempotency_key=key, payload={"text": "first"}))
    r = s.post("/v1/episodes", episode(sid, idempotency_key=key, payload={"text": "second"}))
    assert r.status == 201, r
    assert r.body["id"] == a["id"], "a repeated key must return the original id: %r" % (r,)
    assert list(r.body.keys()) == list(a.keys()), r
    assert "idempotency_key" not in r.body, r
    tl = s.timeline(sid)
    assert [e["id"] for e in tl["episodes"]] == [a["id"]], "a second row was written: %r" % (tl,)
    assert tl["episodes"][0]["payload"] == {"text": "first"}, tl


@test("10.41 same key, different subject: a new episode")
def _(s):
    key = uid("k")
    s1, s2 = uid(), uid()
    a = post_ok(s, episode(s1, idempotency_key=key))
    b = post_ok(s, episode(s2, idempotency_key=key))
    assert a["id"] != b["id"], (a, b)
    assert s.episode_count(s1) == 1 and s.episode_count(s2) == 1


@test("10.42 same key and subject under another tenant (or none): a new episode")
def _(s):
    key, sid, ta, tb = uid("k"), uid(), uid("t"), uid("t")
    a = post_ok(s, episode(sid, idempotency_key=key), tenant=ta)
    b = post_ok(s, episode(sid, idempotency_key=key), tenant=tb)
    c = post_ok(s, episode(sid, idempotency_key=key))
    assert len({a["id"], b["id"], c["id"]}) == 3, (a, b, c)
    again = s.post("/v1/episodes", episode(sid, idempotency_key=key), tenant=ta)
    assert again.status == 201 and again.body["id"] == a["id"], again
    again = s.post("/v1/episodes", episode(sid, idempotency_key=key))
    assert again.status == 201 and again.body["id"] == c["id"], again
    for t in (ta, tb, None):
        assert s.episode_count(sid, tenant=t) == 1, t


@test("10.43 without an idempotency_key duplicates are created")
def _(s):
    sid = uid()
    a = post_ok(s, episode(sid))
    b = post_ok(s, episode(sid))
    assert a["id"] != b["id"]
    assert s.episode_count(sid) == 2


# -- reserved subject ids (backup-snapshots.md §5.8) -------------------------------------------

@test("10.50 writing to a _snapshot/ subject is 400 with the reserved-prefix message")
def _(s):
    sid = "_snapshot/%s/v1" % uid("x")
    r = s.post("/v1/episodes", episode(sid))
    check_error(r, 400, "http_error", "Subject id '%s' uses a reserved prefix (_snapshot/)" % sid)
    assert s.episode_count(sid) == 0


# -- concurrency: every 201 is durable and distinct (DESIGN.md group commit) -------------------

@test("10.60 200 concurrent single ingests over 10 subjects: all 201, all stored once")
def _(s):
    import threading
    subjects = [uid("c") for _ in range(10)]
    results, errors = [], []
    lock = threading.Lock()

    def worker(n):
        for j in range(25):
            sid = subjects[(n * 25 + j) % 10]
            try:
                r = s.post("/v1/episodes", episode(sid, payload={"w": n, "j": j}))
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                results.append((sid, r.status, r.body.get("id") if isinstance(r.body, dict) else r))
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    bad = [x for x in results if x[1] != 201]
    assert not bad, "non-201 answers: %r" % (bad[:3],)
    ids = [x[2] for x in results]
    assert len(ids) == 200 and len(set(ids)) == 200, "ids not distinct"
    for sid in subjects:
        tl = {e["id"] for e in s.timeline(sid)["episodes"]}
        want = {x[2] for x in results if x[0] == sid}
        assert tl == want, "subject %s: %d stored, %d acknowledged" % (sid, len(tl), len(want))


if __name__ == "__main__":
    main()
