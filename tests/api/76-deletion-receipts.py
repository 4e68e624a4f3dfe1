"""76-deletion-receipts: provable deletion (Engram extension, spec/api.md §11, README "Provable
deletion"): DELETE /v1/subjects/{id} adds deletion_receipt; GET /v1/deletions/{id} returns it
with `verified`.

The digest is recomputed here from the ids the API handed out (SHA-256 over the sorted ids,
one per line). A receipt verifies after the delete, and stops verifying when a deleted row is
written back behind the API's back (SQLite through Python's sqlite3, PostgreSQL through psql);
it is tenant-scoped; bad ids answer the error envelope."""

import hashlib
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import UUID_RE, ZTS_RE, check_422, check_error, main, q, test, uid  # noqa: E402
import pgctl  # noqa: E402

RECEIPT_KEYS = ["id", "subject_id", "tenant_id", "deleted_at", "episodes_deleted",
                "memories_deleted", "resolutions_deleted", "digest_algorithm", "digest"]
EMPTY = hashlib.sha256(b"").hexdigest()


def digest(ids):
    return hashlib.sha256("".join(i + "\n" for i in sorted(ids)).encode()).hexdigest()


def delete(s, sid, tenant=None):
    r = s.delete("/v1/subjects/" + q(sid), tenant=tenant)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["subject_id", "episodes_deleted", "memories_deleted",
                                   "deletion_receipt"], r
    rc = r.body["deletion_receipt"]
    assert list(rc.keys()) == RECEIPT_KEYS, rc
    assert UUID_RE.match(rc["id"]) and ZTS_RE.match(rc["deleted_at"]), rc
    assert rc["digest_algorithm"] == "sha256", rc
    assert (rc["subject_id"], rc["tenant_id"]) == (sid, tenant), rc
    assert rc["episodes_deleted"] == r.body["episodes_deleted"], r
    assert rc["memories_deleted"] == r.body["memories_deleted"], r
    return rc


def receipt(s, rid, tenant=None):
    r = s.get("/v1/deletions/" + rid, tenant=tenant)
    assert r.status == 200, r
    assert list(r.body.keys()) == RECEIPT_KEYS + ["verified", "rows_remaining"], r
    return r.body


def lit(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def stored_ts(z):
    """An API timestamp in the stored fixed-width form (6 fraction digits, Z)."""
    base, _, frac = z.rstrip("Z").partition(".")
    return "%s.%sZ" % (base, (frac + "000000")[:6])


@test("76.1 a delete's receipt: counts, the digest of every deleted id, and it verifies")
def _(s):
    t, sid = uid("t"), uid()
    eps = [s.create(sid, tenant=t, payload={"text": "I live in Paris."}) for _ in range(2)]
    r = s.post("/v1/memories/compile", {"subject_id": sid}, tenant=t)
    assert r.status == 200, r
    mems = r.body["memories"]
    res = s.post("/v1/resolutions", {"subject_id": sid, "session_id": "s1"}, tenant=t)
    assert res.status == 200, res
    ids = [e["id"] for e in eps] + [m["id"] for m in mems] + [res.body["id"]]
    rc = delete(s, sid, tenant=t)
    assert rc["episodes_deleted"] == 2 and rc["memories_deleted"] == len(mems) >= 2, rc
    assert rc["resolutions_deleted"] == 1, rc
    assert rc["digest"] == digest(ids), (rc, ids)
    got = receipt(s, rc["id"], tenant=t)
    assert got["verified"] is True, got
    assert got["rows_remaining"] == {"episodes": 0, "memories": 0, "resolutions": 0}, got
    assert {k: got[k] for k in RECEIPT_KEYS} == rc, (got, rc)
    # new rows of the subject after the delete are not the receipt's business
    s.create(sid, tenant=t)
    assert receipt(s, rc["id"], tenant=t)["verified"] is True


@test("76.2 a deleted row written back behind the API's back: the receipt stops verifying")
def _(s):
    sid = uid()
    ep = s.create(sid)
    rc = delete(s, sid)
    assert rc["digest"] == digest([ep["id"]]), rc
    assert receipt(s, rc["id"])["verified"] is True
    pgctl.run_sql(s.database_url,
                  "INSERT INTO episodes (id, subject_id, tenant_id, source, type, payload,"
                  " metadata, provenance, created_at) VALUES (%s, %s, NULL, %s, %s, '{}', '{}',"
                  " '{}', %s)" % (lit(ep["id"]), lit(sid), lit(ep["source"]), lit(ep["type"]),
                                  lit(stored_ts(ep["created_at"]))))
    got = receipt(s, rc["id"])
    assert got["verified"] is False, got
    assert got["rows_remaining"] == {"episodes": 1, "memories": 0, "resolutions": 0}, got
    # deleting it again through the API: the first receipt holds again, and the second one
    # names exactly that row
    again = delete(s, sid)
    assert again["digest"] == digest([ep["id"]]) and again["id"] != rc["id"], again
    assert receipt(s, rc["id"])["verified"] is True


@test("76.3 receipts are tenant-scoped: another tenant, or none, gets 404")
def _(s):
    ta, tb, sid = uid("t"), uid("t"), uid()
    s.create(sid, tenant=ta)
    rc = delete(s, sid, tenant=ta)
    for tenant in (tb, None):
        check_error(s.get("/v1/deletions/" + rc["id"], tenant=tenant), 404, "http_error",
                    "Deletion receipt not found")
    assert receipt(s, rc["id"], tenant=ta)["verified"] is True
    # the no-tenant space's receipts are its own too
    s.create(sid)
    rc0 = delete(s, sid)
    assert rc0["tenant_id"] is None and rc0["episodes_deleted"] == 1, rc0
    check_error(s.get("/v1/deletions/" + rc0["id"], tenant=ta), 404, "http_error")
    # a delete under B did not touch A's rows, and its receipt says so
    s.create(sid, tenant=ta)
    rb = delete(s, sid, tenant=tb)
    assert rb["episodes_deleted"] == 0 and rb["digest"] == EMPTY, rb
    assert receipt(s, rb["id"], tenant=tb)["verified"] is True


@test("76.4 deleting nothing still gives a receipt: zero counts, the digest of no ids")
def _(s):
    rc = delete(s, uid("ghost"))
    assert (rc["episodes_deleted"], rc["memories_deleted"], rc["resolutions_deleted"]) == \
        (0, 0, 0), rc
    assert rc["digest"] == EMPTY, rc
    assert receipt(s, rc["id"])["verified"] is True
    # every delete is its own receipt
    assert delete(s, rc["subject_id"])["id"] != rc["id"]


@test("76.5 bad receipt ids: 422 for a malformed one, 404 for an unknown one")
def _(s):
    check_422(s.get("/v1/deletions/not-a-uuid"), ["path", "receipt_id"])
    check_error(s.get("/v1/deletions/" + str(uuid.uuid4())), 404, "http_error",
                "Deletion receipt not found")
    check_error(s.delete("/v1/deletions/" + str(uuid.uuid4())), 405, "http_error")


@test("76.6 with an API key, reading a receipt needs it like every /v1 route",
      env={"STATEWAVE_API_KEY": "k-76"})
def _(s):
    r = s.delete("/v1/subjects/" + uid(), headers={"X-API-Key": "k-76"})
    assert r.status == 200, r
    rid = r.body["deletion_receipt"]["id"]
    check_error(s.get("/v1/deletions/" + rid), 401, "missing_api_key", request_id=False)
    r = s.get("/v1/deletions/" + rid, headers={"X-API-Key": "k-76"})
    assert r.status == 200 and r.body["verified"] is True, r


@test("76.7 the admin deletes: one receipt per (tenant, subject) pair, each verifiable in its "
      "tenant")
def _(s):
    sid, ta = uid("adm"), uid("t")
    e0 = s.create(sid)
    e1 = s.create(sid, tenant=ta)
    r = s.delete("/admin/subjects/" + q(sid))
    assert r.status == 200 and r.body["episodes_deleted"] == 2, r
    got = {rc["tenant_id"]: rc for rc in r.body["deletion_receipts"]}
    assert set(got) == {None, ta}, r
    for tenant, ep in ((None, e0), (ta, e1)):
        rc = got[tenant]
        assert list(rc.keys()) == RECEIPT_KEYS and rc["subject_id"] == sid, rc
        assert rc["episodes_deleted"] == 1 and rc["digest"] == digest([ep["id"]]), rc
        assert receipt(s, rc["id"], tenant=tenant)["verified"] is True
    # nothing left: 404, and no receipt written for it
    check_error(s.delete("/admin/subjects/" + q(sid)), 404, "http_error")
    # the bulk delete: one receipt per deleted pair
    p = uid("bulk") + "-"
    ids = {p + x: s.create(p + x)["id"] for x in "ab"}
    r = s.post("/admin/subjects/bulk-delete", {"subject_id_prefix": p, "confirm": True,
                                               "expected_count": 2})
    assert r.status == 200 and r.body["deleted_subjects"] == 2, r
    rcs = sorted(r.body["deletion_receipts"], key=lambda rc: rc["subject_id"])
    assert [rc["subject_id"] for rc in rcs] == sorted(ids), r
    for rc in rcs:
        assert rc["digest"] == digest([ids[rc["subject_id"]]]), rc
        assert receipt(s, rc["id"])["verified"] is True


if __name__ == "__main__":
    main()
