"""The whole GCP half on real local servers, once per module:

local bucket (the S3 side) --transfer.sync--> fake-gcs-server --finalize notification--> Pub/Sub emulator
--NotificationRelay (pull → Eventarc-style storage CloudEvent → HTTP POST)--> functions-framework serving
services/gcp-loader/main.py --> DuckDB energy_hourly + `energy.updated` on the Pub/Sub emulator.

Every event is delivered twice (binary mode on the first pass, structured on the second), and day 3 is then
replaced with a late-data version and synced again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gcp_flows import DAYS, LATE_DAY, embedded_env, energy_rows, files_of, history, late_version, write_history
from gcp_servers import ENERGY_SUBSCRIPTION, ENERGY_TOPIC, NOTIFY_SUBSCRIPTION, PROJECT
from helpers.gcp_daily_files import DEVICE, assert_same_rows, reference_rows

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.local.events import NotificationRelay
from wattline.transfer import sync
from wattline.warehouse.duckdb import DuckDBWarehouse

pytestmark = [pytest.mark.servers, pytest.mark.emulators]
BUCKET = "wattline-daily"


@pytest.fixture(scope="module")
def chain(tmp_path_factory, pubsub_emulator, notifying_gcs, loader_server) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("gcp-chain")
    pubsub_emulator.topic(ENERGY_TOPIC, ENERGY_SUBSCRIPTION)
    source = FsObjectStore(tmp / "s3-bucket", name="s3-bucket")
    target = notifying_gcs.store(BUCKET)
    env = {
        **embedded_env(tmp),
        "WATTLINE_STORAGE": "gcs",
        "WATTLINE_GCS_ENDPOINT": notifying_gcs.endpoint,
        "WATTLINE_GCP_PROJECT": PROJECT,
        "WATTLINE_PUBLISHER": "pubsub",
        "WATTLINE_ENERGY_TOPIC": ENERGY_TOPIC,
        "WATTLINE_BUCKET": BUCKET,
        "PUBSUB_EMULATOR_HOST": pubsub_emulator.address,
    }
    days = history()
    write_history(source, days)
    with loader_server(env) as server:
        relay = NotificationRelay(
            f"projects/{PROJECT}/subscriptions/{NOTIFY_SUBSCRIPTION}",
            server.url,
            binary=True,
            subscriber=pubsub_emulator.subscriber(),
        )
        first = sync(source, target)
        relay.drain(copies=2, min_delivered=len(first.copied))
        write_history(source, {LATE_DAY: late_version(days)})
        second = sync(source, target)
        relay.binary = False
        relay.drain(copies=2, min_delivered=len(first.copied) + len(second.copied))
        log = server.log_tail(20000)
    warehouse = DuckDBWarehouse(tmp / "warehouse.duckdb")
    return {
        "first": first,
        "second": second,
        "relay": relay,
        "rows": energy_rows(warehouse),
        "files": files_of(target),
        "source_files": files_of(source),
        "updates": pubsub_emulator.pull_all(ENERGY_SUBSCRIPTION),
        "log": log,
        "tmp": tmp,
    }


def test_every_notification_reached_the_loader_and_was_acknowledged(chain):
    # Given the chain, When drained, Then every POST (each event twice) answered 2xx and none is left to retry
    relay = chain["relay"]
    assert relay.stats.failed == 0, chain["log"]
    assert relay.stats.delivered == 2 * len(DAYS) + 2
    assert set(relay.stats.statuses) == {200}


def test_gcs_holds_exactly_the_final_source_files(chain):
    assert chain["files"] == chain["source_files"]
    assert chain["second"].copied_keys == [
        keys.daily_manifest_key(LATE_DAY, DEVICE),
        keys.daily_readings_key(LATE_DAY, DEVICE),
    ]


def test_energy_hourly_equals_the_final_files_computed_once(chain):
    assert_same_rows(chain["rows"], reference_rows(chain["files"]))


def test_the_servers_and_the_embedded_backends_give_the_same_numbers(chain, tmp_path, monkeypatch):
    # Given the same final files loaded in-process on the embedded backends
    import functions_framework
    from gcp_flows import MAIN

    from gcp_loader.deps import get_deps
    from wattline.local.events import encode_http, finalized_event

    monkeypatch.delenv("WATTLINE_GCP_PROJECT", raising=False)
    for name, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    get_deps.cache_clear()
    store = FsObjectStore(tmp_path / "buckets" / BUCKET, name=BUCKET)
    for day, data in chain["files"].items():
        store.put(
            keys.daily_manifest_key(day, DEVICE),
            chain["tmp"].joinpath("s3-bucket", keys.daily_manifest_key(day, DEVICE)).read_bytes(),
        )
        store.put(keys.daily_readings_key(day, DEVICE), data)
    client = functions_framework.create_app("load_daily_file", str(MAIN), "cloudevent").test_client()
    for day in DAYS:
        headers, body = encode_http(*finalized_event(BUCKET, keys.daily_readings_key(day, DEVICE), 1))
        assert client.post("/", headers=headers, data=body).status_code == 200
    embedded = energy_rows(get_deps().warehouse)
    get_deps.cache_clear()
    # Then both warehouses hold the same rows with the same numbers
    assert sorted(embedded) == sorted(chain["rows"])
    for key, row in embedded.items():
        for name in ("import_wh", "export_wh", "estimated_wh", "covered_s", "gap_s", "samples", "counter_resets"):
            assert row[name] == pytest.approx(chain["rows"][key][name], rel=1e-12, abs=1e-12), (key, name)


def test_each_load_published_energy_updated_to_pubsub(chain):
    # Given the chain, Then every successful load (2 copies × 4 days + 2 × the late day) announced itself
    bodies = [json.loads(message.data) for message in chain["updates"]]
    assert len(bodies) == 2 * len(DAYS) + 2
    assert {b["date"] for b in bodies} == {d.isoformat() for d in DAYS}
    late = [b for b in bodies if b["date"] == LATE_DAY.isoformat()]
    assert len({b["source"]["generation"] for b in late}) == 2  # the original and the late-data generation
    assert all(b["device_id"] == DEVICE and b["channels"] == [0, 1] and b["hours_from"] < b["hours_to"] for b in bodies)
    assert all(m.attributes["event"] == "energy.updated" for m in chain["updates"])
