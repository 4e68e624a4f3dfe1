#!/usr/bin/env python3
"""run_bouncer.py - run API test files through pgbouncer in pool_mode=transaction.

    python3 tests/api/run_bouncer.py POSTGRES_URL [file prefixes...]

Starts Debian's pgbouncer (tests/api/bouncer.py, a pool of 4 server connections) in front of
the server of POSTGRES_URL and runs tests/api/run.py with ENGRAM_TEST_DATABASE_URL pointing
at it (same database): every server of those files goes through the pooler. Without
prefixes, the files of DEFAULT: the core read and write paths, background work, and many
processes. Ends with run.py's `N passed, N failed`."""

import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bouncer  # noqa: E402

DEFAULT = ["10", "11", "12", "20", "21", "30", "40", "60", "81", "83", "86", "90", "95", "96"]


def main(argv):
    if not argv:
        print("usage: run_bouncer.py POSTGRES_URL [prefixes...]", file=sys.stderr)
        return 2
    u = urllib.parse.urlsplit(argv[0])
    if not bouncer.available():
        print("pgbouncer is not installed (scripts/deps.sh test)\n0 passed, 1 failed")
        return 1
    b = bouncer.Bouncer.start(u.port or 5432, pool_size=4, pg_host=u.hostname or "127.0.0.1")
    try:
        env = dict(os.environ, ENGRAM_TEST_DATABASE_URL=b.url(u.path.lstrip("/")))
        return subprocess.call([sys.executable, os.path.join(HERE, "run.py")] +
                               (argv[1:] or DEFAULT), env=env)
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
