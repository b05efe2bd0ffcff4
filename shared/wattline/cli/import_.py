"""`wattline import`: backfill captures and device history into raw/, exactly as the IoT rule would store them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from wattline.local.cli_support import HOME_OPTION
from wattline.settings import Settings

if TYPE_CHECKING:
    from wattline.importers import ImportResult

MAX_BYTES: int = Settings.model_fields["max_import_bytes"].default


def register(app: typer.Typer) -> None:
    app.command(name="import", no_args_is_help=True)(import_files)


def import_files(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="Files to import (plain or .gz, decided by content)."
    ),
    device: str = typer.Option(
        None,
        "--device",
        help="Device id for em_data.csv / EM1Data files (e.g. shellyem-A4CF12F454A3 or shellyproem50-08f9e0e67204).",
    ),
    channel: int = typer.Option(0, "--channel", min=0, max=3, help="Meter channel of em_data.csv / EM1Data files."),
    fmt: str = typer.Option("auto", "--format", help="auto, capture, em-data-csv or em1data-json."),
    max_bytes: int = typer.Option(
        None,
        "--max-bytes",
        min=1,
        help=f"Refuse a file larger than this once decompressed (default: {MAX_BYTES:,}, WATTLINE_MAX_IMPORT_BYTES).",
    ),
    home: Path = HOME_OPTION,
    run_now: bool = typer.Option(False, "--run", help="Then process everything pending, as `wattline run` does."),
) -> None:
    """Backfill captures and device history into raw/, as the IoT rule would.

    Writes MQTT captures ({"topic","payload","received_at"} lines), Gen1
    /emeter/<i>/em_data.csv downloads or Gen2 EM1Data.GetData JSON into the
    local raw/ bucket as batched objects of envelopes (the Firehose layout).
    Every capture message is written, on a topic the IoT rules skip too (under
    the device its topic names), so `wattline run` quarantines what it cannot
    read with a reason and `wattline status` counts it. Lines that are no
    message (the rule `wattline analyze` applies) and history rows that cannot
    be right are counted and reported with file and line; the rest goes on. A
    truncated .gz keeps the lines before the break. Importing the same file
    twice writes the same keys. Then `wattline run`.
    """
    from rich.progress import track

    from wattline.errors import PermanentError
    from wattline.importers import ImportError_, ImportFormat, ImportResult, import_file
    from wattline.inputs import InputTooLarge
    from wattline.local.cli_support import resolve
    from wattline.local.runtime import Runtime

    try:
        chosen = ImportFormat(fmt)
    except ValueError as exc:
        raise typer.BadParameter("use auto, capture, em-data-csv or em1data-json", param_hint="--format") from exc
    root = resolve(home)
    root.mkdir(parents=True, exist_ok=True)
    runtime = Runtime(root)
    try:
        runtime.lock()  # one writer per home: while `run` or `serve` writes to it, the import exits with a message
    except PermanentError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    result = ImportResult()
    refused: list[str] = []
    limit = max_bytes or runtime.settings.max_import_bytes
    try:
        for path in track(files, description="importing", disable=len(files) < 2):
            try:
                import_file(
                    path, runtime.s3, fmt=chosen, device_id=device, channel=channel, max_bytes=limit, result=result
                )
            except InputTooLarge as exc:
                refused.append(
                    f"{path}: not imported, larger than the limit of {exc.limit:,} bytes once decompressed; "
                    "raise it with --max-bytes N, WATTLINE_MAX_IMPORT_BYTES=N or max_import_bytes in wattline.toml"
                )
            except ImportError_ as exc:
                refused.append(f"{path}: not imported, {exc}")
        typer.echo(
            f"imported {result.messages} messages into {result.objects} raw objects "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(result.devices.items()))})"
        )
        _report_problems(result, refused)
        if run_now:
            runtime.schedule()
            report = runtime.run()
            typer.echo(f"handled {report.handled}, dead-lettered {report.dead}")
        else:
            typer.echo("next: `wattline run` (device-days are aggregated once their UTC day has closed)")
    finally:
        runtime.close()
    if refused:
        raise typer.Exit(1)


def _report_problems(result: ImportResult, refused: list[str]) -> None:
    from wattline.cli.output import invalid_lines, print_stderr

    if result.invalid_lines:
        print_stderr(
            [
                f"skipped {result.invalid_lines} invalid lines:",
                *invalid_lines(result.invalid_lines, result.invalid_examples, "invalid"),
            ]
        )
    for problem in result.file_errors:
        typer.echo(f"warning: {problem}", err=True)
    for problem in refused:
        typer.echo(f"error: {problem}", err=True)
