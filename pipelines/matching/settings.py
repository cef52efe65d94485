"""Matching settings as data (``routing_rules/matching.yaml``), validated once at load."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.sourcefile import ConfigError, load_yaml, problems_from_validation


class TieBreakers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_rank: list[str] = Field(default_factory=lambda: ["Customer", "Partner", "Target", "Prospect"])


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skip_deleted: bool = True


class MatchingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    tie_breakers: TieBreakers = Field(default_factory=TieBreakers)
    filters: Filters = Field(default_factory=Filters)


def load_matching_settings(path: str | Path) -> MatchingSettings:
    path = Path(path)
    if not path.exists():
        return MatchingSettings()
    data = load_yaml(path) or {}
    try:
        return MatchingSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, data, str(path))) from None
