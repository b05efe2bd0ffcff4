"""Firehose dynamic partitioning: the JQ query puts each envelope under its UTC day and device (jq 1.6, as Firehose)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from infra_templates import INGEST_TEMPLATE, load_template


def partition_query() -> str:
    stream = load_template(INGEST_TEMPLATE)["Resources"]["RawDeliveryStream"]["Properties"]
    processors = stream["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]["Processors"]
    (extraction,) = [p for p in processors if p["Type"] == "MetadataExtraction"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in extraction["Parameters"]}
    assert parameters["JsonParsingEngine"] == "JQ-1.6"
    query: str = parameters["MetadataExtractionQuery"]["Fn::Sub"]
    return query.replace("${Gen1TopicRoot}", "shellies")


def run_jq(query: str, record: dict[str, Any]) -> dict[str, Any]:
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq not installed (apt-get install -y jq): it checks the Firehose partitioning query")
    done = subprocess.run(
        [jq, "-c", query], input=json.dumps(record), capture_output=True, text=True, timeout=30, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("topic", "device"),
    [
        ("shellies/shellyem-C45BBE6C2E8F/emeter/0/power", "shellyem-C45BBE6C2E8F"),
        ("shellies/shellyem3-68C63AFAF952/online", "shellyem3-68C63AFAF952"),
        ("shellyproem50-08f9e0e67204/events/rpc", "shellyproem50-08f9e0e67204"),
        ("shelly3em63g3-48f6eead1a8c/status/em1:2", "shelly3em63g3-48f6eead1a8c"),
    ],
)
def test_each_envelope_is_partitioned_by_its_device(topic: str, device: str) -> None:
    keys = run_jq(partition_query(), {"topic": topic, "received_ms": 1_764_201_600_000, "payload_b64": "MQ=="})
    assert keys["device"] == device


def test_the_day_is_the_utc_day_of_the_receive_time() -> None:
    # Given messages in the last and first millisecond around UTC midnight
    before = run_jq(partition_query(), {"topic": "d/online", "received_ms": 1_764_201_599_999, "payload_b64": "MQ=="})
    after = run_jq(partition_query(), {"topic": "d/online", "received_ms": 1_764_201_600_000, "payload_b64": "MQ=="})
    # Then they fall on either side of the day boundary, exactly as the direct-mode key does
    assert (before["dt"], after["dt"]) == ("2025-11-26", "2025-11-27")
