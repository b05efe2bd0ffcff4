"""`wattline retry`: re-drive dead-lettered events of the local home, then run."""

from __future__ import annotations

from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION


def register(app: typer.Typer) -> None:
    app.command()(retry)


def retry(
    ids: list[str] = typer.Argument(
        None, help="Dead-letter ids (or unique prefixes) from `wattline status`; default: all."
    ),
    home: Path = HOME_OPTION,
) -> None:
    """Re-drive dead-lettered events, then process them.

    Moves dead letters back to the queue with a fresh attempt budget and
    process them (handlers are idempotent, so re-driving is safe)."""
    from wattline.cli.failures import exit_on_failure
    from wattline.local.cli_support import resolve
    from wattline.local.ledger import home_ledger
    from wattline.local.runtime import Runtime
    from wattline.local.summary import print_ledger

    root = resolve(home)
    runtime = Runtime(root)
    with exit_on_failure("try again"):
        runtime.lock()
    moved = runtime.queue.redrive(list(ids) if ids else None)
    if not moved:
        typer.echo("no dead letters" + (" match" if ids else ""))
        runtime.close()
        return
    try:
        report = runtime.run()
        typer.echo(f"re-drove {len(moved)}; handled {report.handled}, dead-lettered again {report.dead}")
        print_ledger(home_ledger(root, runtime.clock()))
    finally:
        runtime.close()
    if report.dead:
        raise typer.Exit(1)
