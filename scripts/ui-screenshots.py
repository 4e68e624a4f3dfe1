#!/usr/bin/env python3
"""ui-screenshots.py - write screenshots of the admin web UI's main pages to docs/img/ (the
README shows them): starts bin/engram on a scratch SQLite file with snapshots on, records a
small realistic subject, compiles it, takes a snapshot, and has headless Chromium
(tests/openapi/ui-check.mjs screenshots) open the pages at 1280 px.

    scripts/ui-screenshots.py [DIR]        (default docs/img; `make screenshots` runs it)
"""

import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

from harness import Server  # noqa: E402

SUBJECT = "user-ada"
EPISODES = [
    ("s-1", "user", "message", "Hi, I'm Ada Lovelace. I work at Analytical Engines Ltd."),
    ("s-1", "assistant", "message", "Welcome Ada! How can I help today?"),
    ("s-1", "user", "message", "I prefer concise answers and metric units."),
    ("s-2", "user", "message", "My deploys to production fail with a timeout since yesterday."),
    ("s-2", "assistant", "tool_call", "Checked the deploy logs: the health check times out after 30 s."),
    ("s-2", "user", "message", "I moved to the London office last month."),
]


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "img"))
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        s = Server(env={"STATEWAVE_ENABLE_SNAPSHOTS": "true"}, workdir=work, name="screenshots")
        s.start()
        try:
            for session, source, typ, text in EPISODES:
                r = s.post("/v1/episodes", {"subject_id": SUBJECT, "source": source, "type": typ,
                                            "session_id": session, "payload": {"text": text}})
                assert r.status == 201, r
            r = s.post("/v1/memories/compile", {"subject_id": SUBJECT})
            assert r.status == 200, r
            r = s.post("/admin/snapshots", {"name": "ada-baseline", "source_subject_id": SUBJECT})
            assert r.status == 200, r
            subprocess.run([os.path.join(ROOT, "tests", "openapi", "setup.sh")], check=True)
            r = subprocess.run(["node", os.path.join(ROOT, "tests", "openapi", "ui-check.mjs"),
                                "http://127.0.0.1:%d" % s.port, "screenshots", out, SUBJECT],
                               capture_output=True, text=True, timeout=240)
            print(r.stdout, end="")
            if r.returncode != 0:
                print(r.stderr[-3000:], file=sys.stderr)
                return 1
        finally:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
