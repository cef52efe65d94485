"""A CrmResource that reaches the emulator with a full login (password, OAuth...), not just a session id.

Logins go to ``login.salesforce.com`` (or a My Domain), which only the emulator's
redirecting session can reach, so this subclass hands the connector that session.
Credentials still arrive the production way: ``SALESFORCE_*`` variables, through
``dg.EnvVar`` (:func:`pipelines.defs.resources.salesforce_config`).

    monkeypatch.setenv("SALESFORCE_USERNAME", USERNAME) ...
    crm = emulated_resource(emu)        # then pipeline.tick(crm=crm)
"""

from __future__ import annotations

from pipelines.defs.resources import CrmResource, salesforce_config

from .emulator import LOGIN_HOSTS, MY_DOMAIN
from .transport import make_session


class EmulatedCrmResource(CrmResource):
    emulator_netloc: str
    emulator_ca: str

    def http_session(self):
        return make_session(self.emulator_netloc, self.emulator_ca, LOGIN_HOSTS + (MY_DOMAIN,))


def emulated_resource(emu, **overrides) -> EmulatedCrmResource:
    """The resource ``default_resources`` would build for LEADROUTE_CRM=salesforce, wired to ``emu``."""
    return EmulatedCrmResource(kind="salesforce", emulator_netloc=emu.netloc, emulator_ca=emu.ca_bundle_path,
                               **{**salesforce_config(), **overrides})
