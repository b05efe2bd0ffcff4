"""`wattline serve`: one home as a self-hosted service, no cloud — what a Home Assistant or emoncms user runs.

- **Ingest**: the MQTT bridge subscribes to the user's broker (host, port, TLS, user/password from `ServeSettings`
  in wattline.local.serve_settings; the IoT rules' Gen1 `shellies/…` and Gen2 topic filters) with a persistent
  session at QoS 1 and writes raw envelopes in Firehose-like batches. A message is acknowledged to the broker only
  once its batch is stored, so a crash loses nothing the broker still holds (it redelivers; the aggregator drops the
  repeats).
- **Schedule**: every `serve_tick_seconds` the cloud's daily run is due when a UTC day closed (plan → aggregate →
  transfer → load → detect → notify, the local runtime's events); the near-real-time watchdog (the AWS one's
  domain code, `wattline.alerts.watchdog`) raises `offline` / site `outage` for meters silent now.
- **Dashboard**: rendered after every tick that changed something, served on 127.0.0.1 with a live refresh.
- **Stop**: SIGTERM or SIGINT flushes the open batches (their events are queued first), finishes the event in
  hand and releases the home; whatever is still pending is done by the next start or `wattline run`.

`wattline demo` drives the same `HomeService.tick` with its simulated clock.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wattline.alerts.watchdog import WatchdogOptions, run_watchdog
from wattline.local.runtime import ALERTS_TOPIC, RunReport, Runtime
from wattline.local.serve_settings import ServeSettings

logger = logging.getLogger(__name__)
REFRESH_S = 60


@dataclass
class ServiceStatus:
    started: str
    ticks: int = 0
    last_tick: str | None = None
    handled: int = 0
    dead_lettered: int = 0
    watchdog_alerts: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)


class HomeService:
    """The schedule of one home: `tick(now)` does whatever is due (see the module docstring)."""

    def __init__(
        self, runtime: Runtime, *, watchdog: WatchdogOptions | None = None, dashboard: Path | None = None
    ) -> None:
        """`watchdog`: judge silence now with these options (None: the meters' silence is history, as in the demo)."""
        self.runtime = runtime
        self.watchdog = watchdog
        self.dashboard = dashboard
        self.status = ServiceStatus(started=datetime.now(UTC).isoformat())

    def tick(self, now: datetime, *, on_event: Callable[[Any], None] | None = None) -> RunReport:
        """Run the daily schedule when a UTC day closed, every pending event, then the watchdog."""
        runtime = self.runtime
        if runtime.pending_raw_days(now):
            runtime.schedule(now)
        report = runtime.run(on_event=on_event) if runtime.queue.pending() else RunReport()
        if self.watchdog is not None:
            found = run_watchdog(runtime.s3, runtime.publisher, options=self.watchdog, now=now)
            self.status.watchdog_alerts += len(found.published)
            if runtime.queue.pending():
                more = runtime.run(on_event=on_event)
                report.handled.update({k: report.handled.get(k, 0) + v for k, v in more.handled.items()})
                report.dead += more.dead
        changed = sum(report.handled.values())
        if self.dashboard is not None and (changed or self.status.ticks == 0):
            from wattline.local.summary import write_report

            write_report(runtime, self.dashboard)
        self.status.ticks += 1
        self.status.last_tick = now.isoformat()
        self.status.handled += changed
        self.status.dead_lettered += report.dead
        return report


def client_id_for(home: Path) -> str:
    """One persistent MQTT session per home (the broker keeps its unacknowledged messages between runs)."""
    return "wattline-serve-" + hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]


def serve(
    runtime: Runtime,
    settings: ServeSettings,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ready: Callable[[dict[str, Any]], None] | None = None,
) -> ServiceStatus:
    """Run until `stop` is set (SIGTERM/SIGINT set it when called from the main thread). The runtime must hold
    the home's lock; it is released by the caller's `runtime.close()`."""
    from wattline.bridge import BridgeMode, MqttBridge

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    alerts = runtime.alert_settings()
    watchdog = WatchdogOptions(  # silence now, over the raw bucket, into the home's own `alerts` topic
        thresholds=alerts.thresholds,
        tz=alerts.zone,
        delivery_lag_s=settings.serve_batch_seconds + 30,  # raw objects are written once a batch closes
        topic=ALERTS_TOPIC,
    )
    service = HomeService(runtime, watchdog=watchdog, dashboard=runtime.home.report)
    bridge = MqttBridge(
        runtime.s3,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        mode=BridgeMode.BATCHED,
        batch_seconds=settings.serve_batch_seconds,
        client_id=settings.mqtt_client_id or client_id_for(runtime.home.root),
        persistent=True,
        tls=settings.mqtt_tls,
        ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
    )
    server = _dashboard_server(runtime.home.report, service.status, bridge, settings.serve_dashboard_port)
    bridge.start()
    try:
        if ready is not None:
            ready({"dashboard": None if server is None else f"http://127.0.0.1:{server.server_address[1]}/"})
        while not stop.is_set():
            try:
                service.tick(clock())
            except Exception as exc:  # one bad tick (a full disk, a locked warehouse) must not end the service
                logger.exception("serve: tick failed")
                service.status.errors = [*service.status.errors[-9:], f"{type(exc).__name__}: {exc}"]
            runtime.close_warehouse()  # between ticks `wattline energy`, `alerts` and `report` can read it
            stop.wait(settings.serve_tick_seconds)
    finally:
        bridge.stop()  # writes the open batches (events first), then acknowledges their messages
        if server is not None:
            server.shutdown()
            server.server_close()
    service.status.messages = bridge.stats.messages
    return service.status


def _dashboard_server(
    page: Path, status: ServiceStatus, bridge: Any, port: int
) -> http.server.ThreadingHTTPServer | None:
    """The dashboard (refreshing itself every minute) at `/`, the service's state as JSON at `/status`."""
    if port == 0:
        return None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/status":
                body = json.dumps({**status.__dict__, "bridge": bridge.stats.__dict__}, default=str).encode()
                self._send(200, "application/json", body)
            elif self.path in ("/", "/index.html"):
                html = page.read_text(encoding="utf-8") if page.exists() else "<p>No data yet.</p>"
                refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">'
                self._send(200, "text/html; charset=utf-8", html.replace("<head>", f"<head>{refresh}", 1).encode())
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("dashboard: " + format, *args)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server
