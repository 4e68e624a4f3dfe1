#!/usr/bin/env python3
"""09-install.py - Debian conventions (issue 19 part 4): `make install DESTDIR=…` lays out the
binary, the gzip'd man page and the hardened systemd unit; the man page renders without a
warning and names every command of `engram --help` and every STATEWAVE_* setting the code
reads, so it cannot drift."""

import gzip
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, Server, engram_bin, main, test  # noqa: E402

MAN = os.path.join(ROOT, "docs", "engram.1")


def run(cmd, **kw):
    return subprocess.run(cmd, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600, **kw)


def make_install(destdir, *extra):
    """`make install` of the binary this test run uses (SAN=1 under a sanitizer run, so the
    tree's bin/engram is never swapped for another build)."""
    args = ["make", "-s", "--no-print-directory", "install", "DESTDIR=" + destdir] + list(extra)
    mode = os.path.basename(os.environ.get("ENGRAM_BUILD", ""))
    if mode == "san":
        args.append("SAN=1")
    elif mode == "coverage":
        args.append("COVERAGE=1")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    p = run(args, cwd=ROOT, env=env)
    assert p.returncode == 0, "make install failed:\n%s%s" % (p.stdout, p.stderr)
    return p


def files_under(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.join(d, n)
            out["/" + os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


def help_commands():
    p = run([engram_bin(), "--help"])
    assert p.returncode == 0, p.stderr
    block = p.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    cmds = [ln.split()[0] for ln in block.splitlines() if ln.startswith("  ") and ln.strip()]
    assert len(cmds) >= 8, cmds
    return cmds


def config_settings():
    names = set()
    with open(os.path.join(ROOT, "src", "util", "config.c"), encoding="utf-8") as f:
        names.update(re.findall(r'"(STATEWAVE_[A-Z0-9_]+)"', f.read()))
    assert len(names) >= 30, names
    return sorted(names)


@test("09.1 make install DESTDIR=… (PREFIX=/usr/local): binary, engram.1.gz, engram.service, "
      "the settings example, nothing else; modes 0755/0644")
def _(s):
    dest = tempfile.mkdtemp(prefix="engram-install-", dir=s.workdir)
    make_install(dest)
    got = files_under(dest)
    want = {"/usr/local/bin/engram": 0o755,
            "/usr/local/share/man/man1/engram.1.gz": 0o644,
            "/usr/local/lib/systemd/system/engram.service": 0o644,
            "/usr/local/share/doc/engram/engram.default": 0o644}
    assert got == want, got
    p = run([dest + "/usr/local/bin/engram", "version"])
    assert p.returncode == 0 and p.stdout.startswith("engram "), (p.stdout, p.stderr)
    with gzip.open(dest + "/usr/local/share/man/man1/engram.1.gz", "rt", encoding="utf-8") as f:
        assert f.read() == open(MAN, encoding="utf-8").read()
    unit = open(dest + "/usr/local/lib/systemd/system/engram.service").read()
    assert "\nExecStart=/usr/local/bin/engram serve\n" in unit, unit
    assert "@BINDIR@" not in unit, "unsubstituted placeholder"
    shutil.rmtree(dest)


@test("09.2 PREFIX=/usr and UNITDIR=/lib/systemd/system move the files; ExecStart follows")
def _(s):
    dest = tempfile.mkdtemp(prefix="engram-install-", dir=s.workdir)
    make_install(dest, "PREFIX=/usr", "UNITDIR=/lib/systemd/system")
    got = set(files_under(dest))
    assert got == {"/usr/bin/engram", "/usr/share/man/man1/engram.1.gz",
                   "/lib/systemd/system/engram.service",
                   "/usr/share/doc/engram/engram.default"}, got
    unit = open(dest + "/lib/systemd/system/engram.service").read()
    assert "\nExecStart=/usr/bin/engram serve\n" in unit, unit
    shutil.rmtree(dest)


@test("09.3 the installed man page renders with man -l and groff -ww without a warning")
def _(s):
    dest = tempfile.mkdtemp(prefix="engram-install-", dir=s.workdir)
    make_install(dest)
    page = dest + "/usr/local/share/man/man1/engram.1.gz"
    env = dict(os.environ, MANWIDTH="80")
    p = run(["man", "--warnings", "-l", page], env=env)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    text = p.stdout
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "SETTINGS", "FILES",
                    "EXIT STATUS"):
        assert re.search(r"^%s$" % heading, text, re.M), "no %s section" % heading
    p = run(["groff", "-ww", "-man", "-z", MAN])
    assert p.returncode == 0 and p.stderr == "", p.stderr
    shutil.rmtree(dest)


@test("09.4 the man page names every command of `engram --help` and every STATEWAVE_* "
      "setting src/util/config.c reads; its SETTINGS list is README's Configuration table")
def _(s):
    p = run(["man", "-l", MAN], env=dict(os.environ, MANWIDTH="200"))
    assert p.returncode == 0, p.stderr
    text = p.stdout
    commands = text.split("\nCOMMANDS\n", 1)[1].split("\nSETTINGS\n", 1)[0]
    missing = [c for c in help_commands()
               if not re.search(r"^       %s\b" % re.escape(c), commands, re.M)]
    assert not missing, "commands of --help missing from COMMANDS in engram(1): %s" % missing
    settings = text.split("\nSETTINGS\n", 1)[1].split("\nFILES\n", 1)[0]
    missing = [n for n in config_settings()
               if not re.search(r"^       %s$" % n, settings, re.M)]
    assert not missing, "settings read by config.c missing from engram(1): %s" % missing
    p = run([sys.executable, os.path.join(ROOT, "scripts", "man-settings.py"), "--check"])
    assert p.returncode == 0, p.stderr


@test("09.5 engram.service: hardened, state under /var/lib/engram, settings file; "
      "systemd-analyze verify is silent")
def _(s):
    dest = tempfile.mkdtemp(prefix="engram-install-", dir=s.workdir)
    make_install(dest)
    unit = open(dest + "/usr/local/lib/systemd/system/engram.service").read()
    keys = {}
    for ln in unit.splitlines():
        if ln and not ln.startswith(("#", "[")):
            k, v = ln.split("=", 1)
            keys.setdefault(k, []).append(v)
    want = {"DynamicUser": "yes", "StateDirectory": "engram", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
            "SystemCallFilter": "@system-service",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "EnvironmentFile": "-/etc/default/engram",
            "Environment": "STATEWAVE_DATABASE_URL=sqlite:///var/lib/engram/engram.db",
            "WorkingDirectory": "/var/lib/engram"}
    for k, v in want.items():
        assert keys.get(k) == [v], (k, keys.get(k))
    # PCRE2's JIT needs W+X pages: MemoryDenyWriteExecute must stay off, with the reason
    assert "MemoryDenyWriteExecute" not in keys, keys.get("MemoryDenyWriteExecute")
    assert "# MemoryDenyWriteExecute=yes is deliberately not set: " in unit
    # verify needs the ExecStart binary where it says: point it at the staged one
    check = os.path.join(dest, "engram.service")
    with open(check, "w") as f:
        f.write(unit.replace("/usr/local/bin/engram", dest + "/usr/local/bin/engram"))
    p = run(["systemd-analyze", "verify", "--man=no", check])
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", (p.stdout, p.stderr)
    # and verify does catch a broken line
    with open(check, "w") as f:
        f.write(unit.replace("/usr/local/bin/engram", dest + "/usr/local/bin/engram")
                .replace("ProtectSystem=strict", "ProtectSystem=sometimes"))
    p = run(["systemd-analyze", "verify", "--man=no", check])
    assert "sometimes" in p.stderr, p.stderr
    shutil.rmtree(dest)


def fake_bin(d, name, script):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)


@test("09.6 `make` is parallel by default (-j from nproc); a -j on the command line wins; "
      "clean runs alone")
def _(s):
    d = tempfile.mkdtemp(prefix="engram-nproc-", dir=s.workdir)
    fake_bin(d, "nproc", "echo 7\n")
    # as typed in a shell: no MAKEFLAGS from a make running this test
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PATH"] = d + ":" + env["PATH"]

    def makeflags(*args):
        p = run(["make", "-pq"] + list(args) + ["no-such-goal-here"], cwd=ROOT, env=env)
        flags = [ln for ln in p.stdout.splitlines() if ln.startswith("MAKEFLAGS = ")]
        assert len(flags) == 1, p.stdout[-2000:]
        return flags[0].split()
    assert "-j7" in makeflags(), makeflags()
    got = makeflags("-j1")
    assert "-j1" in got and "-j7" not in got, got
    p = run(["make", "-pq", "clean", "bin/engram"], cwd=ROOT, env=env)
    assert not [ln for ln in p.stdout.splitlines()
                if ln.startswith("MAKEFLAGS = ") and "-j" in ln], "clean runs in parallel"
    shutil.rmtree(d)


@test("09.7 scripts/deps.sh: `build` (make run) installs no PostgreSQL server, cmocka or test "
      "tools; `test` (make test) adds them")
def _(s):
    d = tempfile.mkdtemp(prefix="engram-deps-", dir=s.workdir)
    log = os.path.join(d, "apt.log")
    fake_bin(d, "dpkg-query", "exit 1\n")               # nothing is installed
    fake_bin(d, "npm", "exit 0\n")
    fake_bin(d, "apt-get", 'echo "$@" >> %s\n' % log)
    fake_bin(d, "sudo", '"$@"\n')
    fake_bin(d, "id", "echo 0\n")
    env = dict(os.environ, PATH=d + ":" + os.environ["PATH"])

    def installs(which):
        if os.path.exists(log):
            os.remove(log)
        p = run(["sh", os.path.join(ROOT, "scripts", "deps.sh"), which], cwd=d, env=env)
        assert p.returncode == 0, p.stderr
        lines = [ln for ln in open(log).read().splitlines() if ln.startswith("install")]
        assert len(lines) == 1, lines
        return set(lines[0].split()) - {"install", "-y", "-qq", "--no-install-recommends"}
    build = installs("build")
    for pkg in ("build-essential", "libmicrohttpd-dev", "libsqlite3-dev", "libpq-dev", "libunistring-dev",
                "libpcre2-dev", "libcurl4-openssl-dev", "libssl-dev", "python3"):
        assert pkg in build, (pkg, build)
    for pkg in ("postgresql", "libcmocka-dev", "jq", "sqlite3", "systemd"):
        assert pkg not in build, (pkg, build)
    test_ = installs("test")
    assert build < test_ and {"postgresql", "libcmocka-dev", "jq", "curl", "man-db"} <= test_, \
        test_
    shutil.rmtree(d)


# MemoryDenyWriteExecute=yes is the unit's prctl(PR_SET_MDWE) in the kernel (Linux 6.3+): run
# the server under it to show why the unit leaves it off, and that the fallback still serves.
PR_SET_MDWE = 65
MDWE_WRAPPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(%d, 1, 0, 0, 0) != 0:
    sys.exit(97)
if len(sys.argv) > 1:
    os.execv(sys.argv[1], sys.argv[1:])
""" % PR_SET_MDWE


def mdwe_supported():
    return subprocess.run([sys.executable, "-c", MDWE_WRAPPER], timeout=30).returncode == 0


if mdwe_supported():
    @test("09.8 under MemoryDenyWriteExecute (prctl MDWE) PCRE2's JIT is refused: the server "
          "logs the fallback and still tokenizes and compiles correctly")
    def _(s):
        d = tempfile.mkdtemp(prefix="engram-mdwe-", dir=s.workdir)
        wrapped = Server(workdir=d, name="mdwe",
                         database_url="sqlite://" + os.path.join(d, "m.db"))
        real_bin = os.path.abspath(engram_bin())
        wrapper = os.path.join(d, "engram-mdwe")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s -c %s %s \"$@\"\n" % (
                shlex.quote(sys.executable), shlex.quote(MDWE_WRAPPER), shlex.quote(real_bin)))
        os.chmod(wrapper, 0o755)
        old = os.environ.get("ENGRAM_BIN")
        os.environ["ENGRAM_BIN"] = wrapper
        try:
            wrapped.start()
        finally:
            if old is None:
                del os.environ["ENGRAM_BIN"]
            else:
                os.environ["ENGRAM_BIN"] = old
        try:
            for srv in (s, wrapped):
                sid = "mdwe-" + os.urandom(6).hex()
                r = srv.post("/v1/episodes", {"subject_id": sid, "source": "chat",
                                              "type": "message",
                                              "payload": {"text": "My name is Alice and I "
                                                          "work at Globex."}})
                assert r.status == 201, r
                r = srv.post("/v1/memories/compile", {"subject_id": sid})
                assert r.status == 200, r
                facts = sorted(m["content"] for m in r.body["memories"]
                               if m["kind"] == "profile_fact")
                r = srv.post("/v1/context", {"subject_id": sid, "task": "Where does Alice "
                                             "work? 🙂 naïve café", "max_tokens": 300})
                assert r.status == 200, r
                if srv is s:
                    want = (facts, r.body["token_estimate"])
                else:
                    assert (facts, r.body["token_estimate"]) == want, \
                        ((facts, r.body["token_estimate"]), want)
        finally:
            assert wrapped.stop() == 0
        log = open(wrapped.log_path, encoding="utf-8").read()
        assert "no JIT" in log or "JIT unavailable" in log, log[-1500:]
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
