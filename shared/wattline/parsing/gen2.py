"""Gen2+ (Pro, Gen3, Gen4) meters: JSON-RPC notifications, `status/<component>` topics, RPC responses."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, cast

import msgspec

from wattline.models import Generation, QuarantineReason
from wattline.parsing import limits
from wattline.parsing._common import (
    FieldSpec,
    Reject,
    Row,
    check_device_id,
    field_specs,
    load_json_payload,
    payload_bytes,
    read_component,
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


def _typed_field(source: str, spec: FieldSpec) -> tuple[str, Any, None]:
    _offset, _field, low, high = spec
    return source, Annotated[float, msgspec.Meta(ge=low, le=high)] | None, None


# A meter component as the typed decoder reads it: every source field of every meter kind, as a number within the
# bounds of the Reading field it feeds (the same `_SPECS` table the rules read), or null; other fields ignored.
# A component this cannot hold (a string, boolean or -1 where a number belongs, a value out of bounds) makes the
# whole frame fall back to the general decoder, whose rules then read it as dicts and give the reason.
MeterComponent: Final = msgspec.defstruct(
    "MeterComponent",
    [
        *{
            source: _typed_field(source, spec) for specs, _w in _SPECS.values() for source, spec in specs.items()
        }.values(),
        ("errors", Any, None),
    ],
    gc=False,
)


class _NotifyFrame(msgspec.Struct, forbid_unknown_fields=True):
    """A JSON-RPC notification of meter components (`src`, `dst`, `method`, `params`); any other key (a CoIoT
    frame's `G`, an RPC `result`) or other value in `params` → the general decoder."""

    src: Any = None
    dst: Any = None
    method: Any = None
    params: dict[str, MeterComponent | float | None] | None = None  # type: ignore[valid-type]


_NOTIFY: Final = msgspec.json.Decoder(_NotifyFrame)


def decode_notification(payload: Any, payload_b64: str | None, *, with_state: bool) -> dict[str, Any]:
    """The body of an `events/rpc` payload for `parse_events_rpc`: typed (meter components as `MeterComponent`,
    their values already checked by msgspec) when the typed decoder takes it, else as plain JSON objects
    (`load_json_payload`, which also says why a payload cannot be read). A Gen2State needs the components' every
    field, so with a state the payload is always read as plain objects."""
    if not with_state:
        data = payload if payload_b64 is None else payload_bytes(None, payload_b64)
        if isinstance(data, str):
            brackets = data.count("{") + data.count("[")
        elif isinstance(data, bytes):
            brackets = data.count(b"{") + data.count(b"[")
        else:
            brackets = limits.MAX_JSON_DEPTH + 1  # an embedded JSON value: already decoded
        # Small and shallow (the general decoder's size and depth checks cannot fail), typed...
        if brackets <= limits.MAX_JSON_DEPTH and len(data) * 4 <= limits.MAX_PAYLOAD_BYTES:
            try:
                frame = _NOTIFY.decode(data)
            except (msgspec.DecodeError, RecursionError):
                pass
            else:
                return {"src": frame.src, "dst": frame.dst, "method": frame.method, "params": frame.params}
    return load_json_payload(payload, payload_b64)


def parse_events_rpc(
    prefix: str, body: dict[str, Any], received_ms: int, now_ms: int, state: Gen2State | None
) -> list[Row]:
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
        ts_us, ts_ms = received_ms * 1000, float(received_ms)
    else:
        ts_us, ts_ms = ts_from_seconds(raw_ts, now_ms)
    return _component_rows(device_id, params, ts_us, ts_ms, received_ms, state, full=method == NOTIFY_FULL_STATUS)


def parse_status_topic(
    prefix: str, component: str, body: dict[str, Any], received_ms: int, state: Gen2State | None
) -> list[Row]:
    """`<prefix>/status/<component>`: the full status of one component, no `ts`. Device id: the topic prefix."""
    device_id = check_device_id(prefix, "topic prefix")
    if not METER_COMPONENT_RE.fullmatch(component):
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"status of {component[:40]!r}, not a meter", device_id)
    return _component_rows(
        device_id, {component: body}, received_ms * 1000, float(received_ms), received_ms, state, full=True
    )


def parse_rpc_frame(prefix: str, body: dict[str, Any], received_ms: int, state: Gen2State | None) -> list[Row]:
    """`<client>/rpc`: a `Shelly.GetStatus` response (`result` holds components). Device id: `src` (required)."""
    src = body.get("src")
    result = body.get("result")
    if not isinstance(result, dict):
        kind = "an RPC error" if "error" in body else "an RPC request" if "method" in body else "no result object"
        device_id = src if isinstance(src, str) else None
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"{kind} on an rpc topic", device_id)
    device_id = check_device_id(src, "src")
    return _component_rows(device_id, result, received_ms * 1000, float(received_ms), received_ms, state, full=True)


def _component_rows(
    device_id: str,
    container: dict[str, Any],
    ts_us: int,
    ts_ms: float,
    received_ms: int,
    state: Gen2State | None,
    *,
    full: bool,
) -> list[Row]:
    channels: dict[int, dict[str, float]] = {}
    unavailable: list[str] = []
    meters: list[tuple[str, Any, list[str]]] = []
    errors: list[str] = []
    for key, body in container.items():
        meter = _meter(key)
        if meter is None:
            continue
        specs, first_channel = meter
        if body.__class__ is MeterComponent:  # typed: every value already a number within its bounds, or null
            _copy_checked(body, specs, first_channel, channels)
            meters.append((key, body, []))
            component_errors = cast(Any, body).errors
        else:
            if not isinstance(body, dict):
                raise Reject(QuarantineReason.WRONG_TYPE, f"{key}: expected an object", device_id)
            try:
                skipped = read_component(body, specs, first_channel, key, channels, unavailable)
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
    gen2 = Generation.GEN2
    if len(channels) == 1:
        for channel, values in channels.items():
            return [(device_id, channel, ts_us, received_ms, gen2, values)]
    return [(device_id, channel, ts_us, received_ms, gen2, channels[channel]) for channel in sorted(channels)]


def _copy_checked(
    component: Any, specs: dict[str, FieldSpec], first_channel: int, channels: dict[int, dict[str, float]]
) -> None:
    """`read_component` for a typed component (values checked by the decoder): copy the kind's non-null fields."""
    for source, (offset, field, _low, _high) in specs.items():
        value = getattr(component, source)
        if value is not None:
            target = channels.get(first_channel + offset)
            if target is None:
                channels[first_channel + offset] = {field: value}
            else:
                target[field] = value


_METERS: dict[object, tuple[dict[str, FieldSpec], int] | None] = {}  # component key → (specs, first channel) | None
_METERS_MAX: Final = 4096


def _meter(key: object) -> tuple[dict[str, FieldSpec], int] | None:
    """(field specs, first channel) for a meter component key (`em1:0`, `emdata:1`, ...), else None; cached, since a
    deployment has few keys and they repeat in every message."""
    try:
        return _METERS[key]
    except KeyError:
        pass
    except TypeError:  # not hashable: not a component key
        return None
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
