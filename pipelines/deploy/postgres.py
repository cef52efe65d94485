"""A local PostgreSQL server for the Dagster instance, from Debian's ``postgresql`` package.

``initdb`` into a folder under data/, started with ``pg_ctl`` on 127.0.0.1 only (no Unix
socket, password authentication). PostgreSQL refuses to run as root, so when the deployment is
started by root (a fresh machine, CI) the server runs as the package's unprivileged ``postgres``
user, and its folder is given to that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelines.deploy.temp_folders import temp_folder

SERVER_USER = "postgres"  # created by Debian's postgresql package


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                      if p.parts[-3].isdigit() else 0)
    if versions:
        return versions[-1].parent
    raise PostgresMissing("PostgreSQL is not installed (no initdb). Install it: "
                          "`apt-get update && apt-get install -y postgresql`.")


@dataclass
class LocalPostgres:
    data_dir: Path  # the cluster; created by init()
    log_file: Path
    port: int
    username: str
    password: str
    db_name: str = "dagster"

    def __post_init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self._adopt_reachable_dir()

    # -- running commands as the server's user ------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def _give(self, path: Path) -> None:
        if self.as_root:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    def _adopt_reachable_dir(self) -> None:
        """The server's user must reach data/: if a parent folder shuts it out (a checkout under
        /root), the cluster lives in a folder of its own under the system temp dir instead."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(["runuser", "-u", SERVER_USER, "--", "test", "-x", str(self.data_dir.parent)],
                               capture_output=True)
        if probe.returncode != 0:
            self.data_dir = temp_folder("leadroute-postgres", self.data_dir)
            self.log_file = self.data_dir.with_suffix(".log")

    # -- lifecycle ------------------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster once: the superuser is ``username`` with ``password`` (scram)."""
        if self.initialised_cluster:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._give(self.data_dir)
        pwfile = self.data_dir / ".initdb-password"
        pwfile.write_text(self.password + "\n")
        self._give(pwfile)
        try:
            # initdb refuses a non-empty folder; the password file sits beside the cluster meanwhile.
            cluster = self.data_dir / "cluster"
            result = self._run("initdb", "-D", str(cluster), "-U", self.username, f"--pwfile={pwfile}",
                               "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", check=False)
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        finally:
            pwfile.unlink(missing_ok=True)

    @property
    def cluster(self) -> Path:
        return self.data_dir / "cluster"

    def running(self) -> bool:
        return self.initialised_cluster and self._run("pg_ctl", "-D", str(self.cluster), "status",
                                                      check=False).returncode == 0

    @property
    def initialised_cluster(self) -> bool:
        return (self.cluster / "PG_VERSION").exists()

    def start(self, wait_seconds: int = 60) -> None:
        if self.running():
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        self._give(self.log_file)
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        result = self._run("pg_ctl", "-D", str(self.cluster), "-l", str(self.log_file), "-o", options,
                           "-w", "-t", str(wait_seconds), "start", check=False)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip() or result.stdout.strip()} "
                               f"(log: {self.log_file})")
        self.create_database()

    def create_database(self) -> None:
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.username, password=self.password,
                               dbname="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.db_name])
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            con.close()

    def stop(self) -> None:
        if self.initialised_cluster and self.running():
            self._run("pg_ctl", "-D", str(self.cluster), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        """Delete the stopped cluster and its log: for throwaway topologies (tests, benchmarks)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)
