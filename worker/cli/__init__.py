"""The ``partnerplan`` command line.

Each area registers its commands from its own module (``core``, ``flow``, ``runs``, ...).
:func:`run` is the one place where exceptions become exit codes:

* 0: ok;
* 1: the run failed or was incomplete (a failed or incomplete stream, a rejected write; the
  summary says which and why), or ``status --check`` found stale or failed data;
* 2: bad input or config (config problems are printed one per line as ``FILE:LINE: message``);
* 130: interrupted (Ctrl-C, SIGTERM).

No traceback reaches a user for an error we raised on purpose, and no message carries a secret.

``partnerplan --help`` must answer at once, so this module and every command module import
only Typer and the standard library at load time; what a command needs is imported when it
runs (``tests/test_layout.py`` allows that in ``worker/cli/`` only, and still counts those
imports in its circle check). Help is Click's plain format: Rich's would cost its import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from typer.exceptions import TyperException

from partnerplan import __version__
from partnerplan.errors import ConfigProblems, ConfigurationError, Interrupted, PartnerplanError

app = typer.Typer(
    name="partnerplan",
    help="Keep joint business plans with channel partners current from the CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
LOG_LEVELS = ("debug", "info", "warning", "error")
_invocation: list[str] = []
"""This invocation's arguments: the root callback skips logging setup (structlog's import is
most of a second on a busy machine) when they only ask for help."""
COMMAND_MODULES = (
    "core",
    "flow",
    "runs",
    "mappings",
    "plans",
    "status",
    "sandbox",
    "push",
    "crm",
    "report",
)
"""Each module's ``register(app)`` attaches its commands, in this order."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"partnerplan {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            envvar="PARTNERPLAN_LOG_LEVEL",
            metavar="LEVEL",
            help="debug, info, warning or error (logs go to stderr; JSON when not a TTY).",
        ),
    ] = "warning",
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Keep joint business plans with channel partners current from the CRM."""
    if log_level.lower() not in LOG_LEVELS:
        raise typer.BadParameter("use debug, info, warning or error", param_hint="--log-level")
    if "--help" in _invocation:  # `partnerplan CMD --help` prints help only: nothing to log
        return
    from partnerplan.logs import configure

    configure(log_level.lower())


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
    install = "pip install 'partnerplan[sandbox]'"

    def unavailable(missing: str) -> typer.Typer:
        hint = (
            "error: the sandbox needs the optional dependencies: "
            f"{install} (missing module: {missing})"
        )
        group = typer.Typer(
            help=f"Run the local sandbox CRMs (needs: {install}).",
            short_help=f"needs: {install}",
            no_args_is_help=True,
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

    for name in COMMAND_MODULES:
        try:
            module = import_module(f"{__name__}.{name}")
        except ImportError as exc:
            missing = exc.name or ""
            if name != "sandbox" or missing.partition(".")[0] not in extra_modules:
                raise
            app.add_typer(unavailable(missing), name="sandbox")
            continue
        module.register(app)


def _say(message: str) -> None:
    from partnerplan.logs import redact

    print(redact(message), file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (tests call this directly)."""
    _invocation[:] = list(argv) if argv is not None else sys.argv[1:]
    try:
        result = app(args=list(_invocation), standalone_mode=False)
    except ConfigProblems as exc:
        for problem in exc.problems:
            _say(problem.render())
        return EXIT_BAD_INPUT
    except ConfigurationError as exc:
        _say(f"error: {exc}")
        return EXIT_BAD_INPUT
    except Interrupted as exc:
        _say(str(exc))
        return EXIT_INTERRUPTED
    except PartnerplanError as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return EXIT_INTERRUPTED
    except TyperException as exc:  # usage errors: unknown option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _say(f"error: {exc.format_message()}")
        return EXIT_BAD_INPUT
    return int(result) if isinstance(result, int) else EXIT_OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


_register()
