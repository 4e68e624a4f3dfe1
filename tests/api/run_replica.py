#!/usr/bin/env python3
"""run_replica.py - run API test files with a read replica configured.

    python3 tests/api/run_replica.py [file prefixes...]

Starts a primary and an asynchronous streaming standby (tests/ha/hactl.py) and runs
tests/api/run.py on the primary with, for every server, STATEWAVE_DATABASE_REPLICA_URLS
naming the standby, and with the test client session-consistent (ENGRAM_TEST_READ_AFTER=1:
each request sends X-Engram-Read-After with the newest X-Engram-LSN the client has seen), so
the read endpoints are served by the replica whenever it has caught up, and the suite's
read-your-writes expectations hold. Rows a test writes behind the API's back (pgctl.run_sql)
wait until the standby has replayed them (ENGRAM_TEST_REPLICA_URL). Without prefixes, the read-heavy files of DEFAULT. Ends
with run.py's `N passed, N failed`."""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ha"))

import hactl  # noqa: E402

MIN_SERVED = 20
DEFAULT = ["10", "20", "21", "30", "82", "83", "84", "85", "89", "90", "92"]


def main(argv):
    pair = hactl.Pair.start(sync=False)
    try:
        env = dict(os.environ, ENGRAM_TEST_DATABASE_URL=pair.primary.url,
                   ENGRAM_TEST_READ_AFTER="1", ENGRAM_TEST_REPLICA_URL=pair.standby.url,
                   ENGRAM_TEST_SERVER_ENV=json.dumps(
                       {"STATEWAVE_DATABASE_REPLICA_URLS": pair.standby.url}))
        env.pop("ENGRAM_TEST_PG_CLUSTER", None)
        before = served(pair)
        proc = subprocess.run([sys.executable, os.path.join(HERE, "run.py")] +
                              (argv or DEFAULT), env=env, stdout=subprocess.PIPE, text=True)
        lines = proc.stdout.splitlines()
        summary = re.match(r"^(\d+) passed, (\d+) failed$", lines[-1] if lines else "")
        print("\n".join(lines[:-1]))
        passed, failed = (int(summary[1]), int(summary[2])) if summary else (0, 1)
        # The mode must have been used: reads served by the replica (its own transactions).
        time.sleep(1.5)   # backends flush their statistics at most once a second
        n = served(pair) - before
        if n >= MIN_SERVED:
            passed += 1
            print("ok replica: the standby ran %d table scans for reads" % n)
        else:
            failed += 1
            print("FAIL replica: the standby ran %d table scans for reads, want >= %d"
                  % (n, MIN_SERVED))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed or proc.returncode else 0
    finally:
        pair.close()


def served(pair):
    """Table scans the standby ran for its own clients (hot standby statistics): only
    Engram's reads touch its tables there (the health check reads no table)."""
    return int(pair.standby.sql("SELECT COALESCE(sum(COALESCE(seq_scan, 0) +"
                                " COALESCE(idx_scan, 0)), 0) FROM pg_stat_user_tables")[0][0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
