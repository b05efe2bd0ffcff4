"""Frame raw objects into envelopes and drop MQTT QoS 1 redeliveries."""

from __future__ import annotations

import base64
import json
import operator
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from wattline.aggregation.common import DEFAULT_DEDUP_WINDOW_MS
from wattline.formats.blocks import stored_columns
from wattline.formats.frames import EnvelopeFields, envelope_fields
from wattline.models import Envelope
from wattline.parsing import MAX_LINE_BYTES, object_lines


class RawEnvelope(NamedTuple):
    """One envelope line of a raw object, decoded just enough to order and deduplicate it."""

    received_ms: int
    source_key: str
    line_no: int
    topic: str
    payload: Any
    payload_b64: str | None
    raw_payload: bytes = b""
    """The envelope line without its received_ms (set by `split_object`): the payload as stored, cheaply."""

    def envelope(self) -> Envelope:
        return Envelope.model_construct(
            topic=self.topic, received_ms=self.received_ms, payload=self.payload, payload_b64=self.payload_b64
        )


def dedup_key(envelope: RawEnvelope) -> tuple[bool, str, str]:
    """(carries device time, topic, payload) — two envelopes with equal keys carry the same message.

    A Gen2 JSON-RPC frame with `params.ts` carries the device's time, so equal topic and payload is the same
    message whenever it arrives. Everything else (Gen1 topics, Gen2 `status/<component>` and `online`) carries no
    device time: equal content is a redelivery only within the dedup window (see `dedup`).
    """
    payload = envelope.payload
    if envelope.payload_b64 is not None:  # what the IoT rules store for every message
        timed = envelope.topic.endswith(_EVENTS_RPC) and _has_device_time(_b64_json(envelope.payload_b64))
        return timed, envelope.topic, "b64:" + envelope.payload_b64
    if isinstance(payload, str):
        return False, envelope.topic, "txt:" + payload
    timed = _has_device_time(payload)
    if envelope.raw_payload:  # same bytes but the receive time: the same stored message (one rule writes both)
        return timed, envelope.topic, "raw:" + envelope.raw_payload.decode("utf-8", "surrogateescape")
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=True)
    return timed, envelope.topic, "json:" + text


_EVENTS_RPC = "/events/rpc"
_DECODER = json.JSONDecoder()


def _has_device_time(payload: Any) -> bool:
    """A Gen2 JSON-RPC frame whose `params.ts` is a number (the device's clock)."""
    params = payload.get("params") if isinstance(payload, dict) else None
    return isinstance(params, dict) and params.get("ts").__class__ in (int, float)


def _b64_json(text: str) -> Any:
    try:
        return _DECODER.decode(base64.b64decode(text, validate=True).decode("utf-8"))
    except (ValueError, RecursionError):  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def dedup(envelopes: Iterable[RawEnvelope], window_ms: int = DEFAULT_DEDUP_WINDOW_MS) -> tuple[list[RawEnvelope], int]:
    """Drop MQTT QoS 1 redeliveries; returns (kept envelopes in receive order, number dropped).

    Receive order is (received_ms, source key, line number). An envelope is a duplicate when an earlier kept
    envelope has the same topic and payload and either the payload carries device time (a Gen2 frame with
    `params.ts`: identical topic + payload ⇒ identical device ts), or it was received at most `window_ms` earlier.
    The window is measured from the last *kept* copy, so a value that genuinely repeats every publish period
    (Gen1: 30 s) is never dropped, while a burst of redeliveries collapses into one message.
    """
    ordered = sorted(envelopes, key=_receive_order)
    identities: list[tuple[str, str]] = []
    known_timed: dict[int, bool] = {}
    for position, envelope in enumerate(ordered):
        if envelope.payload_b64 is not None:  # `dedup_key` without decoding the payload (the hot path)
            identities.append((envelope.topic, "b64:" + envelope.payload_b64))
        else:
            known_timed[position], topic, payload = dedup_key(envelope)
            identities.append((topic, payload))

    def timed(position: int) -> bool:
        known = known_timed.get(position)
        return dedup_key(ordered[position])[0] if known is None else known

    kept = _kept(_first_positions(identities), [envelope.received_ms for envelope in ordered], timed, window_ms)
    return [ordered[position] for position in kept], len(ordered) - len(kept)


def _first_positions(identities: Sequence[Hashable]) -> NDArray[np.int64]:
    """The position of each identity's first occurrence."""
    first_seen: dict[Hashable, int] = {}
    return np.fromiter(map(first_seen.setdefault, identities, range(len(identities))), np.int64, len(identities))


def _kept(
    first: NDArray[np.int64], received_ms: Sequence[int], timed: Callable[[int], bool] | None, window_ms: int
) -> list[int]:
    """The positions `dedup` keeps of envelopes in receive order, given the position of the first envelope of each
    one's identity (topic and payload; `_first_positions`) and whether it carries device time (`timed`, asked once
    per identity seen more than once, of its first copy: equal identities are equally timed; a timed one is a
    duplicate however late it comes; None: none does)."""
    n = len(first)
    positions = np.arange(n)
    copies = np.flatnonzero(first != positions)
    if not len(copies):  # (nearly every Gen2 day: each notification carries its own time)
        return positions.tolist()
    kept = np.ones(n, np.bool_)
    if timed is not None:
        timed_first = [position for position in np.unique(first[copies]).tolist() if timed(position)]
        timed_copies = np.isin(first[copies], timed_first)
        kept[copies[timed_copies]] = False
        copies = copies[~timed_copies]
    # An untimed copy is kept when it came more than the window after the last kept copy: surely so when it came
    # that long after the copy before it; surely not when it came within the window of a kept copy before it.
    order = np.lexsort((positions, first))  # each identity's copies together, in receive order
    previous = np.empty(n, np.int64)
    previous[order[1:]] = order[:-1]
    received = np.asarray(received_ms, np.int64)
    close = copies[received[copies] - received[previous[copies]] <= window_ms]
    kept[close] = False
    chained = close[np.isin(previous[close], close)]  # the copy before was itself dropped: ask the loop
    for identity_first in np.unique(first[chained]).tolist():
        last_kept_ms = received_ms[identity_first]
        for position in order[np.searchsorted(first[order], identity_first) :].tolist():
            if first[position] != identity_first:
                break
            if position != identity_first:
                kept[position] = received_ms[position] - last_kept_ms > window_ms
            if kept[position]:
                last_kept_ms = received_ms[position]
    return np.flatnonzero(kept).tolist()


_receive_order: Callable[[RawEnvelope], tuple[int, str, int]] = operator.itemgetter(0, 1, 2)
"""(received_ms, source_key, line_no): the receive order of envelopes."""


def split_object(data: bytes, source_key: str) -> tuple[list[RawEnvelope], list[bytes]]:
    """A raw object → (well-formed envelopes, malformed lines) — the same framing as `parsing.parse_object`.

    Malformed lines (not JSON, not an envelope) are returned as bytes for the parser to quarantine with a reason.
    """
    lines, pretty = object_lines(data)
    if not lines:
        return [], [data]
    if pretty:
        whole = envelope_fields(data)  # perhaps one pretty-printed envelope
        if whole is not None:
            return [_raw_envelope(whole, source_key, 0)], []
    envelopes: list[RawEnvelope] = []
    malformed: list[bytes] = []
    for line_no, line in enumerate(lines):
        fields = envelope_fields(line) if len(line) <= MAX_LINE_BYTES else None
        if fields is None:
            malformed.append(line)
        else:
            envelopes.append(_raw_envelope(fields, source_key, line_no))
    return envelopes, malformed


def _raw_envelope(fields: EnvelopeFields, source_key: str, line_no: int) -> RawEnvelope:
    topic, received_ms, payload, payload_b64, raw_payload = fields
    return RawEnvelope(received_ms, source_key, line_no, topic, payload, payload_b64, raw_payload)


class StoredEnvelopes(NamedTuple):
    """The kept envelopes of a day as columns, in receive order, and how many were dropped as duplicates.
    `origins`: where each kept envelope is among all the day's, the objects in key order and their lines in order."""

    topics: list[str]
    received_ms: list[int]
    payloads_b64: list[str]
    duplicates: int
    origins: NDArray[np.intp]


def stored_envelopes(
    objects: Sequence[tuple[str, bytes]], window_ms: int = DEFAULT_DEDUP_WINDOW_MS
) -> StoredEnvelopes | None:
    """`split_object` + `dedup` of a day's objects (key, bytes) in columns, for the common day: every line of every
    object a stored envelope with `payload_b64` (what the IoT rules and imports write), framed by one typed C
    decoder call per object (`formats.blocks`). None otherwise: `split_object` and `dedup` then frame message by
    message."""
    topics: list[str] = []
    received_ms: list[int] = []
    payloads_b64: list[str] = []
    for _key, data in sorted(objects, key=operator.itemgetter(0)):  # an object at a time: its lines are copies
        stored = stored_columns(data, MAX_LINE_BYTES)
        if stored is None:
            return None
        topics.extend(map(sys.intern, stored.topics))  # one string per topic, not per message
        received_ms.extend(stored.received_ms)
        payloads_b64.extend(stored.payloads_b64)
    if not topics:
        return None
    try:
        received = np.fromiter(received_ms, np.int64, len(received_ms))
    except OverflowError:
        return None
    origins = np.arange(len(topics), dtype=np.intp)
    if (np.diff(received) < 0).any():  # objects by key, lines in order; sorted stably: the receive order
        origins = np.argsort(received, kind="stable")
        order = origins.tolist()
        topics = [topics[i] for i in order]
        payloads_b64 = [payloads_b64[i] for i in order]
        received_ms = received[origins].tolist()

    first = _first_positions(payloads_b64)
    repeated = np.flatnonzero(first != np.arange(len(first)))
    if not len(repeated):  # no payload twice, so no identity twice (a Gen2 day)
        return StoredEnvelopes(topics, received_ms, payloads_b64, 0, origins)
    if len(repeated) * 4 > len(first):  # (a Gen1 day: its values repeat all day) the identity of every envelope
        first = _first_positions(list(zip(topics, payloads_b64, strict=True)))
    else:  # the identities (topic, payload) of only the envelopes whose payload comes more than once
        among = np.union1d(repeated, first[repeated]).tolist()  # (in receive order)
        first[among] = np.array(among)[_first_positions([(topics[i], payloads_b64[i]) for i in among])]

    def timed(position: int) -> bool:
        return topics[position].endswith(_EVENTS_RPC) and _has_device_time(_b64_json(payloads_b64[position]))

    may_be_timed = any(topic.endswith(_EVENTS_RPC) for topic in set(topics))  # (a Gen1 day: none)
    kept = _kept(first, received_ms, timed if may_be_timed else None, window_ms)
    if len(kept) == len(topics):
        return StoredEnvelopes(topics, received_ms, payloads_b64, 0, origins)
    return StoredEnvelopes(
        [topics[i] for i in kept],
        [received_ms[i] for i in kept],
        [payloads_b64[i] for i in kept],
        len(topics) - len(kept),
        origins[kept],
    )
