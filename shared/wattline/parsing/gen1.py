"""Gen1 Shelly EM / 3EM: one MQTT topic per quantity (text payloads), the LWT, the relay, and `/status` JSON."""

from __future__ import annotations

from typing import Any, Final

from wattline.models import Generation, QuarantineReason
from wattline.parsing._common import (
    Reject,
    Row,
    Unavailable,
    check_text_size,
    check_text_value,
    check_value,
    field_specs,
    load_json_payload,
    payload_bytes,
    read_component,
)

# `shellies/<id>/emeter/<i>/<quantity>` → Reading field.
EMETER_TOPIC_FIELDS: Final = {
    "power": "power_w",
    "reactive_power": "reactive_power_var",
    "voltage": "voltage_v",
    "pf": "pf",
    "current": "current_a",
    "total": "energy_total_wh",
    "total_returned": "energy_returned_total_wh",
}
# Watt-minute counters that reset on reboot: rejected (see docs/parsing.md), `total` carries the same energy in Wh.
VOLATILE_COUNTER_TOPICS: Final = frozenset({"energy", "returned_energy"})

# `/status` JSON `emeters[i]` field → Reading field.
STATUS_EMETER_FIELDS: Final = {
    "power": "power_w",
    "reactive": "reactive_power_var",
    "voltage": "voltage_v",
    "pf": "pf",
    "current": "current_a",
    "total": "energy_total_wh",
    "total_returned": "energy_returned_total_wh",
}

_STATUS_SPECS: Final = field_specs({src: (0, dst) for src, dst in STATUS_EMETER_FIELDS.items()})

RELAY_STATES: Final = frozenset({"on", "off", "overpower"})
_MAX_CHANNEL_DIGITS: Final = 2


def scalar_text(payload: object, payload_b64: str | None) -> str | int | float | bool:
    """A Gen1 scalar payload: text (from `payload` or `payload_b64`), or the JSON number/boolean the rule embedded."""
    if payload_b64 is None:
        if isinstance(payload, str):
            check_text_size(payload)
            return payload.strip()
        if isinstance(payload, (bool, int, float)):
            return payload
    return payload_bytes(payload, payload_b64).decode("utf-8", "replace").strip()


def parse_emeter_topic(
    device_id: str, channel_text: str, quantity: str, payload: object, payload_b64: str | None, received_ms: int
) -> list[Row]:
    if quantity in VOLATILE_COUNTER_TOPICS:
        raise Reject(
            QuarantineReason.UNSUPPORTED_MESSAGE,
            f"emeter/{channel_text}/{quantity} is a Watt-minute counter lost on reboot; emeter/<i>/total (Wh) is used",
            device_id,
        )
    field = EMETER_TOPIC_FIELDS[quantity]
    where = f"emeter/{channel_text}/{quantity}"
    value = scalar_text(payload, payload_b64)
    checked = check_text_value(field, value, where) if isinstance(value, str) else check_value(field, value, where)
    if isinstance(checked, Unavailable):
        raise Reject(QuarantineReason.COUNTER_UNAVAILABLE, f"{where} is -1 (counter not available)", device_id)
    return [(device_id, int(channel_text), received_ms * 1000, received_ms, Generation.GEN1, {field: checked})]


def parse_online(
    device_id: str, payload: object, payload_b64: str | None, received_ms: int, generation: Generation
) -> list[Row]:
    value = scalar_text(payload, payload_b64)
    if value is True or value == "true":
        online = True
    elif value is False or value == "false":
        online = False
    else:
        raise Reject(QuarantineReason.WRONG_TYPE, f"online: expected true or false, got {str(value)[:40]!r}", device_id)
    return [(device_id, None, received_ms * 1000, received_ms, generation, {"online": online})]


def parse_relay(device_id: str, payload: object, payload_b64: str | None, received_ms: int) -> list[Row]:
    value = scalar_text(payload, payload_b64)
    if not isinstance(value, str) or value not in RELAY_STATES:
        raise Reject(
            QuarantineReason.WRONG_TYPE, f"relay/0: expected on, off or overpower, got {str(value)[:40]!r}", device_id
        )
    return [(device_id, None, received_ms * 1000, received_ms, Generation.GEN1, {"relay": value})]


def parse_status(device_id: str, payload: object, payload_b64: str | None, received_ms: int) -> list[Row]:
    """`/status`-shaped JSON: `emeters[i]` → channel i, `relays[0]` → relay state. Time: the receive time."""
    body = load_json_payload(payload, payload_b64)
    return status_readings(device_id, body, received_ms)


def status_readings(device_id: str, body: dict[str, Any], received_ms: int) -> list[Row]:
    emeters = body.get("emeters")
    relays = body.get("relays")
    if emeters is None and relays is None:
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, "no emeters[] or relays[] in this status", device_id)
    ts_us = received_ms * 1000
    readings: list[Row] = []
    unavailable: list[str] = []
    invalid = 0
    if emeters is not None:
        if not isinstance(emeters, list):
            raise Reject(QuarantineReason.WRONG_TYPE, "emeters: expected an array", device_id)
        for channel, emeter in enumerate(emeters):
            if not isinstance(emeter, dict):
                raise Reject(QuarantineReason.WRONG_TYPE, f"emeters[{channel}]: expected an object", device_id)
            if emeter.get("is_valid") is False:
                invalid += 1
                continue
            values: dict[int, dict[str, float]] = {}
            read_component(emeter, _STATUS_SPECS, channel, f"emeters[{channel}]", values, unavailable)
            if values:
                readings.append((device_id, channel, ts_us, received_ms, Generation.GEN1, values[channel]))
    relay = _relay_state(relays)
    if relay is not None:
        readings.append((device_id, None, ts_us, received_ms, Generation.GEN1, {"relay": relay}))
    if not readings:
        if unavailable:
            raise Reject(QuarantineReason.COUNTER_UNAVAILABLE, f"{', '.join(unavailable)} -1, nothing else", device_id)
        detail = f"{invalid} emeter(s) with is_valid=false" if invalid else "emeters carried no measured values"
        raise Reject(QuarantineReason.NO_READINGS, detail, device_id)
    return readings


def _relay_state(relays: object) -> str | None:
    if not isinstance(relays, list) or not relays or not isinstance(relays[0], dict):
        return None
    ison = relays[0].get("ison")
    if not isinstance(ison, bool):
        return None
    if relays[0].get("overpower") is True:
        return "overpower"
    return "on" if ison else "off"


def is_channel(text: str) -> bool:
    return 0 < len(text) <= _MAX_CHANNEL_DIGITS and text.isascii() and text.isdigit()
