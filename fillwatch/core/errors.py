"""The errors fillwatch reports to its user, and the exit code of each.

Every error the program stops on is a :class:`FillwatchError`; its message is
written for the user (one line, no secrets) and its class decides the exit code
documented in the README and CONTRACT §4. Classes defined outside this module
are named with their module under ``fillwatch``::

    FillwatchError                   exit 1   base: an unexpected failure
    ├── ConfigError                  exit 2   bad flag, missing or unreadable credentials, bad URL
    ├── AuthenticationError          exit 3   the venue rejected the credentials twice in a row
    │   └── net.http.Unauthorized    exit 3   a REST request answered HTTP 401 or 403
    ├── SubscriptionError            exit 1   the venue refused a subscription the client sent
    ├── ConnectionFailed             exit 4   --max-retries attempts in a row failed
    ├── net.http.RestError           exit 1   a REST request failed for good (after its retries, or a 4xx)
    │   └── net.http.Redirected      exit 1   a credentialed request was redirected: never followed
    └── WriteFailed                  exit 5   a failed or short write to --output, --record, --state or stdout

Internal signals, each caught in the module that raises it (none reaches the user)::

    Exception
    ├── net.failures._Stalled        no frame for --stall-timeout seconds: the attempt ends, a reconnect follows
    ├── net.failures._Resubscribe    the venue reported a subscription that stopped delivering data
    ├── net.failures._Refused        the venue refused a subscription command
    ├── net.failures._Reconnect      the venue closed asking for a reconnect at once (v3 1008 SLOW_CONSUMER)
    └── sim.subscriptions._Refused   the simulator's own: a command it answers with an error frame

``tests/test_gates.py`` fails when an exception class of the package is missing here,
drawn under the wrong parent, or drawn but gone.

Stopped by a signal, after flushing every line and writing the checkpoint and
the summary: exit 129 (SIGHUP), 130 (SIGINT), 143 (SIGTERM).

Library exceptions (websockets, httpx, cryptography) never travel past the
module that calls the library: they are translated there, chained with
``raise ... from exc`` so that ``-v`` can still show the original.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectionFailed",
    "ExitCode",
    "FillwatchError",
    "SubscriptionError",
    "WriteFailed",
]


class ExitCode(IntEnum):
    """The process exit statuses of CONTRACT §4."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    CONNECTION = 4
    WRITE = 5
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


class FillwatchError(Exception):
    """Base class: a failure the user is told about in one line."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(FillwatchError):
    """The command line, environment or a key file cannot be used as given."""

    exit_code = ExitCode.USAGE


class AuthenticationError(FillwatchError):
    """The venue rejected the credentials, and a fresh second attempt too."""

    exit_code = ExitCode.AUTH


class SubscriptionError(FillwatchError):
    """The venue refused a subscription command for a reason retrying cannot fix."""

    exit_code = ExitCode.ERROR


class ConnectionFailed(FillwatchError):
    """The retry budget given with ``--max-retries`` is spent."""

    exit_code = ExitCode.CONNECTION


class WriteFailed(FillwatchError):
    """A write to an output, recording or state file (or stdout) failed or fell short: nothing more can be kept."""

    exit_code = ExitCode.WRITE
