#!/usr/bin/env python3
"""99-readme.py - the README works when pasted (issue 19 part 6).

Every ```sh block of README.md, in order, runs in one bash (`set -euo pipefail`, as a reader
pasting them into one terminal), in a scratch directory laid out like a clone (bin/engram,
examples/), against a fresh server started there on the default SQLite database
(data/engram.db) with the settings the README's "Following along" command gives. Blocks
fenced ```sh norun (building, installing, servers, other hosts) are skipped; nothing else is.
The only rewrite is the port: localhost:8100 becomes the test server's port.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, Server, engram_bin, main, test  # noqa: E402

README = os.path.join(ROOT, "README.md")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SHELLS = ("sh", "bash", "shell", "console")


def blocks(text):
    """[(line number, info words, body)] of every fenced block."""
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((line, m.group(1).split(), m.group(2)))
    return out


def start_settings(text):
    """The VAR=value settings of the one `... make run` command under "Following along"."""
    found = re.findall(r"^((?:STATEWAVE_[A-Z_]+=\S+ )+)make run$", text, re.M)
    assert len(found) == 1, "want one 'STATEWAVE_...=... make run' line, found %r" % found
    return dict(a.split("=", 1) for a in shlex.split(found[0]))


def script(runnable, port):
    parts = ["set -euo pipefail\n"]
    for line, _, body in runnable:
        body = body.replace("localhost:8100", "localhost:%d" % port)
        parts.append("echo '#### README.md line %d' >&2\n%s\necho >&2\n" % (line, body))
    parts.append("echo '#### README.md: every block ran' >&2\n")
    return "".join(parts)


@test("99.1 README.md: the fences are honest (sh blocks run unless marked `norun`; norun is "
      "rare; no `curl -s` that hides connection errors)")
def _(s):
    text = open(README, encoding="utf-8").read()
    bl = blocks(text)
    shell = [b for b in bl if b[1] and b[1][0] in SHELLS]
    runnable = [b for b in shell if "norun" not in b[1]]
    assert all(b[1][0] == "sh" for b in shell), "use ```sh for shell blocks: %r" % \
        [(b[0], b[1]) for b in shell if b[1][0] != "sh"]
    assert len(runnable) >= 8, "only %d runnable blocks" % len(runnable)
    assert len(shell) - len(runnable) <= len(runnable), "more norun blocks than runnable ones"
    for line, info, body in bl:
        for word in info[1:]:
            assert word == "norun", "README.md:%d: unknown fence word %r" % (line, word)
    for line, _, body in runnable:
        for i, ln in enumerate(body.splitlines()):
            assert not re.search(r"curl\s+-s\s", ln), \
                "README.md:%d: `curl -s` hides connection errors: %s" % (line + 1 + i, ln)
            assert not re.search(r"<[a-z_-]+>|\[--", ln), \
                "README.md:%d: a placeholder cannot be pasted: %s" % (line + 1 + i, ln)


@test("99.2 README.md: every sh block runs clean, top to bottom, against a fresh server "
      "started as the README says")
def _(s):
    text = open(README, encoding="utf-8").read()
    runnable = [b for b in blocks(text) if b[1] and b[1][0] == "sh" and "norun" not in b[1]]
    work = tempfile.mkdtemp(prefix="engram-readme-", dir=s.workdir)
    os.makedirs(os.path.join(work, "bin"))
    os.symlink(os.path.abspath(engram_bin()), os.path.join(work, "bin", "engram"))
    os.symlink(os.path.join(ROOT, "examples"), os.path.join(work, "examples"))
    env = start_settings(text)
    assert env.get("STATEWAVE_ENABLE_SNAPSHOTS") == "true", env
    # The server make run starts: the default database, relative to the clone.
    server = Server(env=env, database_url="sqlite://data/engram.db", workdir=work,
                    name="readme")
    server.start()
    try:
        shell_env = {k: v for k, v in os.environ.items()
                     if not k.upper().startswith("STATEWAVE_") and k.upper() != "DATABASE_URL"}
        p = subprocess.run(["bash", "-c", script(runnable, server.port)], cwd=work,
                           env=shell_env, text=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    finally:
        rc = server.stop()
    out = p.stdout
    if p.returncode != 0:
        where = re.findall(r"^#### (README\.md line \d+)$", out, re.M)
        raise AssertionError("exit %d in the block at %s; output tail:\n%s" % (
            p.returncode, where[-1] if where else "?", out[-2500:]))
    assert out.rstrip().endswith("#### README.md: every block ran"), out[-1500:]
    assert out.count("#### README.md line ") == len(runnable)
    assert rc == 0, "server exit %s" % rc


if __name__ == "__main__":
    main()
