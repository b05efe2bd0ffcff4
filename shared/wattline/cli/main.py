"""Entry point of the `wattline` command."""

from __future__ import annotations

import typer

from wattline import __version__
from wattline.cli import alerts, analyze, aws, demo, energy, gcp, import_, report, retry, run, status, transfer

app = typer.Typer(
    name="wattline",
    help=(
        "wattline: Shelly energy-meter telemetry from MQTT to exact energy, cost and alerts.\n\n"
        "Start with `wattline demo` (the whole pipeline on local disk, no cloud account) or "
        "`wattline analyze CAPTURE.jsonl` (energy per day and tariff zone from a capture)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wattline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """wattline command line."""


analyze.register(app)
alerts.register(app)
energy.register(app)
gcp.register(app)
aws.register(app)
demo.register(app)
import_.register(app)
run.register(app)
status.register(app)
retry.register(app)
report.register(app)
transfer.register(app)


def main() -> None:
    app()
