"""`wattline demo` as a library: simulated meters → MQTT broker → bridge → raw/ → the whole flow → summary.

The meters run on simulated time, much faster than the wall clock, and a broker stamps no time of its own, so the
bridge takes each message's receive time from the simulator's record of when the broker would have received it
(`ReceiveTimes`, looked up by topic and payload), exactly what the IoT rule's `timestamp()` gives in the cloud.
Everything else is the real path: paho publishes to the broker, the bridge subscribes and writes raw objects.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from wattline.bridge import BridgeMode, MqttBridge
from wattline.local.runtime import Home, Runtime, simulated_now
from wattline.simulator import Scenario, SimMessage, simulate

Progress = Callable[[str, int, int], None]  # (stage, done, total)

DEMO_FILES = (
    "s3",
    "gcs",
    "queue",
    "outbox",
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
    "capture.jsonl",
    "report.html",
    "demo.json",
)


class ReceiveTimes:
    """The receive time the simulator intended for each message, by (topic, payload), in publish order."""

    def __init__(self, messages: list[SimMessage]) -> None:
        self._times: dict[tuple[str, bytes], deque[int]] = defaultdict(deque)
        self._lock = threading.Lock()
        for message in messages:
            self._times[(message.topic, message.payload)].append(message.received_ms)

    def pop(self, topic: str, payload: bytes) -> int | None:
        with self._lock:
            queue = self._times.get((topic, payload))
            return queue.popleft() if queue else None


class SimulatedClockBridge(MqttBridge):
    """The bridge with the receive time taken from the simulation instead of the wall clock."""

    def __init__(self, *args: Any, receive_times: ReceiveTimes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receive_times = receive_times

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = bytes(message.payload)
        received = self.receive_times.pop(message.topic, payload)
        try:
            self.handle(message.topic, payload, received_ms=received)
        except Exception:  # never kill paho's network loop
            with self._lock:
                self.stats.failures += 1


@dataclass
class DemoResult:
    scenario: Scenario
    published: int
    bridged: int
    seconds: dict[str, float] = field(default_factory=dict)


class HomeInUseError(RuntimeError):
    """The home holds data the demo did not write (an import, a real run): the demo will not erase it."""


def reset_home(home: Path) -> None:
    """Remove what a previous demo left in the home (only the demo's own files; wattline.toml stays).

    A home with pipeline data but no `demo.json` marker was not made by the demo: refuse rather than erase it.
    """
    present = [name for name in DEMO_FILES if (home / name).exists()]
    if present and not (home / "demo.json").exists():
        raise HomeInUseError(
            f"{home} holds data the demo did not write ({', '.join(present)}); run the demo with "
            "--home pointing elsewhere (e.g. --home /tmp/wattline-demo), or remove that data yourself"
        )
    for name in DEMO_FILES:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_capture(scenario: Scenario, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in scenario.capture_lines():
            handle.write(line + "\n")


def start_broker(kind: str) -> Any:
    from wattline.local.broker import EmbeddedBroker, MosquittoBroker

    return (MosquittoBroker() if kind == "mosquitto" else EmbeddedBroker()).start()


def publish_through_broker(
    messages: list[SimMessage],
    runtime: Runtime,
    *,
    broker: str = "amqtt",
    qos: int = 0,
    progress: Progress | None = None,
    idle_timeout_s: float = 30.0,
    window: int = 3000,
) -> tuple[int, int]:
    """Start a broker and the bridge, publish every message, wait until the bridge stored them. (published, bridged)"""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    server = start_broker(broker)
    try:
        bridge = SimulatedClockBridge(
            runtime.s3,
            host=server.host,
            port=server.port,
            mode=BridgeMode.BATCHED,
            batch_seconds=3600.0,
            batch_bytes=2 * 1024 * 1024,
            receive_times=ReceiveTimes(messages),
        ).start()
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wattline-sim-meters")
        publisher.max_inflight_messages_set(500)
        publisher.max_queued_messages_set(0)
        publisher.connect(server.host, server.port, keepalive=60)
        publisher.loop_start()
        try:
            total = len(messages)
            stall = _Stall(bridge, idle_timeout_s)
            for number, message in enumerate(messages, start=1):
                publisher.publish(message.topic, message.payload, qos=qos)
                if number % 500 == 0:
                    # Flow control: keep at most `window` messages between the meters and the bridge, so the
                    # broker never buffers the whole simulation (amqtt slows down badly with deep queues).
                    while number - bridge.stats.messages > window and stall.alive():
                        time.sleep(0.01)
                    if progress is not None:
                        progress("publish", bridge.stats.messages, total)
            last, last_change = -1, time.monotonic()
            while bridge.stats.messages < total:
                if bridge.stats.messages != last:
                    last, last_change = bridge.stats.messages, time.monotonic()
                elif time.monotonic() - last_change > idle_timeout_s:
                    break
                if progress is not None:
                    progress("publish", bridge.stats.messages, total)
                time.sleep(0.05)
            if progress is not None:
                progress("publish", bridge.stats.messages, total)
        finally:
            publisher.loop_stop()
            publisher.disconnect()
            bridge.stop()
        return len(messages), bridge.stats.messages
    finally:
        server.stop()


class _Stall:
    """Notices when the bridge stops storing messages (the broker dropped some): no progress for `limit_s`."""

    def __init__(self, bridge: MqttBridge, limit_s: float) -> None:
        self.bridge, self.limit_s = bridge, limit_s
        self.seen, self.since = -1, time.monotonic()

    def alive(self) -> bool:
        now = time.monotonic()
        if self.bridge.stats.messages != self.seen:
            self.seen, self.since = self.bridge.stats.messages, now
            return True
        return now - self.since < self.limit_s


def emulator_runtime(home: Path, *, clock: Callable[[], datetime]) -> Runtime:
    """A runtime whose buckets are real API servers: moto (S3) and fake-gcs-server (GCS, its files under
    `<home>/emulators/gcs`, which the DuckDB warehouse reads as the external table), and `energy-updated` /
    `alerts` published to and pulled from the Pub/Sub emulator. The servers stop with `runtime.close()`. The
    loader and the alert functions stay in-process (see docs/demo.md)."""
    import boto3

    from wattline.adapters.gcs_store import GcsObjectStore
    from wattline.adapters.s3_store import S3ObjectStore
    from wattline.local.runtime import ALERTS_TOPIC, ENERGY_TOPIC, GCS_BUCKET, RAW_BUCKET, enqueue_pubsub
    from wattline.local.servers import EmulatorPubSub, start_fake_gcs, start_moto, start_pubsub_emulator

    logs = home / "emulators" / "logs"
    gcs_root = home / "emulators" / "gcs"
    started = []
    try:
        moto = start_moto(logs)
        started.append(moto)
        fake_gcs = start_fake_gcs(gcs_root, logs)
        started.append(fake_gcs)
        pubsub_server = start_pubsub_emulator(logs)
        started.append(pubsub_server)
        pubsub = EmulatorPubSub(f"127.0.0.1:{pubsub_server.port}", "wattline-local", [ENERGY_TOPIC, ALERTS_TOPIC])
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    region = "us-east-1"
    client = boto3.client(
        "s3", endpoint_url=moto.url, region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    client.create_bucket(Bucket=RAW_BUCKET)
    s3 = S3ObjectStore(RAW_BUCKET, endpoint_url=moto.url, region=region, client=client)
    gcs = GcsObjectStore(GCS_BUCKET, project="wattline-local", endpoint=fake_gcs.url)
    gcs.ensure_bucket()
    runtime = Runtime(home, clock=clock, s3_store=s3, gcs_store=gcs, gcs_fs_root=gcs_root)
    runtime.publisher = pubsub.publisher
    deliver = enqueue_pubsub(runtime.queue)
    runtime.inbound = lambda: pubsub.pull(deliver)
    runtime.closers.extend(server.stop for server in started)
    return runtime


def run_demo(
    home: Path,
    *,
    devices: int = 2,
    days: int = 1,
    seed: int = 7,
    broker: str = "amqtt",
    today: date | None = None,
    progress: Progress | None = None,
    stack: str = "embedded",
) -> tuple[DemoResult, Runtime]:
    """The whole demo: simulate, publish, bridge, run every stage; returns the result and the (open) runtime."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    home.mkdir(parents=True, exist_ok=True)
    reset_home(home)
    Home(home).demo_state.write_text(json.dumps({"status": "running", "started_at": datetime.now(UTC).isoformat()}))
    scenario = simulate(devices=devices, days=days, seed=seed, today=today)
    paths = Home(home)
    write_capture(scenario, paths.capture)
    timings["simulate"] = time.monotonic() - started

    if stack == "emulators":
        runtime = emulator_runtime(home, clock=lambda: scenario.end)
        broker = "mosquitto"
    else:
        runtime = Runtime(home, clock=lambda: scenario.end)
    mark = time.monotonic()
    published, bridged = publish_through_broker(scenario.messages, runtime, broker=broker, progress=progress)
    timings["publish"] = time.monotonic() - mark
    if bridged != published:
        raise RuntimeError(f"the bridge stored {bridged} of {published} messages: the broker dropped some")

    mark = time.monotonic()
    runtime.schedule(simulated_now(scenario.end))
    pending = len(runtime.queue.pending())
    done = 0

    def tick(_event: object) -> None:
        nonlocal done, pending
        done += 1
        if progress is not None and done % 5 == 0:
            pending = max(pending, done + len(runtime.queue.pending()))
            progress("pipeline", done, pending)

    runtime.run(on_event=tick)
    if progress is not None:
        progress("pipeline", done, done)
    timings["pipeline"] = time.monotonic() - mark
    paths.demo_state.write_text(
        json.dumps(
            {
                "devices": [spec.device_id for spec in scenario.devices],
                "start": scenario.start.isoformat(),
                "end": scenario.end.isoformat(),
                "days": scenario.dates(),
                "seed": seed,
                "published": published,
                "faults": [
                    {
                        "device_id": f.device_id,
                        "kind": f.kind.value,
                        "start": f.start.isoformat(),
                        "end": f.end.isoformat(),
                    }
                    for f in scenario.faults
                ],
                "status": "finished",
                "finished_at": datetime.now(UTC).isoformat(),
            },
            indent=2,
        )
    )
    return DemoResult(scenario, published, bridged, timings), runtime
