"""`wattline archive` and `wattline restore`: the archiver's stage on a home or on the S3 data bucket.

Both run wattline.stages.run_archive / run_restore, the composition the archiver Lambda runs, with the same
settings model (ArchiveSettings; on S3 ArchiverSettings, which adds the bucket).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wattline.archive_stage import ArchiveSettings
from wattline.local.cli_support import HOME_OPTION

if TYPE_CHECKING:
    from wattline.archive import ArchiveResult, BundleStore, RestoreResult, RestoreStatus
    from wattline.archive_stage import ArchiveRequest
    from wattline.ports import ObjectStore

EXIT_PENDING = 3  # `restore`: some bundle is still being restored by Glacier; run the same command again later

STORE_HELP = "home (a local home, the default) or s3 (the data bucket: --bucket, else WATTLINE_BUCKET)."
BUCKET_HELP = "The S3 data bucket (the ingest stack's BucketName output); implies --store s3."
ENDPOINT_HELP = "S3 endpoint URL, e.g. a moto server (default: WATTLINE_S3_ENDPOINT_URL, else AWS)."
REGION_HELP = "AWS region of the bucket (default: WATTLINE_REGION, AWS_REGION or AWS_DEFAULT_REGION)."
FORMAT_HELP = "table or json."


def _default(name: str) -> Any:
    """A default of the archive settings model, for --help (the model is its one source)."""
    default = ArchiveSettings.model_fields[name].default
    return getattr(default, "value", default)


def register(app: typer.Typer) -> None:
    app.command(name="archive")(archive)
    app.command(name="restore")(restore)


@dataclass
class Target:
    """The store a command works on, the archive settings for it, and how to let go of it."""

    label: str  # "home /path" or "s3://bucket"
    on_home: bool
    settings: ArchiveSettings
    archive: Callable[[ArchiveRequest], list[ArchiveResult]]
    restore: Callable[[list[str], date, date], list[RestoreResult]]
    status: Callable[[list[str], date, date], list[RestoreStatus]]


@contextmanager
def _target(
    store: str | None,
    home: Path | None,
    bucket: str | None,
    endpoint_url: str | None,
    region: str | None,
    now: datetime | None,
    *,
    writes: bool,
) -> Iterator[Target]:
    """The home (its runtime: locked when the command writes) or the S3 bucket, from the archiver's settings."""
    kind = store or ("s3" if bucket else "home")
    if kind not in ("home", "s3"):
        raise typer.BadParameter("use home or s3", param_hint="--store")
    if kind == "s3":
        yield _s3_target(bucket, endpoint_url, region)
        return
    if bucket or endpoint_url or region:
        raise typer.BadParameter("--bucket, --endpoint-url and --region are for --store s3", param_hint="--store")
    from wattline.cli.failures import exit_on_failure
    from wattline.local.cli_support import existing_home
    from wattline.local.runtime import Runtime

    root = existing_home(home)
    runtime = Runtime(root, clock=(lambda: now) if now else None, read_only=not writes)
    try:
        if writes:
            with exit_on_failure("another wattline process writes to this home: try again when it is done"):
                runtime.lock()
        yield Target(
            f"home {root}",
            True,
            runtime.archive_settings(),
            runtime.archive,
            runtime.restore,
            runtime.restore_status,
        )
    finally:
        runtime.close()


def _s3_target(bucket: str | None, endpoint_url: str | None, region: str | None) -> Target:
    from pydantic import ValidationError

    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.archive_stage import ArchiverSettings, restore_statuses, run_archive, run_restore

    overrides: dict[str, Any] = {
        name: value
        for name, value in (("bucket", bucket), ("s3_endpoint_url", endpoint_url), ("region", region))
        if value is not None
    }
    try:
        settings = ArchiverSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())
        raise _fail(
            f"the S3 store is not configured ({problems}): pass --bucket (or set WATTLINE_BUCKET) and --region "
            "(or set AWS_REGION)",
            2,
        ) from None
    s3 = settings.s3_store()
    store: ObjectStore = s3
    bundles: BundleStore = S3BundleStore(s3.client, settings.bucket)

    def archive_(request: ArchiveRequest) -> list[ArchiveResult]:
        return run_archive(store, bundles, settings, request)

    def restore_(devices: list[str], first: date, last: date) -> list[RestoreResult]:
        return run_restore(store, bundles, settings, devices, first, last)

    def status_(devices: list[str], first: date, last: date) -> list[RestoreStatus]:
        return restore_statuses(store, bundles, devices, first, last)

    return Target(f"s3://{settings.bucket}", False, settings, archive_, restore_, status_)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _parse_now(now: str | None) -> datetime | None:
    if not now:
        return None
    try:
        when = datetime.fromisoformat(now)
    except ValueError:
        raise typer.BadParameter(f"{now!r} is no ISO 8601 time", param_hint="--now") from None
    if when.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. 2026-11-28T03:00:00+00:00", param_hint="--now")
    return when


def _check_format(output: str) -> None:
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")


def archive(
    older_than: int = typer.Option(
        None,
        "--older-than",
        min=0,
        help="Archive raw days that ended at least this many UTC days ago "
        f"(default: WATTLINE_ARCHIVE_MIN_AGE_DAYS, else {_default('archive_min_age_days')}, as deployed).",
    ),
    home: Path = HOME_OPTION,
    store: str = typer.Option(None, "--store", help=STORE_HELP),
    bucket: str = typer.Option(None, "--bucket", help=BUCKET_HELP),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help=ENDPOINT_HELP),
    region: str = typer.Option(None, "--region", help=REGION_HELP),
    now: str = typer.Option(None, "--now", help="Today, as an ISO 8601 time with offset (default: the wall clock)."),
    output: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Pack aggregated raw days into one archive bundle per device and UTC day, then delete the raw objects.

    Every raw day older than --older-than days, back to the oldest, is
    archived by the archiver's own code (the Lambda of services/aws-archiver):
    a day is taken only when its daily manifest exists, no re-aggregation is
    pending (state/dirty/) and raw/ holds no more objects than the manifest
    aggregated; its objects go into one deterministic tar.gz under
    archive/dt=…/device=…/ with an index beside it, and are deleted only
    after the store confirmed the bundle's size and SHA-256. Days not ready
    are listed with the reason and left for a later run.

    Store: a home (--home, WATTLINE_HOME, ./.wattline), whose directory bucket
    has no Glacier (bundles stay readable in its archive/), or the S3 data
    bucket (--bucket / --store s3: bundles go to WATTLINE_ARCHIVE_STORAGE_CLASS,
    GLACIER or DEEP_ARCHIVE). Safe to interrupt and re-run: the next run finishes.
    Exit status 1: the store failed for now (re-run); 2: bad input or data.
    """
    from wattline.archive_stage import ArchiveRequest
    from wattline.cli.failures import exit_on_failure

    _check_format(output)
    when = _parse_now(now)
    with (
        exit_on_failure("nothing is lost: run `wattline archive` again"),
        _target(store, home, bucket, endpoint_url, region, when, writes=True) as target,
    ):
        request = ArchiveRequest(now=when or datetime.now(UTC), min_age_days=older_than, all_days=True)
        results = target.archive(request)
        min_age = target.settings.archive_min_age_days if older_than is None else older_than
    _print_archive(target, results, request, min_age, output)


def _print_archive(
    target: Target, results: list[ArchiveResult], request: ArchiveRequest, min_age: int, output: str
) -> None:
    from wattline.archive import ArchiveStatus

    archived = [result for result in results if result.status is ArchiveStatus.ARCHIVED]
    waiting = [result for result in results if result.status is not ArchiveStatus.ARCHIVED]
    if output == "json":
        body: dict[str, Any] = {
            "store": target.label,
            "now": request.now.isoformat() if request.now else None,
            "older_than_days": min_age,
            "storage_class": target.settings.archive_storage_class.value,
            "archived": len(archived),
            "deleted": sum(result.deleted for result in archived),
            "not_ready": len(waiting),
            "results": [result.model_dump(mode="json") for result in results],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    for result in results:
        line = f"{result.date} {result.device_id}: {result.status.value}"
        if result.status is ArchiveStatus.ARCHIVED:
            line += f", {result.deleted} raw objects deleted"
            if result.bundle_key:
                line += f", {result.objects} into {result.bundle_key} ({result.raw_bytes} → {result.bundle_bytes} B)"
        elif result.detail:
            line += f" ({result.detail})"
        typer.echo(line)
    typer.echo(
        f"{target.label}: {len(archived)} device-days archived "
        f"({sum(result.deleted for result in archived)} raw objects), {len(waiting)} not ready; "
        f"days older than {min_age} d, storage class {target.settings.archive_storage_class.value}"
    )
    if any(result.status is ArchiveStatus.NOT_AGGREGATED for result in waiting) and target.on_home:
        typer.echo("days not aggregated yet: run `wattline run` first")


def restore(
    devices: list[str] = typer.Option(
        ..., "--device", help="Device id, as in raw/dt=…/device=<id>/ (repeat for several devices)."
    ),
    start: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First UTC day (YYYY-MM-DD)."),
    end: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last UTC day, inclusive (default: --from)."),
    status: bool = typer.Option(
        False, "--status", help="Only report where each archived day stands (requests and writes nothing)."
    ),
    home: Path = HOME_OPTION,
    store: str = typer.Option(None, "--store", help=STORE_HELP),
    bucket: str = typer.Option(None, "--bucket", help=BUCKET_HELP),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help=ENDPOINT_HELP),
    region: str = typer.Option(None, "--region", help=REGION_HELP),
    output: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Put archived raw days back under raw/, byte for byte, and mark them for re-aggregation.

    For each device and UTC day from --from to --to that has archive bundles:
    a bundle in GLACIER / DEEP_ARCHIVE first gets a restore request (Glacier
    takes hours, up to 48 h for DEEP_ARCHIVE; the copy stays readable
    WATTLINE_ARCHIVE_RESTORE_DAYS days, tier WATTLINE_ARCHIVE_RESTORE_TIER):
    the command then exits 3 and is simply run again later. A readable bundle
    is unpacked, each member checked against the bundle's index, to its
    original raw/ key. When every bundle of a day is back, the day is marked
    dirty (state/dirty/), so the aggregator rebuilds its daily file from the
    complete raw/ (on a home: the next `wattline run`; on AWS: the daily
    schedule) and the archiver leaves it alone until then.

    --status reports each day's state (archived, in_progress, readable,
    restored), the members back under raw/ and whether re-aggregation is
    pending, and changes nothing.

    Exit status 0: done; 3: restores still in progress (run again later);
    1: the store failed for now (re-run); 2: bad input, or nothing archived
    in the range.
    """
    from wattline.cli.failures import exit_on_failure

    _check_format(output)
    first = start.date()
    last = end.date() if end else first
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    with (
        exit_on_failure("nothing is lost: run `wattline restore` again"),
        _target(store, home, bucket, endpoint_url, region, None, writes=not status) as target,
    ):
        if status:
            statuses = target.status(list(devices), first, last)
        else:
            results = target.restore(list(devices), first, last)
    scope = f"{', '.join(devices)} from {first} to {last}"
    if status:
        _print_status(target, statuses, first, last, output)
        return
    if not results:
        raise _fail(
            f"nothing archived for {scope} in {target.label} (no archive/dt=…/device=…/ index): check the device ids "
            "and UTC days, e.g. with `wattline restore --status`",
            2,
        )
    _print_restore(target, results, first, last, output)
    if any(result.pending for result in results):
        raise typer.Exit(EXIT_PENDING)


def _print_restore(target: Target, results: list[RestoreResult], first: date, last: date, output: str) -> None:
    pending = sum(result.pending for result in results)
    restored = sum(result.restored_objects for result in results)
    marked = [result for result in results if result.marked_dirty]
    if output == "json":
        body = {
            "store": target.label,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "pending": pending,
            "restored_objects": restored,
            "marked_dirty": len(marked),
            "results": [result.model_dump(mode="json") for result in results],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    for result in results:
        state = f"{result.pending} of {result.bundles} bundles still being restored" if result.pending else "back"
        typer.echo(f"{result.date} {result.device_id}: {state}, {result.restored_objects} raw objects under raw/")
    typer.echo(
        f"{target.label}: {restored} raw objects back under raw/, {len(marked)} device-days marked for "
        f"re-aggregation, {pending} bundles still being restored"
    )
    if pending:
        typer.echo("Glacier restores take hours (DEEP_ARCHIVE up to 48 h): run the same command again later")
    if marked:
        typer.echo(
            "re-aggregate: run `wattline run`"
            if target.on_home
            else "the aggregator's next daily run rebuilds their daily files"
        )


def _print_status(target: Target, statuses: list[RestoreStatus], first: date, last: date, output: str) -> None:
    if output == "json":
        body = {
            "store": target.label,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "days": [status.model_dump(mode="json") for status in statuses],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    if not statuses:
        typer.echo(f"{target.label}: nothing archived from {first} to {last} for these devices")
        return
    for status in statuses:
        line = (
            f"{status.date} {status.device_id}: {status.state.value}, {status.members_in_raw}/{status.members} in raw/"
        )
        if status.reaggregation_pending:
            line += ", re-aggregation pending"
        typer.echo(line)
        for bundle in status.bundles:
            state = bundle.state.value if bundle.state is not None else "missing"
            typer.echo(f"  {bundle.bundle_key} ({bundle.storage_class}): {state}")
