"""67-crash: kill -9 under concurrent ingest (issue 14). Runs on both backends (on PostgreSQL
through ENGRAM_TEST_DATABASE_URL, on SQLite a database file of its own).

Each round starts a server, lets THREADS client threads post episodes as fast as they can
(single episodes with a fresh idempotency key, single episodes without one, client retries
of a keyed request already answered, and batches of 2-8), kills the server with SIGKILL
while they are at it, and restarts it. Then, read back through the API (GET /admin/export
of every subject, which lists every episode):

  - every acknowledged episode (201) is there exactly once, under the id it was answered with,
    with the payload it was sent with;
  - a request that got no answer (the kill cut it off) left either nothing or exactly what
    it asked for: a batch all of its episodes or none, an episode at most once;
  - idempotency survives the crash: re-sending every keyed request, answered or not, gets
    201 with the one episode of that key (the original id when it was answered) and adds no
    row.

make test runs 2 rounds of 8 threads; `make crash` (scripts/crash.sh) sets
ENGRAM_CRASH_ROUNDS, ENGRAM_CRASH_THREADS and ENGRAM_CRASH_SECONDS for a longer run.
ENGRAM_TEST_SEED makes the kill times and the request mix repeatable. With ENGRAM_CRASH_STATS
set to a file name, a passing run appends one JSON line of counts to it (scripts/crash.sh
reports them)."""

import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, episode, main, q, test, uid  # noqa: E402

ROUNDS = int(os.environ.get("ENGRAM_CRASH_ROUNDS", "2"))
THREADS = int(os.environ.get("ENGRAM_CRASH_THREADS", "8"))
SECONDS = float(os.environ.get("ENGRAM_CRASH_SECONDS", "1.0"))   # longest run before a kill
SEED = int(os.environ.get("ENGRAM_TEST_SEED", "0")) or random.randrange(1, 1 << 30)


class Ledger:
    """What the clients sent and what they were told, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}        # tag -> (subject, key or None, id answered)
        self.in_doubt = []     # (kind, [(subject, key or None, tag)]) without an answer
        self.keys = {}         # (subject, key) -> id answered first
        self.refused = []      # answers that were neither 201 nor a cut connection

    def ack(self, items, eps):
        with self.lock:
            for (sub, key, tag), ep in zip(items, eps):
                self.acked[tag] = (sub, key, ep["id"])
                if key is not None:
                    first = self.keys.setdefault((sub, key), ep["id"])
                    if first != ep["id"]:
                        self.refused.append("key %r of %r answered %s, earlier %s"
                                            % (key, sub, ep["id"], first))


def body_of(sub, key, tag):
    extra = {"idempotency_key": key} if key is not None else {}
    return episode(sub, payload={"tag": tag, "text": "crash test %s" % tag}, **extra)


def client(srv, tenant, subjects, ledger, rng, name, stop):
    """Post until the server is gone (or stop is set); every answer goes to the ledger."""
    n = 0
    keyed = []   # (subject, key, tag) answered: resent now and then as a client retry
    while not stop.is_set():
        n += 1
        tag = "%s.%d" % (name, n)
        u = rng.random()
        if u < 0.15 and keyed:
            kind, items = "one", [rng.choice(keyed)]
        elif u < 0.55:
            kind, items = "one", [(rng.choice(subjects), "k-" + tag, tag)]
        elif u < 0.8:
            kind, items = "one", [(rng.choice(subjects), None, tag)]
        else:
            kind, items = "batch", [(rng.choice(subjects), "k-%s.%d" % (tag, i) if i % 2 else None,
                                     "%s.%d" % (tag, i)) for i in range(rng.randint(2, 8))]
        try:
            if kind == "one":
                r = srv.post("/v1/episodes", body_of(*items[0]), tenant=tenant)
                eps = [r.body] if r.status == 201 else None
            else:
                r = srv.post("/v1/episodes/batch",
                             {"episodes": [body_of(*it) for it in items]}, tenant=tenant)
                eps = r.body.get("episodes") if r.status == 201 else None
        except Exception:  # noqa: BLE001 - the kill cut the request off: its fate is unknown
            with ledger.lock:
                ledger.in_doubt.append((kind, items))
            return
        if eps is None or len(eps) != len(items):
            with ledger.lock:
                ledger.refused.append("%s %s: %r" % (kind, tag, r))
            continue
        ledger.ack(items, eps)
        keyed.extend(it for it in items if it[1] is not None)


def crash_round(srv, tenant, subjects, ledger, rng, rnd):
    srv.start()
    stop = threading.Event()
    threads = [threading.Thread(target=client,
                                args=(srv, tenant, subjects, ledger,
                                      random.Random(rng.random()), "r%d.c%d" % (rnd, j), stop))
               for j in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(SECONDS * (0.3 + 0.7 * rng.random()))
    srv.kill()   # SIGKILL: no drain, no checkpoint, no rollback
    stop.set()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client thread hangs after the kill"


def stored(srv, tenant, subjects):
    """tag -> [(subject, id)] of every episode in the subjects, via the export."""
    out = {}
    for sub in subjects:
        r = srv.get("/admin/export/" + q(sub), tenant=tenant)
        if r.status == 404:
            continue
        assert r.status == 200, "export of %r after the crash: %r" % (sub, r)
        for ep in r.body["episodes"]:
            out.setdefault(ep["payload"].get("tag"), []).append((sub, ep["id"]))
    return out


def check(found, ledger):
    bad = []
    for tag, (sub, key, eid) in ledger.acked.items():
        got = found.get(tag, [])
        if got != [(sub, eid)]:
            bad.append("acknowledged %s (key %r, id %s): stored as %r" % (tag, key, eid, got))
    for kind, items in ledger.in_doubt:
        present = [len(found.get(tag, [])) for _, _, tag in items]
        if any(n > 1 for n in present):
            bad.append("unanswered %s %r stored twice: %r" % (kind, items, present))
        if kind == "batch" and 0 < sum(present) < len(items):
            bad.append("unanswered batch half written: %r" % (present,))
    known = set(ledger.acked) | {tag for _, items in ledger.in_doubt for _, _, tag in items}
    strays = [tag for tag in found if tag not in known]
    if strays:
        bad.append("episodes nobody sent: %r" % (strays[:5],))
    return bad


def resend_keyed(srv, tenant, ledger, found):
    """Re-send every keyed request (a new payload, the same key); returns problems and the
    tags of the episodes the re-sends were allowed to add (keys of unanswered requests that
    left nothing)."""
    bad, added = [], set()
    keyed = [(sub, key, tag) for tag, (sub, key, _) in ledger.acked.items() if key is not None]
    doubt = [it for _, items in ledger.in_doubt for it in items if it[1] is not None]
    for sub, key, tag in keyed + doubt:
        r = srv.post("/v1/episodes", body_of(sub, key, tag + ".again"), tenant=tenant)
        if r.status != 201:
            bad.append("resending key %r: %r" % (key, r))
            continue
        want = ledger.keys.get((sub, key))
        stored_ids = [eid for s2, eid in found.get(tag, []) if s2 == sub]
        if want is not None and r.body["id"] != want:
            bad.append("key %r now answers %s, was %s" % (key, r.body["id"], want))
        elif stored_ids and r.body["id"] != stored_ids[0]:
            bad.append("key %r stored as %s, now answers %s" % (key, stored_ids[0], r.body["id"]))
        elif not stored_ids and want is None:
            added.add(tag + ".again")
    return bad, added


@test("67.1 kill -9 under concurrent ingest: every acknowledged episode exactly once, "
      "unanswered batches all or nothing, idempotency keys survive")
def _(s):
    rng = random.Random(SEED)
    tenant = uid("t-crash")
    subjects = [uid("crash") for _ in range(6)]
    ledger = Ledger()
    srv = Server(env=s.extra_env, workdir=s.workdir, name=s.name + "-crash")
    try:
        for rnd in range(ROUNDS):
            crash_round(srv, tenant, subjects, ledger, rng, rnd)
        srv.start()
        found = stored(srv, tenant, subjects)
        assert ledger.acked, "no request was answered before the kills (seed %d)" % SEED
        bad = ledger.refused[:5] + check(found, ledger)
        more, added = resend_keyed(srv, tenant, ledger, found)
        bad += more
        after = stored(srv, tenant, subjects)
        for tag in set(after) | set(found):
            want = found.get(tag, [])
            got = after.get(tag, [])
            if got != want and not (tag in added and len(got) == 1 and not want):
                bad.append("re-sending keys changed %s: %r -> %r" % (tag, want, got))
    finally:
        srv.kill()
    assert not bad, "seed %d, %d acknowledged, %d unanswered:\n%s" % (
        SEED, len(ledger.acked), len(ledger.in_doubt), "\n".join(bad[:20]))
    if os.environ.get("ENGRAM_CRASH_STATS"):
        doubt = [tag for _, items in ledger.in_doubt for _, _, tag in items]
        with open(os.environ["ENGRAM_CRASH_STATS"], "a") as f:
            f.write(json.dumps({
                "backend": "postgres" if "postgres" in srv.database_url else "sqlite",
                "rounds": ROUNDS, "threads": THREADS, "seed": SEED,
                "acknowledged": len(ledger.acked), "unanswered": len(ledger.in_doubt),
                "unanswered_stored": sum(1 for tag in doubt if tag in found)}) + "\n")


if __name__ == "__main__":
    main()
