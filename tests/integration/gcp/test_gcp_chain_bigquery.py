"""The GCP chain into BigQuery (bqemulator) instead of DuckDB: fake-gcs-server → Pub/Sub emulator → relay →
functions-framework loader → BigQuery MERGE; every event twice; the same numbers as one computation."""

from __future__ import annotations

import pytest
from gcp_flows import DAYS, embedded_env, energy_rows, files_of, history, write_history
from gcp_servers import NOTIFY_SUBSCRIPTION, PROJECT
from helpers.gcp_daily_files import assert_same_rows, reference_rows

from wattline.adapters.fs_store import FsObjectStore
from wattline.local.events import NotificationRelay
from wattline.transfer import sync
from wattline.warehouse.bigquery import BigQueryWarehouse

pytestmark = [pytest.mark.servers, pytest.mark.emulators, pytest.mark.slow]
BUCKET = "wattline-daily-bq"
DATASET = "wattline_chain"


def test_the_chain_into_bigquery_merges_each_hour_once_with_the_final_numbers(
    tmp_path, pubsub_emulator, notifying_gcs, loader_server, bq_emulator
):
    # Given the dataset initialised, four days at the source and the chain running with the BigQuery adapter
    warehouse = BigQueryWarehouse(project=PROJECT, dataset=DATASET, endpoint=bq_emulator, bucket=BUCKET)
    warehouse.ensure_schema()
    source = FsObjectStore(tmp_path / "s3-bucket", name="s3-bucket")
    target = notifying_gcs.store(BUCKET)
    write_history(source, history())
    env = {
        **embedded_env(tmp_path),
        "WATTLINE_STORAGE": "gcs",
        "WATTLINE_GCS_ENDPOINT": notifying_gcs.endpoint,
        "WATTLINE_GCP_PROJECT": PROJECT,
        "WATTLINE_WAREHOUSE": "bigquery",
        "WATTLINE_BQ_ENDPOINT": bq_emulator,
        "WATTLINE_BQ_DATASET": DATASET,
        "WATTLINE_BUCKET": BUCKET,
        "WATTLINE_PUBLISHER": "outbox",
    }
    # When the days are transferred and every notification is delivered twice
    with loader_server(env) as server:
        report = sync(source, target)
        relay = NotificationRelay(
            f"projects/{PROJECT}/subscriptions/{NOTIFY_SUBSCRIPTION}",
            server.url,
            subscriber=pubsub_emulator.subscriber(),
        )
        stats = relay.drain(copies=2, min_delivered=len(report.copied))
        log = server.log_tail(20000)
    # Then every delivery succeeded and energy_hourly in BigQuery equals one computation over the files
    assert stats.failed == 0 and stats.delivered == 2 * len(DAYS), log
    assert_same_rows(energy_rows(warehouse), reference_rows(files_of(target)))
