"""Getting a Salesforce access token: OAuth 2.0 flows, SOAP username/password, or a fixed session.

simple-salesforce hard-codes its login URLs to ``https://{domain}.salesforce.com``, so the token
is fetched here, against the configured ``token_url`` (default: the instance's own
``/services/oauth2/token``), and simple-salesforce is then built in its "direct" mode with the
token. That also keeps re-authentication in our hands: the library's own 401 refresh can recurse
without end (reference §1.4), ours happens at most once per call.

Flows (``auth.flow`` in settings.yaml):

* ``client_credentials``: ``client_id`` + ``client_secret``.
* ``refresh_token``: ``client_id`` (+ ``client_secret``) + ``refresh_token``.
* ``jwt_bearer``: ``client_id`` + ``username`` + ``private_key_file`` (RS256 assertion).
* ``password``: ``username`` + ``password`` + ``security_token``; the OAuth password grant when
  ``client_id``/``client_secret`` are set, the SOAP ``login()`` call otherwise.
* ``session``: a fixed ``session_id``; it cannot be renewed, so a 401 is fatal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import jwt
import requests

from connectors.errors import AuthenticationFailed, TransientHttpError
from connectors.salesforce.settings import SalesforceSource
from partnerplan.errors import ConfigurationError
from partnerplan.logs import redact, register_secret

_SOAP_NS = {"sf": "urn:partner.soap.sforce.com"}


@dataclass(frozen=True)
class Token:
    """An access token and the instance it is valid for. The token never shows in a repr."""

    access_token: str = field(repr=False)
    instance_url: str


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


class SalesforceAuth:
    """Fetches access tokens for one Salesforce source."""

    def __init__(
        self, source_name: str, source: SalesforceSource, session: requests.Session
    ) -> None:
        self.source_name = source_name
        self.source = source
        self.session = session
        self.flow = source.auth.flow
        instance = source.instance_url.rstrip("/")
        self.token_url = source.auth.token_url or f"{instance}/services/oauth2/token"
        self._check_settings()

    @property
    def can_refresh(self) -> bool:
        """Whether a new token can be fetched (not for a fixed session id)."""
        return self.flow != "session"

    def __repr__(self) -> str:
        return f"SalesforceAuth(source={self.source_name!r}, flow={self.flow!r})"

    def _check_settings(self) -> None:
        auth = self.source.auth
        needed = {
            "client_credentials": ("client_id", "client_secret"),
            "refresh_token": ("client_id", "refresh_token"),
            "jwt_bearer": ("client_id", "username", "private_key_file"),
            "password": ("username", "password", "security_token"),
            "session": ("session_id",),
        }[self.flow]
        missing = [name for name in needed if getattr(auth, name) in (None, "")]
        if missing:
            raise ConfigurationError(
                f"source {self.source_name!r}: auth flow {self.flow!r} needs "
                f"{', '.join(missing)} under auth: in settings.yaml (secrets as ${{ENV_VAR}})"
            )

    def login(self) -> Token:
        """Fetch a fresh token (or return the fixed session)."""
        auth = self.source.auth
        if self.flow == "session":
            return Token(_secret(auth.session_id) or "", self.source.instance_url.rstrip("/"))
        if self.flow == "password" and auth.client_id is None:
            return self._soap_login()
        return self._oauth(self._grant())

    def _grant(self) -> dict[str, str]:
        auth = self.source.auth
        client_id, client_secret = _secret(auth.client_id), _secret(auth.client_secret)
        data: dict[str, str] = {"client_id": client_id or ""}
        if client_secret:
            data["client_secret"] = client_secret
        if self.flow == "client_credentials":
            data["grant_type"] = "client_credentials"
        elif self.flow == "refresh_token":
            data["grant_type"] = "refresh_token"
            data["refresh_token"] = _secret(auth.refresh_token) or ""
        elif self.flow == "password":
            data["grant_type"] = "password"
            data["username"] = auth.username or ""
            data["password"] = (_secret(auth.password) or "") + (_secret(auth.security_token) or "")
        else:
            data = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._assertion(),
            }
        return data

    def _assertion(self) -> str:
        auth = self.source.auth
        parts = urlsplit(self.token_url)
        key_path = Path(auth.private_key_file or "")
        try:
            key = key_path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"source {self.source_name!r}: cannot read auth.private_key_file "
                f"{str(key_path)!r} ({exc.__class__.__name__}); point it at the PEM private key "
                f"whose certificate is uploaded to the connected app"
            ) from exc
        claims = {
            "iss": _secret(auth.client_id),
            "sub": auth.username,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 180,
        }
        return jwt.encode(claims, key, algorithm="RS256")

    def _post(self, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.post(url, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise AuthenticationFailed(
                f"source {self.source_name!r}: TLS verification failed for {url}; set "
                f"ca_bundle to the CA that signed the server's certificate"
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientHttpError(
                f"source {self.source_name!r}: login at {url} failed: {exc.__class__.__name__}"
            ) from exc

    def _oauth(self, data: dict[str, str]) -> Token:
        response = self._post(self.token_url, data=data)
        if response.status_code >= 500:
            raise TransientHttpError(
                f"source {self.source_name!r}: token endpoint {self.token_url} answered "
                f"{response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):  # a wrong token_url answers Salesforce's error list
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            reason = f"{body.get('error', response.status_code)}: {body.get('error_description')}"
            raise AuthenticationFailed(
                f"source {self.source_name!r}: Salesforce rejected the {self.flow} login at "
                f"{self.token_url} ({redact(reason)}); check the credentials, the connected "
                f"app's policies and auth.token_url in settings.yaml"
            )
        register_secret(body["access_token"])
        instance = str(body.get("instance_url") or self.source.instance_url).rstrip("/")
        return Token(body["access_token"], instance)

    def _soap_login(self) -> Token:
        auth = self.source.auth
        parts = urlsplit(self.token_url)
        url = f"{parts.scheme}://{parts.netloc}/services/Soap/u/{self.source.api_version}"
        secret = (_secret(auth.password) or "") + (_secret(auth.security_token) or "")
        envelope = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
            f"<urn:username>{escape(auth.username or '')}</urn:username>"
            f"<urn:password>{escape(secret)}</urn:password>"
            "</urn:login></env:Body></env:Envelope>"
        )
        response = self._post(
            url, data=envelope, headers={"Content-Type": "text/xml", "SOAPAction": "login"}
        )
        if response.status_code >= 502:
            raise TransientHttpError(
                f"source {self.source_name!r}: SOAP login at {url} answered {response.status_code}"
            )
        try:
            root = ElementTree.fromstring(response.content)  # noqa: S314  # our login server's answer, not user input
        except ElementTree.ParseError:
            root = ElementTree.Element("empty")
        session_id = _find(root, "sessionId")
        server_url = _find(root, "serverUrl")
        if response.status_code != 200 or not session_id or not server_url:
            code = _find(root, "exceptionCode") or _find(root, "faultcode") or "unknown"
            raise AuthenticationFailed(
                f"source {self.source_name!r}: Salesforce rejected the password login at {url} "
                f"({redact(code)}); check auth.username, the password and the security token"
            )
        register_secret(session_id)
        server = urlsplit(server_url)
        return Token(session_id, f"https://{server.netloc.replace('-api', '')}")


def _find(root: ElementTree.Element, local_name: str) -> str | None:
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == local_name and element.text:
            return element.text
    return None
