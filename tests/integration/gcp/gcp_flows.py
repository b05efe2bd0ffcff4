"""Shared Given/When steps of the GCP-half flows: history files, the embedded run, reading energy_hourly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from helpers.gcp_daily_files import DEVICE, row_key, split_by_day, synthetic_readings, write_day

from wattline import keys
from wattline.ports import ObjectStore

REPO = Path(__file__).resolve().parents[3]
MAIN = REPO / "services/gcp-loader/main.py"
START = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
END = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
DAYS = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
LATE_DAY = DAYS[2]


def history() -> dict[date, list[Any]]:
    return split_by_day(synthetic_readings(START, END))


def late_version(days: Mapping[date, list[Any]]) -> list[Any]:
    """Day 3 re-aggregated with late readings near both of its midnights."""
    late = synthetic_readings(
        datetime(2026, 11, 26, 23, 40, tzinfo=UTC), datetime(2026, 11, 26, 23, 59, tzinfo=UTC), seed=99
    )
    late += synthetic_readings(
        datetime(2026, 11, 26, 0, 0, tzinfo=UTC), datetime(2026, 11, 26, 0, 7, tzinfo=UTC), seed=5
    )
    return [*days[LATE_DAY], *late]


def write_history(store: ObjectStore, days: Mapping[date, list[Any]]) -> None:
    for day, readings in days.items():
        write_day(store, readings, day)


def files_of(store: ObjectStore) -> dict[date, bytes]:
    return {day: store.get(keys.daily_readings_key(day, DEVICE)) for day in DAYS}


def energy_rows(warehouse: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = warehouse.query("SELECT * FROM `{{project}}.{{dataset}}.energy_hourly`")
    return {row_key(row): row for row in rows}


def embedded_env(tmp: Path) -> dict[str, str]:
    """Loader settings for the embedded backends: filesystem buckets, DuckDB, JSONL outbox."""
    return {
        "WATTLINE_HOME": str(tmp / "home"),
        "WATTLINE_STORAGE": "fs",
        "WATTLINE_FS_ROOT": str(tmp / "buckets"),
        "WATTLINE_WAREHOUSE": "duckdb",
        "WATTLINE_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        "WATTLINE_PUBLISHER": "outbox",
        "WATTLINE_OUTBOX_DIR": str(tmp / "outbox"),
        "WATTLINE_TIMEZONE": "Europe/Kyiv",
        "WATTLINE_MAX_EVENT_AGE_S": "86400",
    }
