#!/usr/bin/env python3
"""Mutation testing of the modules that decide what fillwatch prints (issue 17).

Each module is mutated by mutmut (pinned below) and checked against its own fast,
in-process unit test files only, in a throwaway copy of the checkout: the
checkout is never written to. The result is one table row per module, in the
format of issue 17, with the checked-in equivalent mutants left out of the rate.

    python tools/mutation.py                        # every module in MODULES
    python tools/mutation.py venues/kalshi          # one module
    python tools/mutation.py --venv ~/.cache/fw-mut venues/kalshi

Not part of CI (minutes per module). See docs/mutation.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MUTMUT = "mutmut==3.8.1"
ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "docs" / "equivalent-mutants.txt"

# module → (source file, its own unit test files). Only in-process tests belong here:
# mutmut 3 switches mutants on inside the pytest process, so a test that runs the CLI
# as a subprocess, or the simulator in another process, never sees a mutant.
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "venues/kalshi": ("fillwatch/venues/kalshi/adapter.py", ("tests/venues/test_kalshi*.py",)),
    # NBX only: test_novig_v3*.py test the v3 modules, and would only slow each mutant down.
    "venues/novig": (
        "fillwatch/venues/novig/adapter.py",
        ("tests/venues/test_novig.py", "tests/venues/test_novig_[!v]*.py"),
    ),
    "venues/base": ("fillwatch/venues/base.py", ("tests/venues/test_base*.py", "tests/venues/test_hostile.py")),
    "venues/novig_v3": (
        "fillwatch/venues/novig_v3/orders.py",
        ("tests/venues/test_novig_v3.py", "tests/venues/test_novig_v3_orders*.py"),
    ),
    "venues/novig_v3_seq": ("fillwatch/venues/novig_v3/seq.py", ("tests/venues/test_novig_v3_seq*.py",)),
    "venues/novig_v3_control": (
        "fillwatch/venues/novig_v3/control.py",
        ("tests/venues/test_novig_v3.py", "tests/venues/test_novig_v3_control*.py"),
    ),
    "venues/novig_v3_signing": ("fillwatch/venues/novig_v3/signing.py", ("tests/venues/test_novig_v3_signing*.py",)),
    "render/jsonl": ("fillwatch/render/jsonl.py", ("tests/render/test_jsonl*.py",)),
    "ledger": ("fillwatch/core/ledger.py", ("tests/test_ledger*.py",)),
    "state": ("fillwatch/session/state.py", ("tests/test_state*.py",)),
    "filters": ("fillwatch/core/filters.py", ("tests/test_filters*.py",)),
}

# Parts of a module reported on their own row as well: (module, text in the mutant names left out).
# The JSON line codec (record, encode, parse_record) shares render/jsonl.py with the sink.
PARTS: dict[str, tuple[str, str]] = {
    "render/jsonl codec": ("render/jsonl", "ǁJsonLinesSinkǁ"),
}

# mutmut's verdicts (mutmut/stats.py) → the table's columns. A timeout is a kill: the
# mutant made the tests hang, which they noticed.
COLUMNS = {
    "killed": "killed",
    "timeout": "killed",
    "caught by type check": "killed",
    "survived": "survived",
    "no tests": "not reached",
    "suspicious": "survived",
    "segfault": "killed",
    "skipped": "skipped",
    "not checked": "not checked",
}

_RESULT = re.compile(r"^\s+(\S+): (.+)$")


@dataclass
class Row:
    module: str
    statuses: dict[str, str] = field(default_factory=dict)  # mutant name → mutmut verdict
    equivalent: set[str] = field(default_factory=set)
    stale: list[str] = field(default_factory=list)  # listed as equivalent, but killed or absent
    part: bool = False  # a part of a module's row (PARTS): its survivors are already listed under the module

    def without(self, name: str, text: str) -> Row:
        """The same run for a part of the module: every mutant whose name does not contain `text`."""
        kept = {n: s for n, s in self.statuses.items() if text not in n}
        return Row(name, kept, {n for n in self.equivalent if n in kept}, part=True)

    def count(self, column: str) -> int:
        return sum(
            1 for name, status in self.statuses.items() if name not in self.equivalent and COLUMNS[status] == column
        )

    def cells(self) -> list[str]:
        mutants = len(self.statuses) - len(self.equivalent)
        killed, survived, unreached = self.count("killed"), self.count("survived"), self.count("not reached")
        reached = mutants - unreached
        timeouts = sum(1 for n, s in self.statuses.items() if s == "timeout" and n not in self.equivalent)
        rate = _pct(killed, mutants) if not unreached else f"{_pct(killed, mutants)} / {_pct(killed, reached)}"
        return [f"`{self.module}`", str(mutants), str(killed), str(survived), str(unreached), str(timeouts),
                str(len(self.equivalent)), rate]  # fmt: skip


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def table(rows: list[Row]) -> str:
    head = ["module", "mutants", "killed", "survived", "not reached by its tests", "of which timeouts",
            "equivalent (excluded)", "kill rate (all / reached)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def read_equivalents(path: Path) -> dict[str, str]:
    """``mutant-name  reason`` per line; ``#`` starts a comment. A line without a reason is an error."""
    found: dict[str, str] = {}
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{path}:{number}: {name} has no reason; every equivalent mutant needs one")
        found[name] = reason.strip()
    return found


def ensure_venv(venv: Path) -> Path:
    """A venv with the pinned mutmut and the project's runtime and test dependencies (not the project)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = "import importlib.metadata as m; print(m.version('mutmut'))"
    have = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip()
    if have != MUTMUT.split("==")[1]:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
        requirements = [MUTMUT, *project["dependencies"], *project["optional-dependencies"]["test"]]
        subprocess.run([python, "-m", "pip", "install", "-q", *requirements], check=True)
    return venv / "bin" / "mutmut"


def copy_checkout(target: Path) -> None:
    """Tracked and new (not ignored) files of the checkout, as they are on disk now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def configure(copy: Path, source: str, tests: list[str]) -> None:
    """mutmut reads ``[tool.mutmut]`` of the copy's pyproject.toml; the checkout's has none."""

    def toml_list(values: list[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["fillwatch/"]\n'
        f"only_mutate = {toml_list([source])}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        # The project's 120 s pytest-timeout would outlast mutmut's own CPU limit; keep mutmut's.
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-o", "timeout=0"]\n'
        "use_git_change_detection = false\n"
    )
    with (copy / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(config)


def run_module(module: str, mutmut: Path, jobs: int, equivalents: dict[str, str], keep: bool) -> Row:
    source, patterns = MODULES[module]
    tests = sorted(str(p.relative_to(ROOT)) for pattern in patterns for p in ROOT.glob(pattern))
    if not tests:
        sys.exit(f"{module}: no test files match {patterns}")
    copy = Path(tempfile.mkdtemp(prefix=f"fillwatch-mutation-{module.replace('/', '-')}-"))
    copy_checkout(copy)
    configure(copy, source, tests)
    log = copy / "mutmut-run.log"
    print(f"== {module}: {source} against {' '.join(tests)}; log in {log}", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("wb") as sink:
        run = subprocess.run([mutmut, "run", "--max-children", str(jobs)], cwd=copy, env=env, stdout=sink, stderr=sink)
    if run.returncode != 0:
        sys.exit(f"{module}: mutmut run failed (exit {run.returncode}); see {log}")
    out = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=copy, env=env, capture_output=True, text=True, check=True
    ).stdout
    if keep:
        print(f"   kept {copy} (cd there and `mutmut show <mutant>`)", file=sys.stderr)
    else:
        shutil.rmtree(copy, ignore_errors=True)
    row = Row(module)
    for line in out.splitlines():
        if match := _RESULT.match(line):
            row.statuses[match[1]] = match[2]
    prefix = source.removesuffix(".py").replace("/", ".") + "."
    for name in (n for n in equivalents if n.startswith(prefix)):
        if row.statuses.get(name) in ("survived", "no tests"):
            row.equivalent.add(name)
        else:
            row.stale.append(f"{name}: {row.statuses.get(name, 'no such mutant')}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"of {', '.join(MODULES)} (default: all, one at a time)")
    parser.add_argument("--venv", type=Path, help=f"a venv to install {MUTMUT} into and reuse (default: throwaway)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="mutmut --max-children")
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    parser.add_argument("--survivors", action="store_true", help="list the surviving and unreached mutants")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (to `mutmut show` a mutant)")
    args = parser.parse_args()
    if unknown := [m for m in args.modules if m not in MODULES]:
        parser.error(f"unknown module {', '.join(unknown)}; known: {', '.join(MODULES)}")
    equivalents = read_equivalents(args.equivalents)
    scratch = None
    if args.venv is None:
        scratch = Path(tempfile.mkdtemp(prefix="fillwatch-mutation-venv-"))
    try:
        mutmut = ensure_venv((args.venv or scratch).resolve())
        rows = []
        for module in args.modules or MODULES:
            rows.append(run_module(module, mutmut, args.jobs, equivalents, args.keep))
            rows += [rows[-1].without(part, text) for part, (whole, text) in PARTS.items() if whole == module]
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(table(rows))
    for row in rows:
        for stale in row.stale:
            print(f"stale equivalent in {args.equivalents.name}: {stale}")
        if args.survivors and not row.part:
            for name, status in sorted(row.statuses.items()):
                if name not in row.equivalent and COLUMNS[status] in ("survived", "not reached"):
                    print(f"{status}: {name}")


if __name__ == "__main__":
    main()
