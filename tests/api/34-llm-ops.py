"""34-llm-ops: POST /v1/llm/complete (spec/api.md §5.1) against a fake OpenAI-compatible
provider run by this file.

The model always comes from STATEWAVE_LITELLM_MODEL (a `model` in the body is ignored); the
three errors are 503 llm_not_configured, 504 upstream_llm_timeout and 502 upstream_llm_error,
and the provider's own text never reaches the caller."""

import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, main, test  # noqa: E402

SECRET = "provider-secret internal-config https://10.0.0.7/v1"
SEEN = []   # request bodies the fake received


class FakeChat(http.server.BaseHTTPRequestHandler):
    """The last message's content picks the behaviour: "fail" → 500 with SECRET, "slow" →
    answers after 3 s, "garbage" → 200 with a non-JSON body, "empty" → 200 without choices;
    anything else → 200 "echo: <content>"."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        SEEN.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        last = body["messages"][-1]["content"]
        status, out = 200, None
        if last == "fail":
            status, out = 500, json.dumps({"error": {"message": SECRET}})
        elif last == "slow":
            time.sleep(3)
        elif last == "garbage":
            out = "<html>%s</html>" % SECRET
        elif last == "empty":
            out = json.dumps({"error": SECRET})
        if out is None:
            out = json.dumps({"id": "c1", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant",
                                                                   "content": "echo: " + last}}]})
        data = out.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args):
        pass


FAKE = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
FAKE.daemon_threads = True
threading.Thread(target=FAKE.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d/v1" % FAKE.server_address[1]
LLM = {"STATEWAVE_LITELLM_API_BASE": BASE, "STATEWAVE_LITELLM_API_KEY": "sk-test",
       "STATEWAVE_LITELLM_MODEL": "test-model", "STATEWAVE_LITELLM_TEMPERATURE": "0.3",
       "STATEWAVE_LITELLM_TIMEOUT_SECONDS": "1", "STATEWAVE_LITELLM_MAX_RETRIES": "0"}
URL = "/v1/llm/complete"


def user(text):
    return {"messages": [{"role": "user", "content": text}]}


def no_secret(r):
    assert SECRET not in r.raw.decode("utf-8", "replace"), "provider text echoed: %r" % r
    assert "internal-config" not in r.raw.decode("utf-8", "replace"), r


@test("34.1 a completion: the reply, with the configured model, the messages, max_tokens and "
      "temperature passed on; a model in the body is ignored", env=LLM)
def _(s):
    del SEEN[:]
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "héllo"}]
    r = s.post(URL, {"messages": msgs, "max_tokens": 50, "temperature": 0.5,
                     "model": "evil/cheap-model"})
    assert r.status == 200, r
    assert r.body == {"reply": "echo: héllo"}, r
    assert len(SEEN) == 1, SEEN
    sent = SEEN[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test", sent
    assert sent["body"]["model"] == "test-model", sent
    assert sent["body"]["messages"] == msgs, sent
    assert sent["body"]["max_tokens"] == 50 and sent["body"]["temperature"] == 0.5, sent


@test("34.2 defaults: the configured temperature, no max_tokens; lenient numbers accepted",
      env=LLM)
def _(s):
    del SEEN[:]
    r = s.post(URL, user("hi"))
    assert r.status == 200 and r.body == {"reply": "echo: hi"}, r
    assert SEEN[0]["body"]["temperature"] == 0.3, SEEN
    assert "max_tokens" not in SEEN[0]["body"], SEEN
    r = s.post(URL, dict(user("x"), max_tokens="16", temperature="0"))
    assert r.status == 200, r
    assert SEEN[1]["body"]["max_tokens"] == 16 and SEEN[1]["body"]["temperature"] == 0, SEEN
    for role in ("system", "assistant", "tool"):
        r = s.post(URL, {"messages": [{"role": role, "content": "a"}, {"role": "user",
                                                                         "content": "b"}]})
        assert r.status == 200, (role, r)


@test("34.3 a provider failure is 502 upstream_llm_error; its text is never echoed", env=LLM)
def _(s):
    for text in ("fail", "garbage", "empty"):
        r = s.post(URL, user(text))
        check_error(r, 502, "upstream_llm_error", "Upstream LLM call failed.")
        no_secret(r)


@test("34.4 a provider slower than STATEWAVE_LITELLM_TIMEOUT_SECONDS is 504 "
      "upstream_llm_timeout", env=LLM)
def _(s):
    t0 = time.monotonic()
    r = s.post(URL, user("slow"))
    check_error(r, 504, "upstream_llm_timeout", "LLM call timed out after 1 seconds.")
    no_secret(r)
    assert time.monotonic() - t0 < 2.9, "the timeout did not cut the call short"


@test("34.5 an unreachable provider is 502",
      env=dict(LLM, STATEWAVE_LITELLM_API_BASE="http://127.0.0.1:1/v1"))
def _(s):
    r = s.post(URL, user("hi"))
    check_error(r, 502, "upstream_llm_error", "Upstream LLM call failed.")
    assert "127.0.0.1:1" not in r.raw.decode(), r


@test("34.6 an empty STATEWAVE_LITELLM_MODEL is 503 llm_not_configured, before any call",
      env=dict(LLM, STATEWAVE_LITELLM_MODEL=""))
def _(s):
    del SEEN[:]
    r = s.post(URL, user("hi"))
    check_error(r, 503, "llm_not_configured", "LLM provider is not configured.")
    assert SEEN == [], SEEN
    check_422(s.post(URL, {"messages": []}), ("body", "messages"))


@test("34.7 validation: messages 1-50, roles, content length, max_tokens 1-4096, "
      "temperature 0-2", env=LLM)
def _(s):
    del SEEN[:]
    assert check_422(s.post(URL, {"messages": []}), ("body", "messages"))["type"] == "too_short"
    many = {"messages": [{"role": "user", "content": str(i)} for i in range(51)]}
    assert check_422(s.post(URL, many), ("body", "messages"))["type"] == "too_long"
    assert s.post(URL, {"messages": many["messages"][:50]}).status == 200
    check_422(s.post(URL, {}), ("body", "messages"))
    check_422(s.post(URL, {"messages": "hi"}), ("body", "messages"))
    check_422(s.post(URL, {"messages": ["hi"]}), ("body", "messages", 0))
    item = check_422(s.post(URL, {"messages": [{"role": "robot", "content": "hi"}]}),
                     ("body", "messages", 0, "role"))
    assert item["type"] == "string_pattern_mismatch", item
    check_422(s.post(URL, {"messages": [{"content": "hi"}]}), ("body", "messages", 0, "role"))
    check_422(s.post(URL, {"messages": [{"role": "user"}]}), ("body", "messages", 0, "content"))
    check_422(s.post(URL, {"messages": [{"role": "user", "content": 5}]}),
              ("body", "messages", 0, "content"))
    long_ok = {"messages": [{"role": "user", "content": "é" * 16000}]}
    assert s.post(URL, long_ok).status == 200
    too_long = {"messages": [{"role": "user", "content": "é" * 16001}]}
    check_422(s.post(URL, too_long), ("body", "messages", 0, "content"))
    for bad in (0, 4097, "many", 1.5):
        check_422(s.post(URL, dict(user("x"), max_tokens=bad)), ("body", "max_tokens"))
    for bad in (-0.1, 2.01, "hot", [1]):
        check_422(s.post(URL, dict(user("x"), temperature=bad)), ("body", "temperature"))
    check_422(s.post(URL, b"{", headers={"Content-Type": "application/json"}))
    check_422(s.post(URL, [user("x")]))
    assert s.post(URL, dict(user("x"), temperature=2, max_tokens=4096)).status == 200
    assert all(b["body"]["messages"][-1]["content"] != "robot" for b in SEEN)


@test("34.8 the route needs the API key; GET is 405",
      env=dict(LLM, STATEWAVE_API_KEY="k-34"))
def _(s):
    check_error(s.post(URL, user("hi")), 401, "missing_api_key", request_id=False)
    r = s.post(URL, user("hi"), headers={"X-API-Key": "k-34"})
    assert r.status == 200, r
    check_error(s.get(URL, headers={"X-API-Key": "k-34"}), 405, "http_error",
                "Method Not Allowed")


if __name__ == "__main__":
    main()
