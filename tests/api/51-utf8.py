"""51-utf8: text that is not UTF-8 is refused at the edge (issue #14 defect 5).

The tenant header, query strings and path parameters become data (stored tenants, subject ids,
filters). Bytes that are not UTF-8 used to answer 500 on PostgreSQL (SQLSTATE 22021, on every
endpoint) and to be stored as is on SQLite, so that the server's own export of them could not
be imported. Now: 400 with the error envelope, nothing stored. Runs on both backends."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_error, episode, main, test, uid  # noqa: E402

# A stray continuation byte, an invalid lead byte, an overlong '/', a UTF-16 surrogate, a code
# point past U+10FFFF, and a sequence cut short.
BAD = [b"\x80", b"acme\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xc3"]
PCT = ["%80", "acme%FF", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "caf%C3"]


def send(s, method, target, tenant=None, body=None):
    """One request built by hand, so that raw bytes reach the header."""
    lines = [b"%s %s HTTP/1.1" % (method.encode(), target.encode()), b"Host: 127.0.0.1",
             b"Connection: close"]
    if tenant is not None:
        lines.append(b"X-Tenant-ID: " + tenant)
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(data)]
    return s.raw(b"\r\n".join(lines) + b"\r\n\r\n" + data)


@test("51.1 a tenant header that is not UTF-8 gets 400 on every kind of endpoint; nothing is "
      "stored")
def _(s):
    sid = uid()
    calls = [("POST", "/v1/episodes", episode(sid)),
             ("POST", "/v1/episodes/batch", {"episodes": [episode(sid)]}),
             ("GET", "/v1/timeline?subject_id=" + sid, None),
             ("GET", "/v1/subjects", None),
             ("GET", "/v1/memories/search?subject_id=%s&q=x" % sid, None),
             ("POST", "/v1/context", {"subject_id": sid, "task": "x"}),
             ("DELETE", "/v1/subjects/" + sid, None),
             ("GET", "/admin/export/" + sid, None)]
    problems = []
    for bad in BAD:
        for method, target, body in calls:
            r = send(s, method, target, tenant=bad, body=body)
            try:
                check_error(r, 400, "http_error", "X-Tenant-ID header is not valid UTF-8")
            except AssertionError as e:
                problems.append("%s %s with tenant %r: %s" % (method, target, bad, e))
    assert not problems, "%d problems, e.g. %s" % (len(problems), "; ".join(problems[:3]))
    # Nothing was written, under any tenant.
    r = s.get("/admin/export/" + sid)
    assert r.status == 404, r


@test("51.2 a query string that is not UTF-8 (name or value) gets 400")
def _(s):
    sid = uid()
    s.create(sid)
    problems = []
    for pct in PCT:
        for target in ["/v1/timeline?subject_id=" + pct,
                       "/v1/memories/search?subject_id=%s&q=%s" % (sid, pct),
                       "/v1/subjects?limit=5&%s=1" % pct,
                       "/admin/export/%s?tenant_id=%s" % (sid, pct),
                       "/admin/jobs?subject_id=" + pct]:
            r = s.get(target)
            try:
                check_error(r, 400, "http_error", "Query string is not valid UTF-8")
            except AssertionError as e:
                problems.append("GET %s: %s" % (target, e))
    assert not problems, "%d problems, e.g. %s" % (len(problems), "; ".join(problems[:3]))


@test("51.3 a path that is not UTF-8 gets 400 (known route or not); nothing is deleted or "
      "stored")
def _(s):
    sid = uid()
    s.create(sid)
    problems = []
    for pct in PCT:
        for method, target in [("DELETE", "/v1/subjects/" + pct),
                               ("GET", "/admin/export/" + pct),
                               ("GET", "/v1/memories/compile/" + pct),
                               ("GET", "/admin/webhooks/" + pct),
                               ("GET", "/no/such/route/" + pct)]:
            r = s.request(method, target)
            try:
                check_error(r, 400, "http_error", "Path is not valid UTF-8")
            except AssertionError as e:
                problems.append("%s %s: %s" % (method, target, e))
    assert not problems, "%d problems, e.g. %s" % (len(problems), "; ".join(problems[:3]))
    assert s.episode_count(sid) == 1


@test("51.4 valid non-ASCII tenants and query values work end to end: stored, listed, "
      "exported, and the export imports again")
def _(s):
    # HTTP headers travel as bytes; http.client sends str headers as Latin-1, so the UTF-8
    # bytes go in as bytes.
    sid, tenant = uid(), "Zürich-✓-𝄞"
    hdr = {"X-Tenant-ID": tenant.encode("utf-8")}
    r = s.post("/v1/episodes", episode(sid), headers=hdr)
    assert r.status == 201, r
    r = s.get("/v1/timeline", query={"subject_id": sid}, headers=hdr)
    assert r.status == 200 and len(r.body["episodes"]) == 1, r
    r = s.get("/admin/export/" + sid, query={"tenant_id": tenant})
    assert r.status == 200 and r.body["counts"] == {"episodes": 1, "memories": 0}, r
    doc = r.body
    target = uid()
    r = s.post("/admin/import", {"document": doc, "target_subject_id": target,
                                 "preserve_ids": False})
    assert r.status == 200, r
    assert r.body["tenant_id"] == tenant and r.body["episodes_imported"] == 1, r
    r = s.get("/v1/timeline", query={"subject_id": target}, headers=hdr)
    assert r.status == 200 and len(r.body["episodes"]) == 1, r


if __name__ == "__main__":
    main()
