#!/usr/bin/env python3
"""compile_ab.py - compile throughput of two builds, alternated, on both backends (issue 22).

Each round runs every binary (--old first, then bin/engram) on every backend, in turn, on a
fresh database: ingest 334 episodes into each of 3 subjects (batch ingest), then compile each
subject with one request (1,002 memories each), the figure of `bench/run.py --only writes`.
Prints per run: the median episodes/s of the 3 compiles, the CPU time the compiles cost (the
server process, and on PostgreSQL the cluster's backends too: /proc/PID/stat, 10 ms ticks;
load-independent far more than the clock; on PostgreSQL only the backends serving the bench's
database) and the load average; then the medians per binary
and backend and PostgreSQL's eps/s over SQLite's of the same binary and round.

With --stats the PostgreSQL cluster loads pg_stat_statements, and after the last round the
statements of the new binary's compiles are printed (calls, rows, server time, per kind).

  bench/compile_ab.py [--old BIN] [--rounds 3] [--backends sqlite,postgres] [--stats]

Takes about 20 s per round and binary on an idle machine (most of it the ingest).
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

N_EPS, N_SUBJECTS = 334, 3


def cpu_of(pid):
    """CPU time of one process, all its threads, in seconds (/proc/PID/task/*/schedstat:
    nanoseconds, not /proc/PID/stat's 10 ms ticks); 0 once it is gone."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return total / 1e9


def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def pg_cpu(pg_dir, dbname):
    """CPU seconds of the cluster's client backends of database dbname, by pid (not the
    autovacuum workers, checkpointer or WAL writer, whose work lands at random times)."""
    try:
        with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
            master = int(f.readline())
    except (OSError, ValueError):
        return {}
    out = {}
    for p in children(master):
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres: postgres %s " % dbname):
            out[p] = cpu_of(p)
    return out


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        url, "-c", sql], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise run.BenchError("psql: %s" % p.stderr.strip()[-400:])
    return p.stdout


def enable_stats(bench):
    url = bench.pg_createdb("stats_setup")
    psql(url, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    data = os.path.join(bench.pg_dir, "data")
    log = os.path.join(bench.pg_dir, "log")
    subprocess.run(["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl",
                    "-D", data, "-l", log, "-w", "restart"] if os.getuid() == 0 else
                   ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", data, "-l", log, "-w",
                    "restart"], cwd="/", check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    psql(url, "ALTER SYSTEM SET pg_stat_statements.track = 'all'")
    psql(url, "SELECT pg_reload_conf()")
    return url


def one_run(bench, binary, backend, name, stats_url):
    bench.binary = binary
    url = bench.db_url(backend, name)
    bench.start_server(url)
    subjects = ["c%d" % k for k in range(N_SUBJECTS)]
    for s in subjects:
        bench.ingest([run.episode(s, run.person_text(i), i) for i in range(N_EPS)])
    if stats_url:
        psql(stats_url, "SELECT pg_stat_statements_reset()")
    pid = bench.server.pid
    cpu0 = cpu_of(pid)
    pg0 = pg_cpu(bench.pg_dir, name) if backend == "postgres" else {}
    rates = []
    for s in subjects:
        secs, created = bench.compile_subject(s, N_EPS)
        if created != 3 * N_EPS:
            raise run.BenchError("%s: %d memories, expected %d" % (s, created, 3 * N_EPS))
        rates.append(N_EPS / secs)
    cpu = cpu_of(pid) - cpu0
    pg = 0.0
    if backend == "postgres":
        pg1 = pg_cpu(bench.pg_dir, name)
        pg = sum(v - pg0.get(p, 0.0) for p, v in pg1.items())
    stats = None
    if stats_url:
        stats = psql(stats_url,
                     "SELECT calls, rows, round(total_exec_time::numeric, 1),"
                     " round(total_plan_time::numeric, 1), left(regexp_replace(query, '\\s+',"
                     " ' ', 'g'), 150) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM"
                     " pg_database WHERE datname = '%s') ORDER BY total_exec_time DESC LIMIT 25"
                     % name)
    bench.stop_server()
    return statistics.median(rates), cpu, pg, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="the build to compare with (default: none)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--stats", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="engram-cab.")
    os.chmod(workdir, 0o711)
    bench = run.Bench(argparse.Namespace(quick=True, durable=False), workdir)
    new = os.path.abspath(os.path.join(run.ROOT, "bin/engram"))
    bins = ([("old", os.path.abspath(args.old))] if args.old else []) + [("new", new)]
    backends = [b.strip() for b in args.backends.split(",")]
    got = {}
    stats_url, last_stats = None, None
    try:
        if "postgres" in backends:
            bench.pg_start()
            if args.stats:
                stats_url = enable_stats(bench)
        for rnd in range(args.rounds):
            for tag, binary in bins:
                for backend in backends:
                    name = "r%d%s%s" % (rnd, tag, backend[:2])
                    eps, cpu, pg, stats = one_run(bench, binary, backend, name,
                                                  stats_url if backend == "postgres" else None)
                    if stats and tag == "new":
                        last_stats = stats
                    got.setdefault((tag, backend), []).append((eps, cpu, pg))
                    print("round %d %-3s %-8s %7.0f eps/s  cpu server %.3f s  backends %.3f s"
                          "  load %.1f" % (rnd + 1, tag, backend, eps, cpu, pg,
                                           os.getloadavg()[0]), flush=True)
            if "sqlite" in backends and "postgres" in backends:
                for tag, _ in bins:
                    r = got[(tag, "postgres")][-1][0] / got[(tag, "sqlite")][-1][0]
                    print("round %d %-3s postgres/sqlite %.2fx" % (rnd + 1, tag, r), flush=True)
        for (tag, backend), rows in sorted(got.items()):
            print("median  %-3s %-8s %7.0f eps/s  cpu server %.3f s  backends %.3f s" % (
                tag, backend, statistics.median(r[0] for r in rows),
                statistics.median(r[1] for r in rows), statistics.median(r[2] for r in rows)))
        if last_stats:
            print("pg_stat_statements, new binary, last round (calls, rows, exec ms, plan ms,"
                  " query):")
            print(last_stats)
    finally:
        bench.stop_server()
        bench.pg_stop()


if __name__ == "__main__":
    main()
