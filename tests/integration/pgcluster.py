"""A private PostgreSQL cluster for the fault tests (issue 7), which restart,
crash and promote PostgreSQL and so cannot share the suite's cluster: initdb in
a temp directory, Unix socket only, the two KAM roles and one database. As
root, PostgreSQL's programs run as the postgres OS user (it refuses root)."""

import os
import shutil
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
RUN_TIMEOUT = 60.0


def _bin(name):
    p = os.path.join(PG_BIN, name)
    return p if os.access(p, os.X_OK) else name


def _as_pg(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


class Cluster:
    """One cluster: start, stop, restart -m immediate, psql as the superuser."""

    def __init__(self, name, port, settings=()):
        self.dir = tempfile.mkdtemp(prefix=f"kamf{name}.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.port = str(port)
        self.log = os.path.join(self.dir, "postgresql.log")
        self.settings = list(settings)

    def pg(self, *argv, check=True, timeout=RUN_TIMEOUT):
        r = subprocess.run(_as_pg(list(argv)), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr}")
        return r

    def write_conf(self, extra=()):
        lines = ["listen_addresses = ''", f"unix_socket_directories = '{self.sock}'", f"port = {self.port}",
                 # Crash-safe for a killed server (the OS stays up), and fast: no fsync, but
                 # synchronous_commit stays on so an acknowledged commit is in the WAL.
                 "fsync = off", "full_page_writes = off", "synchronous_commit = on"]
        with open(os.path.join(self.data, "kam.conf"), "w") as f:
            f.write("\n".join(lines + self.settings + list(extra)) + "\n")
        if os.geteuid() == 0:
            shutil.chown(os.path.join(self.data, "kam.conf"), "postgres", "postgres")

    def init(self):
        self.pg(_bin("initdb"), "-D", self.data, "-U", "postgres", "-E", "UTF8", "--no-locale",
                "--auth-local=trust", "--auth-host=reject", "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("include_if_exists = 'kam.conf'\n")
        self.write_conf()
        return self

    def start(self):
        self.pg(_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        return self

    def stop(self, mode="fast"):
        self.pg(_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart_immediate(self):
        self.pg(_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-m", "immediate", "-w", "-t", "60", "restart")

    def psql(self, sql, db="kam", user="postgres", check=True):
        r = subprocess.run([_bin("psql"), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock, "-p", self.port, "-U", user, "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed: {sql}\n{r.stderr}")
        return [line.split("|") for line in r.stdout.splitlines() if line]

    def setup_kam(self):
        """The schema owner, the serving role and the database, as tests/run.sh makes them."""
        self.psql("CREATE ROLE kam_admin LOGIN", db="postgres")
        self.psql("CREATE ROLE kam_app LOGIN", db="postgres")
        self.psql("CREATE DATABASE kam OWNER kam_admin", db="postgres")
        return self

    def conninfo(self, user):
        return f"host={self.sock} port={self.port} dbname=kam user={user}"

    def accepting(self):
        r = subprocess.run([_bin("pg_isready"), "-h", self.sock, "-p", self.port, "-t", "1"],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        return r.returncode == 0

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def stop_all(kamd, *clusters):
    """Stop kamd, then destroy the clusters, whatever fails first."""
    try:
        kamd.stop()
    finally:
        for c in clusters:
            c.destroy()


def wait_until(pred, timeout, step=0.05):
    """Seconds until pred() held, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None
