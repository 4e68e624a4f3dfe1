"""70-backup: whole-database backups with each database's own tools (README "Backups";
spec/backup-snapshots.md §4).

SQLite run (70.1-70.4): `engram backup FILE` is an online, consistent copy taken while the
server keeps ingesting; a second server on the copy answers exactly what the original answered
at the moment of the copy; an existing FILE is refused.

PostgreSQL run (70.10-70.12): `pg_dump -Fc` + `pg_restore` into a new database, and plain
`pg_dump | psql` into another, give a server whose timelines are byte-identical and whose
/v1/subjects counts are equal; `engram backup` on PostgreSQL refuses with a message. New
databases go into the cluster of this run (ENGRAM_TEST_PG_CLUSTER); on a developer's own
database (no cluster named) the test starts its own cluster and fills a database there."""

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, engram_bin, episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402


def cli(args, database_url, cwd):
    """Run `bin/engram ARGS` on database_url (no other STATEWAVE_* setting, no .env)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = database_url
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=cwd, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# -- data ---------------------------------------------------------------------------------------

def fill(s, bulk=0):
    """Several subjects under two tenants and under no tenant, with sessions, unicode and
    numbers that must survive verbatim. bulk adds that many 100-episode batches of ~1.5 KB
    episodes (spread over their own subjects, ≤50 each) so the database has some size.
    Returns {tenant: [subject ids]} of everything written (tenant None = no header)."""
    tag = uid("bk")
    tenants = [None, uid("t-bk"), uid("t-bk2")]
    made = {}
    rng = random.Random(7)
    for ti, t in enumerate(tenants):
        subs = ["%s-%d-%s" % (tag, i, name) for i, name in
                enumerate(["plain", "Ünïcødé 日本語 🙂", "a/b:c?d=e&f", "sp ace", "x" * 40])]
        made[t] = subs
        for si, sub in enumerate(subs):
            items = []
            for k in range(12 + si):
                items.append(episode(
                    sub, source="src-%d" % (k % 3), type=["message", "note", "event"][k % 3],
                    payload={"text": "émoji 🙂 %d «quoted» \"q\" \\ \n tab\t" % k,
                             "n": [1e20, 0.1, -0.0, 12345678901234567, 1.5e-7, k],
                             "nested": {"deep": [True, False, None, {"k": "v"}]}},
                    metadata={"rank": k, "lang": "日本"}, provenance={"from": "test", "i": k},
                    session_id=None if k % 4 == 0 else "sess-%d" % (k % 3),
                    **({"idempotency_key": "key-%d" % k} if k % 5 == 0 else {})))
            s.batch(items[:7], tenant=t)
            for it in items[7:]:
                r = s.post("/v1/episodes", it, tenant=t)
                assert r.status == 201, r
    if bulk:
        t = tenants[1]
        subs = ["%s-bulk-%03d" % (tag, i) for i in range(max(1, bulk * 2))]
        made[t] = made[t] + subs
        for b in range(bulk):
            filler = "".join(rng.choice("abcdefghij ") for _ in range(1500))
            s.batch([episode(subs[(b * 100 + i) % len(subs)], payload={"b": b, "i": i,
                                                                         "fill": filler})
                     for i in range(100)], tenant=t)
    return made


def snapshot(s, made):
    """What a client can read about `made`: raw timeline bodies per (tenant, subject) and the
    raw /v1/subjects pages per tenant (all pages of limit 200)."""
    out = {"timeline": {}, "subjects": {}}
    for t, subs in made.items():
        for sub in subs:
            r = s.get("/v1/timeline", query={"subject_id": sub}, tenant=t)
            assert r.status == 200, r
            out["timeline"][(t, sub)] = r.raw
        pages, offset = [], 0
        while True:
            r = s.get("/v1/subjects", query={"limit": 200, "offset": offset}, tenant=t)
            assert r.status == 200, r
            pages.append(r.raw)
            if len(r.body["subjects"]) < 200:
                break
            offset += 200
        out["subjects"][t] = pages
    return out


def compare(want, got, what):
    problems = []
    for k, raw in want["timeline"].items():
        if got["timeline"].get(k) != raw:
            problems.append("timeline of %r (tenant %r) differs:\n  want %s\n  got  %s" % (
                k[1], k[0], raw[:300], (got["timeline"].get(k) or b"(none)")[:300]))
    for t, pages in want["subjects"].items():
        if got["subjects"].get(t) != pages:
            problems.append("/v1/subjects for tenant %r differs: want %d pages, got %d; first "
                            "page want %s got %s" % (t, len(pages), len(got["subjects"][t]),
                                                     pages[0][:300], got["subjects"][t][0][:300]))
    assert not problems, "%s: %d differences; %s" % (what, len(problems), "\n".join(problems[:4]))


# -- SQLite ------------------------------------------------------------------------------------

class Writer(threading.Thread):
    """Ingests sequentially into its own subjects (≤40 episodes each) until stopped; every
    third request is a batch of 3. acked is the list of acknowledged ids in commit order,
    with the time of each answer."""

    def __init__(self, s, tenant, name):
        super().__init__()
        self.s, self.tenant, self.name = s, tenant, name
        self.acked = []          # (id, subject, monotonic time of the answer)
        self.batches = []        # lists of ids acknowledged together
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def subject(self, n):
        return "%s-%02d" % (self.name, n // 40)

    def run(self):
        n = i = 0
        while not self.stop.is_set() and len(self.errors) < 5:
            try:
                if i % 3 == 2:
                    subs = [self.subject(n + k) for k in range(3)]
                    r = self.s.post("/v1/episodes/batch", {"episodes": [
                        episode(sub, payload={"w": self.name, "n": n + k})
                        for k, sub in enumerate(subs)]}, tenant=self.tenant)
                    ok = r.status == 201
                    eps = r.body["episodes"] if ok else []
                else:
                    subs = [self.subject(n)]
                    r = self.s.post("/v1/episodes", episode(subs[0], payload={
                        "w": self.name, "n": n}), tenant=self.tenant)
                    ok = r.status == 201
                    eps = [r.body] if ok else []
            except Exception as e:  # noqa: BLE001
                self.errors.append("%s: %s" % (type(e).__name__, e))
                continue
            if not ok:
                self.errors.append(repr(r))
                continue
            now = time.monotonic()
            with self.lock:
                for sub, ep in zip(subs, eps):
                    self.acked.append((ep["id"], sub, now))
                if len(eps) > 1:
                    self.batches.append([ep["id"] for ep in eps])
            n += len(eps)
            i += 1

    def count(self):
        with self.lock:
            return len(self.acked)


def sqlite_file(url):
    assert url.startswith("sqlite:///"), url
    return url[len("sqlite://"):]


_sq = {}


def sqlite_backup_scenario(s):
    """Fill, back up while two writers ingest, start a server on the copy (once)."""
    if _sq:
        if "crash" in _sq:
            raise AssertionError("the backup scenario could not run: " + _sq["crash"])
        return _sq
    try:
        _sqlite_backup_scenario(s)
    except Exception as e:
        _sq["crash"] = "%s: %s" % (type(e).__name__, e)
        raise
    return _sq


def _sqlite_backup_scenario(s):
    made = fill(s, bulk=40)
    before = snapshot(s, made)
    wt = uid("t-live")
    writers = [Writer(s, wt, uid("live")) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        deadline = time.monotonic() + 10
        while min(w.count() for w in writers) < 30:
            assert time.monotonic() < deadline, "the writers acknowledged nothing: %r" % (
                [w.errors[:1] for w in writers],)
            time.sleep(0.01)
        target = os.path.join(s.workdir, "backup-%s.db" % uid("f"))
        t_start = time.monotonic()
        r = cli(["backup", target], s.database_url, s.workdir)
        t_end = time.monotonic()
        time.sleep(0.2)
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join()
    _sq.update(dict(made=made, before=before, writers=writers, wt=wt, target=target,
                    t_start=t_start, t_end=t_end, rc=r.returncode, stdout=r.stdout,
                    stderr=r.stderr, after=snapshot(s, made)))
    assert r.returncode == 0, "engram backup exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    _sq["leftovers"] = sorted(f for f in os.listdir(s.workdir)
                              if f.startswith(os.path.basename(target)) and
                              f != os.path.basename(target))
    with sqlite3.connect("file:%s?mode=ro" % target, uri=True) as db:
        _sq["integrity"] = db.execute("PRAGMA integrity_check").fetchall()
    copy = Server(database_url="sqlite:///" + target, workdir=s.workdir,
                  name=s.name + "-from-backup")
    copy.start()
    try:
        _sq["copy"] = snapshot(copy, made)
        live = {}
        for w in writers:
            subs = sorted({sub for _, sub, _ in w.acked})
            live[w.name] = [(sub, copy.timeline(sub, tenant=wt)["episodes"]) for sub in subs]
        _sq["live"] = live
        _sq["live_listing"] = copy.all_subjects(wt)
        _sq["copy_ready"] = copy.get("/readyz").status
    finally:
        _sq["copy_rc"] = copy.stop()


if pgctl.backend() == "sqlite":

    @test("70.1 `engram backup FILE` while two writers ingest: exit 0, message, a valid "
          "standalone file")
    def _(s):
        st = sqlite_backup_scenario(s)
        assert st["stdout"].strip() == "backed up %s to %s" % (s.database_url, st["target"]), \
            "stdout %r" % st["stdout"]
        assert st["integrity"] == [("ok",)], "PRAGMA integrity_check: %r" % (st["integrity"],)
        assert st["leftovers"] == [], "files left next to the backup: %r" % st["leftovers"]
        assert st["copy_ready"] == 200 and st["copy_rc"] == 0, (st["copy_ready"], st["copy_rc"])
        for w in st["writers"]:
            assert not w.errors, "a writer failed during the backup: %r" % w.errors[:3]

    @test("70.2 a server on the copy answers byte-identical timelines and /v1/subjects for "
          "every subject filled before the backup (tenants, sessions, unicode)")
    def _(s):
        st = sqlite_backup_scenario(s)
        compare(st["before"], st["after"], "the original changed while backing up (test bug)")
        compare(st["before"], st["copy"], "server on the backup vs the original")

    @test("70.3 episodes ingested during the backup: the copy holds exactly a prefix of each "
          "writer's acknowledged episodes, everything acknowledged before it started, batches "
          "whole")
    def _(s):
        st = sqlite_backup_scenario(s)
        total_in = during = 0
        for w in st["writers"]:
            order = [eid for eid, _, _ in w.acked]
            pos = {eid: i for i, eid in enumerate(order)}
            got = [e["id"] for _, eps in st["live"][w.name] for e in eps]
            total_in += len(got)
            unknown = [i for i in got if i not in pos]
            assert not unknown, "writer %s: %d episodes in the backup were never acknowledged" \
                % (w.name, len(unknown))
            got_sorted = sorted(got, key=pos.get)
            assert got_sorted == order[:len(got)], "writer %s: the backup is not a consistent " \
                "cut (holds %d episodes, not the first %d acknowledged)" % (w.name, len(got),
                                                                           len(got))
            must = [eid for eid, _, t in w.acked if t < st["t_start"]]
            assert len(got) >= len(must), "writer %s: %d episodes acknowledged before the " \
                "backup started, only %d in it" % (w.name, len(must), len(got))
            have = set(got)
            for b in w.batches:
                inside = [i in have for i in b]
                assert all(inside) or not any(inside), "a batch is split by the backup: %r" % b
            for sub, eps in st["live"][w.name]:
                assert len(eps) < 100
            during += sum(1 for _, _, t in w.acked if st["t_start"] <= t < st["t_end"])
        assert during > 0, "no write was acknowledged while `engram backup` ran (%.3f s): " \
            "the test did not overlap" % (st["t_end"] - st["t_start"])
        listing = {it["subject_id"]: it["episode_count"] for it in st["live_listing"]}
        want = {sub: len(eps) for w in st["writers"] for sub, eps in st["live"][w.name] if eps}
        assert listing == want, "counts in the copy's /v1/subjects %r, timelines say %r" \
            % (listing, want)
        assert sum(listing.values()) == total_in

    @test("70.4 `engram backup` to an existing file (a backup, or any file) exits non-zero with "
          "a message and leaves the file untouched")
    def _(s):
        st = sqlite_backup_scenario(s)
        other = os.path.join(s.workdir, "notes-%s.txt" % uid("f"))
        with open(other, "w") as f:
            f.write("not a database\n")
        for path in (st["target"], other):
            before = sha(path)
            r = cli(["backup", path], s.database_url, s.workdir)
            assert r.returncode != 0, "backup over %s: exit 0: %s" % (path, r.stdout)
            assert "exist" in r.stderr and path in r.stderr, "stderr %r" % r.stderr
            assert "backed up" not in r.stdout, r.stdout
            assert sha(path) == before, "%s was modified" % path
            assert not os.path.exists(path + ".tmp"), "a .tmp file was left"

    @test("70.5 two `engram backup` processes started at once to the same new file: exactly "
          "one succeeds, the other says why, and the file is a complete copy")
    def _(s):
        sqlite_backup_scenario(s)   # the database holds ~7 MB by now
        outcomes = []
        for attempt in range(20):
            path = os.path.join(s.workdir, "twice-%d-%s.db" % (attempt, uid("f")))
            procs = []
            env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
            env["STATEWAVE_DATABASE_URL"] = s.database_url
            for _ in range(2):
                procs.append(subprocess.Popen([engram_bin(), "backup", path], env=env,
                                              cwd=s.workdir, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True))
            res = [(p.wait(60), *p.communicate()) for p in procs]
            rcs = sorted(rc for rc, _, _ in res)
            exists = os.path.exists(path)
            ok = exists
            if exists:
                with sqlite3.connect("file:%s?mode=ro" % path, uri=True) as db:
                    ok = db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            outcomes.append((rcs, exists, ok, [e.strip()[-160:] for rc, _, e in res if rc]))
            for leftover in (path, path + ".tmp"):
                if os.path.exists(leftover):
                    os.remove(leftover)   # ~10 MB each; failed runs keep the directory
        bad = [o for o in outcomes if o[0][0] != 0 or o[0][1] == 0 or not o[2]]
        assert not bad, "%d of %d attempts went wrong (exit codes, file exists, file valid, " \
            "messages): %r" % (len(bad), len(outcomes), bad[:3])

if pgctl.backend() == "postgres":

    _pg = {}

    def pg_source(s):
        """(cluster, server to dump, its database URL, databases we created)."""
        if _pg:
            return _pg
        if os.environ.get("ENGRAM_TEST_PG_CLUSTER"):
            _pg.update(cluster=pgctl.Cluster.shared_or_own(), src=s, own_src=None, made=[])
        else:
            cluster = pgctl.Cluster.start()
            url = cluster.createdb(pgctl.dbname("engram_bksrc"))
            src = Server(database_url=url, workdir=s.workdir, name=s.name + "-src")
            src.start()
            _pg.update(cluster=cluster, src=src, own_src=src, made=[])
        _pg["made_data"] = fill(_pg["src"])
        _pg["want"] = snapshot(_pg["src"], _pg["made_data"])
        return _pg

    def check_restored(s, st, url, label):
        srv = Server(database_url=url, workdir=s.workdir, name="%s-%s" % (s.name, label))
        srv.start()
        try:
            got = snapshot(srv, st["made_data"])
            compare(st["want"], got, "server on the %s copy vs the original" % label)
            with open(srv.log_path, encoding="utf-8", errors="replace") as f:
                log = f.read()
            assert "applied" not in log, "migrations ran on the restored database: %s" % log[-800:]
            # The copy is a working database: sequences and indexes came along.
            t = next(t for t in st["made_data"] if t is not None)
            sub = st["made_data"][t][0]
            dup = srv.post("/v1/episodes", episode(sub, idempotency_key="key-0"), tenant=t)
            assert dup.status == 201, dup
            old = [e["id"] for e in srv.timeline(sub, tenant=t)["episodes"]]
            assert dup.body["id"] in old, "idempotency index lost in the copy: %r" % (dup,)
            new = srv.create(sub, tenant=t)
            after = [e["id"] for e in srv.timeline(sub, tenant=t)["episodes"]]
            assert after == old + [new["id"]], "a new episode is not last: %r" % (after,)
        finally:
            rc = srv.stop()
        assert rc == 0, "server on the %s copy: exit %r" % (label, rc)

    def finish_pg():
        st = _pg
        for name in st.get("made", []):
            st["cluster"].dropdb(name)
        if st.get("own_src") is not None:
            st["own_src"].stop()
        st["cluster"].close()

    @test("70.10 pg_dump -Fc, pg_restore into a new database: a server on it answers "
          "byte-identical timelines and equal /v1/subjects")
    def _(s):
        st = pg_source(s)
        dump = os.path.join(s.workdir, "engram-%s.dump" % uid("d"))
        r = pgctl.run([pgctl.pg_bin("pg_dump"), "-Fc", "-f", dump, st["src"].database_url])
        assert r.returncode == 0, "pg_dump exit %d: %s" % (r.returncode, r.stderr)
        name = pgctl.dbname("engram_restored")
        st["made"].append(name)
        url = st["cluster"].createdb(name)
        r = pgctl.run([pgctl.pg_bin("pg_restore"), "--exit-on-error", "-d", url, dump])
        assert r.returncode == 0 and not r.stderr.strip(), "pg_restore exit %d: %s" \
            % (r.returncode, r.stderr)
        check_restored(s, st, url, "pg_restore")

    @test("70.11 plain pg_dump piped to psql into a new database: same answers")
    def _(s):
        st = pg_source(s)
        name = pgctl.dbname("engram_plain")
        st["made"].append(name)
        url = st["cluster"].createdb(name)
        dump = subprocess.Popen([pgctl.pg_bin("pg_dump"), st["src"].database_url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        psql = subprocess.Popen([pgctl.pg_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-d", url], stdin=dump.stdout, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        dump.stdout.close()
        out, err = psql.communicate(timeout=120)
        derr = dump.stderr.read().decode("utf-8", "replace")
        drc = dump.wait(30)
        assert drc == 0, "pg_dump exit %d: %s" % (drc, derr)
        assert psql.returncode == 0, "psql exit %d: %s" % (psql.returncode, err)
        check_restored(s, st, url, "plain-sql")

    @test("70.12 `engram backup FILE` on PostgreSQL exits non-zero, points to pg_dump, writes "
          "nothing")
    def _(s):
        try:
            path = os.path.join(s.workdir, "pg-%s.db" % uid("f"))
            r = cli(["backup", path], s.database_url, s.workdir)
            assert r.returncode != 0, "exit 0: %s" % r.stdout
            assert "pg_dump" in r.stderr, "stderr %r" % r.stderr
            assert not os.path.exists(path) and not os.path.exists(path + ".tmp")
        finally:
            if _pg:
                finish_pg()


if __name__ == "__main__":
    main()
