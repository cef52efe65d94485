"""The run launcher of the production instance: Dagster's default one, plus a health check.

Dagster's ``DefaultRunLauncher`` starts each run in a process the code server spawns, but
cannot tell run monitoring whether that process still lives. When the code server (and its
run worker) die mid-run, the run would stay STARTED until ``max_runtime_seconds``, and
every tick of that org would skip behind it. This launcher answers the monitoring daemon's
question, so a dead run is marked failed within one poll and the next tick recovers:

- on this machine (the code server is on a loopback address, as ``leadroute prod up`` runs
  it), the run worker's own process id, which it logs when it starts, is looked up;
- elsewhere (``docker compose``), the code server that launched the run is asked whether it
  still runs it. A server that does not answer says nothing: the run is left alone.

Instance config (deploy/production/dagster.yaml)::

    run_launcher:
      module: pipelines.defs.launcher
      class: MonitoredRunLauncher
"""

from __future__ import annotations

import json

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

from pipelines.deploy.procs import process_alive

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class MonitoredRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        host = json.loads(run.tags.get(GRPC_INFO_TAG, "{}")).get("host")
        pid = self._worker_pid(run)
        if host in LOOPBACK and pid is not None:
            if process_alive(pid):
                return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is alive")
            return CheckRunHealthResult(WorkerStatus.FAILED,
                                        f"run worker pid {pid} is gone (its code server stopped or it was killed)")
        return self._ask_code_server(run)

    def _worker_pid(self, run: dg.DagsterRun) -> int | None:
        events = self._instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        for record in events:
            data = record.dagster_event.engine_event_data if record.dagster_event else None
            pid = data.metadata.get("pid") if data and data.metadata else None
            if pid is not None and str(getattr(pid, "value", pid)).isdigit():
                return int(getattr(pid, "value", pid))
        return None

    def _ask_code_server(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
        from dagster._serdes import deserialize_value

        client = self._get_grpc_client_for_termination(run.run_id)
        if client is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no code server recorded; left to max_runtime_seconds")
        try:
            answer = deserialize_value(client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id)),
                                       CanCancelExecutionResult)
        except Exception as exc:  # unreachable or restarting: it may still run the worker
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"code server did not answer ({type(exc).__name__})",
                                        transient=True)
        if answer.can_cancel:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the code server still runs it")
        return CheckRunHealthResult(WorkerStatus.FAILED, "the code server that launched it no longer runs it")
