"""bouncer.py - Debian's pgbouncer in pool_mode=transaction in front of a PostgreSQL, for the
tests (not a test file itself).

    b = Bouncer.start(pg_port, pool_size=4)   # pgbouncer on a free loopback port
    b.url("engram_test")                       # postgresql://postgres@127.0.0.1:PORT/engram_test
    b.close()                                   # stop it, remove its directory

Every database name is passed through to the server (`* = host=127.0.0.1 port=PG`); trust
authentication, as on the throwaway clusters. As root it runs as `postgres` (pgbouncer
refuses root), like the clusters do.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import free_port

BIN = "/usr/sbin/pgbouncer"


def available():
    return os.path.exists(BIN)


class Bouncer:
    def __init__(self, directory, port, proc):
        self.dir = directory
        self.port = port
        self.proc = proc

    @classmethod
    def start(cls, pg_port, pool_size=4, pg_host="127.0.0.1"):
        d = tempfile.mkdtemp(prefix="engram-pgb-", dir="/tmp")
        os.chmod(d, 0o755)
        port = free_port()
        with open(os.path.join(d, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(os.path.join(d, "pgbouncer.ini"), "w") as f:
            f.write("[databases]\n* = host=%s port=%d\n\n[pgbouncer]\n" % (pg_host, pg_port))
            f.write("listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n" % port)
            f.write("auth_type = trust\nauth_file = %s/users.txt\n" % d)
            f.write("pool_mode = transaction\ndefault_pool_size = %d\n" % pool_size)
            f.write("max_client_conn = 1000\nmax_db_connections = %d\n" % pool_size)
            f.write("logfile = %s/pgbouncer.log\n" % d)
            f.write("admin_users = postgres\nserver_reset_query =\n")
        argv = [BIN, os.path.join(d, "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(os.path.join(d, name), "postgres", "postgres")
            argv = ["runuser", "-u", "postgres", "--"] + argv
        proc = subprocess.Popen(argv, cwd="/", stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        b = cls(d, port, proc)
        atexit.register(b.close)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return b
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = b.log_tail()
                    b.close()
                    raise RuntimeError("pgbouncer did not start: %s" % log)
                time.sleep(0.05)

    def url(self, db):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def log_tail(self, n=2000):
        try:
            with open(os.path.join(self.dir, "pgbouncer.log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
            shutil.rmtree(self.dir, ignore_errors=True)
