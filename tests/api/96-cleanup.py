"""96-cleanup: POST /admin/cleanup, `engram cleanup` and the background loop
(spec/backup-snapshots.md §7; spec/api.md §6.10, §6.12).

Engram's fixes checked here: the prefix is literal (`live_` does not match `lives-x` or
`liveX`), an empty prefix is refused, selection is per (tenant, subject) and can be limited to
one tenant, subjects with memories only age by their newest memory update, snapshot data is
never touched, dry runs delete nothing, and the background loop deletes only while
STATEWAVE_ENABLE_SNAPSHOTS is on. Old data is built by importing hand-built documents."""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_422, check_error, engram_bin, main, test, uid  # noqa: E402

ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true"}
LOOP_ON = {"STATEWAVE_ENABLE_SNAPSHOTS": "true", "STATEWAVE_CLEANUP_INTERVAL_SECONDS": "1",
           "STATEWAVE_CLEANUP_MAX_AGE_HOURS": "0"}
LOOP_OFF = {"STATEWAVE_ENABLE_SNAPSHOTS": "false", "STATEWAVE_CLEANUP_INTERVAL_SECONDS": "1",
            "STATEWAVE_CLEANUP_MAX_AGE_HOURS": "0"}
CLEANUP = "/admin/cleanup"
HOUR = 3600 * 1000000
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# -- helpers -----------------------------------------------------------------------------------

def now_us():
    return int(time.time() * 1000000)


def iso(us):
    return (EPOCH + datetime.timedelta(microseconds=us)).isoformat()


def tag():
    """A fresh prefix stem: letters and digits only, so `<tag>_` is a LIKE pattern too."""
    return "cl" + uuid.uuid4().hex[:12]


def cleanup(s, expect=200, **query):
    r = s.post(CLEANUP, query={k: str(v) for k, v in query.items()})
    assert r.status == expect, r
    return r.body


def import_doc(s, subject, episodes, memories, tenant=None):
    text = json.dumps({"episodes": episodes, "memories": memories}, sort_keys=True)
    doc = {"format_version": "1.0", "exported_at": iso(now_us()), "subject_id": subject,
           "tenant_id": tenant, "counts": {"episodes": len(episodes), "memories": len(memories)},
           "episodes": episodes, "memories": memories,
           "checksum": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    r = s.post("/admin/import", {"document": doc})
    assert r.status == 200, r


def old_episode(subject, age_hours, tenant=None):
    t = now_us() - int(age_hours * HOUR)
    return {"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": tenant,
            "source": "chat", "type": "message", "payload": {"text": "old"}, "metadata": {},
            "provenance": {}, "created_at": iso(t), "last_compiled_at": None}


def old_memory(subject, age_hours, tenant=None):
    t = now_us() - int(age_hours * HOUR)
    return {"id": str(uuid.uuid4()), "subject_id": subject, "tenant_id": tenant,
            "kind": "profile_fact", "content": "Likes tea", "summary": "", "confidence": 1.0,
            "valid_from": iso(t), "valid_to": None, "source_episode_ids": [], "metadata": {},
            "status": "active", "embedding": None, "created_at": iso(t), "updated_at": iso(t)}


def aged(s, subject, hours, tenant=None, memories=0):
    """A subject whose only episode is `hours` old (and `memories` memories as old)."""
    import_doc(s, subject, [old_episode(subject, hours, tenant)],
               [old_memory(subject, hours, tenant) for _ in range(memories)], tenant)


def has_data(s, subject, tenant=None):
    tl = s.timeline(subject, tenant)
    return bool(tl["episodes"] or tl["memories"])


def cli(s, *args):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = s.database_url
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=s.workdir, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


# -- 96.1 selection ----------------------------------------------------------------------------

@test("96.1.1 the prefix is literal: `<t>_` does not match `<t>s-x` or `<t>X`", env=ON)
def _(s):
    t = tag()
    match, like1, like2 = t + "_a", t + "s-x", t + "X"
    for sub in (match, like1, like2):
        s.create(sub)
    time.sleep(0.01)
    out = cleanup(s, prefix=t + "_", max_age_hours=0)
    assert out == {"subjects_cleaned": 1}, out
    assert not has_data(s, match)
    assert has_data(s, like1) and has_data(s, like2)
    # `%` is literal too.
    pct, other = t + "%z", t + "qz"
    s.create(pct)
    s.create(other)
    time.sleep(0.01)
    assert cleanup(s, prefix=t + "%", max_age_hours=0) == {"subjects_cleaned": 1}
    assert not has_data(s, pct) and has_data(s, other)


@test("96.1.2 the default prefix live_ is literal; default age 24 h keeps fresh subjects",
      env=ON)
def _(s):
    u = uuid.uuid4().hex[:10]
    fresh, stale, lives, livex = "live_" + u, "live_old_" + u, "lives-x" + u, "liveX" + u
    s.create(fresh)
    aged(s, stale, 30)
    aged(s, lives, 30)
    aged(s, livex, 30)
    out = cleanup(s)                                 # prefix live_, 24 hours
    assert out["subjects_cleaned"] >= 1, out
    assert list(out.keys()) == ["subjects_cleaned"], out
    assert has_data(s, fresh) and not has_data(s, stale)
    assert has_data(s, lives) and has_data(s, livex)


@test("96.1.3 max_age_hours: only pairs whose newest episode is older than the cutoff", env=ON)
def _(s):
    t = tag()
    aged(s, t + "_48h", 48, memories=2)
    aged(s, t + "_20h", 20)
    s.create(t + "_now")
    # A subject with an old episode and a new one is as young as the new one.
    aged(s, t + "_mixed", 100)
    s.create(t + "_mixed")
    # A subject whose episodes are old but whose memory was updated recently: episodes rule.
    import_doc(s, t + "_oldep", [old_episode(t + "_oldep", 50)], [old_memory(t + "_oldep", 1)])
    out = cleanup(s, prefix=t + "_", max_age_hours=24)
    assert out == {"subjects_cleaned": 2}, out
    assert not has_data(s, t + "_48h") and not has_data(s, t + "_oldep")
    assert has_data(s, t + "_20h") and has_data(s, t + "_now") and has_data(s, t + "_mixed")
    assert cleanup(s, prefix=t + "_", max_age_hours=19) == {"subjects_cleaned": 1}
    assert not has_data(s, t + "_20h")
    time.sleep(0.01)
    assert cleanup(s, prefix=t + "_", max_age_hours=0) == {"subjects_cleaned": 2}
    assert not has_data(s, t + "_now") and not has_data(s, t + "_mixed")


@test("96.1.4 memory-only subjects age by their newest memory updated_at", env=ON)
def _(s):
    t = tag()
    import_doc(s, t + "_memold", [], [old_memory(t + "_memold", 30), old_memory(t + "_memold",
                                                                               40)])
    import_doc(s, t + "_memnew", [], [old_memory(t + "_memnew", 30), old_memory(t + "_memnew",
                                                                               2)])
    out = cleanup(s, prefix=t + "_", max_age_hours=24)
    assert out == {"subjects_cleaned": 1}, out
    assert not has_data(s, t + "_memold") and has_data(s, t + "_memnew")


@test("96.1.5 per (tenant, subject) pairs; tenant_id restricts the cleanup", env=ON)
def _(s):
    t = tag()
    sub, ta, tb = t + "_shared", uid("ta"), uid("tb")
    for tenant in (ta, tb, None):
        aged(s, sub, 30, tenant=tenant)
    out = cleanup(s, prefix=t + "_", max_age_hours=24, tenant_id=ta)
    assert out == {"subjects_cleaned": 1}, out
    assert not has_data(s, sub, ta) and has_data(s, sub, tb) and has_data(s, sub)
    out = cleanup(s, prefix=t + "_", max_age_hours=24, tenant_id=uid("tc"))
    assert out == {"subjects_cleaned": 0}, out
    out = cleanup(s, prefix=t + "_", max_age_hours=24)
    assert out == {"subjects_cleaned": 2}, out                # pairs, not subject ids
    assert not has_data(s, sub, tb) and not has_data(s, sub)


@test("96.1.6 snapshot data is never touched, even by prefix=_snapshot/ and age 0", env=ON)
def _(s):
    src = uid("src")
    s.create(src, payload={"text": "My name is Ada Byron."})
    nm = "cl-" + uuid.uuid4().hex[:12]
    r = s.post("/admin/snapshots", {"name": nm, "source_subject_id": src})
    assert r.status == 200 and r.body["status"] == "created", r
    time.sleep(0.01)
    for prefix in ["_snapshot/", "_snapshot/" + nm]:
        out = cleanup(s, prefix=prefix, max_age_hours=0)
        assert out == {"subjects_cleaned": 0}, (prefix, out)
        out = cleanup(s, prefix=prefix, max_age_hours=0, dry_run="true")
        assert out == {"subjects_cleaned": 0, "dry_run": True, "subjects": []}, (prefix, out)
    # Wider prefixes may match other tests' subjects in a shared database: look, never delete.
    for prefix in ["_snap", "_"]:
        out = cleanup(s, prefix=prefix, max_age_hours=0, dry_run="true")
        assert not [x for x in out["subjects"] if x["subject_id"].startswith("_snapshot/")], out
    r = cli(s, "cleanup", "--prefix", "_snapshot/", "--max-age-hours", "0")
    assert r.returncode == 0 and json.loads(r.stdout) == {"subjects_cleaned": 0}, r
    target = uid("tgt")
    r = s.post("/admin/snapshots/restore-by-name", {"name": nm, "target_subject_id": target})
    assert r.status == 200 and r.body["episodes_restored"] == 1, r


@test("96.1.7 dry_run lists the pairs and deletes nothing", env=ON)
def _(s):
    t = tag()
    ta = uid("ta")
    aged(s, t + "_b", 30)
    aged(s, t + "_a", 30, tenant=ta)
    aged(s, t + "_a", 30)
    s.create(t + "_fresh")
    out = cleanup(s, prefix=t + "_", max_age_hours=24, dry_run="true")
    assert list(out.keys()) == ["subjects_cleaned", "dry_run", "subjects"], out
    assert out["subjects_cleaned"] == 3 and out["dry_run"] is True, out
    got = sorted((x["subject_id"], x["tenant_id"] or "") for x in out["subjects"])
    assert got == sorted([(t + "_a", ta), (t + "_a", ""), (t + "_b", "")]), out
    for x in out["subjects"]:
        assert list(x.keys()) == ["subject_id", "tenant_id"], x
    assert has_data(s, t + "_a") and has_data(s, t + "_a", ta) and has_data(s, t + "_b")
    for v in ["1", "yes", "on"]:
        assert cleanup(s, prefix=t + "_", max_age_hours=24, dry_run=v)["subjects_cleaned"] == 3
    assert cleanup(s, prefix=t + "_", max_age_hours=24, dry_run="false") == \
        {"subjects_cleaned": 3}
    assert not has_data(s, t + "_a") and has_data(s, t + "_fresh")


@test("96.1.8 errors: empty prefix 400; max_age_hours and dry_run validated (422)", env=ON)
def _(s):
    r = s.post(CLEANUP, query={"prefix": ""})
    check_error(r, 400, "http_error", "prefix must not be empty")
    for bad in ["-1", "abc", "1.5", ""]:
        r = s.post(CLEANUP, query={"prefix": tag() + "_", "max_age_hours": bad})
        check_422(r, ["query", "max_age_hours"])
    r = s.post(CLEANUP, query={"prefix": tag() + "_", "dry_run": "maybe"})
    check_422(r, ["query", "dry_run"])
    for ok in ["2.0", "0", "5", "100000000000"]:
        assert cleanup(s, prefix=tag() + "_", max_age_hours=ok) == {"subjects_cleaned": 0}
    # A body is ignored.
    r = s.post(CLEANUP + "?prefix=" + tag() + "_", b"{not json")
    assert r.status == 200 and r.body == {"subjects_cleaned": 0}, r


@test("96.1.9 the CLI: defaults, --tenant, --dry-run, usage errors", env=ON)
def _(s):
    t = tag()
    ta = uid("ta")
    aged(s, t + "_x", 30, tenant=ta)
    aged(s, t + "_y", 30)
    r = cli(s, "cleanup", "--prefix", t + "_", "--dry-run")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["subjects_cleaned"] == 2 and out["dry_run"] is True, out
    r = cli(s, "cleanup", "--prefix", t + "_", "--tenant", ta)
    assert r.returncode == 0 and json.loads(r.stdout) == {"subjects_cleaned": 1}, r
    assert not has_data(s, t + "_x", ta) and has_data(s, t + "_y")
    r = cli(s, "cleanup", "--prefix", t + "_", "--max-age-hours", "48")
    assert r.returncode == 0 and json.loads(r.stdout) == {"subjects_cleaned": 0}, r
    r = cli(s, "cleanup", "--prefix", t + "_", "--max-age-hours", "0")
    assert r.returncode == 0 and json.loads(r.stdout) == {"subjects_cleaned": 1}, r
    r = cli(s, "cleanup", "--prefix", "")
    assert r.returncode == 1 and "prefix must not be empty" in r.stderr, r
    for bad in [["--max-age-hours", "-1"], ["--max-age-hours", "x"], ["--bogus"], ["--prefix"]]:
        r = cli(s, "cleanup", *bad)
        assert r.returncode == 2, (bad, r)
    r = cli(s, "cleanup", "--help")
    assert r.returncode == 0 and "usage: engram cleanup" in r.stdout, r


# -- 96.2 the background loop ------------------------------------------------------------------

def wait_gone(s, subject, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not has_data(s, subject):
            return True
        time.sleep(0.2)
    return False


@test("96.2.1 loop on: stale live_ subjects go within a few intervals; others stay",
      env=LOOP_ON)
def _(s):
    u = uuid.uuid4().hex[:10]
    doomed, kept, snap_src = "live_" + u, "keep-" + u, uid("src")
    s.create(doomed)
    s.create(kept)
    s.create(snap_src)
    r = s.post("/admin/snapshots", {"name": "loop-" + u, "source_subject_id": snap_src})
    assert r.status == 200, r
    assert wait_gone(s, doomed, 8), "live_ subject still there: " + s.log_tail(1500)
    assert has_data(s, kept) and has_data(s, snap_src)
    log = s.log_tail(200000)
    assert "cleanup pass: " in log and "subjects removed" in log, log[-2000:]
    r = s.post("/admin/snapshots/restore-by-name", {"name": "loop-" + u,
                                                    "target_subject_id": "restored-" + u})
    assert r.status == 200 and r.body["episodes_restored"] == 1, r


@test("96.2.2 loop off: with the flag off nothing is cleaned in the background",
      env=LOOP_OFF)
def _(s):
    u = uuid.uuid4().hex[:10]
    subject = "live_" + u
    s.create(subject)
    time.sleep(3.5)
    assert has_data(s, subject)
    assert "cleanup pass" not in s.log_tail(200000)
    check_error(s.post(CLEANUP), 404, "http_error", "Not found")
    s.delete("/v1/subjects/" + subject)


if __name__ == "__main__":
    main()
