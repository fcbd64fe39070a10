"""The ``partnerplan`` command line.

Each area registers its commands from its own module (``core``, ``sandbox``, ``mappings``, ...).
:func:`run` is the one place where exceptions become exit codes: 0 ok; 1 the run failed or is
incomplete (a stream failed or stopped early, targets held back stale, records rejected); 2 bad
input (config problems are printed one per line as ``FILE:LINE: message``); 130 interrupted
(Ctrl-C or SIGTERM). No traceback
reaches a user for an error we raised on purpose, and no message carries a secret.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.exceptions import TyperException

from partnerplan.errors import (
    ConfigProblems,
    ConfigurationError,
    Interrupted,
    PartnerplanError,
)
from partnerplan.logs import configure, redact

app = typer.Typer(
    name="partnerplan",
    help="Keep joint business plans with channel partners current from the CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


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
    """Attach each area's commands; without the sandbox extra, a ``sandbox`` that says so.

    The sandbox is an optional install (``partnerplan[sandbox]``, for trustme), so its command
    module may fail to import. Then ``sandbox`` is still listed, and ``sandbox serve`` with any
    arguments (``--help`` included: the real options cannot be shown) prints how to install the
    extra and exits 2. Only a missing module of that extra is caught: any other ImportError is
    our bug and propagates.
    """
    from importlib import import_module

    extra_modules = {"trustme"}  # what `pip install 'partnerplan[sandbox]'` adds
    install = r"pip install 'partnerplan\[sandbox]'"  # help is Rich markup: \[ keeps the [

    def unavailable(missing: str) -> typer.Typer:
        hint = (
            "error: the sandbox needs the optional dependencies: "
            f"pip install 'partnerplan[sandbox]' (missing module: {missing})"
        )
        group = typer.Typer(
            help=f"Run the local sandbox CRMs (needs: {install}).", no_args_is_help=True
        )

        @group.command(
            "serve",
            help=f"Unavailable until the sandbox extra is installed: {install}.",
            add_help_option=False,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )
        def serve() -> None:
            typer.echo(hint, err=True)
            raise typer.Exit(EXIT_BAD_INPUT)

        return group

    for name in ("core", "flow", "mappings", "plans", "sandbox", "push", "crm", "report"):
        try:
            module = import_module(f"{__name__}.{name}")
        except ImportError as exc:
            missing = exc.name or ""
            if name != "sandbox" or missing.partition(".")[0] not in extra_modules:
                raise
            app.add_typer(unavailable(missing), name="sandbox")
            continue
        module.register(app)


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
    except Interrupted as exc:
        print(redact(str(exc)), file=sys.stderr)
        return EXIT_INTERRUPTED
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
