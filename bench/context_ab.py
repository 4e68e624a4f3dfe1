#!/usr/bin/env python3
"""context_ab.py - POST /v1/context with and without the context input cache (issue 22),
alternated on one database so that both see the same machine load.

Builds the hot subject of `bench/run.py --only hot` once per backend (334 episodes compiled
into 1,002 memories, then EPISODES more in the same subject, batch ingest), then runs ROUNDS
rounds of: the server with the cache (the default), the server with STATEWAVE_CONTEXT_CACHE_MB=0,
each for SECONDS at 64 connections and at 1 connection. Prints req/s at 64 connections,
p50/p99 at 1 connection and the load average of each run, then the median of each side. With
--strace (PostgreSQL) it also counts the server's socket calls during 200 requests at 1
connection (strace -f -yy on the server), per request, split by peer: the database's sendto
per request are its round trips.

  bench/context_ab.py [--backends sqlite,postgres] [--rounds 3] [--seconds 3]
                      [--episodes 100000] [--strace]

Takes about 2 minutes per backend with 100,000 episodes (most of it the ingest).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

OFF = {"STATEWAVE_CONTEXT_CACHE_MB": "0"}


def build_subject(bench, episodes):
    subject, n_eps = "ctx-hot", 334
    bench.ingest([run.episode(subject, run.person_text(i), i) for i in range(n_eps)])
    bench.compile_subject(subject, n_eps)
    batch_file = run.hot_batch_file(bench.workdir, subject)
    if episodes >= 100:
        bench.run_loadgen("/v1/episodes/batch", conns=4, total=episodes // 100,
                          method="POST", body_file=batch_file)
    return json.dumps({"subject_id": subject, "task": run.CONTEXT_TASK})


def syscalls(pid, bench, body, n, path="/v1/context"):
    """The server's socket calls during n context requests at 1 connection (strace -f -yy on
    every thread), per request and per peer: "db" for the PostgreSQL connections, "http" for
    the client's, "relay" for the server's own hand-off of a request to a worker thread. libpq sends each request's queries (pipelined or not) in one sendto and
    reads the answers with one or more recvfrom: db sendto per request = round trips."""
    out = os.path.join(bench.workdir, "strace.txt")
    port = ":%d" % bench.server.port
    p = subprocess.Popen(["strace", "-f", "-yy", "-o", out, "-e", "trace=sendto,recvfrom",
                          "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    bench.run_loadgen(path, conns=1, total=n, method="POST", body=body)
    time.sleep(0.5)
    p.terminate()
    p.wait()
    calls = {}
    with open(out) as f:
        for ln in f:
            m = re.search(r"(sendto|recvfrom)\(\d+<(TCP|TCPv6|UNIX-STREAM|UNIX):\[([^\]]*)\]>", ln)
            if not m or "resumed" in ln or "EAGAIN" in ln:
                continue
            peer = ("relay" if m.group(2).startswith("UNIX") else   # MHD thread -> worker
                    "http" if port in m.group(3) else "db")
            key = "%s %s" % (peer, m.group(1))
            calls[key] = calls.get(key, 0) + 1
    return {k: v / n for k, v in calls.items()}


def run_backend(bench, backend, args):
    if backend == "postgres":
        bench.pg_start()
    url = bench.db_url(backend, "ab")
    bench.start_server(url)
    body = build_subject(bench, args.episodes)
    bench.settle(backend)
    bench.stop_server()
    sides = {"cache": None, "no cache": OFF}
    res = {k: [] for k in sides}
    for rnd in range(args.rounds):
        for name, env in sides.items():
            bench.start_server(url, env)
            bench.run_loadgen("/v1/context", conns=8, total=200, method="POST", body=body)
            r64 = bench.run_loadgen("/v1/context", conns=64, seconds=args.seconds,
                                    method="POST", body=body)
            r1 = bench.run_loadgen("/v1/context", conns=1, seconds=args.seconds,
                                   method="POST", body=body)
            load = os.getloadavg()[0]
            extra = ""
            if args.strace and backend == "postgres" and rnd == 0:
                calls = syscalls(bench.server.pid, bench, body, 200)
                extra = "  per request: " + ", ".join("%s %.1f" % kv
                                                      for kv in sorted(calls.items()))
            bench.stop_server()
            res[name].append((r64["rps"], r1["p50_ms"], r1["p99_ms"]))
            print("%-8s round %d %-8s 64 conns %8.0f req/s | 1 conn p50 %.3f ms p99 %.3f ms "
                  "| load %.1f%s" % (backend, rnd + 1, name, r64["rps"], r1["p50_ms"],
                                     r1["p99_ms"], load, extra), flush=True)
    for name in sides:
        rows = res[name]
        print("%-8s median   %-8s 64 conns %8.0f req/s | 1 conn p50 %.3f ms p99 %.3f ms" % (
            backend, name, statistics.median(r[0] for r in rows),
            statistics.median(r[1] for r in rows), statistics.median(r[2] for r in rows)))
    if backend == "postgres":
        bench.pg_stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--episodes", type=int, default=100000)
    ap.add_argument("--strace", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="engram-ab.")
    os.chmod(workdir, 0o711)
    os.environ.setdefault("ENGRAM_BENCH_DIR", workdir)
    bench = run.Bench(argparse.Namespace(quick=True, durable=False), workdir)
    try:
        for b in args.backends.split(","):
            run_backend(bench, b.strip(), args)
    finally:
        bench.stop_server()
        bench.pg_stop()


if __name__ == "__main__":
    main()
