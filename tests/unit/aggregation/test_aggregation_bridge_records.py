"""The bridge's pure record builder writes exactly what the AWS IoT rules write."""

from __future__ import annotations

import base64
import json

from aggregation_helpers import GEN1_DEVICE, GEN2_DEVICE, gen2_notify

from wattline.bridge import raw_records, topic_matches
from wattline.models import Envelope

RECEIVED_MS = 1_764_201_600_123  # 2025-11-27T00:00:00.123Z


def test_a_gen1_scalar_is_stored_base64_under_the_device_of_topic_2() -> None:
    # When
    [record] = raw_records(f"shellies/{GEN1_DEVICE}/emeter/0/power", b"120.11", RECEIVED_MS, unique=lambda: "u1")
    # Then
    assert record.key == f"raw/dt=2025-11-27/device={GEN1_DEVICE}/{RECEIVED_MS}-u1.json"
    line = json.loads(record.line)
    assert line == {
        "topic": f"shellies/{GEN1_DEVICE}/emeter/0/power",
        "received_ms": RECEIVED_MS,
        "payload_b64": base64.b64encode(b"120.11").decode(),
    }


def test_a_gen2_json_frame_is_stored_base64_under_the_device_of_topic_1() -> None:
    # Like the rule's `encode(*, 'base64') AS payload_b64`: the bytes exactly as published
    frame = gen2_notify(1764201600.1, 0, {"act_power": 12.5})
    [record] = raw_records(f"{GEN2_DEVICE}/events/rpc", frame, RECEIVED_MS, unique=lambda: "u2")
    assert record.key == f"raw/dt=2025-11-27/device={GEN2_DEVICE}/{RECEIVED_MS}-u2.json"
    envelope = Envelope.model_validate_json(record.line)
    assert base64.b64decode(envelope.payload_b64 or "") == frame


def test_a_gen2_payload_that_is_not_json_is_stored_all_the_same() -> None:
    [record] = raw_records(f"{GEN2_DEVICE}/status/em1:0", b"{not json", RECEIVED_MS, unique=lambda: "u3")
    envelope = Envelope.model_validate_json(record.line)
    assert envelope.payload_b64 == base64.b64encode(b"{not json").decode()


def test_topics_under_the_gen1_root_are_never_taken_by_the_gen2_rules() -> None:
    # `shellies/status/x` matches `+/status/+`, but the Gen2 rules exclude topic(1) = 'shellies'
    assert raw_records("shellies/status/x", b"{}", RECEIVED_MS) == []
    [record] = raw_records("shellies/online/online", b"true", RECEIVED_MS, unique=lambda: "u6")
    assert "/device=online/" in record.key


def test_an_unsafe_device_id_lands_under_the_invalid_placeholder_not_outside_its_prefix() -> None:
    [record] = raw_records("shellies/..%2F../emeter/0/power", b"1", RECEIVED_MS, unique=lambda: "u4")
    assert record.key == f"raw/dt=2025-11-27/device=_invalid/{RECEIVED_MS}-u4.json"


def test_a_topic_no_rule_subscribes_to_is_not_stored() -> None:
    assert raw_records("shellies/shellyem-1/emeter/0/power/extra", b"1", RECEIVED_MS) == []
    assert raw_records("shellies/announce", b"{}", RECEIVED_MS) == []


def test_the_utc_day_of_the_receive_time_names_the_partition() -> None:
    [record] = raw_records(f"{GEN2_DEVICE}/online", b"true", RECEIVED_MS - 1_000, unique=lambda: "u5")
    assert record.key.startswith("raw/dt=2025-11-26/")


def test_topic_filters_match_like_mqtt() -> None:
    assert topic_matches("+/status/+", "dev/status/em1:0")
    assert not topic_matches("+/status/+", "dev/status/em1:0/x")
    assert topic_matches("shellies/#", "shellies/a/b")
    assert not topic_matches("+/online", "$SYS/online")
