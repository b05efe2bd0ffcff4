"""The same demo flow on real API servers: moto (S3), fake-gcs-server (GCS), the Pub/Sub emulator, mosquitto."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date

import pytest
from e2e_support import TODAY, DemoRun

from wattline.local.demo import run_demo
from wattline.local.ledger import queue_ledger
from wattline.local.servers import PUBSUB_EMULATOR, fake_gcs_binary, mosquitto_binary, moto_binary
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy

pytestmark = [pytest.mark.emulators, pytest.mark.servers, pytest.mark.slow]


@pytest.fixture(scope="module")
def emulator_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    missing = [
        name
        for name, found in (
            ("moto_server", moto_binary()),
            ("fake-gcs-server", fake_gcs_binary()),
            ("mosquitto", mosquitto_binary()),
            ("the Pub/Sub emulator", PUBSUB_EMULATOR.exists() and shutil.which("java")),
        )
        if not found
    ]
    if missing:
        pytest.skip(f"emulator stack needs {', '.join(missing)} (make servers / uv sync --group dev)")
    home = tmp_path_factory.mktemp("emulator-home")
    result, runtime = run_demo(home, devices=2, days=1, seed=7, today=TODAY, stack="emulators")
    try:
        yield DemoRun(home, result, runtime)
    finally:
        runtime.close()


def test_the_ledger_balances_on_the_emulator_stack(emulator_run: DemoRun) -> None:
    # Given the ledger read through the S3 and GCS APIs
    runtime = emulator_run.runtime
    ledger = queue_ledger(runtime.queue, runtime.s3.inner, runtime.gcs, runtime.clock())

    # Then every published message is accounted for, and every device-day went through to the warehouse
    assert ledger.received == emulator_run.result.published
    assert ledger.balanced
    assert ledger.duplicates == 8 and ledger.quarantine_reasons == {"counter_unavailable": 2}
    assert ledger.days_loaded == ledger.days_aggregated > 0
    assert ledger.dead_letters == [] and ledger.pending_events == {}


def test_the_emulator_stack_gives_the_embedded_stacks_energy(emulator_run: DemoRun, demo_run: DemoRun) -> None:
    # Given the same simulation run on both stacks
    day = date.fromisoformat(emulator_run.result.scenario.dates()[0])
    tariff = load_tariff(emulator_run.runtime.settings.tariff)

    # When daily energy is read from each warehouse
    emulated = fetch_daily_energy(emulator_run.runtime.warehouse, day, day, tariff=tariff)
    embedded = fetch_daily_energy(demo_run.runtime.warehouse, day, day, tariff=tariff)

    # Then they are identical
    assert emulated and [row.model_dump() for row in emulated] == [row.model_dump() for row in embedded]


def test_the_emulator_stack_raises_the_same_alerts(emulator_run: DemoRun, demo_run: DemoRun) -> None:
    scenario = emulator_run.result.scenario
    sql = (
        "SELECT kind, device_id, channel, start_ts FROM `{{project}}.{{dataset}}.alerts` "
        "WHERE start_ts >= @start AND start_ts < @end ORDER BY kind, device_id, channel, start_ts"
    )
    window = {"start": scenario.start, "end": scenario.end}
    assert emulator_run.runtime.warehouse.query(sql, window) == demo_run.runtime.warehouse.query(sql, window)
