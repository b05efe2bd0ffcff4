"""The local stand-in for AWS IoT Core's topic rules: MQTT messages in, exactly the raw objects the rules write.

The rules (infra/aws/wattline-ingest.yml, docs/aws.md "What the rules store"), the same topic filters here:
- Gen1: `shellies/+/emeter/+/+`, `shellies/+/online`, `shellies/+/relay/0`; the device is `topic(2)`.
- Gen2: `+/events/rpc`, `+/status/+`, `+/online` with `WHERE topic(1) <> 'shellies'`; the device is `topic(1)`.
Every rule stores `SELECT topic() AS topic, timestamp() AS received_ms, encode(*, 'base64') AS payload_b64`: the
payload bytes exactly as published, JSON or not.

Key: `raw/dt=<UTC day of received_ms>/device=<device>/<received_ms>-<uuid>.json`. A device id that is not a safe
path segment is written under `device=_invalid` (validate quarantines it as bad_device_id), so no topic can
escape its key. `raw_records` is pure and is what `wattline import` reuses; `MqttBridge` subscribes to a broker
(paho-mqtt 2.x) and writes one object per message (direct mode) or newline-delimited batches per device-day
flushed after N seconds or M bytes (batched mode, like Kinesis Firehose with dynamic partitioning).
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from wattline import keys
from wattline.aggregation import INVALID_DEVICE_SEGMENT
from wattline.models import Envelope, Generation
from wattline.ports import ObjectStore

logger = logging.getLogger(__name__)

GEN1_FILTERS: tuple[str, ...] = ("shellies/+/emeter/+/+", "shellies/+/online", "shellies/+/relay/0")
GEN2_FILTERS: tuple[str, ...] = ("+/events/rpc", "+/status/+", "+/online")
ALL_FILTERS: tuple[str, ...] = GEN1_FILTERS + GEN2_FILTERS
GEN1_ROOT = keys.GEN1_TOPIC_ROOT


class BridgeMode(StrEnum):
    DIRECT = "direct"
    BATCHED = "batched"


@dataclass(frozen=True)
class RawRecord:
    """One envelope as a rule writes it: its direct-mode key, the envelope, and the stored bytes."""

    key: str
    day: date
    device_segment: str
    envelope: Envelope
    line: bytes


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching (`+` one level, `#` the rest; wildcards never match a leading `$` topic)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_parts = topic_filter.split("/")
    topic_parts = topic.split("/")
    for index, part in enumerate(filter_parts):
        if part == "#":
            return True
        if index >= len(topic_parts):
            return False
        if part != "+" and part != topic_parts[index]:
            return False
    return len(filter_parts) == len(topic_parts)


@functools.lru_cache(maxsize=4096)  # a deployment's topics are few and repeat in every message
def rules_for(topic: str) -> tuple[Generation, ...]:
    """The rules whose filters match the topic (IoT Core runs every matching rule; usually zero or one)."""
    matched: list[Generation] = []
    if any(topic_matches(f, topic) for f in GEN1_FILTERS):
        matched.append(Generation.GEN1)
    if topic.split("/", 1)[0] != GEN1_ROOT and any(topic_matches(f, topic) for f in GEN2_FILTERS):
        matched.append(Generation.GEN2)
    return tuple(matched)


@functools.lru_cache(maxsize=4096)
def raw_segments(topic: str, *, keep_unmatched: bool = False) -> tuple[str, ...]:
    """The raw partitions (device segments) the rules store one message of this topic under, one per matching
    rule; with `keep_unmatched`, a topic no rule matches goes under `unmatched_segment(topic)`."""
    rules = rules_for(topic)
    if not rules:
        return (unmatched_segment(topic),) if keep_unmatched else ()
    return tuple(device_segment(topic, rule) for rule in rules)


def device_segment(topic: str, generation: Generation) -> str:
    """`topic(2)` for Gen1, `topic(1)` for Gen2 — or `_invalid` when that is not a safe device id."""
    parts = topic.split("/")
    index = 1 if generation is Generation.GEN1 else 0
    candidate = parts[index] if index < len(parts) else ""
    return candidate if keys.is_safe_device_id(candidate) else INVALID_DEVICE_SEGMENT


def make_envelope(topic: str, payload: bytes, received_ms: int) -> Envelope:
    """The envelope a rule stores for one message: the payload bytes base64 (`encode(*, 'base64')`); both rules
    store the same shape."""
    encoded = base64.b64encode(payload).decode("ascii")
    return Envelope.model_construct(topic=topic, received_ms=received_ms, payload=None, payload_b64=encoded)


def unmatched_segment(topic: str) -> str:
    """The partition of a message no rule stores (`raw_records(keep_unmatched=True)`): the device its topic names —
    `shellies/<id>/…` (three levels or more) or `<id>/…` (two or more) — or `_invalid` when that is no device id."""
    parts = topic.split("/")
    gen1 = parts[0] == GEN1_ROOT
    levels = len(parts) - (1 if gen1 else 0)  # the device's level and those after it
    candidate = parts[1 if gen1 else 0] if levels >= 2 else ""
    return candidate if keys.is_device_id(candidate) else INVALID_DEVICE_SEGMENT


def _record(envelope: Envelope, segment: str, unique: str) -> RawRecord:
    received_ms = envelope.received_ms
    day = utc_day(received_ms)
    line = envelope.to_json_line().encode("utf-8")
    return RawRecord(keys.raw_key(day, segment, received_ms, unique), day, segment, envelope, line)


def utc_day(received_ms: int) -> date:
    """The UTC day of a receive time: the raw partition's `dt`."""
    return datetime.fromtimestamp(received_ms / 1000, tz=UTC).date()


def raw_records(
    topic: str,
    payload: bytes,
    received_ms: int,
    *,
    unique: Callable[[], str] = lambda: str(uuid.uuid4()),
    keep_unmatched: bool = False,
) -> list[RawRecord]:
    """Every raw record the rules write for one message (none when no rule's filter matches the topic).

    With `keep_unmatched` (`wattline import`: nothing a capture holds is dropped unseen), a message no rule matches
    gets one record under `unmatched_segment(topic)`; validate and the aggregator then quarantine it with a reason.
    """
    segments = raw_segments(topic, keep_unmatched=keep_unmatched)
    if not segments:
        return []
    envelope = make_envelope(topic, payload, received_ms)
    return [_record(envelope, segment, unique()) for segment in segments]


def batch_key(day: date, device: str, first_received_ms: int, unique: str) -> str:
    """Key of a batched (Firehose-style) object: newline-delimited envelopes of one device-day."""
    return f"{keys.raw_prefix(day, device)}batch-{first_received_ms}-{unique}.jsonl"


def batch_body(lines: Sequence[bytes]) -> bytes:
    """Newline-delimited envelopes, each line ending with a newline (Firehose's AppendDelimiterToRecord)."""
    return b"".join(line + b"\n" for line in lines)


@dataclass
class _Batch:
    first_received_ms: int
    started: float
    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    acks: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos) of the messages it holds


@dataclass
class BridgeStats:
    messages: int = 0
    unmatched: int = 0
    records: int = 0
    objects: int = 0
    failures: int = 0


class MqttBridge:
    """Subscribes to the rules' topic filters on an MQTT broker and writes raw objects into a store.

    A QoS 1 message is acknowledged to the broker only once it is stored — in direct mode before the callback
    returns, in batched mode when its batch is written — so with a `persistent` session (a fixed client id, no
    clean start) the broker keeps and redelivers whatever a crash left unstored (at-least-once, like IoT Core;
    redeliveries are dropped later by the aggregator's dedup).
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        mode: BridgeMode = BridgeMode.DIRECT,
        batch_seconds: float = 60.0,
        batch_bytes: int = 5 * 1024 * 1024,
        client_id: str | None = None,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        on_stored: Callable[[str], None] | None = None,
        persistent: bool = False,
        tls: bool = False,
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.mode = BridgeMode(mode)
        self.batch_seconds = batch_seconds
        self.batch_bytes = batch_bytes
        self.client_id = client_id or f"wattline-bridge-{uuid.uuid4().hex[:8]}"
        self.clock_ms = clock_ms
        self.on_stored = on_stored
        self.persistent = persistent
        self.tls = tls
        self.ca_file = ca_file
        self.username = username
        self.password = password
        self.stats = BridgeStats()
        self._batches: dict[tuple[date, str], _Batch] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None
        self._client: Any = None

    def start(self, timeout: float = 10.0) -> MqttBridge:
        """Connect, subscribe (QoS 1) and return once the broker acknowledged the subscription."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=not self.persistent, manual_ack=True
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client
        if self.mode is BridgeMode.BATCHED:
            self._flusher = threading.Thread(target=self._flush_loop, name="bridge-flusher", daemon=True)
            self._flusher.start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError(f"MQTT broker {self.host}:{self.port} did not acknowledge the subscription")
        return self

    def stop(self) -> None:
        """Write every open batch, acknowledge its messages, then disconnect."""
        self._stopping.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
            self._flusher = None
        client = self._client
        self.flush()  # a message arriving after this is never acknowledged: the broker redelivers it next time
        if client is not None:
            client.disconnect()
            client.loop_stop()
            self._client = None

    def __enter__(self) -> MqttBridge:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def handle(
        self, topic: str, payload: bytes, received_ms: int | None = None, ack: tuple[int, int] | None = None
    ) -> list[str]:
        """Store one message as the rules would; returns the keys written (batched mode: none until a flush).
        `ack` (mid, qos) is acknowledged to the broker once the message is stored."""
        received = self.clock_ms() if received_ms is None else received_ms
        records = raw_records(topic, payload, received)
        with self._lock:
            self.stats.messages += 1
            self.stats.records += len(records)
            if not records:
                self.stats.unmatched += 1
        if self.mode is BridgeMode.DIRECT or not records:
            stored = all([self._put(record.key, record.line, "application/json") for record in records])
            if stored:
                self._ack([ack] if ack else [])
            return [record.key for record in records]
        written: list[str] = []
        for index, record in enumerate(records):
            full = None
            with self._lock:
                batch = self._batches.setdefault(
                    (record.day, record.device_segment), _Batch(record.envelope.received_ms, time.monotonic())
                )
                if ack is not None and index == len(records) - 1:
                    batch.acks.append(ack)  # acknowledged with the message's last record
                batch.lines.append(record.line)
                batch.size += len(record.line) + 1
                if batch.size >= self.batch_bytes:
                    full = ((record.day, record.device_segment), self._batches.pop((record.day, record.device_segment)))
            if full is not None:
                written.append(self._write_batch(*full))
        return written

    def flush(self, *, older_than: float | None = None) -> list[str]:
        """Write the open batches (only those older than `older_than` seconds, when given)."""
        now = time.monotonic()
        with self._lock:
            due = [
                (partition, batch)
                for partition, batch in self._batches.items()
                if older_than is None or now - batch.started >= older_than
            ]
            for partition, _batch in due:
                del self._batches[partition]
        return [self._write_batch(partition, batch) for partition, batch in sorted(due, key=lambda item: item[0])]

    def _write_batch(self, partition: tuple[date, str], batch: _Batch) -> str:
        key = batch_key(partition[0], partition[1], batch.first_received_ms, str(uuid.uuid4()))
        if self._put(key, batch_body(batch.lines), "application/x-ndjson"):
            self._ack(batch.acks)
        return key

    def _put(self, key: str, data: bytes, content_type: str) -> bool:
        try:
            self.store.put(key, data, content_type=content_type)
        except Exception:
            with self._lock:
                self.stats.failures += 1
            logger.exception("bridge: cannot store %s", key)
            return False  # not acknowledged: a persistent session gets it again after a reconnect
        with self._lock:
            self.stats.objects += 1
        if self.on_stored is not None:
            self.on_stored(key)
        return True

    def _ack(self, acks: Sequence[tuple[int, int]]) -> None:
        client = self._client
        if client is None:
            return
        for mid, qos in acks:
            if qos > 0:
                client.ack(mid, qos)

    def _flush_loop(self) -> None:
        period = max(0.05, min(1.0, self.batch_seconds / 4))
        while not self._stopping.wait(period):
            self.flush(older_than=self.batch_seconds)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            logger.error("bridge: broker refused the connection: %s", reason_code)
            return
        client.subscribe([(topic_filter, 1) for topic_filter in ALL_FILTERS])

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reason_codes: Any, properties: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            self.handle(message.topic, bytes(message.payload), ack=(message.mid, message.qos))
        except Exception:  # a callback must never kill paho's network loop
            with self._lock:
                self.stats.failures += 1
            logger.exception("bridge: cannot handle a message on %s", getattr(message, "topic", "?"))
