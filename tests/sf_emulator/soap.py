"""The two SOAP (partner API) calls the pipeline needs: ``login`` and ``convertLead``.

Lead conversion has no REST resource, so the connector posts a partner-API
envelope itself; this module answers it the way Salesforce does, including
per-lead ``success``/``errors`` and SOAP faults for bad sessions and limits.
Login answers a ``serverUrl`` on the emulator, which is how simple-salesforce
learns the instance (``127.0.0.1:PORT``) it uses for every later call.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from .errors import ApiError, RecordError
from .server import Response
from .transport import ORIGINAL_HOST_HEADER

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
XML = "text/xml;charset=UTF-8"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem, name: str):
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text(elem, name: str) -> str | None:
    c = _child(elem, name)
    if c is None:
        return None
    if c.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        return None
    return (c.text or "").strip() or None


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def _envelope(body: str, header: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{PARTNER}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{f'<soapenv:Header>{header}</soapenv:Header>' if header else ''}"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def fault(code: str, message: str, kind: str = "UnexpectedErrorFault", status: int = 500) -> Response:
    msg = html.escape(message)
    body = (
        "<soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring>"
        f'<detail><sf:{kind} xmlns:sf="urn:fault.partner.soap.sforce.com" xsi:type="sf:{kind}">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{msg}</sf:exceptionMessage>"
        f"</sf:{kind}></detail></soapenv:Fault>"
    )
    # Salesforce's fault envelopes declare no default namespace, so faultcode/faultstring are unqualified.
    envelope = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
                f'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")
    return Response(status, envelope.encode(), XML)


def handle(emu, req) -> Response:
    try:
        root = ET.fromstring(req.body)
    except ET.ParseError as exc:
        return fault("INVALID_XML", f"the request is not XML: {exc}", "UnexpectedErrorFault")
    body = _child(root, "Body")
    call = next(iter(body), None) if body is not None else None
    if call is None:
        return fault("INVALID_OPERATION", "No operation in the SOAP body")
    name = _local(call.tag)
    if name == "login":
        return _login(emu, call, req)
    header = _child(root, "Header")
    session = _text(_child(header, "SessionHeader"), "sessionId") if header is not None and _child(header, "SessionHeader") is not None else None
    if session not in emu.sessions or emu.faults.take("expire", req.method, req.path):
        return fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    try:
        emu.count_api_call()
    except ApiError as err:
        return fault(err.code, err.message)
    if name == "convertLead":
        with emu.org.lock:
            return _convert_lead(emu, call)
    return fault("INVALID_OPERATION", f"sf_emulator does not implement SOAP call {name}")


def _login(emu, call, req) -> Response:
    creds = emu.credentials
    username, password = _text(call, "username"), _text(call, "password")
    accepted = {creds["password"] + (creds["security_token"] or ""), creds["password"]}
    if username != creds["username"] or password not in accepted:
        return fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.", "LoginFault")
    session = emu.new_session()
    version = req.path.rstrip("/").split("/")[4] if len(req.path.split("/")) > 4 else emu.api_version
    sandbox = "true" if (req.header(ORIGINAL_HOST_HEADER) or "").startswith("test.") else "false"
    base = emu.instance_url
    result = (
        "<loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{emu.org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired>"
        f"<sandbox>{sandbox}</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{emu.org_id}</serverUrl>"
        f"<sessionId>{session}</sessionId>"
        f"<userId>{emu.user_id}</userId>"
        "<userInfo>"
        f"<organizationId>{emu.org_id}</organizationId><userEmail>{html.escape(creds['username'])}</userEmail>"
        f"<userId>{emu.user_id}</userId><userName>{html.escape(creds['username'])}</userName>"
        "<userTimeZone>UTC</userTimeZone>"
        "</userInfo>"
        "</result></loginResponse>"
    )
    return Response(200, _envelope(result), XML)


def _id(value: str | None) -> str:
    return f"<{{tag}}>{value}</{{tag}}>" if value else '<{tag} xsi:nil="true"/>'


def _convert_lead(emu, call) -> Response:
    converts = [c for c in call if _local(c.tag) == "leadConverts"]
    if not converts:
        return fault("INVALID_FIELD", "convertLead needs at least one leadConverts element")
    if len(converts) > 100:
        return fault("LIMIT_EXCEEDED", "Cannot convert more than 100 leads in one call")
    results = []
    for c in converts:
        lead_id = _text(c, "leadId")
        try:
            ids = emu.org.convert_lead(
                lead_id, _text(c, "convertedStatus"), account_id=_text(c, "accountId"),
                contact_id=_text(c, "contactId"), owner_id=_text(c, "ownerId"),
                do_not_create_opportunity=_bool(_text(c, "doNotCreateOpportunity")),
                opportunity_name=_text(c, "opportunityName"),
                overwrite_lead_source=_bool(_text(c, "overwriteLeadSource")))
            if _bool(_text(c, "sendNotificationEmail")):
                emu.notification_emails.append(lead_id)  # what the org would email the new owner about
            results.append(
                "<result>"
                + _id(ids["accountId"]).format(tag="accountId")
                + _id(ids["contactId"]).format(tag="contactId")
                + _id(ids["leadId"]).format(tag="leadId")
                + _id(ids["opportunityId"]).format(tag="opportunityId")
                + "<success>true</success></result>")
        except RecordError as err:
            fields = "".join(f"<fields>{html.escape(f)}</fields>" for f in err.fields)
            results.append(
                '<result><accountId xsi:nil="true"/><contactId xsi:nil="true"/>'
                f"<errors>{fields}<message>{html.escape(err.message)}</message>"
                f"<statusCode>{err.code}</statusCode></errors>"
                + _id(lead_id).format(tag="leadId")
                + '<opportunityId xsi:nil="true"/><success>false</success></result>')
    header = ("<LimitInfoHeader><limitInfo>"
              f"<current>{emu.api_usage}</current><limit>{emu.daily_api_limit}</limit><type>API REQUESTS</type>"
              "</limitInfo></LimitInfoHeader>")
    return Response(200, _envelope(f"<convertLeadResponse>{''.join(results)}</convertLeadResponse>", header), XML)
