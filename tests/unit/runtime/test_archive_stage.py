"""The archiver as a stage of the local runtime: the Lambda's settings and composition, a home's directory bucket
(no Glacier), the schedule, and `wattline archive` / `wattline restore` on a home."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers.archive import put_daily_manifest
from typer.testing import CliRunner

from wattline import keys
from wattline.archive import ArchiveStatus
from wattline.cli.main import app
from wattline.local.runtime import EventKind, Runtime
from wattline.stages import ArchiveRequest, ArchiverSettings, ArchiveSettings

DAY = date(2026, 11, 20)
DEVICE = "shellyem-C45BBE6C2E8F"
NOW = datetime(2026, 11, 27, 3, tzinfo=UTC)


def given_an_aggregated_home_day(runtime: Runtime, count: int = 3) -> dict[str, bytes]:
    """Raw objects of one device-day and its manifest in the home's bucket (no events queued for them)."""
    base = 1_763_596_800_000
    objects = {
        keys.raw_key(DAY, DEVICE, base + i * 60_000, f"00000000-0000-4000-8000-{i:012d}"): (
            f'{{"topic":"shellies/{DEVICE}/emeter/0/power","received_ms":{base + i * 60_000},"payload_b64":"MTAw"}}'
        ).encode()
        for i in range(count)
    }
    for key, data in objects.items():
        runtime.s3.inner.put(key, data)
    put_daily_manifest(runtime.s3.inner, DAY, DEVICE, count)
    return objects


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    runtime = Runtime(tmp_path, clock=lambda: NOW)
    yield runtime
    runtime.close()


def test_the_lambda_and_a_home_read_the_same_archive_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_archiver import settings as service

    # Given the archiver's settings set as deployed
    monkeypatch.setenv("WATTLINE_ARCHIVE_MIN_AGE_DAYS", "5")
    monkeypatch.setenv("WATTLINE_ARCHIVE_CONCURRENCY", "4")
    monkeypatch.setenv("WATTLINE_BUCKET", "data-bucket")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    # Then the Lambda's model is the stage's, and a home reads the same values
    assert service.ArchiverSettings is ArchiverSettings
    deployed = ArchiverSettings()
    runtime = Runtime(tmp_path)
    try:
        local = runtime.archive_settings()
    finally:
        runtime.close()
    assert (local.archive_min_age_days, local.archive_concurrency) == (deployed.archive_min_age_days, 4) == (5, 4)
    # ... except the storage class: a directory bucket has none
    assert (deployed.archive_storage_class.value, local.archive_storage_class.value) == ("GLACIER", "STANDARD")


def test_the_archive_event_archives_a_home_day_into_its_archive_layout(runtime: Runtime) -> None:
    # Given an aggregated day in a home
    objects = given_an_aggregated_home_day(runtime)
    # When an archive event (what the schedule queues with WATTLINE_ARCHIVE_ON_SCHEDULE) is handled
    runtime.queue.put(EventKind.ARCHIVE, {"now": NOW.isoformat()})
    report = runtime.run()
    # Then the day is one STANDARD bundle with its index under archive/, and raw/ of that day is empty
    assert report.handled == {"archive": 1}
    bundles = [key for key in runtime.s3.list_keys("archive/") if key.endswith(".tar.gz")]
    assert len(bundles) == 1 and bundles[0].startswith(f"archive/dt={DAY}/device={DEVICE}/raw-")
    index = json.loads(runtime.s3.get(bundles[0].removesuffix(".tar.gz") + ".index.json"))
    assert index["storage_class"] == "STANDARD"
    assert sorted(member["key"] for member in index["members"]) == sorted(objects)
    assert runtime.s3.list_keys(keys.RAW_PREFIX) == []


def test_the_schedule_queues_the_archive_stage_only_when_configured(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.on_schedule({"now": NOW.isoformat()}, None)  # type: ignore[arg-type]
    assert EventKind.ARCHIVE not in {event.kind for event in runtime.queue.pending()}
    monkeypatch.setenv("WATTLINE_ARCHIVE_ON_SCHEDULE", "true")
    runtime.on_schedule({"now": NOW.isoformat()}, None)  # type: ignore[arg-type]
    archive_events = [event for event in runtime.queue.pending() if event.kind is EventKind.ARCHIVE]
    assert [event.body for event in archive_events] == [{"now": NOW.isoformat()}]


def test_restore_queues_validate_for_each_object_and_marks_the_day_dirty(runtime: Runtime) -> None:
    # Given an archived home day
    objects = given_an_aggregated_home_day(runtime)
    (result,) = runtime.archive(ArchiveRequest(min_age_days=2, all_days=True))
    assert result.status is ArchiveStatus.ARCHIVED
    # When it is restored
    (restored,) = runtime.restore([DEVICE], DAY, DAY)
    # Then the objects are back byte for byte, each announced to validate as S3 would, and the day is dirty
    assert (restored.restored_objects, restored.pending, restored.marked_dirty) == (3, 0, True)
    assert {key: runtime.s3.get(key) for key in runtime.s3.list_keys(keys.RAW_PREFIX)} == objects
    validate = [event for event in runtime.queue.pending() if event.kind is EventKind.S3]
    assert len(validate) == 3
    assert runtime.s3.head(keys.dirty_key(DAY, DEVICE)) is not None


def test_the_archive_command_reports_json_and_days_not_ready(tmp_path: Path) -> None:
    # Given a home with one aggregated day and one day never aggregated
    runtime = Runtime(tmp_path)
    given_an_aggregated_home_day(runtime)
    runtime.s3.inner.put(keys.raw_key(date(2026, 11, 21), DEVICE, 1_763_683_200_000, "x"), b"{}")
    runtime.close()
    # When `wattline archive` runs a week later
    result = CliRunner().invoke(app, ["archive", "--home", str(tmp_path), "--now", NOW.isoformat(), "--format", "json"])
    # Then it archived the one and names the other with its reason
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["archived"], body["deleted"], body["not_ready"], body["older_than_days"]) == (1, 3, 1, 2)
    assert [(r["date"], r["status"]) for r in body["results"]] == [
        ("2026-11-20", "archived"),
        ("2026-11-21", "not_aggregated"),
    ]


def test_older_than_keeps_recent_days(tmp_path: Path) -> None:
    runtime = Runtime(tmp_path)
    given_an_aggregated_home_day(runtime)
    runtime.close()
    result = CliRunner().invoke(
        app, ["archive", "--home", str(tmp_path), "--now", NOW.isoformat(), "--older-than", "30"]
    )
    assert result.exit_code == 0, result.output
    assert "0 device-days archived" in result.output
    assert not (tmp_path / "s3" / "wattline-raw" / "archive").exists()


def test_restore_of_nothing_archived_says_what_to_check(tmp_path: Path) -> None:
    Runtime(tmp_path).close()
    result = CliRunner().invoke(app, ["restore", "--home", str(tmp_path), "--device", DEVICE, "--from", "2026-11-20"])
    assert result.exit_code == 2
    assert "nothing archived" in result.output and "--status" in result.output


def test_restore_refuses_a_range_that_ends_before_it_starts(tmp_path: Path) -> None:
    Runtime(tmp_path).close()
    result = CliRunner().invoke(
        app,
        ["restore", "--home", str(tmp_path), "--device", DEVICE, "--from", "2026-11-20", "--to", "2026-11-19"],
    )
    assert result.exit_code == 2
    assert "before --from" in result.output


def test_the_s3_store_without_a_bucket_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_BUCKET", raising=False)
    result = CliRunner().invoke(app, ["archive", "--store", "s3", "--region", "eu-central-1"])
    assert result.exit_code == 2
    assert "pass --bucket (or set WATTLINE_BUCKET)" in result.output


def test_s3_options_are_refused_on_a_home(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["archive", "--home", str(tmp_path), "--region", "eu-central-1"])
    assert result.exit_code == 2
    assert "--store s3" in result.output


def test_the_archive_settings_default_lives_in_the_model() -> None:
    assert ArchiveSettings().archive_min_age_days == 2
    assert ArchiveSettings().archive_on_schedule is False
