"""transfer.sync with a daily file that does not match its manifest: not copied (nor its manifest), reported once by
name with a reason, and every other file of the same sync still copied."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from helpers.gcp_daily_files import split_by_day, synthetic_readings, write_day
from typer.testing import CliRunner

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.cli.main import app
from wattline.transfer import sync

DEVICE = "shellyproem50-08f9e0e67204"


def two_days(store: MemoryObjectStore | FsObjectStore) -> list[date]:
    readings = synthetic_readings(datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, 23, tzinfo=UTC))
    days = split_by_day(readings)
    for day, day_readings in days.items():
        write_day(store, day_readings, day)
    return sorted(days)


def tamper(store: MemoryObjectStore | FsObjectStore, day: date) -> str:
    key = keys.daily_readings_key(day, DEVICE)
    store.put(key, store.get(key)[:-7] + b"tamper!")
    return key


def test_a_tampered_day_file_is_not_transferred_and_reported_once_while_the_others_are() -> None:
    # Given two days in the source, the first one's readings changed after its manifest was written
    source, target = MemoryObjectStore("s3"), MemoryObjectStore("gcs")
    first, second = two_days(source)
    tampered = tamper(source, first)
    # When synced
    report = sync(source, target)
    # Then neither file of the tampered day is copied, the other day is, and the refusal names the file once
    assert target.list_keys(keys.daily_dir(first, DEVICE)) == []
    assert report.copied_keys == [keys.daily_manifest_key(second, DEVICE), keys.daily_readings_key(second, DEVICE)]
    [refused] = report.refused
    assert refused.key == tampered
    assert refused.reason.startswith(tampered) and "does not match its manifest" in refused.reason


def test_a_tampered_replacement_leaves_the_last_consistent_pair_in_the_target() -> None:
    # Given a synced day whose source readings are then tampered with
    source, target = MemoryObjectStore("s3"), MemoryObjectStore("gcs")
    first, _second = two_days(source)
    sync(source, target)
    before = {key: target.get(key) for key in target.list_keys(keys.daily_dir(first, DEVICE))}
    tamper(source, first)
    # When synced again
    report = sync(source, target)
    # Then nothing is copied, the target keeps the pair it had, and the file is reported
    assert report.copied == [] and report.refused_keys == [keys.daily_readings_key(first, DEVICE)]
    assert {key: target.get(key) for key in before} == before


def test_the_command_copies_the_rest_reports_the_tampered_file_and_exits_1(tmp_path) -> None:
    # Given two local buckets, one day tampered with
    source = FsObjectStore(tmp_path / "src")
    first, second = two_days(source)
    tampered = tamper(source, first)
    # When synced from the command line
    result = CliRunner().invoke(app, ["transfer", "sync", str(tmp_path / "src"), str(tmp_path / "dst"), "--json"])
    # Then the other day is copied, the tampered file is named on stderr, and the status says something was refused
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["copied"] == [keys.daily_manifest_key(second, DEVICE), keys.daily_readings_key(second, DEVICE)]
    assert [refused["key"] for refused in body["refused"]] == [tampered]
    assert f"refused: {tampered}" in result.stderr
