#!/usr/bin/env python3
"""run.py - the scenarios of `make bench` (issue 7), on SQLite and on PostgreSQL.

Starts `bin/engram serve` on a free port with a fresh database for each backend (a SQLite file
in a temp directory; PostgreSQL on a throwaway cluster from scripts/pg-cluster.sh, stopped at
the end even on failure), drives it with bench/loadgen (C, keep-alive connections, one thread
each) and measures the floors of the same machine in the same run:

  HTTP floor     GET /healthz over keep-alive connections (throughput and latency)
  storage floor  bench/store_floor: raw store_episode_insert of the same row, one process

Prints ONE table: figure, value, floor, ratio (value / floor), then which targets of issue 7
are met. Scenarios whose endpoint is not there yet (404/405) are skipped with a note.

  bench/run.py [--quick] [--backends sqlite,postgres] [--json FILE] [--table FILE]
               [--only support|explorer|hot|ingest|writes|search|before] [--durable]
               [--rounds N]

Environment: ENGRAM_BIN (default bin/engram), ENGRAM_BENCH_TOOLS (directory holding loadgen
and store_floor, default build/release/bench), ENGRAM_BENCH_DIR (scratch directory; default a
new one under /tmp, removed at the end), ENGRAM_BEFORE_BIN (the engram binary of the commit
before issue 18's search engine, bf186e9: the search scenario then times compile and import on
both binaries, alternated, and prints this build's throughput as a ratio of it; --only before
runs that part alone, --rounds N alternations instead of 2).
"""
import argparse
import hashlib
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Sizes and durations: full run (< 10 min on 2 cores for both backends) and QUICK (< 1 min).
FULL = dict(dur=3.0, warm=0.5, ctx_sizes=(100, 1000, 10000), search_size=10000,
            scale=(1000, 100000), scale_eps=3, export_n=10000, emb_export_size=1000,
            snap_eps=200, restores=20, tput_conns=16, floor_secs=2.0, support_eps=1000,
            support_res=50, explorer_subjects=100000, explorer_eps=10, hot_eps=100000,
            se_sizes=((10000, 200, 50), (100000, 100, 5)), writes_eps=1000, writes_import=2000,
            writes_rounds=2)
QUICK = dict(dur=0.5, warm=0.1, ctx_sizes=(100, 1000), search_size=1000,
             scale=(1000, 10000), scale_eps=1, export_n=2000, emb_export_size=100,
             snap_eps=200, restores=5, tput_conns=16, floor_secs=0.5, support_eps=1000,
             support_res=50, explorer_subjects=10000, explorer_eps=10, hot_eps=10000,
             se_sizes=((1000, 50, 10),), writes_eps=300, writes_import=500, writes_rounds=1)

INGEST_BODY = ('{"subject_id":"s-{conn}","source":"chat","type":"message",'
               '"payload":{"text":"My name is {name:0} Smith and I work at {name:0} Corp."}}')
CONTEXT_TASK = "What is the user's name and where do they work?"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---- small helpers ------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def word(prefix, i):
    """A capitalised letters-only word unique for i ([A-Z][a-z]+, as the compiler's name
    pattern wants)."""
    digits = []
    while True:
        digits.append(chr(ord("a") + i % 26))
        i //= 26
        if i == 0 and len(digits) >= 4:
            break
    return prefix + "".join(reversed(digits))


def person_text(i, work=True):
    """'My name is A B and I work at C D.': 3 memories per compiled episode (a summary, a name
    fact, a work fact) that never supersede each other (Jaccard < 0.6 between episodes)."""
    name = "My name is %s %s" % (word("K", i), word("Q", i))
    if work:
        return "%s and I work at %s %s." % (name, word("W", i), word("Z", i))
    return name + "."


def episode(subject, text, i=0):
    return {"subject_id": subject, "source": "chat", "type": "message",
            "payload": {"messages": [{"role": "user", "content": text}]},
            "metadata": {"seq": i}}


def hot_batch_file(workdir, subject):
    """A loadgen body of 100 short episodes of subject (sessions of one, user and agent in
    turn): the 100,000 uncompiled episodes of the hot context subject."""
    path = os.path.join(workdir, "hot100.json")
    with open(path, "w") as f:
        items = ['{"subject_id":"%s","session_id":"sess-{seq}","source":"%s",'
                 '"type":"message","payload":{"text":"Message %d of session {seq}: '
                 'the printer on floor {rand:9} is jammed again"}}' % (
                     subject, "user" if j % 2 == 0 else "agent", j)
                 for j in range(100)]
        f.write('{"episodes":[' + ",".join(items) + "]}")
    return path


def read_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) / 1024.0   # MiB
    except OSError:
        pass
    return out


def reset_hwm(pid):
    """Reset the peak-RSS mark (VmHWM) to the current RSS; False when the kernel refuses."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---- the server under test ----------------------------------------------------------------

class Http:
    """One keep-alive connection for the setup steps (not for measurements)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, timeout=600, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                           timeout=timeout)
                elif self.conn.sock is not None:
                    # The connection may come from a call with a shorter timeout (the 2 s
                    # /healthz probe at start): this call's own timeout applies.
                    self.conn.sock.settimeout(timeout)
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                if (resp.getheader("Connection") or "").lower() == "close":
                    self.close()
                return resp.status, payload
            except (http.client.HTTPException, OSError) as e:
                self.close()
                # A stale keep-alive connection is retried once on a new one; a timeout is
                # not: the server may have run the request (a compile sent twice reports 0
                # memories the second time).
                if attempt or isinstance(e, TimeoutError):
                    raise
        raise BenchError("unreachable")

    def json(self, method, path, body=None, expect=(200, 201), timeout=600):
        status, payload = self.request(method, path, body, timeout)
        if status not in expect:
            raise BenchError("%s %s -> %d: %s" % (method, path, status, payload[:300]))
        return json.loads(payload) if payload else None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Server:
    def __init__(self, binary, db_url, workdir, extra_env=None, wrapper=(), wait_s=30):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.upper().startswith("STATEWAVE_") and k.upper() != "DATABASE_URL"}
        env.update({
            "STATEWAVE_DATABASE_URL": db_url,
            "STATEWAVE_HOST": "127.0.0.1",
            "STATEWAVE_PORT": str(self.port),
            "STATEWAVE_LOG_LEVEL": "warning",
            "STATEWAVE_ENABLE_SNAPSHOTS": "true",
        })
        env.update(extra_env or {})
        self.log_path = os.path.join(workdir, "server-%d.log" % self.port)
        self.log_file = open(self.log_path, "wb")
        # cwd = the scratch directory, so no .env of the checkout is read.
        self.proc = subprocess.Popen(list(wrapper) + [binary, "serve"], cwd=workdir, env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        with open(os.path.join(workdir, "server.pid"), "w") as f:
            f.write(str(self.proc.pid))
        self.http = Http(self.port)
        deadline = time.time() + wait_s
        while True:
            if self.proc.poll() is not None:
                raise BenchError("the server exited at start: %s" % self.log_tail())
            try:
                status, _ = self.http.request("GET", "/healthz", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise BenchError("the server did not answer /healthz: %s" % self.log_tail())
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-1500:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# ---- the bench ----------------------------------------------------------------------------

class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.cfg = dict(QUICK if args.quick else FULL)
        if getattr(args, "rounds", None):
            self.cfg["writes_rounds"] = args.rounds
        self.workdir = workdir
        self.binary = os.path.abspath(os.environ.get("ENGRAM_BIN",
                                                     os.path.join(ROOT, "bin/engram")))
        tools = os.path.abspath(os.environ.get("ENGRAM_BENCH_TOOLS",
                                               os.path.join(ROOT, "build/release/bench")))
        self.loadgen = os.path.join(tools, "loadgen")
        self.store_floor = os.path.join(tools, "store_floor")
        self.search_bench = os.path.join(tools, "search_bench")
        # The binary of before issue 18's search engine, for the write ratios (ENGRAM_BEFORE_BIN)
        before = os.environ.get("ENGRAM_BEFORE_BIN")
        self.before_bin = os.path.abspath(before) if before else None
        self.rows = []          # (backend, figure, value, unit, floor, floor_label, ratio_kind)
        self.notes = []
        self.results = {}       # backend -> {key: number}
        self.pg_dir = None
        self.server = None

    # -- recording --

    def add(self, backend, figure, value, unit, floor=None, floor_label="", key=None,
            lower_is_better=False):
        self.rows.append(dict(backend=backend, figure=figure, value=value, unit=unit,
                              floor=floor, floor_label=floor_label,
                              lower_is_better=lower_is_better))
        if key:
            self.results.setdefault(backend, {})[key] = value
        shown = fmt_num(value) if value is not None else "skipped"
        log("  %-7s %-50s %12s %s" % (backend, figure, shown, unit))

    def skip(self, backend, figure, why):
        self.rows.append(dict(backend=backend, figure=figure, value=None, unit="",
                              floor=None, floor_label="", lower_is_better=False, note=why))
        self.notes.append("%s: %s skipped: %s" % (backend, figure, why))
        log("  %-7s %-50s skipped (%s)" % (backend, figure, why))

    # -- tools --

    def run_loadgen(self, path, conns=1, seconds=None, total=None, method="GET", body=None,
                    body_file=None, seq0=0, warm=None, expect=None):
        cmd = [self.loadgen, "-p", str(self.server.port), "-c", str(conns), "-m", method,
               "-s", str(seq0)]
        if total:
            cmd += ["-n", str(total)]
        else:
            cmd += ["-d", str(seconds or self.cfg["dur"]),
                    "-w", str(self.cfg["warm"] if warm is None else warm)]
        if body is not None:
            cmd += ["-b", body]
        if body_file:
            cmd += ["-B", body_file]
        if expect:
            cmd += ["-e", str(expect)]
        cmd.append(path)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        try:
            res = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise BenchError("loadgen failed: %s %s" % (p.stdout, p.stderr))
        if res["errors"] or res["requests"] == 0:
            raise BenchError("loadgen %s %s: %d errors of %d (%s) [%s]" % (
                method, path, res["errors"], res["requests"] + res["errors"],
                p.stderr.strip()[:400], " ".join(cmd)))
        return res

    def run_store_floor(self, url, batch):
        p = subprocess.run([self.store_floor, url, str(self.cfg["floor_secs"]), str(batch)],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise BenchError("store_floor failed: %s" % p.stderr.strip()[-400:])
        return json.loads(p.stdout.strip().splitlines()[-1])

    # -- database set-up --

    def pg_start(self):
        self.pg_dir = os.path.join(self.workdir, "pg")
        env = dict(os.environ)
        if getattr(self.args, "durable", False):
            env["PG_DURABLE"] = "1"
        p = subprocess.run([os.path.join(ROOT, "scripts/pg-cluster.sh"), "start", self.pg_dir],
                           capture_output=True, text=True, timeout=120, env=env)
        if p.returncode != 0:
            raise BenchError("cannot start a PostgreSQL cluster: %s" % p.stderr.strip()[-400:])

    def pg_createdb(self, name):
        p = subprocess.run([os.path.join(ROOT, "scripts/pg-cluster.sh"), "createdb",
                            self.pg_dir, name], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise BenchError("createdb %s failed: %s" % (name, p.stderr.strip()[-400:]))
        return p.stdout.strip().splitlines()[-1]

    def pg_stop(self):
        if self.pg_dir and os.path.isdir(self.pg_dir):
            subprocess.run([os.path.join(ROOT, "scripts/pg-cluster.sh"), "stop", self.pg_dir],
                           capture_output=True, timeout=120)
        self.pg_dir = None

    def db_url(self, backend, name):
        if backend == "sqlite":
            return "sqlite:///" + os.path.join(self.workdir, name + ".db").lstrip("/")
        return self.pg_createdb(name)

    def start_server(self, url, extra_env=None):
        self.stop_server()
        self.server_args = (url, extra_env)
        self.server = Server(self.binary, url, self.workdir, extra_env)
        return self.server

    def restart_server(self):
        """The same database on a new server process (a clean heap for RSS figures); returns
        its pid."""
        url, env = self.server_args
        self.start_server(url, env)
        time.sleep(0.2)
        return self.server.pid

    def settle(self, backend):
        """PostgreSQL: VACUUM ANALYZE the bench database, as pgbench does before each run, so
        that the latencies measured next are those of a settled database, not of the minute
        after a bulk load (while autovacuum works through it and the planner has no
        statistics). SQLite has nothing of the kind."""
        if backend != "postgres" or self.server is None:
            return
        t0 = time.perf_counter()
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.server_args[0],
                            "-c", "VACUUM ANALYZE"], capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            raise BenchError("VACUUM ANALYZE failed: %s" % p.stderr.strip()[-400:])
        log("  (VACUUM ANALYZE in %.1f s)" % (time.perf_counter() - t0))

    def stop_server(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    # -- data set-up over HTTP --

    def ingest(self, episodes):
        h = self.server.http
        for i in range(0, len(episodes), 100):
            h.json("POST", "/v1/episodes/batch", {"episodes": episodes[i:i + 100]})

    def compile_subject(self, subject, n_episodes):
        """Compile every episode of subject (at most 500 per call); returns (seconds,
        memories created)."""
        h = self.server.http
        calls = max(1, math.ceil(n_episodes / 500))
        created = 0
        t0 = time.perf_counter()
        for _ in range(calls):
            r = h.json("POST", "/v1/memories/compile", {"subject_id": subject})
            created += r["memories_created"]
        secs = time.perf_counter() - t0
        r = h.json("POST", "/v1/memories/compile", {"subject_id": subject})
        if r["memories_created"]:
            raise BenchError("compile of %s left episodes behind" % subject)
        if n_episodes and not created:
            raise BenchError("compile of %s (%d episodes) created no memories" % (
                subject, n_episodes))
        return secs, created

    def endpoint_missing(self, method, path, body=None):
        """True when the route does not exist yet (404 'Not Found' from the router, or 405)."""
        status, payload = self.server.http.request(method, path, body if body is not None
                                                   else None)
        if status == 405:
            return True
        if status == 404:
            try:
                msg = json.loads(payload)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                msg = ""
            return msg in ("Not Found", "Not found")
        return False

    # ---- scenarios ----

    def http_floor(self, tag):
        """GET /healthz at 1, cfg["tput_conns"] and 64 connections, recorded; returns the
        three loadgen results."""
        cfg = self.cfg
        hz1 = self.run_loadgen("/healthz", conns=1)
        hzt = self.run_loadgen("/healthz", conns=cfg["tput_conns"])
        hz64 = self.run_loadgen("/healthz", conns=64)
        self.add(tag, "HTTP floor: GET /healthz, 1 conn", hz1["rps"], "req/s",
                 key="http_rps1")
        self.add(tag, "HTTP floor: GET /healthz, 1 conn, p50", hz1["p50_ms"], "ms",
                 key="http_p50", lower_is_better=True)
        self.add(tag, "HTTP floor: GET /healthz, 1 conn, p99", hz1["p99_ms"], "ms",
                 key="http_p99", lower_is_better=True)
        self.add(tag, "HTTP floor: GET /healthz, %d conns" % cfg["tput_conns"], hzt["rps"],
                 "req/s", key="http_rpsN")
        self.add(tag, "HTTP floor: GET /healthz, 64 conns", hz64["rps"], "req/s",
                 key="http_rps64")
        return hz1, hzt, hz64

    def run_backend(self, backend):
        cfg = self.cfg
        log("== %s" % backend)
        if backend == "postgres":
            self.pg_start()

        # 1. storage floor (before the server runs, so nothing else competes for the CPU)
        floor_url = self.db_url(backend, "floor")
        f1 = self.run_store_floor(floor_url, 1)
        f100 = self.run_store_floor(floor_url, 100)
        self.add(backend, "storage floor: 1-row commits", f1["rows_per_s"], "rows/s",
                 key="floor_rows1")
        self.add(backend, "storage floor: 100-row transactions", f100["rows_per_s"], "rows/s",
                 key="floor_rows100")

        bench_url = self.db_url(backend, "bench")
        srv = self.start_server(bench_url)
        time.sleep(0.5)
        idle = read_status(srv.pid)
        self.add(backend, "RSS idle (fresh server)", idle.get("VmRSS"), "MiB",
                 key="rss_idle", lower_is_better=True)

        # 1. HTTP floor
        hz1, hzt, hz64 = self.http_floor(backend)
        http_p50, http_p99 = hz1["p50_ms"], hz1["p99_ms"]
        floor1, floor100 = f1["rows_per_s"], f100["rows_per_s"]

        # 2. ingest
        seq = 0
        for conns in (1, 16, 64):
            r = self.run_loadgen("/v1/episodes", conns=conns, method="POST", body=INGEST_BODY,
                                 seq0=seq)
            seq += 10_000_000
            fl, label = (floor1, "1-row commits") if conns == 1 else (floor100, "100-row tx")
            self.add(backend, "ingest POST /v1/episodes, %d conn%s" % (
                conns, "s" if conns > 1 else ""), r["rps"], "eps/s", fl, label,
                key="ingest_%d" % conns)
            if conns == 1:
                self.add(backend, "ingest, 1 conn, p50", r["p50_ms"], "ms", http_p50,
                         "HTTP p50", lower_is_better=True)
            if conns == 64:
                self.add(backend, "ingest, 64 conns, p99", r["p99_ms"], "ms", None, "",
                         lower_is_better=True)
        batch_file = os.path.join(self.workdir, "batch100.json")
        with open(batch_file, "w") as f:
            items = [INGEST_BODY.replace("{conn}", "b{conn}").replace(
                "{name:0}", "{name:0}" + word("", k)) for k in range(100)]
            f.write('{"episodes":[' + ",".join(items) + "]}")
        for conns in (1, 4):
            r = self.run_loadgen("/v1/episodes/batch", conns=conns, method="POST",
                                 body_file=batch_file, seq0=seq)
            seq += 10_000_000
            self.add(backend, "ingest batch of 100, %d conn%s" % (conns, "s" if conns > 1
                                                                  else ""),
                     r["rps"] * 100, "eps/s", floor100, "100-row tx",
                     key="batch_%d" % conns)

        # 3. compile and 4. context: subjects with ~100, 1,000, 10,000 memories
        ctx_subjects = {}
        total_eps = total_secs = 0
        for size in cfg["ctx_sizes"]:
            subject = "ctx-%d" % size
            n_eps = math.ceil(size / 3)
            self.ingest([episode(subject, person_text(i), i) for i in range(n_eps)])
            secs, created = self.compile_subject(subject, n_eps)
            ctx_subjects[size] = (subject, created)
            total_eps += n_eps
            total_secs += secs
            if size == max(cfg["ctx_sizes"]):
                self.add(backend, "compile: %d episodes -> %d memories" % (n_eps, created),
                         n_eps / secs, "eps/s", floor100, "100-row tx", key="compile")
        self.settle(backend)
        for size in cfg["ctx_sizes"]:
            subject, created = ctx_subjects[size]
            body = json.dumps({"subject_id": subject, "task": CONTEXT_TASK})
            r = self.run_loadgen("/v1/context", conns=1, method="POST", body=body)
            rt = self.run_loadgen("/v1/context", conns=cfg["tput_conns"], method="POST",
                                  body=body)
            self.add(backend, "context, %d memories, p50" % created, r["p50_ms"], "ms",
                     http_p50, "HTTP p50", key="ctx_p50_%d" % size, lower_is_better=True)
            self.add(backend, "context, %d memories, p99" % created, r["p99_ms"], "ms",
                     http_p99, "HTTP p99", key="ctx_p99_%d" % size, lower_is_better=True)
            self.add(backend, "context, %d memories, %d conns" % (created, cfg["tput_conns"]),
                     rt["rps"], "req/s", hzt["rps"], "HTTP %d conns" % cfg["tput_conns"],
                     key="ctx_rps_%d" % size)

        # 4b. context with Engram's explain and with a stored receipt (spec/api.md §5.4, §11):
        # the search subject (the largest), so the extra cost reads against its plain figures
        subject, created = ctx_subjects[cfg["search_size"]]
        for extra, name in (({"explain": True}, "explain"),
                            ({"emit_receipt": True}, "emit_receipt")):
            body = json.dumps(dict({"subject_id": subject, "task": CONTEXT_TASK}, **extra))
            r = self.run_loadgen("/v1/context", conns=1, method="POST", body=body)
            self.add(backend, "context + %s, %d memories, p50" % (name, created), r["p50_ms"],
                     "ms", http_p50, "HTTP p50", key="ctx_%s_p50" % name, lower_is_better=True)
            self.add(backend, "context + %s, %d memories, p99" % (name, created), r["p99_ms"],
                     "ms", http_p99, "HTTP p99", key="ctx_%s_p99" % name, lower_is_better=True)

        # 5. search on the largest subject
        subject, created = ctx_subjects[cfg["search_size"]]
        for mode, q in (("text", "&q=corp"), ("semantic", "&q=employer&semantic=true")):
            path = "/v1/memories/search?subject_id=%s%s" % (subject, q)
            r = self.run_loadgen(path, conns=1)
            self.add(backend, "search %s, %d memories, p50" % (mode, created), r["p50_ms"],
                     "ms", http_p50, "HTTP p50", key="search_%s_p50" % mode,
                     lower_is_better=True)
            self.add(backend, "search %s, %d memories, p99" % (mode, created), r["p99_ms"],
                     "ms", http_p99, "HTTP p99", key="search_%s_p99" % mode,
                     lower_is_better=True)

        # 10. the support tier: health and handoff on a subject with a long history
        self.scenario_support(backend, http_p50, http_p99)

        # 9. footprint under load: the peak so far (ingest at 64 conns, context, search)
        st = read_status(srv.pid)
        self.add(backend, "RSS peak under load (ingest/context/search)", st.get("VmHWM"),
                 "MiB", key="rss_load", lower_is_better=True)
        self.add(backend, "RSS after load", st.get("VmRSS"), "MiB", lower_is_better=True)

        # 7. snapshot restore
        self.scenario_snapshot(backend)

        # 6. export and import, on a restarted server (so RSS growth is not hidden by the heap
        # that earlier scenarios left behind)
        srv = self.start_server(bench_url)
        time.sleep(0.3)
        self.add(backend, "RSS idle (restarted, populated database)",
                 read_status(srv.pid).get("VmRSS"), "MiB", lower_is_better=True)
        self.scenario_export_import(backend, ctx_subjects[cfg["emb_export_size"]])

        # 8. scale: a fresh database, 1k then 100k subjects
        self.scenario_scale(backend)

        # 11. the search engine below HTTP, and the write cost against the build before it
        self.stop_server()
        self.scenario_search_engine(backend)
        self.scenario_writes_vs_before(backend)

        self.stop_server()
        if backend == "postgres":
            self.pg_stop()

    def run_hot_only(self, backend):
        """--only hot (issue 22): the HTTP floor at 1/16/64 connections, single-episode
        ingest, compile, the 100,000-episode context subject (p50/p99 at 1 connection,
        req/s at 64) and snapshot restore. With --durable the server runs with production
        durability instead of the bench's (SQLite synchronous=FULL; PostgreSQL with fsync,
        synchronous_commit and full_page_writes on)."""
        cfg = self.cfg
        tag = backend + (" durable" if self.args.durable else "")
        log("== %s (hot paths)" % tag)
        if backend == "postgres":
            self.pg_start()
        extra = {"STATEWAVE_SQLITE_SYNCHRONOUS": "full"} if (
            self.args.durable and backend == "sqlite") else None
        self.start_server(self.db_url(backend, "hot"), extra)
        time.sleep(0.5)
        hz1, hzt, hz64 = self.http_floor(tag)
        self.scenario_single_ingest(tag, hz1, hzt, hz64)
        if self.args.only == "ingest":
            self.stop_server()
            if backend == "postgres":
                self.pg_stop()
            return
        self.scenario_context_100k(tag, hz1, hz64)
        self.scenario_snapshot(tag)
        self.stop_server()
        if backend == "postgres":
            self.scenario_fastapi_floor(tag)
            self.pg_stop()

    def scenario_single_ingest(self, tag, hz1, hzt, hz64):
        """Single-episode ingest at 1, 16 and 64 connections, each beside /healthz at the same
        connection count (issue 22)."""
        seq = 0
        for conns in (1, 16, 64):
            r = self.run_loadgen("/v1/episodes", conns=conns, method="POST", body=INGEST_BODY,
                                 seq0=seq)
            seq += 10_000_000
            floor = hz1["rps"] if conns == 1 else (hzt["rps"] if conns == 16 else hz64["rps"])
            self.add(tag, "ingest POST /v1/episodes, %d conn%s" % (conns, "s" if conns > 1
                                                                    else ""),
                     r["rps"], "eps/s", floor, "healthz, same conns", key="ingest_%d" % conns)
            self.add(tag, "ingest POST /v1/episodes, %d conn%s, p99" % (
                conns, "s" if conns > 1 else ""), r["p99_ms"], "ms", lower_is_better=True)

    def run_writes_only(self, backend):
        """--only writes (issue 22): the bulk writes of the hot-path targets alone, in about a
        minute per backend: compile of 334 episodes into 1,002 memories (three compiles, each
        on a subject of its own; the median is the figure), then snapshot restore of 200
        episodes / 400 memories (p50 of cfg["restores"] restores). --durable as for hot."""
        tag = backend + (" durable" if self.args.durable else "")
        log("== %s (bulk writes: compile, restore)" % tag)
        if backend == "postgres":
            self.pg_start()
        extra = {"STATEWAVE_SQLITE_SYNCHRONOUS": "full"} if (
            self.args.durable and backend == "sqlite") else None
        self.start_server(self.db_url(backend, "writes"), extra)
        n_eps, rates = 334, []
        for k in range(3):
            subject = "compile-%d" % k
            self.ingest([episode(subject, person_text(i), i) for i in range(n_eps)])
            secs, created = self.compile_subject(subject, n_eps)
            rates.append(n_eps / secs)
        self.add(tag, "compile: %d episodes -> %d memories (median of 3)" % (n_eps, created),
                 sorted(rates)[1], "eps/s", key="compile")
        self.scenario_snapshot(tag)
        self.stop_server()
        if backend == "postgres":
            self.pg_stop()

    def run_search_only(self, backend):
        """--only search (issue 18): the search engine's figures (bench/search_bench) and, with
        ENGRAM_BEFORE_BIN, compile and import against the build before it."""
        log("== %s (search)" % backend)
        if backend == "postgres":
            self.pg_start()
        self.scenario_search_engine(backend)
        self.scenario_writes_vs_before(backend)
        if backend == "postgres":
            self.pg_stop()

    def run_before_only(self, backend):
        """--only before (issue 18): compile and import against ENGRAM_BEFORE_BIN alone."""
        log("== %s (before)" % backend)
        if backend == "postgres":
            self.pg_start()
        self.scenario_writes_vs_before(backend)
        if backend == "postgres":
            self.pg_stop()

    def scenario_search_engine(self, backend):
        """bench/search_bench on its own database: one subject of N memories with 1,536-d
        vectors; text searches (a term no row holds, every row holds, one row holds), semantic
        searches through the compact codes + re-rank, the exact scan, recall@10 of the first
        against the second (on the first EXACT queries). Wall time in one process; on
        PostgreSQL after VACUUM ANALYZE."""
        url = self.db_url(backend, "search")
        for n, queries, exact in self.cfg["se_sizes"]:
            base = [self.search_bench, url, str(n), "1536"]
            p = subprocess.run(base + ["1", "1"], capture_output=True, text=True, timeout=1800)
            if p.returncode != 0:
                raise BenchError("search_bench fill %d: %s" % (n, p.stderr.strip()[-400:]))
            # The fill's first text query indexes what the fill wrote (SQLite defers it)
            first = [json.loads(ln) for ln in p.stdout.splitlines()
                     if ln.startswith("{") and "text, first query" in ln]
            if backend == "postgres":
                subprocess.run(["psql", "-X", "-q", url, "-c", "VACUUM ANALYZE"],
                               capture_output=True, timeout=900, check=True)
            p = subprocess.run(base + [str(queries), str(exact)], capture_output=True,
                               text=True, timeout=1800)
            if p.returncode != 0:
                raise BenchError("search_bench %d: %s" % (n, p.stderr.strip()[-400:]))
            figs = {}
            for ln in p.stdout.splitlines():
                d = json.loads(ln)
                figs[d["figure"]] = d
            tag = "%dk" % (n // 1000)
            for fig, key in (("text, no row holds it", "text"),
                             ("text, every row holds it", "text_every"),
                             ("text, one row holds it", "text_one"),
                             ("semantic, compact codes + re-rank", "sem"),
                             ("semantic, exact scan", "sem_exact")):
                d = figs.get(fig)
                if not d:
                    continue
                for q in ("p50", "p99"):
                    self.add(backend, "search engine %s, %s memories, %s" % (fig, tag, q),
                             d[q + "_ms"], "ms", key="se_%s_%s_%d" % (key, q, n),
                             lower_is_better=True)
            d = first[0] if first else None
            if d:
                self.add(backend, "search engine text first query (indexes the %s rows "
                         "written before it)" % tag, d["ms"], "ms", lower_is_better=True)
            d = figs.get("semantic, first query (fills the cache)")
            if d:
                self.add(backend, "search engine semantic first query (fills the cache), %s"
                         % tag, d["ms"], "ms", lower_is_better=True)
            d = figs.get("recall@10")
            if d:
                self.add(backend, "search engine recall@10 compact vs exact, %s (%d queries)"
                         % (tag, exact), d["value"], "", key="se_recall_%d" % n)

    def time_writes(self, binary, backend, round_no):
        """Compile writes_eps episodes of one subject and import a writes_import-memory
        document, on a fresh database, with binary; returns (compile eps/s, import seconds)."""
        name = "writes%d%s" % (round_no, "b" if binary == self.before_bin else "a")
        url = self.db_url(backend, name)
        saved = self.binary
        self.binary = binary
        try:
            self.start_server(url)
            n = self.cfg["writes_eps"]
            self.ingest([episode("w-cmp", person_text(i), i) for i in range(n)])
            secs, _ = self.compile_subject("w-cmp", n)
            doc_file = os.path.join(self.workdir, "writes-doc.json")
            if not os.path.exists(doc_file):
                with open(doc_file, "w") as f:
                    json.dump({"document": make_export_doc("w-imp", self.cfg["writes_import"]),
                               "preserve_ids": False, "target_subject_id": "w-imp-{seq}"}, f,
                              separators=(",", ":"))
            r = self.run_loadgen("/admin/import", conns=1, total=1, method="POST",
                                 body_file=doc_file)
            return n / secs, r["p50_ms"] / 1000
        finally:
            self.stop_server()
            self.binary = saved

    def scenario_writes_vs_before(self, backend):
        """Issue 18's write target: compile and import throughput of this build against the
        build before the search engine (ENGRAM_BEFORE_BIN), alternated on fresh databases
        (this, before, this, before, ...); the medians' ratio. Without ENGRAM_BEFORE_BIN only
        this build's figures."""
        bins = [self.binary] + ([self.before_bin] if self.before_bin else [])
        got = {b: ([], []) for b in bins}
        for rnd in range(self.cfg["writes_rounds"]):
            for b in bins:
                eps, imp = self.time_writes(b, backend, rnd)
                got[b][0].append(eps)
                got[b][1].append(imp)

        def med(v):
            v = sorted(v)
            return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

        n, m = self.cfg["writes_eps"], self.cfg["writes_import"]
        eps, imp = med(got[self.binary][0]), med(got[self.binary][1])
        self.add(backend, "writes: compile %d episodes, this build" % n, eps, "eps/s")
        self.add(backend, "writes: import %d episodes + %d memories, this build" % (m, m),
                 imp, "s", lower_is_better=True)
        if not self.before_bin:
            self.notes.append("%s: compile/import ratio vs before issue 18 not measured "
                              "(set ENGRAM_BEFORE_BIN)" % backend)
            return
        beps, bimp = med(got[self.before_bin][0]), med(got[self.before_bin][1])
        self.add(backend, "writes: compile %d episodes, before issue 18" % n, beps, "eps/s")
        self.add(backend, "writes: import %d episodes + %d memories, before issue 18" % (m, m),
                 bimp, "s", lower_is_better=True)
        self.add(backend, "writes: compile throughput vs before", eps / beps, "x",
                 key="writes_compile_ratio")
        self.add(backend, "writes: import throughput vs before", bimp / imp, "x",
                 key="writes_import_ratio")

    def scenario_fastapi_floor(self, tag):
        """The FastAPI + asyncpg floor of ../shared/anchor-fastapi (issue 22) on the same
        PostgreSQL cluster, one uvicorn worker, driven by the same load generator with the
        bodies of its wrk scripts: healthz and context at 64 connections, single-episode
        ingest at 64. Skipped with a note when the directory or its Debian packages are
        missing (python3-fastapi python3-uvicorn python3-asyncpg python3-uvloop
        python3-httptools)."""
        # ../shared beside the checkout (a worktree may sit one level deeper)
        candidates = [os.environ.get("ENGRAM_ANCHOR_DIR") or "",
                      os.path.join(os.path.dirname(ROOT), "shared", "anchor-fastapi"),
                      os.path.join(os.path.dirname(os.path.dirname(ROOT)), "shared",
                                   "anchor-fastapi")]
        app_dir = next((d for d in candidates if d and os.path.isfile(os.path.join(d, "app.py"))),
                       candidates[1])
        if not os.path.isfile(os.path.join(app_dir, "app.py")):
            self.skip(tag, "FastAPI floor", "no %s/app.py" % app_dir)
            return
        probe = subprocess.run(["/usr/bin/python3", "-c",
                                "import fastapi, uvicorn, asyncpg, uvloop, httptools"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skip(tag, "FastAPI floor", "its Python packages are not installed")
            return
        url = self.pg_createdb("anchor")
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f",
                            os.path.join(app_dir, "schema.sql")], capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise BenchError("anchor schema: %s" % p.stderr.strip()[-400:])
        port = free_port()
        env = dict(os.environ, ANCHOR_DSN=url, PYTHONDONTWRITEBYTECODE="1")
        log_file = open(os.path.join(self.workdir, "anchor.log"), "wb")
        proc = subprocess.Popen(["/usr/bin/python3", "-m", "uvicorn", "app:app", "--host",
                                 "127.0.0.1", "--port", str(port), "--workers", "1", "--loop",
                                 "uvloop", "--http", "httptools", "--log-level", "warning"],
                                cwd=app_dir, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT)
        try:
            h = Http(port)
            for _ in range(100):
                try:
                    if h.request("GET", "/healthz", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            else:
                raise BenchError("the FastAPI floor did not start")
            h.close()
            saved, self.server = self.server, type("S", (), {"port": port})()
            ctx_body = '{"subject_id":"user-1","task":"answer the user"}'
            ep_body = ('{"subject_id":"user-1","source":"bench","type":"conversation",'
                       '"session_id":"s-1","payload":{"messages":[{"role":"user","content":"'
                       + "x" * 900 + '"}]},"metadata":{"k":"v"},"provenance":{"origin":"wrk"}}')
            try:
                hz = self.run_loadgen("/healthz", conns=64)
                ep = self.run_loadgen("/v1/episodes", conns=64, method="POST", body=ep_body)
                ctx = self.run_loadgen("/v1/context", conns=64, method="POST", body=ctx_body)
                ctx1 = self.run_loadgen("/v1/context", conns=1, method="POST", body=ctx_body)
            finally:
                self.server = saved
            self.add(tag, "FastAPI floor: GET /healthz, 64 conns", hz["rps"], "req/s",
                     key="floor_healthz64")
            self.add(tag, "FastAPI floor: POST /v1/episodes, 64 conns", ep["rps"], "req/s",
                     key="floor_ingest64")
            self.add(tag, "FastAPI floor: POST /v1/context (newest 100), 64 conns",
                     ctx["rps"], "req/s", key="floor_ctx64")
            self.add(tag, "FastAPI floor: POST /v1/context, 1 conn, p50", ctx1["p50_ms"],
                     "ms", lower_is_better=True)
            r = self.results.get(tag, {})
            if r.get("hot_ctx_rps64"):
                self.add(tag, "Engram context req/s over the FastAPI floor's, 64 conns",
                         r["hot_ctx_rps64"] / ctx["rps"], "x", key="ctx_vs_floor")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()

    def scenario_context_100k(self, tag, hz1, hz64):
        """Compile 334 episodes into 1,002 memories, then add cfg["hot_eps"] uncompiled
        episodes to the same subject (sessions of 10), and measure context on it."""
        cfg = self.cfg
        subject, n_eps = "ctx-hot", 334
        self.ingest([episode(subject, person_text(i), i) for i in range(n_eps)])
        secs, created = self.compile_subject(subject, n_eps)
        self.add(tag, "compile: %d episodes -> %d memories" % (n_eps, created), n_eps / secs,
                 "eps/s", key="compile")
        batch_file = hot_batch_file(self.workdir, subject)
        t0 = time.perf_counter()
        self.run_loadgen("/v1/episodes/batch", conns=4, total=cfg["hot_eps"] // 100,
                         method="POST", body_file=batch_file)
        log("  (added %d episodes in %.1f s)" % (cfg["hot_eps"], time.perf_counter() - t0))
        backend = tag.split()[0]
        self.settle(backend)
        body = json.dumps({"subject_id": subject, "task": CONTEXT_TASK})
        r1 = self.run_loadgen("/v1/context", conns=1, method="POST", body=body)
        r64 = self.run_loadgen("/v1/context", conns=64, method="POST", body=body)
        label = "context, %d memories + %dk episodes" % (created, cfg["hot_eps"] // 1000)
        self.add(tag, label + ", 1 conn, p50", r1["p50_ms"], "ms", hz1["p50_ms"],
                 "HTTP p50", key="hot_ctx_p50", lower_is_better=True)
        self.add(tag, label + ", 1 conn, p99", r1["p99_ms"], "ms", hz1["p99_ms"],
                 "HTTP p99", key="hot_ctx_p99", lower_is_better=True)
        self.add(tag, label + ", 64 conns", r64["rps"], "req/s", hz64["rps"],
                 "HTTP 64 conns", key="hot_ctx_rps64")
        self.add(tag, label + ", 64 conns, p50", r64["p50_ms"], "ms", None, "",
                 lower_is_better=True)

    def run_support_only(self, backend):
        """--only support: the HTTP floor and the support scenario, nothing else."""
        log("== %s (support only)" % backend)
        if backend == "postgres":
            self.pg_start()
        self.start_server(self.db_url(backend, "support"))
        time.sleep(0.5)
        hz1 = self.run_loadgen("/healthz", conns=1)
        self.add(backend, "HTTP floor: GET /healthz, 1 conn, p50", hz1["p50_ms"], "ms",
                 key="http_p50", lower_is_better=True)
        self.scenario_support(backend, hz1["p50_ms"], hz1["p99_ms"])
        self.stop_server()
        if backend == "postgres":
            self.pg_stop()

    def run_explorer_only(self, backend):
        """--only explorer: the HTTP floor and the admin explorer scenario (issue 16)."""
        log("== %s (explorer only)" % backend)
        if backend == "postgres":
            self.pg_start()
        self.start_server(self.db_url(backend, "explorer"))
        time.sleep(0.5)
        hz1 = self.run_loadgen("/healthz", conns=1)
        self.add(backend, "HTTP floor: GET /healthz, 1 conn, p50", hz1["p50_ms"], "ms",
                 key="http_p50", lower_is_better=True)
        self.scenario_explorer(backend, hz1["p50_ms"], hz1["p99_ms"])
        self.stop_server()
        if backend == "postgres":
            self.pg_stop()

    def scenario_explorer(self, backend, http_p50, http_p99):
        """GET /admin/subjects (default page, deep offset, a selective search through the
        trigram index, searches that walk a sort index), a subject's pages, the bulk-delete
        preview, GET /admin/usage and /admin/dashboard (rollups), each p50 and p99, on
        cfg["explorer_subjects"] subjects of
        cfg["explorer_eps"] episodes each (100,000 / 1M in the full run), loaded with batch
        ingest (100 episodes, 10 subjects of 10 sessions each per batch, 4 connections).
        The list's first call on a page computes and caches the health of its 50 pairs
        (measured once, "cold"); the loadgen figures are the steady state."""
        cfg = self.cfg
        h = self.server.http
        if self.endpoint_missing("GET", "/admin/subjects"):
            self.skip(backend, "explorer", "GET /admin/subjects not served yet")
            return
        n, k = cfg["explorer_subjects"], cfg["explorer_eps"]
        per_batch = 100 // k
        batch_file = os.path.join(self.workdir, "explorer100.json")
        with open(batch_file, "w") as f:
            items = ['{"subject_id":"ex-{seq}-%d","source":"%s","type":"message",'
                     '"session_id":"sess-%d","payload":{"text":"ticket {seq}-%d step %d"}}'
                     % (j // k, "chat" if j % 2 == 0 else "agent", j % k, j // k, j % k)
                     for j in range(100)]
            f.write('{"episodes":[' + ",".join(items) + "]}")
        t0 = time.perf_counter()
        self.run_loadgen("/v1/episodes/batch", conns=4, total=n // per_batch, method="POST",
                         body_file=batch_file)
        load_s = time.perf_counter() - t0
        log("  (loaded %d subjects / %d episodes in %.1f s)" % (n, n * k, load_s))
        self.settle(backend)
        label = "%sk subjects / %sk episodes" % (format(n // 1000, ","), format(n * k // 1000, ","))
        t0 = time.perf_counter()
        r = h.json("GET", "/admin/subjects?offset=5000", expect=(200,))
        if r["total"] != n:
            raise BenchError("explorer total %r, want %d" % (r["total"], n))
        self.add(backend, "explorer: list page, health not cached yet (%s)" % label,
                 (time.perf_counter() - t0) * 1000, "ms", lower_is_better=True)
        mid = "ex-%d" % (n // per_batch // 2)
        pages = [("list page (last activity, 50)", "/admin/subjects", "explorer_list"),
                 ("list page, offset %s by subject_id" % format(n // 2, ","),
                  "/admin/subjects?sort_by=subject_id&sort_order=asc&offset=%d" % (n // 2),
                  "explorer_deep"),
                 ("list page, search", "/admin/subjects?search=" + mid, "explorer_search"),
                 ("list page, search every id matches (walked)", "/admin/subjects?search=ex-",
                  "explorer_search_dense"),
                 ("list page, 1-character search (walked)", "/admin/subjects?search=7",
                  "explorer_search_short"),
                 ("subject detail", "/admin/subjects/%s-3" % mid, "explorer_detail"),
                 ("subject episodes page", "/admin/subjects/%s-3/episodes" % mid,
                  "explorer_episodes"),
                 ("bulk-delete preview, prefix", None, "explorer_preview"),
                 ("usage (GET /admin/usage)", "/admin/usage", "explorer_usage"),
                 ("usage of one tenant", "/admin/usage?tenant_id=none-such", "explorer_usage_t"),
                 ("dashboard (GET /admin/dashboard)", "/admin/dashboard", "explorer_dashboard")]
        for name, path, key in pages:
            if path is None:
                r = self.run_loadgen("/admin/subjects/preview-delete", conns=1, method="POST",
                                     body='{"subject_id_prefix":"%s"}' % mid)
            else:
                r = self.run_loadgen(path, conns=1)
            self.add(backend, "explorer: %s, %s, p50" % (name, label), r["p50_ms"], "ms",
                     http_p50, "HTTP p50", key=key + "_p50", lower_is_better=True)
            self.add(backend, "explorer: %s, %s, p99" % (name, label), r["p99_ms"], "ms",
                     http_p99, "HTTP p99", key=key + "_p99", lower_is_better=True)

    def scenario_support(self, backend, http_p50, http_p99):
        """GET /v1/subjects/{id}/health and POST /v1/handoff on one subject with
        cfg["support_eps"] episodes (10 per session, customer and agent in turn) and
        cfg["support_res"] resolutions (every third resolved)."""
        cfg = self.cfg
        h = self.server.http
        if self.endpoint_missing("GET", "/v1/subjects/x/health"):
            self.skip(backend, "support tier", "GET /v1/subjects/{id}/health not served yet")
            return
        subject, n, nres = "support-1", cfg["support_eps"], cfg["support_res"]
        eps = []
        for i in range(n):
            agent = i % 2 == 1
            eps.append({"subject_id": subject, "session_id": "sess-%03d" % (i // 10),
                        "source": "agent" if agent else "chat", "type": "message",
                        "payload": {"messages": [{
                            "role": "assistant" if agent else "user",
                            "content": ("I checked the invoice %d and issued a refund" % i
                                        if agent else
                                        "My invoice %d looks wrong, billing is broken" % i)}]}})
        self.ingest(eps)
        for k in range(nres):
            h.json("POST", "/v1/resolutions", {
                "subject_id": subject, "session_id": "sess-%03d" % k,
                "status": "resolved" if k % 3 == 0 else "open",
                "resolution_summary": "Refunded invoice %d" % k if k % 3 == 0 else None})
        label = "%s episodes / %d resolutions" % (format(n, ","), nres)
        r = self.run_loadgen("/v1/subjects/%s/health" % subject, conns=1)
        self.add(backend, "health, %s, p50" % label, r["p50_ms"], "ms", http_p50, "HTTP p50",
                 key="health_p50", lower_is_better=True)
        self.add(backend, "health, %s, p99" % label, r["p99_ms"], "ms", http_p99, "HTTP p99",
                 key="health_p99", lower_is_better=True)
        body = json.dumps({"subject_id": subject, "session_id": "sess-049"})
        r = self.run_loadgen("/v1/handoff", conns=1, method="POST", body=body)
        self.add(backend, "handoff, %s, p50" % label, r["p50_ms"], "ms", http_p50, "HTTP p50",
                 key="handoff_p50", lower_is_better=True)
        self.add(backend, "handoff, %s, p99" % label, r["p99_ms"], "ms", http_p99, "HTTP p99",
                 key="handoff_p99", lower_is_better=True)

    def scenario_snapshot(self, backend):
        cfg = self.cfg
        h = self.server.http
        if self.endpoint_missing("POST", "/admin/snapshots", {}):
            self.skip(backend, "snapshot restore", "POST /admin/snapshots not served yet")
            return
        subject = "snap-src"
        n = cfg["snap_eps"]
        self.ingest([episode(subject, person_text(i, work=False), i) for i in range(n)])
        _, created = self.compile_subject(subject, n)
        t0 = time.perf_counter()
        r = h.json("POST", "/admin/snapshots", {"name": "bench", "source_subject_id": subject})
        create_ms = (time.perf_counter() - t0) * 1000
        snap_id = r.get("id")
        if not snap_id:
            raise BenchError("snapshot create answered %r" % r)
        self.add(backend, "snapshot create, %d episodes / %d memories" % (n, created),
                 create_ms, "ms", lower_is_better=True)
        path = "/admin/snapshots/%s/restore" % snap_id
        if self.endpoint_missing("POST", path, {}):
            self.skip(backend, "snapshot restore", "restore not served yet")
            return
        res = self.run_loadgen(path, conns=1, total=cfg["restores"], method="POST",
                               body='{"target_subject_id":"snap-restored-{seq}"}')
        self.add(backend, "snapshot restore, %d ep / %d mem, p50" % (n, created),
                 res["p50_ms"], "ms", key="restore_p50", lower_is_better=True)
        self.add(backend, "snapshot restore, %d ep / %d mem, max" % (n, created),
                 res["max_ms"], "ms", key="restore_max", lower_is_better=True)

    def scenario_export_import(self, backend, big_subject):
        cfg = self.cfg
        n = cfg["export_n"]
        if self.endpoint_missing("POST", "/admin/import", {}):
            self.skip(backend, "import %dk/%dk" % (n // 1000, n // 1000),
                      "POST /admin/import not served yet")
            can_import = False
        else:
            can_import = True
        if self.endpoint_missing("GET", "/admin/export/no-such-subject-bench"):
            self.skip(backend, "export %dk/%dk" % (n // 1000, n // 1000),
                      "GET /admin/export not served yet")
            return
        subject = "exp-src"
        doc_file = os.path.join(self.workdir, "export-doc.json")
        if can_import:
            doc = make_export_doc(subject, n)
            raw = json.dumps({"document": doc, "preserve_ids": True},
                             separators=(",", ":")).encode()
            with open(doc_file, "wb") as f:
                f.write(raw)
            mb = len(raw) / 1e6
            pid = self.restart_server()
            base = read_status(pid).get("VmRSS", 0)
            hwm_ok = reset_hwm(pid)
            r = self.run_loadgen("/admin/import", conns=1, total=1, method="POST",
                                 body_file=doc_file)
            secs = r["p50_ms"] / 1000
            peak = read_status(pid).get("VmHWM", 0)
            label = "import %d episodes + %d memories (%.1f MB)" % (n, n, mb)
            self.add(backend, label + ", seconds", secs, "s", key="import_s",
                     lower_is_better=True)
            self.add(backend, "import throughput", mb / secs, "MB/s")
            if hwm_ok:
                self.add(backend, "import peak RSS growth", peak - base, "MiB",
                         key="import_rss", lower_is_better=True)
            expected_checksum = doc["checksum"]
        else:
            # Build the subject through the API instead: episodes compiled into summaries.
            self.ingest([episode(subject, "Note %d about %s." % (i, word("T", i)), i)
                         for i in range(n)])
            self.compile_subject(subject, n)
            expected_checksum = None
        pid = self.restart_server()
        base = read_status(pid).get("VmRSS", 0)
        hwm_ok = reset_hwm(pid)
        r = self.run_loadgen("/admin/export/%s" % subject, conns=1, total=1)
        secs = r["p50_ms"] / 1000
        mb = r["bytes_in"] / 1e6
        peak = read_status(pid).get("VmHWM", 0)
        self.add(backend, "export %d episodes + %d memories (%.1f MB), seconds" % (n, n, mb),
                 secs, "s", key="export_s", lower_is_better=True)
        self.add(backend, "export throughput", mb / secs, "MB/s")
        if hwm_ok:
            self.add(backend, "export peak RSS growth", peak - base, "MiB", key="export_rss",
                     lower_is_better=True)
        if expected_checksum:
            status, payload = self.server.http.request("GET", "/admin/export/%s" % subject)
            got = json.loads(payload).get("checksum") if status == 200 else None
            if got != expected_checksum:
                self.notes.append("%s: export checksum %s differs from the imported "
                                  "document's %s" % (backend, got, expected_checksum))
        # The same with 1536-dimension embeddings (stub provider): the big context subject.
        subject, created = big_subject
        pid = self.restart_server()
        base = read_status(pid).get("VmRSS", 0)
        hwm_ok = reset_hwm(pid)
        r = self.run_loadgen("/admin/export/%s" % subject, conns=1, total=1)
        secs = r["p50_ms"] / 1000
        mb = r["bytes_in"] / 1e6
        peak = read_status(pid).get("VmHWM", 0)
        self.add(backend, "export %d memories with 1536-d embeddings (%.0f MB), seconds" % (
            created, mb), secs, "s", lower_is_better=True)
        self.add(backend, "export with embeddings, throughput", mb / secs, "MB/s")
        if hwm_ok:
            self.add(backend, "export with embeddings, peak RSS growth", peak - base, "MiB",
                     lower_is_better=True)

    def scenario_scale(self, backend):
        cfg = self.cfg
        small, large = cfg["scale"]
        k = cfg["scale_eps"]
        self.start_server(self.db_url(backend, "scale"))
        # `small` subjects, k compiled episodes each (3k memories each)
        eps = []
        for s in range(small):
            for j in range(k):
                eps.append(episode("sc-%d" % s, person_text(s * k + j), j))
        self.ingest(eps)
        self.run_loadgen("/v1/memories/compile", conns=4, total=small, method="POST",
                         body='{"subject_id":"sc-{seq}"}')
        body = '{"subject_id":"sc-{rand:%d}","task":"%s"}' % (small, CONTEXT_TASK)
        self.settle(backend)
        r1 = self.run_loadgen("/v1/context", conns=1, method="POST", body=body)
        # grow to `large` subjects: one episode each, batch ingest, 4 connections
        extra = large - small
        batch_file = os.path.join(self.workdir, "bulk100.json")
        with open(batch_file, "w") as f:
            items = ['{"subject_id":"bulk-{seq}-%d","source":"chat","type":"message",'
                     '"payload":{"text":"hello from subject {seq}-%d"}}' % (j, j)
                     for j in range(100)]
            f.write('{"episodes":[' + ",".join(items) + "]}")
        t0 = time.perf_counter()
        self.run_loadgen("/v1/episodes/batch", conns=4, total=extra // 100, method="POST",
                         body_file=batch_file)
        grow_s = time.perf_counter() - t0
        self.settle(backend)
        r2 = self.run_loadgen("/v1/context", conns=1, method="POST", body=body)
        self.add(backend, "scale: context p99, %dk subjects" % (small // 1000), r1["p99_ms"],
                 "ms", key="scale_p99_small", lower_is_better=True)
        self.add(backend, "scale: context p99, %dk subjects" % (large // 1000), r2["p99_ms"],
                 "ms", r1["p99_ms"], "p99 at %dk" % (small // 1000), key="scale_p99_large",
                 lower_is_better=True)
        self.add(backend, "scale: context p50, %dk subjects" % (large // 1000), r2["p50_ms"],
                 "ms", r1["p50_ms"], "p50 at %dk" % (small // 1000), lower_is_better=True)
        log("  (grew %d subjects in %.1f s)" % (extra, grow_s))


def make_export_doc(subject, n):
    """A §6.1 subject export document: n episodes + n memories (summaries, no embeddings),
    with its checksum (Python's json.dumps(sort_keys=True) is the canonical form)."""
    ts0 = 1767225600  # 2026-01-01
    eps, mems = [], []
    for i in range(n):
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts0 + i)) + \
            ".%06d+00:00" % (1 + i % 999998)
        eid = str(uuid.uuid4())
        text = "Note %d about %s and %s." % (i, word("T", i), word("U", i))
        eps.append({"id": eid, "subject_id": subject, "tenant_id": None, "source": "chat",
                    "type": "message",
                    "payload": {"messages": [{"role": "user", "content": text}]},
                    "metadata": {}, "provenance": {}, "created_at": t,
                    "last_compiled_at": t})
        mems.append({"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": None,
                     "kind": "episode_summary", "content": "user: " + text, "summary": text,
                     "confidence": 0.8, "valid_from": t, "valid_to": None,
                     "source_episode_ids": [eid], "metadata": {}, "status": "active",
                     "embedding": None, "created_at": t, "updated_at": t})
    canon = json.dumps({"episodes": eps, "memories": mems}, sort_keys=True)
    checksum = hashlib.sha256(canon.encode()).hexdigest()
    return {"format_version": "1.0", "exported_at": "2026-01-02T00:00:00.000000+00:00",
            "subject_id": subject, "tenant_id": None,
            "counts": {"episodes": n, "memories": n}, "episodes": eps, "memories": mems,
            "checksum": checksum}


# ---- output -------------------------------------------------------------------------------

def fmt_num(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def table(rows):
    out = []
    head = ("figure", "value", "floor", "ratio")
    lines = []
    for r in rows:
        fig = "%-8s %s" % (r["backend"], r["figure"])
        if r["value"] is None:
            lines.append((fig, "skipped", r.get("note", ""), ""))
            continue
        val = "%s %s" % (fmt_num(r["value"]), r["unit"])
        if r["floor"]:
            floor = "%s (%s)" % (fmt_num(r["floor"]), r["floor_label"])
            q = r["value"] / r["floor"]
            ratio = "%.0fx" % q if q >= 100 else "%.1fx" % q if q >= 10 else "%.2fx" % q
        else:
            floor, ratio = "-", "-"
        lines.append((fig, val, floor, ratio))
    w = [max(len(x[i]) for x in lines + [head]) for i in range(4)]
    fmt = "| %%-%ds | %%%ds | %%-%ds | %%%ds |" % tuple(w)
    out.append(fmt % head)
    out.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for ln in lines:
        out.append(fmt % ln)
    return "\n".join(out)


def target_line(results, backend, text, key, limit, higher=False, unit=""):
    """One target's verdict: results[backend][key] against limit (at least it when higher,
    else at most it)."""
    v = results.get(backend, {}).get(key)
    if v is None:
        return "%-8s %-56s not measured" % (backend, text)
    met = v >= limit if higher else v <= limit
    if met:
        detail = "met (%s %s)" % (fmt_num(v), unit)
    elif higher:
        detail = "MISSED: %s %s, %.1fx below" % (fmt_num(v), unit, limit / v)
    else:
        detail = "MISSED: %s %s, %.1fx over" % (fmt_num(v), unit, v / limit)
    return "%-8s %-56s %s" % (backend, text, detail)


def targets(results, cfg, quick):
    """Issue 7's targets, per backend, as lines of text. QUICK runs use smaller sizes than the
    targets name, so their verdicts are indicative only."""
    out = []
    n = cfg["export_n"]
    small, large = cfg["scale"]

    def chk(backend, text, key, limit, higher=False, unit=""):
        out.append(target_line(results, backend, text, key, limit, higher, unit))

    for b in results:
        r = results[b]
        best = max(r.get("ingest_16", 0), r.get("ingest_64", 0)) or None
        if best:
            r["ingest_best"] = best
        limit = 20000 if b == "sqlite" else 12000
        chk(b, "single-episode ingest >= %dk/s (16 or 64 conns)" % (limit // 1000),
            "ingest_best", limit, True, "eps/s")
        chk(b, "context p99 <= 2 ms at 1,000 memories", "ctx_p99_1000", 2.0, unit="ms")
        chk(b, "snapshot restore <= 20 ms (p50, 200 ep / 400 mem)", "restore_p50", 20.0,
            unit="ms")
        chk(b, "export of %d/%d <= 1 s" % (n, n), "export_s", 1.0, unit="s")
        chk(b, "export RSS growth <= 32 MB", "export_rss", 32.0, unit="MiB")
        chk(b, "import of %d/%d <= 1 s" % (n, n), "import_s", 1.0, unit="s")
        chk(b, "import RSS growth <= 32 MB", "import_rss", 32.0, unit="MiB")
        chk(b, "idle RSS <= 16 MB", "rss_idle", 16.0, unit="MiB")
        if r.get("scale_p99_small") and r.get("scale_p99_large"):
            r["scale_ratio"] = r["scale_p99_large"] / r["scale_p99_small"]
        chk(b, "context p99 at %dk subjects <= 2x that at %dk" % (large // 1000, small // 1000),
            "scale_ratio", 2.0, unit="x")
    if quick:
        out.append("(QUICK sizes are smaller than the targets name: run the full bench "
                   "for verdicts)")
    return out


def targets_hot(results, ingest_only=False, writes_only=False):
    """Issue 22's targets over the --only hot figures (tags "sqlite", "postgres", and with
    --durable "sqlite durable", "postgres durable"); ingest_only: those --only ingest
    measures; writes_only: those --only writes measures (compile and restore)."""
    out = []

    def chk(tag, text, v, limit, higher=False, unit=""):
        if v is None:
            out.append("%-17s %-52s not measured" % (tag, text))
            return
        met = v >= limit if higher else v <= limit
        out.append("%-17s %-52s %s (%s %s)" % (tag, text, "met" if met else "MISSED",
                                                 fmt_num(v), unit))

    # The floor runs once, on the PostgreSQL cluster; every backend of the run is held to it.
    floor = next((r["floor_ctx64"] for r in results.values() if r.get("floor_ctx64")), None)
    for tag, r in results.items():
        if writes_only:
            if tag.startswith("postgres"):
                lite = results.get(tag.replace("postgres", "sqlite"), {}).get("compile")
                chk(tag, "compile >= 0.5x SQLite's", r.get("compile") / lite
                    if lite and r.get("compile") else None, 0.5, True, "x")
            chk(tag, "snapshot restore p50 <= 20 ms", r.get("restore_p50"), 20.0, unit="ms")
            continue
        if not ingest_only:
            ratio = r.get("ctx_vs_floor")
            if ratio is None and floor and r.get("hot_ctx_rps64"):
                ratio = r["hot_ctx_rps64"] / floor
            chk(tag, "context req/s at 64 conns >= 3x the FastAPI floor", ratio, 3.0, True,
                "x")
            chk(tag, "context p99 at 1 conn <= 2 ms (1,002 mem + 100k ep)",
                r.get("hot_ctx_p99"), 2.0, unit="ms")
        if tag == "sqlite":
            chk(tag, "single-episode ingest, 16 conns >= 20k/s", r.get("ingest_16"), 20000,
                True, "eps/s")
            chk(tag, "the same >= 0.25x /healthz at 16 conns", r.get("ingest_16") /
                r["http_rpsN"] if r.get("ingest_16") and r.get("http_rpsN") else None, 0.25,
                True, "x")
        if tag == "sqlite durable":
            chk(tag, "single-episode ingest, 16 conns >= 10k/s", r.get("ingest_16"), 10000,
                True, "eps/s")
        if tag == "postgres durable":
            chk(tag, "single-episode ingest, 64 conns >= 12k/s", r.get("ingest_64"), 12000,
                True, "eps/s")
        if tag.startswith("postgres") and not ingest_only:
            lite = results.get(tag.replace("postgres", "sqlite"), {}).get("compile")
            chk(tag, "compile >= 0.5x SQLite's", r.get("compile") / lite
                if lite and r.get("compile") else None, 0.5, True, "x")
            chk(tag, "snapshot restore p50 <= 20 ms", r.get("restore_p50"), 20.0, unit="ms")
    return out


def targets_search(results):
    """Issue 18's targets: text p99 and semantic p99 at 10k memories, semantic at 100k,
    recall@10, and compile/import throughput against the build before the engine."""
    out = []

    def chk(backend, text, key, limit, higher=False, unit=""):
        out.append(target_line(results, backend, text, key, limit, higher, unit))

    for b in results:
        if not any(k.startswith("se_") or k.startswith("writes_") for k in results[b]):
            continue
        chk(b, "text search p99 <= 2 ms at 10k memories", "se_text_p99_10000", 2.0, unit="ms")
        chk(b, "semantic search p99 <= 5 ms at 10k memories", "se_sem_p99_10000", 5.0,
            unit="ms")
        chk(b, "semantic search p99 <= 30 ms at 100k memories", "se_sem_p99_100000", 30.0,
            unit="ms")
        for n in (10000, 100000):
            chk(b, "recall@10 >= 0.99 at %dk memories" % (n // 1000), "se_recall_%d" % n,
                0.99, True)
        chk(b, "compile throughput >= 0.9x before issue 18", "writes_compile_ratio", 0.9,
            True, "x")
        chk(b, "import throughput >= 0.9x before issue 18", "writes_import_ratio", 0.9,
            True, "x")
    return out



def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 1024 / 1024
    except OSError:
        mem = 0
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout
    return "%d cpus, %s, %.1f GiB RAM, Linux %s, %s" % (
        os.cpu_count() or 0, model, mem, platform.release(),
        cc.splitlines()[0] if cc else "cc ?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller and shorter (< 1 min)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--json", help="write the raw figures here")
    ap.add_argument("--table", help="write the table (markdown) here")
    ap.add_argument("--rounds", type=int, help="--only before: compile/import alternations "
                    "(default 2)")
    ap.add_argument("--only", choices=["support", "explorer", "hot", "ingest", "writes",
                                       "search", "before"],
                    help="run only this scenario (with the HTTP floor), not the whole bench")
    ap.add_argument("--durable", action="store_true",
                    help="production durability: SQLite synchronous=FULL, PostgreSQL with "
                    "fsync on (default: the bench settings)")
    args = ap.parse_args()
    if os.environ.get("QUICK") not in (None, "", "0"):
        args.quick = True

    own_dir = "ENGRAM_BENCH_DIR" not in os.environ
    workdir = os.environ.get("ENGRAM_BENCH_DIR") or tempfile.mkdtemp(prefix="engram-bench.")
    os.makedirs(workdir, exist_ok=True)
    os.chmod(workdir, 0o711)   # the PostgreSQL owner must reach the cluster directory in it
    bench = Bench(args, workdir)

    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)

    t0 = time.time()
    failed = False
    try:
        for b in args.backends.split(","):
            try:
                if args.only == "support":
                    bench.run_support_only(b.strip())
                elif args.only in ("hot", "ingest"):
                    bench.run_hot_only(b.strip())
                elif args.only == "writes":
                    bench.run_writes_only(b.strip())
                elif args.only == "explorer":
                    bench.run_explorer_only(b.strip())
                elif args.only == "search":
                    bench.run_search_only(b.strip())
                elif args.only == "before":
                    bench.run_before_only(b.strip())
                else:
                    bench.run_backend(b.strip())
            except BenchError as e:
                failed = True
                bench.notes.append("%s: FAILED: %s" % (b, e))
                log("FAILED on %s: %s" % (b, e))
                if bench.server is not None:
                    log("server log tail: %s" % bench.server.log_tail()[-600:])
            finally:
                bench.stop_server()
                bench.pg_stop()
    except KeyboardInterrupt:
        failed = True
        bench.notes.append("interrupted")
    finally:
        bench.stop_server()
        bench.pg_stop()
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.time() - t0

    tbl = table(bench.rows)
    if args.only in ("hot", "ingest", "writes"):
        tgt = targets_hot(bench.results, ingest_only=args.only == "ingest",
                          writes_only=args.only == "writes")
    elif args.only in ("search", "before"):
        tgt = targets_search(bench.results)
    else:
        tgt = targets(bench.results, bench.cfg, args.quick) + targets_search(bench.results)
    print()
    print("Engram bench (%s), %s" % ("QUICK" if args.quick else "full", machine()))
    print("run took %.0f s; floors measured in the same run; ratio = value / floor" % elapsed)
    print("floors: HTTP = GET /healthz on keep-alive connections (bench/loadgen); 1-row "
          "commits and 100-row tx = store_episode_insert of the ingest row in one process "
          "(bench/store_floor)")
    print()
    print(tbl)
    print()
    print("targets (issue %s):" % {"hot": "22", "ingest": "22", "writes": "22",
                                    "search": "18", "before": "18"}.get(args.only, "7 and 18"))
    for line in tgt:
        print("  " + line)
    for n in bench.notes:
        print("note: " + n)
    if args.table:
        with open(args.table, "w") as f:
            f.write(tbl + "\n\n" + "\n".join(tgt) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "quick": args.quick, "seconds": elapsed,
                       "rows": bench.rows, "results": bench.results, "notes": bench.notes},
                      f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
