"""The parsers' rules over a whole batch of messages at once, the rows out as columns (numpy).

The batch consumers (`wattline analyze`, validate, the aggregator) hand over thousands of messages at a time. The
common ones — Gen2 `events/rpc` notifications of meter components, Gen1 `emeter/<i>/<quantity>` numbers — are
decoded here a message per C call (`map` over msgspec's typed decoders, base64 and number parsing), and the rules
that decide them (device ids, times in the window, the method, which fields feed which channel, the bounds) are
applied to the whole batch as arrays.

This path only *accepts*. A message it takes gives exactly the rows the per-message parser gives for it (the same
values, times, channels and order); every message it does not plainly take — anything the typed decoders refuse, a
rule that is not met, a topic of another kind, a payload of another shape — goes to the per-message parser
(`wattline.parsing.envelope`), which gives its rows or its one quarantine record with the reason. So the outcomes
are the per-message parser's by construction; the tests compare the two on the real payloads and on fuzzed ones.
No Gen2State: a consumer that keeps one parses message by message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, NamedTuple, cast

import msgspec
import numpy as np
from numpy.typing import NDArray

from wattline.formats import blocks, frames
from wattline.inputs import BlockLines
from wattline.models import READING_QUANTITIES, Generation, QuarantineRecord
from wattline.parsing import envelope, gen1, gen2, limits
from wattline.parsing._common import _BOUNDS, _NUMBER_RE, FIELD_KIND, Reject, Row, check_device_id

QUANTITIES: Final = READING_QUANTITIES
"""The value columns of `RowColumns.values`, in this order."""
_COLUMN: Final = {name: index for index, name in enumerate(QUANTITIES)}
NO_CHANNEL: Final = -1


@dataclass(frozen=True)
class RowColumns:
    """Parser rows as columns, one entry per row (a `Row` is one reading: see `wattline.parsing`).

    `values` holds the quantities in `QUANTITIES` order, NaN where the reading did not carry one; `state` holds the
    device-level values (`{"online": …}`, `{"relay": …}`) of rows without a channel, else None; `message` is the
    index of the message (in the batch given to the parser) each row came from. Rows are in message order, and
    within a message in the order the per-message parser gives them."""

    devices: tuple[str, ...]
    device: NDArray[np.int32]  # index into `devices`
    channel: NDArray[np.int64]  # NO_CHANNEL: a device-level row
    ts_us: NDArray[np.int64]
    received_ms: NDArray[np.int64]
    gen2: NDArray[np.bool_]
    values: NDArray[np.float64]
    state: NDArray[np.object_]
    message: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ts_us)

    @property
    def nbytes(self) -> int:
        """The bytes of the columns (the device-level rows' dicts not counted: they are few)."""
        columns = (self.device, self.channel, self.ts_us, self.received_ms, self.gen2, self.values, self.state)
        return sum(column.nbytes for column in (*columns, self.message))

    @classmethod
    def empty(cls) -> RowColumns:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Sequence[Row], messages: Sequence[int] | None = None) -> RowColumns:
        """Columns of parser rows; `messages[i]` is the message index of `rows[i]` (default: 0, rows of no batch)."""
        n = len(rows)
        devices: dict[str, int] = {}
        values = np.full((n, len(QUANTITIES)), np.nan)
        state = np.full(n, None, dtype=object)
        device = np.empty(n, np.int32)
        for index, (device_id, _channel, _ts, _received, _generation, row_values) in enumerate(rows):
            device[index] = devices.setdefault(device_id, len(devices))
            for name, value in row_values.items():
                column = _COLUMN.get(name)
                if column is not None:
                    values[index, column] = value
                else:
                    if state[index] is None:
                        state[index] = {}
                    state[index][name] = value
        return cls(
            tuple(devices),
            device,
            np.array([NO_CHANNEL if row[1] is None else row[1] for row in rows], np.int64),
            np.array([row[2] for row in rows], np.int64),
            np.array([row[3] for row in rows], np.int64),
            np.array([row[4] is Generation.GEN2 for row in rows], np.bool_),
            values,
            state,
            np.array(messages, np.int64) if messages is not None else np.zeros(n, np.int64),
        )

    def take(self, rows: NDArray[np.intp]) -> RowColumns:
        return RowColumns(
            self.devices,
            self.device[rows],
            self.channel[rows],
            self.ts_us[rows],
            self.received_ms[rows],
            self.gen2[rows],
            _rows_of(self.values, rows),
            self.state[rows],
            self.message[rows],
        )

    @staticmethod
    def concat(parts: Sequence[RowColumns]) -> RowColumns:
        """The parts' rows one after the other (device indices remapped to one `devices`)."""
        parts = [part for part in parts if len(part)] or [RowColumns.empty()]
        if len(parts) == 1:
            return parts[0]
        devices: dict[str, int] = {}
        mapped = []
        for part in parts:
            codes = np.array([devices.setdefault(name, len(devices)) for name in part.devices], np.int32)
            mapped.append(codes[part.device] if len(codes) else part.device)
        return RowColumns(
            tuple(devices),
            np.concatenate(mapped),
            np.concatenate([part.channel for part in parts]),
            np.concatenate([part.ts_us for part in parts]),
            np.concatenate([part.received_ms for part in parts]),
            np.concatenate([part.gen2 for part in parts]),
            np.concatenate([part.values for part in parts]),
            np.concatenate([part.state for part in parts]),
            np.concatenate([part.message for part in parts]),
        )

    def row(self, index: int) -> Row:
        """Row `index` as the per-message parser gives it."""
        values: dict[str, Any] = {
            name: float(value)
            for name, value in zip(QUANTITIES, self.values[index].tolist(), strict=True)
            if value == value
        }
        if self.state[index] is not None:
            values.update(self.state[index])
        channel = int(self.channel[index])
        return (
            self.devices[int(self.device[index])],
            None if channel == NO_CHANNEL else channel,
            int(self.ts_us[index]),
            int(self.received_ms[index]),
            Generation.GEN2 if self.gen2[index] else Generation.GEN1,
            values,
        )

    def rows(self) -> list[Row]:
        return [self.row(index) for index in range(len(self))]


def _rows_of(values: NDArray[np.float64], rows: NDArray[np.intp]) -> NDArray[np.float64]:
    """`values[rows]` of a 2-D array: numpy's take copies whole rows, several times faster than fancy indexing."""
    return np.take(values, rows, axis=0)


@dataclass(frozen=True)
class ParsedBatch:
    """What a batch of messages gave: every row of the accepted messages, and each rejected message's record."""

    rows: RowColumns
    quarantined: list[tuple[int, QuarantineRecord]]  # (message index, its record), in message order
    messages: int


def parse_messages(
    topics: Sequence[str],
    received_ms: Sequence[int],
    payloads: Sequence[Any],
    payloads_b64: Sequence[str | None],
    *,
    now_ms: int,
    device_id: str | None = None,
    source_key: str | None = None,
    lines: Sequence[bytes] | None = None,
) -> ParsedBatch:
    """`parse_message` over a batch (message i: `topics[i]`, `received_ms[i]`, `payloads[i]`, `payloads_b64[i]`).

    `device_id`, `source_key`: as `parse_message` takes them. `lines`: the stored envelope line of each message,
    when the batch was framed from a raw object: a rejected message is then recorded as `parse_line` records it
    (the whole line as its original)."""
    n = len(topics)
    if n > BATCH_MESSAGES:  # in slices that stay in the CPU's caches
        slices = [
            parse_messages(
                topics[start : start + BATCH_MESSAGES],
                received_ms[start : start + BATCH_MESSAGES],
                payloads[start : start + BATCH_MESSAGES],
                payloads_b64[start : start + BATCH_MESSAGES],
                now_ms=now_ms,
                device_id=device_id,
                source_key=source_key,
                lines=None if lines is None else lines[start : start + BATCH_MESSAGES],
            )
            for start in range(0, n, BATCH_MESSAGES)
        ]
        return _joined(slices, BATCH_MESSAGES, n)
    accepted: list[_Part] = []
    pending = np.zeros(n, np.bool_)  # messages the batch path did not take
    try:
        received = np.fromiter(received_ms, np.int64, n)
    except (OverflowError, ValueError, TypeError):  # (a time that is no 64-bit integer: each message's rule says)
        received = None
    if received is None:
        pending[:] = True
    else:
        in_window = (received >= limits.MIN_TIMESTAMP_MS) & (received <= now_ms + limits.MAX_FUTURE_MS)
        pending |= ~in_window
        numbers: list[tuple[_TopicKind, NDArray[np.intp]]] = []  # Gen1 topics: read together below
        for topic, member_array in _by_topic(topics):
            kind = _topic_kind(topic)
            if kind is None or (device_id is not None and kind[1] != device_id):
                pending[member_array] = True
                continue
            member_array = member_array[in_window[member_array]]
            if not len(member_array):
                continue
            if kind[0] == _EMETER:
                numbers.append((kind, member_array))
                continue
            if kind[0] == _RPC:
                part, refused = _notifications(kind[1], member_array, received, payloads, payloads_b64, now_ms)
            else:
                part, refused = _component_status(kind[1], kind[3], member_array, received, payloads, payloads_b64)
            if part is not None:
                accepted.append(part)
            pending[refused] = True
        if numbers:
            part, refused = _emeter_numbers(numbers, received, payloads, payloads_b64)
            if part is not None:
                accepted.append(part)
            pending[refused] = True
    quarantined: list[tuple[int, QuarantineRecord]] = []
    rest_rows: list[Row] = []
    rest_messages: list[int] = []
    rest_positions: list[int] = []
    for index in np.flatnonzero(pending).tolist():
        if lines is not None:
            parsed = envelope.parse_line_rows(lines[index], now_ms=now_ms, source_key=source_key, device_id=device_id)
        else:
            parsed = envelope.parse_message(
                topics[index],
                received_ms[index],
                payloads[index],
                payloads_b64[index],
                now_ms=now_ms,
                device_id=device_id,
                source_key=source_key,
            )
        if isinstance(parsed, QuarantineRecord):
            quarantined.append((index, parsed))
        else:
            rest_rows.extend(parsed)
            rest_messages.extend([index] * len(parsed))
            rest_positions.extend(range(len(parsed)))
    if rest_rows:
        accepted.append(_Part(RowColumns.from_rows(rest_rows, rest_messages), np.array(rest_positions, np.int64)))
    rows = RowColumns.concat([part.rows for part in accepted])
    if len(accepted) > 1:
        within = np.concatenate([part.within for part in accepted])
        rows = rows.take(np.lexsort((within, rows.message)))
    return ParsedBatch(rows, quarantined, n)


BATCH_MESSAGES: Final = 4096
"""Messages parsed together at most (a longer batch is parsed in slices of this size)."""


def _joined(slices: Sequence[ParsedBatch], size: int, messages: int) -> ParsedBatch:
    """One batch of consecutive slices of `size` messages (message indices shifted to the whole batch's)."""
    parts = []
    quarantined: list[tuple[int, QuarantineRecord]] = []
    for number, piece in enumerate(slices):
        offset = number * size
        parts.append(dataclasses.replace(piece.rows, message=piece.rows.message + offset))
        quarantined.extend((index + offset, record) for index, record in piece.quarantined)
    return ParsedBatch(RowColumns.concat(parts), quarantined, messages)


def _by_topic(topics: Sequence[str]) -> list[tuple[str, NDArray[np.intp]]]:
    """The message indices of each topic, in order (one device's notifications share one)."""
    if not topics:
        return []
    if topics.count(topics[0]) == len(topics):
        return [(topics[0], np.arange(len(topics), dtype=np.intp))]
    names = list(dict.fromkeys(topics))
    codes = np.fromiter(map({name: code for code, name in enumerate(names)}.__getitem__, topics), np.intp, len(topics))
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return list(zip(names, np.split(order, bounds), strict=True))


@dataclass(frozen=True)
class _Part:
    rows: RowColumns
    within: NDArray[np.int64]  # the order of rows within one message (the per-message parser's order)


_RPC: Final = "rpc"
_STATUS: Final = "status"
_EMETER: Final = "emeter"
_TopicKind = tuple[str, str, int, str]
"""(kind, device id, channel, name): Gen1 emeter numbers have a channel and their Reading field as name, a Gen2
component status its component key."""


@functools.lru_cache(maxsize=4096)
def _topic_kind(topic: str) -> _TopicKind | None:
    """What the batch path makes of a topic: a Gen2 notification topic or a Gen1 emeter number topic of a valid
    device, else None (the per-message parser reads it)."""
    try:
        parts = topic.split("/")
        if parts[0] == envelope.GEN1_ROOT:
            if len(parts) == 5 and parts[2] == "emeter" and gen1.is_channel(parts[3]):
                field = gen1.EMETER_TOPIC_FIELDS.get(parts[4])
                if field is not None:
                    return _EMETER, check_device_id(parts[1], "topic"), int(parts[3]), field
            return None
        if topic.endswith("/events/rpc"):
            return _RPC, check_device_id(topic[: -len("/events/rpc")], "topic prefix"), NO_CHANNEL, ""
        pieces = topic.rsplit("/", 2)
        if len(pieces) == 3 and pieces[1] == "status" and pieces[2] in _BATCH_KEYS:
            return _STATUS, check_device_id(pieces[0], "topic prefix"), NO_CHANNEL, pieces[2]
    except Reject:
        pass
    return None


_MAX_B64_CHARS: Final = (limits.MAX_PAYLOAD_BYTES * 4) // 3 + 4


def _payload_texts(
    members: NDArray[np.intp], payloads: Sequence[Any], payloads_b64: Sequence[str | None]
) -> list[bytes | str]:
    """Each member's payload text or bytes; `b""` (which no typed decoder takes, and is no number) where it is
    neither plain text nor valid base64, or larger than a quarter of the size limit: the per-message parser then
    reads it, and says why when it cannot."""
    every = len(members) == len(payloads)  # (members are increasing indices)
    if (
        every
        and payloads[0].__class__ is str  # (before counting: stored envelopes have no payload text)
        and payloads_b64.count(None) == len(payloads)
        and set(map(type, payloads)) == {str}
        and max(map(len, payloads)) * 4 <= limits.MAX_PAYLOAD_BYTES
    ):
        return list(payloads)
    index = members.tolist()
    encoded = [payloads_b64[i] for i in index]
    if payloads.count(None) == len(payloads) or [payloads[i] for i in index].count(None) == len(index):
        try:  # base64 only, as the rules store
            longest = max(map(len, cast(list[str], encoded)))
        except (TypeError, ValueError):  # (neither payload: the per-message parser says so; or no members)
            longest = _MAX_B64_CHARS + 1
        stored = frames.decode_base64_all(cast(list[str], encoded)) if longest <= _MAX_B64_CHARS else None
        if stored is not None and (
            longest * 3 <= limits.MAX_PAYLOAD_BYTES  # (base64 of n characters holds at most 3n/4 bytes)
            or max(map(len, stored)) * 4 <= limits.MAX_PAYLOAD_BYTES
        ):
            return cast(list[bytes | str], stored)
    if encoded.count(None) == len(encoded):
        return [
            payload if payload.__class__ is str and len(payload) * 4 <= limits.MAX_PAYLOAD_BYTES else _UNREADABLE
            for payload in (payloads[i] for i in index)
        ]
    data: list[bytes | str] = []
    decoded = frames.decode_base64_each([text if text is not None else "" for text in encoded])
    for i, text, raw in zip(index, encoded, decoded, strict=True):
        if text is None:
            payload = payloads[i]
            usable = payload.__class__ is str and len(payload) * 4 <= limits.MAX_PAYLOAD_BYTES
            data.append(payload if usable else _UNREADABLE)
        elif (
            raw is None
            or len(text) > _MAX_B64_CHARS
            or len(raw) * 4 > limits.MAX_PAYLOAD_BYTES
            or payloads[i] is not None
        ):
            data.append(_UNREADABLE)
        else:
            data.append(raw)
    return data


_UNREADABLE: Final = b""


# The meter components the batch path reads, by key: the kinds' own source fields, each a number within the bounds
# of the Reading field it feeds, or null (the same `gen2._SPECS` table the rules read), and the other fields Shelly
# devices send in them, as flat values. Any other key in `params` (another component, a higher index) or in a
# component makes the message the per-message parser's. Every type being flat, a frame the decoder takes nests at
# most four deep: the general decoder's depth limit cannot be reached (no bracket count needed).
_BATCH_KEYS: Final = ("em1:0", "em1:1", "em1:2", "em1data:0", "em1data:1", "em1data:2", "em:0", "emdata:0")
_Scalar = int | float | str | bool | None
_Flat = list[int | float | str | bool | None] | None
_OTHER_FIELDS: Final[dict[str, tuple[tuple[str, Any], ...]]] = {
    "em1": (("id", _Scalar), ("calibration", _Scalar), ("errors", _Flat), ("flags", _Flat)),
    "em1data": (("id", _Scalar), ("errors", _Flat)),
    "em": (
        ("id", _Scalar),
        ("n_current", _Scalar),
        ("total_current", _Scalar),
        ("total_act_power", _Scalar),
        ("total_aprt_power", _Scalar),
        ("user_calibrated_phase", _Flat),
        ("errors", _Flat),
        ("flags", _Flat),
        *((f"{phase}_errors", _Flat) for phase in gen2.PHASES),
        ("n_errors", _Flat),
    ),
    "emdata": (("id", _Scalar), ("total_act", _Scalar), ("total_act_ret", _Scalar), ("errors", _Flat)),
}
_NOT_CARRIED: Final = float("nan")
"""A source field the component does not carry (null is None): one object for every Struct, so a field no message
of a batch carries is seen by identity (`list.count`) before any conversion."""


def _component_struct(kind: str) -> type:
    """The kind's Struct: its source fields first, in `gen2._SPECS` order, then the others. Frozen, so that one empty
    instance stands for the component wherever it is absent; compared by identity (eq=False), so that finding the
    absent ones in a column of bodies reads no field."""
    specs, _width = gen2._SPECS[kind]
    fields: list[tuple[str, Any, Any]] = [
        (source, Annotated[float, msgspec.Meta(ge=low, le=high)] | None, _NOT_CARRIED)
        for source, (_offset, _field, low, high) in specs.items()
    ]
    fields += [(name, kind_of, None) for name, kind_of in _OTHER_FIELDS[kind]]
    return msgspec.defstruct(f"Batch_{kind}", fields, forbid_unknown_fields=True, frozen=True, eq=False, gc=False)


_COMPONENT_STRUCTS: Final = {kind: _component_struct(kind) for kind in gen2._SPECS}
_ABSENT: Final = {kind: struct() for kind, struct in _COMPONENT_STRUCTS.items()}
_Params: Final = msgspec.defstruct(
    "BatchParams",
    [("ts", "float | None", None)]
    # A component absent is its kind's empty instance; one that is null is refused (the per-message parser:
    # wrong_type).
    + [
        (key.replace(":", "_"), _COMPONENT_STRUCTS[key.split(":")[0]], _ABSENT[key.split(":")[0]])
        for key in _BATCH_KEYS
    ],
    rename={key.replace(":", "_"): key for key in _BATCH_KEYS},
    forbid_unknown_fields=True,
    gc=False,
)


class _Frame(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    src: str | None = None
    dst: str | None = None
    method: str | None = None
    params: _Params | None = None  # type: ignore[valid-type]


_FRAME: Final = msgspec.json.Decoder(_Frame)
_NO_FRAME: Final = _Frame()  # a payload the decoder refused: no method, so not taken


@dataclass(frozen=True)
class _BatchComponent:
    """How the batch path reads one component key: the (channel, Reading field column) each source field feeds, in
    the Struct's order; the Struct's number of fields; its absent instance; its decoder (a `status/<component>`
    payload)."""

    targets: tuple[tuple[int, int], ...]
    fields: int
    absent: Any
    decoder: msgspec.json.Decoder[Any]


def _batch_component(key: str) -> _BatchComponent:
    kind, index = key.split(":")
    specs, width = gen2._SPECS[kind]
    first = width * int(index)
    return _BatchComponent(
        tuple((first + offset, _COLUMN[field]) for offset, field, _low, _high in specs.values()),
        len(msgspec.structs.fields(_COMPONENT_STRUCTS[kind])),
        _ABSENT[kind],
        msgspec.json.Decoder(_COMPONENT_STRUCTS[kind]),
    )


_COMPONENTS: Final = tuple(_batch_component(key) for key in _BATCH_KEYS)
_PARAMS_FIELDS: Final = len(msgspec.structs.fields(_Params))  # ts, then a field per `_BATCH_KEYS` key


def _notifications(
    device_id: str,
    members: NDArray[np.intp],
    received: NDArray[np.int64],
    payloads: Sequence[Any],
    payloads_b64: Sequence[str | None],
    now_ms: int,
) -> tuple[_Part | None, NDArray[np.intp]]:
    """Gen2 `<device>/events/rpc` messages (all of one device, receive times in the window): (their rows, the
    members left to the per-message parser)."""
    texts = _payload_texts(members, payloads, payloads_b64)
    decoded = frames.decode_all(_FRAME.decode, texts)
    if decoded is None:
        each = frames.decode_one_by_one(_FRAME.decode, texts)
        decoded = [_NO_FRAME if frame is None else frame for frame in each]
    n = len(decoded)
    sources = list(map(_SRC, decoded))
    methods = list(map(_METHOD, decoded))
    params = list(map(_PARAMS, decoded))
    columns = None
    if _count(sources, device_id, None) == n and _count(methods, gen2.NOTIFY_STATUS, gen2.NOTIFY_FULL_STATUS) == n:
        # (the common batch: every message a notification of the device, with params; a message without params
        # makes `astuple` raise, None being no Struct)
        with contextlib.suppress(TypeError):
            columns = frames.struct_columns(params, _PARAMS_FIELDS, _PARAMS_FIELDS)
    if columns is not None:
        taken = np.arange(n, dtype=np.intp)
    else:
        taken = np.array(
            [
                position
                for position, (source, method, body) in enumerate(zip(sources, methods, params, strict=True))
                if (source is None or source == device_id) and method in _NOTIFY_METHODS and body is not None
            ],
            np.intp,
        )
        if not len(taken):
            return None, members
        params = [params[position] for position in taken.tolist()]
        columns = frames.struct_columns(params, _PARAMS_FIELDS, _PARAMS_FIELDS)
    ts, *bodies = columns
    # The message time: params.ts (Unix seconds), else the receive time; one out of the window is the per-message
    # parser's to judge. Microseconds as `ts_from_seconds` makes them (round half even).
    seconds = np.fromiter(ts, np.float64, len(ts))  # None → NaN (`fromiter`: no type discovery per element)
    absent = np.isnan(seconds)
    with np.errstate(over="ignore"):  # 1e307 s: infinite ms, out of the window
        ts_ms = seconds * 1000.0
    good = absent | ((ts_ms >= limits.MIN_TIMESTAMP_MS) & (ts_ms <= now_ms + limits.MAX_FUTURE_MS))
    seconds = np.where(good & ~absent, seconds, 0.0)
    whole = np.floor(seconds)
    ts_us = np.where(
        absent,
        received[members[taken]] * 1000,
        whole.astype(np.int64) * 1_000_000 + np.rint((seconds - whole) * 1e6).astype(np.int64),
    )
    channels, readable = _meter_values(list(zip(_COMPONENTS, bodies, strict=True)))
    return _meter_rows(device_id, channels, good & readable, taken, members, ts_us, received)


_SRC: Final = operator.attrgetter("src")
_METHOD: Final = operator.attrgetter("method")
_PARAMS: Final = operator.attrgetter("params")
_NOTIFY_METHODS: Final = frozenset({gen2.NOTIFY_STATUS, gen2.NOTIFY_FULL_STATUS})


def _count(values: list[Any], first: Any, second: Any) -> int:
    """How many of `values` are `first` or `second` (the second looked for only when not all are the first)."""
    firsts = values.count(first)
    return firsts if firsts == len(values) else firsts + values.count(second)


class _Channel(NamedTuple):
    """One channel's values in the messages of a batch."""

    values: NDArray[np.float64]  # (message, `QUANTITIES` column), NaN where not carried
    carried: NDArray[np.bool_]  # the messages that carried any value of the channel


def _meter_values(
    components: Sequence[tuple[_BatchComponent, list[Any]]],
) -> tuple[dict[int, _Channel], NDArray[np.bool_]]:
    """The components' bodies (one per message, the absent instance where a message has none) as (channel → its
    values in the messages; which messages the batch path can take: those with a measured value, and no two
    components feeding one value — em1:0 and em:0: which wins depends on their order in the message, which the
    typed frame does not keep)."""
    n = len(components[0][1])
    channels: dict[int, _Channel] = {}
    good = np.ones(n, np.bool_)
    for component, bodies in components:
        if bodies[0] is component.absent and bodies.count(component.absent) == n:
            continue
        columns = frames.struct_columns(bodies, component.fields, len(component.targets))
        for column, (target, field) in zip(columns, component.targets, strict=True):
            if column[0] is _NOT_CARRIED and column.count(_NOT_CARRIED) == n:
                continue
            found_values = np.fromiter(column, np.float64, n)  # null → NaN
            found = ~np.isnan(found_values)
            channel = channels.get(target)
            if channel is None:
                channel = channels[target] = _Channel(np.full((n, len(QUANTITIES)), np.nan), np.zeros(n, np.bool_))
            values = channel.values[:, field]
            good &= ~found | np.isnan(values)
            np.copyto(values, found_values, where=found)
            channel.carried[found] = True
    any_value = np.zeros(n, np.bool_)
    for channel in channels.values():
        any_value |= channel.carried
    return channels, good & any_value  # no measured value at all: the per-message parser says why (no_readings, …)


def _meter_rows(
    device_id: str,
    channels: dict[int, _Channel],
    good: NDArray[np.bool_],
    taken: NDArray[np.intp],
    members: NDArray[np.intp],
    ts_us: NDArray[np.int64],
    received: NDArray[np.int64],
) -> tuple[_Part | None, NDArray[np.intp]]:
    """The rows of the `good` messages (message k: `members[taken[k]]`, its time `ts_us[k]`), a row per channel
    that carried a value, in message order then channel order; and the members left to the per-message parser."""
    if not good.any():
        return None, members
    numbers = sorted(channels)
    parts = [(np.flatnonzero(good & channels[number].carried), number) for number in numbers]
    if len(parts) == 1:  # (one channel: its rows are in message order)
        positions, number = parts[0]
        channel, values = np.full(len(positions), number, np.int64), _rows_of(channels[number].values, positions)
        message = members[taken[positions]]
    elif all(np.array_equal(rows, parts[0][0]) for rows, _number in parts[1:]):  # (each message feeds every channel)
        positions = np.repeat(parts[0][0], len(numbers))  # message order, then channel order
        channel = np.tile(np.array(numbers, np.int64), len(parts[0][0]))
        values = np.concatenate([_rows_of(channels[number].values, parts[0][0]) for number in numbers], axis=1)
        values = values.reshape(-1, len(QUANTITIES))
        message = members[taken[positions]]
    else:
        positions = np.concatenate([rows for rows, _number in parts])
        channel = np.concatenate([np.full(len(rows), number, np.int64) for rows, number in parts])
        values = np.concatenate([_rows_of(channels[number].values, rows) for rows, number in parts])
        message = members[taken[positions]]
        order = np.lexsort((channel, message))
        positions, channel, values, message = positions[order], channel[order], values[order], message[order]
    count = len(message)
    rows = RowColumns(
        (device_id,),
        np.zeros(count, np.int32),
        channel,
        ts_us[positions],
        received[message],
        np.ones(count, np.bool_),
        values,
        np.full(count, None, dtype=object),
        message,
    )
    taken_members = np.zeros(len(members), np.bool_)
    taken_members[taken[good]] = True
    return _Part(rows, channel), members[~taken_members]


def _component_status(
    device_id: str,
    key: str,
    members: NDArray[np.intp],
    received: NDArray[np.int64],
    payloads: Sequence[Any],
    payloads_b64: Sequence[str | None],
) -> tuple[_Part | None, NDArray[np.intp]]:
    """Gen2 `<device>/status/<component>` messages of one topic (the component's full status, no device time):
    (their rows, the members left to the per-message parser)."""
    component = _COMPONENTS[_BATCH_KEYS.index(key)]
    texts = _payload_texts(members, payloads, payloads_b64)
    bodies = frames.decode_all(component.decoder.decode, texts)
    if bodies is None:
        each = frames.decode_one_by_one(component.decoder.decode, texts)
        taken = np.flatnonzero(np.fromiter((body is not None for body in each), np.bool_, len(each)))
        if not len(taken):
            return None, members
        bodies = [each[k] for k in taken.tolist()]
    else:
        taken = np.arange(len(bodies), dtype=np.intp)
    channels, good = _meter_values([(component, bodies)])
    return _meter_rows(device_id, channels, good, taken, members, received[members[taken]] * 1000, received)


def _emeter_numbers(
    kinds: Sequence[tuple[_TopicKind, NDArray[np.intp]]],
    received: NDArray[np.int64],
    payloads: Sequence[Any],
    payloads_b64: Sequence[str | None],
) -> tuple[_Part | None, NDArray[np.intp]]:
    """Gen1 `shellies/<device>/emeter/<i>/<quantity>` messages, given with their topic's kind: (their rows, the
    members left to the per-message parser)."""
    devices = tuple(dict.fromkeys(kind[1] for kind, _members in kinds))
    # Each member's device code, channel, value column and bounds: its topic's (a single topic's, as an object of
    # one message holds, stay scalars).
    device: Any
    channel: Any
    column: Any
    if len(kinds) == 1:
        (_name, _device_id, channel, field), members = kinds[0]
        device, column, (low, high) = 0, _COLUMN[field], _FIELD_BOUNDS[field]
    else:
        members = np.concatenate([member_array for _kind, member_array in kinds])
        order = np.argsort(members, kind="stable")  # message order, as `_payload_texts` reads them
        members = members[order]
        sizes = [len(member_array) for _kind, member_array in kinds]
        device = np.repeat(np.array([devices.index(kind[1]) for kind, _members in kinds], np.int32), sizes)[order]
        channel = np.repeat(np.array([kind[2] for kind, _members in kinds], np.int64), sizes)[order]
        column = np.repeat(np.array([_COLUMN[kind[3]] for kind, _members in kinds], np.intp), sizes)[order]
        low, high = np.repeat(np.array([_FIELD_BOUNDS[kind[3]] for kind, _ in kinds]), sizes, axis=0)[order].T
    values = _plain_numbers(_payload_texts(members, payloads, payloads_b64))
    # NaN: not a plain number; -1 counters, out of bounds: the per-message parser
    good = np.isfinite(values) & (values >= low) & (values <= high)
    if not good.any():
        return None, members
    message = members[good]
    n = len(message)
    table = np.full((n, len(QUANTITIES)), np.nan)
    if len(kinds) == 1:
        table[:, column] = values[good]
        device, channel = np.zeros(n, np.int32), np.full(n, channel, np.int64)
    else:
        table[np.arange(n), column[good]] = values[good]
        device, channel = device[good], channel[good]
    rows = RowColumns(
        devices,
        device,
        channel,
        received[message] * 1000,
        received[message],
        np.zeros(n, np.bool_),
        table,
        np.full(n, None, dtype=object),
        message,
    )
    return _Part(rows, np.zeros(n, np.int64)), members[~good]


def _plain_numbers(data: Sequence[bytes | str | None]) -> NDArray[np.float64]:
    """Each payload's value as a plain decimal number (`_NUMBER_RE` around ASCII whitespace), NaN where it is not
    one. Texts of digits, signs, points and exponents only are what `float` and the pattern both take (`float`'s
    grammar without its underscores and words): those are converted at once, the pattern judges the rest."""
    if set(map(type, data)) == {bytes}:  # as stored (base64): ASCII whitespace stripped; anything else is no number
        texts: list[Any] = list(map(bytes.strip, cast(list[bytes], data)))
        if not b" ".join(texts).translate(None, _NUMBER_BYTES):
            try:
                return np.fromiter(map(float, texts), np.float64, len(texts))
            except ValueError:  # "", "-", "1e": the pattern says which
                pass
        matches: list[Any] = list(map(_NUMBER_BYTES_RE.fullmatch, texts))
    else:
        texts = [
            (text.decode("ascii") if text.isascii() else "") if isinstance(text, bytes) else text or "" for text in data
        ]
        texts = list(map(str.strip, texts))
        matches = list(map(_NUMBER_RE.fullmatch, texts))
    plain = np.fromiter(map(bool, matches), np.bool_, len(texts))
    values = np.full(len(texts), np.nan)
    if plain.any():
        values[plain] = list(map(float, [text for text, ok in zip(texts, plain.tolist(), strict=True) if ok]))
    return values


_NUMBER_BYTES: Final = b"0123456789+-.eE "
_NUMBER_BYTES_RE: Final = re.compile(_NUMBER_RE.pattern.encode("ascii"))
_FIELD_BOUNDS: Final = {field: _BOUNDS[FIELD_KIND[field]] for field in gen1.EMETER_TOPIC_FIELDS.values()}


def parse_object(
    data: bytes | str, *, now_ms: int, source_key: str | None = None, device_id: str | None = None
) -> ParsedBatch:
    """`parse_object_rows` over one stored raw object (newline-delimited envelopes), as a batch: each line framed by
    the typed envelope decoder, a line it refuses left to `parse_line`, which records it with its reason."""
    raw = envelope._as_bytes(data)
    stored = blocks.stored_columns(raw, limits.MAX_LINE_BYTES)
    if stored is not None:  # the common object: a line per envelope, every payload base64, as the rules store them
        count = len(stored.topics)
        return parse_messages(
            stored.topics,
            stored.received_ms,
            [None] * count,
            stored.payloads_b64,
            now_ms=now_ms,
            device_id=device_id,
            source_key=source_key,
            lines=BlockLines(raw, count, strip_returns=False),  # (a rejected message's record holds its line)
        )
    lines, pretty = envelope.object_lines(raw)
    if not lines or pretty:
        # empty, or perhaps one envelope pretty-printed over several lines: the per-message framing decides
        return _batch_of(envelope.parse_object_rows(raw, now_ms=now_ms, source_key=source_key, device_id=device_id))
    if max(map(len, lines)) > limits.MAX_LINE_BYTES:
        lines_to_decode = [line if len(line) <= limits.MAX_LINE_BYTES else b"" for line in lines]
    else:
        lines_to_decode = lines
    decoded = frames.decode_each(frames.STORED_ENVELOPE.decode, lines_to_decode)
    payloads = list(map(_PAYLOAD, decoded)) if not decoded.count(None) else None
    if payloads is not None and payloads.count(None) == len(decoded):  # all base64, as the rules store them
        topics = list(map(_TOPIC, decoded))
        received_ms = list(map(_RECEIVED_MS, decoded))
        encoded = list(map(_PAYLOAD_B64, decoded))
        if encoded.count(None):  # neither payload: the per-line rule says so
            topics = [_NOT_A_TOPIC if text is None else topic for topic, text in zip(topics, encoded, strict=True)]
    else:  # a line refused, or exactly one of payload and payload_b64 not met: those are `parse_line`'s
        framed = [
            fields if fields is not None and (fields.payload is None) != (fields.payload_b64 is None) else None
            for fields in decoded
        ]
        topics = [_NOT_A_TOPIC if fields is None else fields.topic for fields in framed]
        received_ms = [0 if fields is None else fields.received_ms for fields in framed]
        payloads = [None if fields is None else fields.payload for fields in framed]
        encoded = [None if fields is None else fields.payload_b64 for fields in framed]
    return parse_messages(
        topics,
        received_ms,
        payloads,
        encoded,
        now_ms=now_ms,
        device_id=device_id,
        source_key=source_key,
        lines=lines,
    )


_NOT_A_TOPIC: Final = ""  # a line the typed decoder refused: no topic kind, so `parse_line` reads it
_TOPIC: Final = operator.attrgetter("topic")
_RECEIVED_MS: Final = operator.attrgetter("received_ms")
_PAYLOAD: Final = operator.attrgetter("payload")
_PAYLOAD_B64: Final = operator.attrgetter("payload_b64")


def _batch_of(outcomes: Sequence[list[Row] | QuarantineRecord]) -> ParsedBatch:
    rows: list[Row] = []
    messages: list[int] = []
    quarantined: list[tuple[int, QuarantineRecord]] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, QuarantineRecord):
            quarantined.append((index, outcome))
        else:
            rows.extend(outcome)
            messages.extend([index] * len(outcome))
    return ParsedBatch(RowColumns.from_rows(rows, messages), quarantined, len(outcomes))
