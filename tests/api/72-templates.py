"""72-templates: GET /v1/version (public) and the memory templates (spec/api.md §5.5): list,
get, apply with strict validation (unknown member, unknown or non-string value, missing
required value: 422; unknown template: 404), 201 with the created episode, which the
timeline and compile then see like any other."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, main, test, uid  # noqa: E402

TEMPLATE_KEYS = ["id", "version", "title", "description", "episode_type", "fields",
                 "content_template"]
OURS = ["support_ticket", "decision_record", "user_preference", "incident", "meeting_note"]
KEY = "templates-key-1"


@test("72.1 GET /v1/version: {version, api_contract}")
def _(s):
    r = s.get("/v1/version")
    assert r.status == 200 and list(r.body.keys()) == ["version", "api_contract"], r
    assert re.match(r"^\d+\.\d+\.\d+", r.body["version"]) and r.body["api_contract"] == "v1"


@test("72.2 /v1/version is public when an API key is set; templates are not",
      env={"STATEWAVE_API_KEY": KEY})
def _(s):
    assert s.get("/v1/version").status == 200
    check_error(s.get("/v1/memory-templates"), 401, "missing_api_key", request_id=False)
    assert s.get("/v1/memory-templates", headers={"X-API-Key": KEY}).status == 200


@test("72.3 list and get: our five templates, each field described")
def _(s):
    r = s.get("/v1/memory-templates")
    assert r.status == 200 and list(r.body.keys()) == ["templates"], r
    ts = r.body["templates"]
    assert [t["id"] for t in ts] == OURS, [t["id"] for t in ts]
    for t in ts:
        assert list(t.keys()) == TEMPLATE_KEYS, t
        assert t["version"] == 1 and t["title"] and t["description"] and t["episode_type"]
        assert any(f["required"] for f in t["fields"]), t
        for f in t["fields"]:
            assert list(f.keys()) == ["name", "type", "required", "description"], f
            assert f["type"] == "string" and "{%s}" % f["name"] in t["content_template"], (t, f)
        g = s.get("/v1/memory-templates/" + t["id"])
        assert g.status == 200 and g.body == t, g
    check_error(s.get("/v1/memory-templates/nope"), 404, "http_error")


@test("72.4 apply: 201 with the episode; payload and metadata name the template")
def _(s):
    sid = uid()
    r = s.post("/v1/memory-templates/user_preference/apply",
               {"subject_id": sid, "values": {"preference": "short answers", "topic": "tone"},
                "session_id": "s-9"})
    assert r.status == 201, r
    ep = r.body
    assert ep["subject_id"] == sid and ep["source"] == "template" and \
        ep["type"] == "preference" and ep["session_id"] == "s-9", ep
    assert ep["payload"] == {"template_id": "user_preference", "template_version": 1,
                             "fields": {"preference": "short answers", "topic": "tone"},
                             "content": "The user prefers short answers (topic: tone; )."}, ep
    assert ep["metadata"] == {"template": {"id": "user_preference", "version": 1}}, ep
    tl = s.get("/v1/timeline", query={"subject_id": sid}).body
    assert [e["id"] for e in tl["episodes"]] == [ep["id"]], tl


@test("72.5 apply is strict: unknown member or value, non-string value, missing required")
def _(s):
    sid = uid()
    path = "/v1/memory-templates/incident/apply"
    check_422(s.post(path, {"subject_id": sid, "values": {"title": "x", "impact": "y"},
                            "extra": 1}), ["body", "extra"])
    check_422(s.post(path, {"subject_id": sid, "values": {"title": "x", "impact": "y",
                                                          "colour": "red"}}),
              ["body", "values", "colour"])
    check_422(s.post(path, {"subject_id": sid, "values": {"title": 5, "impact": "y"}}),
              ["body", "values", "title"])
    check_422(s.post(path, {"subject_id": sid, "values": {"title": "x"}}),
              ["body", "values", "impact"])
    check_422(s.post(path, {"subject_id": sid}), ["body", "values", "title"])
    check_422(s.post(path, {"values": {"title": "x", "impact": "y"}}), ["body", "subject_id"])
    check_422(s.post(path, {"subject_id": sid, "values": ["x"]}), ["body", "values"])
    check_error(s.post("/v1/memory-templates/nope/apply", {"subject_id": sid}), 404,
                "http_error")
    assert s.get("/v1/timeline", query={"subject_id": sid}).body["episodes"] == []


@test("72.6 applied episodes are tenant-scoped and compile like any other")
def _(s):
    sid, t = uid(), uid("t")
    r = s.post("/v1/memory-templates/decision_record/apply",
               {"subject_id": sid, "values": {"decision": "We use PostgreSQL 16",
                                              "rationale": "the team knows it"}}, tenant=t)
    assert r.status == 201, r
    assert s.get("/v1/timeline", query={"subject_id": sid}).body["episodes"] == []
    c = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=t)
    assert c.status == 200 and c.body["memories_created"] >= 1, c
    assert any("PostgreSQL 16" in m["content"] for m in c.body["memories"]), c.body


if __name__ == "__main__":
    main()
