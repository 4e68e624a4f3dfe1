"""hactl.py - PostgreSQL streaming replication for the HA tests (not a test file itself).

    pair = Pair.start(sync=True)     # a primary and one streaming standby (pg_basebackup -R)
    pair.primary.url, pair.standby.url, pair.multi_url()   # the last: host1,host2 with
                                                           # target_session_attrs=read-write
    pair.primary.kill()              # pg_ctl stop -m immediate
    pair.standby.promote()           # pg_ctl promote -w
    pair.close()                     # stop both, remove their directories

Only PostgreSQL's own tools: initdb, pg_ctl, pg_basebackup, psql. With sync=True the primary
has synchronous_standby_names = the standby's cluster_name (which the standby's WAL receiver
sends as its application_name) and synchronous_commit = on, so a commit returns only once
the standby has flushed it; sync=False makes an asynchronous standby (read replicas).
As root every server binary runs as `postgres` (runuser), like scripts/pg-cluster.sh.
"""

import atexit
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import pgctl  # noqa: E402
from harness import free_port, lsn_value  # noqa: E402

DB = "engram_test"


def _owner(argv):
    return pgctl._as_owner(argv)


def _check(r, what):
    if r.returncode != 0:
        raise pgctl.ClusterError("%s failed (exit %d): %s %s"
                                 % (what, r.returncode, r.stdout.strip()[-800:],
                                    r.stderr.strip()[-800:]))
    return r


class Node:
    """One PostgreSQL server: its directory (data/, log, socket) and port."""

    def __init__(self, base, name, port, extra):
        self.dir = os.path.join(base, name)
        self.name = name
        self.port = port
        self.extra = extra     # -c options of this node
        self.running = False

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    @property
    def url(self):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, DB)

    def opts(self):
        o = ["-p %d" % self.port, "-k %s" % self.dir, "-c listen_addresses=127.0.0.1",
             "-c fsync=off", "-c full_page_writes=on", "-c cluster_name=%s" % self.name,
             "-c wal_level=replica", "-c max_wal_senders=8", "-c hot_standby=on",
             "-c wal_receiver_status_interval=1s", "-c max_connections=200"]
        return " ".join(o + ["-c %s" % x for x in self.extra])

    def mkdir(self):
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)

    def start(self):
        r = pgctl.run(_owner([pgctl.pg_bin("pg_ctl"), "-D", self.data, "-o", self.opts(),
                              "-l", os.path.join(self.dir, "log"), "-w", "-t", "60",
                              "start"]), cwd="/", timeout=90)
        _check(r, "pg_ctl start (%s)" % self.name)
        self.running = True

    def kill(self):
        """pg_ctl stop -m immediate: the server dies as in a crash (no checkpoint)."""
        r = pgctl.run(_owner([pgctl.pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate",
                              "-w", "stop"]), cwd="/")
        _check(r, "pg_ctl stop -m immediate (%s)" % self.name)
        self.running = False

    def promote(self):
        r = pgctl.run(_owner([pgctl.pg_bin("pg_ctl"), "-D", self.data, "-w", "-t", "60",
                              "promote"]), cwd="/", timeout=90)
        _check(r, "pg_ctl promote (%s)" % self.name)

    def sql(self, stmt, db=DB):
        """Run stmt with psql; rows as lists of strings (unaligned, tab-separated)."""
        url = "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)
        r = pgctl.run([pgctl.pg_bin("psql"), url, "-v", "ON_ERROR_STOP=1", "-XAtq",
                       "-F", "\t", "-c", stmt], cwd="/")
        _check(r, "psql %r on %s" % (stmt[:60], self.name))
        return [line.split("\t") for line in r.stdout.splitlines() if line != ""]

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"


class Pair:
    def __init__(self, base, primary, standby):
        self.base = base
        self.primary = primary
        self.standby = standby
        self.closed = False

    @classmethod
    def start(cls, sync=True, base=None):
        base = base or tempfile.mkdtemp(prefix="engram-ha-", dir="/tmp")
        os.chmod(base, 0o755)
        primary = Node(base, "primary1", free_port(), ["synchronous_commit=on"])
        standby = Node(base, "standby1", free_port(), ["synchronous_commit=on"])
        pair = cls(base, primary, standby)
        atexit.register(pair.close)
        try:
            primary.mkdir()
            _check(pgctl.run(_owner([pgctl.pg_bin("initdb"), "-D", primary.data, "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8",
                                     "--locale=C.UTF-8"]), cwd="/", timeout=120), "initdb")
            primary.start()
            primary.sql("CREATE DATABASE %s" % DB, db="postgres")
            standby.mkdir()
            _check(pgctl.run(_owner([pgctl.pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p",
                                     str(primary.port), "-U", "postgres", "-D", standby.data,
                                     "-R", "-X", "stream", "--no-sync", "-c", "fast"]),
                             cwd="/", timeout=120), "pg_basebackup")
            standby.start()
            if sync:   # only now: until a standby streams, every commit would wait
                primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
                primary.sql("SELECT pg_reload_conf()")
            pair.wait_streaming(sync)
        except Exception:
            pair.close()
            raise
        return pair

    def wait_streaming(self, sync, timeout=30):
        want = "sync" if sync else "async"
        t0 = time.monotonic()
        while True:
            rows = self.primary.sql("SELECT application_name, state, sync_state"
                                    " FROM pg_stat_replication", db="postgres")
            if any(r[0] == "standby1" and r[1] == "streaming" and r[2] == want for r in rows):
                return
            if time.monotonic() - t0 > timeout:
                raise pgctl.ClusterError("standby not streaming (%s) after %d s: %r\n%s"
                                         % (want, timeout, rows, self.standby.log_tail()))
            time.sleep(0.2)

    def replayed(self):
        """The standby's last replayed WAL position (text LSN)."""
        return self.standby.sql("SELECT pg_last_wal_replay_lsn()")[0][0]

    def wait_replayed(self, lsn, timeout=10):
        """Wait until the standby has replayed lsn (an X-Engram-LSN)."""
        t0 = time.monotonic()
        while lsn_value(self.replayed()) < lsn_value(lsn):
            assert time.monotonic() - t0 < timeout, "the standby did not replay %s" % lsn
            time.sleep(0.05)

    def multi_url(self, extra=""):
        """The libpq multi-host URL: primary first, then the standby; only a read-write
        session is accepted."""
        return ("postgresql://postgres@127.0.0.1:%d,127.0.0.1:%d/%s"
                "?target_session_attrs=read-write&connect_timeout=3%s"
                % (self.primary.port, self.standby.port, DB, extra))

    def close(self):
        if self.closed:
            return
        self.closed = True
        for n in (self.standby, self.primary):
            if os.path.exists(os.path.join(n.data, "postmaster.pid")):
                pgctl.run(_owner([pgctl.pg_bin("pg_ctl"), "-D", n.data, "-m", "immediate",
                                  "-w", "stop"]), cwd="/")
        if not os.environ.get("ENGRAM_HA_KEEP"):
            shutil.rmtree(self.base, ignore_errors=True)
