"""77-context-cache: the context input cache (issue 22; service/context_cache.h) answers byte
for byte what an uncached server answers, at any moment, whatever was written in between and
by which process. Runs on both backends.

Three servers share one database: the test's own (cache on), a second process with the cache
on, and a third with STATEWAVE_CONTEXT_CACHE_MB=0 (the reference answer). A seeded random
sequence of writes (single and batch ingest, compile, label edits, resolutions, imports of
memories with validity windows that close during the run, clones into the subject, snapshot
restores, subject deletes), each sent to one of the three at random, is interleaved with
context calls of random tasks, budgets and sessions; every answer of a caching server is
compared with the uncached server's for the same body. A validity window is the one thing
that changes an answer without a write: a window that closes between two calls can separate
them, so each comparison brackets the uncached call between two cached ones and asks that it
equal one of them (windows close on whole seconds, calls take milliseconds)."""

import atexit
import datetime
import hashlib
import json
import math
import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, episode, main, test, uid  # noqa: E402

SEED = int(os.environ.get("ENGRAM_TEST_SEED", "0")) or random.randrange(1, 1 << 30)
ENV = {"STATEWAVE_ENABLE_SNAPSHOTS": "true", "STATEWAVE_EMBEDDING_DIMENSIONS": "4"}
OFF = dict(ENV, STATEWAVE_CONTEXT_CACHE_MB="0")
WORDS = ("billing invoice refund password reset login deploy rollback kafka postgres "
         "zurich email slack prefers works globex alice urgent broken outage error "
         "timeout payment card shipping address").split()
NAMES = ("My name is Alice.", "I work at Globex.", "I prefer email over Slack.",
         "I live in Zurich.", "My favourite language is Rust.", "I use Postgres at work.")

_peers = {}


def stop_peers():
    for pair in _peers.values():
        for p in pair:
            if p.alive():
                p.stop()
    _peers.clear()


atexit.register(stop_peers)


def peers(s):
    """(second caching server, uncached server) on s's database, started once."""
    if s.database_url not in _peers:
        two = Server(env=ENV, database_url=s.database_url, workdir=s.workdir,
                     name=s.name + "-cache2")
        off = Server(env=OFF, database_url=s.database_url, workdir=s.workdir,
                     name=s.name + "-nocache")
        two.start()
        off.start()
        _peers[s.database_url] = (two, off)
    two, off = _peers[s.database_url]
    for p in (two, off):
        if not p.alive():
            p.start()
    return two, off


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()


def sentence(rng, n=8):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def context_body(rng, sid):
    body = {"subject_id": sid, "task": sentence(rng, rng.randint(1, 6))}
    if rng.random() < 0.6:
        body["max_tokens"] = rng.choice([60, 150, 400, 1200, 4000])
    if rng.random() < 0.4:
        body["session_id"] = "sess-%d" % rng.randint(0, 3)
    return body


def same_answer(cached, off, body, tenant=None):
    """cached's answer to body equals off's, the latter bracketed by two calls to cached."""
    a = cached.post("/v1/context", body, tenant=tenant)
    b = off.post("/v1/context", body, tenant=tenant)
    c = cached.post("/v1/context", body, tenant=tenant)
    assert a.status == b.status == c.status == 200, (a, b, c)
    assert b.raw in (a.raw, c.raw), "cached and uncached answers differ for %s:\n%s\n%s" % (
        json.dumps(body), a.raw[:3000], b.raw[:3000])
    return a


def import_memories(rng, srv, sid, tenant, now):
    """Memories (and one episode each as their source) with validity windows, through
    /admin/import with new ids, into sid."""
    eps, mems = [], []
    for i in range(rng.randint(1, 3)):
        eid = str(uuid.uuid4())
        eps.append({"id": eid, "subject_id": sid, "tenant_id": tenant, "source": "docs",
                    "type": "page", "payload": {"text": sentence(rng),
                                                "breadcrumb": "Guide > " + rng.choice(WORDS)},
                    "metadata": {}, "provenance": {}, "created_at": iso(now - 5),
                    "last_compiled_at": None})
        # Windows close on whole seconds: two imports' windows close at the same instant or
        # at least a second apart, never between the calls of one comparison.
        valid_to = rng.choice([None, iso(math.ceil(now) - 60),
                               iso(math.ceil(now) + rng.choice([2, 3, 4])),
                               iso(math.ceil(now) + 3600)])
        mems.append({"id": str(uuid.uuid4()), "subject_id": sid, "tenant_id": tenant,
                     "kind": rng.choice(["profile_fact", "procedure", "episode_summary"]),
                     "content": sentence(rng, 12), "summary": sentence(rng, 4),
                     "confidence": 0.7, "valid_from": iso(now - 10), "valid_to": valid_to,
                     "source_episode_ids": [eid], "metadata": {}, "status": "active",
                     "embedding": [0.5, 0.25, -0.5, 1.0], "created_at": iso(now - rng.random()),
                     "updated_at": iso(now)})
    doc = {"format_version": "1.0", "exported_at": iso(now), "subject_id": sid,
           "tenant_id": tenant, "counts": {"episodes": len(eps), "memories": len(mems)},
           "episodes": eps, "memories": mems}
    canon = json.dumps({"episodes": eps, "memories": mems}, sort_keys=True)
    doc["checksum"] = hashlib.sha256(canon.encode("utf-8")).hexdigest()
    r = srv.post("/admin/import", {"document": doc, "target_subject_id": sid,
                                   "target_tenant_id": tenant, "preserve_ids": False})
    assert r.status == 200, r


def memory_ids(srv, sid, tenant):
    r = srv.post("/v1/context", {"subject_id": sid, "task": "x", "max_tokens": 128000},
                 tenant=tenant)
    assert r.status == 200, r
    p = r.body["provenance"]
    return p["fact_ids"] + p["summary_ids"] + p["procedure_ids"]


def write(rng, srv, sid, tenant, state):
    """One random write to sid through srv; returns its name."""
    op = rng.choice(["one", "one", "one", "batch", "compile", "compile", "labels",
                     "resolution", "import", "import", "clone", "snapshot", "delete"])
    now = time.time()
    if op == "one":
        srv.create(sid, tenant=tenant, session_id="sess-%d" % rng.randint(0, 3),
                   payload={"text": rng.choice(NAMES) + " " + sentence(rng)})
        return op
    elif op == "batch":
        srv.batch([episode(sid, session_id="sess-%d" % rng.randint(0, 3),
                           payload={"messages": [{"role": "user", "content": sentence(rng)}]})
                   for _ in range(rng.randint(1, 4))], tenant=tenant)
        return op
    elif op == "compile":
        r = srv.post("/v1/memories/compile", {"subject_id": sid}, tenant=tenant)
    elif op == "labels":
        ids = memory_ids(srv, sid, tenant)
        if not ids:
            return "labels (none)"
        r = srv.request("PATCH", "/v1/memories/%s/labels" % rng.choice(ids),
                        body={"sensitivity_labels": rng.sample(["pii", "billing", "hr"],
                                                               rng.randint(0, 2))},
                        tenant=tenant)
    elif op == "resolution":
        r = srv.post("/v1/resolutions", {"subject_id": sid,
                                         "session_id": "sess-%d" % rng.randint(0, 3),
                                         "status": rng.choice(["open", "resolved"]),
                                         "resolution_summary": sentence(rng, 5)},
                     tenant=tenant)
    elif op == "import":
        import_memories(rng, srv, sid, tenant, now)
        return op
    elif op == "clone":
        # A clone or a restore needs an empty target: the subject goes first.
        assert srv.delete("/v1/subjects/" + sid, tenant=tenant).status == 200
        src = state["clone_source"]
        r = srv.post("/admin/memory/clone", {"source_subject_id": src,
                                             "target_subject_id": sid,
                                             "target_tenant_id": tenant})
    elif op == "snapshot":
        if "snap" not in state:
            r = srv.post("/admin/snapshots", {"name": uid("snap"),
                                              "source_subject_id": state["clone_source"]})
            assert r.status == 200, r
            state["snap"] = r.body["id"]
        assert srv.delete("/v1/subjects/" + sid, tenant=tenant).status == 200
        r = srv.post("/admin/snapshots/%s/restore" % state["snap"],
                     {"target_subject_id": sid, "target_tenant_id": tenant})
    else:
        r = srv.delete("/v1/subjects/" + sid, tenant=tenant)
    assert r.status == 200, (op, r)
    return op


def clone_source(s):
    src = uid("ccsrc")
    s.batch([episode(src, payload={"text": t}) for t in NAMES])
    r = s.post("/v1/memories/compile", {"subject_id": src})
    assert r.status == 200, r
    return src


def run_sequence(s, rng, tenant, steps):
    two, off = peers(s)
    servers = [s, two, off]
    sid = uid("cc")
    state = {"clone_source": clone_source(s)}
    done = []
    for step in range(steps):
        if rng.random() < 0.55:
            done.append(write(rng, rng.choice(servers), sid, tenant, state))
        for _ in range(rng.randint(1, 3)):
            body = context_body(rng, sid)
            try:
                same_answer(rng.choice([s, two]), off, body, tenant=tenant)
            except AssertionError as e:
                raise AssertionError("seed %d, step %d after %s: %s" % (SEED, step, done[-3:], e))
        if rng.random() < 0.08:
            time.sleep(rng.choice([0.5, 1.0, 1.6]))   # let validity windows close
    return done


@test("77.1 random writes through three processes, context compared with an uncached "
      "server after each (no tenant)", env=ENV)
def _(s):
    rng = random.Random(SEED)
    done = run_sequence(s, rng, None, 70)
    assert len(set(done)) >= 6, done    # the sequence exercised most kinds of write


@test("77.2 the same under a tenant, and the same subject id under two tenants", env=ENV)
def _(s):
    rng = random.Random(SEED + 1)
    run_sequence(s, rng, "t-" + uid("a"), 40)
    two, off = peers(s)
    sid = uid("cct")
    s.create(sid, tenant="ta", payload={"text": "My name is Alice. billing invoice"})
    s.create(sid, tenant="tb", payload={"text": "My name is Bob. deploy rollback"})
    for t in ("ta", "tb", None):
        same_answer(s, off, {"subject_id": sid, "task": "billing deploy"}, tenant=t)
    a = s.post("/v1/context", {"subject_id": sid, "task": "billing"}, tenant="ta").body
    b = s.post("/v1/context", {"subject_id": sid, "task": "billing"}, tenant="tb").body
    assert "Alice" in a["assembled_context"] and "Bob" not in a["assembled_context"], a
    assert "Bob" in b["assembled_context"] and "Alice" not in b["assembled_context"], b


@test("77.3 a validity window that closes between two calls changes the cached answer, "
      "with no write in between", env=ENV)
def _(s):
    two, off = peers(s)
    sid = uid("ccv")
    now = time.time()
    # Two facts, the budget fits one: the newer (X) wins while valid (+3), loses once its
    # window closes (-4 against Y's +3).
    eid = str(uuid.uuid4())
    eps = [{"id": eid, "subject_id": sid, "tenant_id": None, "source": "chat",
            "type": "message", "payload": {"text": "hello"}, "metadata": {}, "provenance": {},
            "created_at": iso(now - 5), "last_compiled_at": None}]
    mem = lambda content, created, valid_to: {  # noqa: E731
        "id": str(uuid.uuid4()), "subject_id": sid, "tenant_id": None, "kind": "profile_fact",
        "content": content, "summary": content, "confidence": 0.7, "valid_from": iso(now - 10),
        "valid_to": valid_to, "source_episode_ids": [eid], "metadata": {}, "status": "active",
        "embedding": [0.5, 0.25, -0.5, 1.0], "created_at": iso(created), "updated_at": iso(now)}
    mems = [mem("Fact Yankee lives in Bern " * 3, now - 3, None),
            mem("Fact Xray lives in Zurich " * 3, now - 1, iso(now + 2.0))]
    doc = {"format_version": "1.0", "exported_at": iso(now), "subject_id": sid,
           "tenant_id": None, "counts": {"episodes": 1, "memories": 2},
           "episodes": eps, "memories": mems,
           "checksum": hashlib.sha256(json.dumps({"episodes": eps, "memories": mems},
                                                 sort_keys=True).encode()).hexdigest()}
    r = s.post("/admin/import", {"document": doc})
    assert r.status == 200, r
    body = {"subject_id": sid, "task": "where", "max_tokens": 45}
    before = same_answer(s, off, body).body
    assert "Xray" in before["assembled_context"], before
    assert "Yankee" not in before["assembled_context"], before
    time.sleep(max(0.0, now + 2.6 - time.time()))
    after = same_answer(s, off, body).body
    assert "Yankee" in after["assembled_context"], after
    assert "Xray" not in after["assembled_context"], after


@test("77.4 a write through another process is seen by the next cached call", env=ENV)
def _(s):
    two, off = peers(s)
    sid = uid("ccx")
    s.create(sid, payload={"text": "My name is Alice."})
    s.post("/v1/memories/compile", {"subject_id": sid})
    first = s.post("/v1/context", {"subject_id": sid, "task": "name"}).raw
    assert s.post("/v1/context", {"subject_id": sid, "task": "name"}).raw == first
    two.create(sid, payload={"text": "I work at Globex."})
    second = s.post("/v1/context", {"subject_id": sid, "task": "name"})
    assert second.raw != first and "Globex" in second.body["assembled_context"], second
    off.post("/v1/memories/compile", {"subject_id": sid})
    same_answer(s, off, {"subject_id": sid, "task": "where do I work"})
    off.delete("/v1/subjects/" + sid)
    gone = s.post("/v1/context", {"subject_id": sid, "task": "name"}).body
    assert gone["facts"] == [] and gone["episodes"] == [], gone
    stop_peers()


if __name__ == "__main__":
    main()
