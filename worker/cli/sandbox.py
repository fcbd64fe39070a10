"""``partnerplan sandbox serve``: the local Salesforce and HubSpot for demos, tests and benches.

The sandbox is the optional ``partnerplan[sandbox]`` extra (trustme). Without it this module
cannot be imported, and :mod:`worker.cli` registers a ``sandbox`` stand-in instead whose
commands say how to install the extra.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from partnerplan.errors import ConfigurationError
from sandbox.dataset import DatasetError
from sandbox.faults import FaultSpecError
from sandbox.server import load_data, render_text, serve

sandbox_app = typer.Typer(help="Run the local sandbox CRMs.", no_args_is_help=True)


def _faults(text: str | None) -> dict[str, dict[str, Any]] | None:
    if not text:
        return None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f'--faults: not JSON ({exc}); e.g. \'{{"salesforce": {{"latency_ms": 50}}}}\''
        ) from exc
    if not isinstance(spec, dict) or set(spec) - {"salesforce", "hubspot"}:
        raise ConfigurationError('--faults: expected {"salesforce": {...}, "hubspot": {...}}')
    return spec


@sandbox_app.command("serve")
def serve_command(
    seed: Annotated[int, typer.Option(help="Seed for the generated data.")] = 1,
    scale: Annotated[
        int, typer.Option(min=1, help="Number of partners (~500 activities each).")
    ] = 3,
    data: Annotated[
        Path | None, typer.Option(help="Load exact records from this JSON file instead.")
    ] = None,
    salesforce_port: Annotated[int, typer.Option(help="Salesforce port (0 = any free).")] = 0,
    hubspot_port: Annotated[int, typer.Option(help="HubSpot port (0 = any free).")] = 0,
    faults: Annotated[
        str | None, typer.Option(help='Faults from the start, JSON: {"salesforce": {...}}.')
    ] = None,
    output: Annotated[
        str, typer.Option("--format", "-f", help="text or json.", case_sensitive=False)
    ] = "text",
) -> None:
    """Start the sandbox CRMs, print how to connect, and serve until interrupted."""
    if output.lower() not in {"text", "json"}:
        raise ConfigurationError(f"--format: {output!r} is not one of text, json")
    stop = threading.Event()

    def ready(sheet: dict[str, Any]) -> None:
        text = json.dumps(sheet, indent=2) if output.lower() == "json" else render_text(sheet)
        typer.echo(text)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        serve(
            seed=seed,
            scale=scale,
            data=load_data(data) if data else None,
            salesforce_port=salesforce_port,
            hubspot_port=hubspot_port,
            faults=_faults(faults),
            ready=ready,
            stop=stop,
        )
    except (DatasetError, FaultSpecError) as exc:
        raise ConfigurationError(str(exc)) from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot start the sandbox: {exc}; pick other ports or 0") from exc


def register(app: typer.Typer) -> None:
    """Attach ``sandbox`` to the root app."""
    app.add_typer(sandbox_app, name="sandbox")
