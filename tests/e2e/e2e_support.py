"""Shared by the e2e tests: what one demo run leaves behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from wattline.local.demo import DemoResult
from wattline.local.runtime import Runtime

TODAY = date(2026, 11, 20)  # pinned: the simulated day is 2026-11-19 (local), whatever the wall clock says


@dataclass
class DemoRun:
    home: Path
    result: DemoResult
    runtime: Runtime


def warehouse_and_analyze_rows(runtime: Runtime, capture: Path, first: date, last: date) -> tuple[list[Any], list[Any]]:
    """Daily energy rows of local dates first..last: from the home's warehouse, and from `analyze` over the capture
    with the home's settings (each row as a dict)."""
    from wattline.analysis import analyze_readings, read_inputs
    from wattline.settings import IntegrationMethod
    from wattline.tariffs import load_tariff
    from wattline.warehouse import fetch_daily_energy

    settings = runtime.settings
    tariff = load_tariff(settings.tariff)
    pipeline = [row.model_dump() for row in fetch_daily_energy(runtime.warehouse, first, last, tariff=tariff)]
    readings, _stats = read_inputs([capture])
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
        if first.isoformat() <= row.date <= last.isoformat()
    ]
    return pipeline, analyzed
