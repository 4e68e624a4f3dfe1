"""94-openapi: GET /openapi.json and GET /docs (spec/api.md §11 surfaces, §1.4 open paths).

The document must describe what the server really does: every route of src/api/routes.c,
every field the validators of src/api read, the limits they enforce (a value one past a
documented bound is a 422 at that field; an example body is never a 422), the configured tenant
header. It must validate as OpenAPI 3.1 (@seriousme/openapi-schema-validator, from npm, see
tests/openapi), and /docs must render it in headless Chromium with no console message and no
Content-Security-Policy violation.
"""

import copy
import glob
import os
import re
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, main, test  # noqa: E402

TOOLS = os.path.join(ROOT, "tests", "openapi")
SNAP = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
KEYED = {"STATEWAVE_API_KEY": "k-97", "STATEWAVE_TENANT_HEADER": "X-Org",
         "STATEWAVE_REQUIRE_TENANT": "true"}
METHODS = ("get", "post", "put", "patch", "delete")


def document(s):
    r = s.get("/openapi.json")
    assert r.status == 200, r
    assert r.headers.get("content-type") == "application/json", r.headers
    assert isinstance(r.body, dict), r
    return r.body


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def served_routes():
    """(method, pattern, name, handler) of every entry of src/api/routes.c."""
    text = open(os.path.join(ROOT, "src", "api", "routes.c")).read()
    return [(m, p, name, fn) for m, p, fn, name in
            re.findall(r'\{\s*"(\w+)",\s*"([^"]+)",\s*(\w+),\s*"([^"]+)"\s*\}', text)]


def setup_tools():
    r = subprocess.run([os.path.join(TOOLS, "setup.sh")], capture_output=True, text=True)
    assert r.returncode == 0, "tests/openapi/setup.sh failed:\n" + r.stdout + r.stderr


def node(script, arg, timeout=180):
    setup_tools()
    r = subprocess.run(["node", os.path.join(TOOLS, script), arg], capture_output=True,
                       text=True, timeout=timeout, cwd=TOOLS)
    assert r.returncode == 0, "%s found problems:\n%s%s" % (script, r.stdout, r.stderr[-3000:])
    return r.stdout


def fill_path(path, op):
    """The path with each {param} replaced by a value its validator accepts."""
    for p in op.get("parameters", []):
        if p.get("in") == "path":
            fmt = p.get("schema", {}).get("format")
            value = str(uuid.uuid4()) if fmt == "uuid" else "user-97"
            path = path.replace("{%s}" % p["name"], value)
    return path


def required_query(op):
    """Values for the operation's required query parameters."""
    out = {}
    for p in op.get("parameters", []):
        if p.get("in") == "query" and p.get("required"):
            out[p["name"]] = "user-97"
    return out


def call(s, method, path, op, body=None, query=None, headers=None):
    q = required_query(op)
    q.update(query or {})
    return s.request(method.upper(), fill_path(path, op), body=body, query=q or None,
                     headers=headers)


def body_of(op):
    media = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    return media


def body_operations(doc):
    """(path, method, op, media, schema) of the operations that take a JSON body."""
    for path, method, op in operations(doc):
        media = body_of(op)
        if media:
            yield path, method, op, media, resolve(doc, media["schema"])


@test("94.1 /openapi.json is OpenAPI 3.1 JSON listing every route of routes.c, once")
def _(s):
    doc = document(s)
    assert doc["openapi"] == "3.1.0", doc.get("openapi")
    listed = {(m, p): op["operationId"] for p, m, op in operations(doc)}
    served = served_routes()
    assert served, "no route parsed from src/api/routes.c"
    missing = [(m, p) for m, p, _, _ in served if (m.lower(), p) not in listed]
    assert not missing, "served but not in /openapi.json: %r" % missing
    assert len(listed) == len(served), "document has %d operations, routes.c %d" % (
        len(listed), len(served))
    for m, p, name, _ in served:
        assert listed[(m.lower(), p)] == name, (m, p, listed[(m.lower(), p)], name)
        op = doc["paths"][p][m.lower()]
        assert op["summary"] != "Undescribed route", "%s has no description" % name


@test("94.2 the document validates with @seriousme/openapi-schema-validator; every $ref "
      "resolves and every example fits its schema")
def _(s):
    out = node("validate.mjs", "http://127.0.0.1:%d/openapi.json" % s.port)
    assert out.startswith("ok:"), out


def upstream_error(op, r):
    """A documented LLM provider error (POST /v1/llm/complete, spec/api.md §5.1): the example
    passed validation and reached the provider, which this test does not run."""
    codes = ("upstream_llm_error", "llm_not_configured", "upstream_llm_timeout")
    return str(r.status) in op.get("responses", {}) and isinstance(r.body, dict) and \
        r.body.get("error", {}).get("code") in codes


@test("94.3 every documented example body is accepted by the validators (never a 422)",
      env=SNAP)
def _(s):
    doc = document(s)
    tried = 0
    for path, method, op, media, _ in body_operations(doc):
        r = call(s, method, path, op, body=media["example"])
        assert r.status != 422 and (r.status < 500 or upstream_error(op, r)), \
            "%s %s example %r: %r" % (method, path, media["example"], r)
        tried += 1
    assert tried >= 10, tried


@test("94.4 an empty body is refused with exactly the documented required fields", env=SNAP)
def _(s):
    doc = document(s)
    for path, method, op, media, schema in body_operations(doc):
        want = sorted(schema.get("required", []))
        r = call(s, method, path, op, body={})
        if not want:
            assert r.status != 422, "%s %s: {} refused, none documented required: %r" % (
                method, path, r)
            continue
        assert r.status == 422, "%s %s: {} gave %r, want 422 for %r" % (method, path, r, want)
        got = sorted(d["loc"][1] for d in r.body["error"]["details"]
                     if d["type"] == "missing" and d["loc"][0] == "body")
        assert got == want, "%s %s: missing fields %r, documented required %r" % (
            method, path, got, want)


@test("94.5 one past a documented integer bound of a query parameter is a 422 there; the "
      "bound itself is not", env=SNAP)
def _(s):
    doc = document(s)
    checked = 0
    for path, method, op in operations(doc):
        if method not in ("get",):
            continue
        for p in op.get("parameters", []):
            sch = p.get("schema", {})
            if p.get("in") != "query" or sch.get("type") != "integer":
                continue
            for key, step in (("maximum", 1), ("minimum", -1)):
                if key not in sch:
                    continue
                bad = call(s, method, path, op, query={p["name"]: str(sch[key] + step)})
                assert bad.status == 422, "%s %s %s=%s: %r" % (
                    method, path, p["name"], sch[key] + step, bad)
                locs = [d["loc"] for d in bad.body["error"]["details"]]
                assert ["query", p["name"]] in locs, (path, p["name"], locs)
                ok = call(s, method, path, op, query={p["name"]: str(sch[key])})
                assert ok.status != 422, "%s %s %s=%s: %r" % (
                    method, path, p["name"], sch[key], ok)
                checked += 1
    assert checked >= 8, checked


@test("94.6 one past a documented length or range of a body field is a 422 at that field",
      env=SNAP)
def _(s):
    doc = document(s)
    checked = 0
    for path, method, op, media, schema in body_operations(doc):
        for name, prop in schema.get("properties", {}).items():
            prop = resolve(doc, prop)
            types = prop.get("type")
            types = types if isinstance(types, list) else [types]
            bad = []
            if "string" in types and "maxLength" in prop:
                bad.append("x" * (prop["maxLength"] + 1))
            if "integer" in types and "maximum" in prop:
                bad.append(prop["maximum"] + 1)
            if "integer" in types and "minimum" in prop:
                bad.append(prop["minimum"] - 1)
            if "array" in types and "maxItems" in prop:
                bad.append(["x"] * (prop["maxItems"] + 1))
            for value in bad:
                body = copy.deepcopy(media["example"])
                body[name] = value
                r = call(s, method, path, op, body=body)
                assert r.status == 422, "%s %s %s=%.40r: %r" % (method, path, name, value, r)
                locs = [d["loc"][:2] for d in r.body["error"]["details"]]
                assert ["body", name] in locs, (path, name, locs)
                checked += 1
    assert checked >= 10, checked


# Field names the validators of one src/api file read (literals in the calls that read a
# request: locations of 422 details, query and path getters, body member lookups).
FIELD_PATTERNS = [
    r'v_loc\(\s*(?:&?v\s*,\s*)?"(?:body|query)"\s*,\s*"(\w+)"',
    r'v_loc_item\(\s*(?:&?v\s*,\s*)?"body"\s*,\s*"(\w+)"',
    r'v_loc_item\(\s*(?:&?v\s*,\s*)?"body"\s*,\s*"\w+"\s*,[^,]+,\s*"(\w+)"',
    r'loc_of\((?:[^,()]+,\s*)?[^,()]+,\s*"(\w+)"',
    r'\b\w+\(\s*&?v\s*,\s*req\s*,\s*"(\w+)"',
    r'\b(?!req_header\b)\w+\(\s*req\s*,\s*"(\w+)"',
    r'v_path_\w+\(\s*&?v\s*,\s*req\s*,\s*\d+\s*,\s*"(\w+)"',
    r'\b\w+\(\s*&?v\s*,\s*(?:body|obj|root)\s*,\s*"(\w+)"',
    r'(?:jv|json)_object_get\(\s*(?:body|root|req->body_jv)\s*,\s*"(\w+)"',
]


def fields_read(path):
    text = open(path).read()
    found = set()
    for pat in FIELD_PATTERNS:
        found.update(re.findall(pat, text))
    return found


def documented_names(doc, op):
    names = {p["name"] for p in op.get("parameters", []) if "name" in p}
    media = body_of(op)
    todo = [media["schema"]] if media else []
    seen = 0
    while todo and seen < 200:
        seen += 1
        sch = resolve(doc, todo.pop())
        if not isinstance(sch, dict):
            continue
        for name, prop in sch.get("properties", {}).items():
            names.add(name)
            todo.append(prop)
        if isinstance(sch.get("items"), dict):
            todo.append(sch["items"])
    return names


@test("94.7 every field a handler's validators read is described on that handler's routes")
def _(s):
    doc = document(s)
    ops = {op["operationId"]: op for _, _, op in operations(doc)}
    handler_file = {}
    for path in glob.glob(os.path.join(ROOT, "src", "api", "*.c")):
        for fn in re.findall(r"^int (api_\w+)\(struct req \*req\)", open(path).read(), re.M):
            handler_file[fn] = path
    described = {}
    for _, _, name, handler in served_routes():
        f = handler_file.get(handler)
        assert f, "no definition of handler %s found in src/api" % handler
        described.setdefault(f, set()).update(documented_names(doc, ops[name]))
    problems = []
    for f, names in sorted(described.items()):
        for field in sorted(fields_read(f) - names):
            problems.append("%s reads '%s', not described" % (os.path.basename(f), field))
    assert not problems, "\n".join(problems)
    # the scan still sees what it must (a pattern that stops matching would pass silently)
    seen = fields_read(handler_file["api_memories_compile"])
    assert {"subject_id", "async", "force", "job_id"} <= seen, seen
    seen = fields_read(handler_file["api_episodes_create"])
    assert {"subject_id", "source", "type", "payload", "episodes"} <= seen, seen
    seen = fields_read(handler_file["api_admin_webhooks_list"])
    assert {"status", "event_type", "tenant_id", "limit", "offset"} <= seen, seen
    assert sum(len(fields_read(f)) for f in described) >= 55


@test("94.8 with an API key and a required tenant: the document, /docs and its files need "
      "neither; the document names the configured header", env=KEYED)
def _(s):
    doc = document(s)
    tenant = doc["components"]["parameters"]["TenantHeader"]
    assert tenant["name"] == "X-Org" and tenant["required"] is True, tenant
    assert {} not in doc["security"], doc["security"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {**schemes["ApiKeyHeader"], "type": "apiKey",
                                       "in": "header", "name": "X-API-Key"}, schemes
    assert schemes["ApiKeyQuery"]["in"] == "query" and schemes["ApiKeyQuery"]["name"] == "api_key"
    ctx = doc["paths"]["/v1/context"]["post"]
    assert {"$ref": "#/components/parameters/TenantHeader"} in ctx["parameters"], ctx
    for code in ("400", "401", "403", "422", "429", "500"):
        assert code in ctx["responses"], (code, ctx["responses"])
    for path in ("/docs", "/docs/assets/docs-init.js", "/docs/assets/swagger-ui.css"):
        r = s.get(path)
        assert r.status == 200, (path, r)
    assert s.get("/redoc").status == 308
    r = s.get("/v1/subjects", headers={"X-Org": "t"})
    assert r.status == 401, r
    env = doc["paths"]["/openapi.json"]["get"]
    assert env["security"] == [] and env.get("x-engram-extension") is True, env


@test("94.9 /docs: HTML with a strict CSP and no inline script; its files are served with "
      "their types; an unknown file is a 404 envelope; /redoc redirects to it")
def _(s):
    r = s.get("/docs")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/html"), r.headers
    csp = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "default-src 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "frame-ancestors 'none'" in csp, csp
    html = r.raw.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts), \
        scripts
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', html)), \
        "the page loads something from another origin"
    for name, ctype in (("swagger-ui-bundle.js", "text/javascript"),
                        ("docs-init.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                        ("favicon-32x32.png", "image/png")):
        a = s.get("/docs/assets/" + name)
        assert a.status == 200 and a.headers["content-type"].startswith(ctype), (name, a.status)
        assert a.headers.get("x-content-type-options") == "nosniff", a.headers
    assert len(s.get("/docs/assets/swagger-ui-bundle.js").raw) > 500000
    r = s.get("/docs/assets/../openapi.json")
    assert r.status == 404, r
    r = s.get("/docs/assets/nope.js")
    assert r.status == 404 and r.body["error"]["code"] == "http_error", r
    r = s.get("/redoc")
    assert r.status == 308 and r.headers.get("location") == "docs", r


@test("94.10 /docs renders every operation in headless Chromium with no console message, "
      "failed request or CSP violation")
def _(s):
    out = node("docs-check.mjs", "http://127.0.0.1:%d" % s.port)
    assert out.startswith("ok:"), out


if __name__ == "__main__":
    main()
