"""MQTT QoS 1 redeliveries are dropped; genuine repeats are kept."""

from __future__ import annotations

from wattline.aggregation import RawEnvelope, dedup

T0 = 1_764_201_600_000


def gen1(received_ms: int, value: str = "MTIwLjEx", key: str = "a", line: int = 0) -> RawEnvelope:
    return RawEnvelope(received_ms, key, line, "shellies/shellyem-1/emeter/0/power", None, value)


def gen2_frame(received_ms: int, ts: float, power: float = 10.0) -> RawEnvelope:
    payload = {"method": "NotifyStatus", "params": {"ts": ts, "em1:0": {"act_power": power}}}
    return RawEnvelope(received_ms, f"k{received_ms}", 0, "dev/events/rpc", payload, None)


def test_a_gen1_message_redelivered_within_the_window_is_a_duplicate() -> None:
    kept, dropped = dedup([gen1(T0), gen1(T0 + 1_500, key="b")], window_ms=2_000)
    assert (len(kept), dropped) == (1, 1)
    assert kept[0].source_key == "a"


def test_the_same_gen1_value_in_the_next_publish_cycle_is_kept() -> None:
    kept, dropped = dedup([gen1(T0), gen1(T0 + 30_000, key="b")], window_ms=2_000)
    assert (len(kept), dropped) == (2, 0)


def test_the_window_counts_from_the_last_kept_copy_so_repeats_cannot_chain() -> None:
    # Given copies every 1.5 s: the 2nd is within 2 s of the 1st, the 3rd is 3 s after the 1st (kept)
    kept, dropped = dedup([gen1(T0), gen1(T0 + 1_500, key="b"), gen1(T0 + 3_000, key="c")], window_ms=2_000)
    assert [envelope.source_key for envelope in kept] == ["a", "c"]
    assert dropped == 1


def test_a_gen2_frame_with_the_same_device_time_is_a_duplicate_however_late_it_arrives() -> None:
    kept, dropped = dedup([gen2_frame(T0, 1764201599.9), gen2_frame(T0 + 600_000, 1764201599.9)])
    assert (len(kept), dropped) == (1, 1)


def test_gen2_frames_with_different_device_times_are_distinct() -> None:
    kept, dropped = dedup([gen2_frame(T0, 1764201599.9), gen2_frame(T0 + 100, 1764201600.0)])
    assert (len(kept), dropped) == (2, 0)


def test_kept_envelopes_come_back_in_receive_order() -> None:
    kept, _ = dedup([gen1(T0 + 5, "Mg=="), gen1(T0, "MQ=="), gen1(T0 + 5, "Mw==", key="0")])
    assert [(envelope.received_ms, envelope.source_key) for envelope in kept] == [
        (T0, "a"),
        (T0 + 5, "0"),
        (T0 + 5, "a"),
    ]


def test_different_payloads_on_one_topic_at_the_same_time_are_both_kept() -> None:
    kept, dropped = dedup([gen1(T0, "MQ=="), gen1(T0, "Mg==", key="b")])
    assert (len(kept), dropped) == (2, 0)


def test_a_redelivered_gen2_frame_read_from_stored_lines_is_a_duplicate() -> None:
    # Given the same NotifyStatus stored twice by the rule, received 10 minutes apart
    from wattline.aggregation import split_object
    from wattline.bridge import raw_records

    frame = b'{"src":"d","method":"NotifyStatus","params":{"ts":1764201599.9,"em1:0":{"id":0,"act_power":1.5}}}'
    lines = [raw_records("d/events/rpc", frame, T0 + offset)[0].line for offset in (0, 600_000)]
    assert b"payload_b64" in lines[0]
    envelopes, malformed = split_object(b"\n".join(lines), "k")
    # When
    kept, dropped = dedup(envelopes)
    # Then
    assert (len(kept), dropped, malformed) == (1, 1, [])


def test_a_gen2_frame_embedded_as_json_is_deduplicated_on_its_stored_bytes() -> None:
    # Given envelopes that embed the JSON payload (`payload`), e.g. written by an importer
    from wattline.aggregation import split_object

    lines = [
        b'{"topic":"d/events/rpc","received_ms":%d,"payload":{"params":{"ts":1764201599.9,"em1:0":{"id":0}}}}' % ms
        for ms in (T0, T0 + 900_000)
    ]
    envelopes, _ = split_object(b"\n".join(lines), "k")
    kept, dropped = dedup(envelopes)
    assert (len(kept), dropped) == (1, 1)
