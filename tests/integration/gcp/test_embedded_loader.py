"""The loader Cloud Function in-process on embedded backends: filesystem bucket, DuckDB, JSONL outbox.

The handler is served by functions_framework.create_app(...).test_client() and receives real CloudEvents
(binary and structured HTTP), exactly as Eventarc would POST them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gcp_flows import DAYS, LATE_DAY, MAIN, embedded_env, energy_rows, files_of, history, late_version, write_history
from helpers.gcp_daily_files import assert_same_rows, reference_rows

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.local.events import encode_http, finalized_event

BUCKET = "wattline-daily"


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    import functions_framework

    from gcp_loader.deps import get_deps

    monkeypatch.delenv("WATTLINE_GCP_PROJECT", raising=False)
    for name, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    get_deps.cache_clear()
    app = functions_framework.create_app(target="load_daily_file", source=str(MAIN), signature_type="cloudevent")
    store = FsObjectStore(tmp_path / "buckets" / BUCKET, name=BUCKET)
    yield {"client": app.test_client(), "store": store, "deps": get_deps, "tmp": tmp_path}
    get_deps.cache_clear()


def deliver(client: Any, store: FsObjectStore, key: str, *, binary: bool = True) -> int:
    attributes, data = finalized_event(BUCKET, key, 1)
    headers, body = encode_http(attributes, data, binary=binary)
    return int(client.post("/", headers=headers, data=body).status_code)


def deliver_all(client: Any, store: FsObjectStore, *, copies: int = 1, binary: bool = True) -> list[int]:
    statuses = []
    for key in [info.key for info in store.list("daily/")] * copies:
        statuses.append(deliver(client, store, key, binary=binary))
    return statuses


def test_every_event_twice_and_a_late_replacement_leave_the_final_files_computed_once(embedded):
    # Given four days in the bucket, each finalize (manifests included) delivered twice
    client, store = embedded["client"], embedded["store"]
    days = history()
    write_history(store, days)
    assert set(deliver_all(client, store, copies=2)) == {200}
    # When day 3 is replaced with late data and its event delivered twice (structured mode)
    write_history(store, {LATE_DAY: late_version(days)})
    key = keys.daily_readings_key(LATE_DAY, "shellyproem50-08f9e0e67204")
    assert [deliver(client, store, key, binary=False) for _ in range(2)] == [200, 200]
    # Then energy_hourly equals one computation over the final files
    assert_same_rows(energy_rows(embedded["deps"]().warehouse), reference_rows(files_of(store)))


def test_each_load_announces_energy_updated_in_the_outbox(embedded):
    # Given the days in the bucket
    client, store = embedded["client"], embedded["store"]
    write_history(store, history())
    # When every readings file's event is delivered once
    for day in DAYS:
        deliver(client, store, keys.daily_readings_key(day, "shellyproem50-08f9e0e67204"))
    # Then one energy.updated per day is in the outbox, naming its date and source object
    messages = [json.loads(m["data"]) for m in embedded["deps"]().publisher.read("energy-updated")]
    assert [m["date"] for m in messages] == [d.isoformat() for d in DAYS]
    assert all(m["source"]["bucket"] == BUCKET and m["channels"] == [0, 1] for m in messages)


def test_a_file_without_its_manifest_answers_500_so_eventarc_retries(embedded):
    # Given a readings file whose manifest has not arrived
    client, store = embedded["client"], embedded["store"]
    write_history(store, {DAYS[0]: history()[DAYS[0]]})
    store.delete(keys.daily_manifest_key(DAYS[0], "shellyproem50-08f9e0e67204"))
    # When its event is delivered, Then the function fails (retry) and nothing is announced
    assert deliver(client, store, keys.daily_readings_key(DAYS[0], "shellyproem50-08f9e0e67204")) == 500
    assert embedded["deps"]().publisher.read("energy-updated") == []


def test_an_event_of_another_type_is_acked_without_work(embedded):
    # Given a deleted-object CloudEvent
    client = embedded["client"]
    attributes, data = finalized_event(BUCKET, "daily/x", 1)
    attributes["type"] = "google.cloud.storage.object.v1.deleted"
    headers, body = encode_http(attributes, data)
    # When delivered, Then it is acknowledged (200)
    assert client.post("/", headers=headers, data=body).status_code == 200
