"""The dashboard renderer: one self-contained page from plain data (no warehouse, no browser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from wattline.models import DailyEnergy, DailyManifest, HourlyEnergy
from wattline.report.dashboard import AlertRow, PowerSeries, ReportData, downsample, render

START = datetime(2026, 11, 18, 22, 0, tzinfo=UTC)  # local midnight in Kyiv


def _data() -> ReportData:
    hourly = [
        HourlyEnergy(
            device_id="shellyem-A",
            channel=0,
            hour_start=START + timedelta(hours=h),
            import_wh=100.0 + h,
            export_wh=0.0,
            estimated_wh=0.0,
            covered_s=3600,
            gap_s=0,
            samples=120,
            min_power_w=50.0,
            max_power_w=500.0,
            mean_power_w=100.0 + h,
            counter_resets=0,
            method="counter",
        )
        for h in range(24)
    ]
    daily = [
        DailyEnergy(
            device_id="shellyem-A",
            channel=0,
            date="2026-11-19",
            timezone="Europe/Kyiv",
            energy_kwh=2.676,
            measured_kwh=2.676,
            estimated_kwh=0.0,
            export_kwh=0.0,
            zones={"night": 0.8, "day": 1.876},
            cost=9.83,
            currency="UAH",
            gap_seconds=0.0,
            coverage=1.0,
            samples=2880,
            method="counter",
            counter_resets=0,
        )
    ]
    power = [
        PowerSeries(
            "shellyem-A",
            0,
            [START + timedelta(seconds=30 * i) for i in range(100)],
            [float(i % 7) * 100 for i in range(100)],
        )
    ]
    alerts = [
        AlertRow(
            "outage",
            "critical",
            "shellyem-A",
            0,
            START + timedelta(hours=3),
            START + timedelta(hours=4),
            "No voltage <b>for an hour</b>",
        )
    ]
    manifests = [
        DailyManifest(
            device_id="shellyem-A",
            date="2026-11-19",
            readings=10,
            envelopes=12,
            duplicates=1,
            quarantined=1,
            source_objects=1,
            first_ts=None,
            last_ts=None,
            sha256="0" * 64,
            bytes=10,
            parser_version="1",
        )
    ]
    return ReportData(
        "test dashboard", "Europe/Kyiv", "UAH", START + timedelta(days=1), daily, hourly, power, alerts, manifests
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render(_data())


def test_the_page_inlines_plotly_once_and_loads_nothing_from_the_network(page: str) -> None:
    # When the dashboard is rendered (the fixture)

    # Then plotly.js is inside the page exactly once, and no script or stylesheet has a remote source
    assert page.count("Plotly.newPlot") >= 4
    assert len(re.findall(r"/\*\*\s*\n?\s*\* plotly\.js v", page)) <= 1
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)


def test_the_page_has_every_chart_and_table(page: str) -> None:
    for chart in ("chart-daily", "chart-cost", "chart-heatmap", "chart-power"):
        assert f'id="{chart}"' in page
    assert "Data quality" in page and "Recent alerts" in page


def test_alert_messages_are_escaped(page: str) -> None:
    assert "No voltage &lt;b&gt;for an hour&lt;/b&gt;" in page
    assert "<b>for an hour</b>" not in page


def test_the_quality_table_shows_kept_as_received_minus_duplicates_and_quarantined(page: str) -> None:
    assert "<td>12</td><td>10</td><td>1</td><td>1</td>" in page


def test_downsampling_keeps_the_extremes() -> None:
    # Given a long flat series with one spike
    ts = [START + timedelta(seconds=i) for i in range(20_000)]
    values = [100.0] * 20_000
    values[12_345] = 14_500.0

    # When it is downsampled to a few thousand points
    kept_ts, kept = downsample(ts, values, limit=2000)

    # Then it is shorter, still in time order, and the spike survives
    assert len(kept) <= 2200
    assert kept_ts == sorted(kept_ts)
    assert max(kept) == 14_500.0


def test_a_short_series_is_not_downsampled() -> None:
    ts = [START + timedelta(seconds=i) for i in range(10)]
    assert downsample(ts, [1.0] * 10) == (ts, [1.0] * 10)
