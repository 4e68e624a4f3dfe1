"""86-webhooks: webhook events (spec/api.md §1.12, §7.3, §9; behavior.md §12, §19.10).

A receiver started by this file (http.server on loopback, in a thread) plays the webhook target;
the URL path picks its behaviour: /ok answers 200, /fail answers 500 "boom", /slow sleeps 3 s then
answers 200. Events are matched to tests by their random subject ids, so events left pending by
another server on a shared database never confuse a test.
"""

import http.server
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, check_422, check_error, episode, main, test, uid  # noqa: E402

OFFSET_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EVENT_KEYS = ["id", "event", "status", "attempts", "max_attempts", "last_attempt_at",
              "next_attempt_at", "last_error", "http_status", "created_at", "delivered_at"]
WAIT = 20.0
SLOW_SECONDS = 3.0


# --------------------------------------------------------------------------------------------
# The receiver


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []   # every POST: {"path", "headers", "raw", "body", "t"}

    def record(self, path, headers, raw):
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        with self.lock:
            self.calls.append({"path": path, "headers": headers, "raw": raw, "body": body,
                               "t": time.monotonic()})

    def snapshot(self):
        with self.lock:
            return list(self.calls)

    def matching(self, pred):
        return [c for c in self.snapshot() if c["body"] is not None and pred(c["body"])]

    def wait(self, pred, count=1, timeout=WAIT):
        """The calls whose body satisfies pred, once there are at least count of them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.matching(pred)
            if len(got) >= count:
                return got
            assert time.monotonic() < deadline, \
                "receiver: %d matching call(s) after %.0f s, want %d" % (len(got), timeout, count)
            time.sleep(0.02)


RECEIVER = Receiver()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        RECEIVER.record(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
        if self.path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
        status, body = (500, b"boom") if self.path.startswith("/fail") else (200, b"{}")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass   # the sender gave up (timeout)

    def log_message(self, *args):
        pass


def start_receiver():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_address[1]


def closed_port():
    """A loopback port nothing listens on."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


BASE = start_receiver()
OK = {"STATEWAVE_WEBHOOK_URL": BASE + "/ok", "STATEWAVE_WEBHOOK_TIMEOUT": "2"}
NONE = {}
FAIL = {"STATEWAVE_WEBHOOK_URL": BASE + "/fail", "STATEWAVE_WEBHOOK_TIMEOUT": "2",
        "STATEWAVE_WEBHOOK_BACKOFF_SCALE": "0.001"}
DEAD = {"STATEWAVE_WEBHOOK_URL": "http://127.0.0.1:%d/hook" % closed_port(),
        "STATEWAVE_WEBHOOK_BACKOFF_SCALE": "0.001"}
TIMEOUT = {"STATEWAVE_WEBHOOK_URL": BASE + "/slow-timeout", "STATEWAVE_WEBHOOK_TIMEOUT": "0.3",
           "STATEWAVE_WEBHOOK_BACKOFF_SCALE": "0.001"}
SLOW = {"STATEWAVE_WEBHOOK_URL": BASE + "/slow"}


# --------------------------------------------------------------------------------------------
# Helpers


def of_event(name, **data):
    """A predicate: body is event `name` whose data has these values."""
    def pred(body):
        return body.get("event") == name and all(body.get("data", {}).get(k) == v
                                                   for k, v in data.items())
    return pred


def mentions(sid):
    """A predicate: the event's data names subject sid (either data shape)."""
    def pred(body):
        d = body.get("data", {})
        return d.get("subject_id") == sid or sid in (d.get("subject_ids") or [])
    return pred


def marker(s):
    """Ingest one episode for a fresh subject and wait for its event: every event committed
    before it has been delivered by then (one deliverer, events in order)."""
    sid = uid("marker")
    s.create(sid)
    RECEIVER.wait(of_event("episode.created", subject_id=sid))


def check_envelope(call, event):
    """A delivered POST: JSON body {event, timestamp, data} in this order, as specified."""
    assert call["headers"].get("content-type") == "application/json", call["headers"]
    body = call["body"]
    assert list(body.keys()) == ["event", "timestamp", "data"], body
    assert body["event"] == event, body
    assert OFFSET_TS_RE.match(body["timestamp"]), body
    assert b" " not in call["raw"].replace(b"\\u0020", b""), call["raw"]   # compact
    return body["data"]


def stats(s):
    r = s.get("/admin/webhooks/stats")
    assert r.status == 200, r
    assert list(r.body.keys()) == ["pending", "delivered", "dead_letter", "total"], r.body
    return r.body


def events(s, **query):
    r = s.get("/admin/webhooks", query=dict({"limit": 100}, **query))
    assert r.status == 200, r
    assert list(r.body.keys()) == ["events", "total", "limit", "offset"], r.body
    return r.body


def newest_row(s, event):
    """The newest row of that event (ours: one server runs at a time)."""
    got = events(s, event_type=event, limit=1)["events"]
    assert got, "no %s row" % event
    return got[0]


def wait_row(s, row_id, pred, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        r = s.get("/admin/webhooks/" + row_id)
        assert r.status == 200, r
        if pred(r.body):
            return r.body
        assert time.monotonic() < deadline, "row %s never got there: %r" % (row_id, r.body)
        time.sleep(0.05)


def check_event_shape(ev, with_tenant):
    keys = EVENT_KEYS + (["tenant_id"] if with_tenant else [])
    assert list(ev.keys()) == keys, ev
    assert UUID_RE.match(ev["id"]), ev
    assert ev["status"] in ("pending", "delivered", "dead_letter"), ev
    assert isinstance(ev["attempts"], int) and ev["max_attempts"] == 5, ev
    assert OFFSET_TS_RE.match(ev["created_at"]), ev
    for k in ("last_attempt_at", "next_attempt_at", "delivered_at"):
        assert ev[k] is None or OFFSET_TS_RE.match(ev[k]), ev
    assert ev["http_status"] is None or isinstance(ev["http_status"], int), ev
    assert ev["last_error"] is None or isinstance(ev["last_error"], str), ev
    if with_tenant:
        assert ev["tenant_id"] is None, ev


# --------------------------------------------------------------------------------------------
# Events as delivered (URL set, receiver answers 200)


@test("86.1 single ingest fires episode.created {id, subject_id}, POSTed as JSON", env=OK)
def _(s):
    sid = uid("wh-ep")
    ep = s.create(sid)
    call = RECEIVER.wait(of_event("episode.created", subject_id=sid))
    assert len(call) == 1, call
    assert call[0]["path"] == "/ok", call[0]
    data = check_envelope(call[0], "episode.created")
    assert data == {"id": ep["id"], "subject_id": sid}, data
    assert list(data.keys()) == ["id", "subject_id"], data
    row = wait_row(s, newest_row(s, "episode.created")["id"],
                   lambda r: r["status"] == "delivered")
    check_event_shape(row, False)
    assert row["attempts"] == 1 and row["http_status"] == 200, row
    assert row["last_error"] is None and row["next_attempt_at"] is None, row
    assert OFFSET_TS_RE.match(row["delivered_at"]) and row["last_attempt_at"], row


@test("86.2 batch fires one episodes.batch_created {count, subject_ids distinct, first-seen order}",
      env=OK)
def _(s):
    a, b = uid("wh-ba"), uid("wh-bb")
    s.batch([episode(b), episode(a), episode(b), episode(a, session_id="x")])
    call = RECEIVER.wait(of_event("episodes.batch_created", count=4))
    mine = [c for c in call if a in c["body"]["data"]["subject_ids"]]
    assert len(mine) == 1, mine
    data = check_envelope(mine[0], "episodes.batch_created")
    assert data == {"count": 4, "subject_ids": [b, a]}, data
    assert list(data.keys()) == ["count", "subject_ids"], data
    # A batch of one is still a batch event; items never fire episode.created.
    c = uid("wh-bc")
    s.batch([episode(c)])
    RECEIVER.wait(of_event("episodes.batch_created", count=1, subject_ids=[c]))
    marker(s)
    assert not RECEIVER.matching(lambda body: body["event"] == "episode.created" and
                                 body["data"]["subject_id"] in (a, b, c))


@test("86.3 sync compile fires memories.compiled {subject_id, memories_created}; "
      "nothing left to compile: no event", env=OK)
def _(s):
    sid = uid("wh-c")
    s.create(sid, payload={"messages": [{"role": "user",
                                         "content": "Hi, my name is Ada Lovelace."}]})
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] >= 1, r
    call = RECEIVER.wait(of_event("memories.compiled", subject_id=sid))
    data = check_envelope(call[0], "memories.compiled")
    assert data == {"subject_id": sid, "memories_created": r.body["memories_created"]}, data
    assert list(data.keys()) == ["subject_id", "memories_created"], data
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] == 0, r
    marker(s)
    assert len(RECEIVER.matching(of_event("memories.compiled", subject_id=sid))) == 1


@test("86.4 async compile fires memories.compiled too", env=OK)
def _(s):
    sid = uid("wh-ac")
    s.create(sid, payload={"text": "I work at Analytical Engines. I live in London."})
    r = s.post("/v1/memories/compile", {"subject_id": sid, "async": True})
    assert r.status == 202, r
    deadline = time.monotonic() + WAIT
    while True:
        job = s.get("/v1/memories/compile/" + r.body["job_id"]).body
        if job["status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["status"] == "completed" and job["memories_created"] >= 1, job
    call = RECEIVER.wait(of_event("memories.compiled", subject_id=sid))
    assert call[0]["body"]["data"] == {"subject_id": sid,
                                       "memories_created": job["memories_created"]}, call


@test("86.5 a compile that consumed episodes but made no memory fires with memories_created 0",
      env=OK)
def _(s):
    sid = uid("wh-c0")
    s.create(sid, payload={"other": 1})   # no text: compiled, nothing produced
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] == 0, r
    call = RECEIVER.wait(of_event("memories.compiled", subject_id=sid))
    assert call[0]["body"]["data"] == {"subject_id": sid, "memories_created": 0}, call


@test("86.6 every /v1 delete fires subject.deleted with the counts, even of nothing", env=OK)
def _(s):
    sid, ghost = uid("wh-del"), uid("wh-ghost")
    s.create(sid, payload={"text": "I use vim."})
    s.create(sid)
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200, r
    r = s.delete("/v1/subjects/" + sid)
    assert r.status == 200, r
    call = RECEIVER.wait(of_event("subject.deleted", subject_id=sid))
    data = check_envelope(call[0], "subject.deleted")
    assert data == {"subject_id": sid, "episodes_deleted": 2,
                    "memories_deleted": r.body["memories_deleted"]}, data
    assert r.body["memories_deleted"] >= 1, r
    assert list(data.keys()) == ["subject_id", "episodes_deleted", "memories_deleted"], data
    r = s.delete("/v1/subjects/" + ghost)
    assert r.status == 200, r
    call = RECEIVER.wait(of_event("subject.deleted", subject_id=ghost))
    assert call[0]["body"]["data"] == {"subject_id": ghost, "episodes_deleted": 0,
                                       "memories_deleted": 0}, call


@test("86.7 a failed request records no event", env=OK)
def _(s):
    bad, reserved = uid("wh-bad"), "_snapshot/" + uid("wh")
    before = stats(s)["total"]
    r = s.post("/v1/episodes/batch", {"episodes": [episode(bad), {"subject_id": bad}]})
    check_422(r)
    r = s.post("/v1/episodes", {"subject_id": bad, "source": "chat"})
    check_422(r)
    r = s.post("/v1/episodes", episode(reserved))
    check_error(r, 400, "http_error")
    r = s.post("/v1/memories/compile", {})
    check_422(r)
    assert stats(s)["total"] == before
    marker(s)
    assert not RECEIVER.matching(mentions(bad)) and not RECEIVER.matching(mentions(reserved))


# --------------------------------------------------------------------------------------------
# Admin endpoints (spec/api.md §7.3)


@test("86.8 GET /admin/webhooks: {events, total, limit, offset}, newest first, filters", env=OK)
def _(s):
    sid = uid("wh-adm")
    s.create(sid)
    s.delete("/v1/subjects/" + sid)
    RECEIVER.wait(of_event("subject.deleted", subject_id=sid))
    body = events(s)
    assert body["limit"] == 100 and body["offset"] == 0 and body["total"] >= 2, body
    for ev in body["events"]:
        check_event_shape(ev, True)
    created = [ev["created_at"] for ev in body["events"]]
    assert created == sorted(created, reverse=True), created
    r = s.get("/admin/webhooks")
    assert r.status == 200 and r.body["limit"] == 50 and r.body["offset"] == 0, r
    only = events(s, event_type="subject.deleted")
    assert only["total"] >= 1 and all(e["event"] == "subject.deleted" for e in only["events"])
    page = events(s, event_type="subject.deleted", limit=1, offset=0)
    assert len(page["events"]) == 1 and page["total"] == only["total"], page
    assert page["events"][0]["id"] == only["events"][0]["id"], page
    delivered = events(s, status="delivered")
    assert all(e["status"] == "delivered" for e in delivered["events"]), delivered
    assert events(s, tenant_id="acme") == {"events": [], "total": 0, "limit": 100, "offset": 0}
    assert events(s, status="nope")["total"] == 0
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}):
        r = s.get("/admin/webhooks", query=bad)
        check_422(r, ["query", list(bad)[0]])


@test("86.9 GET /admin/webhooks/stats and /admin/webhooks/{event_id}", env=OK)
def _(s):
    sid = uid("wh-one")
    s.create(sid)
    RECEIVER.wait(of_event("episode.created", subject_id=sid))
    st = stats(s)
    assert st["total"] == st["pending"] + st["delivered"] + st["dead_letter"], st
    assert st["delivered"] >= 1, st
    row = newest_row(s, "episode.created")
    r = s.get("/admin/webhooks/" + row["id"])
    assert r.status == 200, r
    check_event_shape(r.body, False)
    for k in ("id", "event", "max_attempts", "created_at"):
        assert r.body[k] == row[k], (r.body, row)
    r = s.get("/admin/webhooks/" + row["id"].upper())
    assert r.status == 200 and r.body["id"] == row["id"], r
    r = s.get("/admin/webhooks/00000000-0000-4000-8000-000000000000")
    check_error(r, 404, "http_error", "Webhook event not found")
    r = s.get("/admin/webhooks/not-a-uuid")
    check_422(r, ["path", "event_id"], "not-a-uuid")


@test("86.10 DELETE /admin/webhooks purges terminal events only, with the job-purge rules", env=OK)
def _(s):
    r = s.delete("/admin/webhooks")
    check_error(r, 400, "http_error", "at least one filter is required")
    r = s.delete("/admin/webhooks", query={"status": ""})
    check_error(r, 400, "http_error", "at least one filter is required")
    r = s.delete("/admin/webhooks", query={"status": "pending"})
    check_error(r, 400, "http_error",
                "status must be one of ('delivered', 'dead_letter'); got 'pending'")
    sid = uid("wh-purge")
    s.create(sid)
    RECEIVER.wait(of_event("episode.created", subject_id=sid))
    wait_row(s, newest_row(s, "episode.created")["id"], lambda r: r["status"] == "delivered")
    r = s.delete("/admin/webhooks", query={"tenant_id": "acme"})
    assert r.status == 200 and r.body == {"deleted": 0}, r
    before = stats(s)
    n = events(s, event_type="episode.created", status="delivered")["total"]
    assert n >= 1
    r = s.delete("/admin/webhooks", query={"event_type": "episode.created", "status": "delivered"})
    assert r.status == 200 and list(r.body.keys()) == ["deleted"], r
    assert r.body["deleted"] >= n, r
    assert events(s, event_type="episode.created", status="delivered")["total"] == 0
    after = stats(s)
    assert after["pending"] == before["pending"], (before, after)
    assert after["total"] == before["total"] - r.body["deleted"], (before, after)


@test("86.16 two processes on one database deliver every event exactly once", env=OK)
def _(s):
    other = Server(env=OK, database_url=s.database_url, workdir=s.workdir, name=s.name + "-second")
    other.start()
    try:
        sids = [uid("wh-two") for _ in range(30)]
        for i, sid in enumerate(sids):
            (s if i % 2 else other).create(sid)
        for sid in sids:
            RECEIVER.wait(of_event("episode.created", subject_id=sid))
        marker(s)
        marker(other)
        for sid in sids:
            got = RECEIVER.matching(of_event("episode.created", subject_id=sid))
            assert len(got) == 1, (sid, len(got))
    finally:
        assert other.stop() == 0


# --------------------------------------------------------------------------------------------
# No URL: nothing recorded


@test("86.11 with STATEWAVE_WEBHOOK_URL unset no event is recorded", env=NONE)
def _(s):
    sid = uid("wh-none")
    before = stats(s)
    s.create(sid, payload={"text": "I use emacs."})
    s.batch([episode(sid), episode(uid("wh-none"))])
    r = s.post("/v1/memories/compile", {"subject_id": sid})
    assert r.status == 200 and r.body["memories_created"] >= 1, r
    r = s.delete("/v1/subjects/" + sid)
    assert r.status == 200, r
    r = s.delete("/v1/subjects/" + uid("wh-none"))
    assert r.status == 200, r
    assert stats(s) == before, (before, stats(s))
    time.sleep(0.3)
    assert not RECEIVER.matching(mentions(sid))


# --------------------------------------------------------------------------------------------
# Failures: retries with backoff, then dead_letter


@test("86.12 a 500 is retried: the row shows attempts and last_error, then dead_letter after 5",
      env=FAIL)
def _(s):
    sid = uid("wh-fail")
    s.create(sid)
    first = RECEIVER.wait(of_event("episode.created", subject_id=sid))
    assert first[0]["path"] == "/fail", first
    row = newest_row(s, "episode.created")
    seen = wait_row(s, row["id"], lambda r: r["attempts"] >= 1)
    if seen["status"] == "pending":
        assert seen["last_error"] == "HTTP 500: boom" and seen["http_status"] == 500, seen
        assert seen["last_attempt_at"] and seen["delivered_at"] is None, seen
    final = wait_row(s, row["id"], lambda r: r["status"] == "dead_letter")
    check_event_shape(final, False)
    assert final["attempts"] == 5 and final["max_attempts"] == 5, final
    assert final["http_status"] == 500 and final["last_error"] == "HTTP 500: boom", final
    assert final["delivered_at"] is None and final["next_attempt_at"] is None, final
    calls = RECEIVER.matching(of_event("episode.created", subject_id=sid))
    assert len(calls) == 5, len(calls)
    assert len({c["raw"] for c in calls}) == 1, "every attempt sends the same envelope"
    # The delays grow (30·4^(n−1) s × [0.5, 1.5], here scaled by 0.001).
    gaps = [b["t"] - a["t"] for a, b in zip(calls, calls[1:])]
    assert gaps[3] > gaps[0], gaps
    st = stats(s)
    assert st["dead_letter"] >= 1, st


@test("86.13 a dead receiver: ConnectError in last_error, http_status null, dead_letter", env=DEAD)
def _(s):
    s.create(uid("wh-dead"))
    row = newest_row(s, "episode.created")
    final = wait_row(s, row["id"], lambda r: r["status"] == "dead_letter")
    assert final["attempts"] == 5 and final["http_status"] is None, final
    assert final["last_error"].startswith("ConnectError: "), final
    assert len(final["last_error"]) <= len("ConnectError: ") + 200, final


@test("86.14 an attempt that outlives STATEWAVE_WEBHOOK_TIMEOUT fails as a timeout", env=TIMEOUT)
def _(s):
    sid = uid("wh-to")
    s.create(sid)
    row = newest_row(s, "episode.created")
    seen = wait_row(s, row["id"], lambda r: r["attempts"] >= 1)
    assert seen["http_status"] is None, seen
    assert seen["last_error"].startswith("TimeoutException: "), seen
    final = wait_row(s, row["id"], lambda r: r["status"] == "dead_letter")
    assert final["attempts"] == 5 and final["last_error"].startswith("TimeoutException: "), final


# --------------------------------------------------------------------------------------------
# A slow receiver never slows the API


@test("86.15 a receiver that sleeps 3 s does not delay ingest responses", env=SLOW)
def _(s):
    sids = [uid("wh-slow") for _ in range(4)]
    for sid in sids:
        t = time.monotonic()
        s.create(sid)
        took = time.monotonic() - t
        assert took < 1.0, "ingest took %.2f s while the receiver sleeps" % took
    t = time.monotonic()
    r = s.post("/v1/episodes/batch", {"episodes": [episode(sids[0])]})
    assert r.status == 201 and time.monotonic() - t < 1.0, r
    # Deliveries still happen, one after the other, in the deliverer thread.
    RECEIVER.wait(of_event("episode.created", subject_id=sids[0]))
    RECEIVER.wait(of_event("episode.created", subject_id=sids[1]), timeout=SLOW_SECONDS + WAIT)


if __name__ == "__main__":
    main()
