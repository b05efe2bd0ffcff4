"""What each Shelly format gives: units kept, channel mapping, device id, time, device-level state."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Envelope, Generation, ParseOutcome, QuarantineReason, Reading
from wattline.parsing import envelope_from_capture, parse_envelope, parse_line, parse_object

PRO3EM = "shellypro3em-a0dd6ca0c27c"
PROEM = "shellyproem50-08f9e0e67204"


def env(topic: str, payload: Any = None, *, b64: bytes | None = None) -> Envelope:
    if b64 is not None:
        return Envelope(topic=topic, received_ms=RECEIVED_MS, payload_b64=base64.b64encode(b64).decode())
    return Envelope(topic=topic, received_ms=RECEIVED_MS, payload=payload)


def readings(outcome: ParseOutcome) -> list[Reading]:
    assert outcome.quarantined is None, outcome.quarantined
    return outcome.readings


def only(outcome: ParseOutcome) -> Reading:
    result = readings(outcome)
    assert len(result) == 1
    return result[0]


# --- Gen1 ---------------------------------------------------------------------------------------------------------


def test_a_gen1_power_topic_gives_signed_watts_on_its_channel_at_the_receive_time() -> None:
    # Given an exported power on emeter 1 of a Gen1 EM
    outcome = parse_envelope(env("shellies/shellyem-B8D6E3/emeter/1/power", "-28.97"), now_ms=NOW_MS)
    # Then one Gen1 reading: channel 1, -28.97 W, stamped with the receive time
    reading = only(outcome)
    assert (reading.device_id, reading.channel, reading.power_w) == ("shellyem-B8D6E3", 1, -28.97)
    assert reading.generation == Generation.GEN1
    assert reading.ts == datetime.fromtimestamp(RECEIVED_MS / 1000, tz=UTC)


def test_a_gen1_total_topic_gives_watt_hours_unchanged() -> None:
    # Given a persisted Gen1 counter (Wh)
    reading = only(parse_envelope(env("shellies/shellyem3-1/emeter/2/total", "13685.4"), now_ms=NOW_MS))
    # Then it is kept in Wh, not converted
    assert (reading.channel, reading.energy_total_wh) == (2, 13685.4)


def test_a_gen1_number_embedded_as_json_by_the_rule_is_read_like_text() -> None:
    # Given the IoT rule stored the text payload 238.85 as a JSON number
    reading = only(parse_envelope(env("shellies/shellyem-1/emeter/0/voltage", 238.85), now_ms=NOW_MS))
    # Then it is the same voltage
    assert reading.voltage_v == 238.85


def test_a_gen1_text_payload_with_surrounding_whitespace_is_accepted() -> None:
    reading = only(parse_envelope(env("shellies/shellyem-1/emeter/0/pf", b64=b" 0.71\n"), now_ms=NOW_MS))
    assert reading.pf == 0.71


@pytest.mark.parametrize(("payload", "online"), [("true", True), ("false", False), (True, True), (False, False)])
def test_a_gen1_online_lwt_gives_a_device_level_reading(payload: object, online: bool) -> None:
    # Given the Gen1 LWT topic
    reading = only(parse_envelope(env("shellies/shellyem-1/online", payload), now_ms=NOW_MS))
    # Then a reading without channel carries the online flag
    assert (reading.channel, reading.online, reading.power_w) == (None, online, None)


@pytest.mark.parametrize("state", ["on", "off", "overpower"])
def test_a_gen1_relay_state_gives_a_device_level_reading(state: str) -> None:
    reading = only(parse_envelope(env("shellies/shellyem-1/relay/0", b64=state.encode()), now_ms=NOW_MS))
    assert (reading.channel, reading.relay) == (None, state)


def test_a_gen1_status_maps_emeters_to_channels_and_relays_to_the_relay() -> None:
    # Given a Gen1 3EM /status with three emeters and a relay that tripped
    body = {
        "relays": [{"ison": False, "overpower": True}],
        "emeters": [
            {"power": 3269.48, "pf": 1.0, "current": 14.35, "voltage": 227.9, "is_valid": True, "total": 7589.6},
            {"power": 147.6, "reactive": 2.1, "voltage": 234.34, "is_valid": True, "total_returned": 3188.7},
            {"power": 193.11, "is_valid": True},
        ],
    }
    result = readings(parse_envelope(env("shellies/shellyem3-1/status", json.dumps(body)), now_ms=NOW_MS))
    # Then channel i holds emeters[i] and the relay reading says overpower
    by_channel = {r.channel: r for r in result}
    assert by_channel[0].energy_total_wh == 7589.6 and by_channel[0].current_a == 14.35
    assert by_channel[1].reactive_power_var == 2.1 and by_channel[1].energy_returned_total_wh == 3188.7
    assert by_channel[2].power_w == 193.11
    assert by_channel[None].relay == "overpower"


def test_a_gen1_emeter_flagged_invalid_is_skipped_and_the_others_kept() -> None:
    body = {"emeters": [{"power": 5.0, "is_valid": False}, {"power": 7.0, "is_valid": True}]}
    result = readings(parse_envelope(env("shellies/shellyem-1/status", body), now_ms=NOW_MS))
    assert [(r.channel, r.power_w) for r in result] == [(1, 7.0)]


def test_a_gen1_status_counter_of_minus_one_is_dropped_and_the_other_fields_kept() -> None:
    # Given a status right after a reboot: total not available yet
    body = {"emeters": [{"power": 120.5, "voltage": 230.1, "total": -1, "total_returned": 0}]}
    reading = only(parse_envelope(env("shellies/shellyem-1/status", body), now_ms=NOW_MS))
    # Then the reading keeps power, voltage and the valid counter, without the unavailable one
    assert (reading.power_w, reading.voltage_v, reading.energy_returned_total_wh) == (120.5, 230.1, 0.0)
    assert reading.energy_total_wh is None


def test_the_gen1_info_topic_is_read_like_status() -> None:
    body = {"emeters": [{"power": 1.5, "is_valid": True}]}
    assert only(parse_envelope(env("shellies/shellyem-1/info", body), now_ms=NOW_MS)).power_w == 1.5


# --- Gen2+ --------------------------------------------------------------------------------------------------------


def notify(params: dict[str, Any], method: str = "NotifyStatus", src: str | None = PROEM) -> str:
    frame: dict[str, Any] = {"dst": f"{PROEM}/events", "method": method, "params": params}
    if src is not None:
        frame["src"] = src
    return json.dumps(frame)


def test_a_notifystatus_gives_only_the_fields_it_carries_at_params_ts() -> None:
    # Given a NotifyStatus delta with only act_power of em1:1
    outcome = parse_envelope(
        env(f"{PROEM}/events/rpc", notify({"ts": 1795780000.25, "em1:1": {"id": 1, "act_power": 6769.3}})),
        now_ms=NOW_MS,
    )
    # Then one reading for channel 1 with that power, nothing invented, stamped with params.ts
    reading = only(outcome)
    assert reading.channel == 1 and reading.power_w == 6769.3
    assert reading.voltage_v is None and reading.energy_total_wh is None
    assert reading.ts == datetime(2026, 11, 27, 11, 46, 40, 250000, tzinfo=UTC)
    assert reading.received_ms == RECEIVED_MS and reading.generation == Generation.GEN2


def test_a_notifystatus_without_ts_is_stamped_with_the_receive_time() -> None:
    reading = only(parse_envelope(env(f"{PROEM}/events/rpc", notify({"em1:0": {"voltage": 231.0}})), now_ms=NOW_MS))
    assert reading.ts == datetime.fromtimestamp(RECEIVED_MS / 1000, tz=UTC)


def test_em1_and_em1data_of_the_same_channel_merge_into_one_reading() -> None:
    # Given a full status with em1:0 and em1data:0
    params = {
        "ts": 1795780000.0,
        "em1:0": {
            "id": 0,
            "act_power": 69.0,
            "aprt_power": 69.3,
            "voltage": 231.0,
            "current": 0.299,
            "pf": 0.99,
            "freq": 50.0,
            "calibration": "factory",
        },
        "em1data:0": {"id": 0, "total_act_energy": 4264.79, "total_act_ret_energy": 0.0},
        "sys": {"unixtime": 1795780000},
    }
    reading = only(parse_envelope(env(f"{PROEM}/events/rpc", notify(params, "NotifyFullStatus")), now_ms=NOW_MS))
    # Then one reading carries power (W, VA), voltage, current, pf, frequency and both counters (Wh)
    assert reading.model_dump(
        exclude_none=True,
        include={
            "power_w",
            "apparent_power_va",
            "voltage_v",
            "current_a",
            "pf",
            "freq_hz",
            "energy_total_wh",
            "energy_returned_total_wh",
        },
    ) == {
        "power_w": 69.0,
        "apparent_power_va": 69.3,
        "voltage_v": 231.0,
        "current_a": 0.299,
        "pf": 0.99,
        "freq_hz": 50.0,
        "energy_total_wh": 4264.79,
        "energy_returned_total_wh": 0.0,
    }


def test_triphase_phases_a_b_c_become_channels_0_1_2_and_totals_are_ignored() -> None:
    # Given a Pro 3EM em:0 + emdata:0 status change
    params = {
        "ts": 1678699590.834,
        "em:0": {
            "a_act_power": 2254.6,
            "b_act_power": 403.4,
            "c_act_power": 238.3,
            "c_pf": -0.89,
            "total_act_power": 2896.28,
            "n_current": None,
        },
        "emdata:0": {"a_total_act_energy": 1.5, "c_total_act_ret_energy": 5123.04, "total_act": 99.0},
    }
    result = readings(parse_envelope(env(f"{PRO3EM}/events/rpc", notify(params, src=PRO3EM)), now_ms=NOW_MS))
    # Then a→0, b→1, c→2 and no channel carries the three-phase totals
    by_channel = {r.channel: r for r in result}
    assert sorted(by_channel) == [0, 1, 2]
    assert (by_channel[0].power_w, by_channel[0].energy_total_wh) == (2254.6, 1.5)
    assert by_channel[1].power_w == 403.4
    assert (by_channel[2].power_w, by_channel[2].pf, by_channel[2].energy_returned_total_wh) == (238.3, -0.89, 5123.04)
    assert all(r.device_id == PRO3EM for r in result)


def test_a_second_triphase_meter_continues_the_channel_numbers() -> None:
    reading = only(parse_envelope(env(f"{PRO3EM}/status/em:1", '{"b_act_power": 5}'), now_ms=NOW_MS))
    assert reading.channel == 4


def test_the_gen2_device_id_is_the_topic_prefix_that_src_repeats() -> None:
    outcome = parse_envelope(env(f"{PROEM}/events/rpc", notify({"em1:0": {"act_power": 1}})), now_ms=NOW_MS)
    assert only(outcome).device_id == PROEM


def test_a_src_naming_another_device_than_the_topic_is_quarantined_under_the_topics_device() -> None:
    # Given a frame from PROEM published under another device's topic (the IoT policy names the publisher by topic)
    other = "shellyproem50-aabbccddeeff"
    # When it is parsed
    outcome = parse_envelope(env(f"{other}/events/rpc", notify({"em1:0": {"act_power": 1}})), now_ms=NOW_MS)
    # Then no reading is attributed to either device: it is quarantined as device_mismatch, filed under the topic's
    record = outcome.quarantined
    assert outcome.readings == [] and record is not None
    assert (record.reason, record.device_id) == (QuarantineReason.DEVICE_MISMATCH, other)
    assert PROEM in record.detail and other in record.detail


def test_a_message_stored_under_another_device_is_quarantined_as_device_mismatch() -> None:
    # Given a Gen1 message whose raw partition names another device than its topic
    envelope = env("shellies/shellyem-A4CF12F454A3/emeter/0/power", "12.5")
    # When it is parsed for the partition's device, Then it is device_mismatch; for its own device, a reading
    record = parse_envelope(envelope, now_ms=NOW_MS, device_id="shellyem-B4CF12F454A3").quarantined
    assert record is not None and record.reason is QuarantineReason.DEVICE_MISMATCH
    assert only(parse_envelope(envelope, now_ms=NOW_MS, device_id="shellyem-A4CF12F454A3")).power_w == 12.5


def test_the_gen2_device_id_falls_back_to_the_topic_prefix_without_src() -> None:
    outcome = parse_envelope(env(f"{PROEM}/events/rpc", notify({"em1:0": {"act_power": 1}}, src=None)), now_ms=NOW_MS)
    assert only(outcome).device_id == PROEM


def test_a_gen2_status_topic_gives_the_component_on_its_channel_at_the_receive_time() -> None:
    payload = '{"id":2,"current":1.246,"voltage":228.5,"act_power":219.4,"aprt_power":284.8,"pf":0.77,"freq":50.0}'
    reading = only(parse_envelope(env("shelly3em63g3-48f6eead1a8c/status/em1:2", payload), now_ms=NOW_MS))
    assert (reading.device_id, reading.channel, reading.power_w) == ("shelly3em63g3-48f6eead1a8c", 2, 219.4)
    assert reading.ts == datetime.fromtimestamp(RECEIVED_MS / 1000, tz=UTC)


def test_a_gen2_online_lwt_gives_a_device_level_gen2_reading() -> None:
    reading = only(parse_envelope(env(f"{PROEM}/online", "false"), now_ms=NOW_MS))
    assert (reading.device_id, reading.channel, reading.online, reading.generation) == (
        PROEM,
        None,
        False,
        Generation.GEN2,
    )


def test_a_gen2_counter_of_minus_one_is_dropped_while_power_is_kept() -> None:
    params = {"em1:0": {"act_power": 12.5}, "em1data:0": {"total_act_energy": -1, "total_act_ret_energy": 3.0}}
    reading = only(parse_envelope(env(f"{PROEM}/events/rpc", notify(params)), now_ms=NOW_MS))
    assert (reading.power_w, reading.energy_total_wh, reading.energy_returned_total_wh) == (12.5, None, 3.0)


def test_a_gen2_null_field_is_treated_as_not_carried() -> None:
    params = {"em1:0": {"act_power": None, "voltage": 230.0}}
    reading = only(parse_envelope(env(f"{PROEM}/events/rpc", notify(params)), now_ms=NOW_MS))
    assert (reading.power_w, reading.voltage_v) == (None, 230.0)


def test_an_unconnected_phase_reporting_zero_hertz_is_accepted() -> None:
    reading = only(parse_envelope(env(f"{PRO3EM}/status/em:0", '{"a_voltage": 0, "a_freq": 0}'), now_ms=NOW_MS))
    assert (reading.voltage_v, reading.freq_hz) == (0.0, 0.0)


def test_a_payload_with_irregular_spacing_parses_like_compact_json() -> None:
    payload = '{"id":0, "act_power" :  11.5 ,"voltage":240.3}'
    reading = only(parse_envelope(env(f"{PROEM}/status/em1:0", payload), now_ms=NOW_MS))
    assert (reading.power_w, reading.voltage_v) == (11.5, 240.3)


# --- lines, objects, captures -------------------------------------------------------------------------------------


def line(topic: str, payload: str, received_ms: int = RECEIVED_MS) -> bytes:
    return json.dumps({"topic": topic, "received_ms": received_ms, "payload": payload}).encode()


def test_parse_line_reads_an_envelope_line() -> None:
    reading = only(parse_line(line("shellies/shellyem-1/emeter/0/power", "611.53"), now_ms=NOW_MS))
    assert reading.power_w == 611.53


def test_parse_line_accepts_text_as_well_as_bytes() -> None:
    reading = only(parse_line(line("shellies/shellyem-1/emeter/0/power", "1.5").decode(), now_ms=NOW_MS))
    assert reading.power_w == 1.5


def test_parse_line_reads_a_json_payload_embedded_as_json() -> None:
    data = json.dumps({"topic": f"{PROEM}/status/em1:0", "received_ms": RECEIVED_MS, "payload": {"act_power": 3.0}})
    assert only(parse_line(data, now_ms=NOW_MS)).power_w == 3.0


def test_parse_object_gives_one_outcome_per_line_of_a_batch() -> None:
    # Given a Firehose-style batch: two valid lines, a blank line and a broken one
    data = b"\n".join(
        [
            line("shellies/shellyem-1/emeter/0/power", "10"),
            b"",
            line("shellies/shellyem-1/emeter/0/power", "abc"),
            b"{broken",
            line("shellies/shellyem-1/emeter/1/power", "20"),
        ]
    )
    # When the object is parsed
    outcomes = parse_object(data, source_key="raw/k", now_ms=NOW_MS)
    # Then each non-blank line gives one outcome, in order
    kinds = [o.quarantined.reason.value if o.quarantined else o.readings[0].power_w for o in outcomes]
    assert kinds == [10.0, "non_numeric_value", "malformed_envelope", 20.0]


def test_parse_object_accepts_a_single_pretty_printed_envelope() -> None:
    data = json.dumps(
        {"topic": "shellies/shellyem-1/emeter/0/power", "received_ms": RECEIVED_MS, "payload": "5"}, indent=2
    )
    outcomes = parse_object(data, now_ms=NOW_MS)
    assert [o.readings[0].power_w for o in outcomes] == [5.0]


def test_parse_object_of_an_empty_object_gives_one_record_rather_than_nothing() -> None:
    outcomes = parse_object(b"  \n\n", source_key="raw/empty", now_ms=NOW_MS)
    assert len(outcomes) == 1
    assert outcomes[0].quarantined is not None and outcomes[0].quarantined.reason.value == "malformed_envelope"


def test_envelope_from_capture_rounds_the_receive_time_to_milliseconds() -> None:
    envelope = envelope_from_capture("shellies/shellyem-1/emeter/0/power", "611.53", 1678549399.9531)
    assert (envelope.received_ms, envelope.payload) == (1678549399953, "611.53")
    assert only(parse_envelope(envelope, now_ms=NOW_MS)).power_w == 611.53


def test_envelope_from_capture_refuses_a_receive_time_that_is_not_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        envelope_from_capture("shellies/shellyem-1/emeter/0/power", "1", float("nan"))


def test_readings_survive_a_json_round_trip_through_to_json_line() -> None:
    # Given readings built without pydantic validation
    outcome = parse_envelope(
        env(f"{PROEM}/events/rpc", notify({"ts": 1795780000.0, "em1:0": {"act_power": 1.0}})), now_ms=NOW_MS
    )
    reading = only(outcome)
    # When serialised and validated again
    again = Reading.model_validate_json(reading.to_json_line())
    # Then nothing changes
    assert again == reading


def test_parse_object_of_a_large_batch_with_a_broken_first_line_still_parses_the_other_lines() -> None:
    # Given a batch larger than one envelope line may be, whose first line is truncated
    good = line("shellies/shellyem-1/emeter/0/power", "10")
    data = b'{"topic":"shellies/shellyem-1/emeter/0/pow\n' + b"\n".join([good] * 5000)
    # When it is parsed
    outcomes = parse_object(data, now_ms=NOW_MS)
    # Then only the broken line is quarantined
    assert len(outcomes) == 5001
    assert outcomes[0].quarantined is not None and outcomes[0].quarantined.reason.value == "malformed_envelope"
    assert all(o.readings for o in outcomes[1:])


def test_parse_line_accepts_a_bytearray() -> None:
    reading = only(parse_line(bytearray(line("shellies/shellyem-1/emeter/0/power", "2.5")), now_ms=NOW_MS))
    assert reading.power_w == 2.5


def test_parse_line_given_something_that_is_not_text_quarantines_it() -> None:
    outcome = parse_line(12345, now_ms=NOW_MS)  # type: ignore[arg-type]
    assert outcome.quarantined is not None and outcome.quarantined.reason.value == "malformed_envelope"
