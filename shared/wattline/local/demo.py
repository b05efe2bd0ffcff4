"""`wattline demo` as a library: simulated meters → MQTT broker → bridge → raw/ → the whole flow → summary.

The meters run on simulated time, much faster than the wall clock, and a broker stamps no time of its own, so the
bridge takes each message's receive time from the simulator's record of when the broker would have received it
(`ReceiveTimes`, looked up by topic and payload), exactly what the IoT rule's `timestamp()` gives in the cloud.
Everything else is the real path: paho publishes to the broker, the bridge subscribes and writes raw objects.
Only the last day (`live_days`) goes through the broker; the days before it are backfilled as `wattline import`
writes a capture, which takes seconds where the Python broker takes minutes for a week.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wattline.bridge import BridgeMode, MqttBridge
from wattline.importers import Message, batch_objects
from wattline.local.lock import HomeLock
from wattline.local.runtime import Home, Runtime, daily_ticks, load_settings, simulated_now
from wattline.local.serve import HomeService
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
    "emulators",
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
    backfilled: int = 0  # the earlier days' messages, imported as `wattline import` does instead of published
    settings_note: str | None = None  # what to add to the home's own wattline.toml to see the simulated PV clamp

    @property
    def received(self) -> int:
        """Every message the pipeline was given: published live plus backfilled."""
        return self.published + self.backfilled


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


def checkout_root() -> Path:
    """The wattline checkout this package runs from (services/ and .tools/ beside shared/)."""
    import wattline

    return Path(wattline.__file__).resolve().parents[2]


NOTIFY_TOPIC = "gcs-notifications"
NOTIFY_SUBSCRIPTION = "gcs-to-eventarc"
DATASET = "wattline"


@dataclass
class EmulatorStack:
    """What `emulator_runtime` started: the runtime, and a wait for the BigQuery objects (created in the
    background, ~15 s on bqemulator, while the meters publish)."""

    runtime: Runtime
    warehouse_ready: Callable[[], None]


def emulator_runtime(home: Path, *, clock: Callable[[], datetime]) -> EmulatorStack:
    """A runtime whose clouds are local API servers, each on a free 127.0.0.1 port, stopped by `runtime.close()`:
    moto (the S3 raw bucket), fake-gcs-server (the GCS daily bucket, announcing finalized `daily/` objects on the
    Pub/Sub emulator), the Pub/Sub emulator (`energy-updated`, `alerts`, the GCS notifications), bqemulator (the
    BigQuery warehouse, made by `wattline gcp init`'s code) and two functions-framework processes: the loader
    (services/gcp-loader, fed by `NotificationRelay` with Eventarc's storage CloudEvents) and alert detection
    (services/gcp-alerts `detect`, fed energy.updated as messagePublished CloudEvents; it reads the daily files
    from fake-gcs-server, since bqemulator's external tables return no rows). Notifications are delivered
    in-process from the `alerts` subscription. A missing server stops it before anything starts, naming every
    missing one and how to install it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    from wattline.adapters.gcs_store import GcsObjectStore
    from wattline.adapters.s3_store import S3ObjectStore
    from wattline.errors import TransientError
    from wattline.local.events import NotificationRelay
    from wattline.local.runtime import (
        ALERTS_TOPIC,
        EMULATOR_PROJECT,
        ENERGY_TOPIC,
        GCS_BUCKET,
        RAW_BUCKET,
        enqueue_pubsub,
    )
    from wattline.local.servers import (
        EmulatorPubSub,
        ServerMissingError,
        ServerProcess,
        emulator_stack_missing,
        functions_framework,
        start_bqemulator,
        start_fake_gcs,
        start_moto,
        start_pubsub_emulator,
    )
    from wattline.transfer import SyncReport
    from wattline.warehouse import init_warehouse, open_warehouse
    from wattline.warehouse.settings import WarehouseSettings

    root = checkout_root()
    tools = root / ".tools" / "bqemulator"
    loader_source = root / "services" / "gcp-loader" / "main.py"
    alerts_source = root / "services" / "gcp-alerts" / "main.py"
    missing = emulator_stack_missing(tools, [loader_source, alerts_source])
    if missing:
        raise ServerMissingError(
            "the emulator stack needs servers that are not installed:\n  - " + "\n  - ".join(missing)
        )
    logs = home / "emulators" / "logs"
    gcs_root = home / "emulators" / "gcs"
    settings = load_settings(home)
    started: list[ServerProcess] = []
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            booting = [
                pool.submit(start_moto, logs),
                pool.submit(start_pubsub_emulator, logs),
                pool.submit(start_bqemulator, tools, EMULATOR_PROJECT, logs),
            ]
            failures = []
            for future in booting:
                try:
                    started.append(future.result())
                except BaseException as exc:
                    failures.append(exc)
            if failures:
                raise failures[0]
        moto, pubsub_server, bqemulator = started
        pubsub = EmulatorPubSub(pubsub_server.address, EMULATOR_PROJECT, [ENERGY_TOPIC, ALERTS_TOPIC])
        notifications = pubsub.add_topic(NOTIFY_TOPIC, NOTIFY_SUBSCRIPTION)
        events = ["-event.pubsub-project-id", EMULATOR_PROJECT, "-event.pubsub-topic", NOTIFY_TOPIC]
        events += ["-event.object-prefix", "daily/", "-event.list", "finalize"]
        fake_gcs = start_fake_gcs(
            gcs_root, logs, extra_args=events, env={"PUBSUB_EMULATOR_HOST": pubsub_server.address}
        )
        started.append(fake_gcs)
        site = {
            "WATTLINE_HOME": str(home),
            "WATTLINE_TIMEZONE": settings.timezone,
            "WATTLINE_TARIFF": settings.tariff,
            "WATTLINE_INTEGRATION_METHOD": settings.integration_method.value,
            "WATTLINE_MAX_GAP_SECONDS": str(settings.max_gap_seconds),
            "WATTLINE_MAX_POWER_W": str(settings.max_power_w),
            "WATTLINE_RATED_MAX_POWER_W": str(settings.rated_max_power_w),
            "PUBSUB_EMULATOR_HOST": pubsub_server.address,
            "WATTLINE_GCP_PROJECT": EMULATOR_PROJECT,
            "WATTLINE_WAREHOUSE": "bigquery",
            "WATTLINE_BQ_ENDPOINT": bqemulator.url,
            "WATTLINE_BQ_DATASET": DATASET,
            "WATTLINE_BUCKET": GCS_BUCKET,
            "WATTLINE_GCS_ENDPOINT": fake_gcs.url,
            "WATTLINE_PUBLISHER": "pubsub",
        }
        loader_env = {**site, "WATTLINE_STORAGE": "gcs", "WATTLINE_ENERGY_TOPIC": ENERGY_TOPIC}
        detect_env = {
            **site,
            "WATTLINE_ALERTS_READINGS_SOURCE": "objects",
            "WATTLINE_ALERTS_WATERMARK": "newest_reading",  # as the embedded runtime: nothing else judges silence now
            "WATTLINE_ALERTS_TOPIC": ALERTS_TOPIC,
        }
        functions = [
            functions_framework(loader_source, "load_daily_file", logs, env=loader_env, cwd=root),
            functions_framework(alerts_source, "detect", logs, env=detect_env, cwd=root),
        ]
        for function in functions:
            started.append(function.launch())
        for function in functions:
            function.wait_ready()
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    loader, detect = functions
    region = "us-east-1"
    client = boto3.client(
        "s3", endpoint_url=moto.url, region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    client.create_bucket(Bucket=RAW_BUCKET)
    s3 = S3ObjectStore(RAW_BUCKET, endpoint_url=moto.url, region=region, client=client)
    gcs = GcsObjectStore(GCS_BUCKET, project=EMULATOR_PROJECT, endpoint=fake_gcs.url)
    gcs.ensure_bucket()
    warehouse_settings = WarehouseSettings.model_validate({**settings.model_dump(), **_warehouse_fields(site)})
    warehouse = open_warehouse(warehouse_settings)
    init_error: list[BaseException] = []

    def init() -> None:
        try:
            init_warehouse(warehouse, warehouse_settings)
        except BaseException as exc:  # reported by warehouse_ready()
            init_error.append(exc)

    initialising = threading.Thread(target=init, name="bqemulator-init", daemon=True)
    initialising.start()

    def warehouse_ready() -> None:
        initialising.join()
        if init_error:
            raise RuntimeError(f"creating the BigQuery objects on bqemulator failed: {init_error[0]}") from init_error[
                0
            ]

    runtime = Runtime(home, clock=clock, s3_store=s3, gcs_store=gcs, gcs_fs_root=gcs_root, warehouse=warehouse)
    runtime.publisher = pubsub.publisher

    def deliver_copied(report: SyncReport) -> None:
        relay = NotificationRelay(notifications, loader.url, subscriber=pubsub.subscriber)
        stats = relay.drain(wait_s=1.0, min_delivered=len(report.copied))
        if stats.failed:
            raise TransientError(
                f"{stats.failed} storage events failed at the loader function (log: {loader.log}); redelivered next"
            )

    runtime.deliver_copied = deliver_copied
    runtime.detect_url = detect.url
    runtime.readings_from_objects = True
    deliver = enqueue_pubsub(runtime.queue)
    runtime.inbound = lambda: pubsub.pull(deliver)
    runtime.closers.extend(server.stop for server in started)
    return EmulatorStack(runtime, warehouse_ready)


def _warehouse_fields(env: dict[str, str]) -> dict[str, str]:
    """The WarehouseSettings fields among the functions' WATTLINE_* variables (one configuration for all)."""
    names = ("WAREHOUSE", "GCP_PROJECT", "BQ_ENDPOINT", "BQ_DATASET", "BUCKET")
    return {name.lower(): env[f"WATTLINE_{name}"] for name in names}


def run_demo(
    home: Path,
    *,
    devices: int = 2,
    days: int,
    live_days: int = 1,
    seed: int = 7,
    broker: str = "amqtt",
    today: date | None = None,
    progress: Progress | None = None,
    stack: str = "embedded",
) -> tuple[DemoResult, Runtime]:
    """The whole demo: simulate, backfill the days before the last `live_days`, publish those through the broker
    and bridge, run every stage; returns the result and the (open) runtime."""
    if not 1 <= live_days <= days:
        raise ValueError(f"live_days must be between 1 and days ({days}), got {live_days}")
    timings: dict[str, float] = {}
    started = time.monotonic()
    home.mkdir(parents=True, exist_ok=True)
    lock = HomeLock(home).acquire()  # before anything is erased; the runtime holds it from here on
    try:
        reset_home(home)
    except BaseException:
        lock.release()
        raise
    Home(home).demo_state.write_text(json.dumps({"status": "running", "started_at": datetime.now(UTC).isoformat()}))
    scenario = simulate(devices=devices, days=days, seed=seed, today=today)
    settings_note = give_pv_clamps_their_role(home, scenario)
    paths = Home(home)
    write_capture(scenario, paths.capture)
    timings["simulate"] = time.monotonic() - started

    # The wall clock — or, when the simulated days are not yet closed by it (a demo run just after local
    # midnight), the time the last simulated day closes: detection never sees the simulation's end as "now".
    def clock() -> datetime:
        return max(datetime.now(UTC), simulated_now(scenario.end))

    warehouse_ready: Callable[[], None] = lambda: None  # noqa: E731
    if stack == "emulators":
        mark = time.monotonic()
        emulators = emulator_runtime(home, clock=clock)
        runtime, warehouse_ready = emulators.runtime, emulators.warehouse_ready
        broker = "mosquitto"
        timings["servers"] = time.monotonic() - mark
    else:
        runtime = Runtime(home, clock=clock)
    runtime.home_lock = lock
    try:
        history, live = split_live(scenario, live_days)
        mark = time.monotonic()
        backfilled = backfill(history, runtime)
        timings["backfill"] = time.monotonic() - mark
        mark = time.monotonic()
        published, bridged = publish_through_broker(live, runtime, broker=broker, progress=progress)
        timings["publish"] = time.monotonic() - mark
        if bridged != published:
            raise RuntimeError(f"the bridge stored {bridged} of {published} messages: the broker dropped some")
        mark = time.monotonic()
        warehouse_ready()
        if stack == "emulators":
            timings["warehouse"] = time.monotonic() - mark
    except BaseException:
        runtime.close()
        raise

    mark = time.monotonic()
    done = 0
    pending = 0

    def tick(_event: object) -> None:
        nonlocal done, pending
        done += 1
        if progress is not None and done % 5 == 0:
            pending = max(pending, done + runtime.queue.pending_count())
            progress("pipeline", done, pending)

    # The daily schedule fires once per simulated UTC day, as it would have while the meters ran: each day's
    # alerts are detected (and sent) when its daily files arrive, not all at once as a backfill.
    service = HomeService(runtime)  # `wattline serve`'s schedule, no watchdog: the meters' silence is history
    for closes in daily_ticks(scenario.start, scenario.end):
        service.tick(closes, on_event=tick)
    if progress is not None:
        progress("pipeline", done, done)
    timings["pipeline"] = time.monotonic() - mark
    if stack == "emulators":
        from wattline.local.ledger import queue_ledger, save_ledger

        save_ledger(home, queue_ledger(runtime.queue, runtime.s3.inner, runtime.gcs, runtime.clock()))
    paths.demo_state.write_text(
        json.dumps(
            {
                "devices": [spec.device_id for spec in scenario.devices],
                "start": scenario.start.isoformat(),
                "end": scenario.end.isoformat(),
                "days": scenario.dates(),
                "seed": seed,
                "stack": stack,
                "published": published,
                "backfilled": backfilled,
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
    runtime.home_lock.release()  # written: the runtime returned is for reading (another `run` may write now)
    return DemoResult(scenario, published, bridged, timings, backfilled, settings_note), runtime


DEMO_SETTINGS_MARK = "# Written by `wattline demo` for its simulated meters; delete this line to keep your edits."


def give_pv_clamps_their_role(home: Path, scenario: Scenario) -> str | None:
    """The simulated Pro EM's channel 1 is a PV clamp: give it the `solar` role in `<home>/wattline.toml` when the
    demo owns that file (absent, or written by the demo), so the demo and every later command on the home show its
    generation and self-consumption. A home's own file is left alone: returns a note saying what to add."""
    roles = {f"{s.device_id}:{s.solar_channel}": "solar" for s in scenario.devices if s.solar_channel is not None}
    path = home / "wattline.toml"
    if path.is_file() and not path.read_text(encoding="utf-8").startswith(DEMO_SETTINGS_MARK):
        missing = {key: role for key, role in roles.items() if key not in load_settings(home).channels}
        if not missing:
            return None
        table = "\n".join(f'"{key}" = "{role}"' for key, role in missing.items())
        return f"to see the simulated PV clamp's self-consumption, add to {path}:\n[channels]\n{table}"
    lines = [DEMO_SETTINGS_MARK, "[channels]", *(f'"{key}" = "{role}"' for key, role in roles.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return None


def split_live(scenario: Scenario, live_days: int) -> tuple[list[SimMessage], list[SimMessage]]:
    """(history, live): the messages received before the last `live_days` local days began, and the rest (all of
    them when every day is live)."""
    dates = scenario.dates()
    if live_days >= len(dates):
        return [], scenario.messages
    zone = ZoneInfo(scenario.timezone)
    first_live = datetime.combine(date.fromisoformat(dates[-live_days]), datetime.min.time(), zone)
    cutoff_ms = int(first_live.timestamp() * 1000)
    split = bisect_left([message.received_ms for message in scenario.messages], cutoff_ms)
    return scenario.messages[:split], scenario.messages[split:]


def backfill(messages: list[SimMessage], runtime: Runtime) -> int:
    """Write earlier days into raw/ as `wattline import` writes a capture: batched objects of envelopes, whose
    puts queue validation like the bridge's. Publishing a week through the Python broker would take minutes."""
    for key, data in batch_objects(Message(m.topic, m.payload, m.received_ms) for m in messages):
        runtime.s3.put(key, data, content_type="application/x-ndjson")
    return len(messages)
