"""How commands end on wattline's error kinds: transient → exit 1 with what to do, permanent → exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from wattline.errors import PermanentError, TransientError


@contextmanager
def exit_on_failure(
    transient_hint: str, permanent: tuple[type[Exception], ...] = (PermanentError, ValueError)
) -> Iterator[None]:
    """A TransientError exits 1 with `transient_hint` (e.g. "try again"); a `permanent` error exits 2."""
    try:
        yield
    except TransientError as exc:
        typer.echo(f"error: {exc} ({transient_hint})", err=True)
        raise typer.Exit(1) from exc
    except permanent as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
