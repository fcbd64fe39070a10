"""The ``partnerplan`` command line.

Each area registers its commands from its own module (``core``, ``sandbox``, ``mappings``, ...).
:func:`run` is the one place where exceptions become exit codes: 0 ok, 1 the run failed,
2 bad input (config problems are printed one per line as ``FILE:LINE: message``). No traceback
reaches a user for an error we raised on purpose, and no message carries a secret.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.exceptions import TyperException

from partnerplan.errors import ConfigProblems, ConfigurationError, PartnerplanError
from partnerplan.logs import configure, redact

app = typer.Typer(
    name="partnerplan",
    help="Keep joint business plans with channel partners current from the CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@app.callback()
def _root(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar="PARTNERPLAN_LOG_LEVEL",
            help="debug, info, warning or error (logs go to stderr; JSON when not a TTY).",
        ),
    ] = "warning",
) -> None:
    """Keep joint business plans with channel partners current from the CRM."""
    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter("use debug, info, warning or error", param_hint="--log-level")
    configure(log_level)


def _register() -> None:
    from importlib import import_module

    for name in ("core", "flow", "mappings", "plans", "sandbox", "push"):
        import_module(f"{__name__}.{name}").register(app)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (tests call this directly)."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except ConfigProblems as exc:
        for problem in exc.problems:
            print(redact(problem.render()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigurationError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PartnerplanError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return EXIT_FAILED
    except TyperException as exc:  # usage errors: unknown option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(result) if isinstance(result, int) else EXIT_OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


_register()
