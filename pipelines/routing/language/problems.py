"""Problems with what ops wrote, collected with their file and line, and "did you mean" hints.

An ops person fixing a pull request wants every problem at once, not one per CI run, so
the readers of the rules files write into one :class:`ProblemLog` and raise only at the
end. A hint compares a misspelt name with the names that exist: "did you mean
'equals'?", or the list of what is allowed when nothing is close.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pipelines.sourcefile import ConfigError, ConfigProblem, LineDict, SourceRef


def suggest(word: Any, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, else ``; expected one of: a, b, c``."""
    options = list(options)
    close = difflib.get_close_matches(str(word), options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; expected one of: {', '.join(sorted(options))}"


def where(file: str, node: Any, key: Any = None) -> SourceRef:
    """The file and line of a YAML node (or of one of its keys), as loaded by :func:`pipelines.sourcefile.load_yaml`."""
    if isinstance(node, LineDict):
        return SourceRef(file, node.line_of(key) if key is not None else node.line)
    return SourceRef(file, getattr(node, "line", None))


class ProblemLog:
    """Every problem found while reading a rules folder, in the order found."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def problem(self, where: SourceRef, message: str, severity: str = "error") -> None:
        self.problems.append(ConfigProblem(where, message, severity))

    def extend(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[ConfigProblem]:
        return [p for p in self.problems if p.severity == "error"]

    def raise_errors(self) -> None:
        """Raise a ConfigError listing every problem (warnings too) when any is an error."""
        if self.errors:
            raise ConfigError(self.problems)
