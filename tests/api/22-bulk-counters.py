"""22-bulk-counters: the derived counters stay exact through every bulk write path (issue 18).

SQLite's bulk paths keep subject_stats, usage_daily and context_gen from C, one upsert per run
of rows, while the per-row triggers stand aside (schema step counters_bulk_writes,
src/store/sqlite/sqlite_counters.c). Here, with sessions new and known, two tenants and
several days: batch ingest, compile, subject import (new ids, then the same ids under another
subject), memory-payload import, snapshot capture and restore, clone and fork; after each,
every subject_stats row must equal a recount of the tables (37's check), GET /admin/usage and
/admin/dashboard must equal a scan of the tables (36's), and on SQLite the context generation
of each pair written must have moved. A subject import that fails after its episodes and part
of its memories were written (SQLite: an operator's trigger refuses the last memory) must
leave the counters and the generations exactly as they were. Runs on both backends (the
generation and the injected failure on SQLite only)."""

import hashlib
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import main, test, uid  # noqa: E402
import pgctl  # noqa: E402

stats37 = harness.helpers_of("37-admin-stats-updates.py")
usage36 = stats37.usage36

DUMP = ("SELECT 's', subject_id, COALESCE(tenant_id, ''), episode_count, memory_count,"
        " session_count, open_sessions, last_episode_at FROM subject_stats"
        " UNION ALL SELECT 'u', kind, tenant_key, day, n, NULL, NULL, NULL FROM usage_daily"
        " WHERE n <> 0")
GENS = "SELECT subject_id, tenant_key, gen FROM context_gen"


def sqlite(s):
    return not pgctl.is_postgres(s.database_url)


def gens(s):
    return {(r[0], r[1]): int(r[2]) for r in pgctl.query(s.database_url, GENS)}


def pairs_of(s, *subjects):
    """The (subject, tenant key) pairs of these subjects' episodes."""
    return [(r[0], r[1] or "") for r in pgctl.query(
        s.database_url, "SELECT DISTINCT subject_id, COALESCE(tenant_id, '') FROM episodes"
        " WHERE subject_id IN (%s)" % ", ".join("'%s'" % x for x in subjects))]


def check(s, tenants, what, moved=(), before=None):
    """Counters equal the tables; on SQLite every pair in moved has a new generation."""
    stats37.check_stats(s, what)
    usage36.check_all(s, tenants, what)
    if sqlite(s) and before is not None:
        now = gens(s)
        for pair in moved:
            assert now.get(pair, 0) > before.get(pair, 0), "%s: generation of %r did not " \
                "move (%r -> %r)" % (what, pair, before.get(pair), now.get(pair))


def export_doc(subject, n, day0, content=None):
    """A subject export document (spec/backup-snapshots.md §1): n episodes in sessions a/b/none
    over three days and n memories; content(i) overrides a memory's content."""
    eps, mems = [], []
    for i in range(n):
        t = "2026-03-%02dT10:00:%02d.000001+00:00" % (day0 + i % 3, i % 60)
        eid = str(uuid.uuid4())
        eps.append({"id": eid, "subject_id": subject, "tenant_id": None, "source": "chat",
                    "type": "message", "session_id": [None, "a", "b"][i % 3],
                    "payload": {"text": "note %d" % i}, "metadata": {}, "provenance": {},
                    "created_at": t, "last_compiled_at": None})
        mems.append({"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": None,
                     "kind": "profile_fact",
                     "content": content(i) if content else "fact %d" % i,
                     "summary": "", "confidence": 0.7, "valid_from": t, "valid_to": None,
                     "source_episode_ids": [eid], "metadata": {}, "status": "active",
                     "embedding": None, "created_at": t, "updated_at": t})
    canon = json.dumps({"episodes": eps, "memories": mems}, sort_keys=True)
    return {"format_version": "1.0", "exported_at": "2026-03-09T00:00:00.000000+00:00",
            "subject_id": subject, "tenant_id": None,
            "counts": {"episodes": n, "memories": n}, "episodes": eps, "memories": mems,
            "checksum": hashlib.sha256(canon.encode()).hexdigest()}


@test("22.1 subject_stats, usage_daily and the context generation follow batch ingest, "
      "compile, import, memory import, snapshot and restore, clone and fork",
      env={"STATEWAVE_ENABLE_SNAPSHOTS": "true"})
def _(s):
    t1, t2 = uid("t22"), uid("t22")
    src, imp, imp2, rst, cln, frk = (uid("s22") for _ in range(6))
    g0 = gens(s) if sqlite(s) else None

    # batch ingest: sessions new and known, two tenants
    items = [harness.episode(src, session_id=["x", "y", None][i % 3],
                             payload={"text": "I work at Initech. Note %d" % i})
             for i in range(30)]
    s.batch(items)
    s.batch(items[:5], tenant=t1)
    check(s, [t1, t2], "after batch ingest", [(src, ""), (src, t1)], g0)

    g0 = gens(s) if sqlite(s) else None
    r = s.post("/v1/memories/compile", {"subject_id": src})
    assert r.status == 200 and r.body["memories_created"] > 0, r
    r = s.post("/v1/memories/compile", {"subject_id": src}, tenant=t1)
    assert r.status == 200, r
    check(s, [t1, t2], "after compile", [(src, ""), (src, t1)], g0)

    g0 = gens(s) if sqlite(s) else None
    doc = export_doc(imp, 40, 1)
    r = s.post("/admin/import", {"document": doc, "preserve_ids": False})
    assert r.status == 200, r
    r = s.post("/admin/import", {"document": doc, "target_subject_id": imp2}, tenant=t2)
    assert r.status == 200, r
    assert len(pairs_of(s, imp, imp2)) == 2
    check(s, [t1, t2], "after subject imports", pairs_of(s, imp, imp2), g0)

    g0 = gens(s) if sqlite(s) else None
    r = s.post("/admin/memory/export", {"subject_ids": [src]})
    assert r.status == 200, r
    payload = r.body
    r = s.post("/admin/memory/import", {"payload": payload, "target_subject_id": cln})
    assert r.status in (200, 201), r
    check(s, [t1, t2], "after memory import", pairs_of(s, cln), g0)

    g0 = gens(s) if sqlite(s) else None
    r = s.post("/admin/snapshots", {"name": uid("n22"), "source_subject_id": src})
    assert r.status == 200, r
    r = s.post("/admin/snapshots/%s/restore" % r.body["id"], {"target_subject_id": rst})
    assert r.status == 200, r
    check(s, [t1, t2], "after snapshot and restore", pairs_of(s, rst), g0)

    g0 = gens(s) if sqlite(s) else None
    r = s.post("/admin/memory/clone", {"source_subject_id": src,
                                       "target_subject_id": uid("c22")})
    assert r.status == 200, r
    r = s.post("/admin/subjects/%s/fork" % src, {"target_subject_id": frk})
    assert r.status in (200, 201), r
    check(s, [t1, t2], "after clone and fork", pairs_of(s, frk), g0)


@test("22.2 a subject import that fails after writing rows changes no counter (SQLite: an "
      "operator's trigger refuses its last memory)")
def _(s):
    if not sqlite(s):
        return
    url, sub, name = s.database_url, uid("f22"), "t22_boom_%s" % uuid.uuid4().hex[:8]
    s.batch([harness.episode(sub, session_id="a")])
    check(s, [], "before the failed import")
    pgctl.run_sql(url, "CREATE TRIGGER %s BEFORE INSERT ON memories WHEN NEW.content ="
                       " 'boom-%s' BEGIN SELECT RAISE(ABORT, 'refused'); END" % (name, sub))
    try:
        before, g0 = sorted(pgctl.query(url, DUMP)), gens(s)
        doc = export_doc(sub, 30, 4, lambda i: "boom-%s" % sub if i == 29 else "fact %d" % i)
        r = s.post("/admin/import", {"document": doc, "target_subject_id": sub})
        assert r.status >= 400, r
        assert sorted(pgctl.query(url, DUMP)) == before, "the failed import changed counters"
        assert gens(s) == g0, "the failed import moved a generation"
        check(s, [], "after the failed import")
    finally:
        pgctl.run_sql(url, "DROP TRIGGER %s" % name)
    # the same document without the refused row goes in, counted
    g0 = gens(s)
    doc = export_doc(sub, 30, 4)
    r = s.post("/admin/import", {"document": doc, "target_subject_id": sub})
    assert r.status == 200, r
    check(s, [], "after the import", [(sub, "")], g0)


if __name__ == "__main__":
    main()
