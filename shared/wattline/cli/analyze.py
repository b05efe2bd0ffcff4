"""`wattline analyze`: energy per device, channel and local day from MQTT captures or readings files."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def analyze() -> None:
        """Not implemented yet."""
        raise typer.Exit(1)
