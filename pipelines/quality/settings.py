"""``routing_rules/quality.yaml``: when a record is unusable, and how strict the checks are.

Example::

    version: 1
    quarantine:
      unreadable_text: true        # control characters or broken encoding in any text field
      identity:                    # every group needs at least one non-empty column
        lead:
          - [last_name, company]   # who
          - [email, phone]         # how to reach them
        account:
          - [name]
    checks:
      email_format_mostly: 0.98    # share of emails that must be well formed before the check warns

Loaded and validated once; errors name the file and line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, locate, read_settings


class QuarantineRules(BaseModel):
    """What makes a record unusable, beyond the per-field rules of ``fields.yaml``."""

    model_config = ConfigDict(extra="forbid")

    unreadable_text: bool = True
    identity: dict[str, list[list[str]]] = Field(default_factory=dict)

    def check_columns(self, columns: dict[str, set[str]], file: str, data: dict | None = None) -> list[ConfigProblem]:
        """Problems for identity columns that the field mapping does not define."""
        out = []
        for obj, groups in self.identity.items():
            where = SourceRef(file, locate(data or {}, ("quarantine", "identity", obj)))
            if obj not in columns:
                out.append(ConfigProblem(where, f"quarantine.identity.{obj}: no such object in fields.yaml"))
                continue
            for group in groups:
                unknown = [c for c in group if c not in columns[obj]]
                if unknown:
                    out.append(ConfigProblem(where, f"quarantine.identity.{obj}: {unknown} are not columns of "
                                                    f"{obj} in fields.yaml"))
                if not group:
                    out.append(ConfigProblem(where, f"quarantine.identity.{obj}: an empty group can never hold"))
        return out


class CheckSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_format_mostly: float = Field(default=0.98, ge=0, le=1)
    country_code_mostly: float = Field(default=0.95, ge=0, le=1)
    examples: int = Field(default=5, ge=1, le=50, description="failing rows shown per expectation")


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    quarantine: QuarantineRules = Field(default_factory=QuarantineRules)
    checks: CheckSettings = Field(default_factory=CheckSettings)
    source: str = Field(default="quality.yaml", exclude=True)


def load_quality_settings(path: str | Path, columns: dict[str, set[str]] | None = None) -> QualitySettings:
    """Load ``quality.yaml``; a missing file means the defaults. ``columns`` (object -> canonical
    columns) lets identity groups be checked against the field mapping."""
    path = Path(path)
    settings, data = read_settings(path, QualitySettings, missing_ok=True, values={"source": str(path)})
    if columns is not None:
        problems = settings.quarantine.check_columns(columns, str(path), data)
        if problems:
            raise ConfigError(problems)
    return settings
