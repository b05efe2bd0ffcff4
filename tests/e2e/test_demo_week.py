"""The demo's earlier days are backfilled as `wattline import` writes them, the last one published live: together
they give what `wattline analyze` gives for the whole capture, and the ledger holds every message once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from e2e_support import warehouse_and_analyze_rows

from wattline.local.demo import run_demo
from wattline.local.ledger import home_ledger

pytestmark = pytest.mark.slow


def test_backfilled_days_and_the_live_day_give_analyzes_energy(tmp_path: Path) -> None:
    # Given a two-day demo whose first day is backfilled and whose second is published through the broker
    result, runtime = run_demo(tmp_path, devices=2, days=2, live_days=1, seed=3, today=date(2026, 11, 20))
    try:
        assert result.backfilled > 0 and result.published > 0
        assert result.bridged == result.published
        assert result.received == len(result.scenario.messages)

        # Then the ledger holds every message once and both days of both meters were loaded
        ledger = home_ledger(tmp_path, runtime.clock())
        assert ledger.received == result.received
        assert ledger.balanced
        first, last = (date.fromisoformat(day) for day in (result.scenario.dates()[0], result.scenario.dates()[-1]))

        # And the warehouse's daily energy equals analyze's over the saved capture, day by day
        pipeline, analyzed = warehouse_and_analyze_rows(runtime, tmp_path / "capture.jsonl", first, last)
    finally:
        runtime.close()
    assert {row["date"] for row in pipeline} == {first.isoformat(), last.isoformat()}
    assert pipeline == analyzed
