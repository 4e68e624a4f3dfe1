"""71-receipts: context receipts (spec/api.md §5.4): emit_receipt on POST /v1/context, GET
/v1/receipts/{id}, GET /v1/receipts (cursor paging), /verify (Ed25519 with
STATEWAVE_RECEIPT_SIGNING_KEY, checked here independently with the public key), /replay (as of
the receipt's instant, the diff, and the three 422 refusals), tenant scoping. The calls are the
ones the official TypeScript SDK makes (getContext with emitReceipt, getReceipt, listReceipts,
verifyReceipt, replayReceipt). Refusals that only a damaged row can cause are produced by
editing the receipts table behind the API (SQLite through Python's sqlite3, PostgreSQL
through psql)."""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (Server, ServerError, check_422, check_error, episode, main,  # noqa: E402
                     test, uid)
import pgctl  # noqa: E402

ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
ZTS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
RECEIPT_KEYS = ["receipt_id", "parent_receipt_id", "mode", "query_id", "task_id", "tenant_id",
                "subject_id", "task", "as_of", "created_at", "caller_id", "caller_type",
                "selected_entries", "policy", "output", "region", "receipt_signature",
                "receipt_signature_key_id", "receipt_signature_algorithm", "policy_snapshot"]
MEMORY_ENTRY_KEYS = ["type", "memory_id", "kind", "valid_from", "valid_to",
                     "supersession_status", "source_episode_ids", "provenance_hash", "fact_key",
                     "conflict_status", "rank", "score"]
EPISODE_ENTRY_KEYS = ["type", "episode_id", "source", "event_type", "occurred_at", "rank",
                      "score"]

KEY_DIR = tempfile.mkdtemp(prefix="engram-receipt-key-")
KEY_PATH = os.path.join(KEY_DIR, "receipts.pem")
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", KEY_PATH], check=True,
               capture_output=True)
SIGNED = {"STATEWAVE_RECEIPT_SIGNING_KEY": KEY_PATH}


def run_sql(s, statement):
    """Run one statement on the server's database."""
    pgctl.run_sql(s.database_url, statement)


def subject_with_memories(s, tenant=None):
    """A compiled subject with facts, summaries and one uncompiled episode."""
    sid = uid()
    for text in ["My name is Dana Ruiz and I work at Initech.",
                 "I prefer short answers. My plan is the Pro tier."]:
        assert s.post("/v1/episodes", episode(sid, payload={"text": text}),
                      tenant=tenant).status == 201
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] > 0, r
    assert s.post("/v1/episodes", episode(sid, payload={"text": "Where is my invoice, urgent?"},
                                          session_id="sess-1"), tenant=tenant).status == 201
    return sid


def emit(s, sid, tenant=None, **extra):
    body = {"subject_id": sid, "task": "What plan is Dana on?", "emit_receipt": True}
    body.update(extra)
    r = s.post("/v1/context", body, tenant=tenant)
    assert r.status == 200, r
    assert ULID_RE.match(r.body["receipt_id"]) and r.body["receipt_emitted"] is True, r.body
    return r


def sql_quote(v):
    return "'" + v.replace("'", "''") + "'"


@test("71.1 emit_receipt stores a receipt: its shape, entries, hash of the delivered bytes")
def _(s):
    sid = subject_with_memories(s)
    r = emit(s, sid, query_id="q-1", task_id="t-1", caller_id="agent-7", caller_type="agent",
             session_id="sess-1")
    rid = r.body["receipt_id"]
    keys = list(r.body.keys())
    assert keys[-2:] == ["receipt_id", "receipt_emitted"], keys
    g = s.get("/v1/receipts/" + rid)
    assert g.status == 200, g
    rc = g.body
    assert list(rc.keys()) == RECEIPT_KEYS, list(rc.keys())
    assert rc["receipt_id"] == rid and rc["mode"] == "retrieval" and rc["parent_receipt_id"] is None
    assert (rc["query_id"], rc["task_id"], rc["caller_id"], rc["caller_type"]) == \
        ("q-1", "t-1", "agent-7", "agent"), rc
    assert rc["subject_id"] == sid and rc["task"] == "What plan is Dana on?"
    assert rc["tenant_id"] is None
    assert ZTS_RE.match(rc["as_of"]) and rc["as_of"] == rc["created_at"], rc
    text = r.body["assembled_context"].encode("utf-8")
    assert rc["output"] == {"context_hash": hashlib.sha256(text).hexdigest(),
                            "context_size_bytes": len(text),
                            "canonicalization_version": "engram-context-v1",
                            "token_estimate": r.body["token_estimate"]}, rc["output"]
    # the selected entries are exactly what the bundle delivered, ranked from 1
    ids = [e.get("memory_id") or e.get("episode_id") for e in rc["selected_entries"]]
    prov = r.body["provenance"]
    delivered = prov["fact_ids"] + prov["summary_ids"] + prov["procedure_ids"] + prov["episode_ids"]
    assert sorted(ids) == sorted(delivered) and len(ids) == len(delivered), (ids, delivered)
    assert [e["rank"] for e in rc["selected_entries"]] == list(range(1, len(ids) + 1))
    scores = [e["score"] for e in rc["selected_entries"]]
    assert scores == sorted(scores, reverse=True), scores
    kinds = set()
    for e in rc["selected_entries"]:
        if e["type"] == "memory":
            assert list(e.keys()) == MEMORY_ENTRY_KEYS, e
            assert e["supersession_status"] == "active" and e["conflict_status"] == "none"
            src = json.dumps(e["source_episode_ids"], separators=(",", ":"))
            assert e["provenance_hash"] == hashlib.sha256(src.encode()).hexdigest(), e
        else:
            assert list(e.keys()) == EPISODE_ENTRY_KEYS, e
            assert e["source"] == "chat" and e["event_type"] == "message", e
        kinds.add(e["type"])
    assert kinds == {"memory", "episode"}, kinds
    p = rc["policy"]
    assert p["filters_applied"] == [] and p["filters_skipped"] == [] and p["mode"] == "log_only"
    snap = rc["policy_snapshot"]
    assert snap["bundle_hash"] == p["policy_bundle_hash"] == \
        hashlib.sha256(snap["bundle_yaml"].encode()).hexdigest(), snap
    assert "session_id: \"sess-1\"" in snap["bundle_yaml"], snap
    for k in ("region", "receipt_signature", "receipt_signature_key_id",
              "receipt_signature_algorithm"):
        assert rc[k] is None, (k, rc[k])


@test("71.2 without emit_receipt nothing is stored and the bundle has no receipt fields")
def _(s):
    sid = subject_with_memories(s)
    for extra in ({}, {"emit_receipt": False}, {"emit_receipt": None}):
        r = s.post("/v1/context", dict({"subject_id": sid, "task": "plan"}, **extra))
        assert r.status == 200 and "receipt_id" not in r.body and \
            "receipt_emitted" not in r.body, r
    r = s.get("/v1/receipts", query={"subject_id": sid})
    assert r.status == 200 and r.body == {"receipts": [], "next_cursor": None}, r
    # the SDKs' lenient booleans; the SDK fields are never a 422 (spec/api.md §8): a value
    # that is no boolean is no request for a receipt, a non-string id is not recorded
    r = s.post("/v1/context", {"subject_id": sid, "task": "plan", "emit_receipt": "yes"})
    assert r.status == 200 and r.body["receipt_emitted"] is True, r
    r = s.post("/v1/context", {"subject_id": sid, "task": "plan", "emit_receipt": "maybe"})
    assert r.status == 200 and "receipt_id" not in r.body, r
    r = s.post("/v1/context", {"subject_id": sid, "task": "plan", "emit_receipt": 1,
                               "query_id": 5, "task_id": ["x"], "caller_id": "c" * 300})
    assert r.status == 200, r
    rc = s.get("/v1/receipts/" + r.body["receipt_id"]).body
    assert rc["query_id"] is None and rc["task_id"] is None and rc["caller_id"] == "c" * 300, rc
    assert len(s.get("/v1/receipts", query={"subject_id": sid}).body["receipts"]) == 2


@test("71.3 list: newest first, cursor pages, limit bounds, since/until")
def _(s):
    sid = subject_with_memories(s)
    made = [emit(s, sid).body["receipt_id"] for _ in range(5)]
    r = s.get("/v1/receipts", query={"subject_id": sid})
    assert r.status == 200 and [x["receipt_id"] for x in r.body["receipts"]] == made[::-1], r
    assert r.body["next_cursor"] is None
    seen, cursor = [], None
    while True:
        q = {"subject_id": sid, "limit": 2}
        if cursor:
            q["cursor"] = cursor
        page = s.get("/v1/receipts", query=q)
        assert page.status == 200 and len(page.body["receipts"]) <= 2, page
        seen += [x["receipt_id"] for x in page.body["receipts"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == made[::-1], (seen, made)
    for bad in ("0", "201", "x"):
        check_422(s.get("/v1/receipts", query={"subject_id": sid, "limit": bad}),
                  ["query", "limit"])
    check_422(s.get("/v1/receipts"), ["query", "subject_id"])
    check_422(s.get("/v1/receipts", query={"subject_id": sid, "since": "yesterday"}),
              ["query", "since"])
    created = s.get("/v1/receipts/" + made[2]).body["created_at"]
    r = s.get("/v1/receipts", query={"subject_id": sid, "since": created})
    assert [x["receipt_id"] for x in r.body["receipts"]] == made[2:][::-1], r
    r = s.get("/v1/receipts", query={"subject_id": sid, "until": created})
    assert [x["receipt_id"] for x in r.body["receipts"]] == made[:3][::-1], r


@test("71.4 receipts are tenant-scoped: another tenant gets 404 and an empty list")
def _(s):
    t1, t2 = uid("t"), uid("t")
    sid = subject_with_memories(s, tenant=t1)
    rid = emit(s, sid, tenant=t1).body["receipt_id"]
    assert s.get("/v1/receipts/" + rid, tenant=t1).body["tenant_id"] == t1
    for path in ("/v1/receipts/" + rid, "/v1/receipts/" + rid + "/verify"):
        check_error(s.get(path, tenant=t2), 404, "http_error")
        check_error(s.get(path), 404, "http_error")
    check_error(s.post("/v1/receipts/" + rid + "/replay", tenant=t2), 404, "http_error")
    r = s.get("/v1/receipts", query={"subject_id": sid}, tenant=t2)
    assert r.status == 200 and r.body["receipts"] == [], r
    check_error(s.get("/v1/receipts/01J0000000000000000000000X"), 404, "http_error")


@test("71.5 verify without a signing key: no_signature")
def _(s):
    sid = subject_with_memories(s)
    rid = emit(s, sid).body["receipt_id"]
    r = s.get("/v1/receipts/%s/verify" % rid)
    assert r.status == 200 and r.body == {"valid": None, "key_id": None, "algorithm": None,
                                          "reason": "no_signature"}, r


@test("71.6 signed receipts: Ed25519 over the receipt, checked with the public key; "
      "tampering is signature_mismatch", env=SIGNED)
def _(s):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    with open(KEY_PATH, "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), password=None)
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    sid = subject_with_memories(s)
    rid = emit(s, sid).body["receipt_id"]
    rc = s.get("/v1/receipts/" + rid).body
    assert rc["receipt_signature_algorithm"] == "ed25519" and \
        rc["receipt_signature_key_id"] == key_id, rc
    signed = dict(rc, receipt_signature=None, receipt_signature_key_id=None,
                  receipt_signature_algorithm=None)
    msg = json.dumps(signed, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(rc["receipt_signature"]),
                                                   msg)
    r = s.get("/v1/receipts/%s/verify" % rid)
    assert r.status == 200 and r.body == {"valid": True, "key_id": key_id,
                                          "algorithm": "ed25519", "reason": "ok"}, r
    run_sql(s, "UPDATE context_receipts SET body = replace(body, %s, %s) WHERE id = %s"
            % (sql_quote("What plan"), sql_quote("Which plan"), sql_quote(rid)))
    r = s.get("/v1/receipts/%s/verify" % rid)
    assert r.body == {"valid": False, "key_id": key_id, "algorithm": "ed25519",
                      "reason": "signature_mismatch"}, r
    rid2 = emit(s, sid).body["receipt_id"]
    run_sql(s, "UPDATE context_receipts SET key_id = 'retiredkey000000' WHERE id = %s"
            % sql_quote(rid2))
    assert s.get("/v1/receipts/%s/verify" % rid2).body["reason"] == "key_unavailable"
    run_sql(s, "UPDATE context_receipts SET algorithm = 'hmac-sha256' WHERE id = %s"
            % sql_quote(rid2))
    r = s.get("/v1/receipts/%s/verify" % rid2)
    assert r.body["valid"] is None and r.body["reason"] == "unsupported_algorithm", r


@test("71.7 replay as of the receipt's instant: unchanged data gives an empty diff; the "
      "replay is a new as_of_replay receipt; replaying it is 422 nested_replay")
def _(s):
    sid = subject_with_memories(s)
    orig = emit(s, sid, session_id="sess-1", max_tokens=300).body
    rid = orig["receipt_id"]
    r = s.post("/v1/receipts/%s/replay" % rid)
    assert r.status == 200, r
    b = r.body
    assert b["original_receipt_id"] == rid and ULID_RE.match(b["replay_receipt_id"]), b
    d = b["diff"]
    assert d["context_hash"]["changed"] is False and \
        d["context_hash"]["original"] == d["context_hash"]["replay"], d
    n = len(s.get("/v1/receipts/" + rid).body["selected_entries"])
    assert d["selected_entries"] == {"added": [], "removed": [], "common": n}, d
    assert d["filters_applied"] == {"added": [], "removed": []}
    rep = s.get("/v1/receipts/" + b["replay_receipt_id"]).body
    assert rep["mode"] == "as_of_replay" and rep["parent_receipt_id"] == rid, rep
    assert rep["as_of"] == s.get("/v1/receipts/" + rid).body["as_of"], rep
    listed = s.get("/v1/receipts", query={"subject_id": sid}).body["receipts"]
    assert [x["receipt_id"] for x in listed][:2] == [b["replay_receipt_id"], rid]
    e = check_error(s.post("/v1/receipts/%s/replay" % b["replay_receipt_id"]), 422,
                    "unreplayable.nested_replay")
    assert "details" not in e
    check_error(s.post("/v1/receipts/01J0000000000000000000000X/replay"), 404, "http_error")


@test("71.8 replay is as of the receipt's instant: later data stays out of it; rows deleted "
      "since show as removed entries and a changed hash")
def _(s):
    sid = subject_with_memories(s)
    rid = emit(s, sid).body["receipt_id"]
    time.sleep(0.01)
    # a new episode after the receipt: invisible as of the receipt's instant
    assert s.post("/v1/episodes", episode(sid, payload={"text": "Dana moved to the Pro plan "
                                                        "yesterday, what plan now?"})).status == 201
    r = s.post("/v1/receipts/%s/replay" % rid)
    assert r.status == 200, r
    assert r.body["diff"]["context_hash"]["changed"] is False, r.body
    # a receipt taken now includes it; its replay reproduces it
    rid2 = emit(s, sid).body["receipt_id"]
    entries2 = s.get("/v1/receipts/" + rid2).body["selected_entries"]
    entries1 = s.get("/v1/receipts/" + rid).body["selected_entries"]
    key = lambda e: (e["type"], e.get("memory_id") or e.get("episode_id"))  # noqa: E731
    added = set(map(key, entries2)) - set(map(key, entries1))
    assert len(added) == 1 and next(iter(added))[0] == "episode", added
    r2 = s.post("/v1/receipts/%s/replay" % rid2)
    assert r2.body["diff"]["selected_entries"]["added"] == [] and \
        r2.body["diff"]["context_hash"]["changed"] is False, r2.body
    # the rows deleted after the receipt: the replay no longer finds them (receipts stay)
    assert s.delete("/v1/subjects/" + sid).status == 200
    r3 = s.post("/v1/receipts/%s/replay" % rid2)
    assert r3.status == 200, r3
    d = r3.body["diff"]
    assert d["context_hash"]["changed"] is True and d["selected_entries"]["common"] == 0, d
    assert sorted(map(key, d["selected_entries"]["removed"])) == sorted(map(key, entries2)), d
    assert d["selected_entries"]["added"] == [], d


@test("71.9 replay refusals of damaged receipts: missing_policy_snapshot, invalid_snapshot")
def _(s):
    sid = subject_with_memories(s)
    a, b, c = (emit(s, sid).body["receipt_id"] for _ in range(3))
    run_sql(s, "UPDATE context_receipts SET body = replace(body, '\"policy_snapshot\":{', "
               "'\"policy_snapshot_gone\":{') WHERE id = %s" % sql_quote(a))
    check_error(s.post("/v1/receipts/%s/replay" % a), 422,
                "unreplayable.missing_policy_snapshot")
    run_sql(s, "UPDATE context_receipts SET body = replace(body, 'max_tokens: 4000', "
               "'max_tokens: lots') WHERE id = %s" % sql_quote(b))
    check_error(s.post("/v1/receipts/%s/replay" % b), 422, "unreplayable.invalid_snapshot")
    # a snapshot edited consistently except for its hash is refused too
    run_sql(s, "UPDATE context_receipts SET body = replace(body, 'max_tokens: 4000', "
               "'max_tokens: 4001') WHERE id = %s" % sql_quote(c))
    check_error(s.post("/v1/receipts/%s/replay" % c), 422, "unreplayable.invalid_snapshot")
    r = s.get("/v1/receipts", query={"subject_id": sid})
    assert all(x["mode"] == "retrieval" for x in r.body["receipts"]), r.body


@test("71.10 a missing or non-Ed25519 signing key stops the server at start-up")
def _(s):
    rsa = os.path.join(KEY_DIR, "rsa.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-pkeyopt",
                    "rsa_keygen_bits:1024", "-out", rsa], check=True, capture_output=True)
    for path, says in ((os.path.join(KEY_DIR, "missing.pem"), "cannot read"),
                       (rsa, "no Ed25519 private key")):
        bad = Server(env={"STATEWAVE_RECEIPT_SIGNING_KEY": path}, database_url=s.database_url,
                     name="badkey")
        try:
            bad.start()
        except ServerError:
            pass
        else:
            bad.stop()
            raise AssertionError("server started with signing key %s" % path)
        assert says in bad.log_tail(), bad.log_tail()


SDK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk")
SDK_PKG = os.path.join(SDK_DIR, "node_modules", "@statewavedev", "sdk", "package.json")

if os.path.exists(SDK_PKG):   # scripts/statewave-sdk.sh installs it when the registry has it
    @test("71.11 the official TypeScript SDK's EXTRA tier passes (tests/sdk/extra.mjs)")
    def _(s):
        r = subprocess.run(["node", os.path.join(SDK_DIR, "extra.mjs")], capture_output=True,
                           text=True, timeout=120,
                           env=dict(os.environ, ENGRAM_URL="http://127.0.0.1:%d" % s.port))
        assert r.returncode == 0 and r.stdout.rstrip().endswith(" 0 failed"), \
            "extra.mjs exited %d:\n%s%s" % (r.returncode, r.stdout[-3000:], r.stderr[-2000:])


if __name__ == "__main__":
    main()
