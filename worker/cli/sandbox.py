"""``partnerplan sandbox serve``: the local Salesforce and HubSpot for demos, tests and benches.

The sandbox is the optional ``partnerplan[sandbox]`` extra (trustme). Without it this module
raises ImportError when loaded, and :mod:`worker.cli` registers a ``sandbox`` stand-in instead
whose commands say how to install the extra. The sandbox itself is imported only when
``serve`` runs, so that ``partnerplan --help`` stays fast.

``--format env`` prints one ``export NAME=value`` line per variable the starter settings.yaml
(``partnerplan init``) reads: paste them into the shell that runs ``partnerplan``.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def _extra_installed() -> bool:
    """Whether trustme (the sandbox extra) can be imported, without importing it."""
    if "trustme" in sys.modules:
        return sys.modules["trustme"] is not None
    return importlib.util.find_spec("trustme") is not None


if not _extra_installed():  # cli/__init__ registers a stand-in that says how to install it
    raise ImportError("the sandbox extra is not installed", name="trustme")

sandbox_app = typer.Typer(help="Run the local sandbox CRMs.", no_args_is_help=True)
FORMATS = ("text", "json", "env")


def env_of(sheet: dict[str, Any]) -> dict[str, str]:
    """The variables the starter config reads, pointed at the sandbox of ``sheet``."""
    sf, hs = sheet["salesforce"], sheet["hubspot"]
    return {
        "SF_INSTANCE_URL": sf["url"],
        "SF_CLIENT_ID": sf["client_id"],
        "SF_CLIENT_SECRET": sf["client_secret"],
        "SF_CA_BUNDLE": str(sf["ca_bundle"]),
        "HUBSPOT_BASE_URL": hs["url"],
        "HUBSPOT_TOKEN": hs["token"],
    }


def render_env(sheet: dict[str, Any]) -> str:
    """``export NAME=value`` lines, quoted for a POSIX shell."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env_of(sheet).items())


def _faults(text: str | None) -> dict[str, dict[str, Any]] | None:
    from partnerplan.errors import ConfigurationError

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
    seed: Annotated[int, typer.Option(metavar="N", help="Seed for the generated data.")] = 1,
    scale: Annotated[
        int, typer.Option(min=1, metavar="N", help="Number of partners (~500 activities each).")
    ] = 3,
    data: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Load exact records from this JSON file instead."),
    ] = None,
    salesforce_port: Annotated[
        int, typer.Option(metavar="PORT", help="Salesforce port (0 = any free).")
    ] = 0,
    hubspot_port: Annotated[
        int, typer.Option(metavar="PORT", help="HubSpot port (0 = any free).")
    ] = 0,
    faults: Annotated[
        str | None,
        typer.Option(metavar="JSON", help='Faults from the start: {"salesforce": {...}}.'),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            metavar="realistic",
            help="realistic: the CRMs' published latencies and rate limits (every number "
            "adjustable with --faults keys, see sandbox/faults.py).",
            case_sensitive=False,
        ),
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="text|json|env",
            help="text (for people), json, or env (`export` lines for the starter config).",
            case_sensitive=False,
        ),
    ] = "text",
) -> None:
    """Start the sandbox CRMs, print how to connect, and serve until interrupted."""
    import signal
    import threading

    from partnerplan.errors import ConfigurationError
    from sandbox.dataset import DatasetError
    from sandbox.faults import FaultSpecError
    from sandbox.server import load_data, render_text, serve

    chosen = output.lower()
    if chosen not in FORMATS:
        raise ConfigurationError(f"--format: {output!r} is not one of {', '.join(FORMATS)}")
    stop = threading.Event()

    def ready(sheet: dict[str, Any]) -> None:
        if chosen == "json":
            text = json.dumps(sheet, indent=2)
        elif chosen == "env":
            text = render_env(sheet)
        else:
            text = render_text(sheet) + "\n\nFor the starter config (partnerplan init):\n"
            text += render_env(sheet)
        typer.echo(text)
        sys.stdout.flush()

    # Ctrl-C and SIGTERM stop the servers; the handlers they replace come back once serving
    # ends, so a caller in the same process (a test, an embedding program) keeps its own.
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        serve(
            seed=seed,
            scale=scale,
            data=load_data(data) if data else None,
            salesforce_port=salesforce_port,
            hubspot_port=hubspot_port,
            faults=_faults(faults),
            profile=profile.lower() if profile else None,
            ready=ready,
            stop=stop,
        )
    except (DatasetError, FaultSpecError) as exc:
        raise ConfigurationError(str(exc)) from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot start the sandbox: {exc}; pick other ports or 0") from exc
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def register(app: typer.Typer) -> None:
    """Attach ``sandbox`` to the root app."""
    app.add_typer(sandbox_app, name="sandbox")
