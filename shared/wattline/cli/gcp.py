"""`wattline gcp …`: set up the Google Cloud side. `wattline gcp init` creates the BigQuery objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wattline import defaults
from wattline.looker import DATA_SOURCES, DEFAULT_REPORT_NAME
from wattline.warehouse.settings import WarehouseSettings

gcp_app = typer.Typer(
    help="Google Cloud set-up: the BigQuery dataset, tables, views and tariffs.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(gcp_app, name="gcp")


# Shared by every `wattline gcp` command: the same settings (WarehouseSettings) name the project and dataset.
PROJECT_OPTION: Any = typer.Option(None, "--project", help="GCP project id (default: WATTLINE_GCP_PROJECT).")
DATASET_OPTION: Any = typer.Option(
    None,
    "--dataset",
    help=f"BigQuery dataset (default: WATTLINE_BQ_DATASET, {WarehouseSettings.model_fields['bq_dataset'].default}).",
)


def _bigquery_settings(**options: Any) -> tuple[WarehouseSettings, str]:
    """WarehouseSettings for BigQuery (the WATTLINE_* settings, overridden by the options that were given) and
    its project, which every `wattline gcp` command needs."""
    from wattline.errors import PermanentError

    settings = WarehouseSettings(warehouse="bigquery", **{k: v for k, v in options.items() if v is not None})
    if not settings.gcp_project:
        raise PermanentError("no project: pass --project or set WATTLINE_GCP_PROJECT")
    return settings, settings.gcp_project


@gcp_app.command("init")
def init(
    project: str = PROJECT_OPTION,
    dataset: str = DATASET_OPTION,
    location: str = typer.Option(None, "--location", help="Dataset location (default: WATTLINE_BQ_LOCATION, EU)."),
    bucket: str = typer.Option(
        None, "--bucket", help="GCS bucket holding daily/ (the external table) (default: WATTLINE_BUCKET)."
    ),
    endpoint: str = typer.Option(
        None, "--endpoint", help="bqemulator REST URL, e.g. http://127.0.0.1:9050 (default: WATTLINE_BQ_ENDPOINT)."
    ),
    tz: str = typer.Option(
        None, "--tz", help=f"Site time zone the views use (default: WATTLINE_TIMEZONE, {defaults.TIMEZONE})."
    ),
    tariff: str = typer.Option(
        None, "--tariff", help="Site tariff the views price with: preset or TOML file (default: WATTLINE_TARIFF)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the SQL that would run; contact nothing."),
    sql_out: Path = typer.Option(None, "--sql-out", help="Also write the rendered SQL to this file."),
) -> None:
    """Create or update every BigQuery object wattline needs; load the tariffs.

    Safe to re-run. Runs the SQL files shipped in wattline/sql, placeholders
    filled: the dataset; the external table readings_ext over
    gs://BUCKET/daily/ (hive partitions dt and device; a dt filter is
    required); the tables energy_hourly, tariff_zone_hours, tariff_prices
    (and the alert tables); the views daily_energy, monthly_energy,
    hourly_profile, data_quality and their helpers.

    Tables are created only if missing (their data is kept). Views and the
    external table are replaced, so a new time zone or site tariff takes
    effect. The tariff tables get the presets and the site tariff.
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.errors import PermanentError
    from wattline.warehouse import init_warehouse
    from wattline.warehouse.bigquery import BigQueryWarehouse

    with exit_on_failure("BigQuery is unavailable for now: re-run, init is idempotent"):
        settings, project = _bigquery_settings(
            gcp_project=project,
            bq_dataset=dataset,
            bq_location=location,
            bucket=bucket,
            bq_endpoint=endpoint,
            timezone=tz,
            tariff=tariff,
        )
        if not settings.bucket:
            raise PermanentError("no bucket for the external table: pass --bucket or set WATTLINE_BUCKET")
        from wattline.tariffs import load_tariff

        warehouse = BigQueryWarehouse(
            project=project,
            dataset=settings.bq_dataset,
            location=settings.bq_location,
            endpoint=settings.bq_endpoint,
            timezone=settings.timezone,
            tariff=load_tariff(settings.tariff).name,
            bucket=settings.bucket,
        )
        statements = warehouse.rendered_schema()
        rendered = "\n\n".join(f"-- {path}\n{sql};" for path, sql in statements) + "\n"
        if sql_out is not None:
            sql_out.write_text(rendered, encoding="utf-8")
        if dry_run:
            typer.echo(rendered, nl=False)
            return
        tariffs = init_warehouse(warehouse, settings)
    context = warehouse.context
    typer.echo(
        f"{context.project}.{context.dataset}: {len(statements)} objects ensured "
        f"(time zone {context.timezone}, site tariff {context.tariff}); tariffs loaded: {', '.join(tariffs)}"
    )


@gcp_app.command("looker-url")
def looker_url(
    project: str = PROJECT_OPTION,
    dataset: str = DATASET_OPTION,
    report_name: str = typer.Option(DEFAULT_REPORT_NAME, "--report-name", help="Name of the new report."),
    template_report_id: str = typer.Option(
        None,
        "--template-report-id",
        help=f"Id of a template report to copy (its pages and charts; data sources {DATA_SOURCES[0].alias}.."
        f"{DATA_SOURCES[-1].alias}, docs/looker.md). "
        "Without it the report starts blank, in edit mode, with the data sources attached.",
    ),
    open_browser: bool = typer.Option(False, "--open", help="Also open the URL in the default browser."),
    output: str = typer.Option("text", "--format", help="text (the URL) or json (the URL and the data sources)."),
) -> None:
    """Print a Looker Studio Linking API URL for a report over the wattline views.

    One BigQuery data source per view: daily_zone_energy and
    monthly_energy (Overview page), hourly_profile (Profile), data_quality
    (Quality), tariff_comparison (Tariffs), forecast_daily (Forecast,
    created by infra/gcp/forecast.sh) and solar_daily (Solar). Following the
    URL, Looker Studio copies the template report (or starts a blank one)
    and connects its data sources to these views; "Edit and share" saves it
    to your account. Contacts nothing. Details: docs/looker.md.
    """
    import json

    from wattline.cli.failures import exit_on_failure
    from wattline.looker import report_link

    if output not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    with exit_on_failure("try again"):
        settings, project = _bigquery_settings(gcp_project=project, bq_dataset=dataset)
        link = report_link(project, settings.bq_dataset, report_name=report_name, template_report_id=template_report_id)
    typer.echo(json.dumps(link.as_dict(), indent=2) if output == "json" else link.url)
    if open_browser:
        typer.launch(link.url)
