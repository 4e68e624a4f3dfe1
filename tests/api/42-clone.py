"""42-clone: POST /admin/memory/clone (spec/api.md §7.1, backup-snapshots.md §6).

Mirrors Statewave's own tests/test_admin_clone.py over HTTP (42.1-42.4: bad source and target
ids are 400, a reserved demo_web_ target is 400, an unknown scope 422, an unknown source 404,
the response's keys), then checks what the copy holds: new ids, the stamps, remapped source
episode ids, no session ids, the target tenant, every scope, the 409 of a populated target and
the import limits. A failed clone writes nothing (the fault paths: tests/unit/
test_store_faults.c). Runs on both backends."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, check_422, check_error, episode, main, q, test, uid  # noqa: E402

RULE = ("'%s' must be 1-128 characters of letters, digits, underscore, dot, dash, or colon.")
KEYS = ["status", "source_subject_id", "target_subject_id", "target_display_name",
        "clone_scope", "episode_count", "memory_count", "source_count", "cloned_at"]
OFFSET_TS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$"


def seed(s, subject, tenant=None, texts=("My name is Ada Byron.", "I work at Initech.")):
    """Episodes in session s1 and their compiled memories."""
    for t in texts:
        r = s.post("/v1/episodes", episode(subject, payload={"text": t}, session_id="s1"),
                   tenant=tenant)
        assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": subject}, tenant=tenant)
    assert r.status == 200 and r.body["memories_created"] > 0, r


def export(s, subject):
    r = s.get("/admin/export/" + q(subject))
    assert r.status == 200, r
    return r.body


def clone(s, body, status=200, **kw):
    r = s.post("/admin/memory/clone", body, **kw)
    assert r.status == status, r
    return r.body


@test("42.1 a source id breaking the rule is 400 (test_clone_http_400_on_invalid_source_id)")
def _(s):
    for bad in ("has spaces", "", "x" * 129, "a/b"):
        r = s.post("/admin/memory/clone", {"source_subject_id": bad})
        check_error(r, 400, "http_error", RULE % "source_subject_id")


@test("42.2 an unsafe or reserved target is 400 (test_clone_http_400_on_unsafe_target_id)")
def _(s):
    src = uid("src")
    seed(s, src)
    check_error(s.post("/admin/memory/clone", {"source_subject_id": src,
                                               "target_subject_id": "has spaces"}),
                400, "http_error", RULE % "target_subject_id")
    r = s.post("/admin/memory/clone", {"source_subject_id": src,
                                       "target_subject_id": "demo_web_abc"})
    check_error(r, 400, "http_error", "'target_subject_id' uses a reserved prefix (demo_web_).")
    assert "reserved prefix" in r.body["error"]["message"]


@test("42.3 validation: unknown clone_scope, missing or mistyped fields are 422 "
      "(test_clone_http_422_on_unknown_clone_scope)")
def _(s):
    check_422(s.post("/admin/memory/clone", {"source_subject_id": "user-1",
                                             "clone_scope": "bogus"}), ("body", "clone_scope"))
    check_422(s.post("/admin/memory/clone", {}), ("body", "source_subject_id"))
    check_422(s.post("/admin/memory/clone", {"source_subject_id": 5}),
              ("body", "source_subject_id"))
    check_422(s.post("/admin/memory/clone", {"source_subject_id": "a",
                                             "target_tenant_id": 7}),
              ("body", "target_tenant_id"))
    check_422(s.post("/admin/memory/clone", [1]))


@test("42.4 a source without episodes and memories is 404 "
      "(test_clone_returns_404_when_source_subject_has_no_data)")
def _(s):
    src = "nonexistent-test-subject-" + uid()
    r = s.post("/admin/memory/clone", {"source_subject_id": src})
    check_error(r, 404, "http_error",
                "Source subject '%s' not found (no episodes or memories under that id)." % src)
    assert "not found" in r.body["error"]["message"].lower()


@test("42.5 the copy: new ids, stamps, remapped sources, no sessions, kinds and times kept")
def _(s):
    src = uid("cl")
    seed(s, src, tenant="tsrc")
    body = clone(s, {"source_subject_id": src, "target_display_name": "Fork experiment",
                     "target_tenant_id": "tdst"},
                 headers={"X-Statewave-Operator-Email": "op@example.com"})
    assert list(body) == KEYS, body
    assert body["status"] == "cloned" and body["target_subject_id"] == src + "-clone", body
    assert body["target_display_name"] == "Fork experiment", body
    assert body["clone_scope"] == "episodes_memories_sources" and body["source_count"] == 0
    assert re.match(OFFSET_TS, body["cloned_at"]), body
    old, new = export(s, src), export(s, src + "-clone")
    # embeddings are kept (compile writes them after its commit: compare those present then)
    vecs = {m["id"]: m["embedding"] for m in old["memories"]}
    assert body["episode_count"] == len(old["episodes"]) == len(new["episodes"]) == 2
    assert body["memory_count"] == len(old["memories"]) == len(new["memories"]) > 0
    stamp = {"cloned_from_subject_id": src, "cloned_at": body["cloned_at"],
             "cloned_by": "op@example.com"}
    # export orders by (created_at, id): pair each copy with its source through its stamp
    by_old = {e["metadata"]["original_episode_id"]: e for e in new["episodes"]}
    id_map = {}
    for a in old["episodes"]:
        b = by_old[a["id"]]
        assert UUID_RE.match(b["id"]) and b["id"] != a["id"], b
        id_map[a["id"]] = b["id"]
        assert b["tenant_id"] == "tdst" and b["payload"] == a["payload"], b
        assert b["created_at"] == a["created_at"], (a, b)
        assert b["metadata"] == {**a["metadata"], "original_episode_id": a["id"], **stamp,
                                 "display_name": "Fork experiment"}, b
        assert b["provenance"] == {**a["provenance"], "original_episode_id": a["id"], **stamp}
    by_old = {m["metadata"]["original_memory_id"]: m for m in new["memories"]}
    for a in old["memories"]:
        b = by_old[a["id"]]
        assert b["id"] != a["id"] and b["kind"] == a["kind"] and b["status"] == a["status"]
        assert b["content"] == a["content"] and b["created_at"] == a["created_at"], (a, b)
        assert b["embedding"] is None or b["embedding"] == vecs[a["id"]], "embedding kept"
        assert b["source_episode_ids"] == [id_map[x] for x in a["source_episode_ids"]], b
        assert b["metadata"] == {**a["metadata"], "original_memory_id": a["id"], **stamp,
                                 "display_name": "Fork experiment"}, b
    r = s.get("/admin/subjects/%s/episodes" % q(src + "-clone"))
    assert {e["session_id"] for e in r.body["episodes"]} == {None}, r
    # the source is untouched, and the copy lives in the target tenant only
    again = export(s, src)
    assert [e["id"] for e in again["episodes"]] == [e["id"] for e in old["episodes"]], again
    assert [m["id"] for m in again["memories"]] == [m["id"] for m in old["memories"]], again
    assert s.timeline(src + "-clone", tenant="tdst")["episodes"] != []
    assert s.timeline(src + "-clone")["episodes"] == []


@test("42.6 an explicit target with data is 409 and nothing is written; the default target "
      "is derived when <source>-clone has data")
def _(s):
    src, dst = uid("cf"), uid("dst")
    seed(s, src)
    seed(s, dst, texts=("I use Vim.",))
    before = export(s, dst)
    n_eps, n_mems = len(before["episodes"]), len(before["memories"])
    r = s.post("/admin/memory/clone", {"source_subject_id": src, "target_subject_id": dst})
    check_error(r, 409, "http_error",
                "Subject '%s' already has data (%d episodes, %d memories). Pick a different "
                "target id, choose 'merge', or delete the existing subject first."
                % (dst, n_eps, n_mems))
    assert len(export(s, dst)["episodes"]) == n_eps
    first = clone(s, {"source_subject_id": src})
    second = clone(s, {"source_subject_id": src})
    assert first["target_subject_id"] == src + "-clone", first
    assert re.match(r"^%s-clone-[0-9a-f]{8}$" % re.escape(src),
                    second["target_subject_id"]), second
    # an explicit free target is taken as given; "" is no target
    body = clone(s, {"source_subject_id": src, "target_subject_id": dst + "-x"})
    assert body["target_subject_id"] == dst + "-x", body
    body = clone(s, {"source_subject_id": src, "target_subject_id": ""})
    assert body["target_subject_id"].startswith(src + "-clone-"), body


@test("42.7 every scope copies what it names; memories alone keep their source ids")
def _(s):
    src = uid("sc")
    seed(s, src)
    old = export(s, src)
    for scope, eps, mems in [("episodes", 2, 0), ("memories", 0, len(old["memories"])),
                             ("episodes_and_memories", 2, len(old["memories"])),
                             ("episodes_memories_sources", 2, len(old["memories"]))]:
        body = clone(s, {"source_subject_id": src, "target_subject_id": uid(scope[:3]),
                         "clone_scope": scope})
        assert body["clone_scope"] == scope, body
        assert (body["episode_count"], body["memory_count"]) == (eps, mems), (scope, body)
        if scope == "memories":
            new = export(s, body["target_subject_id"])
            got = {m["metadata"]["original_memory_id"]: m["source_episode_ids"]
                   for m in new["memories"]}
            assert got == {m["id"]: m["source_episode_ids"] for m in old["memories"]}, new


@test("42.8 the source is read in every tenant; a demo_web_ source is allowed and its default "
      "target leaves the reserved namespace; the tenant header is ignored")
def _(s):
    src = uid("mt")
    seed(s, src, tenant="ta", texts=("I live in Oslo.",))
    seed(s, src, tenant="tb", texts=("I live in Rome.",))
    body = clone(s, {"source_subject_id": src, "target_subject_id": uid("all")},
                 tenant="tx")
    assert body["episode_count"] == 2, body
    assert len(export(s, body["target_subject_id"])["episodes"]) == 2
    demo = "demo_web_" + uid("v")
    seed(s, demo)
    body = clone(s, {"source_subject_id": demo})
    assert re.match(r"^imported-%s-clone-[0-9a-f]{8}$" % re.escape(demo[len("demo_web_"):]),
                    body["target_subject_id"]), body


@test("42.9 the import's per-subject limits apply to what the scope copies (413)",
      env={"STATEWAVE_MEMORY_IMPORT_MAX_EPISODES": "1"})
def _(s):
    src = uid("lim")
    seed(s, src)
    r = s.post("/admin/memory/clone", {"source_subject_id": src})
    check_error(r, 413, "http_error", "Too many episodes: 2 > limit 1.")
    assert s.get("/admin/subjects/" + q(src + "-clone")).status == 404
    body = clone(s, {"source_subject_id": src, "clone_scope": "memories"})
    assert body["episode_count"] == 0 and body["memory_count"] > 0, body


if __name__ == "__main__":
    main()
