"""MQTT brokers for the local stack: embedded amqtt (in-process, default) or a mosquitto process.

Both bind 127.0.0.1 on a free port and are context managers exposing `host` and `port`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wattline.local.servers import ServerProcess

HOST = "127.0.0.1"


class BrokerUnavailableError(RuntimeError):
    """The asked-for broker cannot run here (binary missing or it did not start); the message says what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, *, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


class EmbeddedBroker:
    """amqtt running on its own event loop in a daemon thread. QoS 0/1, MQTT 3.1.1, anonymous, 127.0.0.1 only."""

    def __init__(self, port: int | None = None) -> None:
        self.host = HOST
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 50}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }

    def start(self) -> EmbeddedBroker:
        for name in ("amqtt", "transitions"):
            quiet = logging.getLogger(name)
            quiet.setLevel(logging.CRITICAL)
            quiet.propagate = False
        self._thread = threading.Thread(target=self._run, name="wattline-amqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self._error is not None:
            raise BrokerUnavailableError(f"the embedded MQTT broker (amqtt) did not start: {self._error}")
        if not wait_for_port(self.port):
            raise BrokerUnavailableError(f"the embedded MQTT broker is not listening on {self.host}:{self.port}")
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = Broker(self.config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # report any start failure to the caller thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        with contextlib.suppress(Exception):
            loop.run_until_complete(self._broker.shutdown())
        loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MosquittoBroker:
    """A mosquitto process with a generated config (127.0.0.1, anonymous), stopped by its process group."""

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        self.host = HOST
        self.port = port or free_port()
        from wattline.local.servers import mosquitto_binary

        found = Path(binary) if binary else mosquitto_binary()
        self.binary = str(found) if found else None
        self._server: ServerProcess | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> MosquittoBroker:
        from wattline.local.servers import start_mosquitto

        if not self.binary:
            raise BrokerUnavailableError(
                "mosquitto is not installed: `apt-get install -y mosquitto` (or run without --broker mosquitto)"
            )
        self._dir = tempfile.TemporaryDirectory(prefix="wattline-mosquitto-")
        try:
            self._server = start_mosquitto(Path(self._dir.name), self.port, Path(self.binary))
        except RuntimeError as exc:
            self.stop()
            raise BrokerUnavailableError(f"mosquitto did not start on {self.host}:{self.port}") from exc
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
