"""60-multiprocess: two `engram serve` processes on one database (README "Several Engram
processes can serve one database"; data-model.md §1.2 idempotency index; DESIGN.md
"Concurrency"). Runs on both backends: on SQLite both processes open the same file, on
PostgreSQL the same database.

60.1-60.4 share one workload (run once, by whichever test comes first): 16 client threads
send 96 rounds of 16 requests (1,536 in all; single-episode POSTs alternating between the two
servers, some batches), each round released at once by a barrier. Idempotency keys come from
a small pool per subject, so most keys repeat, and in many rounds the same (subject, key) goes
to BOTH servers at the same instant. Everything lives under one fresh tenant, with 40
subjects of well under 100 episodes each (the timeline shows the oldest 100).

60.5 starts two processes at the same moment on fresh databases (migrations racing)."""

import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, episode, engram_bin, main, test, uid  # noqa: E402
import pgctl  # noqa: E402

THREADS = 16
ROUNDS = 96
SUBJECTS = 40
KEYS_PER_SUBJECT = 12
SEED = int(os.environ.get("ENGRAM_TEST_SEED", "0")) or random.randrange(1, 1 << 30)

_work = {}


def cli(args, database_url, cwd):
    """Run `bin/engram ARGS` on database_url (no other STATEWAVE_* setting, no .env)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = database_url
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=cwd, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


# -- the workload ------------------------------------------------------------------------------

def make_plan(rng, subjects):
    """plan[round][slot] = (server index, kind, items); items are (subject, key|None, tag)."""
    pool = [(sub, "k%02d" % k) for sub in subjects for k in range(KEYS_PER_SUBJECT)]
    plan = []
    for r in range(ROUNDS):
        row = [None] * THREADS
        for m in range(THREADS // 2):
            a, b = 2 * m, 2 * m + 1
            if rng.random() < 0.4:
                sub, key = rng.choice(pool)   # the same key to both servers at once
                for j in (a, b):
                    row[j] = ("one", [(sub, key, "r%d.%d" % (r, j))])
                continue
            for j in (a, b):
                u = rng.random()
                if u < 0.45:
                    sub, key = rng.choice(pool)
                    row[j] = ("one", [(sub, key, "r%d.%d" % (r, j))])
                elif u < 0.85:
                    row[j] = ("one", [(rng.choice(subjects), None, "r%d.%d" % (r, j))])
                else:
                    items = []
                    for i in range(rng.randint(2, 12)):
                        tag = "r%d.%d.%d" % (r, j, i)
                        if rng.random() < 0.5:
                            sub, key = rng.choice(pool)
                            items.append((sub, key, tag))
                        else:
                            items.append((rng.choice(subjects), None, tag))
                    row[j] = ("batch", items)
        plan.append([((r + j) % 2,) + row[j] for j in range(THREADS)])
    return plan


def body_of(item):
    sub, key, tag = item
    extra = {"idempotency_key": key} if key is not None else {}
    return episode(sub, payload={"tag": tag, "text": "multi-process ✓ %s" % tag},
                   session_id="sess-" + sub[-4:], **extra)


def send(srv, tenant, kind, items):
    """One request; returns (status, body or error text)."""
    try:
        if kind == "one":
            r = srv.post("/v1/episodes", body_of(items[0]), tenant=tenant)
        else:
            r = srv.post("/v1/episodes/batch", {"episodes": [body_of(it) for it in items]},
                         tenant=tenant)
        return r.status, r.body
    except Exception as e:  # noqa: BLE001 - a refused or reset connection is an answer too
        return None, "%s: %s" % (type(e).__name__, e)


def workload(s):
    """Run the workload once (first caller) and return what every later test checks."""
    if _work:
        if "crash" in _work:
            raise AssertionError("the shared workload could not run: " + _work["crash"])
        return _work
    try:
        _run_workload(s)
    except Exception as e:
        _work["crash"] = "%s: %s" % (type(e).__name__, e)
        raise
    return _work


def _run_workload(s):
    rng = random.Random(SEED)
    tok = uid("mp")
    tenant = uid("t-mp")
    subjects = ["%s-%02d%s" % (tok, i, "-日本" if i % 7 == 3 else "") for i in range(SUBJECTS)]
    plan = make_plan(rng, subjects)
    other = Server(database_url=s.database_url, workdir=s.workdir, name=s.name + "-second")
    other.start()
    servers = [s, other]
    results = [[None] * THREADS for _ in range(ROUNDS)]
    barrier = threading.Barrier(THREADS)
    broken = []

    def worker(j):
        for r in range(ROUNDS):
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                broken.append(r)
                return
            si, kind, items = plan[r][j]
            results[r][j] = send(servers[si], tenant, kind, items)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(j,)) for j in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0

    # Read back through BOTH processes: they must agree byte for byte.
    timelines, raws = {}, [{}, {}]
    for sub in subjects:
        for si, srv in enumerate(servers):
            r = srv.get("/v1/timeline", query={"subject_id": sub}, tenant=tenant)
            assert r.status == 200, "timeline of %r via server %d: %r" % (sub, si, r)
            raws[si][sub] = r.raw
        timelines[sub] = json.loads(raws[0][sub])["episodes"]
    listings = [srv.all_subjects(tenant) for srv in servers]
    other_alive = other.alive()
    other_rc = other.stop()
    _work.update(dict(subjects=subjects, tenant=tenant, plan=plan, results=results,
                      broken=broken, elapsed=elapsed, timelines=timelines, raws=raws,
                      listings=listings, other_alive=other_alive, other_rc=other_rc,
                      other_log=other.log_path))


def answers(w):
    """Every acknowledged item: (subject, key, tag, server, returned episode)."""
    out = []
    for r in range(ROUNDS):
        for j in range(THREADS):
            res = w["results"][r][j]
            if res is None or res[0] != 201:
                continue
            si, kind, items = w["plan"][r][j]
            body = res[1]
            eps = [body] if kind == "one" else body.get("episodes", [])
            assert len(eps) == len(items), "round %d slot %d: %d items sent, %d returned: %r" \
                % (r, j, len(items), len(eps), body)
            for it, ep in zip(items, eps):
                out.append(it + (si, ep))
    return out


def where(sub, key, tag):
    return "subject %r key %r (request %s, seed %d)" % (sub, key, tag, SEED)


@test("60.1 1,536 concurrent requests over two processes: every one answers 201")
def _(s):
    w = workload(s)
    assert not w["broken"], "client threads stopped at rounds %r" % (w["broken"][:5],)
    bad, n = [], 0
    for r in range(ROUNDS):
        for j in range(THREADS):
            n += 1
            status, body = w["results"][r][j]
            if status != 201:
                si, kind, items = w["plan"][r][j]
                bad.append("round %d slot %d (%s of %d to server %d): %s %s"
                           % (r, j, kind, len(items), si, status, str(body)[:300]))
    assert n == ROUNDS * THREADS
    assert not bad, "%d of %d requests were not 201 (seed %d); first ones:\n%s" \
        % (len(bad), n, SEED, "\n".join(bad[:6]))
    assert w["other_alive"], "the second server died during the run; see %s" % w["other_log"]


@test("60.2 timeline: every acknowledged episode exactly once, nothing unacknowledged, "
      "both processes agree")
def _(s):
    w = workload(s)
    acked = {}   # id -> subjects it was acknowledged for
    for sub, key, tag, si, ep in answers(w):
        assert ep.get("subject_id") == sub, "answer for %s names subject %r" \
            % (where(sub, key, tag), ep.get("subject_id"))
        acked.setdefault(ep["id"], set()).add(sub)
    multi = {i: subs for i, subs in acked.items() if len(subs) > 1}
    assert not multi, "one episode id acknowledged for several subjects: %r" % (multi,)
    problems = []
    seen = set()
    for sub in w["subjects"]:
        if w["raws"][0][sub] != w["raws"][1][sub]:
            problems.append("the two servers answer different timelines for %r" % sub)
        ids = [e["id"] for e in w["timelines"][sub]]
        assert len(ids) < 100, "subject %r reached the 100-episode timeline cap: the test " \
            "cannot see all of it (seed %d)" % (sub, SEED)
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            problems.append("%r: ids listed more than once: %r" % (sub, dups[:3]))
        want = {i for i, subs in acked.items() if sub in subs}
        missing, extra = want - set(ids), set(ids) - want
        if missing:
            problems.append("%r: %d acknowledged episodes missing, e.g. %r"
                            % (sub, len(missing), sorted(missing)[:3]))
        if extra:
            problems.append("%r: %d episodes nobody acknowledged, e.g. %r"
                            % (sub, len(extra), sorted(extra)[:3]))
        seen |= set(ids)
    assert not problems, "seed %d: " % SEED + "; ".join(problems[:8])
    assert seen == set(acked), "timelines and acknowledgements differ"


@test("60.3 each (subject, idempotency key) is one episode: every answer returned that same "
      "episode, as stored")
def _(s):
    w = workload(s)
    stored = {e["id"]: e for sub in w["subjects"] for e in w["timelines"][sub]}
    by_key, unkeyed = {}, {}
    problems = []
    for sub, key, tag, si, ep in answers(w):
        if key is None:
            if ep["id"] in unkeyed:
                problems.append("two un-keyed posts got one id %s" % ep["id"])
            unkeyed[ep["id"]] = tag
            if ep.get("payload", {}).get("tag") != tag:
                problems.append("un-keyed %s answered payload %r" % (where(sub, key, tag),
                                                                     ep.get("payload")))
        else:
            by_key.setdefault((sub, key), []).append((tag, si, ep))
    repeated = both = 0
    owner = {}
    for (sub, key), got in by_key.items():
        ids = {ep["id"] for _, _, ep in got}
        if len(ids) != 1:
            problems.append("%s answered %d different ids: %s" % (
                where(sub, key, got[0][0]), len(ids),
                ", ".join("%s via server %d -> %s" % (t, si, ep["id"]) for t, si, ep in got[:6])))
            continue
        (eid,) = ids
        repeated += len(got) > 1
        both += len({si for _, si, _ in got}) == 2
        if eid in owner or eid in unkeyed:
            problems.append("%s shares id %s with another key or an un-keyed post"
                            % (where(sub, key, got[0][0]), eid))
        owner[eid] = (sub, key)
        first = stored.get(eid)
        if first is None:
            problems.append("%s: id %s is not in the timeline" % (where(sub, key, got[0][0]), eid))
            continue
        if first["payload"]["tag"] not in {t for t, _, _ in got}:
            problems.append("%s: stored payload %r was never sent with this key"
                            % (where(sub, key, got[0][0]), first["payload"]))
        for tag, si, ep in got:
            if ep != first:
                problems.append("%s: the answer via server %d differs from the stored episode: "
                                "%r vs %r" % (where(sub, key, tag), si, ep, first))
                break
    assert not problems, "%d problems (seed %d); first ones:\n%s" \
        % (len(problems), SEED, "\n".join(problems[:6]))
    # The workload really exercised what it claims to.
    assert repeated > 100 and both > 100, "only %d keys repeated, %d via both servers" \
        % (repeated, both)


@test("60.4 GET /v1/subjects counts (one fresh tenant) match the acknowledged episodes; "
      "the second process exits 0 on SIGTERM")
def _(s):
    w = workload(s)
    per = {}
    for sub, key, tag, si, ep in answers(w):
        per.setdefault(sub, set()).add(ep["id"])
    want = [{"subject_id": sub, "episode_count": len(per.get(sub, ())), "memory_count": 0}
            for sub in sorted(w["subjects"], key=lambda x: x.encode("utf-8")) if per.get(sub)]
    for si in (0, 1):
        got = w["listings"][si]
        assert got == want, "listing via server %d differs (seed %d): got %r, want %r" % (
            si, SEED, [g for g in got if g not in want][:3], [x for x in want if x not in got][:3])
    assert w["other_rc"] == 0, "the second server's exit code after SIGTERM was %r; see %s" \
        % (w["other_rc"], w["other_log"])


# -- migrations racing -------------------------------------------------------------------------

APPLIED_RE = re.compile(r"applied (\d+) migration\(s\): schema version (\d+) -> (\d+)")
UP_TO_DATE_RE = re.compile(r"^schema is up to date at version (\d+) \((\w+)\)$")


@test("60.5 two processes started at the same moment on a fresh database both come up; "
      "each migration ran once; `engram migrate` then says up to date")
def _(s):
    cluster = pgctl.Cluster.shared_or_own() if pgctl.backend() == "postgres" else None
    made = []
    try:
        for rnd in range(4):
            if cluster:
                name = pgctl.dbname("engram_race")
                url = cluster.createdb(name)
                made.append(name)
            else:
                url = "sqlite:///" + os.path.join(s.workdir, "race-%d-%s.db" % (rnd, uid("db")))
            race_once(s, url, rnd)
    finally:
        if cluster:
            for name in made:
                cluster.dropdb(name)
            cluster.close()


def race_once(s, url, rnd):
    procs = [Server(database_url=url, workdir=s.workdir, name="%s-race%d-%d" % (s.name, rnd, k))
             for k in range(2)]
    barrier = threading.Barrier(len(procs))
    errors = [None] * len(procs)

    def start(k):
        barrier.wait(timeout=30)
        try:
            procs[k].start()
        except Exception as e:  # noqa: BLE001
            errors[k] = str(e)

    threads = [threading.Thread(target=start, args=(k,)) for k in range(len(procs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        failed = [(k, e) for k, e in enumerate(errors) if e]
        assert not failed, "round %d: process %d did not come up: %s" % (rnd, failed[0][0],
                                                                          failed[0][1])
        for k, p in enumerate(procs):
            r = p.get("/readyz")
            assert r.status == 200 and r.body.get("status") == "ready", \
                "round %d: process %d not ready: %r" % (rnd, k, r)
        sid = uid()
        e = procs[0].create(sid, idempotency_key="race")
        again = procs[1].post("/v1/episodes", episode(sid, idempotency_key="race"))
        assert again.status == 201 and again.body["id"] == e["id"], again
        assert [x["id"] for x in procs[1].timeline(sid)["episodes"]] == [e["id"]]
        m = cli(["migrate"], url, s.workdir)
        assert m.returncode == 0, "round %d: engram migrate exit %d: %s" % (rnd, m.returncode,
                                                                             m.stderr)
        up = UP_TO_DATE_RE.match(m.stdout.strip())
        assert up, "round %d: engram migrate printed %r, want 'schema is up to date at " \
            "version N (backend)'" % (rnd, m.stdout)
        version = int(up.group(1))
        assert version >= 1, m.stdout
        applied, lines = 0, []
        for p in procs:
            with open(p.log_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    hit = APPLIED_RE.search(line)
                    if hit:
                        applied += int(hit.group(1))
                        lines.append(hit.group(0))
        assert applied == version, "round %d: the processes applied %d migration steps in all " \
            "(%r), want each of the %d steps exactly once" % (rnd, applied, lines, version)
    finally:
        rcs = [p.stop() for p in procs]
    assert rcs == [0] * len(procs), "round %d: exit codes after SIGTERM %r" % (rnd, rcs)


if __name__ == "__main__":
    main()
