"""`wattline gcp …`: set up the Google Cloud side. `wattline gcp init` creates the BigQuery objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wattline import defaults

gcp_app = typer.Typer(
    help="Google Cloud set-up: the BigQuery dataset, tables, views and tariffs.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(gcp_app, name="gcp")


@gcp_app.command("init")
def init(
    project: str = typer.Option(None, "--project", help="GCP project id (default: WATTLINE_GCP_PROJECT)."),
    dataset: str = typer.Option(None, "--dataset", help="BigQuery dataset (default: WATTLINE_BQ_DATASET, wattline)."),
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
    from wattline.warehouse.settings import WarehouseSettings

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "gcp_project": project,
            "bq_dataset": dataset,
            "bq_location": location,
            "bucket": bucket,
            "bq_endpoint": endpoint,
            "timezone": tz,
            "tariff": tariff,
        }.items()
        if value is not None
    }
    with exit_on_failure("BigQuery is unavailable for now: re-run, init is idempotent"):
        settings = WarehouseSettings(warehouse="bigquery", **overrides)
        if not settings.gcp_project:
            raise PermanentError("no project: pass --project or set WATTLINE_GCP_PROJECT")
        if not settings.bucket:
            raise PermanentError("no bucket for the external table: pass --bucket or set WATTLINE_BUCKET")
        from wattline.tariffs import load_tariff

        warehouse = BigQueryWarehouse(
            project=settings.gcp_project,
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
