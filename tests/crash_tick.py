"""Run `leadroute tick` and stop it dead at a named commit point: the crash tests' subprocess.

    python -m tests.crash_tick POINT [tick options...]

The tick runs exactly as `leadroute tick` does (the environment names the CRM, the
warehouse, the rules and DAGSTER_HOME). When it reaches POINT it prints ``AT POINT`` and
waits; the test then kills it with SIGKILL, as the kernel or an operator would: no
exception, no ``finally``, no rollback by Python. (Should the test close stdin instead,
the process kills itself the same way.)

Points, in the order a tick reaches them:

- ``after_decisions``: routing has inserted the decisions, not yet their ledger rows;
- ``after_ledger``: decisions and ledger rows are committed, the push has not started;
- ``after_crm_write``: the CRM has carried out the owner changes; their answers are not recorded;
- ``after_conversions`` / ``after_tasks``: the same for conversions / task upserts;
- ``before_watermark``: every answer is recorded; the watermarks have not moved;
- ``before_notify``: the push is done and recorded; no notification has been planned or sent;
- ``after_notification_sent``: the first notification has left (marked ``sending``, committed);
  its answer is not recorded.
"""

from __future__ import annotations

import functools
import os
import signal
import sys


def _pause(point: str) -> None:
    print(f"AT {point}", flush=True)
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner, name: str, point: str, when=lambda *a, **k: True) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        if when(*args, **kwargs):
            _pause(point)
        return out

    setattr(owner, name, wrapper)


def _before(owner, name: str, point: str, when=lambda *a, **k: True) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if when(*args, **kwargs):
            _pause(point)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def arm(point: str) -> None:
    from pipelines.crm.local import LocalCrm
    from pipelines.crm.salesforce.adapter import SalesforceCrm
    from pipelines.defs import push as push_asset
    from pipelines.ledger import decisions, watermarks
    from pipelines.notify import outbox
    from pipelines.notify.channels import Courier

    if point == "after_decisions":
        _before(decisions, "insert", point, when=lambda con, table, df: table == "ledger" and len(df))
    elif point == "after_ledger":
        _before(push_asset, "push", point)
    elif point in ("after_crm_write", "after_conversions", "after_tasks"):
        method = {"after_crm_write": "update_records", "after_conversions": "convert_leads",
                  "after_tasks": "upsert_tasks"}[point]
        for adapter in (LocalCrm, SalesforceCrm):
            _after(adapter, method, point, when=lambda self, *a, **k: bool(a and a[-1]))
    elif point == "before_watermark":
        _before(watermarks, "commit", point)
    elif point == "before_notify":
        _before(outbox, "run", point)
    elif point == "after_notification_sent":
        _after(Courier, "send", point, when=lambda self, *a, **k: True)
    else:
        raise SystemExit(f"unknown point {point!r}")


def main(argv: list[str]) -> None:
    arm(argv[0])
    from pipelines.cli import main as cli

    sys.argv = ["leadroute", "tick", *argv[1:]]
    cli()


if __name__ == "__main__":
    main(sys.argv[1:])
