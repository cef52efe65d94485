"""Logging in: every flow simple-salesforce supports, called by leadroute, never by simple-salesforce itself.

leadroute logs in with simple-salesforce's ``SalesforceLogin`` and then hands the
session id to a ``Salesforce`` client built in "direct" mode. That client never
re-logs in on its own: on a 401 it raises, and :mod:`.client` decides whether to
log in again, a bounded number of times. (Left to itself, simple-salesforce's
``SFType`` re-logs in without bound on a repeated 401: issue #804.)
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from pipelines.crm.base import CrmUnavailable
from pipelines.crm.salesforce.settings import SalesforceSettings


@dataclass(frozen=True)
class Login:
    session_id: str
    instance: str  # host[:port], as simple-salesforce keeps it

    def __repr__(self) -> str:  # the session id is a secret
        return f"Login(instance={self.instance!r})"


def can_refresh(settings: SalesforceSettings) -> bool:
    """A session id handed in cannot be renewed; every other flow can log in again."""
    return settings.mode() != "session"


def login(settings: SalesforceSettings, http: requests.Session) -> Login:
    """Log in with the configured flow. A refusal is a CrmUnavailable that names the flow, never a secret."""
    mode = settings.mode()
    if mode == "session":
        url = requests.utils.urlparse(settings.instance_url or "")
        if url.scheme != "https" or not url.hostname:
            raise CrmUnavailable("INVALID_INSTANCE_URL",
                                 "SALESFORCE_INSTANCE_URL must be the org's https URL, e.g. https://acme.my.salesforce.com")
        return Login(settings.session_id.get_secret_value(), url.netloc)
    secret = _reveal
    kwargs: dict = {"session": http, "sf_version": settings.api_version, "domain": settings.domain}
    if mode == "password":
        kwargs |= {"username": settings.username, "password": secret(settings.password),
                   "security_token": secret(settings.security_token)}
    elif mode == "oauth_password":
        kwargs |= {"username": settings.username, "password": secret(settings.password),
                   "consumer_key": secret(settings.consumer_key), "consumer_secret": secret(settings.consumer_secret)}
    elif mode == "jwt":
        kwargs |= {"username": settings.username, "consumer_key": secret(settings.consumer_key),
                   "privatekey_file": settings.private_key_file, "privatekey": secret(settings.private_key)}
    elif mode == "client_credentials":
        kwargs |= {"consumer_key": secret(settings.consumer_key), "consumer_secret": secret(settings.consumer_secret)}
    try:
        session_id, instance = SalesforceLogin(**kwargs)
    except SalesforceAuthenticationFailed as exc:
        raise CrmUnavailable(
            "LOGIN_FAILED",
            f"Salesforce refused the {mode} login at {settings.domain}.salesforce.com ({exc.code}: {exc.auth_message}). "
            f"Check the SALESFORCE_* credentials and that the user may use the API.",
        ) from None
    return Login(session_id, instance)


def client(login_: Login, settings: SalesforceSettings, http: requests.Session) -> Salesforce:
    """A simple-salesforce client on an existing session: it never logs in by itself."""
    return Salesforce(instance=login_.instance, session_id=login_.session_id, session=http,
                      version=settings.api_version)


def _reveal(value) -> str | None:
    return value.get_secret_value() if value is not None else None
