"""``leadroute prod``: the production topology on this machine (``make prod-up`` / ``make prod-down``)."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.cli.common import Failure

STATE = Path("data/prod")


def _topology(orgs_file: Path, host: str, port: int, pg_port: int):
    from pipelines.deploy.orgs import OrgError, load_orgs
    from pipelines.deploy.postgres import PostgresMissing
    from pipelines.deploy.topology import Topology

    try:
        return Topology(Path.cwd(), STATE, load_orgs(orgs_file), webserver_host=host, webserver_port=port,
                        pg_port=pg_port)
    except (OrgError, PostgresMissing) as exc:
        raise Failure(str(exc)) from None


def _options(fn):
    fn = click.option("--orgs", "orgs_file", type=click.Path(path_type=Path), default="deploy/production/orgs.yaml",
                      show_default=True, help="The orgs to serve, one code location each.")(fn)
    fn = click.option("--host", default="127.0.0.1", show_default=True,
                      help="Where the webserver listens. Anything but 127.0.0.1 exposes the UI, which has no login.")(fn)
    fn = click.option("--port", default=3000, show_default=True, help="The webserver's port.")(fn)
    fn = click.option("--pg-port", default=5433, show_default=True, help="The local PostgreSQL's port (127.0.0.1).")(fn)
    return fn


@click.group()
def prod() -> None:
    """Run the production topology here: PostgreSQL, a code server per org, the daemon, the webserver.

    State and logs go to data/prod/ (logs/<process>.log). The PostgreSQL password is
    DAGSTER_PG_PASSWORD, or one generated at the first start and kept in data/prod/pg_password.
    """


@prod.command()
@_options
def up(orgs_file: Path, host: str, port: int, pg_port: int) -> None:
    """Start everything (each warehouse is upgraded first) and wait until the UI shows every org loaded."""
    from pipelines.deploy.topology import TopologyError

    topology = _topology(orgs_file, host, port, pg_port)
    try:
        topology.up()
    except (TopologyError, RuntimeError) as exc:
        raise Failure(f"{exc}\nLogs: {topology.logs}/. Stop what started with `leadroute prod down`.") from None
    orgs = ", ".join(o.name for o in topology.orgs.orgs)
    click.echo(f"Up: {orgs}. UI on {topology.url}; logs in {topology.logs}/. Stop with `make prod-down`.")


@prod.command()
@_options
def down(orgs_file: Path, host: str, port: int, pg_port: int) -> None:
    """Stop the webserver, the daemon, the code servers (runs finish first, up to a minute), then PostgreSQL."""
    _topology(orgs_file, host, port, pg_port).down()
    click.echo("Down.")


@prod.command()
@_options
def status(orgs_file: Path, host: str, port: int, pg_port: int) -> None:
    """Which processes run, and what is not ready."""
    topology = _topology(orgs_file, host, port, pg_port)
    for name, pid in topology.status().items():
        click.echo(f"  {name:<28} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
    for problem in topology.problems():
        click.echo(f"  ! {problem}")


COMMANDS = [prod]
