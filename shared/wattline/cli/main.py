"""Entry point of the `wattline` command."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer

from wattline import __version__
from wattline.cli.memory import return_large_blocks_to_the_system

# Command → the module that registers it, in the order `wattline --help` lists them: local use first, then the
# clouds. A command's module is imported only when that command runs (or for `--help`): `wattline analyze` does
# not pay for the serve, warehouse and cloud modules.
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "analyze": "analyze",
    "import": "import_",
    "run": "run",
    "serve": "serve",
    "status": "status",
    "retry": "retry",
    "energy": "energy",
    "whatif": "whatif",
    "forecast": "forecast",
    "rebuild": "rebuild",
    "archive": "archive",
    "restore": "archive",
    "alerts": "alerts",
    "report": "report",
    "cost": "cost",
    "transfer": "transfer",
    "gcp": "gcp",
    "aws": "aws",
}


def build_app(only: str | None = None) -> typer.Typer:
    """The `wattline` app with every command, or with just `only` (the one about to run)."""
    app = _new_app()
    names = [only] if only in COMMANDS else list(COMMANDS)
    for module in dict.fromkeys(COMMANDS[name] for name in names):
        importlib.import_module(f"wattline.cli.{module}").register(app)
    return app


def _new_app() -> typer.Typer:
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
    app.callback()(_root)
    return app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wattline {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """wattline command line."""


def __getattr__(name: str) -> Any:
    """`wattline.cli.main.app`: the app with every command (built on first use, for tests and embedding)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(name)


def main() -> None:
    # numpy's OpenBLAS starts one thread per core on import, which costs ~0.1 CPU-s per command and helps nothing
    # here (no large matrix products). A user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return_large_blocks_to_the_system()
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build_app(command)()
