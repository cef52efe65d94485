"""The production topology on one machine: ``leadroute prod up`` / ``down`` (``make prod-up``).

Five kinds of process, each started on its own (its own session, so it and its children are
stopped together), each logging to ``data/prod/logs/<name>.log`` with its pid in
``data/prod/pids/<name>.pid``::

    postgres                  the Dagster instance's database (runs, events, schedules)
    code-server-<org>         `dagster code-server start`, one per org; it starts each run's worker
    daemon                    `dagster-daemon run`: schedules, sensors, the run queue, backfills,
                              run monitoring and retries
    webserver                 `dagster-webserver` on 127.0.0.1 (the UI and its GraphQL API)

Each process has its own temporary folder (its ``TMPDIR``), ``leadroute-<digest of data/prod>/<name>``
under the system's, removed when it stops: a code server's run worker listens on a Unix socket it
makes there, and a code server is stopped with SIGKILL (it ignores SIGTERM), so the socket outlives
it. Straight in ``/tmp`` every stop left one behind. The folder is not under ``data/prod``: a Unix
socket's path must fit in 107 bytes, which a project folder deep enough exceeds.

Nothing here imports Dagster: the processes are Dagster's own commands, and readiness is read
from the webserver's GraphQL API like the UI reads it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from pipelines.deploy.orgs import Orgs
from pipelines.deploy.postgres import LocalPostgres
from pipelines.deploy.procs import group_alive, process_alive
from pipelines.deploy.temp_folders import temp_folder

INSTANCE_FILE = Path("deploy/production/dagster.yaml")
ORGS_FILE = Path("deploy/production/orgs.yaml")
PG_USER = "dagster"

LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
RELOAD_LOCATION = """mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
  __typename ... on WorkspaceLocationEntry { name loadStatus locationOrLoadError { __typename
  ... on PythonError { message } } } ... on PythonError { message } } }"""
RUNNING_QUERY = """{ runsOrError(filter: {statuses: [STARTING, STARTED, CANCELING]}) { ... on Runs {
  results { runId } } } }"""
DAEMONS_QUERY = """{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"""


class TopologyError(RuntimeError):
    """A process did not come up: the message names it and its log."""


def deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Topology:
    root: Path  # the project: code servers run here, so relative paths in orgs.yaml resolve from it
    state: Path  # data/prod
    orgs: Orgs
    webserver_host: str = "127.0.0.1"
    webserver_port: int = 3000
    pg_port: int = 5433
    instance_overrides: dict = field(default_factory=dict)  # merged into the instance file (tests poll faster)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.state = self.state if self.state.is_absolute() else self.root / self.state
        self.dagster_home = self.state / "dagster_home"
        self.logs = self.state / "logs"
        self.pids = self.state / "pids"
        self.tmp = temp_folder("leadroute", self.state)
        self.bin = Path(sys.executable).parent
        self._procs: dict[str, subprocess.Popen] = {}  # those this object started (reaped when they end)
        self.postgres = LocalPostgres(self.state / "postgres", self.logs / "postgres.log", self.pg_port,
                                      PG_USER, self._pg_password())

    # -- configuration --------------------------------------------------------------------------
    def _pg_password(self) -> str:
        """DAGSTER_PG_PASSWORD when set; otherwise one generated at the first start and kept
        (readable by its owner only) next to the cluster."""
        if self.environ.get("DAGSTER_PG_PASSWORD"):
            return self.environ["DAGSTER_PG_PASSWORD"]
        path = self.state / "pg_password"
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def instance_env(self) -> dict[str, str]:
        """What every Dagster process needs to reach the instance."""
        return {"DAGSTER_HOME": str(self.dagster_home), "DAGSTER_PG_HOST": "127.0.0.1",
                "DAGSTER_PG_PORT": str(self.pg_port), "DAGSTER_PG_DB": self.postgres.db_name,
                "DAGSTER_PG_USERNAME": PG_USER, "DAGSTER_PG_PASSWORD": self.postgres.password,
                "GX_ANALYTICS_ENABLED": "False"}

    def write_config(self) -> None:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance = deep_merge(yaml.safe_load((self.root / INSTANCE_FILE).read_text()), self.instance_overrides)
        (self.dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
        workspace = {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": org.port, "location_name": org.name}}
                                   for org in self.orgs.orgs]}
        self.workspace_file.write_text(yaml.safe_dump(workspace, sort_keys=False))

    @property
    def workspace_file(self) -> Path:
        return self.dagster_home / "workspace.yaml"

    @property
    def url(self) -> str:
        return f"http://{self.webserver_host}:{self.webserver_port}"

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        """Every Dagster process by name: its command line and environment."""
        base = {**self.environ, **self.instance_env()}
        out = {}
        for org in self.orgs.orgs:
            out[f"code-server-{org.name}"] = (
                [str(self.bin / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(org.port),
                 "-m", "pipelines.definitions", "-d", str(self.root), "--location-name", org.name],
                org.environment(base))
        out["daemon"] = ([str(self.bin / "dagster-daemon"), "run", "-w", str(self.workspace_file)], base)
        out["webserver"] = ([str(self.bin / "dagster-webserver"), "-h", self.webserver_host,
                             "-p", str(self.webserver_port), "-w", str(self.workspace_file)], base)
        return out

    # -- processes ------------------------------------------------------------------------------
    def pid(self, name: str) -> int | None:
        path = self.pids / f"{name}.pid"
        if not path.exists():
            return None
        pid = int(path.read_text())
        if name in self._procs:
            self._procs[name].poll()  # reap it if it died, so it is not taken for a live zombie
        return pid if process_alive(pid) else None

    def start(self, name: str) -> int:
        """Start one process (if not running), detached in its own session."""
        running = self.pid(name)
        if running:
            return running
        cmd, env = self.commands()[name]
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        self._clear_tmp(name)  # what a crash left there
        self._tmp(name).mkdir(parents=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(cmd, cwd=self.root, env={**env, "TMPDIR": str(self._tmp(name))}, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs[name] = proc
        (self.pids / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def stop(self, name: str, *, wait_seconds: float = 30) -> None:
        """Ask the process to stop (SIGTERM), then kill its whole session if it outlives the wait.

        A code server ignores SIGTERM; :meth:`down` stops it only once its runs have finished.
        """
        pid = self.pid(name)
        if pid is None:
            return
        if name.startswith("code-server-"):
            self.kill(name)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(name, pid, wait_seconds):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            self._wait_gone(name, pid, 10)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)
        self._clear_tmp(name)

    def kill(self, *names: str) -> None:
        """``kill -9`` processes and everything they started, as a crash would (drills and tests).

        Several at once are all signalled before any is waited for, as a machine going down takes them: the
        daemon waited out after its code server would still watch runs meanwhile, and could find their worker
        gone before it died itself."""
        pids = {name: pid for name in names if (pid := self.pid(name)) is not None}
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for name, pid in pids.items():
            self._wait_gone(name, pid, 10)
            (self.pids / f"{name}.pid").unlink(missing_ok=True)
            self._clear_tmp(name)

    def _tmp(self, name: str) -> Path:
        """The process's ``TMPDIR``: what it leaves behind is removed with it, not left in ``/tmp``."""
        return self.tmp / name

    def _clear_tmp(self, name: str) -> None:
        shutil.rmtree(self._tmp(name), ignore_errors=True)
        with contextlib.suppress(OSError):  # the last process's folder gone: the topology's too
            self.tmp.rmdir()

    def _wait_gone(self, name: str, pgid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if name in self._procs:
                self._procs[name].poll()
            if not group_alive(pgid):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    # -- the whole topology ---------------------------------------------------------------------
    def upgrade_warehouses(self) -> None:
        """Each org's warehouse brought to this release's schema once, before its first tick
        (``leadroute warehouse upgrade``); a warehouse a newer release upgraded stops the start."""
        base = {**self.environ, **self.instance_env()}
        for org in self.orgs.orgs:
            result = subprocess.run([str(self.bin / "leadroute"), "warehouse", "upgrade"], cwd=self.root,
                                    env=org.environment(base), capture_output=True, text=True)
            if result.returncode != 0:
                raise TopologyError(f"org {org.name}: {result.stderr.strip() or result.stdout.strip()}")

    def migrate_instance(self) -> None:
        """The Dagster instance's tables created (or upgraded) once, by ``dagster instance migrate``, as
        the Helm chart's migrate job does: left to the processes, the webserver and a code server that
        start together both create them, and one dies on "type instigators already exists"."""
        result = subprocess.run([str(self.bin / "dagster"), "instance", "migrate"], cwd=self.root,
                                env={**self.environ, **self.instance_env()}, capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise TopologyError(f"dagster instance migrate failed: {last[0] if last else result.returncode}")

    def up(self, wait_seconds: float = 180) -> None:
        """Everything, in an order that lets each process find what it needs: the instance's tables
        first, then the code servers and the UI; the daemon starts only once the UI has every code
        location loaded, so its first look at the workspace finds them (it looks again only every
        minute)."""
        self.upgrade_warehouses()
        self.postgres.init()
        self.postgres.start()
        self.write_config()
        self.migrate_instance()
        for name in self.commands():
            if name != "daemon":
                self.start(name)
        self.wait_loaded(wait_seconds)
        self.start("daemon")
        self.wait_ready(wait_seconds)

    def restart(self, *names: str, wait_seconds: float = 180) -> None:
        """Start processes that stopped (a crash, a drill): code servers first, reloaded in the UI
        as its Reload button does, then the daemon."""
        for name in names:
            if name != "daemon":
                self.start(name)
        self.wait_loaded(wait_seconds)
        if "daemon" in names:
            self.start("daemon")
        self.wait_ready(wait_seconds)

    def wait_loaded(self, wait_seconds: float = 180) -> None:
        """Until the webserver has (re)loaded every org's code location from its code server."""
        deadline = time.monotonic() + wait_seconds
        waiting = {org.name for org in self.orgs.orgs}
        last = "webserver not answering yet"
        while waiting and time.monotonic() < deadline:
            dead = [n for n in self.commands() if n != "daemon" and self.pid(n) is None]
            if dead:
                raise TopologyError(f"{dead[0]} is not running (log: {self.logs / (dead[0] + '.log')})")
            for name in sorted(waiting):
                try:
                    entry = self.graphql(RELOAD_LOCATION, {"name": name}, timeout=60)["reloadRepositoryLocation"]
                except (requests.RequestException, TopologyError) as exc:
                    last = f"webserver not answering yet ({type(exc).__name__})"
                    break
                loaded = (entry.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
                if loaded:
                    waiting.discard(name)
                else:
                    last = f"code location {name}: {(entry.get('locationOrLoadError') or {}).get('message', '')[:300]}"
            if waiting:
                time.sleep(0.5)
        if waiting:
            raise TopologyError(f"Code location(s) {', '.join(sorted(waiting))} did not load: {last}")

    def down(self, runs_wait_seconds: float = 60) -> None:
        """Stop the daemon first (no run starts any more), let the runs in progress finish (up to
        ``runs_wait_seconds``; queued runs stay queued for the next start), then the rest."""
        self.stop("daemon")
        deadline = time.monotonic() + runs_wait_seconds
        while self.pid("webserver") and time.monotonic() < deadline and self._runs_in_progress():
            time.sleep(1)
        for name in reversed(list(self.commands())):
            self.stop(name)
        self.postgres.stop()

    def _runs_in_progress(self) -> bool:
        try:
            return bool(self.graphql(RUNNING_QUERY, timeout=10)["runsOrError"]["results"])
        except (requests.RequestException, TopologyError, KeyError, TypeError):
            return False

    def status(self) -> dict[str, int | None]:
        out = {name: self.pid(name) for name in self.commands()}
        out["postgres"] = 1 if self.postgres.running() else None
        return out

    # -- readiness, read from the GraphQL API the UI uses ---------------------------------------
    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                 timeout=timeout)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise TopologyError(f"GraphQL error: {body['errors'][0].get('message')}")
        return body["data"]

    def problems(self) -> list[str]:
        """What is not ready yet: dead processes, unloaded code locations, unhealthy daemons."""
        dead = [n for n in self.commands() if self.pid(n) is None]
        if dead:
            return [f"{n} is not running (log: {self.logs / (n + '.log')})" for n in dead]
        try:
            workspace = self.graphql(LOCATIONS_QUERY, timeout=10)["workspaceOrError"]
            daemons = self.graphql(DAEMONS_QUERY, timeout=10)["instance"]["daemonHealth"]["allDaemonStatuses"]
        except (requests.RequestException, TopologyError) as exc:
            return [f"webserver not answering yet ({type(exc).__name__})"]
        out = []
        for entry in workspace.get("locationEntries", []):
            loaded = (entry["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
            if not loaded:
                error = (entry["locationOrLoadError"] or {}).get("message", entry["loadStatus"])
                out.append(f"code location {entry['name']} not loaded: {str(error).strip()[:300]}")
        out += [f"daemon {d['daemonType']} not healthy yet" for d in daemons if d["required"] and not d["healthy"]]
        return out

    def wait_ready(self, wait_seconds: float = 180) -> None:
        deadline = time.monotonic() + wait_seconds
        problems = self.problems()
        while problems and time.monotonic() < deadline:
            if any("is not running" in p for p in problems):
                break
            time.sleep(0.5)
            problems = self.problems()
        if problems:
            raise TopologyError("The topology did not come up: " + "; ".join(problems))
