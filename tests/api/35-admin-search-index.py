"""35-admin-search-index: GET /admin/subjects?search= read through the subject-id index
(issue 16; spec/api.md §7.4: a case-insensitive substring of subject_id, LIKE wildcards not
escaped).

SQLite answers a selective pattern through an FTS5 trigram index (schema step 15), PostgreSQL
through a pg_trgm GIN index; any other pattern (shorter than 3 literal characters, mostly
wildcards, or matching most ids) walks a sort index. A property test compares the answer to a
scan computed here from the ids ingested: random ids and patterns over a small alphabet that
holds both cases, `%`, `_` and `\\`, short patterns, every sort order, pages and the total,
after deletes and re-ingest. The reference is each backend's own LIKE: SQLite's is
case-insensitive for ASCII and has no escape character; PostgreSQL's ILIKE escapes with `\\`.
Every query is scoped by a random tenant (the database may be shared). Runs on both backends."""

import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

ALPHABET = "aAbBcC-_%\\x1"


def like_regex(pattern, postgres):
    """The backend's `ILIKE '%' || pattern || '%'` as a Python regex (on PostgreSQL a
    trailing `\\` escapes the closing `%`)."""
    full, out, i = "%" + pattern + "%", [], 0
    while i < len(full):
        c = full[i]
        if postgres and c == "\\" and i + 1 < len(full):
            i += 1
            out.append(re.escape(full[i]))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(pattern, subject, postgres):
    """ASCII-only case folding: every id and pattern here is ASCII, where both agree."""
    return like_regex(pattern.lower(), postgres).fullmatch(subject.lower()) is not None


def list_all(s, tenant, search, sort_by="subject_id", order="asc", limit=200, offset=0):
    r = s.get("/admin/subjects", query={"tenant_id": tenant, "search": search,
                                        "sort_by": sort_by, "sort_order": order,
                                        "limit": limit, "offset": offset})
    assert r.status == 200, (search, r)
    return r.body


def ingest_ids(s, tenant, counts):
    """counts: {subject_id: number of episodes}, ingested in batches of 100."""
    items = []
    for sid, n in counts.items():
        items += [{"subject_id": sid, "source": "chat", "type": "message",
                   "payload": {"text": "m%d" % i}} for i in range(n)]
    for k in range(0, len(items), 100):
        s.batch(items[k:k + 100], tenant=tenant)


def random_pattern(rng, ids):
    kind = rng.random()
    if kind < 0.4 and ids:                    # a piece of a real id, maybe recased
        sid = rng.choice(ids)
        a = rng.randrange(len(sid))
        piece = sid[a:a + rng.randint(1, 6)]
        return "".join(c.upper() if rng.random() < 0.3 else c for c in piece)
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5)))


def check_query(s, tenant, counts, pattern, postgres, rng):
    want = sorted(sid for sid in counts if matches(pattern, sid, postgres))
    body = list_all(s, tenant, pattern)
    got = [x["subject_id"] for x in body["subjects"]]
    assert body["total"] == len(want), (pattern, body["total"], want)
    assert got == want, (pattern, got, want)
    for x in body["subjects"]:
        assert x["episode_count"] == counts[x["subject_id"]], (pattern, x)
    if len(want) > 2:                          # a page in the middle, another order
        off = rng.randrange(1, len(want))
        body = list_all(s, tenant, pattern, order="desc", limit=2, offset=off)
        assert body["total"] == len(want), (pattern, body)
        assert [x["subject_id"] for x in body["subjects"]] == want[::-1][off:off + 2], \
            (pattern, off, body)
        body = list_all(s, tenant, pattern, sort_by="episode_count", order="desc")
        by_count = sorted(want, key=lambda sid: (counts[sid], sid), reverse=True)
        assert [x["subject_id"] for x in body["subjects"]] == by_count, \
            (pattern, [x["subject_id"] for x in body["subjects"]], by_count)


@test("35.1 search matches a scan: random ids and patterns (case, %, _, \\, short), pages, "
      "total, every sort")
def _(s):
    postgres = pgctl.is_postgres(s.database_url)
    rng = random.Random(uid("seed"))
    tenant = uid("t35")
    ids = set()
    while len(ids) < 120:
        ids.add("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 9))))
    counts = {sid: rng.randint(1, 3) for sid in ids}
    ingest_ids(s, tenant, counts)
    patterns = ["a", "A", "%", "_", "__", "\\", "%%", "ab", "aB", "-x", "a_c", "a%c", "zzz",
                "aaa", "\\%", "\\_", "x1"]
    patterns += [random_pattern(rng, sorted(ids)) for _ in range(60)]
    for pattern in patterns:
        check_query(s, tenant, counts, pattern, postgres, rng)
    # Deletes and re-ingest keep the index in step.
    gone = rng.sample(sorted(ids), 30)
    for sid in gone:
        r = s.delete("/admin/subjects/" + q(sid), query={"tenant_id": tenant})
        assert r.status == 200, (sid, r)
        del counts[sid]
    back = gone[:10]
    ingest_ids(s, tenant, {sid: 2 for sid in back})
    counts.update({sid: 2 for sid in back})
    for pattern in patterns[:40]:
        check_query(s, tenant, counts, pattern, postgres, rng)


@test("35.2 a subject in two tenants: deleting one pair keeps the other searchable")
def _(s):
    p = uid("two")
    t1, t2 = uid("t1"), uid("t2")
    s.create(p + "-shared", tenant=t1)
    s.create(p + "-shared", tenant=t2)
    r = s.get("/admin/subjects", query={"search": p})
    assert r.status == 200 and r.body["total"] == 2, r
    assert s.delete("/admin/subjects/" + q(p + "-shared"), query={"tenant_id": t1}).status == 200
    r = s.get("/admin/subjects", query={"search": p.upper()})
    assert r.status == 200 and r.body["total"] == 1, r
    assert r.body["subjects"][0]["tenant_id"] == t2, r
    assert s.delete("/admin/subjects/" + q(p + "-shared"), query={"tenant_id": t2}).status == 200
    r = s.get("/admin/subjects", query={"search": p})
    assert r.status == 200 and r.body["total"] == 0, r
    s.create(p + "-shared", tenant=t1)
    r = s.get("/admin/subjects", query={"search": p[2:]})
    assert r.status == 200 and r.body["total"] >= 1, r
    assert [x["subject_id"] for x in r.body["subjects"]
            if x["subject_id"].startswith(p)] == [p + "-shared"], r


@test("35.3 a pattern most ids match (walked) and a selective one (indexed) agree on the same "
      "ids, health_state and has_open_sessions filters included")
def _(s):
    tenant = uid("t35w")
    p = uid("w")
    counts = {"%s-%03d" % (p, i): 1 + i % 3 for i in range(60)}
    ingest_ids(s, tenant, counts)
    every = list_all(s, tenant, p)
    assert every["total"] == 60, every
    one = list_all(s, tenant, p + "-04")
    assert [x["subject_id"] for x in one["subjects"]] == ["%s-%03d" % (p, i)
                                                          for i in range(40, 50)], one
    postgres = pgctl.is_postgres(s.database_url)
    r = s.get("/admin/subjects", query={"tenant_id": tenant, "search": p + "-0%5",
                                        "has_open_sessions": "false", "limit": 200,
                                        "sort_by": "subject_id", "sort_order": "asc"})
    assert r.status == 200, r
    want = sorted(sid for sid in counts if matches(p + "-0%5", sid, postgres))
    assert len(want) == 15 and r.body["total"] == 15, r
    assert [x["subject_id"] for x in r.body["subjects"]] == want, r
    r = s.get("/admin/subjects", query={"tenant_id": tenant, "search": p + "-00",
                                        "health_state": "healthy", "limit": 200})
    assert r.status == 200 and r.body["total"] == len(r.body["subjects"]), r
    assert all(x["subject_id"].startswith(p + "-00") and x["health_state"] == "healthy"
               for x in r.body["subjects"]), r


if __name__ == "__main__":
    main()
