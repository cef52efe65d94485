"""pytest fixtures for the Salesforce emulator.

``tests/conftest.py`` imports these, so any test under ``tests/`` can ask for
``sf_emulator`` (a running, empty org with the local CRM's schema) and
``sf_client`` (a simple-salesforce client logged in to it by SOAP password
login through ``sf_emulator.requests_session()``). Elsewhere, import them:
``from tests.sf_emulator.fixtures import sf_emulator, sf_client  # noqa: F401``.
"""

from __future__ import annotations

import pytest

from .emulator import MY_DOMAIN, PASSWORD, SECURITY_TOKEN, USERNAME, Emulator


def connect(emu: Emulator, auth: str = "password", **kwargs):
    """A simple_salesforce.Salesforce connected to ``emu``.

    ``auth``: ``"password"`` (SOAP login at login.salesforce.com, redirected),
    ``"session"`` (``instance_url`` + a session id issued by the emulator),
    ``"client_credentials"`` (OAuth at the My Domain host ``leadroute.my``).
    Extra keyword arguments go to ``Salesforce(...)`` (e.g. ``version``).
    """
    from simple_salesforce import Salesforce

    session = kwargs.pop("session", None) or emu.requests_session()
    kwargs.setdefault("version", emu.api_version)
    if auth == "password":
        return Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                          session=session, **kwargs)
    if auth == "session":
        return Salesforce(instance_url=emu.instance_url, session_id=emu.new_session(), session=session, **kwargs)
    if auth == "client_credentials":
        return Salesforce(consumer_key="emulator-key", consumer_secret="emulator-secret",
                          domain=MY_DOMAIN.removesuffix(".salesforce.com"), session=session, **kwargs)
    raise ValueError(f"unknown auth {auth!r}")


@pytest.fixture
def sf_emulator():
    """A running emulator with an empty org (local CRM schema); stopped after the test.

    Fails the test at teardown if the emulator itself crashed on a request
    (it answered 500 UNKNOWN_EXCEPTION and kept the traceback).
    """
    with Emulator() as emu:
        yield emu
    assert not emu.internal_errors, "sf_emulator crashed:\n" + "\n".join(emu.internal_errors)


@pytest.fixture
def sf_client(sf_emulator):
    """simple_salesforce.Salesforce logged in to ``sf_emulator`` by password."""
    return connect(sf_emulator)
