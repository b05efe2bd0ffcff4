"""`wattline rebuild`: energy_hourly recomputed from the daily files alone, compared and repaired (issue 12)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.local.demo import write_capture
from wattline.simulator import simulate

pytestmark = pytest.mark.slow

DAY = date(2026, 11, 19)  # two simulated local days end on it
TABLE = '"warehouse"."wattline"."energy_hourly"'


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home built the way a user backfills: `wattline import` of a two-day capture, then `wattline run`."""
    root = tmp_path_factory.mktemp("rebuild")
    scenario = simulate(devices=2, days=2, seed=5, today=date(2026, 11, 20))
    write_capture(scenario, root / "capture.jsonl")
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(root / "capture.jsonl"), "--home", str(root / "home")])
    assert imported.exit_code == 0, imported.output
    ran = runner.invoke(app, ["run", "--home", str(root / "home"), "--now", "2026-11-25T00:00:00+00:00", "--quiet"])
    assert ran.exit_code == 0, ran.output
    return root / "home"


@pytest.fixture
def home(built_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(built_home, copy)
    return copy


def rebuild(home: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["rebuild", "--home", str(home), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def energy(home: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["energy", "--home", str(home), "--from", "2026-11-17", "--to", "2026-11-20", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def sql(home: Path, statement: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(statement).fetchall()
    finally:
        con.close()


def test_a_home_built_by_the_pipeline_rebuilds_with_no_difference(home: Path) -> None:
    # Given a home whose warehouse the loader filled
    # When its energy is rebuilt from the daily files
    report = rebuild(home)

    # Then every row is compared and none differs
    (held,) = sql(home, f"SELECT count(*) FROM {TABLE}")
    assert report["compared"] == held[0] > 0
    assert (report["differing"], report["missing"], report["extra"], report["rows"]) == (0, 0, 0, [])
    assert report["skipped"] == []


def test_a_tampered_and_a_deleted_row_are_reported_exactly_and_apply_repairs_them(home: Path) -> None:
    # Given one row's import changed and another row deleted
    rows = sql(home, f"SELECT device_id, channel, hour_start, import_wh FROM {TABLE} ORDER BY 1, 2, 3 LIMIT 2 OFFSET 5")
    (dev_a, ch_a, hour_a, import_a), (dev_b, ch_b, hour_b, _) = rows
    sql(
        home,
        f"UPDATE {TABLE} SET import_wh = import_wh + 1.5, loaded_at = now() WHERE hour_start = '{hour_a}' "
        f"AND device_id = '{dev_a}' AND channel = {ch_a}",
    )
    sql(home, f"DELETE FROM {TABLE} WHERE hour_start = '{hour_b}' AND device_id = '{dev_b}' AND channel = {ch_b}")

    # When rebuild compares
    report = rebuild(home)

    # Then exactly those two rows are reported, with both values
    assert (report["differing"], report["missing"], report["extra"]) == (1, 1, 0)
    differing, missing = sorted(report["rows"], key=lambda row: row["kind"])
    assert (differing["kind"], differing["device_id"], differing["channel"]) == ("differing", dev_a, ch_a)
    assert differing["fields"] == ["import_wh"]
    assert differing["warehouse"]["import_wh"] == pytest.approx(import_a + 1.5)
    assert differing["rebuilt"]["import_wh"] == pytest.approx(import_a)
    assert (missing["kind"], missing["device_id"], missing["channel"]) == ("missing", dev_b, ch_b)
    assert missing["warehouse"] is None and missing["rebuilt"]["import_wh"] is not None
    assert rebuild(home)["differing"] == 1, "without --apply nothing is written"

    # And --apply repairs them, after which nothing differs
    applied = rebuild(home, "--apply")
    assert applied["applied"] == {"merged": 2, "deleted": 0, "kept_extra": 0}
    after = rebuild(home)
    assert (after["differing"], after["missing"], after["extra"]) == (0, 0, 0)


def test_an_extra_row_is_deleted_only_for_a_day_with_a_daily_file(home: Path) -> None:
    # Given two rows no daily file gives: one on a day with files, one on a day without any
    template = f"SELECT * REPLACE (channel + 7 AS channel) FROM {TABLE} ORDER BY device_id, channel, hour_start LIMIT 1"
    sql(home, f"INSERT INTO {TABLE} {template}")
    sql(home, f"INSERT INTO {TABLE} SELECT * REPLACE (hour_start + INTERVAL 400 DAY AS hour_start) FROM ({template})")

    # When rebuild applies
    applied = rebuild(home, "--apply")

    # Then both are reported; only the one of a day with a daily file is deleted, and that is said
    assert applied["extra"] == 2
    assert applied["applied"] == {"merged": 0, "deleted": 1, "kept_extra": 1}
    actions = sorted(row["action"].split(":")[0] for row in applied["rows"])
    assert actions == ["deleted", "kept"]
    assert rebuild(home)["extra"] == 1


def test_the_drill_deleting_the_warehouse_and_rebuilding_gives_the_same_energy(home: Path) -> None:
    # Given the energy a home's warehouse gives
    before = energy(home)
    assert before

    # When the warehouse is lost and rebuilt from the daily files alone
    (home / "warehouse.duckdb").unlink()
    report = rebuild(home)
    assert report["missing"] == report["compared"] > 0 and report["differing"] == report["extra"] == 0
    applied = rebuild(home, "--apply")

    # Then the energy is identical, and a second rebuild finds nothing to do
    assert applied["applied"]["merged"] == report["compared"]
    assert energy(home) == before
    after = rebuild(home, "--from", "2026-11-18", "--to", "2026-11-19")
    assert after["compared"] > 0 and (after["differing"], after["missing"], after["extra"]) == (0, 0, 0)
