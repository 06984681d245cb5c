"""tools.freshness_vars: the age of the seeds' latest load, as dbt --vars.

Each test writes small CSV files by hand; the expected ages are worked out
by hand from them (in the comments), never computed with the module's code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tools import freshness_vars as fv

CUSTOMERS = """\
id,first_name,last_name,created_at,_loaded_at
1,Linda,W.,2024-01-01 00:13:36,2024-07-01 00:00:00
2,Sean,P.,2024-01-02 09:00:00,2024-07-01 00:00:00
"""
# The latest load of all files: 2024-07-02 06:00:00 (order 2); order 3 has
# no load time.
ORDERS = """\
id,user_id,order_date,status,_loaded_at
1,1,2024-01-03,returned,2024-07-01 00:00:00
2,2,2024-06-30,placed,2024-07-02 06:00:00
3,2,2024-06-30,shipped,
"""
# No _loaded_at column (as the public jaffle shop tables): not counted, even
# with a later date in it.
PUBLIC_ORDERS = """\
id,user_id,order_date,status
1,1,2030-01-01,placed
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return write(tmp_path / "seeds", {
        "raw_customers.csv": CUSTOMERS,
        "raw_orders.csv": ORDERS,
        "jaffle_orders.csv": PUBLIC_ORDERS,
        "notes.txt": "_loaded_at\n2031-01-01 00:00:00\n",
    })


def test_latest_load_time_over_every_file(seeds: Path):
    assert fv.latest_load_time(seeds) == datetime(2024, 7, 2, 6, 0, 0)


@pytest.mark.parametrize(("now", "hours"), [
    # 2024-07-02 06:00 -> 2024-07-05 06:00: exactly 3 days = 72 h.
    ("2024-07-05 06:00:00", 72),
    # One second more: 72 h 1 s, rounded up to 73.
    ("2024-07-05 06:00:01", 73),
    # 2024-07-02 06:00 -> 2024-07-03 12:30: 30.5 h, rounded up to 31.
    ("2024-07-03 12:30:00", 31),
    # 2024-07-02 06:00 -> 2024-08-01 06:00 is 30 days, then whole months of
    # 31 (Aug), 30 (Sep), 31 (Oct), 30 (Nov), 31 (Dec), 31 (Jan) and 28 (Feb
    # 2025) days up to 2025-03-01 06:00: 242 days = 5808 h.
    ("2025-03-01 06:00:00", 5808),
    # The clock at the latest load itself, or before it: no shift.
    ("2024-07-02 06:00:00", 0),
    ("2024-07-01 00:00:00", 0),
])
def test_age_in_whole_hours_rounded_up(seeds: Path, now: str, hours: int):
    moment = datetime.fromisoformat(now)
    assert fv.freshness_vars(seeds, moment) == {"source_freshness_age_hours": hours}


def test_command_line_prints_the_vars(seeds: Path, capsys):
    assert fv.main([str(seeds), "--now", "2024-07-05 06:00:01"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "{source_freshness_age_hours: 73}\n"
    assert captured.err == ""


def test_iso_text_and_offsets(tmp_path: Path, capsys):
    # 2024-07-02T08:00:00+02:00 is 2024-07-02 06:00 UTC, earlier than the
    # naive 2024-07-02 07:00:00 of the other row; now - 07:00 = 5 h.
    folder = write(tmp_path / "iso", {"raw_events.csv": (
        "id,_loaded_at\n"
        "1,2024-07-02T08:00:00+02:00\n"
        "2,2024-07-02 07:00:00\n"
    )})
    assert fv.latest_load_time(folder) == datetime(2024, 7, 2, 7, 0, 0)
    assert fv.main([str(folder), "--now", "2024-07-02T12:00:00"]) == 0
    assert capsys.readouterr().out == "{source_freshness_age_hours: 5}\n"


def test_no_load_time_is_an_error(tmp_path: Path, capsys):
    folder = write(tmp_path / "none", {
        "jaffle_orders.csv": PUBLIC_ORDERS,
        "raw_orders.csv": "id,_loaded_at\n1,\n2,\n",
    })
    assert fv.main([str(folder), "--now", "2024-07-05 06:00:00"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no CSV file has a _loaded_at value" in captured.err


def test_a_bad_timestamp_names_its_file_and_line(tmp_path: Path, capsys):
    folder = write(tmp_path / "bad", {"raw_orders.csv": (
        "id,_loaded_at\n"
        "1,2024-07-01 00:00:00\n"
        "2,yesterday\n"
    )})
    assert fv.main([str(folder), "--now", "2024-07-05 06:00:00"]) == 2
    assert "raw_orders.csv:3: _loaded_at 'yesterday' is not a timestamp" in (
        capsys.readouterr().err
    )

