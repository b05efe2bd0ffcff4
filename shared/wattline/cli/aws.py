"""`wattline aws …`: the AWS side. `wattline aws provision-device ID` registers a meter with AWS IoT Core."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

aws_app = typer.Typer(
    help="AWS set-up and operations: provision meters as IoT things, restore archived raw days.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(aws_app, name="aws")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


@aws_app.command("provision-device")
def provision_device(
    device_id: str = typer.Argument(
        ..., help="Shelly device id = thing name = MQTT client id, e.g. shellyem-C45BBE6C2E8F."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for the certificate and keys (default: ./certs/DEVICE_ID). Keep it private."
    ),
    gen: str = typer.Option("2", "--gen", help="Device generation: 2 (Gen2+/Pro/Gen3/Gen4) or 1 (via a bridge)."),
    policy: str = typer.Option(
        "wattline-device", "--policy", help="IoT policy to attach (the ingest stack's DevicePolicyName output)."
    ),
    region: str = typer.Option(None, "--region", help="AWS region (default: your AWS configuration)."),
    endpoint_url: str = typer.Option(
        None, "--endpoint-url", help="IoT control-plane endpoint, e.g. a moto server http://127.0.0.1:5000."
    ),
    gen1_root: str = typer.Option("shellies", "--gen1-root", help="First topic level of Gen1 devices."),
    new_certificate: bool = typer.Option(
        False, "--new-certificate", help="Issue another certificate for a thing that already has one."
    ),
) -> None:
    """Create the IoT thing, an active certificate and key pair, attach the policy; print the device set-up.

    DEVICE_ID is the Shelly device id; `shellies` (or the --gen1-root) and
    `_invalid` are refused: they are a topic root and a raw partition.

    Writes DEVICE_ID.cert.pem, DEVICE_ID.private.key (mode 0600) and
    DEVICE_ID.public.key. The private key exists only there: AWS keeps no copy.
    For Gen2+ it prints the RPC calls (Shelly.PutTLSClientCert, MQTT.SetConfig
    with use_client_cert on the IoT data endpoint, port 8883); for Gen1, which
    cannot present a client certificate, a mosquitto bridge connection.
    Deploy infra/aws/wattline-ingest.yml first (it creates the policy).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from wattline.errors import PermanentError
    from wattline.iot_provision import (
        DeviceGeneration,
        check_thing_name,
        gen1_bridge_snippet,
        gen2_instructions,
        write_credentials,
    )
    from wattline.iot_provision import provision_device as provision

    try:
        generation = DeviceGeneration(gen)
    except ValueError:
        raise _fail(f"--gen must be 1 or 2, not {gen!r}") from None
    try:
        check_thing_name(device_id, gen1_root=gen1_root)  # before any AWS call
    except PermanentError as exc:
        raise _fail(str(exc)) from exc
    client = boto3.client("iot", region_name=region, endpoint_url=endpoint_url)
    try:
        device = provision(client, device_id, policy_name=policy, new_certificate=new_certificate)
    except PermanentError as exc:
        raise _fail(str(exc)) from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = (
            " (deploy infra/aws/wattline-ingest.yml first, or pass --policy)"
            if code == "ResourceNotFoundException"
            else ""
        )
        raise _fail(f"AWS IoT refused the request: {exc}{hint}") from exc
    except BotoCoreError as exc:
        raise _fail(f"cannot reach AWS IoT ({exc}); check credentials, --region and --endpoint-url") from exc
    files = write_credentials(device, out or Path("certs") / device.thing_name)
    typer.echo(f"thing        {device.thing_name}  ({device.thing_arn})")
    typer.echo(f"certificate  {device.certificate_id}  policy {device.policy_name}")
    typer.echo(f"endpoint     {device.endpoint}:8883")
    typer.echo(f"files        {files.certificate}\n             {files.private_key}\n             {files.public_key}\n")
    if generation is DeviceGeneration.GEN2:
        typer.echo(gen2_instructions(device, files))
    else:
        typer.echo(gen1_bridge_snippet(device, files, gen1_root=gen1_root))


@aws_app.command("restore-day")
def restore_day(
    device_id: str = typer.Argument(..., help="Device id, as in raw/dt=…/device=<id>/."),
    day: str = typer.Argument(..., help="UTC day, YYYY-MM-DD."),
    bucket: str = typer.Option(..., "--bucket", help="The data bucket (the ingest stack's BucketName output)."),
    days: int = typer.Option(7, "--days", help="How long the restored copy of the bundle stays readable."),
    tier: str = typer.Option("Standard", "--tier", help="Glacier retrieval tier: Expedited, Standard or Bulk."),
    region: str = typer.Option(None, "--region", help="AWS region (default: your AWS configuration)."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3 endpoint, e.g. a moto server."),
) -> None:
    """Put an archived day's raw objects back under raw/ (byte-identical), e.g. to re-aggregate it.

    The first call requests the Glacier restore (hours; up to 48 h for
    DEEP_ARCHIVE) and exits 2; call again until it reports 0 pending bundles.
    Once every bundle is back the day is marked for re-aggregation. One
    device-day of `wattline restore --bucket` (several devices and days,
    --status, --format json).
    """
    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.adapters.s3_store import S3ObjectStore
    from wattline.archive import restore_day as restore
    from wattline.errors import WattlineError

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise _fail(f"day must be YYYY-MM-DD, not {day!r}") from None
    import boto3

    store = S3ObjectStore(
        bucket, endpoint_url=endpoint_url, region=region or boto3.Session().region_name or "us-east-1"
    )
    try:
        result = restore(store, S3BundleStore(store.client, bucket), device_id, when, days=days, tier=tier)
    except WattlineError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        f"{device_id} {when}: {result.bundles} bundle(s), {result.pending} still being restored, "
        f"{result.restored_objects} raw object(s) back under raw/"
    )
    if result.pending:
        raise typer.Exit(2)
