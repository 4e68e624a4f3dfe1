"""16-ingest-sessions: a session's first episodes, sent at once, count the session once
(issue 22).

subject_stats.session_count counts the distinct sessions of a pair. On PostgreSQL the ingest
writes it itself (schema step 21, episodes_counted): an inserted session is new when every episode of the pair
in it is one of the transaction's, counted after the pair's row lock by a statement of its
own, so that of two transactions writing the first episodes of one session at once exactly
one counts it. Here 16 threads send, at the same moment, the first episodes of the same fresh
session (several times over, each round a new session, in a tenant and in none), alone (group
commit off) and in shared transactions (group commit on); after each round session_count,
episode_count and last_episode_at must equal a count of the episodes. Runs on both backends."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import episode, main, test, uid  # noqa: E402
import pgctl  # noqa: E402


def stats(s, subject, tenant):
    rows = pgctl.query(s.database_url,
                       "SELECT episode_count, session_count FROM subject_stats WHERE subject_id"
                       " = '%s' AND COALESCE(tenant_id, '') = '%s'" % (subject, tenant or ""))
    return tuple(int(v) for v in rows[0]) if rows else None


def truth(s, subject, tenant):
    rows = pgctl.query(s.database_url,
                       "SELECT count(*), count(DISTINCT session_id) FROM episodes WHERE"
                       " subject_id = '%s' AND COALESCE(tenant_id, '') = '%s'"
                       % (subject, tenant or ""))
    return tuple(int(v) for v in rows[0])


def at_once(s, subject, tenant, session, n):
    """n threads post one episode each of (subject, session), released together."""
    start = threading.Barrier(n)
    codes = [None] * n

    def go(i):
        start.wait()
        r = s.post("/v1/episodes", episode(subject, session_id=session, payload={"i": i}),
                   tenant=tenant)
        codes[i] = r.status

    ts = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "a client thread hangs"
    assert codes == [201] * n, codes


def rounds(s):
    for tenant in (None, uid("t16")):
        subject = uid("ses16")
        for k in range(12):
            at_once(s, subject, tenant, "first-%d" % k, 16)
            want = truth(s, subject, tenant)
            assert want == (16 * (k + 1), k + 1), want
            got = stats(s, subject, tenant)
            assert got == want, "round %d, tenant %r: subject_stats says %r, the episodes %r" % (
                k, tenant, got, want)
        rows = pgctl.query(s.database_url,
                           "SELECT count(*) FROM subject_stats WHERE subject_id = '%s' AND"
                           " last_episode_at = (SELECT max(created_at) FROM episodes WHERE"
                           " subject_id = '%s')" % (subject, subject))
        assert rows[0][0] == "1", "last_episode_at is not the newest episode's time"


@test("16.1 alone (group commit off): 16 first episodes of one new session at once count "
      "it once, round after round",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "off"})
def _(s):
    rounds(s)


@test("16.2 shared transactions (group commit on): the same",
      env={"STATEWAVE_INGEST_GROUP_COMMIT": "on"})
def _(s):
    rounds(s)


if __name__ == "__main__":
    main()
