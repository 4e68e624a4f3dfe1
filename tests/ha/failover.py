#!/usr/bin/env python3
"""failover.py - Engram across a PostgreSQL failover (issue 21, part 1; `make ha`).

A primary with a synchronous standby (pg_basebackup -R; synchronous_standby_names,
synchronous_commit=on), one Engram on the libpq multi-host URL
    postgresql://postgres@127.0.0.1:P1,127.0.0.1:P2/engram_test?target_session_attrs=read-write
and CLIENTS threads ingesting episodes, each with its own idempotency key, retrying a 503 with
the same key (the documented client contract: a write whose answer was lost is repeated with
its idempotency key). Then the primary is killed (pg_ctl stop -m immediate), the standby is
promoted (pg_ctl promote) GAP_S later, and:
- Engram writes again within WRITE_AGAIN_S of the promotion, without a restart;
- every answer during the gap is 503 with a Retry-After (never 500, never a hang);
- every acknowledged episode is on the new primary exactly once (its id under its key);
- background work resumes on the new primary: a compile job queued before the kill and one
  queued after complete, a webhook event recorded after the failover is delivered, and the
  cleanup leader (advisory lock) removes a `live_` subject created after the failover.
Prints one line per check, the timeline, and `N passed, N failed`; exits 1 on a failure.
"""

import http.server
import json
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "api"))

from harness import Results, Server, episode, uid  # noqa: E402
import hactl  # noqa: E402

CLIENTS = 6
LOAD_BEFORE_S = 2.0     # load on the healthy primary before the kill
GAP_S = 2.0             # primary dead, standby not yet promoted
WRITE_AGAIN_S = 10.0    # a write must succeed this soon after the promotion
LOAD_AFTER_S = 2.0      # load on the new primary before the checks
BG_TIMEOUT_S = 30.0


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    events = []
    lock = threading.Lock()

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with Receiver.lock:
            Receiver.events.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d/hook" % srv.server_address[1]


class Load:
    """CLIENTS threads; each ingests into its own subject until stopped."""

    def __init__(self, srv, prefix):
        self.srv = srv
        self.prefix = prefix
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []        # (key, id, t_answer)
        self.unavailable = []  # (t, retry_after, code)
        self.bad = []          # anything that is neither 2xx nor a proper 503
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(CLIENTS)]

    def subject(self, i):
        return "%s-%d" % (self.prefix, i)

    def client(self, i):
        n = 0
        while not self.stop.is_set():
            key = "k-%d-%d" % (i, n)
            body = episode(self.subject(i), idempotency_key=key, payload={"text": key})
            deadline = None
            while True:
                t = time.monotonic()
                try:
                    r = self.srv.post("/v1/episodes", body)
                except Exception as e:  # noqa: BLE001 - a transport failure is a finding
                    with self.lock:
                        self.bad.append((t, "transport", repr(e)))
                    time.sleep(0.1)
                    continue
                if r.status in (200, 201) and isinstance(r.body, dict) and r.body.get("id"):
                    with self.lock:
                        self.acked.append((key, r.body["id"], time.monotonic()))
                    break
                if r.status == 503:
                    ra = r.headers.get("retry-after", "")
                    e = r.body.get("error") if isinstance(r.body, dict) else None
                    code = e.get("code") if isinstance(e, dict) else None
                    with self.lock:
                        self.unavailable.append((t, ra, code))
                        if not (ra.isdigit() and int(ra) >= 1):
                            self.bad.append((t, 503, "no Retry-After: %r" % (r,)))
                    if self.stop.is_set():
                        deadline = deadline or time.monotonic() + 20
                        if time.monotonic() > deadline:
                            with self.lock:
                                self.bad.append((t, 503, "still 503 at the end: %r" % (r,)))
                            return
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.bad.append((t, r.status, repr(r)[:300]))
                break
            n += 1

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def wait_for(what, fn, timeout=BG_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, "%s: not within %.0f s" % (what, timeout)
        time.sleep(0.1)


def job_status(srv, job_id):
    r = srv.get("/v1/memories/compile/" + job_id)
    return r.body.get("status") if r.status == 200 else None


def submit_job(srv, sid):
    r = srv.post("/v1/memories/compile", {"subject_id": sid, "async": True})
    assert r.status == 202, "async compile: %r" % (r,)
    return r.body["job_id"]


def subject_gone(srv, sid):
    r = srv.get("/v1/timeline", query={"subject_id": sid})
    return r.status == 200 and not r.body["episodes"]


def delivered(marker):
    with Receiver.lock:
        return any(isinstance(e, dict) and e.get("event") == "episode.created" and
                   (e.get("data") or {}).get("subject_id") == marker for e in Receiver.events)


def main():
    results = Results()
    workdir = tempfile.mkdtemp(prefix="engram-ha-run-")
    pair = hactl.Pair.start(sync=True)
    hook = start_receiver()
    srv = Server(database_url=pair.multi_url(), workdir=workdir, name="failover", env={
        "STATEWAVE_WORKERS": "8",
        "STATEWAVE_WEBHOOK_URL": hook,
        "STATEWAVE_WEBHOOK_BACKOFF_SCALE": "0.001",
        "STATEWAVE_ENABLE_SNAPSHOTS": "true",
        "STATEWAVE_CLEANUP_INTERVAL_SECONDS": "1",
        "STATEWAVE_CLEANUP_MAX_AGE_HOURS": "0",
        "STATEWAVE_COMPILE_LEASE_SECONDS": "5",
    })
    timeline = {}
    load = None
    failed_before = 0

    def check(name, fn):
        nonlocal failed_before
        try:
            fn()
        except AssertionError as e:
            results.fail(name, str(e) or "assertion failed", srv.log_path)
        except Exception as e:  # noqa: BLE001
            results.fail(name, "%s: %s" % (type(e).__name__, e), srv.log_path)
        else:
            results.ok(name)
        failed_before = results.failed

    try:
        srv.start()
        prefix = uid("ha")
        load = Load(srv, prefix)
        live_before = "live_" + uid("ha")
        srv.create(live_before)
        check("ha.1 cleanup leader runs on the first primary",
              lambda: wait_for("live_ subject removed", lambda: subject_gone(srv, live_before)))
        job_sid = uid("hajob")
        for _ in range(3):
            srv.create(job_sid, payload={"text": "I prefer tea over coffee"})

        t0 = time.monotonic()
        load.start()
        time.sleep(LOAD_BEFORE_S)
        job_before = submit_job(srv, job_sid)
        timeline["kill"] = time.monotonic()
        pair.primary.kill()
        time.sleep(GAP_S)
        timeline["promote_start"] = time.monotonic()
        pair.standby.promote()
        timeline["promoted"] = time.monotonic()

        def written_again():
            return [a for a in load.acked if a[2] > timeline["promoted"]]

        def write_again():
            got = wait_for("an acknowledged write after the promotion", written_again,
                           WRITE_AGAIN_S)
            timeline["first_write"] = min(a[2] for a in got)
        check("ha.2 writes succeed again within %.0f s of the promotion, no restart"
              % WRITE_AGAIN_S, write_again)
        time.sleep(LOAD_AFTER_S)
        load.finish()
        timeline["end"] = time.monotonic()
        assert srv.alive(), "the server died"

        def gap_answers():
            assert not load.bad, "answers that are neither 2xx nor 503 + Retry-After: %r" \
                % load.bad[:5]
            assert load.unavailable, "no 503 during the gap: the test did not see the outage"
            codes = {u[2] for u in load.unavailable}
            assert codes <= {"service_unavailable", "database_readonly"}, codes
        check("ha.3 during the gap every answer is 503 with Retry-After (never 500)",
              gap_answers)

        def exactly_once():
            rows = pair.standby.sql(
                "SELECT idempotency_key, count(*), min(id::text) FROM episodes"
                " WHERE subject_id LIKE '%s-%%' GROUP BY idempotency_key" % prefix)
            on_disk = {r[0]: (int(r[1]), r[2]) for r in rows}
            acked = {}
            for key, eid, _ in load.acked:
                assert acked.get(key, eid) == eid, "key %s acknowledged as two ids" % key
                acked[key] = eid
            assert len(acked) > 20, "too little load: %d acknowledged" % len(acked)
            lost = [k for k in acked if k not in on_disk]
            twice = [k for k, (n, _) in on_disk.items() if n != 1]
            wrong = [k for k in acked if k in on_disk and on_disk[k][1] != acked[k]]
            assert not lost, "acknowledged but lost: %r" % lost[:10]
            assert not twice, "stored more than once: %r" % twice[:10]
            assert not wrong, "stored under another id: %r" % wrong[:10]
            timeline["acked"] = len(acked)
            timeline["stored"] = len(on_disk)
        check("ha.4 every acknowledged episode is on the new primary exactly once",
              exactly_once)

        def jobs_resume():
            st = wait_for("the job queued before the kill completes",
                          lambda: job_status(srv, job_before) in ("completed", "failed") and
                          job_status(srv, job_before))
            assert st == "completed", st
            after = submit_job(srv, job_sid)
            st = wait_for("a job queued after the failover completes",
                          lambda: job_status(srv, after) in ("completed", "failed") and
                          job_status(srv, after))
            assert st == "completed", st
        check("ha.5 compile jobs resume on the new primary", jobs_resume)

        def webhooks_resume():
            marker = uid("hamark")
            srv.create(marker)
            wait_for("webhook event for %s delivered" % marker, lambda: delivered(marker))
        check("ha.6 webhook deliveries resume on the new primary", webhooks_resume)

        def cleanup_resumes():
            live = "live_" + uid("ha")
            srv.create(live)
            wait_for("live_ subject removed", lambda: subject_gone(srv, live))
        check("ha.7 the cleanup leader runs again on the new primary", cleanup_resumes)

        def readyz():
            r = srv.get("/readyz")
            assert r.status == 200, r
        check("ha.8 /readyz is 200 on the new primary", readyz)

        check("ha.9 SIGTERM stops the server with exit code 0",
              lambda: (lambda rc: None if rc == 0 else (_ for _ in ()).throw(
                  AssertionError("exit code %r" % rc)))(srv.stop()))
        k = timeline["kill"]
        unav = [u[0] for u in load.unavailable]
        print("timeline (s from the kill): load started %.2f, first 503 %s, last 503 %s, "
              "promote called %.2f, promoted %.2f, first acknowledged write %s; "
              "%d acknowledged, %d stored, %d 503 answers" % (
                  t0 - k, "%.2f" % (min(unav) - k) if unav else "-",
                  "%.2f" % (max(unav) - k) if unav else "-",
                  timeline["promote_start"] - k, timeline["promoted"] - k,
                  "%.2f" % (timeline["first_write"] - k) if "first_write" in timeline else "-",
                  timeline.get("acked", 0), timeline.get("stored", 0), len(unav)))
    except Exception as e:  # noqa: BLE001
        results.fail("ha setup", "%s: %s" % (type(e).__name__, e), srv.log_path)
    finally:
        if load is not None:
            load.stop.set()
        srv.kill()
        pair.close()
    results.summary()
    if results.failed:
        print("server log kept in %s" % srv.log_path)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
