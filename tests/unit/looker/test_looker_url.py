"""`wattline gcp looker-url`: the Looker Studio Linking API URL, parsed back parameter by parameter."""

from __future__ import annotations

import json
import re
from importlib import resources
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.errors import PermanentError
from wattline.looker import DATA_SOURCES, DEFAULT_REPORT_NAME, report_link

runner = CliRunner()
VIEWS = {
    "daily_zone_energy": "Overview",
    "monthly_energy": "Overview",
    "hourly_profile": "Profile",
    "data_quality": "Quality",
    "tariff_comparison": "Tariffs",
    "forecast_daily": "Forecast",
    "solar_daily": "Solar",
}


def _parameters(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


def test_the_url_is_the_linking_api_create_endpoint() -> None:
    parts = urlsplit(report_link("proj", "wattline").url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "lookerstudio.google.com", "/reporting/create")


def test_every_view_is_one_bigquery_table_data_source_of_the_project_and_dataset() -> None:
    # When a URL is built without a template
    parameters = _parameters(report_link("my-proj", "energy_ds").url)

    # Then each data source alias has exactly the BigQuery connector's parameters, once each
    for index, (view, _) in enumerate(VIEWS.items()):
        alias = f"ds.ds{index}."
        assert parameters.pop(alias + "connector") == ["bigQuery"]
        assert parameters.pop(alias + "type") == ["TABLE"]
        assert parameters.pop(alias + "projectId") == ["my-proj"]
        assert parameters.pop(alias + "datasetId") == ["energy_ds"]
        assert parameters.pop(alias + "tableId") == [view]
        assert parameters.pop(alias + "datasourceName") == [f"energy_ds.{view}"]
    # And the rest is the report's own settings: a blank report in edit mode, named
    assert parameters == {"c.mode": ["edit"], "r.reportName": [DEFAULT_REPORT_NAME]}


def test_a_template_report_is_copied_in_view_mode_with_the_given_name() -> None:
    parameters = _parameters(report_link("p", "d", report_name="Home & garden", template_report_id=" abc-123 ").url)

    assert parameters["c.reportId"] == ["abc-123"]
    assert parameters["c.mode"] == ["view"]
    assert parameters["r.reportName"] == ["Home & garden"]


def test_the_report_settings_come_first_and_every_parameter_appears_once() -> None:
    pairs = parse_qsl(urlsplit(report_link("p", "d", template_report_id="t").url).query)

    names = [name for name, _ in pairs]
    assert names[:3] == ["c.reportId", "c.mode", "r.reportName"]
    assert len(names) == len(set(names)) == 3 + 6 * len(VIEWS)


def test_special_characters_are_percent_encoded_not_left_to_the_browser() -> None:
    url = report_link("p", "d", report_name="a b&c=d/é").url

    assert "a%20b%26c%3Dd%2F%C3%A9" in url
    assert " " not in url


@pytest.mark.parametrize("field", ["project", "dataset", "report_name"])
def test_an_empty_project_dataset_or_name_is_refused(field: str) -> None:
    values = {"project": "p", "dataset": "d", "report_name": "r", field: " "}
    with pytest.raises(PermanentError, match="empty"):
        report_link(values["project"], values["dataset"], report_name=values["report_name"])


def test_the_data_sources_are_the_views_of_the_report_pages() -> None:
    assert {source.view: source.page for source in DATA_SOURCES} == VIEWS
    assert [source.alias for source in DATA_SOURCES] == [f"ds{i}" for i in range(len(VIEWS))]


def _created_views() -> set[str]:
    """Every view the shipped SQL creates: the warehouse views and the BigQuery ML forecast view."""
    sql = resources.files("wattline").joinpath("sql")
    texts = [path.read_text(encoding="utf-8") for path in sql.joinpath("views").iterdir() if path.name.endswith(".sql")]
    texts.append(sql.joinpath("queries", "forecast_daily_view.sql").read_text(encoding="utf-8"))
    return {
        name
        for text in texts
        for name in re.findall(r"CREATE OR REPLACE VIEW `\{\{project\}\}\.\{\{dataset\}\}\.(\w+)`", text)
    }


def test_every_table_the_url_names_is_a_view_wattline_creates() -> None:
    assert {source.view for source in DATA_SOURCES} <= _created_views()


def test_the_command_prints_the_url_with_the_project_and_dataset_options() -> None:
    result = runner.invoke(app, ["gcp", "looker-url", "--project", "proj", "--dataset", "ds"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == report_link("proj", "ds").url


def test_the_command_reads_the_project_and_dataset_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the same WATTLINE_* settings `wattline gcp init` reads
    monkeypatch.setenv("WATTLINE_GCP_PROJECT", "env-proj")
    monkeypatch.setenv("WATTLINE_BQ_DATASET", "env_ds")

    result = runner.invoke(app, ["gcp", "looker-url"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == report_link("env-proj", "env_ds").url


def test_the_json_format_gives_the_url_and_the_data_sources() -> None:
    result = runner.invoke(
        app,
        ["gcp", "looker-url", "--project", "p", "--template-report-id", "t", "--report-name", "R", "--format", "json"],
    )

    document = json.loads(result.output)
    assert document["url"] == report_link("p", "wattline", report_name="R", template_report_id="t").url
    assert (document["template_report_id"], document["mode"], document["report_name"]) == ("t", "view", "R")
    assert [(s["alias"], s["table"], s["page"]) for s in document["data_sources"]] == [
        (f"ds{i}", view, page) for i, (view, page) in enumerate(VIEWS.items())
    ]
    assert {(s["project"], s["dataset"]) for s in document["data_sources"]} == {("p", "wattline")}


def test_without_a_project_the_command_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_GCP_PROJECT", raising=False)

    result = runner.invoke(app, ["gcp", "looker-url"])

    assert result.exit_code == 2
    assert "--project" in result.output
