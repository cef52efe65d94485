"""How leadroute connects to a Salesforce org: credentials and tuning, validated once.

Credentials come only from environment variables, through ``dg.EnvVar`` in the CRM
resource, and are held here as ``SecretStr`` so no repr, log line or error message
can show them. Which login to use is read from what is set (or forced with
``SALESFORCE_AUTH``):

==================  ==========================================================================
``password``        ``SALESFORCE_USERNAME`` + ``SALESFORCE_PASSWORD`` + ``SALESFORCE_SECURITY_TOKEN``
                    (SOAP login; ``SALESFORCE_DOMAIN`` = ``login``, ``test`` or a My Domain)
``oauth_password``  username + password + ``SALESFORCE_CONSUMER_KEY`` + ``SALESFORCE_CONSUMER_SECRET``
``jwt``             username + consumer key + ``SALESFORCE_PRIVATE_KEY_FILE`` (or ``SALESFORCE_PRIVATE_KEY``)
``client_credentials``  consumer key + secret + a My Domain in ``SALESFORCE_DOMAIN``
``session``         ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_SESSION_ID`` (cannot re-authenticate)
==================  ==========================================================================

Tuning (all optional) comes from ``SALESFORCE_*`` variables too; :func:`tuning_from_env`
reads and checks them, naming the variable when a value is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

AuthMode = Literal["password", "oauth_password", "jwt", "client_credentials", "session"]

# Connector field -> environment variable. Credentials reach the resource through dg.EnvVar.
CREDENTIAL_VARS: dict[str, str] = {
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "security_token": "SALESFORCE_SECURITY_TOKEN",
    "consumer_key": "SALESFORCE_CONSUMER_KEY",
    "consumer_secret": "SALESFORCE_CONSUMER_SECRET",
    "private_key": "SALESFORCE_PRIVATE_KEY",
    "private_key_file": "SALESFORCE_PRIVATE_KEY_FILE",
    "instance_url": "SALESFORCE_INSTANCE_URL",
    "session_id": "SALESFORCE_SESSION_ID",
    "domain": "SALESFORCE_DOMAIN",
    "auth": "SALESFORCE_AUTH",
}
TUNING_VARS: dict[str, str] = {
    "api_version": "SALESFORCE_API_VERSION",
    "timeout_seconds": "SALESFORCE_TIMEOUT_SECONDS",
    "max_retries": "SALESFORCE_MAX_RETRIES",
    "retry_backoff_seconds": "SALESFORCE_RETRY_BACKOFF_SECONDS",
    "max_reauth": "SALESFORCE_MAX_REAUTH",
    "api_budget_share": "SALESFORCE_API_BUDGET_SHARE",
    "bulk_update_threshold": "SALESFORCE_BULK_UPDATE_THRESHOLD",
    "bulk_query_threshold": "SALESFORCE_BULK_QUERY_THRESHOLD",
    "bulk_poll_seconds": "SALESFORCE_BULK_POLL_SECONDS",
    "task_external_id_field": "SALESFORCE_TASK_EXTERNAL_ID",
}
_ENV_OF = {**CREDENTIAL_VARS, **TUNING_VARS}


class SalesforceSettingsError(ValueError):
    """Settings that cannot work; the message names the environment variable to fix."""


class SalesforceSettings(BaseModel):
    """Everything the connector needs, validated once when the adapter is built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- credentials ---------------------------------------------------------------------------
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    private_key_file: str | None = None
    instance_url: str | None = None
    session_id: SecretStr | None = None
    domain: str = "login"
    auth: AuthMode | None = None

    # -- tuning --------------------------------------------------------------------------------
    api_version: str = Field("59.0", pattern=r"^\d{2}\.0$")
    timeout_seconds: float = Field(120.0, gt=0, description="read timeout of every HTTP call")
    connect_timeout_seconds: float = Field(10.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10, description="retries of a call answered 500/502/503/504 or timed out")
    retry_backoff_seconds: float = Field(2.0, ge=0, description="first wait before a retry; doubles each time")
    max_reauth: int = Field(2, ge=0, le=5, description="re-logins after 401 INVALID_SESSION_ID within one call")
    api_budget_share: float = Field(0.5, gt=0, le=1, description="share of the org's daily API allowance leadroute may reach")
    collection_size: int = Field(200, ge=1, le=200, description="records per sObject Collections call (Salesforce's maximum is 200)")
    bulk_update_threshold: int = Field(2000, ge=1, description="updates at or above this many go through Bulk API 2.0")
    bulk_query_threshold: int = Field(10_000, ge=1, description="a delta larger than this is read through Bulk API 2.0")
    bulk_poll_seconds: float = Field(5.0, ge=0, description="wait between polls of a Bulk API 2.0 job")
    bulk_max_wait_seconds: float = Field(1800.0, gt=0)
    bulk_page_size: int = Field(50_000, ge=1, description="records per Bulk API 2.0 query results page")
    task_external_id_field: str = Field("LeadRoute_Key__c", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    convert_batch_size: int = Field(100, ge=1, le=100, description="leads per convertLead call (Salesforce's maximum is 100)")

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().removeprefix("https://").removesuffix("/").removesuffix(".salesforce.com")
        if not value:
            return "login"
        return value

    def mode(self) -> AuthMode:
        """The login to use: ``auth`` when set, else the first complete set of credentials."""
        have = {name for name in CREDENTIAL_VARS if getattr(self, name, None) not in (None, "")}
        needs: dict[AuthMode, set[str]] = {
            "jwt": {"username", "consumer_key"},
            "client_credentials": {"consumer_key", "consumer_secret"},
            "oauth_password": {"username", "password", "consumer_key", "consumer_secret"},
            "password": {"username", "password", "security_token"},
            "session": {"instance_url", "session_id"},
        }
        if self.auth is not None:
            missing = needs[self.auth] - have
            if self.auth == "jwt" and not have & {"private_key", "private_key_file"}:
                missing.add("private_key_file")
            if self.auth == "client_credentials" and self.domain in ("login", "test"):
                missing.add("domain")
            if missing:
                raise SalesforceSettingsError(
                    f"SALESFORCE_AUTH={self.auth} needs {', '.join(sorted(_ENV_OF[m] for m in missing))}"
                    + (" (client credentials need your My Domain, e.g. acme.my)" if "domain" in missing else "")
                )
            return self.auth
        if needs["jwt"] <= have and have & {"private_key", "private_key_file"}:
            return "jwt"
        if needs["oauth_password"] <= have:
            return "oauth_password"
        if needs["password"] <= have:
            return "password"
        if needs["client_credentials"] <= have and "username" not in have and self.domain not in ("login", "test"):
            return "client_credentials"
        if needs["session"] <= have:
            return "session"
        raise SalesforceSettingsError(
            "No complete set of Salesforce credentials in the environment. Set SALESFORCE_USERNAME, "
            "SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN (password login); or SALESFORCE_CONSUMER_KEY with "
            "SALESFORCE_CONSUMER_SECRET (+ SALESFORCE_USERNAME/SALESFORCE_PASSWORD) or SALESFORCE_PRIVATE_KEY_FILE "
            "(JWT bearer); or SALESFORCE_INSTANCE_URL with SALESFORCE_SESSION_ID. See the README, section Salesforce."
            + (f" Set now: {', '.join(sorted(_ENV_OF[h] for h in shown))}." if (shown := have - {"domain", "auth"})
               else "")
        )

    def secrets(self) -> list[str]:
        """Every secret value, so messages can be scrubbed of them before they leave the adapter."""
        values = [getattr(self, n) for n in ("password", "security_token", "consumer_secret", "private_key",
                                             "session_id", "consumer_key")]
        return [v.get_secret_value() for v in values if v is not None and len(v.get_secret_value()) >= 4]


def load_settings(values: Mapping[str, object]) -> SalesforceSettings:
    """Validate connector settings; an error names the environment variable behind each bad value."""
    try:
        return SalesforceSettings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            var = _ENV_OF.get(name, name)
            shown = "(hidden)" if name in CREDENTIAL_VARS and name not in ("domain", "auth", "username",
                                                                             "instance_url") else repr(err.get("input"))
            problems.append(f"{var}={shown}: {err['msg']}")
        raise SalesforceSettingsError("Salesforce settings are invalid: " + "; ".join(problems)) from None


def tuning_from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """The tuning variables that are set, by connector field name, checked and typed.

    Raises SalesforceSettingsError naming the variable, e.g.
    ``SALESFORCE_API_BUDGET_SHARE='1.5': Input should be less than or equal to 1``.
    """
    raw = {field: environ[var].strip() for field, var in TUNING_VARS.items() if environ.get(var, "").strip()}
    checked = load_settings(raw)
    return {field: getattr(checked, field) for field in raw}
