"""pgctl.py - PostgreSQL helpers for the black-box API tests (not a test file itself).

    c = Cluster.shared_or_own(workdir)   # ENGRAM_TEST_PG_CLUSTER when set, else a new one
    url = c.createdb("engram_x_1234")    # a new empty database; its URL
    c.pause(); c.resume()                # pg_ctl stop (fast) / start on the SAME data dir and port
    c.close()                            # stops and removes the cluster only if we started it

Starting, creating databases and removing go through scripts/pg-cluster.sh; pause/resume call
pg_ctl directly with the options that script uses (the script has no restart command). As root
every PostgreSQL binary that touches the data directory runs as `postgres` (runuser), like the
script does. Client tools (pg_dump, pg_restore, psql) connect by URL and run as ourselves.
"""

import atexit
import os
import secrets
import sqlite3
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "pg-cluster.sh")


def bindir():
    for d in (os.environ.get("PG_BINDIR"), "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    return "/usr/lib/postgresql/15/bin"


def pg_bin(name):
    return os.path.join(bindir(), name)


def is_postgres(url):
    return bool(url) and url.split(":", 1)[0].lower() in ("postgresql", "postgres",
                                                           "postgresql+asyncpg")


def wait_for_replica(url, timeout=30.0):
    """With ENGRAM_TEST_REPLICA_URL set (tests/api/run_replica.py), wait until that standby
    has replayed everything the primary at `url` has written: a row written here behind
    the API's back carries no X-Engram-LSN, so the server cannot know to wait for it."""
    standby = os.environ.get("ENGRAM_TEST_REPLICA_URL")
    if not standby:
        return
    r = run([pg_bin("psql"), url.replace("postgresql+asyncpg", "postgresql"), "-Atq", "-c",
             "SELECT pg_current_wal_lsn()"])
    assert r.returncode == 0, "psql: %s" % r.stderr
    lsn = r.stdout.strip()
    deadline = time.monotonic() + timeout
    while True:
        r = run([pg_bin("psql"), standby, "-Atq", "-c",
                 "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % lsn])
        if r.returncode == 0 and r.stdout.strip() == "t":
            return
        assert time.monotonic() < deadline, "the standby did not replay %s in %.0f s" % (
            lsn, timeout)
        time.sleep(0.02)


def backend():
    """'postgres' when this run's database (ENGRAM_TEST_DATABASE_URL) is PostgreSQL, else
    'sqlite' (the harness then gives every server a fresh SQLite file)."""
    return "postgres" if is_postgres(os.environ.get("ENGRAM_TEST_DATABASE_URL")) else "sqlite"


def _as_owner(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def run(argv, timeout=60, **kw):
    """subprocess.run with text output captured; never raises on a non-zero exit."""
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, **kw)


def run_sql(url, statement):
    """Run one statement on the database of a server's URL (SQLite through Python's sqlite3,
    PostgreSQL through psql); raises AssertionError when it fails."""
    if is_postgres(url):
        r = run([pg_bin("psql"), url.replace("postgresql+asyncpg", "postgresql"),
                 "-v", "ON_ERROR_STOP=1", "-q", "-c", statement])
        assert r.returncode == 0, "psql: %s" % r.stderr
        wait_for_replica(url)
        return
    con = sqlite3.connect(url[len("sqlite://"):], isolation_level=None, timeout=10)
    # The memory_codes triggers call engram_vector_code(), which Engram registers on its own
    # connections (src/store/sqlite/sqlite_search.c): a write to memories from here needs it.
    con.create_function("engram_vector_code", 1, vector_code, deterministic=True)
    try:
        con.execute(statement)
    finally:
        con.close()


def query(url, statement):
    """The rows of one query on the database of a server's URL, as tuples of strings (None for
    NULL): SQLite through Python's sqlite3, PostgreSQL through psql."""
    if is_postgres(url):
        r = run([pg_bin("psql"), url.replace("postgresql+asyncpg", "postgresql"),
                 "-v", "ON_ERROR_STOP=1", "-At", "-F", "\x1f", "-0", "-c", statement])
        assert r.returncode == 0, "psql: %s" % r.stderr
        # Records end in a zero byte (-0), which no text value holds: a value may hold a line
        # break or any separator str.splitlines() knows (other tests' subject ids do).
        return [tuple(v if v != "" else None for v in rec.split("\x1f"))
                for rec in r.stdout.split("\0") if rec]
    con = sqlite3.connect(url[len("sqlite://"):], isolation_level=None, timeout=10)
    try:
        return [tuple(None if v is None else str(v) for v in row)
                for row in con.execute(statement)]
    finally:
        con.close()


def vector_code(blob):
    """engram_vector_code() in Python, as src/util/vcode.c computes it: the scale (float32
    little-endian) of the unit vector's int8 code, then one signed byte per dimension."""
    import math
    import struct
    if blob is None:
        return None
    dim = len(blob) // 4
    x = struct.unpack("<%df" % dim, blob[:4 * dim])
    norm = math.sqrt(sum(v * v for v in x))
    top = max((abs(v) for v in x), default=0.0)
    if not norm > 0 or not top > 0 or not math.isfinite(norm):
        return struct.pack("<f", 0.0) + bytes(dim)
    scale = top / norm / 127.0
    code = [max(-127, min(127, round(v / norm / scale))) for v in x]
    return struct.pack("<f", scale) + struct.pack("<%db" % dim, *code)


def dbname(prefix):
    """A fresh database name (letters, digits, _ only, as pg-cluster.sh requires)."""
    return "%s_%s" % (prefix, secrets.token_hex(6))


class ClusterError(Exception):
    pass


class Cluster:
    def __init__(self, directory, owned, url=None):
        self.dir = directory
        self.owned = owned
        self.url = url

    @classmethod
    def start(cls, parent=None):
        """A new throwaway cluster (scripts/pg-cluster.sh start); close() removes it."""
        # Short path: the socket DIR/.s.PGSQL.NNNNN must fit in 107 bytes.
        base = tempfile.mkdtemp(prefix="engram-pgc-", dir="/tmp")
        os.chmod(base, 0o755)   # the cluster owner (postgres, when we are root) must enter it
        d = os.path.join(base, "c")
        r = run([SCRIPT, "start", d], timeout=120)
        if r.returncode != 0:
            run([SCRIPT, "stop", d])
            try:
                os.rmdir(base)
            except OSError:
                pass
            raise ClusterError("pg-cluster.sh start failed (exit %d): %s"
                               % (r.returncode, r.stderr.strip()[-1500:]))
        c = cls(d, True, r.stdout.strip())
        c._base = base
        atexit.register(c.close)   # never leave a cluster running, even after a crash
        return c

    @classmethod
    def shared_or_own(cls):
        d = os.environ.get("ENGRAM_TEST_PG_CLUSTER")
        if d and os.path.isfile(os.path.join(d, "port")):
            return cls(d, False)
        return cls.start()

    def port(self):
        with open(os.path.join(self.dir, "port")) as f:
            return int(f.read().strip())

    def createdb(self, name=None):
        name = name or dbname("engram_t")
        r = run([SCRIPT, "createdb", self.dir, name])
        if r.returncode != 0:
            raise ClusterError("pg-cluster.sh createdb %s failed (exit %d): %s"
                               % (name, r.returncode, r.stderr.strip()[-1500:]))
        return r.stdout.strip()

    def dropdb(self, name):
        """Best effort (the cluster may be shared: leave no large databases behind)."""
        run(_as_owner([pg_bin("dropdb"), "--if-exists", "-f", "-h", "127.0.0.1", "-p",
                       str(self.port()), "-U", "postgres", name]), cwd="/")

    def pause(self):
        """pg_ctl stop -m fast on the data directory (the cluster directory is kept)."""
        if not self.owned:
            raise ClusterError("refusing to stop a cluster this test did not start")
        r = run(_as_owner([pg_bin("pg_ctl"), "-D", os.path.join(self.dir, "data"), "-m", "fast",
                           "-w", "-t", "30", "stop"]), cwd="/")
        if r.returncode != 0:
            raise ClusterError("pg_ctl stop failed (exit %d): %s %s"
                               % (r.returncode, r.stdout.strip(), r.stderr.strip()))

    def resume(self):
        """pg_ctl start with the port and options of scripts/pg-cluster.sh start."""
        port = self.port()
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off" % (port, self.dir))
        r = run(_as_owner([pg_bin("pg_ctl"), "-D", os.path.join(self.dir, "data"), "-o", opts,
                           "-l", os.path.join(self.dir, "log"), "-w", "-t", "30", "start"]),
                cwd="/")
        if r.returncode != 0:
            raise ClusterError("pg_ctl start on port %d failed (exit %d): %s %s"
                               % (port, r.returncode, r.stdout.strip(), r.stderr.strip()))

    def close(self):
        """Stop and remove the cluster if this process started it (idempotent)."""
        if not self.owned:
            return
        self.owned = False
        run([SCRIPT, "stop", self.dir], timeout=60)
        try:
            os.rmdir(self._base)
        except OSError:
            pass
