"""The lnav format in fillwatch/contrib/lnav: it reads `ts` as fillwatch writes it, to the millisecond."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from fillwatch.render.jsonl import encode, parse_record

FORMAT_FILE = Path(__file__).resolve().parents[2] / "fillwatch" / "contrib" / "lnav" / "fillwatch.json"
FORMAT = json.loads(FORMAT_FILE.read_text())["fillwatch_log"]


def test_samples_are_lines_fillwatch_writes_today() -> None:
    """Each sample line is exactly what the encoder writes for its event (`ts` with three fractional digits)."""
    for sample in FORMAT["sample"]:
        line = sample["line"].encode() + b"\n"
        assert encode(parse_record(orjson.loads(line))) == line


def test_the_first_timestamp_format_reads_the_milliseconds() -> None:
    """The format lnav tries first is YYYY-MM-DDTHH:MM:SS.mmmZ, and it keeps the sample's milliseconds."""
    first = FORMAT["timestamp-format"][0]
    assert first == "%Y-%m-%dT%H:%M:%S.%L%Z"
    for sample in FORMAT["sample"]:
        ts = orjson.loads(sample["line"])["ts"]
        parsed = datetime.strptime(ts, first.replace("%L", "%f").replace("%Z", "Z"))
        assert parsed.isoformat(timespec="milliseconds") + "Z" == ts


@pytest.mark.skipif(shutil.which("lnav") is None, reason="lnav is not installed")
def test_lnav_orders_a_whole_second_before_its_fractions(tmp_path: Path) -> None:
    """lnav itself, with the format installed, reads .000Z and .848Z of one second in time order, to the ms."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    subprocess.run(["lnav", "-i", str(FORMAT_FILE)], env=env, check=True, capture_output=True, timeout=30)
    sample = orjson.loads(FORMAT["sample"][0]["line"])
    lines = [
        {**sample, "ts": ts, "qty": qty}
        for ts, qty in (("2026-01-02T03:04:20.000Z", 1), ("2026-01-02T03:04:20.848Z", 2))
    ]
    log = tmp_path / "events.jsonl"
    log.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    query = ";SELECT log_time, qty FROM fillwatch_log"
    result = subprocess.run(["lnav", "-n", "-c", query, str(log)], env=env, capture_output=True, text=True, timeout=30)
    rows = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()]
    assert rows == [["2026-01-02", "03:04:20.000", "1"], ["2026-01-02", "03:04:20.848", "2"]], result.stdout
