"""The whole flow over the autumn DST change (a 25-hour local day in Europe/Kyiv) still equals `wattline analyze`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from wattline.analysis import analyze_readings, read_inputs
from wattline.local.demo import run_demo
from wattline.settings import IntegrationMethod
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy

pytestmark = pytest.mark.slow


def test_a_25_hour_day_gives_the_same_rows_as_analyze(tmp_path: Path) -> None:
    # Given the demo run on 2026-10-25, the local day clocks go back from 04:00 to 03:00
    result, runtime = run_demo(tmp_path, devices=2, days=1, seed=7, today=date(2026, 10, 26))
    try:
        settings = runtime.settings
        tariff = load_tariff(settings.tariff)
        day = date(2026, 10, 25)
        assert result.scenario.dates() == [day.isoformat()]
        assert (result.scenario.end - result.scenario.start).total_seconds() == 25 * 3600

        # When the warehouse's rows and analyze's rows for that day are compared
        pipeline = [row.model_dump() for row in fetch_daily_energy(runtime.warehouse, day, day, tariff=tariff)]
        readings, _stats = read_inputs([tmp_path / "capture.jsonl"])
        analyzed = [
            row.model_dump()
            for row in analyze_readings(
                readings,
                timezone=settings.timezone,
                tariff=tariff,
                method=IntegrationMethod(settings.integration_method),
                max_gap_s=settings.max_gap_seconds,
                max_power_w=settings.max_power_w,
            )
            if row.date == day.isoformat()
        ]
    finally:
        runtime.close()

    # Then they are identical, night zone included (9 night hours on that day)
    assert analyzed and pipeline == analyzed
