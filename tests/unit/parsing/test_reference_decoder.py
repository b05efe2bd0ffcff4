"""The parser against a reference decoder written from the documented rules (issue 11 safety net).

`reference_decode` below is a plain reading of docs/parsing.md and the parsing modules' docstrings for the common
message families — Gen1 `shellies/<id>/emeter/<i>/<quantity>` scalar topics and Gen2 `<id>/events/rpc`
NotifyStatus / NotifyFullStatus frames with em1 / em1data / em / emdata components — in every envelope form (payload
text, payload_b64, a JSON value the rule embedded). It uses `json.loads` and plain Python: no fast paths, no
caches, nothing shared with the parser but the reason codes. Hypothesis fuzzes real-shaped messages (the meter
components of tests/fixtures/shelly-payloads.json, mutated: boundary values, -1 counters, NaN/Infinity, strings,
nulls, booleans, nested values, unknown components, another device in `src`, bad base64, huge integers, odd receive
times and `ts`) and requires the parser's outcome to be the reference's: the same readings (device, channel, time,
values) or the same quarantine reason.

Where the documentation does not say which of two problems of one message is reported, the reference checks in the
parser's order (commented where it happens). Documented behaviour the parser does not follow is kept as an explicit
expected-failure test at the end of the file, not silently adapted.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shelly_cases import NOW_MS, RECEIVED_MS, load_records

from wattline.models import Envelope, ParseOutcome
from wattline.parsing import Gen2State, parse_envelope, parse_line

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------------------------
# The documented rules (docs/parsing.md: "Limits", "Formats", "Decisions", "Reason codes")

MIN_TIME_MS = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp() * 1000)  # time: 2015-01-01 …
ONE_DAY_MS = 86_400_000  # … now + 1 day
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 6 * MAX_PAYLOAD_BYTES + 4096  # room for a maximal payload JSON-escaped
MAX_JSON_DEPTH = 32

LIMITS = {  # Reading field → (lowest, highest) accepted
    "power_w": (-100_000.0, 100_000.0),
    "reactive_power_var": (-100_000.0, 100_000.0),
    "apparent_power_va": (0.0, 100_000.0),
    "voltage_v": (0.0, 500.0),
    "current_a": (0.0, 1000.0),
    "pf": (-1.0, 1.0),
    "freq_hz": (0.0, 100.0),
    "energy_total_wh": (0.0, 1e12),
    "energy_returned_total_wh": (0.0, 1e12),
}
COUNTERS = {"energy_total_wh", "energy_returned_total_wh"}

GEN1_TOPIC_FIELDS = {
    "power": "power_w",
    "reactive_power": "reactive_power_var",
    "voltage": "voltage_v",
    "pf": "pf",
    "current": "current_a",
    "total": "energy_total_wh",
    "total_returned": "energy_returned_total_wh",
}
WATT_MINUTE_TOPICS = {"energy", "returned_energy"}

EM1_FIELDS = {
    "act_power": "power_w",
    "aprt_power": "apparent_power_va",
    "voltage": "voltage_v",
    "current": "current_a",
    "pf": "pf",
    "freq": "freq_hz",
}
EM1DATA_FIELDS = {"total_act_energy": "energy_total_wh", "total_act_ret_energy": "energy_returned_total_wh"}
METER_KINDS = {"em1", "em1data", "em", "emdata"}
RESERVED_IDS = {"shellies", "_invalid"}
DEVICE_ID_CHARACTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Decoded:
    """What a message decodes to: readings (device, channel, time in µs, values) or one quarantine reason and the
    device its record is filed under."""

    readings: tuple[tuple[str, int, int, tuple[tuple[str, float], ...]], ...] = ()
    reason: str | None = None
    device: str | None = None


def microseconds(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def is_device_id(value: object) -> bool:
    """keys.is_safe_device_id as documented: letters, digits, '-', '_', '.', not starting with '.', no '..',
    1 to 64 characters; and not a reserved name."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 64
        and set(value) <= DEVICE_ID_CHARACTERS
        and not value.startswith(".")
        and ".." not in value
        and value not in RESERVED_IDS
    )


def check_time(ms: float, now_ms: int) -> None:
    if ms < MIN_TIME_MS:
        raise Rejected("timestamp_too_old")
    if ms > now_ms + ONE_DAY_MS:
        raise Rejected("timestamp_in_future")


def checked_number(field: str, value: float | int) -> float | None:
    """A number for `field`, checked against the limits; None for a -1 counter (not available)."""
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float is outside every limit
        raise Rejected("impossible_value") from None
    if math.isnan(number) or math.isinf(number):
        raise Rejected("non_finite_value")
    if field in COUNTERS and number == -1:
        return None
    low, high = LIMITS[field]
    if not low <= number <= high:
        raise Rejected("impossible_value")
    return number


def checked_json_value(field: str, value: object) -> float | None:
    """A JSON field value: a number (not a boolean), else wrong_type."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected("wrong_type")
    return checked_number(field, value)


def checked_text(field: str, text: str) -> float | None:
    """A Gen1 text value: a decimal number (`123.45`, `-1`, `1e3`; not `abc`, empty, `1_000`, `0x10`)."""
    text = text.strip()
    if text.lstrip("+-").lower() in ("nan", "inf", "infinity"):
        raise Rejected("non_finite_value")
    if not text or not set(text) <= set("0123456789+-.eE"):
        raise Rejected("non_numeric_value")
    try:
        number = float(text)
    except ValueError:
        raise Rejected("non_numeric_value") from None
    return checked_number(field, number)


def json_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((json_depth(child) for child in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(child) for child in value), default=0)
    return 0


@dataclass(frozen=True)
class Payload:
    """The payload of an envelope: exactly one of text, base64 or an embedded JSON value."""

    text: str | None = None
    b64: str | None = None
    value: Any = None
    embedded: bool = False

    def raw_bytes(self) -> bytes:
        """The published bytes of a text or base64 payload (malformed_envelope: invalid base64)."""
        if self.b64 is not None:
            if len(self.b64) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:  # too long to hold 64 KiB: oversized, not decoded
                raise Rejected("oversized_payload")
            try:
                data = base64.b64decode(self.b64, validate=True)
            except (binascii.Error, ValueError):
                raise Rejected("malformed_envelope") from None
        else:
            assert self.text is not None
            data = self.text.encode("utf-8")
        if len(data) > MAX_PAYLOAD_BYTES:
            raise Rejected("oversized_payload")
        return data

    def json_object(self) -> dict[str, Any]:
        """The payload of a JSON topic as an object (parsed from text or bytes, or the embedded value)."""
        if self.embedded:
            value = self.value
            if len(json.dumps(value, separators=(",", ":")).encode("utf-8")) > MAX_PAYLOAD_BYTES:
                raise Rejected("oversized_payload")  # a payload over 64 KiB, whatever its form (see the end)
        else:
            try:
                value = json.loads(self.raw_bytes().decode("utf-8"))
                json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates are not UTF-8 either
            except RecursionError:
                raise Rejected("too_deep") from None
            except (UnicodeError, ValueError):
                raise Rejected("malformed_json") from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise Rejected("too_deep")
        if not isinstance(value, dict):
            raise Rejected("not_an_object")
        if "G" in value or "cit_s" in value:  # a CoIoT frame
            raise Rejected("unsupported_message")
        return value


def decode_gen1_scalar(topic: str, payload: Payload, received_ms: int) -> Decoded:
    """`shellies/<id>/emeter/<i>/<quantity>`: one reading of channel i at the receive time."""
    _root, device, _emeter, channel, quantity = topic.split("/")
    if not (1 <= len(channel) <= 2 and channel.isascii() and channel.isdigit()):
        raise Rejected("unknown_topic")  # <i> is one or two digits; any other shellies/ topic is unknown
    if quantity not in GEN1_TOPIC_FIELDS and quantity not in WATT_MINUTE_TOPICS:
        raise Rejected("unknown_topic")  # an unknown Gen1 emeter quantity (checked before the device: parser order)
    if not is_device_id(device):
        raise Rejected("bad_device_id")
    if quantity in WATT_MINUTE_TOPICS:
        raise Rejected("unsupported_message")
    field = GEN1_TOPIC_FIELDS[quantity]
    if payload.embedded:  # a JSON number the rule embedded; a boolean, object or array is wrong_type
        number = checked_json_value(field, payload.value)
    else:
        number = checked_text(field, payload.raw_bytes().decode("utf-8", "replace"))
    if number is None:
        raise Rejected("counter_unavailable")
    moment = datetime.fromtimestamp(received_ms / 1000, tz=UTC)
    return Decoded(readings=((device, int(channel), microseconds(moment), ((field, number),)),))


def component_channels(key: str) -> tuple[str, int] | None:
    """`em1:<n>` → ("em1", n) for the four meter kinds (n: 1 to 3 digits); None for any other component."""
    kind, colon, index = key.partition(":")
    if kind in METER_KINDS and colon and 1 <= len(index) <= 3 and index.isascii() and index.isdigit():
        return kind, int(index)
    return None


def component_fields(kind: str, index: int) -> dict[str, tuple[int, str]]:
    """Source field → (channel, Reading field) of one meter component."""
    if kind == "em1":
        return {source: (index, field) for source, field in EM1_FIELDS.items()}
    if kind == "em1data":
        return {source: (index, field) for source, field in EM1DATA_FIELDS.items()}
    mapping = EM1_FIELDS if kind == "em" else EM1DATA_FIELDS
    return {
        f"{phase}_{source}": (3 * index + offset, field)
        for offset, phase in enumerate("abc")
        for source, field in mapping.items()
    }


def decode_gen2_notification(topic: str, payload: Payload, received_ms: int, now_ms: int) -> Decoded:
    """`<prefix>/events/rpc`: NotifyStatus / NotifyFullStatus, the device is the prefix, time `params.ts`."""
    prefix = topic.removesuffix("/events/rpc")
    frame = payload.json_object()  # the payload is read before the prefix is checked (parser order)
    if not is_device_id(prefix):
        raise Rejected("bad_device_id")
    src = frame.get("src")
    if src is not None and src != prefix:
        raise Rejected("device_mismatch" if is_device_id(src) else "bad_device_id")
    if frame.get("method") not in ("NotifyStatus", "NotifyFullStatus"):
        raise Rejected("unsupported_message")
    params = frame.get("params")
    if not isinstance(params, dict):
        raise Rejected("wrong_type")
    ts = params.get("ts")
    if ts is None:
        moment = datetime.fromtimestamp(received_ms / 1000, tz=UTC)
    elif isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise Rejected("wrong_type")
    elif isinstance(ts, float) and not math.isfinite(ts):
        raise Rejected("non_finite_value")
    else:
        try:
            ts_ms = float(ts) * 1000
        except OverflowError:  # an integer beyond any float: the far future, or the far past
            ts_ms = math.inf if ts > 0 else -math.inf
        check_time(ts_ms, now_ms)
        moment = datetime.fromtimestamp(ts, tz=UTC)

    channels: dict[int, dict[str, float]] = {}
    meters = 0
    unavailable = 0
    for key, body in params.items():
        found = component_channels(key)
        if found is None:
            continue  # switch:0, sys, wifi, ts… are ignored
        if not isinstance(body, dict):
            raise Rejected("wrong_type")
        meters += 1
        fields = component_fields(*found)
        for source, value in body.items():
            if source not in fields or value is None:  # unread fields are not checked; null = not carried
                continue
            channel, field = fields[source]
            number = checked_json_value(field, value)
            if number is None:
                unavailable += 1
            else:
                channels.setdefault(channel, {})[field] = number
    if meters == 0:
        raise Rejected("unsupported_message")
    if not channels:
        raise Rejected("counter_unavailable" if unavailable else "no_readings")
    when = microseconds(moment)
    return Decoded(
        readings=tuple(
            (prefix, channel, when, tuple(sorted(values.items()))) for channel, values in sorted(channels.items())
        )
    )


def reference_decode(line: str, *, now_ms: int = NOW_MS, read_as_line: bool = True) -> Decoded:
    """One envelope line of the two families → readings or a quarantine reason, by the documented rules.

    `read_as_line`: the line is JSON read as a whole (`parse_line`), so an embedded payload nesting too deep is
    found while reading it, before the receive time is checked; `parse_envelope` gets the envelope already read.
    """
    topic_read = False
    topic = ""
    try:
        if read_as_line and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            raise Rejected("oversized_payload")  # an envelope line over the limit is not read
        try:
            envelope = json.loads(line)
        except (ValueError, RecursionError):
            raise Rejected("malformed_envelope") from None
        if read_as_line and json_depth(envelope) > MAX_JSON_DEPTH + 1:  # the envelope object holds the payload
            raise Rejected("too_deep")
        if not isinstance(envelope, dict):
            raise Rejected("malformed_envelope")
        topic = envelope.get("topic")
        received_ms = envelope.get("received_ms")
        text_or_value = envelope.get("payload")  # a JSON null counts as no payload
        b64 = envelope.get("payload_b64")
        if not isinstance(topic, str):
            raise Rejected("malformed_envelope")
        if isinstance(received_ms, float) and received_ms.is_integer():
            received_ms = int(received_ms)  # JSON has one number type: 1.7e12 is an integer
        if isinstance(received_ms, bool) or not isinstance(received_ms, int):
            raise Rejected("malformed_envelope")
        if (text_or_value is None) == (b64 is None) or (b64 is not None and not isinstance(b64, str)):
            raise Rejected("malformed_envelope")
        if b64 is not None:
            payload = Payload(b64=b64)
        elif isinstance(text_or_value, str):
            payload = Payload(text=text_or_value)
        else:
            payload = Payload(value=text_or_value, embedded=True)
        topic_read = True
        check_time(received_ms, now_ms)  # the receive time first, then the topic and the payload
        parts = topic.split("/")
        if len(parts) == 5 and parts[0] == "shellies" and parts[2] == "emeter":
            return decode_gen1_scalar(topic, payload, received_ms)
        if topic.endswith("/events/rpc") and not (parts[0] == "shellies" and len(parts) >= 5):
            return decode_gen2_notification(topic, payload, received_ms, now_ms)
        raise AssertionError(f"the reference decodes only the two families, not {topic!r}")
    except Rejected as rejected:
        # A rejected record names the device the topic names (Gen1: `shellies/<id>/…`, Gen2: `<id>/…`), except
        # for bad_device_id, and except when the line is no envelope (its topic is not read).
        if rejected.reason == "bad_device_id" or not topic_read:
            return Decoded(reason=rejected.reason)
        parts = topic.split("/")
        named = parts[1] if parts[0] == "shellies" and len(parts) > 1 else parts[0]
        return Decoded(reason=rejected.reason, device=named if is_device_id(named) else None)


def parser_decoded(outcome: ParseOutcome) -> Decoded:
    if outcome.quarantined is not None:
        assert not outcome.readings
        return Decoded(reason=outcome.quarantined.reason.value, device=outcome.quarantined.device_id)
    readings = []
    for reading in outcome.readings:
        values = {
            name: value
            for name, value in reading.model_dump(
                exclude={"device_id", "channel", "ts", "received_ms", "generation"}
            ).items()
            if value is not None
        }
        assert reading.channel is not None
        readings.append((reading.device_id, reading.channel, microseconds(reading.ts), tuple(sorted(values.items()))))
    return Decoded(readings=tuple(sorted(readings, key=lambda r: r[1])))


def envelope_line(topic: str, received_ms: Any, payload: Payload, **extra: Any) -> str:
    body: dict[str, Any] = {"topic": topic, "received_ms": received_ms, **extra}
    if payload.b64 is not None:
        body["payload_b64"] = payload.b64
    elif payload.text is not None:
        body["payload"] = payload.text
    else:
        body["payload"] = payload.value
    return json.dumps(body, allow_nan=True)


def assert_agrees(line: str) -> None:
    """The parser decodes the line (and, when it is a valid Envelope, the envelope) as the reference does."""
    expected = reference_decode(line)
    # with a Gen2State too (the fast path and the overlay run; readings do not depend on the state)
    assert parser_decoded(parse_line(line, now_ms=NOW_MS, state=Gen2State())) == expected, line[:2000]
    assert parser_decoded(parse_line(line.encode("utf-8"), now_ms=NOW_MS)) == expected, line[:2000]
    envelope = json.loads(line)
    if isinstance(envelope.get("received_ms"), int) and not isinstance(envelope.get("received_ms"), bool):
        try:
            model = Envelope.model_validate(envelope)
        except ValueError:
            return  # not an Envelope (no payload, both payloads, a non-string topic): parse_line's business
        as_envelope = reference_decode(line, read_as_line=False)
        assert parser_decoded(parse_envelope(model, now_ms=NOW_MS)) == as_envelope, line[:2000]


# ---------------------------------------------------------------------------------------------------------------
# Real-shaped messages

GEN1_DEVICE = "shellyem-123456789012"
GEN2_DEVICE = "shellyproem50-08f9e0e67204"
OTHER_DEVICE = "shelly3em63g3-48f6eead1a8c"
BAD_IDS = ["", "bad..id", ".hidden", "x" * 65, "dev\n", "a b", "dév", "shellies", "_invalid", "a/b"]
GOOD_RECEIVED = [RECEIVED_MS, RECEIVED_MS - 4_000, RECEIVED_MS + 7]
ODD_RECEIVED: list[Any] = [
    *[MIN_TIME_MS - 1, MIN_TIME_MS, NOW_MS + ONE_DAY_MS, NOW_MS + ONE_DAY_MS + 1, 0, 10**400, -(10**400)],  # window
    *[float(RECEIVED_MS), RECEIVED_MS + 0.5, str(RECEIVED_MS), True, None],  # a JSON integer or not
]


def real_meter_components() -> list[tuple[str, dict[str, Any]]]:
    """Every em / em1 / emdata / em1data component body of the real payloads (status snapshots, RPC bodies)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for record in load_records():
        body = record["payload"]
        if not isinstance(body, dict):
            continue
        if record["category"] == "rpc_component_status":
            found.append((f"em1:{body['id']}", body))
        if record["category"] == "device_log_status_change":
            found.append(("em:0", body))
        container = body.get("result", body) if isinstance(body.get("result"), dict) else body
        found.extend((key, value) for key, value in container.items() if component_channels(key) is not None)
    return found


REAL_COMPONENTS = real_meter_components()
REAL_GEN1 = [
    (record["topic"], record["raw_text"])
    for record in load_records()
    if record["category"] == "mqtt_gen1" and "/emeter/" in (record["topic"] or "")
]

GEN1_TEXTS = [
    *["0", "0.00", "-0", "1", "-1", "-1.0", "-1e0", "-1.5", "0.5", "1.0000001", "-1.0000001", "230.1"],  # -1, pf
    *["499.99", "500", "500.01", "1000", "1000.001", "100000", "100000.01", "-100000", "-100000.5"],  # V, A, W
    *["1e12", "1000000000001", "1" * 400, "1e400", "-1e400"],  # counters, overflow
    *["nan", "NaN", "-nan", "inf", "-Infinity", "+inf", "infinity "],  # not finite
    *["abc", "", " ", "1_000", "0x10", "12,5", "e5", "--1", "1e", ".", "true", "null", "{}", '"12"', "١٢", "1 2"],
    *["+5", ".5", "5.", "1e5", "  12.5  ", "\t7\n", "\u00a012.5", "12.5\x00"],  # odd but decimal (or not)
]
EMBEDDED_VALUES: list[Any] = [0, 1, -1, -1.0, 12.5, 500.5, 10**12, 10**400, -(10**400), True, False, {"v": 1}, [1]]
FIELD_VALUES: list[Any] = [
    *[0, 0.0, -0.0, 1, -1, -1.0, 0.5, -0.5, -1.0000001, 1.0000001, 49.9, 50, 100, 100.01],  # -1, pf, Hz
    *[230.1, 500, 500.01, 999.9, 1000, 1000.5, 100_000, 100_000.5, -100_000, -100_001],  # V, A, W
    *[10**12, 10**12 + 1, 10**20, 10**400, -(10**400)],  # counters, integers beyond a float
    *[float("nan"), float("inf"), float("-inf")],  # NaN, Infinity, -Infinity literals
    *[None, True, False, "12.5", "", "nan", [], [1.5], {"v": 1.5}, {"a": {"b": [1]}}],  # not numbers
]
ODD_TS: list[Any] = [
    *[None, "1795777140", True, False, [1], {"s": 1}],  # absent, or not a number
    *[0, MIN_TIME_MS / 1000 - 0.001, MIN_TIME_MS / 1000, (NOW_MS + ONE_DAY_MS) / 1000],  # the window's edges
    *[(NOW_MS + ONE_DAY_MS) / 1000 + 0.01, RECEIVED_MS, 1e20, 10**400],  # the future (RECEIVED_MS: ms as seconds)
    *[float("nan"), float("inf")],
]
EXTRA_FIELDS = ["id", "errors", "flags", "total_act_power", "total_act", "n_current", "a_act_powerx", "calibration"]
OTHER_COMPONENTS = ["switch:0", "sys", "wifi", "temperature:0", "em2:0", "EM1:0", "em1:1000", "em1:", "em1data:x"]
METER_KEYS = ["em1:0", "em1:1", "em1:2", "em1:00", "em1:01", "em1data:0", "em1data:1", "em:0", "em:1", "emdata:0"]


def nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def known_fields(key: str) -> list[str]:
    found = component_channels(key)
    return list(component_fields(*found)) if found else list(EM1_FIELDS)


def bad_b64(draw: st.DrawFn, good: str) -> str:
    """A corruption of a base64 text that `b64decode(validate=True)` refuses, or a near miss it accepts."""
    kind = draw(st.integers(0, 6))
    cut = draw(st.integers(0, len(good)))
    if kind == 0:
        return good[:cut] + draw(st.sampled_from(["!", "*", " ", "\n", "-", "_", "é", "="])) + good[cut:]
    if kind == 1:
        return good[:-1] if good else "="
    if kind == 2:
        return good.rstrip("=")
    if kind == 3:
        return good + "=="
    if kind == 4:
        return "=" + good
    if kind == 5:
        return base64.urlsafe_b64encode(base64.b64decode(good) + b"\xfb\xff").decode()
    return base64.b64encode(draw(st.binary(max_size=12))).decode()


def payload_forms(draw: st.DrawFn, text: str, value: Any) -> Payload:
    """The payload in one of the envelope forms: text, base64 of its UTF-8 bytes (maybe corrupted), or embedded."""
    form = draw(st.sampled_from(["text", "text", "b64", "b64", "b64", "embedded", "embedded", "bad_b64"]))
    if form == "text":
        return Payload(text=text)
    good = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if form == "b64":
        return Payload(b64=good)
    if form == "bad_b64":
        return Payload(b64=bad_b64(draw, good))
    return Payload(value=value, embedded=True)


@st.composite
def gen1_lines(draw: st.DrawFn) -> str:
    """A Gen1 emeter scalar message, as real ones are (fixture p045-p080), with one to three things changed."""
    topic, text = draw(st.sampled_from(REAL_GEN1))
    _root, device, _emeter, channel, quantity = topic.split("/")
    received_ms: Any = draw(st.sampled_from(GOOD_RECEIVED))
    value: Any = float(text)
    extra: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.integers(0, 9))
        if mutation == 0:
            device = draw(st.sampled_from([*BAD_IDS[:-1], GEN1_DEVICE]))
        elif mutation == 1:
            channel = draw(st.sampled_from(["0", "1", "2", "10", "99", "01", "100", "", "a", "٣", "-1"]))
        elif mutation == 2:
            quantity = draw(st.sampled_from([*GEN1_TOPIC_FIELDS, *WATT_MINUTE_TOPICS, "Power", "powerx", "status"]))
        elif mutation == 3:
            received_ms = draw(st.sampled_from(ODD_RECEIVED))
        elif mutation in (4, 5, 6):
            text = draw(st.sampled_from(GEN1_TEXTS))
            value = draw(st.sampled_from(EMBEDDED_VALUES))
        elif mutation == 7:
            number = draw(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**15), 10**15))
            text, value = repr(number), number
        elif mutation == 8:
            text = draw(st.text(alphabet="0123456789+-.eE nai", max_size=8))
        else:
            extra = {"qos": 1, "payload_b64" if draw(st.booleans()) else "retain": "MQ=="}
    payload = payload_forms(draw, text, value)
    return envelope_line(f"shellies/{device}/emeter/{channel}/{quantity}", received_ms, payload, **extra)


@st.composite
def gen2_lines(draw: st.DrawFn) -> str:
    """A Gen2 NotifyStatus / NotifyFullStatus built from real meter components, with mutations."""
    device = GEN2_DEVICE
    components = draw(st.lists(st.sampled_from(REAL_COMPONENTS), min_size=1, max_size=3))
    params: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        params["ts"] = draw(st.sampled_from([RECEIVED_MS / 1000 - 0.25, RECEIVED_MS // 1000, 1788945292.88]))
    for key, body in components:
        body = dict(body)
        if draw(st.booleans()):  # a NotifyStatus delta: only some fields
            keep = draw(st.sets(st.sampled_from(sorted(body)), min_size=1))
            body = {name: value for name, value in body.items() if name in keep}
        params[key] = body
    frame: dict[str, Any] = {
        "src": device,
        "dst": f"{device}/events",
        "method": draw(st.sampled_from(["NotifyStatus", "NotifyFullStatus"])),
        "params": params,
    }
    received_ms: Any = draw(st.sampled_from(GOOD_RECEIVED))
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.integers(0, 13))
        key = draw(st.sampled_from(sorted(k for k in params if k != "ts") or ["em1:0"]))
        component = params.get(key)
        if mutation in (0, 1, 2, 3) and isinstance(component, dict):
            component[draw(st.sampled_from(known_fields(key)))] = draw(
                st.sampled_from(FIELD_VALUES) | st.floats(-2000, 2000) | st.integers(-5, 2000)
            )
        elif mutation == 4 and isinstance(component, dict):
            component[draw(st.sampled_from(EXTRA_FIELDS))] = draw(st.sampled_from(FIELD_VALUES))
        elif mutation == 5:
            params[draw(st.sampled_from(METER_KEYS + OTHER_COMPONENTS))] = draw(
                st.sampled_from([{}, {"id": 0}, {"act_power": None}, {"errors": ["ct_type_not_set"]}])
                | st.sampled_from([None, 5, "on", [], {"act_power": 3.5}, {"a_act_power": -1, "b_voltage": 230}])
            )
        elif mutation == 6:
            params.pop(key, None)
        elif mutation == 7:
            params["ts"] = draw(st.sampled_from(ODD_TS))
        elif mutation == 8:
            frame["src"] = draw(st.sampled_from([OTHER_DEVICE, None, 5, *BAD_IDS]))
        elif mutation == 9:
            frame["method"] = draw(st.sampled_from(["NotifyEvent", "notifystatus", None, 5, "Shelly.GetStatus"]))
        elif mutation == 10:
            frame["params"] = draw(st.sampled_from([None, [], "p", 3]))
        elif mutation == 11:
            frame[draw(st.sampled_from(["G", "cit_s", "flags"]))] = draw(st.sampled_from([1, nested(34), "x"]))
        elif mutation == 12:
            params["flags"] = nested(draw(st.integers(28, 36)))
        else:
            received_ms = draw(st.sampled_from(ODD_RECEIVED))
    if draw(st.integers(0, 7)) == 0:
        device = draw(st.sampled_from([OTHER_DEVICE, *BAD_IDS]))
    text = json.dumps(frame, allow_nan=True)
    if draw(st.integers(0, 12)) == 0:
        text = draw(st.sampled_from(["", "{", "[]", "5", '"x"', "null", "{}", "nan", '{"src": "\\ud800"}']))
    payload = payload_forms(draw, text, frame)
    return envelope_line(f"{device}/events/rpc", received_ms, payload)


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_the_reference_decodes_a_plain_gen1_power_message() -> None:
    # Given a Gen1 power message as the rule stores it
    line = envelope_line(f"shellies/{GEN1_DEVICE}/emeter/1/power", RECEIVED_MS, Payload(b64="MTIuNQ=="))
    # When the reference decodes it
    decoded = reference_decode(line)
    # Then it is one reading of channel 1 at the receive time
    assert decoded == Decoded(readings=((GEN1_DEVICE, 1, RECEIVED_MS * 1000, (("power_w", 12.5),)),))


def test_the_reference_decodes_a_triphase_notify_status_into_three_channels() -> None:
    # Given a NotifyStatus with em:1 (phases a, b, c) and a -1 counter in emdata:1
    frame = {
        "src": GEN2_DEVICE,
        "method": "NotifyStatus",
        "params": {
            "ts": 1795777140.5,
            "em:1": {"a_act_power": 5, "b_voltage": 230.5, "c_current": None, "total_act_power": 5},
            "emdata:1": {"c_total_act_energy": -1},
        },
    }
    line = envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, Payload(text=json.dumps(frame)))
    # When the reference decodes it
    decoded = reference_decode(line)
    # Then phase a is channel 3 and phase b channel 4, at params.ts; the -1 counter and the null are dropped
    when = 1795777140_500_000
    assert decoded == Decoded(
        readings=((GEN2_DEVICE, 3, when, (("power_w", 5.0),)), (GEN2_DEVICE, 4, when, (("voltage_v", 230.5),)))
    )


@pytest.mark.parametrize(("topic", "text"), REAL_GEN1, ids=[t for t, _ in REAL_GEN1])
def test_every_real_gen1_emeter_message_decodes_as_the_reference_says(topic: str, text: str) -> None:
    # Given a real Gen1 emeter message, as text and as payload_b64
    for payload in (Payload(text=text), Payload(b64=base64.b64encode(text.encode()).decode())):
        # When the parser and the reference decode it / Then they agree, and it gives a reading
        line = envelope_line(topic, RECEIVED_MS, payload)
        assert_agrees(line)
        assert reference_decode(line).readings


@pytest.mark.parametrize(("key", "body"), REAL_COMPONENTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(REAL_COMPONENTS)])
def test_every_real_meter_component_in_a_notify_status_decodes_as_the_reference_says(
    key: str, body: dict[str, Any]
) -> None:
    # Given a real meter component in a NotifyStatus and in a NotifyFullStatus
    for method in ("NotifyStatus", "NotifyFullStatus"):
        frame = {"src": GEN2_DEVICE, "method": method, "params": {"ts": 1795777140.25, key: body}}
        text = json.dumps(frame)
        # When the parser and the reference decode it (text and base64) / Then they agree
        assert_agrees(envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, Payload(text=text)))
        assert_agrees(
            envelope_line(
                f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, Payload(b64=base64.b64encode(text.encode()).decode())
            )
        )


def forms(text: str, value: Any) -> list[Payload]:
    """The envelope forms of one payload: text, base64 of its bytes, and (JSON topics, numbers) embedded."""
    return [
        Payload(text=text),
        Payload(b64=base64.b64encode(text.encode("utf-8")).decode("ascii")),
        Payload(value=value, embedded=True),
    ]


def test_every_odd_gen1_text_and_value_on_every_quantity_decodes_as_the_reference_says() -> None:
    # Given every quantity with every boundary and odd text (and embedded JSON value), in every envelope form
    for quantity in [*GEN1_TOPIC_FIELDS, *WATT_MINUTE_TOPICS]:
        topic = f"shellies/{GEN1_DEVICE}/emeter/0/{quantity}"
        for text, value in zip(GEN1_TEXTS, EMBEDDED_VALUES * 5, strict=False):
            for payload in forms(text, value):
                # When parsed / Then as the reference decodes it
                assert_agrees(envelope_line(topic, RECEIVED_MS, payload))


def test_every_odd_value_in_every_meter_field_decodes_as_the_reference_says() -> None:
    # Given every read field of every meter component kind holding every boundary and odd value, next to a good one
    for key in ("em1:1", "em1data:0", "em:1", "emdata:0"):
        fields = known_fields(key)
        for field in [name for name in fields if name[:2] not in ("b_", "c_")] + ["b_voltage", "c_total_act_energy"]:
            if field not in fields:
                continue
            for value in FIELD_VALUES:
                good = fields[0] if field != fields[0] else fields[-1]
                params = {"ts": RECEIVED_MS / 1000, key: {"id": 0, good: 1, field: value}}
                frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": params}
                for payload in forms(json.dumps(frame, allow_nan=True), frame):
                    # When parsed / Then as the reference decodes it
                    assert_agrees(envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, payload))
                params = {key: {field: value}}  # the value alone
                frame = {"src": GEN2_DEVICE, "method": "NotifyFullStatus", "params": params}
                assert_agrees(envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, forms(json.dumps(frame), {})[1]))


def test_every_odd_time_decodes_as_the_reference_says() -> None:
    # Given a good Gen2 frame with every odd params.ts, and good messages with every odd receive time
    for ts in ODD_TS:
        frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"ts": ts, "em1:0": {"act_power": 2}}}
        for payload in forms(json.dumps(frame, allow_nan=True), frame):
            assert_agrees(envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, payload))
    for received_ms in ODD_RECEIVED:
        frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"em1:0": {"act_power": 2}}}
        for payload in forms(json.dumps(frame), frame):
            assert_agrees(envelope_line(f"{GEN2_DEVICE}/events/rpc", received_ms, payload))
        for payload in forms("12.5", 12.5):
            assert_agrees(envelope_line(f"shellies/{GEN1_DEVICE}/emeter/0/power", received_ms, payload))


@PROPERTY
@given(line=gen1_lines())
@example(line=envelope_line(f"shellies/{GEN1_DEVICE}/emeter/0/total", RECEIVED_MS, Payload(text="-1")))
@example(line=envelope_line(f"shellies/{GEN1_DEVICE}/emeter/0/power", RECEIVED_MS, Payload(text="1" * 400)))
@example(line=envelope_line(f"shellies/{GEN1_DEVICE}/emeter/0/power", RECEIVED_MS, Payload(value=True, embedded=True)))
@example(line=envelope_line(f"shellies/{GEN1_DEVICE}/emeter/0/pf", RECEIVED_MS, Payload(value=10**400, embedded=True)))
def test_gen1_scalar_messages_decode_as_the_documented_rules_say(line: str) -> None:
    # Given a real-shaped Gen1 emeter message, perhaps mutated / When parsed / Then as the reference decodes it
    assert_agrees(line)


@PROPERTY
@given(line=gen2_lines())
@example(line=envelope_line(f"{GEN2_DEVICE}/events/rpc", RECEIVED_MS, Payload(text='{"src": "\\ud800"}')))
def test_gen2_notifications_decode_as_the_documented_rules_say(line: str) -> None:
    # Given a real-shaped Gen2 notification, perhaps mutated / When parsed / Then as the reference decodes it
    assert_agrees(line)


# ---------------------------------------------------------------------------------------------------------------
# Where the parser contradicts its own documentation (found by this reference; the parser is left unchanged).
# strict: each turns into a failure the day the parser follows the documentation (then drop the mark).

GEN2_TOPIC = f"{GEN2_DEVICE}/events/rpc"


def test_a_hugely_negative_integer_ts_is_too_old() -> None:
    # Given a NotifyStatus whose params.ts is -10**400 (before 2015, beyond any float)
    frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"ts": -(10**400), "em1:0": {"act_power": 2}}}
    line = envelope_line(GEN2_TOPIC, RECEIVED_MS, Payload(text=json.dumps(frame)))
    # When parsed / Then it is timestamp_too_old, as documented
    assert reference_decode(line).reason == "timestamp_too_old"
    assert parser_decoded(parse_line(line, now_ms=NOW_MS)) == reference_decode(line)


def test_an_embedded_json_payload_over_64_kib_is_oversized() -> None:
    # Given a NotifyStatus embedded as JSON in the envelope, 70 KB once serialised (within the envelope line limit)
    frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"em1:0": {"act_power": 2}}, "pad": "x" * 70_000}
    line = envelope_line(GEN2_TOPIC, RECEIVED_MS, Payload(value=frame, embedded=True))
    # When parsed / Then it is oversized_payload, as the same payload as text or base64 is
    assert reference_decode(line).reason == "oversized_payload"
    assert parser_decoded(parse_line(line, now_ms=NOW_MS)) == reference_decode(line)


def test_the_same_oversized_payload_as_text_or_base64_is_oversized() -> None:
    # Given the 70 KB NotifyStatus as text and as base64
    frame = {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"em1:0": {"act_power": 2}}, "pad": "x" * 70_000}
    text = json.dumps(frame)
    for payload in (Payload(text=text), Payload(b64=base64.b64encode(text.encode()).decode())):
        # When parsed / Then oversized_payload, by the parser and the reference alike
        assert_agrees(envelope_line(GEN2_TOPIC, RECEIVED_MS, payload))
        assert reference_decode(envelope_line(GEN2_TOPIC, RECEIVED_MS, payload)).reason == "oversized_payload"


def test_oversized_lines_and_base64_too_long_to_hold_64_kib_are_oversized_unread() -> None:
    gen1_topic = f"shellies/{GEN1_DEVICE}/emeter/0/power"
    lines = [
        envelope_line(gen1_topic, RECEIVED_MS, Payload(b64="!" * 90_000)),  # invalid, but its length says enough
        envelope_line(gen1_topic, RECEIVED_MS, Payload(b64=base64.b64encode(b" " * 65_536 + b"1").decode())),
        envelope_line(gen1_topic, RECEIVED_MS, Payload(text=" " * 65_536 + "1")),
        envelope_line(gen1_topic, RECEIVED_MS, Payload(text="1"), pad="\u0001" * 70_000),  # a line over the limit
    ]
    for line in lines:
        assert reference_decode(line).reason == "oversized_payload"
        assert_agrees(line)
