"""17-restore-codes: the compact vector codes of copied memories (issue 22; spec/backup-snapshots.md
§5, README "Fork and diff").

A restore, and a fork as of an instant, copy each memory's code (memory_codes) with it. On
PostgreSQL the copy statement writes the copies' code rows itself, from the source rows and
the values it gives the copies (since issue 22's third pass not by joining the inserted rows
back); SQLite's triggers compute them from the rows. Either way every copied memory with a
vector must have exactly one code row whose filter columns (subject, tenant, kind, active,
created_at, valid_to) are its row's and whose code is its source's code and its vector's:
a semantic search filters on those columns, so a wrong `active` or `valid_to` would hide a
memory or show a superseded one. A fork as of an instant brings a memory superseded later
back active with no valid_to: its code row must say so too."""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pgctl  # noqa: E402
from harness import main, test, uid  # noqa: E402

ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}


def say(s, sid, text):
    return s.create(sid, payload={"messages": [{"role": "user", "content": text}]})


def compile_(s, sid):
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200, r


def seeded(s):
    """A subject with an active fact, one superseded by a later fact, and summaries."""
    sid = uid("codes-src")
    say(s, sid, "I work at Acme.")
    say(s, sid, "I live in Lyon.")
    compile_(s, sid)
    later = say(s, sid, "I work at Globex.")
    compile_(s, sid)
    mems = s.timeline(sid)["memories"]
    assert {m["status"] for m in mems} == {"active", "superseded"}, mems
    return sid, later


def semantic(s, subject, tenant=None):
    """A semantic search of subject: SQLite computes the codes of new vectors then."""
    r = s.get("/v1/memories/search", query={"subject_id": subject, "q": "work",
                                            "mode": "semantic"}, tenant=tenant)
    assert r.status == 200, r
    return r.body["memories"]


def code_rows(s, subject):
    """(content, status, the row's filter columns, the code row's, code hex, vector hex) of every
    memory of subject with a vector; the code row's columns are None when it has none."""
    url = s.database_url
    if pgctl.is_postgres(url):
        sql = ("SELECT m.content, m.status, m.subject_id, COALESCE(m.tenant_id, ''), m.kind,"
               " (m.status = 'active')::text, m.created_at::text, m.valid_to::text,"
               " c.subject_id, c.tenant_key, c.kind, c.active::text, c.created_at::text,"
               " c.valid_to::text, encode(c.code, 'hex'), encode(m.embedding, 'hex'),"
               " (SELECT count(*) FROM memory_codes x WHERE x.memory_id = m.id)"
               " FROM memories m LEFT JOIN memory_codes c ON c.memory_id = m.id"
               " WHERE m.subject_id = '%s' AND m.embedding IS NOT NULL ORDER BY m.content,"
               " m.status" % subject)
    else:
        sql = ("SELECT m.content, m.status, m.subject_id, COALESCE(m.tenant_id, ''), m.kind,"
               " m.status = 'active', m.created_at, m.valid_to, c.subject_id,"
               " COALESCE(c.tenant_id, ''), c.kind, c.active, c.created_at, c.valid_to,"
               " lower(hex(c.code)), lower(hex(m.embedding)),"
               " (SELECT count(*) FROM memory_codes x WHERE x.seq = m.seq)"
               " FROM memories m LEFT JOIN memory_codes c ON c.seq = m.seq"
               " WHERE m.subject_id = '%s' AND m.embedding IS NOT NULL ORDER BY m.content,"
               " m.status" % subject)
    out = []
    for r in pgctl.query(url, sql):
        assert r[16] == "1", "memory %r of %s has %s code rows" % (r[0], subject, r[16])
        out.append((r[0], r[1], r[2:8], r[8:14], r[14], r[15]))
    return out


def check_copy(s, source, target, tenant, revived=()):
    """Every memory of target with a vector has one code row: its own filter columns, its
    source's code (the source memory of the same content), and its vector's code."""
    src = {}
    for content, status, _row, _codes, code, _vec in code_rows(s, source):
        src.setdefault(content, set()).add(code)
    got = code_rows(s, target)
    assert got, "no memory with a vector in %s" % target
    for content, status, row, codes, code, vec in got:
        assert codes == row, "code row of %r in %s: %r, its memory row: %r" % (
            content, target, codes, row)
        assert row[0] == target and (row[1] or "") == (tenant or ""), row
        assert code == pgctl.vector_code(bytes.fromhex(vec)).hex(), content
        assert code in src[content], "the code of %r is not its source's" % content
        if content in revived:
            assert status == "active" and row[5] is None, (content, status, row)
    return got


@test("17.1 a restore copies every code row with the copy's own columns", env=ON)
def _(s):
    sid, _ = seeded(s)
    r = s.post("/admin/snapshots", {"name": uid("codes"), "source_subject_id": sid})
    assert r.status == 200 and r.body["status"] == "created", r
    snap_id, hidden = r.body["id"], "_snapshot/%s/v1" % r.body["name"]
    semantic(s, sid)
    before = code_rows(s, hidden)
    assert before and all(g[3] == g[2] for g in before), [g[:4] for g in before]
    tenant, dst = uid("codes-t"), uid("codes-dst")
    r = s.post("/admin/snapshots/%s/restore" % snap_id,
               {"target_subject_id": dst, "target_tenant_id": tenant})
    assert r.status == 200 and r.body["memories_restored"] >= 4, r
    semantic(s, dst, tenant=tenant)
    got = check_copy(s, sid, dst, tenant)
    assert len(got) == r.body["memories_restored"], [g[:4] for g in got]
    # the superseded fact stays superseded, with its shifted valid_to, in its code row too
    sup = [g for g in got if g[1] == "superseded"]
    assert len(sup) == 1 and sup[0][3][3] in ("false", "0") and sup[0][3][5] is not None, \
        [g[:4] for g in got]
    # the snapshot's own rows and codes are as they were, and the copies carry its codes
    assert code_rows(s, hidden) == before
    assert sorted(g[4] for g in before) == sorted(g[4] for g in got)


@test("17.2 a fork as of an instant: a memory superseded later comes back active in its code "
      "row", env=ON)
def _(s):
    sid, later = seeded(s)
    semantic(s, sid)
    at = datetime.datetime.fromisoformat(later["created_at"].replace("Z", "+00:00"))
    at -= datetime.timedelta(microseconds=1)
    dst = uid("codes-fork")
    r = s.post("/admin/subjects/%s/fork" % sid, {
        "target_subject_id": dst,
        "as_of": at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    assert r.status == 201, r
    semantic(s, dst)
    got = check_copy(s, sid, dst, None, revived=("I work at Acme",))
    assert [g for g in got if g[0] == "I work at Acme"], [g[:4] for g in got]
    assert all(g[1] == "active" for g in got), [g[:4] for g in got]


if __name__ == "__main__":
    main()
