"""The dashboard opened in headless Chromium: no console errors, every chart renders an SVG, a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from e2e_support import DemoRun
from helpers.serverless import ROOT

from wattline.local.summary import write_report
from wattline.report.dashboard import FORECAST_TITLE, TARIFF_TITLE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = ("chart-daily", "chart-cost", "chart-tariffs", "chart-heatmap", "chart-solar", "chart-power")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = ["bash", str(ROOT / "infra" / "local" / "headless-chromium.sh"), str(profile), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def dashboard(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed: `apt-get install -y chromium` (or make servers)")
    return write_report(demo_run.runtime, tmp_path_factory.mktemp("report") / "report.html")


def test_the_dashboard_renders_every_chart_without_console_errors(dashboard: Path, tmp_path: Path) -> None:
    # When Chromium loads the file and dumps the DOM after the scripts ran
    result = _chromium(tmp_path / "profile", "--dump-dom", dashboard.as_uri())

    # Then nothing reached the console: no script error, no warning (console lines carry no level, so none at all)
    console = [line for line in result.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    assert console == []
    # And each chart holds a non-empty Plotly SVG
    dom = result.stdout
    for chart in CHARTS:
        start = dom.index(f'id="{chart}"')
        assert 'class="main-svg"' in dom[start : start + 20_000], chart
    assert dom.count("<path") > 50


def test_the_dashboard_shows_the_tariff_comparison_and_why_there_is_no_forecast_yet(
    dashboard: Path, tmp_path: Path
) -> None:
    # When Chromium renders the dashboard of the one-day demo
    dom = _chromium(tmp_path / "profile", "--dump-dom", dashboard.as_uri()).stdout

    # Then the tariff comparison chart has its title, and the forecast panel says why it has no chart
    assert TARIFF_TITLE in dom
    forecast = dom[dom.index('id="panel-forecast"') :]
    assert FORECAST_TITLE in forecast[:2000]
    assert "need at least 14 days of history" in forecast[:2000]


def test_the_dashboard_screenshot_is_not_blank(dashboard: Path, tmp_path: Path) -> None:
    # When Chromium takes a full-page screenshot
    shot = tmp_path / "dashboard.png"
    result = _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,2600", dashboard.as_uri())

    # Then a real image was written (a blank page compresses to a few KB)
    assert shot.exists(), result.stderr[-2000:]
    assert shot.stat().st_size > 50_000
