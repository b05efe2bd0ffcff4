"""Canonical data contracts shared by every stage. See docs/architecture.md for the wire formats."""

from __future__ import annotations

import base64
import builtins
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wattline.formats.readings import daily_text_lines, reading_line


class Generation(StrEnum):
    GEN1 = "gen1"
    GEN2 = "gen2"


class Envelope(BaseModel):
    """One MQTT message as the AWS IoT rule (or the local bridge) stores it.

    `received_ms` is the rule's `timestamp()`: milliseconds since the epoch when IoT Core received the message.
    The payload is kept exactly as published: `payload` holds the text (or, for a JSON payload the rule embedded
    as JSON, that JSON value), `payload_b64` holds the bytes base64-encoded (the rule's `encode(*, 'base64')`,
    used for non-JSON Gen1 payloads such as `on`). Exactly one of the two is set.
    """

    # defer_build (every model here): the validator is built on first use, not at import, so a command pays only for
    # the models it uses (`wattline analyze`: DailyEnergy; docs/benchmarks.md, "Start-up").
    model_config = ConfigDict(extra="ignore", defer_build=True)

    topic: str
    received_ms: int
    payload: Any = None
    payload_b64: str | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> Envelope:
        if (self.payload is None) == (self.payload_b64 is None):
            raise ValueError("an envelope carries exactly one of payload or payload_b64")
        return self

    def payload_text(self) -> str:
        """The payload as the device published it (UTF-8 text; invalid bytes are replaced)."""
        if self.payload_b64 is not None:
            return base64.b64decode(self.payload_b64).decode("utf-8", errors="replace")
        if isinstance(self.payload, str):
            return self.payload
        return json.dumps(self.payload, separators=(",", ":"), allow_nan=True)

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.received_ms / 1000, tz=UTC)

    def to_json_line(self) -> str:
        """The stored line (keys sorted, compact): `wattline.formats.frames.envelope_line`, its one writer."""
        from wattline.formats.frames import envelope_line

        return envelope_line(self.topic, self.received_ms, self.payload, self.payload_b64)


READING_QUANTITIES = (
    "power_w",
    "reactive_power_var",
    "apparent_power_va",
    "voltage_v",
    "current_a",
    "pf",
    "freq_hz",
    "energy_total_wh",
    "energy_returned_total_wh",
)
VALUE_FIELDS = (*READING_QUANTITIES, "online", "relay")
"""A Reading's fields besides its identity (device_id, channel, ts, received_ms, generation)."""


class Reading(BaseModel):
    """One canonical observation of one meter channel at one instant.

    A reading carries only what its message carried; nothing is invented. `channel` is the meter channel
    (Gen1 `emeter/<i>`, Gen2 `em1:<i>`, triphase `em:0` phases a/b/c as 0/1/2); it is None for device-level
    state (`online`, `relay`). `ts` is UTC: Gen2 `params.ts` when present, else the receive time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    device_id: str
    channel: int | None = None
    ts: datetime
    received_ms: int
    generation: Generation
    power_w: float | None = None
    reactive_power_var: float | None = None
    apparent_power_va: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    pf: float | None = None
    freq_hz: float | None = None
    energy_total_wh: float | None = None
    energy_returned_total_wh: float | None = None
    online: bool | None = None
    relay: str | None = None

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("ts must be timezone-aware")
        return value.astimezone(UTC)

    @field_validator(*READING_QUANTITIES)
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("quantities must be finite")
        return value

    def dedup_key(self) -> tuple[object, ...]:
        """Two readings with the same key are the same observation (an MQTT QoS 1 redelivery)."""
        return tuple(self.model_dump(exclude={"received_ms"}).values())

    def to_json_line(self) -> str:
        """The daily files' line of this reading (`wattline.formats.readings.reading_line`, its one writer)."""
        values = {name: value for name in VALUE_FIELDS if (value := getattr(self, name)) is not None}
        return reading_line(
            self.device_id, self.channel, format_ts(self.ts), self.received_ms, self.generation.value, values
        )


def format_ts(ts: datetime) -> str:
    """UTC timestamp as `2026-11-27T10:00:00.123Z` (millisecond precision, stable for byte-identical files)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class QuarantineReason(StrEnum):
    """Stable reason codes for rejected messages. Documented in docs/parsing.md."""

    MALFORMED_ENVELOPE = "malformed_envelope"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_DEEP = "too_deep"
    OVERSIZED_PAYLOAD = "oversized_payload"
    UNKNOWN_TOPIC = "unknown_topic"
    UNSUPPORTED_MESSAGE = "unsupported_message"
    NON_NUMERIC_VALUE = "non_numeric_value"
    NON_FINITE_VALUE = "non_finite_value"
    WRONG_TYPE = "wrong_type"
    IMPOSSIBLE_VALUE = "impossible_value"
    COUNTER_UNAVAILABLE = "counter_unavailable"
    BAD_DEVICE_ID = "bad_device_id"
    DEVICE_MISMATCH = "device_mismatch"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    NO_READINGS = "no_readings"
    PARSER_ERROR = "parser_error"


class QuarantineRecord(BaseModel):
    """A rejected message, kept with its reason and its original bytes (base64) so nothing is lost."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    reason: QuarantineReason
    detail: str
    topic: str | None = None
    received_ms: int | None = None
    device_id: str | None = None
    original_b64: str = Field(description="the original bytes of the envelope line or payload, base64")
    source_key: str | None = None

    def to_json_line(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), separators=(",", ":"), sort_keys=True)


class ParseOutcome(BaseModel):
    """What parsing one envelope gave: readings, or one quarantine record (never both empty)."""

    model_config = ConfigDict(defer_build=True)

    readings: list[Reading] = Field(default_factory=list)
    quarantined: QuarantineRecord | None = None


class DailyManifest(BaseModel):
    """Written beside each daily readings file; the loader verifies the file against it."""

    model_config = ConfigDict(defer_build=True)

    device_id: str
    date: str
    readings: int
    envelopes: int
    duplicates: int
    quarantined: int
    source_objects: int
    first_ts: str | None
    last_ts: str | None
    sha256: str
    bytes: int
    parser_version: str
    file: Literal["readings.jsonl.gz"] = "readings.jsonl.gz"

    def to_bytes(self) -> builtins.bytes:  # `bytes` is also a field here
        """`manifest.json` as the aggregator writes it (indented, keys sorted); read back with
        `model_validate_json`."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True).encode("utf-8") + b"\n"


class HourlyEnergy(BaseModel):
    """One row of the fact table `energy_hourly`: energy of one channel in one local hour.

    `hour_start` is the UTC instant the local hour starts (local hours are the unit because tariff zones and
    local days are made of them). `import_wh` is measured (counter increase or power integral), `estimated_wh`
    is energy a counter proves but no power sample places (spread over a gap), `export_wh` is returned energy.
    `covered_s` is the part of the hour inside integrated intervals; `gap_s` the part inside gaps.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    device_id: str
    channel: int
    hour_start: datetime
    import_wh: float
    export_wh: float
    estimated_wh: float
    covered_s: float
    gap_s: float
    samples: int
    min_power_w: float | None
    max_power_w: float | None
    mean_power_w: float | None
    counter_resets: int
    method: str


class DailyEnergy(BaseModel):
    """One local day of one channel, priced: exactly the object `wattline analyze --format json` prints.

    energy_kwh = measured_kwh + estimated_kwh = sum(zones.values()). `export_value` (what the exported energy earned
    at the tariff's export price) exists only for a grid channel with export that day under a tariff that prices
    export; otherwise it is None and left out of the printed object, so outputs without export pricing are as before.
    """

    model_config = ConfigDict(defer_build=True)

    device_id: str
    channel: int
    date: str
    timezone: str
    energy_kwh: float
    measured_kwh: float
    estimated_kwh: float
    export_kwh: float
    zones: dict[str, float]
    cost: float
    currency: str
    gap_seconds: float
    coverage: float
    samples: int
    method: str
    counter_resets: int
    export_value: float | None = Field(None, exclude_if=lambda value: value is None)


M = TypeVar("M", bound=BaseModel)


def fast_constructor(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """A constructor for `model` from already-checked values, several times cheaper than `model_construct`.

    It does what `model_construct` does (fill in defaults, set pydantic's instance slots) with the defaults
    looked up once instead of on every call.
    """
    fields = model.model_fields
    # Every field in declared order (required ones as placeholders, always overwritten by `data`).
    template = {n: (None if f.is_required() or f.default_factory is not None else f.default) for n, f in fields.items()}
    factories = [(n, f.default_factory) for n, f in fields.items() if f.default_factory is not None]
    new = object.__new__
    set_attr = object.__setattr__

    def construct(data: dict[str, Any]) -> M:
        instance = new(model)
        full = template.copy()
        full.update(data)
        for name, factory in factories:
            if name not in data:
                full[name] = factory()  # type: ignore[call-arg]
        set_attr(instance, "__dict__", full)
        set_attr(instance, "__pydantic_fields_set__", set(data))
        set_attr(instance, "__pydantic_extra__", None)
        set_attr(instance, "__pydantic_private__", None)
        return instance

    return construct


_new_reading = fast_constructor(Reading)


def trusted_reading(data: dict[str, Any]) -> Reading:
    """A Reading from values already checked (by the parsers, or typed columns of files they wrote), without
    pydantic validation: `generation` a Generation, `ts` an aware UTC datetime, quantities finite floats."""
    return _new_reading(data)


def readings_from_file(data: bytes, columns: Sequence[str] | None = None) -> Iterator[Reading]:
    """The Readings of a daily file, validated (a file from storage is checked, not trusted). `columns`: keep only
    these fields (the identity fields always), as the detectors read them."""
    for line in daily_text_lines(data)[1]:
        record: dict[str, Any] = json.loads(line)
        if columns is not None:
            record = {name: record[name] for name in columns if record.get(name) is not None}
        record.setdefault("channel", None)  # the line leaves a null channel out
        record.setdefault("generation", "gen1")
        yield Reading.model_validate(record)
