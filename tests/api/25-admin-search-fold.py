"""25-admin-search-fold: GET /admin/subjects?search= answers exactly what the database's own
`subject_id ILIKE '%' || search || '%'` (SQLite: LIKE) answers over the ingested ids (issue 16;
spec/api.md §7.4). On PostgreSQL the search matches a stored fold of the id (schema step
subject_search_fold: `subject_fold LIKE lower(...)`, read through the trigram index or walked
over the sort indexes); here the reference is the database's ILIKE itself, computed from the
episodes table, so any difference of the fold from ILIKE's case folding shows: ids and
patterns with non-ASCII letters whose cases differ (É/é, Σ/σ/ς, ẞ/ß, İ/i, the Kelvin sign),
short patterns (one and two characters, walked) and long ones (indexed), `%`, `_` and `\\`,
every sort order, pages, totals and the has_open_sessions filter. Runs on both backends."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

# 35's ingest of ids, without its tests.
index35 = harness.helpers_of("35-admin-search-index.py")

LETTERS = ["a", "A", "é", "É", "σ", "Σ", "ς", "ß", "ẞ", "İ", "i", "I", "ı", "K", "k",
           "\u212a", "ö", "Ö", "-", "_", "%", "\\", "7"]
SORTS = [("subject_id", "asc"), ("subject_id", "desc"), ("last_activity", "desc"),
         ("episode_count", "desc"), ("episode_count", "asc"), ("memory_count", "asc")]


def sql_str(text):
    return "'" + text.replace("'", "''") + "'"


def reference(s, tenant, pattern):
    """The ids of tenant's episodes whose subject_id the database's own search operator
    matches (ILIKE on PostgreSQL, SQLite's LIKE), sorted in byte order."""
    op = "ILIKE" if pgctl.is_postgres(s.database_url) else "LIKE"
    rows = pgctl.query(s.database_url,
                       "SELECT DISTINCT subject_id FROM episodes WHERE tenant_id = %s"
                       " AND subject_id %s '%%' || %s || '%%'"
                       % (sql_str(tenant), op, sql_str(pattern)))
    return sorted((r[0] for r in rows), key=lambda x: x.encode())


def listed(s, tenant, pattern, sort_by="subject_id", order="asc", limit=200, offset=0,
           has_open=None):
    query = {"tenant_id": tenant, "search": pattern, "sort_by": sort_by, "sort_order": order,
             "limit": limit, "offset": offset}
    if has_open is not None:
        query["has_open_sessions"] = has_open
    r = s.get("/admin/subjects", query=query)
    assert r.status == 200, (pattern, r)
    return r.body


@test("25.1 non-ASCII ids and patterns: the search equals the database's own ILIKE (LIKE), "
      "short and long patterns, every sort, pages, totals, has_open_sessions")
def _(s):
    rng = random.Random(uid("seed25"))
    tenant = uid("t25")
    ids = set()
    while len(ids) < 90:
        ids.add("".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 8))))
    counts = {sid: rng.randint(1, 3) for sid in ids}
    index35.ingest_ids(s, tenant, counts)
    patterns = ["é", "É", "σ", "Σ", "ς", "ß", "ẞ", "ss", "SS", "İ", "i", "I", "ı", "k", "K",
                "\u212a", "Ö", "7", "a", "%", "_", "\\", "\\%", "\\_", "éΣ", "ÉσK", "İi",
                "a-é", "σς", "ΣΣΣ", "ßẞß"]
    for _ in range(40):
        sid = rng.choice(sorted(ids))
        a = rng.randrange(len(sid))
        piece = sid[a:a + rng.randint(1, 5)]
        patterns.append("".join(c.upper() if rng.random() < 0.4 else c.lower() for c in piece))
    seen_some = 0
    for pattern in patterns:
        want = reference(s, tenant, pattern)
        seen_some += 0 < len(want) < len(ids)
        body = listed(s, tenant, pattern)
        assert body["total"] == len(want), (pattern, body["total"], want)
        got = [x["subject_id"] for x in body["subjects"]]
        assert got == want, (pattern, got, want)
        sort_by, order = rng.choice(SORTS)
        every = listed(s, tenant, pattern, sort_by, order)
        assert sorted((x["subject_id"] for x in every["subjects"]),
                      key=lambda x: x.encode()) == want, (pattern, sort_by, order, every)
        if len(want) > 2:
            off = rng.randrange(1, len(want))
            page = listed(s, tenant, pattern, sort_by, order, limit=2, offset=off)
            assert page["total"] == len(want), (pattern, page)
            assert [x["subject_id"] for x in page["subjects"]] == \
                [x["subject_id"] for x in every["subjects"]][off:off + 2], (pattern, off, page)
        past = listed(s, tenant, pattern, sort_by, order, limit=5, offset=len(want))
        assert past["total"] == len(want) and past["subjects"] == [], (pattern, past)
        if want:
            last = listed(s, tenant, pattern, sort_by, order, limit=5, offset=len(want) - 1)
            assert last["total"] == len(want), (pattern, last)
            assert [x["subject_id"] for x in last["subjects"]] == \
                [x["subject_id"] for x in every["subjects"]][-1:], (pattern, last)
        closed = listed(s, tenant, pattern, has_open="false")
        assert closed["total"] == len(want), (pattern, closed)
        opened = listed(s, tenant, pattern, has_open="true")
        assert opened["total"] == 0, (pattern, opened)
    # the patterns are not all trivial: most match some ids and miss others
    assert seen_some > len(patterns) // 2, seen_some


@test("25.2 a subject ingested after the upgrade step and one deleted: the fold follows")
def _(s):
    tenant = uid("t25d")
    p = uid("fold").upper()
    index35.ingest_ids(s, tenant, {p + "-ÉΣ": 1, p + "-éσ": 2})
    pg = pgctl.is_postgres(s.database_url)
    body = listed(s, tenant, p.lower() + "-éσ")
    assert [x["subject_id"] for x in body["subjects"]] == reference(s, tenant, p.lower() + "-éσ")
    assert body["total"] == (2 if pg else 1), body  # SQLite folds ASCII only
    r = s.delete("/admin/subjects/" + q(p + "-ÉΣ"), query={"tenant_id": tenant})
    assert r.status == 200, r
    body = listed(s, tenant, p.lower() + "-ÉΣ")
    want = reference(s, tenant, p.lower() + "-ÉΣ")
    assert [x["subject_id"] for x in body["subjects"]] == want, (body, want)
    assert want == ([p + "-éσ"] if pg else []), want


if __name__ == "__main__":
    main()
