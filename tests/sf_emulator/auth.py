"""Authentication: bearer sessions and the OAuth 2.0 token endpoint.

The token endpoint accepts the grants simple-salesforce sends (password,
client_credentials, JWT bearer) when the request is well formed; it does not
verify JWT signatures (tests have no connected app), but it does check the
assertion's shape and claims, so a malformed client is still caught.
SOAP password login lives in ``soap.py`` with the other SOAP calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from urllib.parse import parse_qs

from .server import Response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def bearer(req) -> str | None:
    value = req.header("Authorization") or ""
    for scheme in ("Bearer ", "OAuth "):
        if value.startswith(scheme):
            return value[len(scheme):].strip()
    return None


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


def _b64json(segment: str):
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


def _check_jwt(assertion: str) -> str | None:
    """Returns an error description, or None when the assertion is well formed and current."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return "invalid assertion"
    try:
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, binascii.Error):
        return "invalid assertion"
    if header.get("alg") != "RS256":
        return "invalid assertion: alg must be RS256"
    missing = [c for c in ("iss", "sub", "aud", "exp") if c not in claims]
    if missing:
        return f"invalid assertion: missing {', '.join(missing)}"
    if float(claims["exp"]) < time.time():
        return "expired authorization code"
    return None


def token(emu, req) -> Response:
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8"), keep_blank_values=True).items()}
    grant = form.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "grant type not supported")
    if grant == "password":
        if not form.get("client_id") or not form.get("client_secret"):
            return _oauth_error("invalid_client_id", "client identifier invalid")
        creds = emu.credentials
        if form.get("username") != creds["username"] or form.get("password") not in (
                creds["password"], creds["password"] + (creds["security_token"] or "")):
            return _oauth_error("invalid_grant", "authentication failure")
    elif grant == "client_credentials":
        basic = req.header("Authorization") or ""
        if not (basic.startswith("Basic ") or (form.get("client_id") and form.get("client_secret"))):
            return _oauth_error("invalid_client", "invalid client credentials")
    elif grant == JWT_GRANT:
        problem = _check_jwt(form.get("assertion", ""))
        if problem:
            return _oauth_error("invalid_grant", problem)
    else:
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    access = emu.new_session()
    return Response.json(200, {
        "access_token": access,
        "instance_url": emu.instance_url,
        "id": f"https://login.salesforce.com/id/{emu.org_id}/{emu.user_id}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "signature": base64.b64encode(access[-32:].encode()).decode(),
        "scope": "api",
    })
