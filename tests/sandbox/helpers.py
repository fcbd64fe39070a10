"""Sandbox test helpers: the reference samples, a shape comparison, a CA-trusting session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

SAMPLES = Path(__file__).parent / "samples"
SF_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"
HS_INSTANT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$"


def sample(name: str) -> Any:
    """A reference body copied from ../shared/reference (sf-*/hs-* prefixed)."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_differences(
    expected: Any, actual: Any, where: str = "$", opaque: tuple[str, ...] = ("properties",)
) -> list[str]:
    """Where ``actual`` lacks a key of ``expected`` or holds another JSON type there.

    ``None`` in either matches anything (a null field is still the same field); lists are
    compared by their first elements; under a key in ``opaque`` (HubSpot's ``properties``,
    whose names in the samples are not ours) only the type is compared.
    """
    if expected is None or actual is None:
        return []
    if _kind(expected) != _kind(actual):
        return [f"{where}: expected {_kind(expected)}, got {_kind(actual)}"]
    if isinstance(expected, dict):
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            elif key in opaque:
                if _kind(value) != _kind(actual[key]) and actual[key] is not None:
                    problems.append(f"{where}.{key}: expected {_kind(value)}")
            else:
                problems.extend(shape_differences(value, actual[key], f"{where}.{key}", opaque))
        return problems
    if isinstance(expected, list) and expected and actual:
        return shape_differences(expected[0], actual[0], f"{where}[0]", opaque)
    return []


class TrustingSession(requests.Session):
    """A session whose ``verify`` (our CA bundle) wins over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE.

    Plain ``requests`` lets those variables replace ``Session.verify`` for every request; this
    is the client-side fix the connectors need, reproduced here to prove the sandbox's TLS works.
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str):
            settings["verify"] = self.verify
        return settings


def trusting(ca_bundle: str) -> TrustingSession:
    """A TrustingSession that trusts ``ca_bundle``."""
    session = TrustingSession()
    session.verify = ca_bundle
    return session


def hs_get(sandbox: Any, path: str) -> Any:
    """``GET path`` on the sandbox's HubSpot with its token, decoded (plain ``requests``)."""
    headers = {"Authorization": f"Bearer {sandbox.hubspot_token}"}
    answer = requests.get(sandbox.hubspot_url + path, headers=headers, timeout=10)
    return answer.json()
