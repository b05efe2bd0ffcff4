"""Gen2+ (Pro, Gen3, Gen4) meters: JSON-RPC notifications, `status/<component>` topics, RPC responses."""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from typing import Any, Final, cast

from pydantic_core import from_json

from wattline.models import Generation, QuarantineReason, Reading
from wattline.parsing import limits
from wattline.parsing._common import (
    _SAFE_IDS,
    FieldSpec,
    Reject,
    check_device_id,
    field_specs,
    make_reading,
    read_component,
    ts_from_ms,
    ts_from_seconds,
)
from wattline.parsing.state import Gen2State

METER_COMPONENT_RE: Final = re.compile(r"(em1data|em1|emdata|em):([0-9]{1,3})")

# Monophase `em1:<n>` → channel n.
EM1_FIELDS: Final = {
    "act_power": "power_w",
    "aprt_power": "apparent_power_va",
    "voltage": "voltage_v",
    "current": "current_a",
    "pf": "pf",
    "freq": "freq_hz",
}
# `em1data:<n>` → channel n (Wh).
EM1DATA_FIELDS: Final = {
    "total_act_energy": "energy_total_wh",
    "total_act_ret_energy": "energy_returned_total_wh",
}
PHASES: Final = ("a", "b", "c")
# Triphase `em:<n>` / `emdata:<n>`: phase a/b/c → channel 3n + 0/1/2. `total_*` and `n_current` are not read.
EM_FIELDS: Final = {f"{p}_{src}": (i, dst) for i, p in enumerate(PHASES) for src, dst in EM1_FIELDS.items()}
EMDATA_FIELDS: Final = {f"{p}_{src}": (i, dst) for i, p in enumerate(PHASES) for src, dst in EM1DATA_FIELDS.items()}

# Component kind → (field specs, channels per component index).
_SPECS: Final[dict[str, tuple[dict[str, FieldSpec], int]]] = {
    "em1": (field_specs({src: (0, dst) for src, dst in EM1_FIELDS.items()}), 1),
    "em1data": (field_specs({src: (0, dst) for src, dst in EM1DATA_FIELDS.items()}), 1),
    "em": (field_specs(EM_FIELDS), len(PHASES)),
    "emdata": (field_specs(EMDATA_FIELDS), len(PHASES)),
}

NOTIFY_STATUS: Final = "NotifyStatus"
NOTIFY_FULL_STATUS: Final = "NotifyFullStatus"


def parse_events_rpc(
    prefix: str, body: dict[str, Any], received_ms: int, now_ms: int, state: Gen2State | None
) -> list[Reading]:
    """`<prefix>/events/rpc`: NotifyStatus (changed fields only) or NotifyFullStatus. Device id: the topic prefix,
    as the IoT policy enforces (a device publishes only under its own thing name); a `src` naming another device is
    device_mismatch."""
    device_id = check_device_id(prefix, "topic prefix")
    src = body.get("src")
    if src is not None and src != device_id:
        check_device_id(src, "src")  # an unsafe src is a bad device id first
        detail = f"src {src!r} is not {device_id!r}, the device its topic names"
        raise Reject(QuarantineReason.DEVICE_MISMATCH, detail, device_id)
    method = body.get("method")
    if method not in (NOTIFY_STATUS, NOTIFY_FULL_STATUS):
        shown = method if isinstance(method, str) else type(method).__name__
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"RPC notification {str(shown)[:60]!r}", device_id)
    params = body.get("params")
    if not isinstance(params, dict):
        raise Reject(QuarantineReason.WRONG_TYPE, "params: expected an object", device_id)
    raw_ts = params.get("ts")
    if raw_ts is None:
        ts, ts_ms = ts_from_ms(received_ms), float(received_ms)
    else:
        ts, ts_ms = ts_from_seconds(raw_ts, now_ms)
    return _component_readings(device_id, params, ts, ts_ms, received_ms, state, full=method == NOTIFY_FULL_STATUS)


def parse_status_topic(
    prefix: str, component: str, body: dict[str, Any], received_ms: int, state: Gen2State | None
) -> list[Reading]:
    """`<prefix>/status/<component>`: the full status of one component, no `ts`. Device id: the topic prefix."""
    device_id = check_device_id(prefix, "topic prefix")
    if not METER_COMPONENT_RE.fullmatch(component):
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"status of {component[:40]!r}, not a meter", device_id)
    ts = ts_from_ms(received_ms)
    return _component_readings(device_id, {component: body}, ts, float(received_ms), received_ms, state, full=True)


def parse_rpc_frame(prefix: str, body: dict[str, Any], received_ms: int, state: Gen2State | None) -> list[Reading]:
    """`<client>/rpc`: a `Shelly.GetStatus` response (`result` holds components). Device id: `src` (required)."""
    src = body.get("src")
    result = body.get("result")
    if not isinstance(result, dict):
        kind = "an RPC error" if "error" in body else "an RPC request" if "method" in body else "no result object"
        device_id = src if isinstance(src, str) else None
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"{kind} on an rpc topic", device_id)
    device_id = check_device_id(src, "src")
    ts = ts_from_ms(received_ms)
    return _component_readings(device_id, result, ts, float(received_ms), received_ms, state, full=True)


def _component_readings(
    device_id: str,
    container: dict[str, Any],
    ts: datetime,
    ts_ms: float,
    received_ms: int,
    state: Gen2State | None,
    *,
    full: bool,
) -> list[Reading]:
    channels: dict[int, dict[str, float]] = {}
    unavailable: list[str] = []
    meters: list[tuple[str, dict[str, Any], list[str]]] = []
    errors: list[str] = []
    for key, body in container.items():
        if not isinstance(key, str) or not key.startswith("em"):
            continue
        match = METER_COMPONENT_RE.fullmatch(key)
        if match is None:
            continue
        if not isinstance(body, dict):
            raise Reject(QuarantineReason.WRONG_TYPE, f"{key}: expected an object", device_id)
        specs, width = _SPECS[match[1]]
        try:
            skipped = read_component(body, specs, width * int(match[2]), key, channels, unavailable)
        except Reject as exc:
            exc.device_id = device_id
            raise
        meters.append((key, body, skipped))
        component_errors = body.get("errors")
        if isinstance(component_errors, list):
            errors.extend(f"{key}: {e}" for e in component_errors if isinstance(e, str))
    if not meters:
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, "no meter component (em, em1, emdata, em1data)", device_id)
    if not channels:
        if unavailable:
            raise Reject(QuarantineReason.COUNTER_UNAVAILABLE, f"{', '.join(unavailable)} -1, nothing else", device_id)
        detail = "meter components carried no measured values"
        if errors:
            detail += f" (errors: {', '.join(errors)[:200]})"
        raise Reject(QuarantineReason.NO_READINGS, detail, device_id)
    if state is not None:
        for key, body, skipped in meters:
            fields = {k: v for k, v in body.items() if k not in skipped} if skipped else body
            state.apply(device_id, key, fields, ts_ms=ts_ms, full=full)
    return [
        make_reading(device_id, channel, ts, received_ms, Generation.GEN2, values)
        for channel, values in sorted(channels.items())
    ]


_EVENTS_RPC_SUFFIX: Final = "/events/rpc"
_GEN1_ROOT: Final = "shellies"
_METERS: dict[str, tuple[dict[str, FieldSpec], int] | None] = {}  # component key → (specs, first channel), or None
_METERS_MAX: Final = 4096
_MAX_B64_CHARS: Final = (limits.MAX_PAYLOAD_BYTES * 4) // 3 + 4

Gen2Fast = tuple[str, datetime, list[tuple[int, dict[str, float]]]]
"""A Gen2 message from the fast path: (device_id, ts, [(channel, values)] sorted by channel)."""


def meter_b64(topic: str, received_ms: int, payload_b64: str, now_ms: int, state: Gen2State | None) -> Gen2Fast | None:
    """The fast path for the common Gen2 messages: NotifyStatus / NotifyFullStatus on `<prefix>/events/rpc` and a
    full status on `<prefix>/status/<em component>`, whose meter components (em1, em1data, em, emdata) hold only
    numbers (and strings) that are all accepted.

    Returns (device_id, ts, [(channel, values)]) exactly when the general path (`parse_envelope` with this topic,
    receive time and `payload_b64`, no `payload`, the same `state`) gives readings, and then applies the message to
    `state` exactly as the general path does. Returns None, with `state` untouched, for anything else (a rejection,
    a -1 counter, a null, nested or boolean values, an unexpected exception): the caller then hands the message to
    the general path, which gives every rejection its reason. It repeats the general path's steps, in part by
    calling them (`check_device_id`, `ts_from_seconds`), in part inlined for the accepted inputs only (`_load` for
    `load_json_payload`, `_components` for `read_component`, `Gen2State.apply_flat` for `apply`), without the
    Reading and ParseOutcome objects: a change to those rules must be made here too. A property test compares both
    paths (outcomes and state) over real-shaped messages and mutations.
    """
    if received_ms < limits.MIN_TIMESTAMP_MS or received_ms > now_ms + limits.MAX_FUTURE_MS:
        return None
    if topic.split("/", 1)[0] == _GEN1_ROOT:  # `shellies/…` goes to the Gen1 dispatcher first
        return None
    try:
        if topic.endswith(_EVENTS_RPC_SUFFIX):
            return _events_rpc(topic[: -len(_EVENTS_RPC_SUFFIX)], received_ms, payload_b64, now_ms, state)
        if topic.endswith("/online"):
            return None
        pieces = topic.rsplit("/", 2)
        if len(pieces) == 3 and pieces[1] == "status" and pieces[2]:
            return _status(pieces[0], pieces[2], received_ms, payload_b64, state)
    except Reject:
        return None
    except Exception:  # the general path turns it into a parser_error record
        return None
    return None


def _load(payload_b64: str) -> dict[str, Any] | None:
    """`load_json_payload(None, payload_b64)` where it returns a shallow object; None where it would raise, or when
    the payload has more than `MAX_JSON_DEPTH` brackets (the general path then checks its depth)."""
    if len(payload_b64) > _MAX_B64_CHARS:
        return None
    try:  # what base64.b64decode(validate=True) does, without its wrapper (as in the Gen1 fast path)
        data = binascii.a2b_base64(payload_b64, strict_mode=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        return None
    if len(data) > limits.MAX_PAYLOAD_BYTES or data.count(b"{") + data.count(b"[") > limits.MAX_JSON_DEPTH:
        return None
    value = from_json(data)  # raises ValueError where `load_json_text` rejects: the caller returns None
    if value.__class__ is not dict or "G" in value or "cit_s" in value:
        return None
    return cast(dict[str, Any], value)


def _events_rpc(
    prefix: str, received_ms: int, payload_b64: str, now_ms: int, state: Gen2State | None
) -> Gen2Fast | None:
    """`parse_events_rpc` without Readings: None where it would raise."""
    body = _load(payload_b64)
    if body is None:
        return None
    device_id = prefix if prefix in _SAFE_IDS else check_device_id(prefix, "topic prefix")
    src = body.get("src")
    if src is not None and src != device_id:
        return None
    method = body.get("method")
    if method != NOTIFY_STATUS and method != NOTIFY_FULL_STATUS:
        return None
    params = body.get("params")
    if params.__class__ is not dict:
        return None
    raw_ts = params.get("ts")
    if raw_ts is None:
        ts, ts_ms = ts_from_ms(received_ms), float(received_ms)
    else:
        ts, ts_ms = ts_from_seconds(raw_ts, now_ms)
    return _components(device_id, params, ts, ts_ms, state, full=method == NOTIFY_FULL_STATUS)


def _status(
    prefix: str, component: str, received_ms: int, payload_b64: str, state: Gen2State | None
) -> Gen2Fast | None:
    """`parse_status_topic` without Readings: None where it would raise."""
    body = _load(payload_b64)
    if body is None:
        return None
    device_id = prefix if prefix in _SAFE_IDS else check_device_id(prefix, "topic prefix")
    if _meter(component) is None:
        return None
    return _components(device_id, {component: body}, ts_from_ms(received_ms), float(received_ms), state, full=True)


def _components(
    device_id: str, container: dict[str, Any], ts: datetime, ts_ms: float, state: Gen2State | None, *, full: bool
) -> Gen2Fast | None:
    """`_component_readings` for components of numbers and strings only, every number in bounds (so no -1 counter):
    the same channels and state; None for anything else. Inlines `read_component` for exactly these inputs."""
    channels: dict[int, dict[str, float]] = {}
    meters: list[tuple[str, dict[str, Any]]] = []
    for key, component in container.items():
        meter = _meter(key)
        if meter is None:
            continue
        if component.__class__ is not dict:
            return None
        specs, channel = meter
        for source, raw in component.items():
            cls = raw.__class__
            if cls is str:
                if source in specs:  # `read_component` rejects it (wrong type)
                    return None
                continue
            if cls is not float and cls is not int:  # bool, None, objects, arrays
                return None
            spec = specs.get(source)
            if spec is None:
                continue
            offset, field, low, high = spec
            value = float(raw)  # an int too large raises OverflowError: the general path rejects it
            if not low <= value <= high:  # also NaN, and a -1 counter (its lowest accepted value is 0)
                return None
            target = channels.get(channel + offset)
            if target is None:
                channels[channel + offset] = {field: value}
            else:
                target[field] = value
        meters.append((key, component))
    if not channels:
        return None
    if state is not None:  # nothing below can fail: the state changes only when readings are returned
        for key, component in meters:
            state.apply_flat(device_id, key, component, ts_ms=ts_ms, full=full)  # values: numbers and strings
    return device_id, ts, sorted(channels.items())


def _meter(key: object) -> tuple[dict[str, FieldSpec], int] | None:
    """What `_component_readings` makes of one key: (specs, first channel) for a meter component, else None."""
    if key in _METERS:
        return _METERS[key]
    meter = None
    if isinstance(key, str) and key.startswith("em"):
        match = METER_COMPONENT_RE.fullmatch(key)
        if match is not None:
            specs, width = _SPECS[match[1]]
            meter = specs, width * int(match[2])
        if len(_METERS) >= _METERS_MAX:
            _METERS.clear()
        _METERS[key] = meter
    return meter
