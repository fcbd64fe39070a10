"""Salesforce login flows and session renewal, against `responses` (the client uses requests)."""

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from connectors.errors import AuthenticationFailed
from connectors.salesforce.connector import SalesforceConnector
from connectors.spec import StreamSpec
from tests.connectors.conftest import INSTANCE, TOKEN_URL, sf_source

QUERY_URL = f"{INSTANCE}/services/data/v62.0/query/"
SPEC = StreamSpec("opps", "sf", "Account", ("Name",), "SystemModstamp")
DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Name", "type": "string"},
        {"name": "SystemModstamp", "type": "datetime"},
    ],
}


def _token(value: str) -> dict[str, str]:
    return {"access_token": value, "instance_url": INSTANCE, "token_type": "Bearer"}


def _form(call: responses.Call) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


def _record(n: int, stamp: str = "2026-01-01T00:00:00.000+0000") -> dict[str, object]:
    return {
        "attributes": {"type": "Account"},
        "Id": f"001000000000{n:03d}AAA",
        "Name": f"A{n}",
        "SystemModstamp": stamp,
    }


@responses.activate
def test_client_credentials_posts_to_the_configured_token_url_and_uses_the_token():
    """The client-credentials grant goes to token_url; later calls carry the issued token."""
    responses.post(TOKEN_URL, json=_token("tok-1"))
    responses.get(f"{INSTANCE}/services/data/v62.0/sobjects/Account/describe/", json=DESCRIBE)
    connector = SalesforceConnector("sf", sf_source())
    connector.check_fields(SPEC)
    form = _form(responses.calls[0])
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "client-id-123",
        "client_secret": "client-secret-456",
    }
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-1"


@responses.activate
def test_refresh_token_flow_sends_the_refresh_token():
    """The refresh-token grant sends client id, secret and refresh token."""
    responses.post(TOKEN_URL, json=_token("tok-1"))
    source = sf_source(auth={"flow": "refresh_token", "refresh_token": SecretStr("r-789")})
    token = SalesforceConnector("sf", source).auth.login()
    assert token.access_token == "tok-1"
    assert _form(responses.calls[0])["grant_type"] == "refresh_token"
    assert _form(responses.calls[0])["refresh_token"] == "r-789"


@responses.activate
def test_jwt_bearer_flow_signs_an_assertion_for_the_token_host(tmp_path):
    """The JWT bearer grant sends an RS256 assertion: iss=client id, sub=user, aud=login host."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    responses.post(TOKEN_URL, json=_token("tok-jwt"))
    source = sf_source(
        auth={"flow": "jwt_bearer", "username": "sync@acme.test", "private_key_file": str(key_file)}
    )
    SalesforceConnector("sf", source).auth.login()
    form = _form(responses.calls[0])
    claims = jwt.decode(
        form["assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://login.example.test",
    )
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert (claims["iss"], claims["sub"]) == ("client-id-123", "sync@acme.test")


@responses.activate
def test_password_flow_without_client_id_uses_soap_login():
    """Username + password + security token without a connected app logs in over SOAP."""
    soap = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        "<serverUrl>https://acme-api.my.salesforce.com/services/Soap/u/62.0/00D</serverUrl>"
        "<sessionId>00D!soap-session</sessionId></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    responses.post("https://login.example.test/services/Soap/u/62.0", body=soap)
    source = sf_source(
        auth={
            "flow": "password",
            "client_id": None,
            "client_secret": None,
            "username": "sync@acme.test",
            "password": SecretStr("pw<&>"),
            "security_token": SecretStr("sectok"),
        }
    )
    token = SalesforceConnector("sf", source).auth.login()
    sent = responses.calls[0].request.body
    sent = sent.decode() if isinstance(sent, bytes) else sent
    assert (
        token.access_token,
        token.instance_url,
    ) == ("00D!soap-session", "https://acme.my.salesforce.com")
    assert "<urn:password>pw&lt;&amp;&gt;sectok</urn:password>" in sent


@responses.activate
def test_password_flow_with_client_id_uses_the_oauth_password_grant():
    """With a connected app, the password grant sends the password followed by the token."""
    responses.post(TOKEN_URL, json=_token("tok-pw"))
    source = sf_source(
        auth={
            "flow": "password",
            "username": "sync@acme.test",
            "password": SecretStr("pw"),
            "security_token": SecretStr("sectok"),
        }
    )
    SalesforceConnector("sf", source).auth.login()
    assert (
        _form(responses.calls[0])["grant_type"],
        _form(responses.calls[0])["password"],
    ) == ("password", "pwsectok")


@responses.activate
def test_rejected_credentials_are_fatal_and_the_message_carries_no_secret():
    """A 400 from the token endpoint is AuthenticationFailed, naming the flow, not the secret."""
    responses.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_client", "error_description": "invalid client credentials"},
    )
    connector = SalesforceConnector("sf", sf_source())
    with pytest.raises(AuthenticationFailed) as caught:
        connector.check_fields(SPEC)
    assert "client_credentials" in str(caught.value)
    assert "client-secret-456" not in str(caught.value)
    assert "client-secret-456" not in repr(connector)


@responses.activate
def test_missing_settings_for_a_flow_are_a_configuration_error():
    """A flow without its required settings is reported before any call, naming them."""
    from partnerplan.errors import ConfigurationError

    source = sf_source(auth={"flow": "refresh_token"})
    with pytest.raises(ConfigurationError, match="refresh_token"):
        SalesforceConnector("sf", source)


@responses.activate
def test_session_expiry_mid_pagination_reauthenticates_once_and_resumes_the_page(no_sleep):
    """A 401 on page 2 logs in again and re-fetches page 2: every record once, two logins."""
    responses.post(TOKEN_URL, json=_token("tok-1"))
    responses.post(TOKEN_URL, json=_token("tok-2"))
    responses.get(f"{INSTANCE}/services/data/v62.0/sobjects/Account/describe/", json=DESCRIBE)
    more = "/services/data/v62.0/query/01g-2"
    responses.get(
        QUERY_URL, json={"done": False, "nextRecordsUrl": more, "records": [_record(1), _record(2)]}
    )
    responses.get(
        INSTANCE + more,
        status=401,
        json=[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}],
    )
    responses.get(INSTANCE + more, json={"done": True, "records": [_record(3)]})
    connector = SalesforceConnector("sf", sf_source(), retry=no_sleep)
    ids = [r["Id"] for page in connector.pull(SPEC, None) for r in page.records]
    token_calls = [c for c in responses.calls if c.request.url == TOKEN_URL]
    last = responses.calls[-1].request
    assert [_record(n)["Id"] for n in (1, 2, 3)] == ids
    assert len(token_calls) == 2
    assert last.headers["Authorization"] == "Bearer tok-2"


@responses.activate
def test_a_fresh_token_rejected_again_is_fatal_not_a_loop(no_sleep):
    """If the new token is refused too, the pull stops with AuthenticationFailed after 2 logins."""
    responses.post(TOKEN_URL, json=_token("tok-1"))
    responses.get(
        f"{INSTANCE}/services/data/v62.0/sobjects/Account/describe/",
        status=401,
        json=[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}],
    )
    connector = SalesforceConnector("sf", sf_source(), retry=no_sleep)
    with pytest.raises(AuthenticationFailed, match="freshly issued token"):
        connector.check_fields(SPEC)
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 2


@responses.activate
def test_fixed_session_id_is_used_directly_and_a_401_is_fatal(no_sleep):
    """The session flow sends the configured session id; when it expires there is no login."""
    responses.get(
        f"{INSTANCE}/services/data/v62.0/sobjects/Account/describe/",
        status=401,
        json=[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}],
    )
    source = sf_source(auth={"flow": "session", "session_id": SecretStr("00D!fixed")})
    connector = SalesforceConnector("sf", source, retry=no_sleep)
    with pytest.raises(AuthenticationFailed, match="fixed session id"):
        connector.check_fields(SPEC)
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer 00D!fixed"]
