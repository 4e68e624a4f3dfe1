#!/usr/bin/env python3
"""citus-check.py - keep docs/SCALING.md's "Past one PostgreSQL: Citus" true as the SQL changes.

    python3 scripts/citus-check.py            # check; exit 1 with what differs
    python3 scripts/citus-check.py --report   # print the lists the document must hold

The plan (docs/SCALING.md): the tables of DISTRIBUTED are distributed on subject_id
(co-located); every other table stays a local table on the coordinator, and every table of
the schema must appear in the document's table plan. The script reads every SQL text of the
PostgreSQL backend (each src/store/postgres/*.c through the C preprocessor, so statements
built from macros read as compiled: named file:CONSTANT, or file:#k for the k-th inline
one) and the schema (schema_postgres.c), and finds:
- statements that touch a distributed table without naming one subject
  (`subject_id = $n`, `subject_id = ANY(...)`, or an INSERT ... VALUES, routed by its value):
  each runs on every shard;
- primary keys and unique indexes of distributed tables that do not contain subject_id
  (Citus requires the distribution column in them).
Both lists must equal what the document's sections name, between `<!-- citus:multi-shard -->`
(every backticked `file.c:NAME`) or `<!-- citus:unique -->` (the first backticked text of each
list item) and the next `<!-- /citus -->`.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, "src", "store", "postgres")
DOC = os.path.join(ROOT, "docs", "SCALING.md")
DISTRIBUTED = ("episodes", "memories", "resolutions", "subject_health_cache", "subject_stats",
               "context_receipts")
START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


CONST = re.compile(r'const\s+char\s+(\w+)\s*\[\s*\]\s*=\s*((?:"(?:[^"\\]|\\.)*"\s*)+);')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def preprocessed(path):
    """The file after the C preprocessor (every macro expanded, token pasting included), so
    that SQL assembled from macros reads as the compiler sees it."""
    cflags = subprocess.run(["pkg-config", "--cflags", "libpq"], capture_output=True,
                            text=True).stdout.split()
    r = subprocess.run(["cc", "-E", "-P", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "src")] +
                       cflags + [path], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("citus-check: cc -E %s failed: %s" % (path, r.stderr[-500:]))
    return r.stdout


def unescape(parts):
    return "".join(parts).replace("\\n", " ").replace('\\"', '"')


def statements():
    """(name, sql) for every SQL text of the backend: each constant holding one (named
    file:CONSTANT), and each statement written inline in a call (file:#k)."""
    out = []
    for path in sorted(glob.glob(os.path.join(SRC, "*.c"))):
        base = os.path.basename(path)
        if base == "schema_postgres.c":
            continue
        text = preprocessed(path)
        spans = []
        for m in CONST.finditer(text):
            spans.append((m.start(), m.end()))
            sql = unescape(LITERAL.findall(m.group(2)))
            if START.match(sql):
                out.append(("%s:%s" % (base, m.group(1)), sql))
        k = 0
        for m in LITERAL.finditer(text):
            if any(a <= m.start() < b for a, b in spans) or not START.match(m.group(1)):
                continue
            k += 1
            out.append(("%s:#%d" % (base, k), unescape([m.group(1)])))
    return out


def tables(sql):
    return {t.lower() for t in re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)", sql, re.I)}


def top_items(text, n):
    """The first n comma-separated items of text at parenthesis depth 0."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
            if len(items) == n:
                break
            continue
        cur += ch
    return items + ([cur.strip()] if len(items) < n and cur.strip() else [])


def copies_between_subjects(sql):
    """1 if an INSERT ... SELECT into a distributed table writes another subject than the
    one it reads (a copy: two shards)."""
    for m in re.finditer(r"\bINSERT\s+INTO\s+(?:%s)\s*\(([^)]*)\)\s*SELECT\b(.*)"
                         % "|".join(DISTRIBUTED), sql, re.I | re.S):
        cols = [c.strip() for c in m.group(1).split(",")]
        if "subject_id" not in cols:
            return True
        k = cols.index("subject_id")
        vals = top_items(m.group(2), k + 1)
        p = re.match(r"^(\$\d+)", vals[k]) if len(vals) > k else None
        if not p or not re.search(r"\bsubject_id\s*=\s*\%s\b" % p.group(1), sql):
            return True
    return False


def scoped(sql):
    """1 if every distributed table the statement reads or writes is pinned to one subject."""
    if copies_between_subjects(sql):
        return False
    if re.search(r"\bsubject_id\s*=\s*(\$\d+|ANY\b)", sql, re.I):
        return True
    # INSERT ... VALUES (...): one row, routed by its subject_id value.
    return bool(re.match(r"^\s*INSERT\s+INTO\s+\w+\s*\([^)]*\bsubject_id\b[^)]*\)\s*VALUES",
                         sql, re.I))


def multi_shard():
    return sorted(name for name, sql in statements()
                  if tables(sql) & set(DISTRIBUTED) and not scoped(sql))


def unique_keys():
    """Primary keys and unique indexes of distributed tables without subject_id."""
    text = open(os.path.join(SRC, "schema_postgres.c"), encoding="utf-8").read()
    sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', strip_comments(text))).replace("\\n", "\n")
    out = []
    for m in re.finditer(r"CREATE TABLE (\w+) \((.*?)\);", sql, re.S):
        table, body = m.group(1), m.group(2)
        if table not in DISTRIBUTED:
            continue
        for col in re.findall(r"(\w+) [\w() ]*PRIMARY KEY", body):
            if col != "subject_id":
                out.append("%s PRIMARY KEY (%s)" % (table, col))
        for cols in re.findall(r"PRIMARY KEY \(([^)]*)\)", body):
            if "subject_id" not in cols:
                out.append("%s PRIMARY KEY (%s)" % (table, cols))
    for m in re.finditer(r"CREATE UNIQUE INDEX (\w+) ON (\w+)\s*(\(.*?\));", sql, re.S):
        if m.group(2) in DISTRIBUTED and "subject_id" not in m.group(3):
            out.append(m.group(1))
    return sorted(out)


def documented(tag):
    doc = open(DOC, encoding="utf-8").read()
    m = re.search(r"<!-- citus:%s -->(.*?)<!-- /citus -->" % tag, doc, re.S)
    if not m:
        return None
    if tag == "multi-shard":   # every file.c:NAME named in the section
        return sorted(set(re.findall(r"`(\w+\.c:(?:\w+|#\d+))`", m.group(1))))
    return sorted(set(re.findall(r"^\s*-\s*`([^`]+)`", m.group(1), re.M)))


def main(argv):
    found = {"multi-shard": multi_shard(), "unique": unique_keys()}
    if "--report" in argv:
        for tag, names in found.items():
            print("<!-- citus:%s -->" % tag)
            for n in names:
                print("- `%s`" % n)
            print("<!-- /citus -->")
        return 0
    bad = 0
    for tag, names in found.items():
        doc = documented(tag)
        if doc is None:
            print("FAIL citus: docs/SCALING.md has no <!-- citus:%s --> section" % tag)
            bad += 1
            continue
        missing = sorted(set(names) - set(doc))
        stale = sorted(set(doc) - set(names))
        if missing or stale:
            bad += 1
            print("FAIL citus %s: docs/SCALING.md must list %s%s" % (
                tag, ", ".join(missing) or "nothing more",
                "; and no longer %s" % ", ".join(stale) if stale else ""))
        else:
            print("ok citus %s: %d listed, all found in the code" % (tag, len(names)))
    text = open(os.path.join(SRC, "schema_postgres.c"), encoding="utf-8").read()
    schema_tables = set(re.findall(r"CREATE TABLE (\w+)", text))
    doc = open(DOC, encoding="utf-8").read()
    m = re.search(r"^### Tables$(.*?)^### ", doc, re.S | re.M)
    planned = set(re.findall(r"`(\w+)`", m.group(1))) if m else set()
    unplanned = sorted(schema_tables - planned - {"schema_migrations"})
    if unplanned:
        bad += 1
        print("FAIL citus tables: docs/SCALING.md's table plan does not say where %s go"
              % ", ".join(unplanned))
    else:
        print("ok citus tables: all %d tables of the schema are in the plan"
              % len(schema_tables))
    total = len(statements())
    print("(%d SQL statements scanned)" % total)
    assert total > 50, "the scanner found too few statements: it is broken"
    print("%d passed, %d failed" % (3 - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
