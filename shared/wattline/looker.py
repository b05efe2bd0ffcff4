"""Looker Studio Linking API URLs: one link that opens a report whose BigQuery data sources are wattline's views.

Pure (no I/O): `wattline gcp looker-url` prints what `report_link` builds; docs/looker.md describes the report.

The Linking API (https://developers.google.com/looker-studio/integrate/linking-api) takes everything from the query
string of https://lookerstudio.google.com/reporting/create: `c.reportId` names a template report to copy (without
it the report starts blank), `c.mode` opens it in view or edit mode, `r.reportName` names it, and for each data
source alias `ds.<alias>.*` configures that data source. A `ds.<alias>.connector` replaces the template's data
source of that alias entirely, so every parameter the BigQuery connector requires is given (`type=TABLE`,
`projectId`, `datasetId`, `tableId`); `datasourceName` names it. Looker Studio copies the template's pages and
charts and swaps only the data sources: the aliases below must be the template's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from wattline.errors import PermanentError

LINKING_API_URL = "https://lookerstudio.google.com/reporting/create"
DEFAULT_REPORT_NAME = "wattline energy"
CONNECTOR = "bigQuery"
TABLE_TYPE = "TABLE"  # the BigQuery connector reads a table or view (the other type, CUSTOM_QUERY, runs SQL)

Mode = Literal["view", "edit"]


@dataclass(frozen=True)
class LookerDataSource:
    """One data source of the report: the view it reads and the report page its charts are on."""

    alias: str
    view: str
    page: str

    def name(self, dataset: str) -> str:
        """The data source's name in Looker Studio: where it reads from."""
        return f"{dataset}.{self.view}"

    def parameters(self, project: str, dataset: str) -> list[tuple[str, str]]:
        prefix = f"ds.{self.alias}."
        return [
            (prefix + "connector", CONNECTOR),
            (prefix + "type", TABLE_TYPE),
            (prefix + "projectId", project),
            (prefix + "datasetId", dataset),
            (prefix + "tableId", self.view),
            (prefix + "datasourceName", self.name(dataset)),
        ]


# Aliases ds0, ds1, … because Looker Studio numbers a report's data sources in the order they are added: a template
# built by adding the views in this order (docs/looker.md, "The template report") has exactly these aliases.
DATA_SOURCES: tuple[LookerDataSource, ...] = (
    LookerDataSource("ds0", "daily_zone_energy", "Overview"),
    LookerDataSource("ds1", "monthly_energy", "Overview"),
    LookerDataSource("ds2", "hourly_profile", "Profile"),
    LookerDataSource("ds3", "data_quality", "Quality"),
    LookerDataSource("ds4", "tariff_comparison", "Tariffs"),
    LookerDataSource("ds5", "forecast_daily", "Forecast"),
    LookerDataSource("ds6", "solar_daily", "Solar"),
)


@dataclass(frozen=True)
class LookerReportLink:
    """A Linking API URL and what it configures (the `--format json` document of `wattline gcp looker-url`)."""

    url: str
    project: str
    dataset: str
    report_name: str
    template_report_id: str | None
    mode: Mode

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "report_name": self.report_name,
            "template_report_id": self.template_report_id,
            "mode": self.mode,
            "data_sources": [
                {
                    "alias": source.alias,
                    "page": source.page,
                    "project": self.project,
                    "dataset": self.dataset,
                    "table": source.view,
                    "name": source.name(self.dataset),
                }
                for source in DATA_SOURCES
            ],
        }


def report_link(
    project: str,
    dataset: str,
    *,
    report_name: str = DEFAULT_REPORT_NAME,
    template_report_id: str | None = None,
) -> LookerReportLink:
    """The Linking API URL creating a report over every view in DATA_SOURCES.

    With a template the report opens in view mode (its pages are ready; "Edit and share" saves a copy); without
    one it opens blank in edit mode, the data sources attached, for the charts to be added."""
    for name, value in (("project", project), ("dataset", dataset), ("report name", report_name)):
        if not value.strip():
            raise PermanentError(f"the {name} is empty")
    template = template_report_id.strip() if template_report_id else None
    mode: Mode = "view" if template else "edit"
    parameters: list[tuple[str, str]] = [("c.reportId", template)] if template else []
    parameters += [("c.mode", mode), ("r.reportName", report_name)]
    for source in DATA_SOURCES:
        parameters += source.parameters(project, dataset)
    url = f"{LINKING_API_URL}?{urlencode(parameters, quote_via=quote)}"
    return LookerReportLink(url, project, dataset, report_name, template, mode)
