"""Salesforce login: the OAuth 2.0 token endpoint (client credentials, refresh token, password,
JWT bearer) and the SOAP partner ``login()``.

Errors use the OAuth body (``{"error", "error_description"}``, 400), not Salesforce's error
array. The JWT bearer grant verifies an RS256 assertion against a key pair generated on first
use (``private_key_file``), checking ``iss`` (client id), ``sub`` (username) and ``exp``; the
audience is not checked, since a sandbox has no login host of its own.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.formats import now_ms
from sandbox.httpbase import Request, Response, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
USERNAME = "integration@partnerplan.sandbox"


def _refuse(error: str, description: str) -> Response:
    return json_response(400, {"error": error, "error_description": description})


class OAuth:
    """Credentials the sandbox org accepts, and the token endpoint that checks them."""

    def __init__(self, client_id: str, client_secret: str, key_dir: Path) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.username = USERNAME
        self.password = "sandbox-password-" + secrets.token_hex(4)
        self.security_token = secrets.token_hex(6)
        self.refresh_token = "5Aep" + secrets.token_urlsafe(24)
        self._key_dir = key_dir
        self._public_key: Any = None
        self._lock = threading.Lock()

    @property
    def private_key_file(self) -> str:
        """A PEM private key whose public half the token endpoint trusts (made on first use)."""
        path = self._key_dir / "sandbox-jwt-key.pem"
        with self._lock:
            if self._public_key is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                path.write_bytes(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
                self._public_key = key.public_key()
        return str(path)

    def handle(self, request: Request, instance_url: str, issue: Callable[[], str]) -> Response:
        """``POST /services/oauth2/token``."""
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.header("authorization")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            refused = self._check_assertion(form.get("assertion", ""))
        elif grant in {"client_credentials", "refresh_token", "password"}:
            refused = self._check_client(grant, client_id, client_secret, form)
        else:
            refused = _refuse("unsupported_grant_type", "grant type not supported")
        if refused is not None:
            return refused
        return json_response(
            200,
            {
                "access_token": issue(),
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                "scope": "api",
                "instance_url": instance_url,
                "id": f"{instance_url}/id/00D8d0000000001EAA/0058d0000000001AAA",
                "token_type": "Bearer",
                "issued_at": str(now_ms()),
            },
        )

    def _check_client(
        self, grant: str, client_id: str | None, client_secret: str | None, form: dict[str, str]
    ) -> Response | None:
        if client_id != self.client_id:
            return _refuse("invalid_client_id", "client identifier invalid")
        if grant != "refresh_token" and client_secret != self.client_secret:
            return _refuse("invalid_client", "invalid client credentials")
        if grant == "refresh_token" and form.get("refresh_token") != self.refresh_token:
            return _refuse("invalid_grant", "expired access/refresh token")
        if grant == "password":
            given = form.get("password", "")
            good = {self.password, self.password + self.security_token}
            if form.get("username") != self.username or given not in good:
                return _refuse("invalid_grant", "authentication failure")
        return None

    def _check_assertion(self, assertion: str) -> Response | None:
        if self._public_key is None:
            return _refuse("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "sub", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return _refuse("invalid_grant", "expired authorization code")
        except jwt.InvalidTokenError:
            return _refuse("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id:
            return _refuse("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != self.username:
            return _refuse("invalid_grant", "user hasn't approved this consumer")
        return None


_SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><loginResponse><result>
<metadataServerUrl>{url}/services/Soap/m/{version}/00D8d0000000001</metadataServerUrl>
<passwordExpired>false</passwordExpired><sandbox>true</sandbox>
<serverUrl>{url}/services/Soap/u/{version}/00D8d0000000001</serverUrl>
<sessionId>{session}</sessionId><userId>0058d0000000001AAA</userId>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""
_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>
<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.\
</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.\
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def soap_login(oauth: OAuth, request: Request, url: str, issue: Callable[[], str]) -> Response:
    """``POST /services/Soap/u/{version}``: the partner API ``login()`` (500 fault when refused)."""
    body = request.body.decode(errors="replace")
    found = {
        name: re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", body, re.DOTALL)
        for name in ("username", "password")
    }
    given = {name: html.unescape(m.group(1)) if m else "" for name, m in found.items()}
    good = {oauth.password, oauth.password + oauth.security_token}
    if given["username"] != oauth.username or given["password"] not in good:
        return Response(500, _SOAP_FAULT.encode(), content_type="text/xml; charset=utf-8")
    version = request.path.rstrip("/").rsplit("/", 1)[-1]
    text = _SOAP_OK.format(url=url, version=version, session=issue())
    return Response(200, text.encode(), content_type="text/xml; charset=utf-8")
