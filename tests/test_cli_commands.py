"""The lazily loaded command table stays complete: every command module's commands are listed."""

from __future__ import annotations

import importlib
import pkgutil

from click.testing import CliRunner

import pipelines.cli as cli_package
from pipelines.cli import COMMANDS, cli


def test_every_command_a_module_defines_is_reachable_and_listed_in_help():
    defined = {}
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"pipelines.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            defined[command.name] = info.name
    assert defined == COMMANDS
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_an_unknown_command_says_so():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
