"""Helpers the local-stack commands share: the --home option, progress bars, summaries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

HOME_HELP = "State directory (buckets, queue, warehouse, outbox). Default: WATTLINE_HOME, else ./.wattline."


HOME_OPTION: Any = typer.Option(None, "--home", help=HOME_HELP, file_okay=False, dir_okay=True)


def resolve(home: Path | None) -> Path:
    from wattline.local.runtime import resolve_home

    return resolve_home(home).resolve()


def existing_home(home: Path | None) -> Path:
    """The resolved home; exits with status 1 and the reason when it is not a wattline home yet."""
    from wattline.errors import PermanentError
    from wattline.local.runtime import require_home

    root = resolve(home)
    try:
        require_home(root)
    except PermanentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    return root


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[Any]:
    """A Rich progress display with one bar per stage; yields `update(stage, done, total)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        yield lambda stage, done, total: None
        return
    labels = {
        "publish": "meters → MQTT → bridge → raw/",
        "pipeline": "validate → aggregate → load → alerts",
        "run": "pending events",
    }
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    ) as progress:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(labels.get(stage, stage), total=max(total, 1))
            progress.update(tasks[stage], completed=done, total=max(total, done, 1))

        yield update


def writable(home: Path) -> bool:
    """The home (and its warehouse file, when there is one) can be written: else readers open it read-only."""
    warehouse = home / "warehouse.duckdb"
    return os.access(home, os.W_OK) and (not warehouse.exists() or os.access(warehouse, os.W_OK))


def warehouse_settings(home: Path | None, warehouse: str | None) -> Any:
    """WarehouseSettings for `energy` and `alerts`: BigQuery from the WATTLINE_* settings, or a home's DuckDB.

    For DuckDB the home's own files are used (`<home>/warehouse.duckdb`, its local GCS bucket for readings_ext,
    `<home>/wattline.toml`), exactly as the local runtime writes them; WATTLINE_* variables still win.
    """
    from wattline.local.runtime import GCS_BUCKET, Home, load_settings
    from wattline.warehouse.settings import WarehouseSettings

    if warehouse not in (None, "duckdb", "bigquery"):
        raise typer.BadParameter("use duckdb or bigquery", param_hint="--warehouse")
    from_env = WarehouseSettings() if warehouse is None else WarehouseSettings(warehouse=warehouse)
    if from_env.warehouse != "duckdb":
        return from_env
    layout = Home(resolve(home))
    values: dict[str, Any] = {
        **load_settings(layout.root).model_dump(),
        "duckdb_path": layout.warehouse,
        "fs_root": layout.gcs_root,
        "bucket": GCS_BUCKET,
        "duckdb_read_only": not writable(layout.root),
    }
    values.update({name: getattr(from_env, name) for name in from_env.model_fields_set})
    return WarehouseSettings.model_validate(values)
