#!/usr/bin/env python3
"""profile.py - count the instructions of one bench scenario with callgrind.

Builds the scenario's data on a normal server, restarts the same database under
`valgrind --tool=callgrind` with instrumentation off, switches it on only around N requests
(callgrind_control -i on/off), stops the server and prints callgrind_annotate's top functions
(self and inclusive) and the instructions per request. Instruction counts are repeatable on a
noisy machine, unlike times.

  bench/profile.py SCENARIO [--backend sqlite|postgres] [-n N] [-c CONNS] [--keep DIR]
                   [--env K=V]

Scenarios: healthz (the HTTP floor), ingest, batch, context1k, context10k, search-text,
search-semantic, compile, export, export-emb, import, restore.
Needs bin/engram (built with -g, as `make` does) and build/release/bench/loadgen.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

CONTEXT_BODY = json.dumps({"subject_id": "ctx", "task": run.CONTEXT_TASK})


def build(bench, scenario, n):
    """Create the data the scenario reads; return the loadgen arguments."""
    if scenario == "healthz":
        return dict(path="/healthz")
    if scenario == "ingest":
        return dict(path="/v1/episodes", method="POST", body=run.INGEST_BODY)
    if scenario == "batch":
        items = [run.INGEST_BODY.replace("{name:0}", "{name:0}" + run.word("", k))
                 for k in range(100)]
        f = os.path.join(bench.workdir, "batch.json")
        with open(f, "w") as fh:
            fh.write('{"episodes":[' + ",".join(items) + "]}")
        return dict(path="/v1/episodes/batch", method="POST", body_file=f)
    if scenario in ("context1k", "context10k", "search-text", "search-semantic",
                    "export-emb"):
        size = 10000 if scenario in ("context10k", "search-semantic", "search-text") else 1000
        n_eps = math.ceil(size / 3)
        bench.ingest([run.episode("ctx", run.person_text(i), i) for i in range(n_eps)])
        bench.compile_subject("ctx", n_eps)
        if scenario.startswith("context"):
            return dict(path="/v1/context", method="POST", body=CONTEXT_BODY)
        if scenario == "search-text":
            return dict(path="/v1/memories/search?subject_id=ctx&q=corp")
        if scenario == "search-semantic":
            return dict(path="/v1/memories/search?subject_id=ctx&q=employer&semantic=true")
        return dict(path="/admin/export/ctx")
    if scenario == "compile":
        # n subjects of 100 episodes each, compiled one request each
        eps = [run.episode("cmp-%d" % (i // 100), run.person_text(i), i)
               for i in range(100 * n)]
        bench.ingest(eps)
        return dict(path="/v1/memories/compile", method="POST",
                    body='{"subject_id":"cmp-{seq}"}')
    if scenario in ("export", "import"):
        doc = run.make_export_doc("exp", 10000)
        f = os.path.join(bench.workdir, "doc.json")
        with open(f, "w") as fh:
            json.dump({"document": doc, "preserve_ids": False, "target_subject_id":
                       "imp-{seq}"}, fh, separators=(",", ":"))
        if scenario == "import":
            return dict(path="/admin/import", method="POST", body_file=f)
        with open(f, "w") as fh:
            json.dump({"document": doc}, fh)
        subprocess.run([bench.loadgen, "-p", str(bench.server.port), "-n", "1", "-m", "POST",
                        "-B", f, "/admin/import"], check=True, capture_output=True)
        return dict(path="/admin/export/exp")
    if scenario == "restore":
        bench.ingest([run.episode("snap", run.person_text(i, work=False), i)
                      for i in range(200)])
        bench.compile_subject("snap", 200)
        r = bench.server.http.json("POST", "/admin/snapshots",
                                   {"name": "p", "source_subject_id": "snap"})
        return dict(path="/admin/snapshots/%s/restore" % r["id"], method="POST",
                    body='{"target_subject_id":"r-{seq}"}')
    raise SystemExit("unknown scenario %s" % scenario)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--backend", default="sqlite")
    ap.add_argument("-n", type=int, default=50, help="requests counted")
    ap.add_argument("-c", type=int, default=1,
                    help="connections for the counted requests (ingest: > 1 lets requests "
                    "share group commits)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--keep", help="keep the callgrind output in this directory")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for the server under callgrind (repeatable), e.g. "
                    "STATEWAVE_CONTEXT_CACHE_MB=0 for context without its input cache")
    ap.add_argument("--sql", action="append", default=[], metavar="SQL",
                    help="SQLite: SQL run on the database after the scenario's data is built "
                    "and before the counted requests (repeatable), e.g. 'DROP TRIGGER x' to "
                    "count what one trigger costs")
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="engram-prof.")
    os.chmod(workdir, 0o711)
    os.environ.setdefault("ENGRAM_BENCH_DIR", workdir)
    bench = run.Bench(argparse.Namespace(quick=True), workdir)
    out = os.path.join(args.keep or workdir, "callgrind.out.%s" % args.scenario)
    try:
        if args.backend == "postgres":
            bench.pg_start()
        url = bench.db_url(args.backend, "prof")
        bench.start_server(url)
        lg = build(bench, args.scenario, args.n)
        bench.stop_server()
        if args.sql:
            if args.backend != "sqlite":
                raise SystemExit("--sql is for the SQLite backend")
            import sqlite3
            db = sqlite3.connect(url[len("sqlite://"):], isolation_level=None)
            for stmt in args.sql:
                db.executescript(stmt)
            db.close()
        bench.server = run.Server(
            bench.binary, url, workdir, dict(kv.split("=", 1) for kv in args.env),
            wrapper=("valgrind", "--tool=callgrind", "--instr-atstart=no",
                     "--callgrind-out-file=" + out),
            wait_s=120)
        # requests outside the count on 8 connections, so every worker thread has opened its
        # database connection and prepared its statements
        heavy = args.scenario in ("import", "export", "export-emb", "search-semantic")
        bench.run_loadgen(conns=1 if heavy else 8, total=1 if heavy else 16, seq0=10**6, **lg)
        pid = str(bench.server.pid)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True,
                       capture_output=True)
        t0 = time.time()
        res = bench.run_loadgen(conns=args.c, total=args.n, **lg)
        subprocess.run(["callgrind_control", "-i", "off", pid], check=True,
                       capture_output=True)
        print("%d requests under callgrind in %.1f s (%s)" % (res["requests"],
                                                               time.time() - t0,
                                                               args.backend))
        bench.stop_server()
    finally:
        bench.stop_server()
        bench.pg_stop()
    total = None
    for inclusive in ("no", "yes"):
        p = subprocess.run(["callgrind_annotate", "--inclusive=" + inclusive, out],
                           capture_output=True, text=True)
        rows = []
        in_table = False
        for ln in p.stdout.splitlines():
            if ln.strip().endswith("PROGRAM TOTALS"):
                total = int(ln.split()[0].replace(",", ""))
            elif ln.strip().endswith("file:function"):
                in_table = True
            elif in_table and not ln.strip():
                if rows:
                    break
            elif in_table and not ln.startswith("--"):
                rows.append(ln)
        if inclusive == "yes":
            # our own functions and the library entry points, skipping the MHD frames
            rows = [r for r in rows if "src/" in r or "sqlite3_" in r or "PQ" in r or
                    "json_" in r or "pcre2_" in r or "EVP_" in r]
        print("\n== %s (top %d)" % ("inclusive" if inclusive == "yes" else "self", args.top))
        for ln in rows[:args.top]:
            print(ln.replace("/usr/lib/x86_64-linux-gnu/", "")[:150])
    if total:
        print("\ninstructions per request: %s" % "{:,}".format(total // max(1, args.n)))
    print("callgrind output: %s" % out)
    if args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
