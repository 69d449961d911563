"""A watch: several accounts, each its own :class:`~fillwatch.session.session.Session`, in one process.

Each account runs the one client path, with its own connection, ledger, backfills,
checkpoint and ``--max-retries``; they meet only in the views the caller built (one
table, one stream of lines, one ``--output``), which take each event as it comes.

Failures stay with their account: rejected credentials (exit 3) or a venue it gave up
on (exit 4) end that account only, and the caller's ``ended`` hook reports it; the
others go on. What concerns every account stops them all: a signal, ``--max-events``
reached (the views count every account's events), a shared write that failed (exit 5).

The run's exit status is the highest of the accounts' codes (CONTRACT §4): 0 when every
account ended normally. An unexpected error (a bug) is not an account's failure: it
stops the watch and is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fillwatch.core.errors import ExitCode, FillwatchError, WriteFailed
from fillwatch.session.runner import SIGNALS, Runner
from fillwatch.session.session import Connect, Frontend, Options, Session

__all__ = ["Member", "Watch"]


@dataclass(frozen=True, slots=True)
class Member:
    """One account of a watch: its name, its venue's name, how to build the venue, and its own options."""

    account: str
    venue: str
    connect: Connect
    options: Options
    env: str = "prod"
    """The exchange it trades on, as the views name it (``prod``, ``demo``, ``custom``)."""


Ended = Callable[[str, int, "str | None"], None]
"""Told when an account stops: its name, its exit code, and why (a failure's message; None when normal)."""


class Watch:
    """Runs every member's session at once; stops them together for what concerns them all.

    Args:
        members: the accounts, in the order the user named them.
        frontend: the views of one account (each account's way into the shared views).
        ended: told when an account stops (see :data:`Ended`).
    """

    def __init__(self, members: Sequence[Member], frontend: Callable[[str], Frontend], ended: Ended) -> None:
        self._members = members
        self._frontend = frontend
        self._ended = ended
        self._runners: dict[str, Runner] = {}
        self.stopped: ExitCode | None = None
        """Why every account was told to stop (None: not told)."""

    def stop(self, code: ExitCode) -> None:
        """Stop every account with `code` (the first reason wins); one still starting stops as its runner joins."""
        if self.stopped is None:
            self.stopped = code
        for runner in list(self._runners.values()):
            runner.stop(self.stopped)

    async def run(self) -> ExitCode:
        """Every account until each has stopped; the highest of their codes."""
        loop = asyncio.get_running_loop()
        for signum, code in SIGNALS.items():
            loop.add_signal_handler(signum, self.stop, code)
        try:  # every account ends before the views close, even when one of them met a bug
            ended = await asyncio.gather(*(self._one(member) for member in self._members), return_exceptions=True)
        finally:
            for signum in SIGNALS:
                loop.remove_signal_handler(signum)
        codes = []
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome
            codes.append(outcome)
        return ExitCode(max(codes, default=ExitCode.OK))

    def _join(self, account: str) -> Callable[[Runner], None]:
        def join(runner: Runner) -> None:
            self._runners[account] = runner
            if self.stopped is not None:
                runner.stop(self.stopped)

        return join

    async def _one(self, member: Member) -> ExitCode:
        name = member.account
        if self.stopped is not None:  # stopped before this account began (a signal at start-up)
            return self.stopped
        session = Session(member.connect, member.options, self._frontend(name), account=name, joined=self._join(name))
        try:
            code = await session.run()
        except FillwatchError as exc:
            if isinstance(exc, WriteFailed):  # the shared files can no longer be trusted: every account stops
                self.stop(ExitCode.WRITE)
            self._ended(name, exc.exit_code, str(exc))
            return ExitCode(exc.exit_code)
        except BaseException:
            self.stop(ExitCode.ERROR)  # a bug: the others stop, and the error is raised
            raise
        finally:
            self._runners.pop(name, None)
        self._ended(name, code, None)
        return code
