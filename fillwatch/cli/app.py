"""The command line: the ``fillwatch`` application, its entry point, and Click's usage errors in one line.

The commands themselves are built in :mod:`fillwatch.cli.commands` (one per
venue of the registry, plus ``demo`` and ``replay``), inside the error
boundary of :mod:`fillwatch.cli.boundary`; ``fillwatch --profile NAME`` is
rewritten to its venue's command by :mod:`fillwatch.cli.argv`.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated

import typer

try:  # the Click that typer raises from: recent typers carry their own copy (a Click installed beside it is not it)
    from typer._click import exceptions as click_errors
except ImportError:  # typer up to 0.2x depends on Click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from fillwatch import __version__
from fillwatch.cli import commands
from fillwatch.cli.argv import profile_argv
from fillwatch.core.errors import ExitCode, FillwatchError

__all__ = ["app", "main", "profile_argv"]

app = typer.Typer(
    name="fillwatch",
    help=(
        "Tail your own fills and cancels on Kalshi and Novig.\n\n"
        "fillwatch --profile NAME [OPTIONS] runs the venue that profile NAME names (see README: Profiles)."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fillwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Tail your own fills and cancels on Kalshi and Novig."""


commands.register(app)


def usage_error(exc: click_errors.UsageError) -> str:
    """A usage error from Click in fillwatch's one-line form, with a suggestion."""
    message = " ".join(exc.format_message().split()).replace("Value error, ", "")
    if isinstance(exc, click_errors.NoSuchOption) and exc.possibilities:
        message = f"no such option: {exc.option_name} (did you mean {sorted(exc.possibilities)[0]}?)"
    elif message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    message = re.sub(r"\. Did you mean (.*)\?$", r" (did you mean \1?)", message).rstrip(".")
    path = exc.ctx.command_path if exc.ctx is not None else "fillwatch"
    return f"fillwatch: error: {message}; see '{path} --help'\n"


def main() -> None:
    """The console script's entry point; Click's usage errors become one line and exit 2."""
    try:
        args = profile_argv(sys.argv[1:], os.environ)
    except FillwatchError as exc:
        from fillwatch.render.status import stamp

        sys.stderr.write(stamp(f"fillwatch: error: {exc}\n"))
        sys.exit(exc.exit_code)
    try:
        code = app(args=args, prog_name="fillwatch", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        from fillwatch.render.status import stamp

        sys.stderr.write(stamp(usage_error(exc)))
        sys.exit(ExitCode.USAGE)
    except typer.Abort:
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
