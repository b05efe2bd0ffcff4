"""The local runtime's delivery guarantees: bounded retries, dead letters, re-drive — no broker needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.errors import PermanentError
from wattline.local.ledger import home_ledger
from wattline.local.runtime import EventKind, RunReport, Runtime, load_settings, s3_event, s3_event_keys
from wattline.ports import ObjectInfo


class Flaky:
    """A handler that fails `failures` times, then succeeds; counts its calls."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.error = error or ConnectionError("store unreachable")

    def __call__(self, body: dict[str, Any], report: RunReport) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


def test_a_transient_failure_is_retried_and_then_succeeds(tmp_path: Path) -> None:
    # Given a transfer handler that fails twice, with three attempts allowed
    runtime = Runtime(tmp_path, max_attempts=3)
    flaky = Flaky(failures=2)
    runtime.handlers[EventKind.TRANSFER] = flaky
    runtime.queue.put(EventKind.TRANSFER, {"prefix": "daily/"})

    # When the runtime runs
    report = runtime.run()

    # Then the third attempt succeeded and nothing is dead-lettered
    assert flaky.calls == 3
    assert report.retried == 2 and report.dead == 0
    assert runtime.queue.pending() == [] and runtime.queue.dead() == []


def test_an_event_that_keeps_failing_is_parked_as_a_dead_letter(tmp_path: Path) -> None:
    # Given a handler that always fails
    runtime = Runtime(tmp_path, max_attempts=3)
    runtime.handlers[EventKind.TRANSFER] = Flaky(failures=100)
    runtime.queue.put(EventKind.TRANSFER, {"prefix": "daily/"})

    # When the runtime runs
    report = runtime.run()

    # Then the event is parked after three attempts, with its errors
    dead = runtime.queue.dead()
    assert report.dead == 1 and len(dead) == 1
    assert dead[0].attempts == 3
    assert "store unreachable" in dead[0].errors[-1]


def test_a_permanent_error_is_dead_lettered_without_retrying(tmp_path: Path) -> None:
    # Given a handler that raises a PermanentError
    runtime = Runtime(tmp_path)
    flaky = Flaky(failures=1, error=PermanentError("bad event"))
    runtime.handlers[EventKind.TRANSFER] = flaky
    runtime.queue.put(EventKind.TRANSFER, {"prefix": "daily/"})

    # When the runtime runs
    runtime.run()

    # Then it was tried once and parked
    assert flaky.calls == 1
    assert len(runtime.queue.dead()) == 1


def test_status_lists_dead_letters_and_retry_redrives_them(tmp_path: Path) -> None:
    # Given a dead-lettered transfer event in a home
    runtime = Runtime(tmp_path, max_attempts=1)
    runtime.handlers[EventKind.TRANSFER] = Flaky(failures=1)
    runtime.queue.put(EventKind.TRANSFER, {"prefix": "daily/"})
    runtime.run()
    runtime.close()  # the run is over: the home is free for the next writer
    ledger = home_ledger(tmp_path, runtime.clock())
    assert [letter.kind for letter in ledger.dead_letters] == ["transfer"]

    # When `wattline retry` re-drives it (the real transfer handler now runs: nothing to copy)
    result = CliRunner().invoke(app, ["retry", "--home", str(tmp_path)])

    # Then it is processed and the dead-letter folder is empty
    assert result.exit_code == 0, result.output
    assert "re-drove 1" in result.output
    assert home_ledger(tmp_path, runtime.clock()).dead_letters == []


def test_s3_events_carry_url_encoded_keys_that_decode_back(tmp_path: Path) -> None:
    # Given an object key with characters S3 encodes in event notifications
    key = "raw/dt=2026-11-19/device=shellyem-ABC/1763500000000-a b+c.json"

    # When it is wrapped in an S3 event notification and read back
    event = s3_event("wattline-raw", [ObjectInfo(key=key, size=1, etag="x")])

    # Then the record carries it encoded, and the handler side decodes the same key
    assert event["Records"][0]["s3"]["object"]["key"] != key
    assert s3_event_keys(event) == [key]


def test_writing_a_raw_object_emits_an_object_created_event(tmp_path: Path) -> None:
    # Given the runtime's local S3 bucket
    runtime = Runtime(tmp_path)

    # When an object is written under raw/
    runtime.s3.put("raw/dt=2026-11-19/device=shellyem-ABC/1-x.json", b"{}")

    # Then one S3 event for it is pending
    pending = runtime.queue.pending()
    assert [event.kind for event in pending] == [EventKind.S3]
    assert s3_event_keys(pending[0].body) == ["raw/dt=2026-11-19/device=shellyem-ABC/1-x.json"]


def test_settings_come_from_the_home_toml_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wattline.toml in the home and one WATTLINE_ variable in the environment
    (tmp_path / "wattline.toml").write_text('timezone = "UTC"\ntariff = "ua-1zone"\n')
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-3zone")

    # When the runtime's settings are loaded
    settings = load_settings(tmp_path)

    # Then the file sets what the environment does not, and the environment wins where both do
    assert settings.timezone == "UTC"
    assert settings.tariff == "ua-3zone"
    assert settings.home == tmp_path


def test_the_local_schedule_looks_back_far_enough_for_an_old_backfill() -> None:
    from datetime import UTC, datetime

    from wattline.local.runtime import raw_lookback_days

    # Given raw partitions from a backfill a year old and from last week
    prefixes = ["raw/dt=2025-11-20/", "raw/dt=2026-11-19/"]

    # When the lookback is computed on 2026-11-27
    days = raw_lookback_days(prefixes, datetime(2026, 11, 27, 12, tzinfo=UTC))

    # Then the plan reaches the oldest partition
    assert days >= 372


def test_the_local_s3_event_parses_with_the_lambda_handlers_model() -> None:
    from aws_lambda_powertools.utilities.parser.models import S3Model

    # Given the S3 event notification the runtime emits for a raw object
    key = "raw/dt=2026-11-19/device=shellyem-ABC/batch-1-x.jsonl"
    event = s3_event("wattline-raw", [ObjectInfo(key=key, size=10, etag="d41d8cd98f00b204e9800998ecf8427e")])

    # When the validate Lambda's parser model reads it
    parsed = S3Model.model_validate(event)

    # Then it names the bucket and the object as S3 would
    record = parsed.Records[0]
    assert record.eventName == "ObjectCreated:Put"
    assert record.s3.bucket.name == "wattline-raw"
    assert record.s3.object is not None and record.s3.object.size == 10


def test_the_local_storage_event_is_what_the_loader_reads(tmp_path: Path) -> None:
    from wattline.loader import FinalizedObject
    from wattline.local.events import finalized_event

    # Given the finalize CloudEvent the runtime queues after a transfer
    attributes, data = finalized_event("wattline-daily", "daily/dt=2026-11-19/device=x/readings.jsonl.gz", "17")

    # When the loader reads it
    event = FinalizedObject.from_cloud_event(attributes, data)

    # Then it names the object and its generation
    assert attributes["type"] == "google.cloud.storage.object.v1.finalized"
    assert (event.bucket, event.name, event.generation) == (
        "wattline-daily",
        "daily/dt=2026-11-19/device=x/readings.jsonl.gz",
        "17",
    )


def test_a_published_energy_update_reaches_detect_as_a_pubsub_push(tmp_path: Path) -> None:
    import base64
    import json

    from wattline.alerts.pipeline import DetectRequest

    # Given an energy.updated message published on the local Pub/Sub
    runtime = Runtime(tmp_path)
    body = {
        "event": "energy.updated",
        "device_id": "x",
        "hours_from": "2026-11-18T22:00:00Z",
        "hours_to": "2026-11-19T21:00:00Z",
    }
    runtime.publisher.publish("energy-updated", json.dumps(body).encode(), {"device_id": "x"})

    # When the queued event is read as the detect function reads a messagePublished CloudEvent's data
    event = runtime.queue.pending()[0]
    request = DetectRequest.from_message(base64.b64decode(event.body["message"]["data"]))

    # Then it carries the touched hours and the attributes
    assert event.kind is EventKind.PUBSUB
    assert event.body["message"]["attributes"] == {"device_id": "x"}
    assert request.trigger == "energy.updated" and request.touched_from is not None


def test_the_demo_refuses_to_erase_a_home_it_did_not_make(tmp_path: Path) -> None:
    from wattline.local.demo import HomeInUseError, reset_home

    # Given a home holding imported raw data and no demo marker
    runtime = Runtime(tmp_path)
    runtime.s3.put("raw/dt=2026-11-19/device=shellyem-ABC/1-x.json", b"{}")

    # When the demo would reset it
    with pytest.raises(HomeInUseError, match="--home"):
        reset_home(tmp_path)

    # Then the data is still there
    assert runtime.s3.list_keys("raw/") == ["raw/dt=2026-11-19/device=shellyem-ABC/1-x.json"]


def test_the_demo_resets_its_own_home_but_keeps_the_settings(tmp_path: Path) -> None:
    from wattline.local.demo import reset_home

    # Given a home a previous demo made, with a settings file
    (tmp_path / "demo.json").write_text("{}")
    (tmp_path / "wattline.toml").write_text('timezone = "UTC"\n')
    Runtime(tmp_path).s3.put("raw/dt=2026-11-19/device=shellyem-ABC/1-x.json", b"{}")

    # When it is reset
    reset_home(tmp_path)

    # Then the demo's data is gone and the settings stay
    assert not (tmp_path / "s3").exists()
    assert (tmp_path / "wattline.toml").exists()
