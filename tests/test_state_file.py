"""The --state file: its lock, journal, load and atomic save, on real files (issue 17).

The file format is the one fillwatch/session/state.py documents (version 1, with the journal
``FILE.journal`` of ``[time, id, order_id]`` lines); failures are made with real
mechanisms (a missing directory, a directory where a file should be, a value orjson refuses).
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from fillwatch.core.errors import ConfigError, ExitCode, WriteFailed
from fillwatch.core.ledger import Checkpoint
from fillwatch.session.state import JOURNAL_BYTES, StateFile, journal_line
from tests.test_ledger import fill

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def state_in(directory: Path, account: str = "key-1") -> StateFile:
    return StateFile(directory / "s.json", venue="kalshi", account=account)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def entry(ts: datetime | None, id_: str, order_id: str = "o") -> bytes:
    return orjson.dumps([None if ts is None else ts.isoformat(), id_, order_id]) + b"\n"


# --- journal lines ---------------------------------------------------------------------------------


def test_a_journal_line_is_a_json_array_of_time_id_and_order() -> None:
    """One line per event: [ISO time, id, order_id], newline-terminated; no time is null."""
    event = fill(1, seconds=0.25)
    assert journal_line(event.ts, event) == b'["2026-11-21T12:00:00.250000+00:00","t1","o"]\n'
    assert journal_line(None, event) == b'[null,"t1","o"]\n'


# --- lock ------------------------------------------------------------------------------------------


def test_the_lock_file_sits_beside_the_state_file_with_mode_600(tmp_path: Path) -> None:
    """lock() creates FILE.lock (owner read/write only) and holds it until unlock()."""
    state = state_in(tmp_path)
    state.lock()
    lock = tmp_path / "s.json.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match=r"^state file .*s\.json is in use by another fillwatch process$"):
        state_in(tmp_path).lock()
    state.unlock()
    state.unlock()  # a second unlock is harmless
    again = state_in(tmp_path)
    again.lock()
    again.unlock()


def test_a_refused_lock_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """The second holder's lock file descriptor is closed when it is refused, and unlock closes the first's."""
    before = open_fds()
    first = state_in(tmp_path)
    first.lock()
    for _ in range(3):
        with pytest.raises(ConfigError):
            state_in(tmp_path).lock()
    assert len(open_fds() - before) == 1
    first.unlock()
    assert open_fds() == before


def test_a_lock_in_a_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    """A state file in a directory that does not exist: one line naming the lock file, exit 2."""
    state = StateFile(tmp_path / "nowhere" / "s.json", venue="kalshi", account="a")
    with pytest.raises(ConfigError) as caught:
        state.lock()
    lock = tmp_path / "nowhere" / "s.json.lock"
    assert str(caught.value) == f"cannot create the state lock {lock}: No such file or directory"
    assert caught.value.exit_code == ExitCode.USAGE


# --- journal ---------------------------------------------------------------------------------------


def test_the_journal_is_appended_beside_the_file_with_mode_600_and_closed_on_unlock(tmp_path: Path) -> None:
    """journal() appends to FILE.journal (created 600); unlock closes it, and a later journal() reopens it."""
    before = open_fds()
    state = state_in(tmp_path)
    state.lock()
    state.journal(entry(T0, "t1"))
    state.journal(entry(T0, "t2"))
    journal = tmp_path / "s.json.journal"
    assert state.journal_path == journal
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert journal.read_bytes() == entry(T0, "t1") + entry(T0, "t2")
    state.unlock()
    assert open_fds() == before
    state.journal(entry(T0, "t3"))
    assert journal.read_bytes().endswith(entry(T0, "t3"))
    state.unlock()
    assert open_fds() == before


def test_a_journal_that_cannot_be_opened_is_a_write_failure(tmp_path: Path) -> None:
    """The journal's directory gone: WriteFailed (exit 5) naming the journal."""
    state = StateFile(tmp_path / "gone" / "s.json", venue="kalshi", account="a")
    with pytest.raises(WriteFailed) as caught:
        state.journal(entry(T0, "t1"))
    journal = tmp_path / "gone" / "s.json.journal"
    assert str(caught.value) == f"cannot open the state journal {journal}: No such file or directory"
    assert caught.value.exit_code == ExitCode.WRITE


def test_load_merges_the_journal_and_skips_what_is_not_an_entry(tmp_path: Path) -> None:
    """Entries after the saved checkpoint add keys and move newest; torn, garbage, wrongly typed and
    zone-less lines are skipped; an entry without a time adds its key only."""
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, (("t0", "o"),)))
    lines = [
        entry(T0 + timedelta(seconds=3), "t1"),
        b"\x00\xffgarbage\n",
        b'[5,"t9","o"]\n',
        b'["2026-11-21T12:00:09+00:00",5,"o"]\n',
        b'["2026-11-21T12:00:09+00:00","t9",null]\n',
        b'["2026-11-21T12:00:09","t9","o"]\n',
        b'["not a time","t9","o"]\n',
        b'["2026-11-21T12:00:09+00:00","t9"]\n',
        entry(None, "t2"),
        entry(T0 + timedelta(seconds=2), "t3"),
        b'["2026-11-21T12:00:09+00:00","t9","o"',  # torn by kill -9
    ]
    (tmp_path / "s.json.journal").write_bytes(b"".join(lines))
    assert state.load() == Checkpoint(T0 + timedelta(seconds=3), (("t0", "o"), ("t1", "o"), ("t2", "o"), ("t3", "o")))


def test_a_first_run_killed_before_its_first_save_leaves_the_journal_only(tmp_path: Path) -> None:
    """No state file but a journal: load gives the journal's keys and newest; an empty journal or none gives None."""
    state = state_in(tmp_path)
    assert state.load() is None
    journal = tmp_path / "s.json.journal"
    journal.write_bytes(b"")
    assert state.load() is None
    journal.write_bytes(b"torn, no newline")
    assert state.load() is None
    journal.write_bytes(entry(T0, "t1") + entry(None, "t2"))
    assert state.load() == Checkpoint(T0, (("t1", "o"), ("t2", "o")))


def test_only_the_last_64_mib_of_the_journal_are_read(tmp_path: Path) -> None:
    """An entry that begins more than 64 MiB before the journal's end is not read; one inside it is."""
    assert JOURNAL_BYTES == 64 << 20
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, ()))
    first, inside, last = entry(T0, "first"), entry(T0, "inside"), entry(T0, "last")
    cut = b"x" * 999 + b"\n"  # the window begins inside this line: it is dropped as torn
    filler = b"y" * (JOURNAL_BYTES - 500 - len(inside) - len(last) - 1) + b"\n"
    data = first + cut + inside + filler + last
    assert len(data) - JOURNAL_BYTES == len(first) + 500
    (tmp_path / "s.json.journal").write_bytes(data)
    loaded = state.load()
    assert loaded is not None
    assert loaded.seen == (("inside", "o"), ("last", "o"))


# --- load ------------------------------------------------------------------------------------------


def test_load_names_the_file_of_another_venue_or_account(tmp_path: Path) -> None:
    """The error says whose file it is and whose it is not."""
    path = tmp_path / "s.json"
    StateFile(path, venue="novig", account="acct-9").save(Checkpoint(T0, ()))
    with pytest.raises(ConfigError) as caught:
        StateFile(path, venue="kalshi", account="acct-9").load()
    assert str(caught.value) == f"state file {path} belongs to novig account acct-9, not kalshi account acct-9"
    assert StateFile(path, venue="novig", account="acct-9").load() == Checkpoint(T0, ())


def test_load_refuses_another_version_by_number(tmp_path: Path) -> None:
    """A version 2 file is refused with both versions named."""
    path = tmp_path / "s.json"
    path.write_bytes(b'{"version": 2, "venue": "kalshi", "account": "key-1", "newest": null, "seen": []}')
    with pytest.raises(ConfigError) as caught:
        state_in(tmp_path).load()
    assert str(caught.value) == f"state file {path} has version 2, expected 1"


def test_load_reports_a_malformed_checkpoint(tmp_path: Path) -> None:
    """A right header with a broken checkpoint is malformed (exit 2), the reason in parentheses."""
    path = tmp_path / "s.json"
    path.write_bytes(b'{"version": 1, "venue": "kalshi", "account": "key-1", "newest": 5, "seen": []}')
    with pytest.raises(ConfigError) as caught:
        state_in(tmp_path).load()
    assert str(caught.value) == f"state file {path} is malformed (not a time: 5)"
    assert caught.value.exit_code == ExitCode.USAGE


def test_load_of_a_directory_or_bad_json_cannot_be_read(tmp_path: Path) -> None:
    """A state path that is a directory is refused; bad JSON says it cannot be read."""
    (tmp_path / "s.json").mkdir()
    with pytest.raises(ConfigError) as caught:
        state_in(tmp_path).load()
    assert str(caught.value) == f"state file {tmp_path / 's.json'} is a directory, not a regular file"
    other = tmp_path / "other"
    other.mkdir()
    (other / "s.json").write_bytes(b'{"version": 1,')
    with pytest.raises(ConfigError, match=r"^state file .*s\.json cannot be read: "):
        state_in(other).load()


# --- save ------------------------------------------------------------------------------------------


def test_save_writes_the_documented_header_and_checkpoint(tmp_path: Path) -> None:
    """The saved file is one JSON object: version 1, venue, account, then the checkpoint's fields."""
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, (("t1", "o1"),), memory={"open": []}))
    assert orjson.loads((tmp_path / "s.json").read_bytes()) == {
        "version": 1,
        "venue": "kalshi",
        "account": "key-1",
        "newest": "2026-11-21T12:00:00+00:00",
        "resume_from": None,
        "seen": [["t1", "o1"]],
        "memory": {"open": []},
    }
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o600


def test_save_empties_a_journal_left_by_a_killed_run_and_its_own(tmp_path: Path) -> None:
    """A journal from an earlier process is emptied by the first save; one this process writes, by each save."""
    journal = tmp_path / "s.json.journal"
    journal.write_bytes(entry(T0, "t1"))
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, (("t1", "o"),)))
    assert journal.read_bytes() == b""
    state.journal(entry(T0, "t2"))
    state.save(Checkpoint(T0, (("t1", "o"), ("t2", "o"))))
    assert journal.read_bytes() == b""
    state.journal(entry(T0, "t3"))
    assert journal.read_bytes() == entry(T0, "t3")  # appended at the start, not after a hole
    state.unlock()


def test_save_without_a_journal_creates_none(tmp_path: Path) -> None:
    """Saving when there is no journal leaves only the state file."""
    state_in(tmp_path).save(Checkpoint(None, ()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_a_journal_that_cannot_be_emptied_is_a_write_failure(tmp_path: Path) -> None:
    """A directory where the journal should be: the save is made, then WriteFailed names the journal."""
    (tmp_path / "s.json.journal").mkdir()
    state = state_in(tmp_path)
    with pytest.raises(WriteFailed) as caught:
        state.save(Checkpoint(T0, ()))
    journal = tmp_path / "s.json.journal"
    assert str(caught.value) == f"cannot empty the state journal {journal}: Is a directory"
    assert (tmp_path / "s.json").exists()


def test_a_failed_replace_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """When the rename over the state path fails (a non-empty directory there), the temporary file
    is removed and the error is one WriteFailed line."""
    path = tmp_path / "s.json"
    path.mkdir()
    (path / "keep").write_bytes(b"x")
    with pytest.raises(WriteFailed) as caught:
        state_in(tmp_path).save(Checkpoint(T0, ()))
    assert str(caught.value) == f"cannot write the state file {path}: Is a directory"
    assert caught.value.exit_code == ExitCode.WRITE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_a_save_in_a_missing_directory_is_a_write_failure(tmp_path: Path) -> None:
    """No directory for the temporary file: WriteFailed naming the state file."""
    path = tmp_path / "gone" / "s.json"
    with pytest.raises(WriteFailed) as caught:
        StateFile(path, venue="kalshi", account="a").save(Checkpoint(T0, ()))
    assert str(caught.value) == f"cannot write the state file {path}: No such file or directory"


def test_a_checkpoint_that_cannot_be_serialised_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    """A memory orjson cannot encode raises its TypeError; the old file stays and no temporary file is left."""
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, (("t1", "o"),)))
    with pytest.raises(TypeError):
        state.save(Checkpoint(T0, (), memory={"bad": object()}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    assert state.load() == Checkpoint(T0, (("t1", "o"),))


def test_the_temporary_file_is_made_beside_the_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The save writes its temporary file in the state file's directory (a rename within one file
    system), not in the system's temporary directory, which may not even exist."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-tmp"))
    state_in(tmp_path).save(Checkpoint(T0, ()))
    assert state_in(tmp_path).load() == Checkpoint(T0, ())


def test_a_journal_write_cut_short_leaves_whole_lines_and_names_the_journal(tmp_path: Path) -> None:
    """A burst that the file size limit cuts short is cut back to the journal's earlier length, and the
    error names the journal and the lines lost (RLIMIT_FSIZE, SIGXFSZ ignored, for this call only)."""
    state = state_in(tmp_path)
    state.journal(entry(T0, "t1"))
    journal = tmp_path / "s.json.journal"
    burst = entry(T0, "t2") + entry(T0, "t3") + entry(T0, "t4")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (journal.stat().st_size + 10, hard))
        with pytest.raises(WriteFailed) as caught:
            state.journal(burst)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert str(caught.value) == f"cannot write to state journal {journal}: File too large (3 lines not written)"
    assert journal.read_bytes() == entry(T0, "t1")
    state.journal(entry(T0, "t5"))
    assert journal.read_bytes() == entry(T0, "t1") + entry(T0, "t5")
    state.unlock()


# While a save writes its temporary file, another process may remove it. Audit events let a test act
# at that moment: tempfile.mkstemp names the file (before creating it), and the "open" event of
# os.fdopen on its descriptor comes once it exists.
_NAMES: list[str] = []
_VANISH: list[bool] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "tempfile.mkstemp" and _VANISH:
        _NAMES.append(str(args[0]))
    elif event == "open" and isinstance(args[0], int) and _VANISH and _VANISH[0] and _NAMES:
        os.unlink(_NAMES[-1])


_HOOKED: list[bool] = []


def watch_temporary(*, vanish: bool) -> None:
    """Record the names of temporary files made from now on; with `vanish`, remove each once it exists."""
    if not _HOOKED:
        sys.addaudithook(_audit)  # cannot be removed; inert while _VANISH is empty
        _HOOKED.append(True)
    _NAMES.clear()
    _VANISH.append(vanish)


def test_the_temporary_file_is_hidden_beside_the_state_file(tmp_path: Path) -> None:
    """The temporary file of a save is `.NAME.<random>` in the state file's directory: a leftover after
    kill -9 is hidden and never taken for the state file."""
    watch_temporary(vanish=False)
    try:
        state_in(tmp_path).save(Checkpoint(T0, ()))
    finally:
        _VANISH.clear()
    made = list(_NAMES)
    assert len(made) == 1
    assert Path(made[0]).parent == tmp_path
    assert Path(made[0]).name.startswith(".s.json.")
    assert not Path(made[0]).exists()


def test_a_temporary_file_removed_by_someone_else_is_a_write_failure(tmp_path: Path) -> None:
    """If the temporary file vanishes before the rename, the save fails with one WriteFailed line
    (the cleanup of the vanished file is not an error) and the old file stays."""
    state = state_in(tmp_path)
    state.save(Checkpoint(T0, (("t1", "o"),)))
    watch_temporary(vanish=True)
    try:
        with pytest.raises(WriteFailed) as caught:
            state.save(Checkpoint(T0, ()))
    finally:
        _VANISH.clear()
    assert len(_NAMES) == 1
    assert str(caught.value) == f"cannot write the state file {tmp_path / 's.json'}: No such file or directory"
    assert state.load() == Checkpoint(T0, (("t1", "o"),))


def test_an_encoding_error_stays_itself_when_the_temporary_file_is_gone(tmp_path: Path) -> None:
    """A memory orjson cannot encode raises orjson's own error, even if the temporary file has vanished
    by the time it is cleaned up."""
    state = state_in(tmp_path)
    watch_temporary(vanish=True)
    try:
        with pytest.raises(orjson.JSONEncodeError, match=r"^Type is not JSON serializable: object$"):
            state.save(Checkpoint(T0, (), memory={"bad": object()}))
    finally:
        _VANISH.clear()
    assert len(_NAMES) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []
