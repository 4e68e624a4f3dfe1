#!/usr/bin/env python3
"""run.py - run the black-box API tests: every tests/api/[0-9][0-9]-*.py file.

    python3 tests/api/run.py                 # all files
    python3 tests/api/run.py 10 20-timeline  # only files whose names start with these

Each file gets its own servers (one per distinct configuration, see harness.py). The
database is ENGRAM_TEST_DATABASE_URL when set (shared by every server; tests use random
subject ids and tenants so they can share it), else a fresh SQLite file per server.
Prints one line per test, then exactly `N passed, N failed`; exits 1 when a test failed.
"""

import glob
import importlib.util
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def load(path):
    """Import one test file and return the tests it registered."""
    name = "engram_api_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    harness.take_registry()
    spec.loader.exec_module(mod)
    return harness.take_registry()


def main(argv):
    files = sorted(glob.glob(os.path.join(HERE, "[0-9][0-9]-*.py")))
    if argv:
        files = [f for f in files if any(os.path.basename(f).startswith(a) for a in argv)]
    workdir = tempfile.mkdtemp(prefix="engram-api-")
    results = harness.Results()
    for path in files:
        tag = os.path.splitext(os.path.basename(path))[0]
        try:
            tests = load(path)
        except Exception as e:  # noqa: BLE001 - a broken file is one failure, not an abort
            results.fail("%s load" % tag, "%s: %s" % (type(e).__name__, e))
            continue
        harness.run_tests(tests, results, workdir, tag)
    if results.failed:
        print("server logs kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    results.summary()
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
