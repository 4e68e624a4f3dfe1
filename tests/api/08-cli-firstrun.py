#!/usr/bin/env python3
"""08-cli-firstrun.py - what a new operator runs into first: a mistyped backup directory, an
empty STATEWAVE_DATABASE_URL, and a database that cannot be opened must each end in one line
naming the real cause (issue 19 part 5), never "An unexpected error occurred"."""

import os
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import engram_bin, main, test  # noqa: E402


def cli(args, cwd, **env_over):
    """Run `bin/engram ARGS` with no STATEWAVE_* setting but env_over, in cwd (no .env)."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("STATEWAVE_") and k.upper() != "DATABASE_URL"}
    env.update(env_over)
    return subprocess.run([engram_bin()] + list(args), env=env, cwd=cwd, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def last_line(p):
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def scratch(s, name):
    d = os.path.join(s.workdir, "firstrun-" + name)
    os.makedirs(d, exist_ok=True)
    return d


def refused_port():
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


@test("08.1 `engram backup` into a missing directory: exit 1, one stderr line naming the "
      "directory, nothing created")
def _(s):
    d = scratch(s, "backup")
    url = "sqlite://" + os.path.join(d, "src.db")
    p = cli(["migrate"], d, STATEWAVE_DATABASE_URL=url)
    assert p.returncode == 0, p.stderr
    target = os.path.join(d, "no", "such", "dir", "b.db")
    p = cli(["backup", target], d, STATEWAVE_DATABASE_URL=url)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1, "want one line, got %r" % p.stderr
    want = "engram: backup failed: cannot write '%s': directory '%s': No such file or " \
           "directory" % (target, os.path.join(d, "no", "such", "dir"))
    assert p.stderr.strip() == want, p.stderr
    assert not os.path.exists(os.path.join(d, "no")), "backup created directories"
    # a file where the directory should be
    open(os.path.join(d, "plain"), "w").close()
    p = cli(["backup", os.path.join(d, "plain", "b.db")], d, STATEWAVE_DATABASE_URL=url)
    assert p.returncode == 1 and "'%s' is not a directory" % os.path.join(d, "plain") in \
        p.stderr and p.stderr.count("\n") == 1, p.stderr
    # and into an existing directory it still works
    p = cli(["backup", os.path.join(d, "ok.db")], d, STATEWAVE_DATABASE_URL=url)
    assert p.returncode == 0, p.stderr
    assert os.path.getsize(os.path.join(d, "ok.db")) > 0


@test("08.2 STATEWAVE_DATABASE_URL set but empty (environment or .env) is a configuration "
      "error, not the default database")
def _(s):
    d = scratch(s, "emptyurl")
    for args in (["migrate"], ["serve"], ["snapshot", "list"]):
        p = cli(args, d, STATEWAVE_DATABASE_URL="", STATEWAVE_PORT="1")
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert "STATEWAVE_DATABASE_URL is set but empty" in last_line(p), (args, p.stderr)
    with open(os.path.join(d, ".env"), "w") as f:
        f.write("STATEWAVE_DATABASE_URL=\n")
    p = cli(["migrate"], d)
    assert p.returncode == 1 and "STATEWAVE_DATABASE_URL is set but empty" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(d, "data")), "the default database was created"
    # unset still means the default
    os.remove(os.path.join(d, ".env"))
    p = cli(["migrate"], d)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(os.path.join(d, "data", "engram.db"))


@test("08.3 migrate on an unreachable PostgreSQL names the cause (connection refused), not "
      "'An unexpected error occurred'")
def _(s):
    d = scratch(s, "pgdown")
    url = "postgresql://engram:x@127.0.0.1:%d/engram?connect_timeout=5" % refused_port()
    for args in (["migrate"], ["export", "x"], ["snapshot", "list"]):
        p = cli(args, d, STATEWAVE_DATABASE_URL=url)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        line = last_line(p)
        assert "unexpected error" not in line, (args, p.stderr)
        assert "cannot connect to PostgreSQL" in line and "Connection refused" in line, \
            (args, line)


@test("08.4 migrate on an SQLite path that cannot be opened names the file and the cause")
def _(s):
    d = scratch(s, "sqlitebad")
    # a directory where the database file should be
    os.makedirs(os.path.join(d, "isdir.db"), exist_ok=True)
    p = cli(["migrate"], d, STATEWAVE_DATABASE_URL="sqlite://isdir.db")
    assert p.returncode == 1, p.stderr
    assert last_line(p) == "engram: migration failed: cannot open SQLite database 'isdir.db': " \
        "unable to open database file: Is a directory", p.stderr
    # a file where a parent directory should be
    open(os.path.join(d, "plain"), "w").close()
    p = cli(["migrate"], d, STATEWAVE_DATABASE_URL="sqlite://plain/sub/x.db")
    assert p.returncode == 1, p.stderr
    assert last_line(p) == "engram: migration failed: cannot create directory 'plain/sub': " \
        "Not a directory", p.stderr


@test("08.5 migrate on an SQLite file in a directory the user may not write: "
      "'Permission denied'")
def _(s):
    d = scratch(s, "sqliteperm")
    ro = os.path.join(d, "ro")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH |
             stat.S_IXOTH)
    os.chmod(d, 0o755)
    os.chmod(s.workdir, 0o755)
    cmd = [engram_bin(), "migrate"]
    if os.geteuid() == 0:   # root ignores permissions: run as nobody
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + \
              [os.path.abspath(engram_bin()), "migrate"]
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STATEWAVE_")}
    env["STATEWAVE_DATABASE_URL"] = "sqlite://" + os.path.join(ro, "x.db")
    p = subprocess.run(cmd, env=env, cwd=d, text=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1, (p.returncode, p.stderr)
    # Under `make coverage` libgcov adds "profiling:…: Cannot open" lines of its own (nobody
    # cannot write the .gcda files): they are not Engram's output.
    ours = [ln for ln in p.stderr.splitlines() if not ln.startswith("profiling:")]
    assert ours and ours[-1] == "engram: migration failed: cannot open SQLite database '%s': " \
        "unable to open database file: Permission denied" % os.path.join(ro, "x.db"), p.stderr


if __name__ == "__main__":
    main()
