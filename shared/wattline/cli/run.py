"""`wattline run`: process everything pending in the local home (a no-op when nothing is)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION


def register(app: typer.Typer) -> None:
    app.command(name="run")(run)


def run(
    home: Path = HOME_OPTION,
    now: str = typer.Option(
        None,
        "--now",
        help="Schedule time (ISO 8601 with offset); default the wall clock. Days close at UTC "
        "midnight + 2 h, so backfilled recent days may need a later --now.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    wait: bool = typer.Option(
        False, "--wait", help="If another wattline process is writing to the home, wait for it instead of exiting."
    ),
) -> None:
    """Process everything pending (a no-op when nothing is).

    Runs the daily schedule and every pending event: validate new raw objects,
    aggregate closed device-days, transfer daily files, load them, detect and
    deliver alerts. Failed events are retried, then dead-lettered (see
    `wattline status`, `wattline retry`). One process writes to a home at a
    time: a second `run` exits with a message (or waits, with --wait); a run
    that was killed is finished by the next one."""
    from wattline.cli.failures import exit_on_failure
    from wattline.local.cli_support import existing_home, progress_bars
    from wattline.local.ledger import home_ledger
    from wattline.local.runtime import Runtime
    from wattline.local.summary import print_ledger

    root = existing_home(home)
    when = datetime.fromisoformat(now) if now else None
    if when is not None and when.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-28T03:00:00+00:00", param_hint="--now")
    runtime = Runtime(root, clock=(lambda: when) if when else None)
    with exit_on_failure("try again"):
        runtime.lock(wait=wait)
    before = home_ledger(root, runtime.clock())
    due = runtime.pending_raw_days()
    if not runtime.queue.pending() and not due and not before.aggregated_not_transferred:
        typer.echo(
            "nothing pending"
            + (f" ({len(before.pending_days)} device-days wait for their day to close)" if before.pending_days else "")
        )
        runtime.close()
        return
    runtime.schedule()
    try:
        with progress_bars(not quiet) as update:
            done = 0

            def tick(_event: object) -> None:
                nonlocal done
                done += 1
                update("run", done, done + runtime.queue.pending_count())

            report = runtime.run(on_event=tick)
        typer.echo(f"handled {report.handled}, retried {report.retried}, dead-lettered {report.dead}")
        print_ledger(home_ledger(root, runtime.clock()))
    finally:
        runtime.close()
    if report.dead:
        raise typer.Exit(1)
