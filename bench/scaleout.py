#!/usr/bin/env python3
"""scaleout.py - N Engram processes over one PostgreSQL behind haproxy (issue 21 part 4).

    python3 bench/scaleout.py [--counts 1,2,4] [--seconds 8] [--conns 16]

One throwaway PostgreSQL (scripts/pg-cluster.sh), one database; for each N: N `engram serve`
processes on it (STATEWAVE_WORKERS=4 each), Debian's haproxy in TCP mode spreading
keep-alive connections over them (roundrobin), and bench/loadgen (built by
`make bench-tools`) through haproxy: single-episode ingest (a new subject per connection),
then context on a compiled subject of 60 memories. Prints one table row per N (aggregate
req/s, p50, p99) and, with --cpu, the CPU seconds each process kind used per 1,000
requests, from /proc (what a bigger machine's curve is estimated from, docs/SCALING.md).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LOADGEN = os.path.join(ROOT, "build", "release", "bench", "loadgen")
ENGRAM = os.environ.get("ENGRAM_BIN", os.path.join(ROOT, "bin", "engram"))
HAPROXY = "/usr/sbin/haproxy"
INGEST = ('{"subject_id":"so-{conn}-{rand:1000}","source":"chat","type":"message",'
          '"payload":{"text":"My name is {name:0} Smith and I work at {name:0} Corp."}}')
TASK = "What is the user's name and where do they work?"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(port, path="/healthz", timeout=20):
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("port %d did not answer %s" % (port, path))
        time.sleep(0.05)


def post(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def cpu_of(pid):
    """User + system CPU seconds of one process (all its threads) so far; 0 if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def postgres_pids(pgdir):
    """The cluster's postmaster and its children (backends, walwriter, ...)."""
    with open(os.path.join(pgdir, "data", "postmaster.pid")) as f:
        master = int(f.readline())
    out = [master]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def snapshot(pids):
    return {p: cpu_of(p) for p in pids}


def used(before, pids):
    """CPU seconds the processes used since before (new ones: all of theirs)."""
    return sum(cpu_of(p) - before.get(p, 0.0) for p in pids)


def loadgen(port, path, conns, seconds, method="GET", body=None):
    cmd = [LOADGEN, "-p", str(port), "-c", str(conns), "-d", str(seconds), "-w", "1",
           "-m", method]
    if body is not None:
        cmd += ["-b", body, "-H", "Content-Type: application/json"]
    p = subprocess.run(cmd + [path], capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        raise RuntimeError("loadgen: %s %s" % (p.stdout, p.stderr[-500:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


class Fleet:
    def __init__(self, n, url, workdir):
        self.procs, self.ports = [], []
        for i in range(n):
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("STATEWAVE_")}
            env.update(STATEWAVE_DATABASE_URL=url, STATEWAVE_PORT=str(port),
                       STATEWAVE_WORKERS="4", STATEWAVE_LOG_LEVEL="warning")
            log = open(os.path.join(workdir, "engram-%d.log" % i), "ab")
            self.procs.append(subprocess.Popen([ENGRAM, "serve"], env=env, cwd=workdir,
                                               stdout=log, stderr=log))
            self.ports.append(port)
        for p in self.ports:
            wait_http(p)
        self.port = free_port()
        cfg = os.path.join(workdir, "haproxy-%d.cfg" % n)
        with open(cfg, "w") as f:
            f.write("global\n    maxconn 4096\n\ndefaults\n    mode tcp\n"
                    "    timeout connect 5s\n    timeout client 120s\n    timeout server 120s\n\n"
                    "frontend engram\n    bind 127.0.0.1:%d\n    default_backend fleet\n\n"
                    "backend fleet\n    balance roundrobin\n" % self.port)
            for i, p in enumerate(self.ports):
                f.write("    server e%d 127.0.0.1:%d\n" % (i, p))
        self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.port)

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        self.haproxy.terminate()
        self.haproxy.wait(10)
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1,2,4")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args(argv)
    for tool in (LOADGEN, ENGRAM, HAPROXY):
        if not os.path.exists(tool):
            print("scaleout: %s is missing (make bench-tools; scripts/deps.sh test)" % tool)
            return 1
    work = tempfile.mkdtemp(prefix="engram-so-", dir="/tmp")
    os.chmod(work, 0o755)
    pgdir = os.path.join(work, "pg")
    url = subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "start", pgdir],
                         capture_output=True, text=True, check=True).stdout.strip()
    rows = []
    try:
        # One compiled subject for the context runs, made once.
        f = Fleet(1, url, work)
        for i in range(20):
            post(f.port, "/v1/episodes", {
                "subject_id": "so-ctx", "source": "chat", "type": "message",
                "payload": {"text": "My name is Person%d Smith and I work at Org%d Corp. "
                                    "I live in Town%d." % (i, i, i)}})
        made = post(f.port, "/v1/memories/compile", {"subject_id": "so-ctx"})
        f.stop()
        ctx_body = json.dumps({"subject_id": "so-ctx", "task": TASK})
        for n in [int(x) for x in a.counts.split(",")]:
            f = Fleet(n, url, work)
            try:
                pg0 = snapshot(postgres_pids(pgdir))
                e0 = snapshot(f.pids())
                ing = loadgen(f.port, "/v1/episodes", a.conns, a.seconds, "POST", INGEST)
                pids = postgres_pids(pgdir)
                ce, cp = used(e0, f.pids()), used(pg0, pids)
                pg0, e0 = snapshot(pids), snapshot(f.pids())
                ctx = loadgen(f.port, "/v1/context", a.conns, a.seconds, "POST", ctx_body)
                xe, xp = used(e0, f.pids()), used(pg0, postgres_pids(pgdir))
            finally:
                f.stop()
            req_i = ing["requests"] + ing["rps"]   # the warm-up second is not counted
            req_c = ctx["requests"] + ctx["rps"]
            rows.append((n, ing, ctx, 1000 * ce / req_i, 1000 * cp / req_i,
                         1000 * xe / req_c, 1000 * xp / req_c))
            print("N=%d ingest %.0f req/s p50 %.2f p99 %.2f ms | context %.0f req/s p50 %.2f "
                  "p99 %.2f ms" % (n, ing["rps"], ing["p50_ms"], ing["p99_ms"], ctx["rps"],
                                   ctx["p50_ms"], ctx["p99_ms"]), flush=True)
        print()
        print("| Engram processes | ingest req/s | ingest p50 / p99 ms | context req/s "
              "| context p50 / p99 ms |")
        print("|---|---|---|---|---|")
        for n, ing, ctx, *_ in rows:
            print("| %d | %.0f | %.2f / %.2f | %.0f | %.2f / %.2f |" % (
                n, ing["rps"], ing["p50_ms"], ing["p99_ms"], ctx["rps"], ctx["p50_ms"],
                ctx["p99_ms"]))
        if a.cpu:
            print()
            print("| N | CPU s per 1,000 ingests: engram / postgres | per 1,000 contexts: "
                  "engram / postgres |")
            print("|---|---|---|")
            for n, _, _, ei, pi, ec, pc in rows:
                print("| %d | %.2f / %.2f | %.2f / %.2f |" % (n, ei, pi, ec, pc))
        print("(context subject: %d memories; %d connections through haproxy; %.0f s each)"
              % (made.get("memories_created", 0), a.conns, a.seconds))
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "stop", pgdir],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
