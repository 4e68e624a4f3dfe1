"""93-ui: the admin web UI at /ui/ (Engram's extension, issue 20).

Checked here, over HTTP: /ui redirects to /ui/; every UI path answers the one page, with the
strict Content-Security-Policy and no inline script, also when an API key is configured (the
page holds no data and never the key); the bundled files and their types; 404 envelopes for
unknown UI paths and files. In headless Chromium (Debian's chromium driven by puppeteer-core,
tests/openapi/ui-check.mjs): the operator's walk (list → a seeded subject → a compiled memory
and its source episode → a context query → the search playground → a snapshot restored into a
new subject), the API key flow (the 401 shown, then the list), the tenant selector, a
phone-sized viewport, the dark scheme and keyboard navigation — each failing on any console
error, failed request, unexpected HTTP error or CSP violation."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, check_error, main, test, uid  # noqa: E402

TOOLS = os.path.join(ROOT, "tests", "openapi")
SNAP_ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
KEY = "ui-secret-key-93"
KEYED = {"STATEWAVE_API_KEY": KEY}
PAGES = ["/ui/", "/ui/subjects", "/ui/subjects/anyone", "/ui/subjects/a%3Ab%2Fc", "/ui/context",
         "/ui/search", "/ui/operations"]


def setup_tools():
    r = subprocess.run([os.path.join(TOOLS, "setup.sh")], capture_output=True, text=True)
    assert r.returncode == 0, "tests/openapi/setup.sh failed:\n" + r.stdout + r.stderr


def browser(s, *args, timeout=240):
    setup_tools()
    r = subprocess.run(["node", os.path.join(TOOLS, "ui-check.mjs"),
                        "http://127.0.0.1:%d" % s.port] + list(args),
                       capture_output=True, text=True, timeout=timeout, cwd=TOOLS)
    assert r.returncode == 0, "ui-check.mjs %s found problems:\n%s%s" % (
        args[0], r.stdout, r.stderr[-3000:])
    assert r.stdout.startswith("ok:"), r.stdout
    return r.stdout


def seed(s, subject, tenant=None, headers=None):
    """Episodes the heuristic compiler turns into facts, compiled."""
    for text in ("My name is Alice Moreau.", "I work at Globex Corporation.",
                 "I prefer dark roast coffee and short answers."):
        r = s.post("/v1/episodes", {"subject_id": subject, "source": "user", "type": "message",
                                    "payload": {"text": text}, "session_id": "sess-1"},
                   tenant=tenant, headers=headers)
        assert r.status == 201, r
    r = s.post("/v1/memories/compile", {"subject_id": subject}, tenant=tenant, headers=headers)
    assert r.status == 200 and r.body["memories_created"] > 0, r


def check_page(r):
    assert r.status == 200, r
    assert r.headers.get("content-type") == "text/html; charset=utf-8", r.headers
    csp = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp, csp
    html = r.raw.decode("utf-8")
    assert '<script type="module" src="/ui/assets/app.js"></script>' in html, html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script in the page"
    assert ' style="' not in html and "<style" not in html, "inline style in the page"
    return html


@test("93.1 /ui redirects to /ui/, and every UI path answers the page under a strict CSP")
def _(s):
    r = s.get("/ui")
    assert r.status == 308 and r.headers.get("location") == "/ui/", r
    first = None
    for path in PAGES:
        html = check_page(s.get(path))
        first = first or html
        assert html == first, path


@test("93.2 the bundled script and styles are served with their types; unknown files and "
      "paths are 404 envelopes")
def _(s):
    r = s.get("/ui/assets/app.js")
    assert r.status == 200 and r.headers["content-type"].startswith("text/javascript"), r
    js = r.raw.decode("utf-8")
    assert len(js) > 20000 and "/admin/subjects" in js and "X-API-Key" in js, len(js)
    # The page calls only the public HTTP API: every path literal in the bundle is one of its routes.
    for p in set(re.findall(r'"(/(?:v1|admin|ops)/[^"?]*)', js)):
        assert re.match(r"^/(v1|admin)/", p), p
    r = s.get("/ui/assets/app.css")
    assert r.status == 200 and r.headers["content-type"].startswith("text/css"), r
    assert re.search(rb"prefers-color-scheme: ?dark", r.raw), "no dark scheme in the styles"
    r = s.get("/ui/assets/LICENSES.txt")
    assert r.status == 200 and b"preact" in r.raw and b"uplot" in r.raw, r
    for path in ("/ui/assets/nope.js", "/ui/assets/../openapi.json", "/ui/nope",
                 "/ui/subjects/a/b"):
        check_error(s.get(path), 404, "http_error", "Not Found")
    r = s.post("/ui/subjects")
    assert r.status == 405, r


@test("93.3 with an API key the page and its files still load, the page never holds the key, "
      "and data calls need it", env=KEYED)
def _(s):
    for path in PAGES + ["/ui/assets/app.js", "/ui/assets/app.css"]:
        r = s.get(path)
        assert r.status == 200, (path, r)
        assert KEY.encode() not in r.raw, path
    check_error(s.get("/admin/subjects"), 401, "missing_api_key", request_id=False)


@test("93.4 in a browser: subject list → subject → memory and its source episode → context → "
      "search → snapshot restored into a new subject", env=SNAP_ON)
def _(s):
    subject, target, snap = uid("ui-alice"), uid("ui-restored"), uid("ui-snap")
    seed(s, subject)
    r = s.post("/admin/snapshots", {"name": snap, "source_subject_id": subject})
    assert r.status == 200 and r.body["status"] == "created", r
    browser(s, "walk", subject, snap, target)
    r = s.get("/v1/timeline", query={"subject_id": target})
    assert r.status == 200 and r.body["memories"], r


@test("93.5 in a browser with an API key: the 401 is shown, then the typed key loads the list",
      env=KEYED)
def _(s):
    subject = uid("ui-keyed")
    seed(s, subject, headers={"X-API-Key": KEY})
    browser(s, "key", KEY, subject)


@test("93.6 in a browser: the tenant typed in the UI scopes the subject list")
def _(s):
    mine, other, tenant = uid("ui-t-mine"), uid("ui-t-other"), uid("tenant")
    seed(s, mine, tenant=tenant)
    seed(s, other, tenant=uid("tenant"))
    browser(s, "tenant", tenant, mine, other)


@test("93.7 in a browser: phone-sized pages, the dark scheme and keyboard navigation; "
      "snapshots off is said, not failed")
def _(s):
    subject = uid("ui-layout")
    seed(s, subject)
    browser(s, "layout", subject)


if __name__ == "__main__":
    main()
