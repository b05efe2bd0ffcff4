"""The same demo flow on real API servers: moto (S3), fake-gcs-server (GCS), the Pub/Sub emulator, bqemulator
(BigQuery), mosquitto, and functions-framework serving the loader and alert detection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from e2e_support import TODAY, DemoRun

from wattline.local.demo import checkout_root, run_demo
from wattline.local.ledger import queue_ledger
from wattline.local.servers import emulator_stack_missing
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy

pytestmark = [pytest.mark.emulators, pytest.mark.servers, pytest.mark.slow]


@pytest.fixture(scope="module")
def emulator_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = checkout_root()
    missing = emulator_stack_missing(
        root / ".tools" / "bqemulator",
        [root / "services" / "gcp-loader" / "main.py", root / "services" / "gcp-alerts" / "main.py"],
    )
    if missing:
        pytest.skip("emulator stack needs: " + "; ".join(missing))
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
    assert ledger.received == emulator_run.result.received
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


def test_the_emulator_stacks_warehouse_is_bigquery_fed_by_the_functions(emulator_run: DemoRun) -> None:
    # Given the logs of the emulator run's function processes
    logs = emulator_run.home / "emulators" / "logs"
    [loader_log] = logs.glob("load_daily_file-*.log")
    [detect_log] = logs.glob("detect-*.log")

    # Then the warehouse is BigQuery (bqemulator), the loader function loaded every device-day file, and the
    # detect function ran detection
    assert type(emulator_run.runtime.warehouse).__name__ == "BigQueryWarehouse"
    daily_files = [i.key for i in emulator_run.runtime.gcs.list("daily/") if i.key.endswith("readings.jsonl.gz")]
    assert daily_files and loader_log.read_text().count('"status": "loaded"') == len(daily_files)
    assert '"alerts detected"' in detect_log.read_text()
