"""85-support: the support tier (spec/api.md §4, behavior.md §14): POST/GET /v1/resolutions,
GET /v1/subjects/{id}/health and /sla, POST /v1/handoff; the health alerts (subject.health_*
webhooks, §1.12), the context ranking that reads resolutions (§3.6), and the rows that follow a
subject: delete, snapshots, cleanup and import (backup-snapshots.md §5, §7, §3.7).

Old data (episodes hours or days ago) comes in through /admin/import with hand-built
documents; resolutions are always stamped now, so the worked examples whose resolutions lie in
the past are unit tests (test_subject_health, test_sla, test_handoff). A receiver started here
(http.server on loopback, in a thread) plays the webhook target."""

import datetime
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, episode, main, q, test, uid  # noqa: E402

ZTS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
OFFSET_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RESOLUTION_KEYS = ["id", "subject_id", "session_id", "status", "resolution_summary",
                   "resolved_at", "metadata", "created_at", "updated_at"]
HANDOFF_KEYS = ["subject_id", "session_id", "reason", "generated_at", "customer_summary",
                "active_issue", "attempted_steps", "key_facts", "resolution_history",
                "recent_context", "health_score", "health_state", "health_factors",
                "handoff_notes", "token_estimate", "provenance"]
SLA_KEYS = ["subject_id", "total_sessions", "resolved_sessions", "open_sessions",
            "avg_first_response_seconds", "avg_resolution_seconds",
            "first_response_breach_count", "resolution_breach_count", "sessions"]
SLA_SESSION_KEYS = ["session_id", "status", "first_message_at", "first_response_at",
                    "resolved_at", "first_response_seconds", "resolution_seconds",
                    "open_duration_seconds", "first_response_breached", "resolution_breached"]
SNAPSHOTS = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
WAIT = 20.0


# -- helpers ------------------------------------------------------------------------------------

def msg(subject_id, session_id, content, source="chat", role="user", **over):
    """An episode body with one chat message."""
    return episode(subject_id, source=source, session_id=session_id,
                   payload={"messages": [{"role": role, "content": content}]}, **over)


def resolve(s, subject_id, session_id, status=None, tenant=None, **over):
    body = {"subject_id": subject_id, "session_id": session_id}
    if status is not None:
        body["status"] = status
    body.update(over)
    r = s.post("/v1/resolutions", body, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body) == RESOLUTION_KEYS, list(r.body)
    return r.body


def resolutions(s, subject_id, tenant=None, **query):
    r = s.get("/v1/resolutions", query=dict(query, subject_id=subject_id), tenant=tenant)
    assert r.status == 200, r
    assert isinstance(r.body, list), r
    return r.body


def health(s, subject_id, tenant=None):
    r = s.get("/v1/subjects/%s/health" % q(subject_id), tenant=tenant)
    assert r.status == 200, r
    assert list(r.body) == ["subject_id", "score", "state", "factors"], r
    return r.body


def sla(s, subject_id, tenant=None, **query):
    r = s.get("/v1/subjects/%s/sla" % q(subject_id), query=query or None, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body) == SLA_KEYS, list(r.body)
    for sess in r.body["sessions"]:
        assert list(sess) == SLA_SESSION_KEYS, list(sess)
    return r.body


def handoff(s, subject_id, session_id, tenant=None, **over):
    body = {"subject_id": subject_id, "session_id": session_id}
    body.update(over)
    r = s.post("/v1/handoff", body, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body) == HANDOFF_KEYS, list(r.body)
    return r.body


def iso(t):
    """Offset-form timestamp of a UTC datetime (microseconds always written)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def checksum(doc):
    canon = json.dumps({"episodes": doc["episodes"], "memories": doc["memories"]},
                       sort_keys=True)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def ep_record(sid, session_id, content, at, source="chat", role="user", tenant=None):
    return {"id": str(uuid.uuid4()), "subject_id": sid, "tenant_id": tenant,
            "session_id": session_id, "source": source, "type": "message",
            "payload": {"messages": [{"role": role, "content": content}]}, "metadata": {},
            "provenance": {}, "created_at": iso(at), "last_compiled_at": iso(at)}


def fact_record(sid, content, at, tenant=None):
    return {"id": str(uuid.uuid4()), "subject_id": sid, "tenant_id": tenant,
            "kind": "profile_fact", "content": content, "summary": content,
            "confidence": 0.6, "valid_from": iso(at), "valid_to": None,
            "source_episode_ids": [], "metadata": {}, "status": "active", "embedding": None,
            "created_at": iso(at), "updated_at": iso(at)}


def import_rows(s, sid, episodes, memories=(), tenant=None):
    """Import hand-built rows (their own timestamps) into sid under tenant."""
    doc = {"format_version": "1.0", "exported_at": iso(utcnow()), "subject_id": sid,
           "tenant_id": tenant, "counts": {"episodes": len(episodes), "memories": len(memories)},
           "episodes": list(episodes), "memories": list(memories)}
    doc["checksum"] = checksum(doc)
    body = {"document": doc}
    if tenant is not None:
        body["target_tenant_id"] = tenant
    r = s.post("/admin/import", body)
    assert r.status == 200, r


# -- the webhook receiver -----------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = []

    def add(self, body):
        with self.lock:
            self.bodies.append(body)

    def events(self, name, subject_id):
        with self.lock:
            return [b for b in self.bodies if isinstance(b, dict) and b.get("event") == name
                    and b.get("data", {}).get("subject_id") == subject_id]

    def wait(self, name, subject_id, count=1):
        deadline = time.monotonic() + WAIT
        while len(self.events(name, subject_id)) < count:
            assert time.monotonic() < deadline, "no %d %s event(s) for %s" % (count, name,
                                                                              subject_id)
            time.sleep(0.02)
        return self.events(name, subject_id)


RECEIVER = Receiver()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            RECEIVER.add(json.loads(raw.decode("utf-8")))
        except ValueError:
            RECEIVER.add(None)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


HTTPD = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=HTTPD.serve_forever, daemon=True).start()
HOOKS = {"STATEWAVE_WEBHOOK_URL": "http://127.0.0.1:%d/hook" % HTTPD.server_address[1]}


# -- POST /v1/resolutions -----------------------------------------------------------------------

@test("85.1 a new resolution: 200, the Resolution shape, status open by default")
def _(s):
    sid = uid("res")
    r = resolve(s, sid, "sess-1")
    assert UUID_RE.match(r["id"]), r
    assert r["subject_id"] == sid and r["session_id"] == "sess-1", r
    assert r["status"] == "open" and r["resolution_summary"] is None, r
    assert r["resolved_at"] is None and r["metadata"] == {}, r
    assert ZTS_RE.match(r["created_at"]) and r["created_at"] == r["updated_at"], r


@test("85.2 the upsert: same id and created_at, status/summary/metadata replaced, resolved_at")
def _(s):
    sid = uid("res")
    first = resolve(s, sid, "sess-1", metadata={"a": 1, "keep": True}, resolution_summary="x")
    second = resolve(s, sid, "sess-1", "resolved", metadata={"b": 2.0},
                     resolution_summary="Issued refund")
    assert second["id"] == first["id"], (first, second)
    assert second["created_at"] == first["created_at"], (first, second)
    assert second["updated_at"] > first["updated_at"], (first, second)
    assert second["status"] == "resolved" and second["resolution_summary"] == "Issued refund"
    assert second["metadata"] == {"b": 2.0}, second   # replaced, not merged
    assert '"b":2.0' in json.dumps(second["metadata"], separators=(",", ":")), second
    assert ZTS_RE.match(second["resolved_at"]) and second["resolved_at"] == second["updated_at"]
    third = resolve(s, sid, "sess-1", "resolved")
    assert third["resolved_at"] > second["resolved_at"], (second, third)   # moves forward
    assert third["resolution_summary"] is None and third["metadata"] == {}, third
    fourth = resolve(s, sid, "sess-1", "unresolved")
    assert fourth["resolved_at"] is None and fourth["id"] == first["id"], fourth
    assert len(resolutions(s, sid)) == 1


@test("85.3 GET: a bare array, newest update first, the status filter, at most 50")
def _(s):
    sid = uid("res")
    for i in range(52):
        resolve(s, sid, "sess-%02d" % i, "resolved" if i % 3 == 0 else "open")
    resolve(s, sid, "sess-00", "unresolved")   # updated last: first in the list
    rows = resolutions(s, sid)
    assert len(rows) == 50, len(rows)
    assert rows[0]["session_id"] == "sess-00" and rows[0]["status"] == "unresolved", rows[0]
    assert rows[1]["session_id"] == "sess-51", rows[1]
    stamps = [r["updated_at"] for r in rows]
    assert stamps == sorted(stamps, reverse=True), stamps
    assert all(list(r) == RESOLUTION_KEYS for r in rows)
    resolved = resolutions(s, sid, status="resolved")
    assert len(resolved) == 17 and all(r["status"] == "resolved" for r in resolved), resolved
    assert [r["session_id"] for r in resolutions(s, sid, status="unresolved")] == ["sess-00"]
    assert resolutions(s, uid("nobody")) == []


@test("85.4 GET: bad or missing parameters are 422")
def _(s):
    r = s.get("/v1/resolutions", query={"subject_id": uid("x"), "status": "closed"})
    item = check_422(r, ["query", "status"], "closed")
    assert item["type"] == "string_pattern_mismatch", item
    assert item["ctx"] == {"pattern": "^(open|resolved|unresolved)$"}, item
    check_422(s.get("/v1/resolutions"), ["query", "subject_id"])
    check_422(s.get("/v1/resolutions", query={"subject_id": ""}), ["query", "subject_id"])


BAD_BODIES = [
    ({"session_id": "s"}, ["body", "subject_id"], "missing"),
    ({"subject_id": "u"}, ["body", "session_id"], "missing"),
    ({"subject_id": 5, "session_id": "s"}, ["body", "subject_id"], "string_type"),
    ({"subject_id": "u", "session_id": ["s"]}, ["body", "session_id"], "string_type"),
    ({"subject_id": "", "session_id": "s"}, ["body", "subject_id"], "string_too_short"),
    ({"subject_id": "u" * 257, "session_id": "s"}, ["body", "subject_id"], "string_too_long"),
    ({"subject_id": "u", "session_id": "s" * 257}, ["body", "session_id"], "string_too_long"),
    ({"subject_id": "u", "session_id": "s", "status": "closed"}, ["body", "status"],
     "string_pattern_mismatch"),
    ({"subject_id": "u", "session_id": "s", "status": "Open"}, ["body", "status"],
     "string_pattern_mismatch"),
    ({"subject_id": "u", "session_id": "s", "status": None}, ["body", "status"], "string_type"),
    ({"subject_id": "u", "session_id": "s", "status": 1}, ["body", "status"], "string_type"),
    ({"subject_id": "u", "session_id": "s", "resolution_summary": "x" * 2001},
     ["body", "resolution_summary"], "string_too_long"),
    ({"subject_id": "u", "session_id": "s", "resolution_summary": 3},
     ["body", "resolution_summary"], "string_type"),
    ({"subject_id": "u", "session_id": "s", "metadata": "x"}, ["body", "metadata"], "dict_type"),
    ({"subject_id": "u", "session_id": "s", "metadata": None}, ["body", "metadata"], None),
    ({"subject_id": "u", "session_id": "s", "metadata": [1]}, ["body", "metadata"], "dict_type"),
]


@test("85.5 POST: wrong types, over-long strings and a bad status are 422; nothing is written")
def _(s):
    for body, loc, kind in BAD_BODIES:
        r = s.post("/v1/resolutions", body)
        item = check_422(r, loc)
        if kind:
            assert item["type"] == kind, (body, item)
    assert resolutions(s, "u") == []
    check_422(s.post("/v1/resolutions", b"{not json"), ["body", 1])
    check_422(s.post("/v1/resolutions", [1, 2]))
    ok = resolve(s, uid("res"), "s", resolution_summary="\u00e9" * 2000)   # code points
    assert len(ok["resolution_summary"]) == 2000


@test("85.6 tenants: one row per (tenant, subject, session); each tenant sees only its own")
def _(s):
    sid = uid("res")
    a, b = uid("ta"), uid("tb")
    ra = resolve(s, sid, "sess-1", "resolved", tenant=a)
    rb = resolve(s, sid, "sess-1", tenant=b)
    rn = resolve(s, sid, "sess-1", "unresolved")
    assert len({ra["id"], rb["id"], rn["id"]}) == 3
    assert [r["id"] for r in resolutions(s, sid, tenant=a)] == [ra["id"]]
    assert [r["id"] for r in resolutions(s, sid, tenant=b)] == [rb["id"]]
    assert [r["id"] for r in resolutions(s, sid)] == [rn["id"]]
    assert resolutions(s, sid, tenant=uid("tc")) == []
    assert resolutions(s, sid, tenant=a)[0]["status"] == "resolved"


@test("85.7 reserved subject ids: writes are 400, reads are empty")
def _(s):
    r = s.post("/v1/resolutions", {"subject_id": "_snapshot/x/v1", "session_id": "s"})
    check_error(r, 400, "http_error",
                "Subject id '_snapshot/x/v1' uses a reserved prefix (_snapshot/)")
    assert resolutions(s, "_snapshot/x/v1") == []
    r = s.post("/v1/handoff", {"subject_id": "_bootstrap_tmp/y", "session_id": "s"})
    check_error(r, 400, "http_error",
                "Subject id '_bootstrap_tmp/y' uses a reserved prefix (_bootstrap_tmp/)")
    h = health(s, "_snapshot/x/v1")
    assert h["score"] == 100 and h["factors"] == [], h
    assert sla(s, "_snapshot/x/v1")["sessions"] == []


# -- GET /v1/subjects/{id}/health ---------------------------------------------------------------

@test("85.10 health of an unknown subject: 100, healthy, no factors (never 404)")
def _(s):
    sid = uid("h")
    assert health(s, sid) == {"subject_id": sid, "score": 100, "state": "healthy",
                              "factors": []}


@test("85.11 health: open sessions and an urgency marker (behavior.md §19.7 H2)")
def _(s):
    sid = uid("h")
    s.post("/v1/episodes", msg(sid, "sess-1", "need help"))
    s.post("/v1/episodes", msg(sid, "sess-2", "still broken"))
    resolve(s, sid, "sess-1")
    resolve(s, sid, "sess-2")
    h = health(s, sid)
    assert h["score"] == 60 and h["state"] == "watch", h
    assert h["factors"] == [
        {"signal": "unresolved_issues", "impact": -30, "detail": "2 open session(s)"},
        {"signal": "escalations", "impact": -10, "detail": "1 episode(s) with urgency markers"},
    ], h
    # tenant isolation: the same subject id in another tenant is untouched
    assert health(s, sid, tenant=uid("t"))["factors"] == []


@test("85.12 health: an idle open session and a repeated issue (§19.7 H6, H3)")
def _(s):
    sid = uid("h")
    now = utcnow()
    import_rows(s, sid, [
        ep_record(sid, "sess-old", "payment gateway timeout error",
                  now - datetime.timedelta(days=30)),
        ep_record(sid, "sess-1", "payment gateway timeout happening again",
                  now - datetime.timedelta(days=10, hours=1)),
    ])
    resolve(s, sid, "sess-old", "resolved")
    resolve(s, sid, "sess-1")
    h = health(s, sid)
    signals = [(f["signal"], f["impact"], f["detail"]) for f in h["factors"]]
    assert signals == [
        ("unresolved_issues", -15, "1 open session(s)"),
        ("repeated_issues", -20, "Open issues resemble previously resolved ones"),
        ("idle_open_issue", -15, "Session sess-1 idle for 10 days"),
        ("recent_resolution", 10, "1 session(s) resolved in last 7 days"),
        # resolved now, 30 days after its first user message
        ("sla_resolution_breaches", -10, "1 session(s) exceeded 24h resolution SLA"),
    ], signals
    assert h["score"] == 50 and h["state"] == "watch", h


@test("85.13 health: a bad path is 422, the wrong method 405")
def _(s):
    check_422(s.get("/v1/subjects/%s/health" % ("x" * 257)), ["path", "subject_id"])
    check_error(s.post("/v1/subjects/x/health", {}), 405, "http_error", "Method Not Allowed")


@test("85.14 health alerts: degraded on a worse state, nothing when unchanged, improved after",
      env=HOOKS)
def _(s):
    sid = uid("alert")
    s.post("/v1/episodes", msg(sid, "sess-1", "need help"))
    s.post("/v1/episodes", msg(sid, "sess-2", "still broken"))
    assert health(s, sid)["state"] == "healthy"   # first computation, healthy: no event
    resolve(s, sid, "sess-1")
    resolve(s, sid, "sess-2")
    assert health(s, sid)["score"] == 60
    ev = RECEIVER.wait("subject.health_degraded", sid)[0]
    d = ev["data"]
    assert list(d) == ["subject_id", "previous_state", "current_state", "score", "factors",
                       "generated_at"], d
    assert (d["previous_state"], d["current_state"], d["score"]) == ("healthy", "watch", 60), d
    assert d["factors"][0] == {"signal": "unresolved_issues", "impact": -30,
                               "detail": "2 open session(s)"}, d
    assert len(d["factors"]) == 2 and OFFSET_TS_RE.match(d["generated_at"]), d
    assert OFFSET_TS_RE.match(ev["timestamp"]), ev
    health(s, sid)                                 # unchanged: no second event
    handoff(s, sid, "sess-1")                      # the handoff runs the same check
    resolve(s, sid, "sess-1", "resolved")
    resolve(s, sid, "sess-2", "resolved")
    assert health(s, sid)["state"] == "healthy"
    imp = RECEIVER.wait("subject.health_improved", sid)[0]["data"]
    assert (imp["previous_state"], imp["current_state"]) == ("watch", "healthy"), imp
    time.sleep(0.5)
    assert len(RECEIVER.events("subject.health_degraded", sid)) == 1
    assert len(RECEIVER.events("subject.health_improved", sid)) == 1


@test("85.15 health alerts: the cache is per tenant, and a handoff fires them too", env=HOOKS)
def _(s):
    sid = uid("alert")
    a, b = uid("ta"), uid("tb")
    for t in (a, b):
        for i in range(4):
            resolve(s, sid, "sess-%d" % i, tenant=t)
    handoff(s, sid, "sess-0", tenant=a)            # watch (55) under a: degraded from healthy
    d = RECEIVER.wait("subject.health_degraded", sid)[0]["data"]
    assert (d["previous_state"], d["current_state"], d["score"]) == ("healthy", "watch", 55), d
    assert health(s, sid, tenant=b)["score"] == 55  # b has its own (empty) cache: fires again
    RECEIVER.wait("subject.health_degraded", sid, count=2)


@test("85.16 an import invalidates the subject's health cache", env=HOOKS)
def _(s):
    sid = uid("alert")
    resolve(s, sid, "sess-1")
    resolve(s, sid, "sess-2")
    resolve(s, sid, "sess-3")
    health(s, sid)
    RECEIVER.wait("subject.health_degraded", sid)
    health(s, sid)
    import_rows(s, sid, [ep_record(sid, "sess-9", "hello", utcnow())])
    health(s, sid)                                 # no cached state: degraded again
    RECEIVER.wait("subject.health_degraded", sid, count=2)


# -- GET /v1/subjects/{id}/sla ------------------------------------------------------------------

@test("85.20 SLA of an unknown subject: no sessions, null averages (never 404)")
def _(s):
    sid = uid("sla")
    assert sla(s, sid) == {"subject_id": sid, "total_sessions": 0, "resolved_sessions": 0,
                           "open_sessions": 0, "avg_first_response_seconds": None,
                           "avg_resolution_seconds": None, "first_response_breach_count": 0,
                           "resolution_breach_count": 0, "sessions": []}


@test("85.21 SLA: first responses, breaches, thresholds (§19.8 S1, S2, S8)")
def _(s):
    sid = uid("sla")
    t = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
    m = datetime.timedelta(minutes=1)
    import_rows(s, sid, [
        ep_record(sid, "s1", "help", t, source="user"),
        ep_record(sid, "s2", "help", t, source="user"),
        ep_record(sid, "s1", "hi", t + 2 * m, source="assistant", role="assistant"),
        ep_record(sid, "s2", "hi", t + 10 * m, source="agent", role="assistant"),
    ])
    r = sla(s, sid)
    assert r["total_sessions"] == 2 and r["first_response_breach_count"] == 1, r
    s1, s2 = r["sessions"]
    assert s1 == {"session_id": "s1", "status": "unknown",
                  "first_message_at": "2024-06-01T12:00:00+00:00",
                  "first_response_at": "2024-06-01T12:02:00+00:00", "resolved_at": None,
                  "first_response_seconds": 120.0, "resolution_seconds": None,
                  "open_duration_seconds": None, "first_response_breached": False,
                  "resolution_breached": False}, s1
    assert s2["first_response_seconds"] == 600.0 and s2["first_response_breached"], s2
    assert r["avg_first_response_seconds"] == 360.0, r
    assert sla(s, sid, first_response_threshold_minutes="1")["first_response_breach_count"] == 2
    assert sla(s, sid, first_response_threshold_minutes="10")["first_response_breach_count"] == 0
    assert sla(s, sid, first_response_threshold_minutes="9.99")["first_response_breach_count"] == 1
    assert sla(s, sid, first_response_threshold_minutes="0")["first_response_breach_count"] == 2
    assert sla(s, sid, tenant=uid("t"))["sessions"] == []


@test("85.22 SLA: resolution time and open duration (§19.8 S3-S5)")
def _(s):
    sid = uid("sla")
    start = utcnow() - datetime.timedelta(hours=30)
    import_rows(s, sid, [
        ep_record(sid, "s1", "help", start, source="user"),
        ep_record(sid, "s2", "help", start, source="customer"),
    ])
    resolve(s, sid, "s1", "resolved")
    resolve(s, sid, "s2")
    r = sla(s, sid)
    s1, s2 = r["sessions"]
    assert s1["status"] == "resolved" and 30 * 3600 < s1["resolution_seconds"] < 31 * 3600, s1
    assert s1["resolution_breached"] and OFFSET_TS_RE.match(s1["resolved_at"]), s1
    assert s1["first_response_at"] is None and s1["open_duration_seconds"] is None, s1
    assert s2["status"] == "open" and s2["resolution_seconds"] is None, s2
    assert 30 * 3600 < s2["open_duration_seconds"] < 31 * 3600, s2
    assert (r["resolved_sessions"], r["open_sessions"], r["resolution_breach_count"]) == (1, 1, 1)
    assert sla(s, sid, resolution_threshold_hours="31")["resolution_breach_count"] == 0


@test("85.23 SLA: bad thresholds are 422")
def _(s):
    path = "/v1/subjects/x/sla"
    item = check_422(s.get(path, query={"first_response_threshold_minutes": "-1"}),
                     ["query", "first_response_threshold_minutes"], "-1")
    assert item["type"] == "greater_than_equal", item
    item = check_422(s.get(path, query={"resolution_threshold_hours": "abc"}),
                     ["query", "resolution_threshold_hours"], "abc")
    assert item["type"] == "float_parsing", item
    for bad in ("", "nan", "inf", "1e999", "0x10", "5 min"):
        check_422(s.get(path, query={"resolution_threshold_hours": bad}),
                  ["query", "resolution_threshold_hours"])
    r = s.get(path, query={"first_response_threshold_minutes": "-0.5",
                           "resolution_threshold_hours": "-2"})
    check_422(r, ["query", "first_response_threshold_minutes"])
    check_422(r, ["query", "resolution_threshold_hours"])
    assert s.get(path, query={"resolution_threshold_hours": "1e1"}).status == 200


# -- POST /v1/handoff ---------------------------------------------------------------------------

@test("85.30 handoff of an empty subject: the §19.9 notes, 45 tokens (never 404)")
def _(s):
    sid = uid("user")
    h = handoff(s, sid, "sess-1")
    assert h["handoff_notes"] == ("# Handoff Brief \u2014 %s\nReason: escalation\nSession: sess-1"
                                  "\n\n## Customer\nSubject: %s\n\n## Customer Health\n"
                                  "\U0001F7E2 Health: HEALTHY (score: 100)\n" % (sid, sid)), h
    assert ZTS_RE.match(h["generated_at"]), h
    assert (h["reason"], h["customer_summary"], h["active_issue"]) == (
        "escalation", "Subject: %s" % sid, ""), h
    assert (h["health_score"], h["health_state"], h["health_factors"]) == (100, "healthy", []), h
    assert h["attempted_steps"] == [] and h["key_facts"] == [] and h["recent_context"] == []
    assert h["resolution_history"] == [], h
    assert h["provenance"] == {"fact_ids": [], "episode_ids": [], "resolution_ids": [],
                               "context_episode_ids": []}, h


EXAMPLE_NOTES = """# Handoff Brief \u2014 {sid}
Reason: escalation
Session: sess-1

## Customer
{sid} \u2014 I am on the Enterprise plan; I work at Globex Corporation

## Customer Health
\U0001F7E2 Health: HEALTHY (score: 95) \u2014 1 open session(s); 1 session(s) resolved in last 7 days

## SLA Status
- Open issue age: 0.5h
- Avg first response: 2.0 min

## Active Issue
[chat/message] user: My billing is incorrect again (+ 1 more messages in session)

## What Has Been Tried
- assistant: I checked your account and see a duplicate charge

## Open Issues
- [sess-1] No summary
## Previously Resolved
- [sess-0] Issued refund

## Key Facts
- I am on the Enterprise plan
- I work at Globex Corporation

## Recent Context (other sessions)
- [chat/message] [sess-0] user: My invoice from March looks wrong
"""


def example_subject(s, tenant):
    """§19.9's second example, relative to now, as subject user-42 of a fresh tenant (so the
    notes are the spec's byte for byte): returns (sid, episodes, facts)."""
    sid = "user-42"
    now = utcnow()
    m = datetime.timedelta(minutes=1)
    eps = [
        ep_record(sid, "sess-0", "My invoice from March looks wrong", now - 120 * m,
                  tenant=tenant),
        ep_record(sid, "sess-1", "My billing is incorrect again", now - 30 * m, tenant=tenant),
        ep_record(sid, "sess-1", "I checked your account and see a duplicate charge",
                  now - 28 * m, source="assistant", role="assistant", tenant=tenant),
    ]
    facts = [fact_record(sid, "I work at Globex Corporation", now - 200 * m, tenant=tenant),
             fact_record(sid, "I am on the Enterprise plan", now - 100 * m, tenant=tenant)]
    import_rows(s, sid, eps, facts, tenant=tenant)
    resolve(s, sid, "sess-0", "resolved", resolution_summary="Issued refund", tenant=tenant)
    resolve(s, sid, "sess-1", tenant=tenant)
    return sid, eps, facts


@test("85.31 handoff: §19.9's worked example, every field, 219 tokens")
def _(s):
    t = uid("t")
    sid, eps, facts = example_subject(s, t)
    h = handoff(s, sid, "sess-1", tenant=t)
    assert h["handoff_notes"] == EXAMPLE_NOTES.format(sid=sid), h["handoff_notes"]
    assert h["token_estimate"] == 219, h["token_estimate"]
    assert h["customer_summary"] == sid + " \u2014 I am on the Enterprise plan; " \
                                          "I work at Globex Corporation", h
    assert h["active_issue"] == "[chat/message] user: My billing is incorrect again " \
                                "(+ 1 more messages in session)", h
    assert h["attempted_steps"] == ["assistant: I checked your account and see a duplicate "
                                    "charge"], h
    assert h["key_facts"] == ["I am on the Enterprise plan", "I work at Globex Corporation"]
    assert h["recent_context"] == ["[chat/message] [sess-0] user: My invoice from March looks "
                                   "wrong"], h
    assert [(x["session_id"], x["status"], x["summary"]) for x in h["resolution_history"]] == \
        [("sess-1", "open", None), ("sess-0", "resolved", "Issued refund")], h
    assert h["resolution_history"][0]["resolved_at"] is None
    assert ZTS_RE.match(h["resolution_history"][1]["resolved_at"]), h
    assert (h["health_score"], h["health_state"]) == (95, "healthy"), h
    assert [f["signal"] for f in h["health_factors"]] == ["unresolved_issues",
                                                          "recent_resolution"], h
    p = h["provenance"]
    assert p["fact_ids"] == [facts[1]["id"], facts[0]["id"]], p
    assert p["episode_ids"] == [eps[1]["id"], eps[2]["id"]], p
    assert p["context_episode_ids"] == [eps[0]["id"]], p
    assert p["resolution_ids"] == [r["id"] for r in resolutions(s, sid, tenant=t)], p


@test("85.32 handoff: the trim to max_tokens keeps the first max_tokens tokens")
def _(s):
    t = uid("t")
    sid, _, _ = example_subject(s, t)
    full = handoff(s, sid, "sess-1", tenant=t)
    assert full["token_estimate"] == 219, full["token_estimate"]
    cut = handoff(s, sid, "sess-1", tenant=t, max_tokens=50)
    assert cut["token_estimate"] == 50, cut
    notes = cut["handoff_notes"]
    assert full["handoff_notes"].startswith(notes) or \
        (notes.endswith("\ufffd") and full["handoff_notes"].startswith(notes[:-1])), notes
    assert len(notes) < len(full["handoff_notes"]), notes
    exact = handoff(s, sid, "sess-1", tenant=t, max_tokens=219)
    assert exact["handoff_notes"] == full["handoff_notes"] and exact["token_estimate"] == 219
    short = handoff(s, sid, "sess-1", tenant=t, max_tokens=218)
    assert short["token_estimate"] == 218 and short["handoff_notes"] != full["handoff_notes"]
    tiny = handoff(s, sid, "sess-1", tenant=t, max_tokens=1)
    assert tiny["handoff_notes"] == "#" and tiny["token_estimate"] == 1, tiny
    assert handoff(s, sid, "sess-1", tenant=t, max_tokens="12")["token_estimate"] == 12


@test("85.33 handoff: bad input is 422")
def _(s):
    base = {"subject_id": "u", "session_id": "s"}
    cases = [
        ({"session_id": "s"}, ["body", "subject_id"]),
        ({"subject_id": "u"}, ["body", "session_id"]),
        (dict(base, session_id=""), ["body", "session_id"]),
        (dict(base, subject_id="u" * 257), ["body", "subject_id"]),
        (dict(base, reason="r" * 257), ["body", "reason"]),
        (dict(base, reason=None), ["body", "reason"]),
        (dict(base, reason=7), ["body", "reason"]),
        (dict(base, max_tokens=0), ["body", "max_tokens"]),
        (dict(base, max_tokens=16001), ["body", "max_tokens"]),
        (dict(base, max_tokens="many"), ["body", "max_tokens"]),
        (dict(base, max_tokens=1.5), ["body", "max_tokens"]),
    ]
    for body, loc in cases:
        check_422(s.post("/v1/handoff", body), loc)
    h = handoff(s, uid("u"), "s", reason="", max_tokens=16000)
    assert h["reason"] == "" and "Reason: \n" in h["handoff_notes"], h
    h = handoff(s, "user-1", "sess-1", tenant=uid("t"), max_tokens=None)
    assert h["token_estimate"] == 45, h   # null is the default budget


@test("85.34 handoff: another tenant's rows never show")
def _(s):
    a = uid("ta")
    sid, _, _ = example_subject(s, a)
    mine = handoff(s, sid, "sess-1", tenant=a)
    assert mine["key_facts"] and mine["resolution_history"], mine
    other = handoff(s, sid, "sess-1", tenant=uid("tb"))
    assert other["key_facts"] == [] and other["resolution_history"] == [], other
    assert other["active_issue"] == "" and other["health_score"] == 100, other
    assert handoff(s, sid, "sess-1")["key_facts"] == []


# -- context ranking (spec/api.md §3.6) ---------------------------------------------------------

@test("85.40 context: a resolved session ranks down, an open one up")
def _(s):
    sid = uid("ctx")
    s.post("/v1/episodes", msg(sid, "sess-b", "the export button does nothing at all today"))
    s.post("/v1/episodes", msg(sid, "sess-a", "the export button does nothing at all again"))
    body = {"subject_id": sid, "task": "summarise the conversation", "max_tokens": 4000}
    before = s.post("/v1/context", body).body["assembled_context"]
    assert before.index("again") < before.index("today"), before   # newer first
    resolve(s, sid, "sess-a", "resolved")
    resolve(s, sid, "sess-b")
    after = s.post("/v1/context", body).body["assembled_context"]
    assert after.index("today") < after.index("again"), after
    # under another tenant the resolutions do not exist
    assert s.post("/v1/context", body, tenant=uid("t")).body["episodes"] == []


@test("85.41 context: a resolved session like the task ranks up more when it has a summary")
def _(s):
    sid = uid("ctx")
    r = s.post("/v1/episodes/batch", {"episodes": [      # one batch: the same created_at
        msg(sid, "sess-b", "payment gateway timeout again bravo"),
        msg(sid, "sess-a", "payment gateway timeout again alpha"),
    ]})
    assert r.status == 201, r
    resolve(s, sid, "sess-a", "resolved")
    resolve(s, sid, "sess-b", "resolved")
    body = {"subject_id": sid, "task": "payment gateway timeout"}
    tie = s.post("/v1/context", body).body["assembled_context"]
    assert tie.index("bravo") < tie.index("alpha"), tie      # equal scores: insertion order
    resolve(s, sid, "sess-a", "resolved", resolution_summary="Reset the gateway token")
    ctx = s.post("/v1/context", body).body["assembled_context"]
    assert ctx.index("alpha") < ctx.index("bravo"), ctx      # +6 with a summary, +4 without


# -- rows that follow the subject ---------------------------------------------------------------

@test("85.50 deleting a subject deletes its resolutions and health cache (reused id starts clean)",
      env=HOOKS)
def _(s):
    sid = uid("del")
    s.post("/v1/episodes", msg(sid, "sess-1", "hello"))
    for i in range(3):
        resolve(s, sid, "sess-%d" % i)
    assert health(s, sid)["state"] == "watch"
    RECEIVER.wait("subject.health_degraded", sid)
    t = uid("t")
    resolve(s, sid, "sess-1", tenant=t)
    r = s.delete("/v1/subjects/" + q(sid))
    assert r.status == 200 and r.body["episodes_deleted"] == 1, r
    assert resolutions(s, sid) == []
    assert len(resolutions(s, sid, tenant=t)) == 1   # another tenant's subject is untouched
    for i in range(3):
        resolve(s, sid, "sess-%d" % i)
    health(s, sid)                                  # the old cache row is gone: fires again
    RECEIVER.wait("subject.health_degraded", sid, count=2)


@test("85.51 snapshots copy resolutions; a restore brings them back (resolutions_restored)",
      env=SNAPSHOTS)
def _(s):
    src, dst, name = uid("snap"), uid("dst"), uid("n")
    t = uid("t")
    s.post("/v1/episodes", msg(src, "sess-1", "hello"), tenant=t)
    resolve(s, src, "sess-1", "resolved", tenant=t, resolution_summary="done",
            metadata={"k": 1})
    resolve(s, src, "sess-2", tenant=t)
    r = s.post("/admin/snapshots", {"name": name, "source_subject_id": src})
    assert r.status == 200 and r.body["status"] == "created", r
    r = s.post("/admin/snapshots/%s/restore" % r.body["id"],
               {"target_subject_id": dst, "target_tenant_id": t})
    assert r.status == 200 and r.body["resolutions_restored"] == 2, r
    rows = resolutions(s, dst, tenant=t)
    assert sorted((x["session_id"], x["status"]) for x in rows) == [("sess-1", "resolved"),
                                                                    ("sess-2", "open")], rows
    done = [x for x in rows if x["session_id"] == "sess-1"][0]
    assert done["resolution_summary"] == "done" and done["metadata"]["k"] == 1, done
    assert "restored_from_snapshot" in done["metadata"], done
    assert resolutions(s, dst) == []


@test("85.52 cleanup deletes the resolutions of the subjects it cleans", env=SNAPSHOTS)
def _(s):
    sid = "live_" + uid("c")
    import_rows(s, sid, [ep_record(sid, "sess-1", "hi", utcnow() - datetime.timedelta(hours=48))])
    resolve(s, sid, "sess-1")
    r = s.post("/admin/cleanup", query={"prefix": sid, "max_age_hours": "24"})
    assert r.status == 200 and r.body["subjects_cleaned"] == 1, r
    assert resolutions(s, sid) == []


@test("85.53 a restore into a subject forgets its health state", env=dict(SNAPSHOTS, **HOOKS))
def _(s):
    src, dst, name = uid("snap"), uid("dst"), uid("n")
    s.post("/v1/episodes", msg(src, "sess-1", "hello"))
    r = s.post("/admin/snapshots", {"name": name, "source_subject_id": src})
    assert r.status == 200, r
    for i in range(3):
        resolve(s, dst, "other-%d" % i)           # dst: resolutions only, so restorable
    health(s, dst)
    RECEIVER.wait("subject.health_degraded", dst)
    r = s.post("/admin/snapshots/%s/restore" % r.body["id"], {"target_subject_id": dst})
    assert r.status == 200, r
    health(s, dst)                                 # no cached state: degraded again
    RECEIVER.wait("subject.health_degraded", dst, count=2)


@test("85.54 export documents (format 1.0) carry no resolutions; an import brings none")
def _(s):
    sid, dst = uid("exp"), uid("imp")
    s.post("/v1/episodes", msg(sid, "sess-1", "hello"))
    resolve(s, sid, "sess-1", "resolved")
    r = s.get("/admin/export/" + q(sid))
    assert r.status == 200, r
    doc = json.loads(r.raw)
    assert list(doc) == ["format_version", "exported_at", "subject_id", "tenant_id", "counts",
                         "episodes", "memories", "checksum"], list(doc)
    assert "resolution" not in r.raw.decode("utf-8"), r
    r = s.post("/admin/import", {"document": doc, "target_subject_id": dst,
                                   "preserve_ids": False})
    assert r.status == 200, r
    assert resolutions(s, dst) == [] and len(resolutions(s, sid)) == 1


if __name__ == "__main__":
    main()
