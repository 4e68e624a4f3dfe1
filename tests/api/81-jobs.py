"""81-jobs: asynchronous compile jobs (spec/api.md §3.3, §3.4, §8; behavior.md §5.2, §5.3, §19.10;
data-model.md §4 Engram: durable jobs that survive a crash; DESIGN.md strict isolation and the
standard envelope for an unknown job)."""

import os
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_422, check_error, episode, main, test, uid  # noqa: E402

JOB_ID_RE = re.compile(r"^[0-9a-f]{8}$")
POLL_TIMEOUT = 30.0


def submit(s, sid, tenant=None, **extra):
    body = {"subject_id": sid, "async": True}
    body.update(extra)
    r = s.post("/v1/memories/compile", body, tenant=tenant)
    assert r.status == 202, "async compile: %r" % (r,)
    assert list(r.body.keys()) == ["job_id", "status", "subject_id"], r.body
    assert JOB_ID_RE.match(r.body["job_id"]), r.body
    assert r.body["status"] == "pending" and r.body["subject_id"] == sid, r.body
    return r.body["job_id"]


def poll(s, job_id, tenant=None, timeout=POLL_TIMEOUT):
    """Poll until the job is terminal; returns the final body."""
    deadline = time.monotonic() + timeout
    while True:
        r = s.get("/v1/memories/compile/" + job_id, tenant=tenant)
        assert r.status == 200, "poll %s: %r" % (job_id, r)
        st = r.body["status"]
        assert st in ("pending", "running", "completed", "failed"), r.body
        if st in ("completed", "failed"):
            return r.body
        assert list(r.body.keys()) == ["job_id", "status", "subject_id"], r.body
        assert time.monotonic() < deadline, "job %s still %s after %.0f s" % (job_id, st, timeout)
        time.sleep(0.05)


def completed(s, job_id, sid, tenant=None):
    body = poll(s, job_id, tenant)
    assert body["status"] == "completed", body
    assert list(body.keys()) == ["job_id", "status", "subject_id", "memories_created",
                                 "memories"], body
    assert body["job_id"] == job_id and body["subject_id"] == sid, body
    return body


def contents(mems):
    return [(m["kind"], m["content"]) for m in mems]


@test("81.1 async compile: 202 {job_id, status: pending, subject_id}; polling reaches completed")
def _(s):
    sid = uid()
    e = s.create(sid, payload={"messages": [{"role": "user", "content": "My name is Alice Chen"}]})
    job = submit(s, sid)
    body = completed(s, job, sid)
    assert body["memories_created"] == 2, body
    assert contents(body["memories"]) == [("episode_summary", "user: My name is Alice Chen"),
                                          ("profile_fact", "My name is Alice Chen")], body
    assert all(m["source_episode_ids"] == [e["id"]] for m in body["memories"])
    assert s.timeline(sid)["memories"] == body["memories"]
    again = completed(s, job, sid)
    assert again == body, "a finished job's answer must not change"


@test("81.2 async with no episodes completes with 0 and an empty list")
def _(s):
    sid = uid()
    body = completed(s, submit(s, sid), sid)
    assert body["memories_created"] == 0 and body["memories"] == [], body


@test("81.3 the async path does the same work as sync: a second job creates nothing")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "I work at Acme. I use vim"})
    first = completed(s, submit(s, sid), sid)
    assert first["memories_created"] == 3, first
    second = completed(s, submit(s, sid), sid)
    assert second["memories_created"] == 0 and second["memories"] == [], second
    assert len(s.timeline(sid)["memories"]) == 3


@test("81.4 async force recompiles: same contents, new ids, no duplicates")
def _(s):
    sid = uid()
    s.create(sid, payload={"text": "I live in Rome"})
    first = completed(s, submit(s, sid), sid)["memories"]
    again = completed(s, submit(s, sid, force=True), sid)["memories"]
    assert contents(again) == contents(first), again
    assert not ({m["id"] for m in first} & {m["id"] for m in again})
    assert s.timeline(sid)["memories"] == again


@test("81.5 lenient async values ('true', 1, 'yes') give 202; a sync answer has no job_id")
def _(s):
    sid = uid()
    for v in ("true", 1, "yes", "on", "Y"):
        r = s.post("/v1/memories/compile", {"subject_id": sid, "async": v})
        assert r.status == 202 and JOB_ID_RE.match(r.body["job_id"]), r
    r = s.post("/v1/memories/compile", {"subject_id": sid, "async": False})
    assert r.status == 200 and "job_id" not in r.body, r


@test("81.6 unknown job id: 404 with the standard envelope")
def _(s):
    for jid in ("00000000", "zzzzzzzz", "x" * 200, "a%20b", "%2F"):
        r = s.get("/v1/memories/compile/" + jid)
        check_error(r, 404, "http_error", "Job not found or expired")


@test("81.7 another tenant's job is 404; the owner (and only the owner) sees it")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta, payload={"text": "I use vim"})
    job = submit(s, sid, tenant=ta)
    body = completed(s, job, sid, tenant=ta)
    assert body["memories_created"] == 2, body
    check_error(s.get("/v1/memories/compile/" + job, tenant=tb), 404, "http_error",
                "Job not found or expired")
    check_error(s.get("/v1/memories/compile/" + job), 404, "http_error",
                "Job not found or expired")
    assert s.timeline(sid, tenant=tb)["memories"] == []


@test("81.8 a job under no tenant is invisible to a tenant, and compiles only no-tenant rows")
def _(s):
    ta, sid = uid("t"), uid()
    s.create(sid, tenant=ta, payload={"text": "I use vim"})
    job = submit(s, sid)
    assert completed(s, job, sid)["memories_created"] == 0
    check_error(s.get("/v1/memories/compile/" + job, tenant=ta), 404, "http_error")


@test("81.9 validation and reserved ids are checked before a job is made")
def _(s):
    check_422(s.post("/v1/memories/compile", {"async": True}), ["body", "subject_id"])
    check_422(s.post("/v1/memories/compile", {"subject_id": "x", "async": "maybe"}),
              ["body", "async"])
    check_error(s.post("/v1/memories/compile", {"subject_id": "_snapshot/a/v1", "async": True}),
                400, "http_error", "Subject id '_snapshot/a/v1' uses a reserved prefix (_snapshot/)")


@test("81.10 twenty concurrent jobs on one subject: every memory exists exactly once",
      env={"STATEWAVE_COMPILE_WORKERS": "4"})
def _(s):
    sid = uid()
    s.batch([episode(sid, payload={"text": "note %d. I use tool%d" % (i, i)}) for i in range(50)])
    jobs = []
    lock = threading.Lock()

    def go():
        j = submit(s, sid)
        with lock:
            jobs.append(j)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [completed(s, j, sid) for j in jobs]
    assert sum(r["memories_created"] for r in results) == 100, \
        [r["memories_created"] for r in results]
    mems = s.timeline(sid)["memories"]
    assert len(mems) == 100, len(mems)
    assert len({(m["kind"], m["content"]) for m in mems}) == 100, "duplicated memories"


def _restart_case(workdir, env, subjects, kill_after_submit):
    """Start a private server, ingest, submit one job per subject, maybe kill -9, restart,
    and check every job completes with each subject's memories present exactly once."""
    srv = Server(env=env, workdir=workdir, name="jobs-restart")
    srv.start()
    try:
        for sid in subjects:
            srv.create(sid, payload={"text": "My name is Bob. I use vim"})
        jobs = [(sid, submit(srv, sid)) for sid in subjects]
        if kill_after_submit:
            srv.kill()
            srv.start()
        for sid, job in jobs:
            body = completed(srv, job, sid)
            # Ran before the kill (and remembered or not) or ran after the restart: either way
            # the subject's memories exist once.
            assert body["memories_created"] in (0, 3), body
            mems = srv.timeline(sid)["memories"]
            assert contents(mems) == [("episode_summary", "My name is Bob. I use vim"),
                                      ("profile_fact", "My name is Bob"),
                                      ("profile_fact", "I use vim")], (sid, mems)
    finally:
        rc = srv.stop()
    assert rc == 0, "server exit code %r after SIGTERM" % rc


@test("81.20 jobs accepted with 202 finish after the server is killed -9 and restarted")
def _(s):
    workdir = tempfile.mkdtemp(prefix="engram-api-jobs-")
    subjects = [uid() for _ in range(12)]
    _restart_case(workdir, {"STATEWAVE_COMPILE_LEASE_SECONDS": "5"}, subjects, True)


@test("81.21 a job still pending at SIGKILL (before any worker ran) completes after restart")
def _(s):
    # Many jobs at once, one worker: the last ones are certainly still pending at the kill.
    workdir = tempfile.mkdtemp(prefix="engram-api-jobs-")
    env = {"STATEWAVE_COMPILE_LEASE_SECONDS": "5", "STATEWAVE_COMPILE_WORKERS": "1"}
    srv = Server(env=env, workdir=workdir, name="jobs-pending")
    srv.start()
    try:
        sids = [uid() for _ in range(40)]
        srv.batch([episode(sid, payload={"text": "I use vim"}) for sid in sids])
        jobs = [(sid, submit(srv, sid)) for sid in sids]
        srv.kill()
        srv.start()
        for sid, job in jobs:
            body = completed(srv, job, sid)
            assert body["memories_created"] in (0, 2), body
            assert contents(srv.timeline(sid)["memories"]) == [
                ("episode_summary", "I use vim"), ("profile_fact", "I use vim")], sid
    finally:
        rc = srv.stop()
    assert rc == 0, rc


@test("81.30 the memories list after a restart is [] while memories_created is kept")
def _(s):
    workdir = tempfile.mkdtemp(prefix="engram-api-jobs-")
    srv = Server(workdir=workdir, name="jobs-memo")
    srv.start()
    try:
        sid = uid()
        srv.create(sid, payload={"text": "I use vim"})
        job = submit(srv, sid)
        assert completed(srv, job, sid)["memories_created"] == 2
        assert srv.stop() == 0
        srv.start()
        body = completed(srv, job, sid)
        assert body["memories_created"] == 2 and body["memories"] == [], body
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
