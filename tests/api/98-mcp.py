"""98-mcp: Engram's built-in MCP server (spec/api.md §11.1), black-box.

98.1-98.14 drive it with the official MCP TypeScript SDK client (tests/mcp/client.mjs, the SDK
installed into tests/mcp by scripts/mcp-sdk.sh) over both transports: stdio (`bin/engram mcp`
on the server's database) and Streamable HTTP (POST /mcp on the test server, with an API key).
Without node or the SDK (npm unreachable) every SDK test FAILS with that reason: never skipped
in silence. 98.20- speak the protocol by hand: the HTTP transport's rules and the stdio loop's
limits."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, engram_bin, main, test, uid  # noqa: E402

KEY = "mcp-test-key"
ENV = {"STATEWAVE_API_KEY": KEY}
MCP_DIR = os.path.join(ROOT, "tests", "mcp")
SDK_TIMEOUT = 120
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}

_sdk = {}


def sdk_problem():
    """None when node and the SDK are ready; else why not (after trying to install once)."""
    if "problem" not in _sdk:
        _sdk["problem"] = None
        if not os.path.exists(os.path.join(MCP_DIR, "node_modules", "@modelcontextprotocol",
                                           "sdk", "package.json")):
            r = subprocess.run([os.path.join(ROOT, "scripts", "mcp-sdk.sh")],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                said = [ln for ln in r.stderr.splitlines() if ln.strip()][:4]
                _sdk["problem"] = ("MCP SDK not installed (npm unreachable?): "
                                   "scripts/mcp-sdk.sh said: " + " | ".join(said)[:600])
        if _sdk["problem"] is None and subprocess.run(["node", "--version"],
                                                      capture_output=True).returncode != 0:
            _sdk["problem"] = "node is not installed"
    return _sdk["problem"]


def run_client(s, transport, check, env=None):
    """Run one check of client.mjs; returns its stdout lines, asserting it ended with ok."""
    problem = sdk_problem()
    assert problem is None, problem
    e = dict(os.environ)
    e = {k: v for k, v in e.items() if not k.upper().startswith("STATEWAVE_")}
    e.update({"ENGRAM_BIN": engram_bin(), "STATEWAVE_DATABASE_URL": s.database_url,
              "ENGRAM_MCP_URL": "http://127.0.0.1:%d/mcp" % s.port, "ENGRAM_MCP_KEY": KEY})
    e.update(env or {})
    r = subprocess.run(["node", "client.mjs", transport, check], cwd=MCP_DIR, env=e,
                       capture_output=True, text=True, timeout=SDK_TIMEOUT)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines and lines[-1] == "ok", \
        "client.mjs %s %s (exit %d): %s %s" % (transport, check, r.returncode,
                                               r.stdout.strip()[-1500:], r.stderr.strip()[-800:])
    return lines


def sdk_test(tid, transport, check):
    @test(tid, env=ENV)
    def _(s):
        run_client(s, transport, check)


for i, check in enumerate(["initialize", "list_tools", "round_trip", "timeline", "bad_argument"]):
    sdk_test("98.%d SDK over stdio: %s" % (i + 1, check.replace("_", " ")), "stdio", check)
    sdk_test("98.%d SDK over HTTP: %s" % (i + 6, check.replace("_", " ")), "http", check)
sdk_test("98.11 SDK over HTTP: a wrong API key is refused", "http", "auth")


def episodes_in(s, subject, tenant):
    r = s.get("/v1/timeline", query={"subject_id": subject}, tenant=tenant,
              headers={"X-API-Key": KEY})
    assert r.status == 200, r
    return [e["id"] for e in r.body["episodes"]]


@test("98.12 SDK over stdio: tool calls land in STATEWAVE_TENANT_ID's tenant", env=ENV)
def _(s):
    subject, tn = uid("sub"), uid("tn")
    lines = run_client(s, "stdio", "tenant",
                       {"STATEWAVE_TENANT_ID": tn, "ENGRAM_MCP_SUBJECT": subject})
    made = [ln.split()[1] for ln in lines if ln.startswith("id ")]
    assert episodes_in(s, subject, tn) == made, (made, lines)
    assert episodes_in(s, subject, None) == []


@test("98.13 SDK over HTTP: tool calls land in the X-Tenant-ID header's tenant", env=ENV)
def _(s):
    subject, tn = uid("sub"), uid("tn")
    lines = run_client(s, "http", "tenant", {"ENGRAM_MCP_TENANT": tn,
                                              "ENGRAM_MCP_SUBJECT": subject})
    made = [ln.split()[1] for ln in lines if ln.startswith("id ")]
    assert episodes_in(s, subject, tn) == made, (made, lines)
    assert episodes_in(s, subject, uid("other")) == []


@test("98.14 SDK over stdio: an episode ingested over MCP is an ordinary /v1 episode", env=ENV)
def _(s):
    subject = uid("sub")
    run_client(s, "stdio", "tenant", {"ENGRAM_MCP_SUBJECT": subject})
    r = s.get("/v1/timeline", query={"subject_id": subject}, headers={"X-API-Key": KEY})
    [ep] = r.body["episodes"]
    assert ep["type"] == "note" and ep["source"] == "chat", ep
    assert ep["payload"] == {"text": "tenant check", "source_id": "m-1"}, ep
    assert ep["occurred_at"] == "2026-01-01T00:00:00Z", ep
    assert set(ep["metadata"]) == {"idempotency_key"}, ep


# ---- the Streamable HTTP transport's rules, by hand ----

def mcp_post(s, body, headers=None):
    h = {"X-API-Key": KEY, "Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    return s.post("/mcp", body if isinstance(body, bytes) else json.dumps(body).encode(),
                  headers=dict(h, **{"Content-Type": "application/json"}))


@test("98.20 POST /mcp needs the API key like /v1; GET and DELETE /mcp are 405", env=ENV)
def _(s):
    r = s.post("/mcp", INIT)
    assert r.status == 401 and r.body["error"]["code"] == "missing_api_key", r
    r = s.post("/mcp", INIT, headers={"X-API-Key": "nope"})
    assert r.status == 403, r
    for method in ("GET", "DELETE"):
        r = s.request(method, "/mcp", headers={"X-API-Key": KEY,
                                                 "Accept": "text/event-stream"})
        assert r.status == 405, (method, r)


@test("98.21 JSON reply; one SSE event when Accept names only the stream; 406 for neither",
      env=ENV)
def _(s):
    r = mcp_post(s, INIT)
    assert r.status == 200 and r.headers["content-type"] == "application/json", r
    assert r.body["result"]["protocolVersion"] == "2025-06-18", r
    assert r.body["result"]["serverInfo"]["name"] == "engram", r
    assert "mcp-session-id" not in r.headers, r.headers
    r = mcp_post(s, {"jsonrpc": "2.0", "id": "p", "method": "ping"},
                 {"Accept": "text/event-stream"})
    assert r.status == 200 and r.headers["content-type"] == "text/event-stream", r
    assert r.raw == b'event: message\ndata: {"jsonrpc":"2.0","id":"p","result":{}}\n\n', r.raw
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"Accept": "text/html"})
    assert r.status == 406 and r.body["error"]["code"] == -32600, r


@test("98.22 notifications and responses get 202 without a body; a batch gets a batch",
      env=ENV)
def _(s):
    r = mcp_post(s, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert r.status == 202 and r.raw == b"", r
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 9, "result": {}})
    assert r.status == 202, r
    r = mcp_post(s, [{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     {"jsonrpc": "2.0", "method": "notifications/initialized"},
                     {"jsonrpc": "2.0", "id": 2, "method": "nope"}])
    assert r.status == 200, r
    assert r.body == [{"jsonrpc": "2.0", "id": 1, "result": {}},
                      {"jsonrpc": "2.0", "id": 2,
                       "error": {"code": -32601, "message": "Method not found"}}], r


@test("98.23 protocol errors: -32700 (HTTP 400), -32600, -32601, -32602; versions echoed",
      env=ENV)
def _(s):
    r = mcp_post(s, b'{"jsonrpc":"2.0","id":1,"method":')
    assert r.status == 400 and r.body == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32700, "message": "Parse error"}}, r
    r = mcp_post(s, b"")
    assert r.status == 400 and r.body["error"]["code"] == -32700, r
    for bad in (5, "x", {"jsonrpc": "2.0", "id": 3}, {"jsonrpc": "1.0", "id": 3, "method": "ping"},
                {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}, []):
        r = mcp_post(s, bad)
        assert r.status == 200 and r.body["error"]["code"] == -32600, (bad, r)
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 4, "method": "resources/list"})
    assert r.body["error"]["code"] == -32601, r
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": [1]})
    assert r.body["error"]["code"] == -32602, r
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {}})
    assert r.body["error"]["code"] == -32602, r
    for asked, got in (("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"),
                       ("2025-06-18", "2025-06-18"), ("2099-01-01", "2025-06-18")):
        body = dict(INIT, params=dict(INIT["params"], protocolVersion=asked))
        assert mcp_post(s, body).body["result"]["protocolVersion"] == got, asked
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"MCP-Protocol-Version": "2001-01-01"})
    assert r.status == 400 and r.body["error"]["code"] == -32600, r
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"MCP-Protocol-Version": "2025-03-26"})
    assert r.status == 200, r


@test("98.24 tool errors over HTTP: -32000 with {name, message, code, hint, retryable}",
      env=ENV)
def _(s):
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "statewave_compile_subject", "arguments": {"subject": "", "force": "yes"}}})
    e = r.body["error"]
    assert r.status == 200 and e["code"] == -32000, r
    assert list(e["data"]) == ["name", "message", "code", "hint", "retryable"], e
    assert e["data"]["name"] == "ConnectorError" and e["data"]["code"] == "config_invalid", e
    assert e["message"] == e["data"]["message"], e


@test("98.25 a tool reads the tenant header: one tenant's subjects are not another's", env=ENV)
def _(s):
    subject, tn = uid("sub"), uid("tn")
    s.post("/v1/episodes", {"subject_id": subject, "source": "x", "type": "y", "payload": {}},
           tenant=tn, headers={"X-API-Key": KEY})

    def listed(tenant):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "statewave_list_subjects", "arguments": {"limit": 200}}}
        h = {"X-Tenant-ID": tenant} if tenant else {}
        r = mcp_post(s, body, h)
        out = json.loads(r.body["result"]["content"][0]["text"])
        return [x["subject_id"] for x in out["subjects"]]
    assert subject in listed(tn)
    assert subject not in listed(uid("tn"))


@test("98.26 a browser Origin outside STATEWAVE_CORS_ORIGINS is 403 (DNS rebinding guard)",
      env={"STATEWAVE_API_KEY": KEY, "STATEWAVE_CORS_ORIGINS": '["https://ok.example"]'})
def _(s):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    r = mcp_post(s, ping, {"Origin": "https://evil.example"})
    assert r.status == 403 and r.body["error"]["code"] == -32600, r
    assert mcp_post(s, ping, {"Origin": "https://ok.example"}).status == 200
    assert mcp_post(s, ping).status == 200   # no Origin: not a browser


@test("98.28 no Mcp-Session-Id is issued; one a client sends anyway is ignored", env=ENV)
def _(s):
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"Mcp-Session-Id": "made-up-session"})
    assert r.status == 200 and r.body == {"jsonrpc": "2.0", "id": 1, "result": {}}, r
    assert "mcp-session-id" not in r.headers, r.headers


@test("98.29 STATEWAVE_REQUIRE_TENANT applies to /mcp as to /v1",
      env={"STATEWAVE_API_KEY": KEY, "STATEWAVE_REQUIRE_TENANT": "true"})
def _(s):
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status == 400 and r.body["error"]["code"] == "missing_tenant", r
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"X-Tenant-ID": "t"})
    assert r.status == 200, r


@test("98.27 with the default origins (*) any Origin may call", env=ENV)
def _(s):
    r = mcp_post(s, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"Origin": "https://anything.example"})
    assert r.status == 200, r


# ---- the stdio loop, by hand ----

def stdio(s, data, env=None, timeout=30):
    e = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    e.update({"STATEWAVE_DATABASE_URL": s.database_url})
    e.update(env or {})
    r = subprocess.run([engram_bin(), "mcp"], input=data, env=e, capture_output=True,
                       timeout=timeout, cwd=s.workdir)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


@test("98.30 stdio: one reply line per request; garbage, blank lines and CRLF survive")
def _(s):
    data = (b'{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n\n'
            b'not json\n'
            b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
            b'\x00\xff\n'
            b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
            b'{"jsonrpc":"2.0","id":3,"method":"ping"}')   # no final newline
    out = stdio(s, data)
    assert [m.get("id") for m in out] == [1, None, None, 2, 3], out
    assert out[1]["error"]["code"] == -32700 and out[2]["error"]["code"] == -32700, out
    assert len(out[3]["result"]["tools"]) == 7


@test("98.31 stdio: a line over STATEWAVE_MAX_BODY_BYTES gets one error; the next still works")
def _(s):
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 300000 + b'"}}\n'
    out = stdio(s, big + b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n',
                {"STATEWAVE_MAX_BODY_BYTES": "65536"})
    assert len(out) == 2, out
    assert out[0]["error"]["code"] == -32600 and "65536" in out[0]["error"]["message"], out
    assert out[1] == {"jsonrpc": "2.0", "id": 2, "result": {}}, out


@test("98.32 engram mcp --help, and a usage error for stray arguments")
def _(s):
    r = subprocess.run([engram_bin(), "mcp", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "STATEWAVE_TENANT_ID" in r.stdout, r
    r = subprocess.run([engram_bin(), "mcp", "extra"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "usage: engram mcp" in r.stderr, r
    r = subprocess.run([engram_bin(), "--help"], capture_output=True, text=True)
    assert "  mcp " in r.stdout, r.stdout


if __name__ == "__main__":
    main()
