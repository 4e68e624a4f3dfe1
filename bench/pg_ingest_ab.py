#!/usr/bin/env python3
"""pg_ingest_ab.py - PostgreSQL single-episode ingest, two builds alternated (issue 22).

One throwaway cluster (the bench's settings, or PostgreSQL's durable defaults with --durable);
ROUNDS rounds of: for each build (BEFORE, then this tree's bin/engram), a fresh database, the
server, then `loadgen` POST /v1/episodes (the bench's body, one subject per connection) at
each connection count for SECONDS. Prints per run: episodes/s, p50/p99, the load average and
the CPU time every PostgreSQL process of the cluster spent per episode (from /proc: user +
system, load-independent), then whether the counters are exact (subject_stats, usage_daily
and context_gen against the episodes table), and the medians of each side. With --strace,
the server's socket calls on its database connections per request during 200 requests at 1
connection (sendto per request = round trips). With --floor a third side runs BEFORE with every
trigger on episodes disabled (ALTER TABLE ... DISABLE TRIGGER USER, counters not kept): what
the ingest costs without any counter, for reference.

  bench/pg_ingest_ab.py --before BIN [--rounds 3] [--seconds 4] [--conns 16,64]
                        [--durable] [--strace]

BIN defaults to $ENGRAM_BEFORE_BIN. Takes about ROUNDS x 2 x (conns x SECONDS + 5) seconds:
about 1.5 minutes with the defaults.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import context_ab  # noqa: E402

CHECK_SQL = """
SELECT
 (SELECT count(*) FROM (SELECT subject_id, COALESCE(tenant_id, '') t, count(*) n,
   count(DISTINCT session_id) s, max(created_at) m FROM episodes GROUP BY 1, 2) e
  FULL JOIN subject_stats ss ON ss.subject_id = e.subject_id
   AND COALESCE(ss.tenant_id, '') = e.t
  WHERE ss.episode_count IS DISTINCT FROM e.n OR ss.session_count IS DISTINCT FROM e.s
   OR ss.last_episode_at IS DISTINCT FROM e.m),
 (SELECT count(*) FROM (SELECT COALESCE(tenant_id, '') t,
   (created_at AT TIME ZONE 'UTC')::date d, count(*) n FROM episodes GROUP BY 1, 2) e
  FULL JOIN (SELECT tenant_key, day, sum(n) n FROM usage_daily WHERE kind = 1
   GROUP BY 1, 2) u ON u.tenant_key = e.t AND u.day = e.d
  WHERE u.n IS DISTINCT FROM e.n),
 (SELECT count(*) FROM (SELECT DISTINCT subject_id, COALESCE(tenant_id, '') t
   FROM episodes) e LEFT JOIN context_gen g ON g.subject_id = e.subject_id
   AND g.tenant_key = e.t WHERE g.gen IS NULL)
"""


def pg_cpu_ticks(pg_dir):
    """User + system ticks of the postmaster and its children (backends, walwriter, autovacuum)."""
    with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    total = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(p) == pm or int(fields[1]) == pm:
            total += int(fields[11]) + int(fields[12])
    return total


def counters_exact(url):
    p = subprocess.run(["psql", "-X", "-At", "-F", " ", url, "-c", CHECK_SQL],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise run.BenchError("check failed: %s" % p.stderr.strip()[-400:])
    bad = [int(x) for x in p.stdout.split()]
    return "exact" if not any(bad) else "DRIFT (stats %d, usage %d, gen %d)" % tuple(bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default=os.environ.get("ENGRAM_BEFORE_BIN"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--conns", default="16,64")
    ap.add_argument("--durable", action="store_true")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--floor", action="store_true")
    args = ap.parse_args()
    if not args.before:
        sys.exit("pg_ingest_ab.py: --before BIN (or ENGRAM_BEFORE_BIN) is required")
    conns = [int(c) for c in args.conns.split(",")]
    workdir = tempfile.mkdtemp(prefix="engram-ingest-ab.")
    os.chmod(workdir, 0o711)
    os.environ.setdefault("ENGRAM_BENCH_DIR", workdir)
    bench = run.Bench(argparse.Namespace(quick=True, durable=args.durable), workdir)
    sides = {"before": os.path.abspath(args.before), "after": bench.binary}
    if args.floor:
        sides["floor"] = os.path.abspath(args.before)
    tck = os.sysconf("SC_CLK_TCK")
    res = {(s, c): [] for s in sides for c in conns}
    seq = 0
    try:
        bench.pg_start()
        for rnd in range(args.rounds):
            order = list(sides.items())
            if rnd % 2:   # each side goes first every other round
                order.reverse()
            for side, binary in order:
                bench.binary = binary
                url = bench.pg_createdb("ab_%s_%d" % (side, rnd))
                bench.start_server(url)
                if side == "floor":
                    subprocess.run(["psql", "-X", "-q", url, "-c",
                                    "ALTER TABLE episodes DISABLE TRIGGER USER"], check=True)
                bench.run_loadgen("/v1/episodes", conns=4, total=400, method="POST",
                                  body=run.INGEST_BODY, seq0=seq)
                seq += 1000
                for c in conns:
                    t0 = pg_cpu_ticks(bench.pg_dir)
                    r = bench.run_loadgen("/v1/episodes", conns=c, seconds=args.seconds,
                                          warm=0.5, method="POST", body=run.INGEST_BODY,
                                          seq0=seq)
                    cpu = (pg_cpu_ticks(bench.pg_dir) - t0) / tck
                    seq += 10_000_000
                    # the CPU of the warm-up and the measured window, per episode measured
                    n = r["requests"]
                    us = cpu * 1e6 / max(n, 1)
                    load = os.getloadavg()[0]
                    res[(side, c)].append((r["rps"], us))
                    print("round %d %-6s %2d conns %8.0f eps/s | p50 %.2f ms p99 %.2f ms | "
                          "PostgreSQL CPU %.0f us/episode (upper bound) | load %.1f" % (
                              rnd + 1, side, c, r["rps"], r["p50_ms"], r["p99_ms"], us, load),
                          flush=True)
                extra = ""
                if args.strace and rnd == 0:
                    calls = context_ab.syscalls(bench.server.pid, bench, run.INGEST_BODY, 200,
                                                  "/v1/episodes")
                    extra = " | per request: " + ", ".join("%s %.2f" % kv
                                                           for kv in sorted(calls.items()))
                bench.stop_server()
                print("round %d %-6s counters: %s%s" % (
                    rnd + 1, side, "not kept" if side == "floor" else counters_exact(url),
                    extra), flush=True)
        for c in conns:
            for side in sides:
                rows = res[(side, c)]
                print("median %-6s %2d conns %8.0f eps/s | PostgreSQL CPU %.0f us/episode" % (
                    side, c, statistics.median(r[0] for r in rows),
                    statistics.median(r[1] for r in rows)))
    finally:
        bench.stop_server()
        bench.pg_stop()


if __name__ == "__main__":
    main()
