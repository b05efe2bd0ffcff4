"""`wattline import`: backfill captures and device history into raw/, exactly as the IoT rule would store them."""

from __future__ import annotations

from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION


def register(app: typer.Typer) -> None:
    app.command(name="import", no_args_is_help=True)(import_files)


def import_files(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Files to import."),
    device: str = typer.Option(
        None,
        "--device",
        help="Device id for em_data.csv / EM1Data files (e.g. shellyem-A4CF12F454A3 or shellyproem50-08f9e0e67204).",
    ),
    channel: int = typer.Option(0, "--channel", min=0, max=3, help="Meter channel of em_data.csv / EM1Data files."),
    fmt: str = typer.Option("auto", "--format", help="auto, capture, em-data-csv or em1data-json."),
    home: Path = HOME_OPTION,
    run_now: bool = typer.Option(False, "--run", help="Then process everything pending, as `wattline run` does."),
) -> None:
    """Backfill captures and device history into raw/, as the IoT rule would.

    Writes MQTT captures ({"topic","payload","received_at"} lines), Gen1
    /emeter/<i>/em_data.csv downloads or Gen2 EM1Data.GetData JSON into the
    local raw/ bucket as batched objects of envelopes (the Firehose layout).
    Importing the same file twice writes the same keys. Then `wattline run`.
    """
    from rich.progress import track

    from wattline.importers import ImportError_, ImportFormat, ImportResult, import_text
    from wattline.local.cli_support import resolve
    from wattline.local.runtime import Runtime

    try:
        chosen = ImportFormat(fmt)
    except ValueError as exc:
        raise typer.BadParameter("use auto, capture, em-data-csv or em1data-json", param_hint="--format") from exc
    root = resolve(home)
    root.mkdir(parents=True, exist_ok=True)
    runtime = Runtime(root)
    result = ImportResult()
    try:
        for path in track(files, description="importing", disable=len(files) < 2):
            text = _read(path)
            try:
                import_text(text, runtime.s3, fmt=chosen, device_id=device, channel=channel, result=result)
            except ImportError_ as exc:
                typer.echo(f"{path}: {exc}", err=True)
                raise typer.Exit(1) from exc
        runtime.s3.flush()
        typer.echo(
            f"imported {result.messages} messages into {result.objects} raw objects "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(result.devices.items()))})"
        )
        if result.skipped:
            typer.echo(f"skipped {result.skipped} bad lines, e.g. {result.skipped_examples[:3]}", err=True)
        if run_now:
            runtime.schedule()
            report = runtime.run()
            typer.echo(f"handled {report.handled}, dead-lettered {report.dead}")
        else:
            typer.echo("next: `wattline run` (device-days are aggregated once their UTC day has closed)")
    finally:
        runtime.close()


def _read(path: Path) -> str:
    import gzip

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")
