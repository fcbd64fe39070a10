"""Clients for the sandbox contract tests: the unmodified simple-salesforce and hubspot-api-client.

The machine sets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE; the ``sf`` fixture sets both explicitly
(to the system bundle, which does not trust the sandbox CA) so every Salesforce test proves the
configured CA bundle still takes effect.
"""

from __future__ import annotations

import certifi
import hubspot
import pytest
from simple_salesforce import Salesforce

from sandbox import Sandbox
from tests.sandbox.helpers import trusting

API_VERSION = "62.0"


@pytest.fixture
def ca_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE point at a bundle without the sandbox CA."""
    bundle = certifi.where()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", bundle)
    return bundle


@pytest.fixture
def sf(sandbox: Sandbox, ca_env: str) -> Salesforce:
    """simple-salesforce on the sandbox, with a session id, trusting the sandbox CA."""
    return Salesforce(
        instance_url=sandbox.salesforce_url,
        session_id=sandbox.salesforce_session_id,
        session=trusting(sandbox.ca_bundle),
        version=API_VERSION,
    )


@pytest.fixture
def hs(sandbox: Sandbox) -> hubspot.Client:
    """hubspot-api-client 12 on the sandbox's HubSpot."""
    return hubspot.Client.create(access_token=sandbox.hubspot_token, host=sandbox.hubspot_url)
