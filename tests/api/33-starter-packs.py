"""33-starter-packs: the bundled starter packs and the support docs subject (spec/api.md §7.7).

The packs are Engram's data: statewave-support-agent is Engram's own README and docs/ (built by
scripts/packs-bundle.py), the five demo-* packs are the personas of packs/. Imports are all or
nothing. Each server here gets its own STATEWAVE_SUPPORT_SUBJECT_ID, so runs that share a
database never see each other's support subject. The manifest loader's __error entries are
covered by tests/unit/test_packs.c (the bundled packs are checked at build time)."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, check_422, check_error, main, test, uid  # noqa: E402

IDS = {"statewave-support-agent": "support_docs", "demo-support-agent": "demo_agent",
       "demo-coding-assistant": "demo_agent", "demo-sales-copilot": "demo_agent",
       "demo-devops-agent": "demo_agent", "demo-research-assistant": "demo_agent"}
FIELDS = ["pack_id", "kind", "display_name", "description", "version", "created_at",
          "subject_id_suggestion", "episode_count", "memory_count", "source_count", "tags"]
VERSION = re.search(r'ENGRAM_VERSION "([^"]+)"',
                    open(os.path.join(ROOT, "src", "util", "version.h")).read()).group(1)
OFFSET_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00$")


def support_env(**extra):
    env = {"STATEWAVE_SUPPORT_SUBJECT_ID": uid("support-docs")}
    env.update(extra)
    return env


SUPPORT = support_env()
SUPPORT2 = support_env()


def packs(s):
    r = s.get("/admin/memory/starter-packs")
    assert r.status == 200 and list(r.body) == ["packs"], r
    return {p["pack_id"]: p for p in r.body["packs"]}


def imp(s, body, status=200):
    r = s.post("/admin/memory/starter-packs/import", body)
    assert r.status == status, r
    return r.body


def rows(s, sid, tenant=None):
    t = s.timeline(sid, tenant=tenant)
    return t["episodes"], t["memories"]


@test("33.1 the six bundled packs, every manifest field, kinds as the spec names them")
def _(s):
    p = packs(s)
    assert {k: v["kind"] for k, v in p.items()} == IDS, p
    for pid, pack in p.items():
        assert list(pack) == FIELDS, pack
        assert pack["source_count"] == 0 and pack["episode_count"] >= 4, pack
        assert pack["memory_count"] >= 4 and pack["tags"], pack
        assert pack["subject_id_suggestion"], pack
    sup = p["statewave-support-agent"]
    assert sup["version"].startswith(VERSION + "+docs."), sup
    assert sup["subject_id_suggestion"] == "statewave-support-docs", sup
    assert sup["episode_count"] >= 20, sup
    r = s.get("/admin/memory/starter-packs", tenant=uid("t"))
    assert r.body == {"packs": list(p.values())}, "the tenant header changed the list"


@test("33.2 import into a fresh target: every record, new ids, the §7.7 stamps, sources "
      "remapped, the target tenant")
def _(s):
    pack = packs(s)["demo-devops-agent"]
    sid, t = uid("pack"), uid("tp")
    b = imp(s, {"pack_id": "demo-devops-agent", "target_subject_id": sid,
                "target_display_name": "On-call bot", "target_tenant_id": t})
    assert list(b) == ["pack_id", "target_subject_id", "imported_episodes", "imported_memories",
                       "imported_sources", "conflict_strategy", "imported_at"], b
    assert b["target_subject_id"] == sid and b["conflict_strategy"] == "create_copy", b
    assert b["imported_episodes"] == pack["episode_count"], b
    assert b["imported_memories"] == pack["memory_count"], b
    assert b["imported_sources"] == 0 and OFFSET_TS.match(b["imported_at"]), b
    eps, mems = rows(s, sid, tenant=t)
    assert len(eps) == pack["episode_count"] and len(mems) == pack["memory_count"]
    assert rows(s, sid) == ([], []), "rows landed outside the target tenant"
    ids = {e["id"] for e in eps}
    for e in eps:
        for k, v in (("starter_pack_id", "demo-devops-agent"),
                     ("starter_pack_version", pack["version"]),
                     ("imported_at", b["imported_at"]), ("display_name", "On-call bot")):
            assert e["metadata"][k] == v, e
        assert e["provenance"]["starter_pack_id"] == "demo-devops-agent", e
    for m in mems:
        assert m["metadata"]["starter_pack_id"] == "demo-devops-agent", m
        assert m["source_episode_ids"] and set(m["source_episode_ids"]) <= ids, m
    assert any("patronictl" in m["content"] for m in mems), mems


@test("33.3 conflict strategies: cancel is 409, merge appends, create_copy derives a new id; "
      "without a target the suggestion is used or derived")
def _(s):
    sid = uid("pack")
    first = imp(s, {"pack_id": "demo-sales-copilot", "target_subject_id": sid})
    n_ep, n_mem = first["imported_episodes"], first["imported_memories"]
    r = s.post("/admin/memory/starter-packs/import",
               {"pack_id": "demo-sales-copilot", "target_subject_id": sid,
                "conflict_strategy": "cancel"})
    check_error(r, 409, "http_error",
                "Subject '%s' already has data (%d episodes, %d memories). Pick a different "
                "target id, choose 'merge', or delete the existing subject first."
                % (sid, n_ep, n_mem))
    m = imp(s, {"pack_id": "demo-sales-copilot", "target_subject_id": sid,
                "conflict_strategy": "merge"})
    assert m["target_subject_id"] == sid and m["conflict_strategy"] == "merge", m
    eps, mems = rows(s, sid)
    assert (len(eps), len(mems)) == (2 * n_ep, 2 * n_mem)
    c = imp(s, {"pack_id": "demo-sales-copilot", "target_subject_id": sid})
    assert re.match(re.escape(sid) + r"-[0-9a-f]{8}$", c["target_subject_id"]), c
    d = imp(s, {"pack_id": "demo-research-assistant"})
    assert re.match(r"demo-research-assistant(-[0-9a-f]{8})?$", d["target_subject_id"]), d
    assert len(rows(s, d["target_subject_id"])[0]) == d["imported_episodes"]


@test("33.4 import: bad input is a 422, an unknown pack 404, an unsafe target 400")
def _(s):
    url = "/admin/memory/starter-packs/import"
    check_422(s.post(url, {}), ("body", "pack_id"))
    check_422(s.post(url, {"pack_id": 5}), ("body", "pack_id"))
    check_422(s.post(url, {"pack_id": "demo-support-agent", "conflict_strategy": "replace"}),
              ("body", "conflict_strategy"))
    check_422(s.post(url, {"pack_id": "demo-support-agent", "target_tenant_id": "t" * 257}),
              ("body", "target_tenant_id"))
    check_422(s.post(url, {"pack_id": "demo-support-agent", "target_subject_id": ["x"]}),
              ("body", "target_subject_id"))
    check_422(s.post(url, {"pack_id": "demo-support-agent", "allow_reserved_target": "maybe"}),
              ("body", "allow_reserved_target"))
    check_422(s.post(url, b"{not json", headers={"Content-Type": "application/json"}))
    check_422(s.post(url, ["demo-support-agent"]))
    check_error(s.post(url, {"pack_id": "no-such-pack"}), 404, "http_error",
                "Starter pack 'no-such-pack' not found.")
    check_error(s.post(url, {"pack_id": 'a"b'}), 404, "http_error")
    check_error(s.post(url, {"pack_id": "demo-support-agent", "target_subject_id": "has spaces"}),
                400, "http_error", "'target_subject_id' must be 1-128 characters of letters, "
                "digits, underscore, dot, dash, or colon.")
    target = "demo_web_" + uid()
    check_error(s.post(url, {"pack_id": "demo-support-agent", "target_subject_id": target}),
                400, "http_error", "'target_subject_id' uses a reserved prefix (demo_web_).")
    assert rows(s, target) == ([], [])
    b = imp(s, {"pack_id": "demo-support-agent", "target_subject_id": target,
                "allow_reserved_target": True})
    assert b["target_subject_id"] == target, b


@test("33.5 import is all or nothing: over the episode cap nothing is written (413)",
      env={"STATEWAVE_MEMORY_IMPORT_MAX_EPISODES": "3"})
def _(s):
    sid = uid("pack")
    r = s.post("/admin/memory/starter-packs/import",
               {"pack_id": "demo-coding-assistant", "target_subject_id": sid})
    check_error(r, 413, "http_error", "Too many episodes: 4 > limit 3.")
    assert rows(s, sid) == ([], [])


def state(s):
    r = s.get("/admin/memory/support/state")
    assert r.status == 200, r
    assert list(r.body) == ["subject_id", "pack_id", "bundled_version", "installed_version",
                            "is_up_to_date", "total_episode_count", "total_memory_count",
                            "owned_episode_count", "owned_memory_count",
                            "operator_episode_count", "operator_memory_count",
                            "last_reseed"], r
    return r.body


def reseed(s, body=None, path="/admin/memory/support/reseed"):
    r = s.post(path, body)
    assert r.status == 200, r
    return r.body


@test("33.6 support subject: seeded from the docs pack, already_current, forced with a reason "
      "(alias), operator rows kept", env=SUPPORT)
def _(s):
    subject = SUPPORT["STATEWAVE_SUPPORT_SUBJECT_ID"]
    pack = packs(s)["statewave-support-agent"]
    st = state(s)
    assert st["subject_id"] == subject and st["pack_id"] == "statewave-support-agent", st
    assert st["bundled_version"] == pack["version"] and st["installed_version"] is None, st
    assert st["is_up_to_date"] is False and st["total_episode_count"] == 0, st
    assert st["last_reseed"] == {"imported_at": None, "reason": None, "version": None}, st
    b = reseed(s)
    assert b["outcome"] == "seeded" and b["updated"] is True, b
    assert b["previous_version"] is None and b["installed_version"] == pack["version"], b
    assert b["imported_episodes"] == pack["episode_count"], b
    assert b["imported_memories"] == pack["memory_count"], b
    assert b["reason"] is None and OFFSET_TS.match(b["reseeded_at"]), b
    st = state(s)
    assert st["is_up_to_date"] is True and st["installed_version"] == pack["version"], st
    assert st["owned_episode_count"] == st["total_episode_count"] == pack["episode_count"], st
    assert st["last_reseed"]["imported_at"] == b["reseeded_at"], st
    s.create(subject, payload={"text": "Operator note: Engram runs behind nginx here."})
    assert state(s)["operator_episode_count"] == 1
    again = reseed(s, {})
    assert again == {"subject_id": subject, "pack_id": "statewave-support-agent",
                     "pack_version": pack["version"], "installed_version": pack["version"],
                     "imported_episodes": 0, "imported_memories": 0, "reseeded_at": None,
                     "reason": None, "updated": False, "outcome": "already_current"}, again
    f = reseed(s, {"force": True, "reason": "  docs fix  "}, path="/admin/docs-pack/reseed")
    assert f["outcome"] == "force_reseeded" and f["reason"] == "docs fix", f
    assert f["previous_version"] == pack["version"], f
    assert f["operator_episodes_preserved"] == 1 and f["operator_memories_preserved"] == 0, f
    st = state(s)
    assert st["total_episode_count"] == pack["episode_count"] + 1, st
    assert st["owned_episode_count"] == pack["episode_count"], st
    assert st["last_reseed"]["reason"] == "docs fix", st
    texts = [e["payload"].get("text", "") for e in s.timeline(subject)["episodes"]]
    assert any("nginx" in t for t in texts), "the operator's episode was deleted"


@test("33.7 support subject: an older installed version is auto_updated and its rows "
      "replaced; legacy metadata.pack rows are owned too", env=SUPPORT2)
def _(s):
    subject = SUPPORT2["STATEWAVE_SUPPORT_SUBJECT_ID"]
    pack = packs(s)["statewave-support-agent"]
    s.create(subject, metadata={"pack": "statewave-support-docs"})
    payload = {"format": "statewave-memory-payload", "format_version": 1,
               "subjects": [{"original_subject_id": subject}],
               "episodes": [{"subject_id": subject, "source": "docs", "type": "doc_section",
                             "payload": {"text": "old docs"},
                             "metadata": {"starter_pack_id": "statewave-support-agent",
                                          "starter_pack_version": "0.0.1"}}],
               "memories": []}
    r = s.post("/admin/memory/import", {"payload": payload, "conflict_strategy": "merge"})
    assert r.status == 200, r
    st = state(s)
    assert st["installed_version"] == "0.0.1" and st["is_up_to_date"] is False, st
    assert st["owned_episode_count"] == 2 and st["operator_episode_count"] == 0, st
    b = reseed(s, {"reason": "upgrade"})
    assert b["outcome"] == "auto_updated" and b["previous_version"] == "0.0.1", b
    st = state(s)
    assert st["total_episode_count"] == pack["episode_count"], st
    texts = [e["payload"].get("text", "") for e in s.timeline(subject)["episodes"]]
    assert "old docs" not in texts and "hello" not in texts, "owned rows were kept"


@test("33.8 reseed: bad input is a 422 and changes nothing", env=SUPPORT)
def _(s):
    url = "/admin/memory/support/reseed"
    before = state(s)
    check_422(s.post(url, {"reason": "x" * 201}), ("body", "reason"))
    check_422(s.post(url, {"reason": 5}), ("body", "reason"))
    check_422(s.post(url, {"force": "maybe"}), ("body", "force"))
    check_422(s.post(url, [True]))
    check_422(s.post("/admin/docs-pack/reseed", b"{", headers={"Content-Type": "application/json"}))
    assert state(s) == before
    ok = s.post(url, {"reason": "y" * 200})
    assert ok.status == 200, ok


@test("33.9 the support docs pack is Engram's documentation: README sections are searchable "
      "memories citing their episode", env=SUPPORT2)
def _(s):
    subject = SUPPORT2["STATEWAVE_SUPPORT_SUBJECT_ID"]
    reseed(s, {"force": True})
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert "## Configuration" in readme
    r = s.get("/v1/memories/search", query={"subject_id": subject, "q": "Configuration",
                                             "limit": 50})
    assert r.status == 200, r
    hits = [m for m in r.body["memories"] if m["summary"].endswith("Configuration (README.md)")]
    assert hits, r.body
    eps = {e["id"]: e for e in s.timeline(subject)["episodes"]}
    src = hits[0]["source_episode_ids"]
    assert len(src) == 1, hits[0]
    if src[0] in eps:   # the timeline shows the oldest 100 episodes
        assert eps[src[0]]["payload"]["path"] == "README.md", eps[src[0]]


@test("33.10 the routes need the API key and ignore the tenant header",
      env=support_env(STATEWAVE_API_KEY="k-33"))
def _(s):
    k = {"X-API-Key": "k-33"}
    for m, path in (("GET", "/admin/memory/starter-packs"), ("GET", "/admin/memory/support/state"),
                    ("POST", "/admin/memory/support/reseed"), ("POST", "/admin/docs-pack/reseed"),
                    ("POST", "/admin/memory/starter-packs/import")):
        check_error(s.request(m, path), 401, "missing_api_key", request_id=False)
    a = s.get("/admin/memory/support/state", headers=k).body
    b = s.get("/admin/memory/support/state", headers=k, tenant=uid("t")).body
    assert a == b, (a, b)
    check_error(s.get("/admin/memory/starter-packs/import", headers=k), 405, "http_error")


@test("33.11 the tenant header never picks the tenant of imported or reseeded rows",
      env=SUPPORT2)
def _(s):
    subject = SUPPORT2["STATEWAVE_SUPPORT_SUBJECT_ID"]
    ta, sid = uid("ta"), uid("pack")
    r = s.post("/admin/memory/starter-packs/import",
               {"pack_id": "demo-coding-assistant", "target_subject_id": sid}, tenant=ta)
    assert r.status == 200, r
    assert rows(s, sid, tenant=ta) == ([], []), "the header became the rows' tenant"
    assert len(rows(s, sid)[0]) == r.body["imported_episodes"]
    r = s.post("/admin/memory/support/reseed", {"force": True}, tenant=ta)
    assert r.status == 200 and r.body["updated"] is True, r
    assert rows(s, subject, tenant=ta) == ([], [])
    assert len(rows(s, subject)[0]) > 0


if __name__ == "__main__":
    main()
