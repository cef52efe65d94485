"""The orgs a deployment serves (deploy/production/orgs.yaml): one code location per org.

Each org gets its own code server process whose environment holds that org's settings, so the
same code routes several CRMs side by side, each with its own rules, warehouse and cadence, and
none ever opens another's files. The file holds no secret: ``env_from`` names the variable of
the starting environment a secret is taken from.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.alerts import ALERT_URLS_VAR
from pipelines.crm.salesforce import CREDENTIAL_VARS, TUNING_VARS
from pipelines.settings import VARIABLES, Settings

# Credentials that must never sit in a file in git: they arrive through env_from.
SECRET_VARS = {CREDENTIAL_VARS[k] for k in ("password", "security_token", "consumer_secret", "private_key",
                                             "session_id")} | {ALERT_URLS_VAR}
KNOWN_VARS = (set(VARIABLES.values()) | set(CREDENTIAL_VARS.values()) | set(TUNING_VARS.values())
              | {ALERT_URLS_VAR}) - {VARIABLES["org"]}


class OrgError(ValueError):
    """orgs.yaml cannot be used: the message names the file and the org."""


class Org(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    port: int = Field(ge=1024, le=65535)
    env: dict[str, str] = {}
    env_from: dict[str, str] = {}

    @field_validator("env", "env_from")
    @classmethod
    def _known(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - KNOWN_VARS)
        if unknown:
            raise ValueError(f"unknown variable(s) {', '.join(unknown)}; leadroute reads {', '.join(sorted(KNOWN_VARS))}")
        return {k: str(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _checked(self) -> Org:
        secrets = sorted(SECRET_VARS & set(self.env))
        if secrets:
            raise ValueError(f"{', '.join(secrets)} must not be written in the file: map it with env_from "
                             f"to a variable of the environment `make prod-up` runs in")
        self.settings()  # the same checks a run makes (CRM kind, org name, cadence)
        return self

    def settings(self) -> Settings:
        return Settings.from_env({**self.env, VARIABLES["org"]: self.name})

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """The code server's environment: ``base`` plus this org's settings and mapped secrets."""
        missing = sorted(src for src in self.env_from.values() if not base.get(src))
        if missing:
            raise OrgError(f"org {self.name}: {', '.join(missing)} not set in the environment (env_from)")
        # Another org's LEADROUTE_* or SALESFORCE_* settings in the starting shell must not leak in.
        clean = {k: v for k, v in base.items() if k not in KNOWN_VARS}
        return {**clean, **self.env, **{dst: base[src] for dst, src in self.env_from.items()},
                VARIABLES["org"]: self.name}


class Orgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orgs: list[Org] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Orgs:
        for attr in ("name", "port"):
            values = [getattr(o, attr) for o in self.orgs]
            if len(set(values)) != len(values):
                raise ValueError(f"two orgs share a {attr}: {values}")
        for attr in ("warehouse", "crm_path"):
            paths = [os.path.normpath(getattr(o.settings(), attr)) for o in self.orgs
                     if attr == "warehouse" or o.settings().crm == "local"]
            if len(set(paths)) != len(paths):
                raise ValueError(f"two orgs share a {attr.replace('_', ' ')} file: {paths}; each org needs its own")
        return self


def load_orgs(path: str | Path) -> Orgs:
    path = Path(path)
    try:
        return Orgs.model_validate(yaml.safe_load(path.read_text()) or {})
    except FileNotFoundError:
        raise OrgError(f"No orgs file at {path}. Copy deploy/production/orgs.yaml and edit it.") from None
    except (ValidationError, yaml.YAMLError) as exc:
        raise OrgError(f"{path}: {exc}") from None
