"""The whole flow over the autumn DST change (a 25-hour local day in Europe/Kyiv) still equals `wattline analyze`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from e2e_support import warehouse_and_analyze_rows

from wattline.local.demo import run_demo

pytestmark = pytest.mark.slow


def test_a_25_hour_day_gives_the_same_rows_as_analyze(tmp_path: Path) -> None:
    # Given the demo run on 2026-10-25, the local day clocks go back from 04:00 to 03:00
    result, runtime = run_demo(tmp_path, devices=2, days=1, seed=7, today=date(2026, 10, 26))
    try:
        day = date(2026, 10, 25)
        assert result.scenario.dates() == [day.isoformat()]
        assert (result.scenario.end - result.scenario.start).total_seconds() == 25 * 3600

        # When the warehouse's rows and analyze's rows for that day are compared
        pipeline, analyzed = warehouse_and_analyze_rows(runtime, tmp_path / "capture.jsonl", day, day)
    finally:
        runtime.close()

    # Then they are identical, night zone included (9 night hours on that day)
    assert analyzed and pipeline == analyzed
