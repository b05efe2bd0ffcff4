"""Entry point of the `wattline` command."""

from __future__ import annotations

import typer

from wattline import __version__
from wattline.cli import (
    alerts,
    analyze,
    archive,
    aws,
    cost,
    demo,
    energy,
    gcp,
    import_,
    rebuild,
    report,
    retry,
    run,
    serve,
    status,
    transfer,
)

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


# Registration order is the order `wattline --help` lists the commands: local use first, then the clouds.
for module in (
    demo,
    analyze,
    import_,
    run,
    serve,
    status,
    retry,
    energy,
    rebuild,
    archive,
    alerts,
    report,
    cost,
    transfer,
    gcp,
    aws,
):
    module.register(app)


def main() -> None:
    app()
