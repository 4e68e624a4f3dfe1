"""52-restore-independence: a restored subject and its snapshot share no data
(spec/backup-snapshots.md §5; issue 22).

A restore copies the snapshot's rows, and with them what the store derives from each row: the
compact vector code (memory_codes, copied from the source's code since issue 22 on PostgreSQL),
the text and full-text index entries, and the subject's explorer counters (subject_stats, noted
once per statement on PostgreSQL since issue 22). Retiring a snapshot (a database operation:
spec §5.9) must leave every restored subject whole, and deleting a restored subject must leave
the snapshot (and the other restores) whole: the export byte for byte, every vector and its
code, text, bm25 and semantic search, and the counters."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pgctl  # noqa: E402
from harness import main, q, test, uid  # noqa: E402

ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
TEXTS = ["My name is Alice Moreau.", "I work at Globex Corporation.",
         "I use Neovim and Rust every day.", "I live in Lyon near the river.",
         "My favourite colour is teal."]


def seed(s, subject):
    """Five episodes in two sessions and one without, compiled (stub vectors)."""
    for i, text in enumerate(TEXTS):
        over = {"payload": {"text": text}}
        if i < 4:
            over["session_id"] = "sess-%d" % (i % 2)
        s.create(subject, **over)
    r = s.post("/v1/memories/compile", {"subject_id": subject})
    assert r.status == 200 and r.body["memories_created"] >= len(TEXTS), r


def snapshot(s, source):
    r = s.post("/admin/snapshots", {"name": uid("ind"), "source_subject_id": source})
    assert r.status == 200 and r.body["status"] == "created", r
    return r.body["id"], "_snapshot/%s/v1" % r.body["name"]


def restore(s, snap_id, target):
    r = s.post("/admin/snapshots/%s/restore" % snap_id, {"target_subject_id": target})
    assert r.status == 200, r
    return r.body


def export(s, subject):
    """The export document as sent, bytes, without its exported_at (the time of the call)."""
    r = s.get("/admin/export/%s" % q(subject))
    assert r.status == 200, r
    raw, n = re.subn(rb'"exported_at":"[^"]*",', b"", r.raw, count=1)
    assert n == 1 and b'"embedding":[' in raw, r.raw[:200]
    return raw


def search(s, subject, **query):
    query["subject_id"] = subject
    r = s.get("/v1/memories/search", query=query)
    assert r.status == 200, r
    return [(m["id"], m["content"]) for m in r.body["memories"]]


def searches(s, subject):
    """Text, bm25 and semantic answers of subject (ids and contents)."""
    return {
        "text": search(s, subject, q="globex"),
        "text_all": search(s, subject, q="e", limit=100),
        "bm25": search(s, subject, q="rust neovim", mode="bm25"),
        "semantic": search(s, subject, q=TEXTS[3], mode="semantic", limit=3),
    }


def vectors_raw(s, subject):
    """(memory id, vector hex, code hex or None) of every memory of subject with a vector, as a
    semantic search reads them (SQLite computes the codes of new vectors then: schema step 19,
    search_codes_deferred; a search of any subject does it for every memory, and a hidden
    snapshot subject is not searched)."""
    search(s, "codes-sync", q=TEXTS[0], mode="semantic", limit=1)
    if pgctl.is_postgres(s.database_url):
        sql = ("SELECT m.id::text, encode(m.embedding, 'hex'), encode(c.code, 'hex')"
               " FROM memories m LEFT JOIN memory_codes c ON c.memory_id = m.id"
               " WHERE m.subject_id = '%s' AND m.embedding IS NOT NULL ORDER BY m.id" % subject)
    else:
        sql = ("SELECT m.id, lower(hex(m.embedding)),"
               " CASE WHEN c.code IS NOT NULL THEN lower(hex(c.code)) END"
               " FROM memories m LEFT JOIN memory_codes c ON c.seq = m.seq"
               " WHERE m.subject_id = '%s' AND m.embedding IS NOT NULL ORDER BY m.id" % subject)
    rows = pgctl.query(s.database_url, sql)
    return rows


def vectors(s, subject):
    """vectors_raw, each code checked against the one computed from its vector."""
    rows = vectors_raw(s, subject)
    for mid, vec, code in rows:
        assert code is not None, "memory %s of %s has a vector and no code" % (mid, subject)
        assert code == pgctl.vector_code(bytes.fromhex(vec)).hex(), \
            "memory %s of %s: the code is not its vector's" % (mid, subject)
    return rows


def counters(s, subject):
    """subject_stats of (no tenant, subject), checked against a count of its rows."""
    if pgctl.is_postgres(s.database_url):
        row_sql = ("SELECT episode_count, memory_count, session_count, open_sessions,"
                   " last_episode_at = (SELECT max(created_at) FROM episodes"
                   " WHERE subject_id = '%s' AND tenant_id IS NULL)"
                   " FROM subject_stats WHERE subject_id = '%s' AND tenant_id IS NULL")
    else:
        row_sql = ("SELECT episode_count, memory_count, session_count, open_sessions,"
                   " CASE WHEN last_episode_at = (SELECT max(created_at) FROM episodes"
                   " WHERE subject_id = '%s' AND tenant_id IS NULL) THEN 't' ELSE 'f' END"
                   " FROM subject_stats WHERE subject_id = '%s' AND tenant_id IS NULL")
    rows = pgctl.query(s.database_url, row_sql % (subject, subject))
    truth = pgctl.query(s.database_url,
                        "SELECT (SELECT count(*) FROM episodes WHERE subject_id = '%s'),"
                        " (SELECT count(*) FROM memories WHERE subject_id = '%s'),"
                        " (SELECT count(DISTINCT session_id) FROM episodes"
                        " WHERE subject_id = '%s')" % (subject, subject, subject))[0]
    if truth[0] == "0" and truth[1] == "0":
        assert rows == [], "no rows left, yet a counter row for %s: %r" % (subject, rows)
        return None
    assert len(rows) == 1, "counters of %s: %r" % (subject, rows)
    ep, mem, sessions, open_, last_ok = rows[0]
    assert (ep, mem, sessions) == truth, "counters of %s %r, rows %r" % (subject, rows, truth)
    assert open_ == "0" and last_ok == "t", rows
    return rows[0]


def state(s, subject):
    return {"export": export(s, subject), "search": searches(s, subject),
            "vectors": vectors(s, subject), "counters": counters(s, subject)}


def drop_snapshot(s, snap_id, source):
    """Retire the snapshot the way an operator would (spec §5.9: a database operation)."""
    for table in ("memories", "episodes", "resolutions"):
        pgctl.run_sql(s.database_url, "DELETE FROM %s WHERE subject_id = '%s'" % (table, source))
    pgctl.run_sql(s.database_url, "DELETE FROM subject_snapshots WHERE id = '%s'" % snap_id)


@test("52.1 a restored subject keeps every row, vector, code, search answer and counter when "
      "its snapshot is deleted", env=ON)
def _(s):
    src, a = uid("src"), uid("rst")
    seed(s, src)
    snap_id, hidden = snapshot(s, src)
    body = restore(s, snap_id, a)
    assert body["memories_restored"] >= len(TEXTS) and body["episodes_restored"] == len(TEXTS)
    before = state(s, a)
    assert len(before["vectors"]) == body["memories_restored"], before["vectors"]
    assert before["search"]["semantic"][0][1] == TEXTS[3], before["search"]
    assert before["search"]["text"] and before["search"]["bm25"], before["search"]
    assert before["counters"][:3] == (str(len(TEXTS)), str(body["memories_restored"]), "2")
    # the copy's codes are the source's, and its ids are new
    src_vecs = vectors(s, hidden)
    assert sorted(v[1:] for v in src_vecs) == sorted(v[1:] for v in before["vectors"])
    assert not {v[0] for v in src_vecs} & {v[0] for v in before["vectors"]}
    drop_snapshot(s, snap_id, hidden)
    assert vectors(s, hidden) == [] and counters(s, hidden) is None
    assert state(s, a) == before
    r = s.post("/admin/snapshots/%s/restore" % snap_id, {"target_subject_id": uid("gone")})
    assert r.status == 404, r


@test("52.2 deleting a restored subject leaves the snapshot and the other restores whole; a "
      "later restore is complete", env=ON)
def _(s):
    src, a, b, c = uid("src"), uid("rst"), uid("rst"), uid("rst")
    seed(s, src)
    snap_id, hidden = snapshot(s, src)
    restore(s, snap_id, a)
    restore(s, snap_id, b)
    hidden_before = vectors(s, hidden)
    b_before = state(s, b)
    a_before = state(s, a)
    r = s.delete("/v1/subjects/%s" % q(a))
    assert r.status == 200, r
    assert vectors(s, a) == [] and counters(s, a) is None
    assert vectors(s, hidden) == hidden_before
    assert state(s, b) == b_before
    restore(s, snap_id, c)
    c_state = state(s, c)
    assert sorted(v[1:] for v in c_state["vectors"]) == sorted(v[1:] for v in hidden_before)
    assert c_state["counters"] == a_before["counters"]
    for kind in ("text", "text_all", "bm25", "semantic"):
        assert [m[1] for m in c_state["search"][kind]] == \
            [m[1] for m in a_before["search"][kind]], kind


@test("52.3 a restore of a snapshot whose source vector lost its code computes the code", env=ON)
def _(s):
    src, a = uid("src"), uid("rst")
    seed(s, src)
    snap_id, hidden = snapshot(s, src)
    assert all(v[2] for v in vectors_raw(s, hidden))   # every code there (SQLite: computed now)
    if pgctl.is_postgres(s.database_url):
        pgctl.run_sql(s.database_url, "DELETE FROM memory_codes WHERE memory_id = (SELECT id"
                      " FROM memories WHERE subject_id = '%s' AND embedding IS NOT NULL"
                      " ORDER BY id LIMIT 1)" % hidden)
    else:
        pgctl.run_sql(s.database_url, "DELETE FROM memory_codes WHERE seq = (SELECT seq"
                      " FROM memories WHERE subject_id = '%s' AND embedding IS NOT NULL"
                      " ORDER BY id LIMIT 1)" % hidden)
    uncoded = [v for v in vectors_raw(s, hidden) if v[2] is None]
    assert len(uncoded) == 1, uncoded
    body = restore(s, snap_id, a)
    got = vectors(s, a)
    assert len(got) == body["memories_restored"], got
    assert search(s, a, q=TEXTS[3], mode="semantic", limit=1)[0][1] == TEXTS[3]


if __name__ == "__main__":
    main()
