"""`wattline transfer sync`: the Storage Transfer job's semantics between any two buckets (local, S3, GCS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from wattline.ports import ObjectStore

transfer_app = typer.Typer(
    help="Copy daily/ files between buckets like the cloud S3 → GCS transfer job does.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(transfer_app, name="transfer")


def open_store(
    url: str, *, s3_endpoint: str | None, region: str, gcs_endpoint: str | None, project: str | None
) -> ObjectStore:
    """`s3://bucket`, `gs://bucket`, or a local directory (a filesystem bucket)."""
    if url.startswith("s3://"):
        from wattline.adapters.s3_store import S3ObjectStore

        return S3ObjectStore(url.removeprefix("s3://").strip("/"), endpoint_url=s3_endpoint, region=region)
    if url.startswith("gs://"):
        from wattline.adapters.gcs_store import GcsObjectStore

        return GcsObjectStore(url.removeprefix("gs://").strip("/"), project=project, endpoint=gcs_endpoint)
    if "://" in url:
        raise typer.BadParameter(f"{url!r}: use s3://BUCKET, gs://BUCKET or a local directory")
    from wattline.adapters.fs_store import FsObjectStore

    return FsObjectStore(Path(url))


@transfer_app.command("sync")
def sync_command(
    source: str = typer.Argument(..., help="Where daily/ is read: s3://BUCKET, gs://BUCKET or a directory."),
    target: str = typer.Argument(..., help="Where it is copied to: gs://BUCKET, s3://BUCKET or a directory."),
    prefix: str = typer.Option("daily/", "--prefix", help="Only keys under this prefix."),
    s3_endpoint: str = typer.Option(None, "--s3-endpoint", help="S3 endpoint URL (moto, MinIO); default AWS."),
    region: str = typer.Option("eu-central-1", "--region", help="AWS region of the S3 bucket."),
    gcs_endpoint: str = typer.Option(
        None, "--gcs-endpoint", help="fake-gcs-server URL (anonymous); default GCS (or STORAGE_EMULATOR_HOST)."
    ),
    project: str = typer.Option(None, "--project", help="GCP project of the GCS bucket."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Copy new or changed objects (size + MD5/ETag) from SOURCE to TARGET.

    Keys are kept (the hive layout daily/dt=…/device=…/ too); in each
    folder manifest.json is copied before readings.jsonl.gz, because the
    GCS loader verifies the readings against the manifest when they land.
    Identical objects are skipped, nothing is deleted, every copy is one
    whole-object write. Safe to re-run: a second run copies nothing. A
    readings file that does not match its manifest's sha256 is not copied
    (nor its manifest): it is reported on stderr and the exit status is 1,
    after every other file was copied.

    The cloud equivalent is the Storage Transfer job of
    infra/gcp/transfer-job.sh (see docs/gcp.md).
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.errors import PermanentError
    from wattline.transfer import sync

    with exit_on_failure("a store is unavailable for now: re-run, sync is idempotent", permanent=(PermanentError,)):
        options = {"s3_endpoint": s3_endpoint, "region": region, "gcs_endpoint": gcs_endpoint, "project": project}
        report = sync(open_store(source, **options), open_store(target, **options), prefix)
    if as_json:
        body = {
            "copied": report.copied_keys,
            "unchanged": report.unchanged,
            "vanished": report.vanished,
            "refused": [{"key": refused.key, "reason": refused.reason} for refused in report.refused],
        }
        typer.echo(json.dumps(body, indent=2))
    else:
        for key in report.copied_keys:
            typer.echo(f"copied {key}")
        summary = f"{len(report.copied)} copied, {report.unchanged} unchanged, {report.vanished} vanished"
        typer.echo(summary + (f", {len(report.refused)} refused" if report.refused else ""))
    for refused in report.refused:
        typer.echo(f"refused: {refused.reason}", err=True)
    if report.refused:
        raise typer.Exit(1)
