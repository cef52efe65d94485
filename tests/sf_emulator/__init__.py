"""A local Salesforce org for tests: real HTTPS, in-memory records, simple-salesforce unmodified.

    from tests.sf_emulator import Emulator

    with Emulator() as emu:                       # HTTPS on 127.0.0.1:<ephemeral>
        emu.load_sqlite("data/local_crm.sqlite")  # or emu.insert("Lead", LastName=..., ...)
        sf = Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                        session=emu.requests_session())
        sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false")
        emu.faults.lock_records({lead_id}); emu.requests.count(path_contains="/query")

Modules: ``emulator`` (the object tests hold), ``server`` (HTTP/TLS), ``certs``
(test CA), ``transport`` (the redirecting requests session), ``auth``
(sessions, OAuth), ``soap`` (login, convertLead), ``rest`` (query, sObjects,
collections, limits), ``bulk`` (Bulk API 2.0), ``soql`` (parser/evaluator),
``store`` (records and write rules), ``schema`` (metadata from SQLite),
``values`` (type coercion), ``faults`` (fault injection), ``fixtures`` (pytest).
"""

from .emulator import (LOGIN_HOSTS, MY_DOMAIN, ORG_ID, PASSWORD, SECURITY_TOKEN, USERNAME, Clock, Emulator,
                       LoggedRequest, RequestLog)
from .errors import ApiError, RecordError

__all__ = ["Emulator", "Clock", "LoggedRequest", "RequestLog", "ApiError", "RecordError",
           "USERNAME", "PASSWORD", "SECURITY_TOKEN", "ORG_ID", "LOGIN_HOSTS", "MY_DOMAIN"]
