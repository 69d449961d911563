"""The error boundary every command runs inside, and the few helpers the commands share.

Every :class:`~fillwatch.core.errors.FillwatchError` becomes one line on stderr
and its exit code; anything else is a bug, reported in one line (with the
traceback only under ``-v``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn

import typer

from fillwatch.core.errors import ExitCode, FillwatchError

__all__ = ["check_output", "fail", "from_flags", "guard", "output_warning", "run", "warn"]

FORMAT_NAMES = frozenset({"auto", "table", "lines", "jsonl", "json", "csv", "text"})


def warn(message: str) -> None:
    from fillwatch.render.views import warning

    warning(message)


def check_output(output: object) -> None:
    """Warn of ``-o json`` and the like: a format name given as the output file."""
    warning = output_warning(output)
    if warning is not None:
        warn(warning)


def fail(message: str, code: int) -> NoReturn:
    from fillwatch.render.status import stamp

    sys.stderr.write(stamp(f"fillwatch: error: {message}\n"))
    raise typer.Exit(code)


def guard(verbose: bool, work: Callable[[], int]) -> NoReturn:
    """Run `work` and exit with its code; errors become one line and their exit code."""
    if verbose:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("fillwatch").setLevel(logging.DEBUG)
    try:
        code = work()
    except FillwatchError as exc:
        if verbose:
            traceback.print_exc()
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 -- the last boundary: a bug, reported in one line
        if verbose:
            traceback.print_exc()
        fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", ExitCode.ERROR)
    raise typer.Exit(code)


def run(main: Coroutine[Any, Any, ExitCode]) -> int:
    """``asyncio.run`` with the run's handling of a closed stdout (imported only when a run starts)."""
    from fillwatch.cli.run import run_to_end

    return run_to_end(main)


def from_flags(ctx: typer.Context, names: list[str]) -> frozenset[str]:
    """Which of `names` the user gave on the command line (not by variable or profile)."""
    return frozenset(name for name in names if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE")


def output_warning(output: object) -> str | None:
    """A warning when ``--output``'s value looks like a format name and no such file exists (``-o json``)."""
    if output is None:
        return None
    path = Path(str(output))
    if path.name.lower() not in FORMAT_NAMES or path.exists() or str(path) != path.name:
        return None
    name = path.name
    return f"--output {name} writes the events to a new file named '{name}'; for a format, use --format {name}"
