"""The rules of a watch (session/watch.py), on accounts that fail as they start: the exit status is the
highest of the accounts' codes, each failure is reported with its account, and a bug is raised after
every account ended."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fillwatch.cli.options import RunOptions
from fillwatch.core.errors import AuthenticationError, ConfigError, ExitCode
from fillwatch.session.watch import Member, Watch

pytestmark = pytest.mark.timeout(10)


def failing(exc: BaseException) -> Callable[[Callable[[], float]], Any]:
    def connect(clock: Callable[[], float]) -> Any:
        raise exc

    return connect


def members(*failures: tuple[str, BaseException]) -> list[Member]:
    return [Member(name, "kalshi", failing(exc), RunOptions()) for name, exc in failures]


async def test_the_exit_status_is_the_highest_of_the_accounts_codes() -> None:
    """A configuration error (2) on one account, rejected credentials (3) on another: 3, each said with its account."""
    ended: list[tuple[str, int, str | None]] = []
    watch = Watch(
        members(("main", ConfigError("bad key")), ("hedge", AuthenticationError("rejected"))),
        frontend=lambda account: None,  # type: ignore[arg-type,return-value]
        ended=lambda *args: ended.append(args),
    )
    assert await watch.run() == ExitCode.AUTH
    assert sorted(ended) == [("hedge", 3, "rejected"), ("main", 2, "bad key")]


async def test_a_bug_in_one_account_is_raised_once_every_account_ended() -> None:
    """An unexpected error is not an account's failure: the others are stopped, then it is raised."""
    ended: list[tuple[str, int, str | None]] = []
    watch = Watch(
        members(("hedge", ConfigError("bad")), ("main", RuntimeError("a bug"))),
        frontend=lambda account: None,  # type: ignore[arg-type,return-value]
        ended=lambda *args: ended.append(args),
    )
    with pytest.raises(RuntimeError, match="a bug"):
        await watch.run()
    assert watch.stopped == ExitCode.ERROR
    assert ended == [("hedge", 2, "bad")]  # it still ended, and was said, before the bug was raised


async def test_an_account_that_starts_after_a_stop_does_not_run() -> None:
    """A stop asked for before an account began (a signal during start-up) ends it with that code, unconnected."""
    watch = Watch(
        members(("main", AssertionError("must not connect"))),
        frontend=lambda account: None,  # type: ignore[arg-type,return-value]
        ended=lambda *args: None,
    )
    watch.stop(ExitCode.INTERRUPTED)
    assert await watch.run() == ExitCode.INTERRUPTED
