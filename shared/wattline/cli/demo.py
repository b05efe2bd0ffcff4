"""`wattline demo`: simulated meters through an MQTT broker and the whole pipeline on this machine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION

DEMO_DAYS = 14  # two weeks: every weekday twice, what `wattline forecast` needs (MIN_HISTORY_DAYS)


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    devices: int = typer.Option(2, "--devices", min=1, max=20, help="Simulated meters (Gen1 and Gen2 alternate)."),
    days: int = typer.Option(
        DEMO_DAYS, "--days", min=1, max=28, help="Simulated local days, ending last midnight (`forecast` needs 14)."
    ),
    live_days: int = typer.Option(
        1,
        "--live-days",
        min=1,
        help="The last N days are published live through the MQTT broker; the days before are backfilled as "
        "`wattline import` does (publishing two weeks through the broker takes minutes).",
    ),
    seed: int = typer.Option(7, "--seed", help="Simulation seed: the same seed gives the same messages."),
    stack: str = typer.Option(
        "embedded",
        "--stack",
        help="embedded (default: directories, amqtt, DuckDB, in-process functions) or emulators (moto, "
        "fake-gcs-server, Pub/Sub emulator, bqemulator, mosquitto, functions-framework; started on free 127.0.0.1 "
        "ports and stopped at the end).",
    ),
    broker: str = typer.Option("amqtt", "--broker", help="amqtt (embedded, default) or mosquitto."),
    today: str = typer.Option(None, "--today", help="Pretend today is this local date (YYYY-MM-DD)."),
    home: Path = HOME_OPTION,
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Run the whole pipeline locally on simulated meters and write the dashboard.

    Simulated Shelly meters (Gen1 EM on a real UCI household series, Gen2 Pro EM
    with a solar channel, more alternating) make two weeks of real MQTT messages,
    with scripted faults: a reboot (counters -1, then reset), duplicates, late
    messages, an outage and a spike. The last day is published live through
    the broker and the bridge stores it under raw/ as the IoT rule would; the
    days before are backfilled as `wattline import` does. Validate, the daily
    aggregation, the transfer to the "GCS" bucket, the loader (DuckDB) and
    alert detection all run on local disk
    (--stack emulators: against local API servers, the loader and detection
    served by functions-framework, the warehouse on bqemulator).
    Prints energy per device and day, the ledger and the alerts; saves the
    messages as <home>/capture.jsonl (`wattline analyze` reads it) and the
    dashboard as <home>/report.html.
    """
    from wattline.local.cli_support import progress_bars, resolve
    from wattline.local.demo import run_demo
    from wattline.local.summary import print_summary, write_report

    if stack not in ("embedded", "emulators"):
        raise typer.BadParameter("use embedded or emulators", param_hint="--stack")
    if live_days > days:
        raise typer.BadParameter(f"at most --days ({days})", param_hint="--live-days")
    if broker not in ("amqtt", "mosquitto"):
        raise typer.BadParameter("use amqtt or mosquitto", param_hint="--broker")
    root = resolve(home)
    pinned = date.fromisoformat(today) if today else None
    try:
        with progress_bars(not quiet) as update:
            result, runtime = run_demo(
                root,
                devices=devices,
                days=days,
                live_days=live_days,
                seed=seed,
                broker=broker,
                today=pinned,
                progress=update,
                stack=stack,
            )
    except Exception as exc:
        from wattline.local.broker import BrokerUnavailableError
        from wattline.local.servers import ServerMissingError

        if isinstance(exc, BrokerUnavailableError | ServerMissingError | RuntimeError):
            typer.echo(f"demo failed: {exc}", err=True)
            raise typer.Exit(1) from exc
        raise
    try:
        report = write_report(runtime, root / "report.html")
        print_summary(runtime, result.scenario.dates(), seconds=result.seconds)
    finally:
        runtime.close()
    typer.echo(f"capture: {root / 'capture.jsonl'}   dashboard: {report}")
    if result.settings_note:
        typer.echo(f"note: {result.settings_note}")
