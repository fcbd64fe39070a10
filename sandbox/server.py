"""Running the sandbox CRMs as a process: what ``partnerplan sandbox serve`` calls.

:func:`describe` is the connection sheet printed at start (base URLs, credentials, CA bundle);
:func:`serve` starts the servers, hands the sheet to ``ready`` and blocks until ``stop`` is set
(the CLI sets it on Ctrl-C / SIGTERM), so tests can drive it without a subprocess.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.dataset import DatasetError
from sandbox.hs_data import ACTIVITY_TYPES
from sandbox.sandbox import Sandbox
from sandbox.sf_data import ACTIVITY_OBJECTS


def describe(sandbox: Sandbox) -> dict[str, Any]:
    """Everything a client needs to connect, plus how many activities each CRM holds."""
    sf_tables, hs_tables = sandbox.sf_store.tables, sandbox.hs_store.tables
    salesforce_activities = sum(len(sf_tables[name]) for name in ACTIVITY_OBJECTS)
    hubspot_activities = sum(len(hs_tables[name]) for name in ACTIVITY_TYPES)
    return {
        "salesforce": {
            "url": sandbox.salesforce_url,
            "session_id": sandbox.salesforce_session_id,
            "client_id": sandbox.salesforce_client_id,
            "client_secret": sandbox.salesforce_client_secret,
            "refresh_token": sandbox.salesforce_refresh_token,
            "username": sandbox.salesforce_username,
            "password": sandbox.salesforce_password,
            "security_token": sandbox.salesforce_security_token,
            "private_key_file": sandbox.salesforce_private_key_file,
            "token_url": f"{sandbox.salesforce_url}/services/oauth2/token",
            "ca_bundle": sandbox.ca_bundle,
            "activities": salesforce_activities,
        },
        "hubspot": {
            "url": sandbox.hubspot_url,
            "token": sandbox.hubspot_token,
            "activities": hubspot_activities,
        },
        "activities": salesforce_activities + hubspot_activities,
        "seed": sandbox.world.seed,
        "scale": sandbox.world.scale,
        "anchor": sandbox.world.anchor.isoformat(),
        "profile": sandbox.profile,
    }


def render_text(sheet: dict[str, Any]) -> str:
    """The connection sheet for a human."""
    sf, hs = sheet["salesforce"], sheet["hubspot"]
    return "\n".join(
        [
            f"Salesforce  {sf['url']}   (TLS; trust {sf['ca_bundle']})",
            f"  session id     {sf['session_id']}",
            f"  client id      {sf['client_id']}",
            f"  client secret  {sf['client_secret']}",
            f"  refresh token  {sf['refresh_token']}",
            f"  username       {sf['username']}  (password {sf['password']})",
            f"  activities     {sf['activities']:,}",
            f"HubSpot     {hs['url']}",
            f"  token          {hs['token']}",
            f"  activities     {hs['activities']:,}",
            f"seed {sheet['seed']}, scale {sheet['scale']} partners, "
            f"{sheet['activities']:,} activities as of {sheet['anchor']}",
            *([f"profile {sheet['profile']}"] if sheet.get("profile") else []),
        ]
    )


def load_data(path: Path) -> dict[str, Any]:
    """Read a ``--data`` file.

    Raises:
        DatasetError: the file is missing or is not a JSON object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the sandbox data file: {exc}") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: the sandbox data file must hold a JSON object")
    return data


def serve(
    *,
    seed: int = 1,
    scale: int = 3,
    data: dict[str, Any] | None = None,
    salesforce_port: int = 0,
    hubspot_port: int = 0,
    faults: dict[str, dict[str, Any]] | None = None,
    profile: str | None = None,
    ready: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Start both servers, report the connection sheet to ``ready``, serve until ``stop``."""
    stop = stop or threading.Event()
    with Sandbox(
        seed=seed,
        scale=scale,
        data=data,
        salesforce_port=salesforce_port,
        hubspot_port=hubspot_port,
        faults=faults,
        profile=profile,
    ) as sandbox:
        if ready is not None:
            ready(describe(sandbox))
        stop.wait()
