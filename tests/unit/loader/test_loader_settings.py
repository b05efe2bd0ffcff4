"""gcp_loader.settings.LoaderSettings: one model, validated once, nothing pointing at a real resource silently."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gcp_loader.settings import LoaderSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("WATTLINE_GCP_PROJECT", "WATTLINE_STORAGE", "WATTLINE_WAREHOUSE", "WATTLINE_PUBLISHER"):
        monkeypatch.delenv(name, raising=False)


def test_cloud_defaults_without_a_project_fail_with_what_to_set():
    with pytest.raises(ValidationError, match="WATTLINE_GCP_PROJECT"):
        LoaderSettings()


def test_embedded_backends_need_no_project(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTLINE_STORAGE", "fs")
    monkeypatch.setenv("WATTLINE_FS_ROOT", str(tmp_path))
    monkeypatch.setenv("WATTLINE_WAREHOUSE", "duckdb")
    monkeypatch.setenv("WATTLINE_PUBLISHER", "outbox")
    settings = LoaderSettings()
    assert settings.gcp_project is None and settings.fs_root == tmp_path


def test_the_engine_options_come_from_the_site_settings(monkeypatch):
    monkeypatch.setenv("WATTLINE_GCP_PROJECT", "p")
    monkeypatch.setenv("WATTLINE_INTEGRATION_METHOD", "trapezoid")
    monkeypatch.setenv("WATTLINE_MAX_GAP_SECONDS", "120")
    options = LoaderSettings().options()
    assert (options.method, options.max_gap_s, options.timezone) == ("trapezoid", 120.0, "Europe/Kyiv")
