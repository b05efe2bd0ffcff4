"""One composition per stage: the same WATTLINE_* settings give the same behaviour on a home as deployed."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattline.alerts.settings import AlertSettings
from wattline.local.runtime import Runtime
from wattline.stages import AggregationSettings, LoaderSettings


@pytest.fixture
def deployed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTLINE_ALERTS__GAP_S", "90")
    monkeypatch.setenv("WATTLINE_NEIGHBOUR_DAYS", "5")
    monkeypatch.setenv("WATTLINE_DEDUP_WINDOW_MS", "500")
    monkeypatch.setenv("WATTLINE_TIMEZONE", "Europe/Warsaw")


def test_a_threshold_and_a_loader_option_mean_the_same_on_a_home_as_deployed(deployed_env, tmp_path: Path) -> None:
    # Given the settings a deployment's functions read (the detect function, the loader, the aggregate Lambda)
    detect = AlertSettings(gcp_project="p").detect_options()
    loader = LoaderSettings(gcp_project="p").options()
    aggregate = AggregationSettings()
    # When a home builds its stages
    runtime = Runtime(tmp_path)
    try:
        local_detect = runtime.alert_settings().detect_options()
        local_loader = runtime.loader_options()
        local_aggregate = runtime.aggregation_settings()
    finally:
        runtime.close()
    # Then both honour them alike
    assert local_detect.thresholds.gap_s == detect.thresholds.gap_s == 90
    assert local_loader.neighbour_days == loader.neighbour_days == 5
    assert local_aggregate.dedup_window_ms == aggregate.dedup_window_ms == 500
    assert local_loader.timezone == loader.timezone == "Europe/Warsaw" == local_detect.tz.key
    # And only what is local differs: the home's own topic, and the watermark nothing else watches for
    assert local_loader.topic == "energy-updated" == loader.topic
    assert (local_detect.watermark, detect.watermark) == ("newest_reading", "delivered_day")


def test_the_home_toml_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wattline.toml").write_text("neighbour_days = 7\nconcurrency = 3\n[alerts]\ngap_s = 120\n")
    monkeypatch.setenv("WATTLINE_CONCURRENCY", "2")
    runtime = Runtime(tmp_path)
    try:
        assert runtime.loader_options().neighbour_days == 7
        assert runtime.aggregation_settings().concurrency == 2
        assert runtime.alert_settings().thresholds.gap_s == 120
    finally:
        runtime.close()
