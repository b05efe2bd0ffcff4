"""Each invalid message gives exactly one quarantine record with a stable reason code, never an exception."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Envelope, ParseOutcome, QuarantineReason
from wattline.parsing import MAX_LINE_BYTES, MAX_PAYLOAD_BYTES, gen2, parse_envelope, parse_line

R = QuarantineReason
GEN2 = "shellyproem50-08f9e0e67204"
DAY_MS = 86_400_000


def env(topic: str, payload: Any = None, *, b64: bytes | None = None, received_ms: int = RECEIVED_MS) -> Envelope:
    if b64 is not None:
        return Envelope(topic=topic, received_ms=received_ms, payload_b64=base64.b64encode(b64).decode())
    return Envelope(topic=topic, received_ms=received_ms, payload=payload)


def notify(params: dict[str, Any], *, method: str = "NotifyStatus", src: str | None = GEN2) -> str:
    frame: dict[str, Any] = {"dst": f"{GEN2}/events", "method": method, "params": params}
    if src is not None:
        frame["src"] = src
    return json.dumps(frame)


def em1(**fields: Any) -> dict[str, Any]:
    return {"ts": RECEIVED_MS / 1000, "em1:0": {"id": 0, **fields}}


def rejected(outcome: ParseOutcome) -> QuarantineReason:
    assert outcome.readings == []
    assert outcome.quarantined is not None
    return outcome.quarantined.reason


ENVELOPE_CASES: list[tuple[str, Envelope, QuarantineReason]] = [
    # malformed JSON
    ("a JSON topic with broken JSON", env(f"{GEN2}/events/rpc", '{"src": '), R.MALFORMED_JSON),
    ("a JSON topic whose bytes are not UTF-8", env(f"{GEN2}/events/rpc", b64=b'{"a":"\xff"}'), R.MALFORMED_JSON),
    ("a JSON number with 5000 digits", env(f"{GEN2}/status/em1:0", "1" * 5000), R.MALFORMED_JSON),
    # not an object
    ("a JSON array on an rpc topic", env(f"{GEN2}/events/rpc", "[1, 2]"), R.NOT_AN_OBJECT),
    ("a bare JSON number on a status topic", env(f"{GEN2}/status/em1:0", "42"), R.NOT_AN_OBJECT),
    # too deep
    ("nesting of 40 arrays", env(f"{GEN2}/events/rpc", "[" * 40 + "]" * 40), R.TOO_DEEP),
    ("nesting of 100000 arrays (RecursionError)", env(f"{GEN2}/events/rpc", "[" * 60_000), R.TOO_DEEP),
    (
        "an already-parsed payload nested 40 deep",
        env(f"{GEN2}/events/rpc", json.loads("[" * 40 + "]" * 40)),
        R.TOO_DEEP,
    ),
    # oversized
    (
        "a text payload one byte over the limit",
        env(f"{GEN2}/events/rpc", " " * (MAX_PAYLOAD_BYTES + 1)),
        R.OVERSIZED_PAYLOAD,
    ),
    (
        "a base64 payload over the limit",
        env("shellies/shellyem-1/emeter/0/power", b64=b"1" * (MAX_PAYLOAD_BYTES + 1)),
        R.OVERSIZED_PAYLOAD,
    ),
    ("a multi-megabyte payload", env(f"{GEN2}/events/rpc", '{"a":"' + "x" * 3_000_000 + '"}'), R.OVERSIZED_PAYLOAD),
    # unknown topic
    ("a topic of no Shelly format", env("home/kitchen/temperature", "21.5"), R.UNKNOWN_TOPIC),
    ("a Gen1 emeter quantity that does not exist", env("shellies/shellyem-1/emeter/0/bogus", "1"), R.UNKNOWN_TOPIC),
    ("a Gen1 topic with an extra level", env("shellies/shellyem-1/emeter/0/power/x", "1"), R.UNKNOWN_TOPIC),
    # unsupported message
    (
        "a NotifyStatus of a switch",
        env(f"{GEN2}/events/rpc", notify({"ts": 1.7e9, "switch:0": {"apower": 1}})),
        R.UNSUPPORTED_MESSAGE,
    ),
    (
        "a NotifyEvent",
        env(f"{GEN2}/events/rpc", notify({"ts": 1.7e9, "events": []}, method="NotifyEvent")),
        R.UNSUPPORTED_MESSAGE,
    ),
    ("the status of sys", env(f"{GEN2}/status/sys", '{"uptime": 12}'), R.UNSUPPORTED_MESSAGE),
    ("a meter index in non-ASCII digits", env(f"{GEN2}/status/em1:\u0661", '{"act_power": 1}'), R.UNSUPPORTED_MESSAGE),
    ("a Gen1 Watt-minute energy counter", env("shellies/shellyem-1/emeter/0/energy", "1234"), R.UNSUPPORTED_MESSAGE),
    (
        "a Gen1 returned Watt-minute counter",
        env("shellies/shellyem-1/emeter/1/returned_energy", "5"),
        R.UNSUPPORTED_MESSAGE,
    ),
    ("a Gen1 announce", env("shellies/announce", '{"id": "shellyem-1"}'), R.UNSUPPORTED_MESSAGE),
    (
        "a Gen1 device announce without emeters",
        env("shellies/shellyem-1/announce", '{"id":"shellyem-1","model":"SHEM","fw_ver":"20230913-114150/v1.14.0"}'),
        R.UNSUPPORTED_MESSAGE,
    ),
    ("a Gen1 relay command", env("shellies/shellyem-1/relay/0/command", "on"), R.UNSUPPORTED_MESSAGE),
    ("a CoIoT frame", env("shellies/shellyem-1/status", {"G": [[0, 4105, 1.0]]}), R.UNSUPPORTED_MESSAGE),
    ("an RPC request", env(f"{GEN2}/rpc", '{"id":1,"src":"me","method":"Shelly.GetStatus"}'), R.UNSUPPORTED_MESSAGE),
    ("an RPC error", env("me/rpc", '{"id":1,"src":"x","error":{"code":404}}'), R.UNSUPPORTED_MESSAGE),
    ("a Gen1 status without emeters", env("shellies/shellyem-1/status", {"wifi_sta": {}}), R.UNSUPPORTED_MESSAGE),
    # non-numeric
    ("a Gen1 power of letters", env("shellies/shellyem-1/emeter/0/power", "abc"), R.NON_NUMERIC_VALUE),
    ("an empty Gen1 power", env("shellies/shellyem-1/emeter/0/power", ""), R.NON_NUMERIC_VALUE),
    ("a Gen1 power with an underscore", env("shellies/shellyem-1/emeter/0/power", "1_000"), R.NON_NUMERIC_VALUE),
    ("a Gen1 power in hex", env("shellies/shellyem-1/emeter/0/power", "0x10"), R.NON_NUMERIC_VALUE),
    (
        "a Gen1 power in non-ASCII digits",
        env("shellies/shellyem-1/emeter/0/power", "\u0661\u0662"),
        R.NON_NUMERIC_VALUE,
    ),
    # non-finite
    ("a Gen1 power of nan", env("shellies/shellyem-1/emeter/0/power", "nan"), R.NON_FINITE_VALUE),
    ("a Gen1 voltage of -Infinity", env("shellies/shellyem-1/emeter/0/voltage", "-Infinity"), R.NON_FINITE_VALUE),
    ("a Gen1 power overflowing to inf", env("shellies/shellyem-1/emeter/0/power", "1e400"), R.NON_FINITE_VALUE),
    (
        "a Gen2 act_power NaN literal",
        env(f"{GEN2}/events/rpc", notify(em1()).replace("}}", ',"act_power":NaN}}')),
        R.NON_FINITE_VALUE,
    ),
    (
        "a Gen2 params.ts Infinity",
        env(f"{GEN2}/events/rpc", notify({"em1:0": {}}).replace("{}", '{}, "ts": Infinity')),
        R.NON_FINITE_VALUE,
    ),
    # wrong type
    ("a Gen2 act_power given as a string", env(f"{GEN2}/events/rpc", notify(em1(act_power="12"))), R.WRONG_TYPE),
    ("a Gen2 act_power given as a boolean", env(f"{GEN2}/events/rpc", notify(em1(act_power=True))), R.WRONG_TYPE),
    ("a Gen2 component that is not an object", env(f"{GEN2}/events/rpc", notify({"em1:0": 5})), R.WRONG_TYPE),
    (
        "Gen2 params that are not an object",
        env(f"{GEN2}/events/rpc", '{"method":"NotifyStatus","params":[]}'),
        R.WRONG_TYPE,
    ),
    ("a Gen2 params.ts given as a string", env(f"{GEN2}/events/rpc", notify({"ts": "now", "em1:0": {}})), R.WRONG_TYPE),
    ("an online LWT that is neither true nor false", env("shellies/shellyem-1/online", "maybe"), R.WRONG_TYPE),
    ("a relay state that does not exist", env("shellies/shellyem-1/relay/0", "blink"), R.WRONG_TYPE),
    ("Gen1 emeters that are not an array", env("shellies/shellyem-1/status", {"emeters": {}}), R.WRONG_TYPE),
    ("a Gen1 power given as a JSON object", env("shellies/shellyem-1/emeter/0/power", {"v": 1}), R.WRONG_TYPE),
    ("a Gen1 power given as a JSON boolean", env("shellies/shellyem-1/emeter/0/power", True), R.WRONG_TYPE),
    # impossible values
    ("a power above 100 kW", env("shellies/shellyem-1/emeter/0/power", "100000.5"), R.IMPOSSIBLE_VALUE),
    ("a power below -100 kW", env(f"{GEN2}/events/rpc", notify(em1(act_power=-100_001))), R.IMPOSSIBLE_VALUE),
    ("a voltage above 500 V", env("shellies/shellyem-1/emeter/0/voltage", "501"), R.IMPOSSIBLE_VALUE),
    ("a negative voltage", env(f"{GEN2}/events/rpc", notify(em1(voltage=-1))), R.IMPOSSIBLE_VALUE),
    ("a power factor above 1", env("shellies/shellyem-1/emeter/0/pf", "1.5"), R.IMPOSSIBLE_VALUE),
    ("a power factor below -1", env(f"{GEN2}/events/rpc", notify(em1(pf=-1.01))), R.IMPOSSIBLE_VALUE),
    ("a frequency of 150 Hz", env(f"{GEN2}/events/rpc", notify(em1(freq=150))), R.IMPOSSIBLE_VALUE),
    ("a negative frequency", env(f"{GEN2}/events/rpc", notify(em1(freq=-50))), R.IMPOSSIBLE_VALUE),
    ("a negative current", env("shellies/shellyem3-1/emeter/0/current", "-0.5"), R.IMPOSSIBLE_VALUE),
    ("a negative apparent power", env(f"{GEN2}/events/rpc", notify(em1(aprt_power=-3))), R.IMPOSSIBLE_VALUE),
    ("a negative counter other than -1", env("shellies/shellyem-1/emeter/0/total", "-5"), R.IMPOSSIBLE_VALUE),
    ("a counter above 1 TWh", env("shellies/shellyem-1/emeter/0/total", "2e12"), R.IMPOSSIBLE_VALUE),
    ("an integer too large for a float", env(f"{GEN2}/events/rpc", notify(em1(act_power=10**400))), R.IMPOSSIBLE_VALUE),
    # counter unavailable
    ("a Gen1 total of -1", env("shellies/shellyem-1/emeter/0/total", "-1"), R.COUNTER_UNAVAILABLE),
    (
        "a Gen1 total_returned of -1.0",
        env("shellies/shellyem-1/emeter/0/total_returned", "-1.0"),
        R.COUNTER_UNAVAILABLE,
    ),
    (
        "Gen2 counters that are all -1",
        env(f"{GEN2}/events/rpc", notify({"em1data:0": {"total_act_energy": -1, "total_act_ret_energy": -1}})),
        R.COUNTER_UNAVAILABLE,
    ),
    # bad device id
    ("a Gen1 id of ..", env("shellies/../online", "true"), R.BAD_DEVICE_ID),
    ("a Gen1 id containing ..", env("shellies/a..b/emeter/0/power", "1"), R.BAD_DEVICE_ID),
    ("an empty Gen1 id", env("shellies//online", "true"), R.BAD_DEVICE_ID),
    ("a Gen1 id longer than 64 characters", env(f"shellies/{'a' * 65}/online", "true"), R.BAD_DEVICE_ID),
    ("a Gen1 id with a control character", env("shellies/shellyem\x00-1/online", "true"), R.BAD_DEVICE_ID),
    (
        "a Gen2 src that escapes a path",
        env(f"{GEN2}/events/rpc", notify(em1(act_power=1), src="../etc")),
        R.BAD_DEVICE_ID,
    ),
    (
        "a Gen2 src that is not a string",
        env(f"{GEN2}/events/rpc", notify(em1(act_power=1)).replace(f'"{GEN2}"', "7")),
        R.BAD_DEVICE_ID,
    ),
    (
        "a Gen2 status topic whose prefix has a slash",
        env("home/meter/status/em1:0", '{"act_power": 1}'),
        R.BAD_DEVICE_ID,
    ),
    ("an RPC response without src", env("me/rpc", '{"id":1,"result":{"em1:0":{"act_power":1}}}'), R.BAD_DEVICE_ID),
    ("a Gen2 device named like the Gen1 root", env("shellies/online", "true"), R.BAD_DEVICE_ID),
    (
        "a Gen2 device named like the invalid partition",
        env("_invalid/status/em1:0", '{"act_power": 1}'),
        R.BAD_DEVICE_ID,
    ),
    ("a Gen1 device named like the Gen1 root", env("shellies/shellies/emeter/0/power", "1"), R.BAD_DEVICE_ID),
    # device mismatch: the device is the one the topic names (what the AWS IoT policy enforces)
    (
        "a Gen2 src naming another device than its topic",
        env("shellyproem50-aabbccddeeff/events/rpc", notify(em1(act_power=1))),
        R.DEVICE_MISMATCH,
    ),
    (
        "a Gen2 src under a custom topic prefix",
        env("garage-meter/events/rpc", notify(em1(act_power=1))),
        R.DEVICE_MISMATCH,
    ),
    # timestamps
    (
        "a params.ts two days ahead",
        env(f"{GEN2}/events/rpc", notify({"ts": (NOW_MS + 2 * DAY_MS) / 1000, "em1:0": {}})),
        R.TIMESTAMP_IN_FUTURE,
    ),
    (
        "a params.ts in milliseconds",
        env(f"{GEN2}/events/rpc", notify({"ts": NOW_MS, "em1:0": {"act_power": 1}})),
        R.TIMESTAMP_IN_FUTURE,
    ),
    (
        "a receive time two days ahead",
        env("shellies/shellyem-1/emeter/0/power", "1", received_ms=NOW_MS + 2 * DAY_MS),
        R.TIMESTAMP_IN_FUTURE,
    ),
    (
        "a params.ts in 2014",
        env(f"{GEN2}/events/rpc", notify({"ts": 1.4e9, "em1:0": {"act_power": 1}})),
        R.TIMESTAMP_TOO_OLD,
    ),
    (
        "a params.ts of 0 (unset clock)",
        env(f"{GEN2}/events/rpc", notify({"ts": 0, "em1:0": {"act_power": 1}})),
        R.TIMESTAMP_TOO_OLD,
    ),
    ("a receive time of 0", env("shellies/shellyem-1/emeter/0/power", "1", received_ms=0), R.TIMESTAMP_TOO_OLD),
    # no readings
    (
        "a meter whose CT type is not set",
        env(f"{GEN2}/status/em1:0", '{"id":0,"act_power":null,"voltage":null,"errors":["ct_type_not_set"]}'),
        R.NO_READINGS,
    ),
    (
        "a triphase delta with only total_act_power",
        env(f"{GEN2}/events/rpc", notify({"em:0": {"total_act_power": 5}})),
        R.NO_READINGS,
    ),
    (
        "Gen1 emeters all flagged invalid",
        env("shellies/shellyem-1/status", {"emeters": [{"is_valid": False, "power": 1}]}),
        R.NO_READINGS,
    ),
]


@pytest.mark.parametrize(("what", "envelope", "reason"), ENVELOPE_CASES, ids=[c[0] for c in ENVELOPE_CASES])
def test_an_invalid_message_is_quarantined_with_its_reason(what: str, envelope: Envelope, reason: R) -> None:
    # Given an invalid message (see the id)
    # When it is parsed
    outcome = parse_envelope(envelope, now_ms=NOW_MS)
    # Then it gives exactly one quarantine record with the expected reason, and no reading
    assert rejected(outcome) == reason


LINE_CASES: list[tuple[str, bytes, QuarantineReason]] = [
    ("a line that is not JSON", b"not json at all", R.MALFORMED_ENVELOPE),
    ("a line that is a JSON array", b"[1, 2]", R.MALFORMED_ENVELOPE),
    ("a line without a topic", b'{"received_ms": 1795780800000, "payload": "1"}', R.MALFORMED_ENVELOPE),
    (
        "a line with both payloads",
        b'{"topic":"a/online","received_ms":1795780800000,"payload":"1","payload_b64":"MQ=="}',
        R.MALFORMED_ENVELOPE,
    ),
    ("a line with neither payload", b'{"topic":"a/online","received_ms":1795780800000}', R.MALFORMED_ENVELOPE),
    (
        "a line with a text receive time",
        b'{"topic":"a/online","received_ms":"soon","payload":"true"}',
        R.MALFORMED_ENVELOPE,
    ),
    (
        "a line with a boolean receive time",
        b'{"topic":"a/online","received_ms":true,"payload":"true"}',
        R.MALFORMED_ENVELOPE,
    ),
    (
        "a line with invalid base64",
        b'{"topic":"a/online","received_ms":1795780800000,"payload_b64":"***"}',
        R.MALFORMED_ENVELOPE,
    ),
    (
        "a line with a 400-digit receive time",
        b'{"topic":"shellies/shellyem-1/emeter/0/power","received_ms":1' + b"0" * 400 + b',"payload":"1"}',
        R.TIMESTAMP_IN_FUTURE,
    ),
    (
        "a line with a receive time in year 1",
        b'{"topic":"shellies/shellyem-1/emeter/0/power","received_ms":-62135596800000,"payload":"1"}',
        R.TIMESTAMP_TOO_OLD,
    ),
    (
        "a line that is not UTF-8",
        b'{"topic":"a/online\xff","received_ms":1795780800000,"payload":"true"}',
        R.MALFORMED_ENVELOPE,
    ),
    ("a line nested 100000 deep", b"[" * 100_000, R.TOO_DEEP),
    (
        "a line nested 40 deep in its payload",
        b'{"topic":"a/events/rpc","received_ms":1795780800000,"payload":' + b"[" * 40 + b"]" * 40 + b"}",
        R.TOO_DEEP,
    ),
    (
        "a multi-megabyte line",
        b'{"topic":"a/online","payload":"' + b"x" * (MAX_LINE_BYTES + 1) + b'"}',
        R.OVERSIZED_PAYLOAD,
    ),
]


@pytest.mark.parametrize(("what", "line", "reason"), LINE_CASES, ids=[c[0] for c in LINE_CASES])
def test_an_invalid_line_is_quarantined_with_its_reason_and_its_bytes(what: str, line: bytes, reason: R) -> None:
    # Given an invalid envelope line
    # When it is parsed
    outcome = parse_line(line, source_key="raw/x.json", now_ms=NOW_MS)
    # Then it gives one record with the reason, the whole line as original bytes and the source key
    assert rejected(outcome) == reason
    assert outcome.quarantined is not None
    assert base64.b64decode(outcome.quarantined.original_b64) == line
    assert outcome.quarantined.source_key == "raw/x.json"


def test_an_unexpected_parser_bug_becomes_a_parser_error_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a parser that fails with an unexpected exception
    def broken(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(gen2, "parse_events_rpc", broken)
    # When a message reaches it
    outcome = parse_envelope(env(f"{GEN2}/events/rpc", notify(em1(act_power=1))), now_ms=NOW_MS)
    # Then the caller gets a parser_error record, not the exception
    assert rejected(outcome) == R.PARSER_ERROR


def test_every_reason_code_is_exercised_by_these_tests() -> None:
    # Given the reason codes
    # When the cases above are collected
    seen = {c[2] for c in ENVELOPE_CASES} | {c[2] for c in LINE_CASES} | {R.PARSER_ERROR}
    # Then each code has at least one test
    assert seen == set(R)


def test_a_quarantine_record_of_an_envelope_holds_the_payload_bytes() -> None:
    # Given a base64 Gen1 payload that is not a number
    envelope = env("shellies/shellyem-1/emeter/0/power", b64=b"\x00\x01garbage")
    # When it is parsed
    outcome = parse_envelope(envelope, now_ms=NOW_MS)
    # Then the record keeps the original payload bytes, the topic, the receive time and the device
    record = outcome.quarantined
    assert record is not None
    assert base64.b64decode(record.original_b64) == b"\x00\x01garbage"
    assert (record.topic, record.received_ms, record.device_id) == (envelope.topic, RECEIVED_MS, "shellyem-1")


def test_a_quarantine_record_of_an_already_parsed_payload_holds_its_json() -> None:
    # Given a parsed JSON payload with an impossible value
    envelope = env(f"{GEN2}/status/em1:0", {"act_power": 1e9})
    # When it is parsed
    outcome = parse_envelope(envelope, now_ms=NOW_MS)
    # Then the record keeps the payload re-serialised as JSON
    assert outcome.quarantined is not None
    assert json.loads(base64.b64decode(outcome.quarantined.original_b64)) == {"act_power": 1e9}


def test_a_rejected_message_names_the_device_its_topic_names() -> None:
    # Given malformed JSON from a known Gen2 device
    outcome = parse_envelope(env(f"{GEN2}/events/rpc", "{oops"), now_ms=NOW_MS)
    # Then the record is attributed to that device (so it lands in that device's quarantine folder)
    assert outcome.quarantined is not None
    assert outcome.quarantined.device_id == GEN2


def test_a_record_with_a_bad_device_id_names_no_device() -> None:
    # Given a topic whose device id would escape an object key
    outcome = parse_envelope(env("shellies/../online", "true"), now_ms=NOW_MS)
    # Then the record carries no device id
    assert outcome.quarantined is not None
    assert outcome.quarantined.device_id is None
