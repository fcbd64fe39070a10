"""TLS trust: a configured CA bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

``requests`` lets those variables override ``Session.verify`` when ``trust_env`` is on; these
machines set both. The test serves HTTPS with a certificate from a private CA and points both
variables at a *different* CA: the call succeeds only if the source's ``ca_bundle`` is used.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from pydantic import SecretStr

from connectors.salesforce.connector import SalesforceConnector
from connectors.spec import StreamSpec
from partnerplan.errors import FatalError
from tests.connectors.conftest import sf_source

DESCRIBE = {
    "name": "Account",
    "fields": [{"name": "Id", "type": "id"}, {"name": "SystemModstamp", "type": "datetime"}],
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        payload = json.dumps(DESCRIBE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def https_server(tmp_path) -> Iterator[tuple[str, str, str]]:
    """An HTTPS server; yields (url, path of its CA, path of an unrelated CA)."""
    ca, other = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    good, bad = tmp_path / "ca.pem", tmp_path / "other.pem"
    ca.cert_pem.write_to_path(str(good))
    other.cert_pem.write_to_path(str(bad))
    yield f"https://127.0.0.1:{server.server_address[1]}", str(good), str(bad)
    server.shutdown()
    server.server_close()


def _connector(url: str, ca_bundle: str | None, no_sleep) -> SalesforceConnector:
    source = sf_source(
        instance_url=url,
        ca_bundle=ca_bundle,
        auth={"flow": "session", "session_id": SecretStr("00D!tls")},
    )
    return SalesforceConnector("sf", source, retry=no_sleep)


def test_configured_ca_bundle_wins_over_both_env_variables(https_server, monkeypatch, no_sleep):
    """With REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE set to another CA, ca_bundle still applies."""
    url, good, bad = https_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bad)
    monkeypatch.setenv("CURL_CA_BUNDLE", bad)
    described = _connector(url, good, no_sleep).describe("Account")
    assert described["name"] == "Account"


def test_verification_is_on_a_server_signed_by_an_unknown_ca_is_refused(https_server, no_sleep):
    """Without the right CA the call fails (TLS verification is never turned off)."""
    url, _good, bad = https_server
    connector = _connector(url, bad, no_sleep)
    with pytest.raises(FatalError, match="TLS verification"):
        connector.check_fields(StreamSpec("a", "sf", "Account", (), "SystemModstamp"))
