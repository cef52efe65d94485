"""A test certificate authority, so the emulator speaks real TLS.

simple-salesforce builds every URL with ``https://``, so the emulator must
serve HTTPS; clients trust it through a CA bundle file (``session.verify`` or
``REQUESTS_CA_BUNDLE``) instead of turning verification off, which keeps the
code path the pipeline runs in production. The CA and its leaf certificate
are made once per process (key generation is the slow part).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import ssl
import tempfile
from pathlib import Path

import trustme


@functools.lru_cache(maxsize=None)
def _material():
    ca = trustme.CA(organization_name="sf_emulator test CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    folder = Path(tempfile.mkdtemp(prefix="sf_emulator_ca_"))
    atexit.register(shutil.rmtree, folder, True)
    bundle = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ca, leaf, bundle


def ca_bundle_path() -> str:
    """Path of a PEM file with the test CA, for ``verify=`` / ``REQUESTS_CA_BUNDLE``."""
    return str(_material()[2])


def server_context() -> ssl.SSLContext:
    """Server-side TLS context presenting a certificate for 127.0.0.1 and localhost."""
    _, leaf, _ = _material()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(ctx)
    return ctx
