"""MQTT brokers for the local stack: embedded amqtt (a child Python process, default) or a mosquitto process.

Both bind 127.0.0.1 on a free port and are context managers exposing `host` and `port`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

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


class _BrokerProcess:
    """A broker server process with its files (config, log) in a temporary directory, stopped by its process
    group. Subclasses say how to launch it (`_launch`) and what to say when it does not start (`_failure`)."""

    kind = "broker"  # names the temporary directory

    def __init__(self, port: int | None = None) -> None:
        self.host = HOST
        self.port = port or free_port()
        self._server: ServerProcess | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def _launch(self, directory: Path) -> ServerProcess:
        raise NotImplementedError

    def _failure(self, exc: RuntimeError) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        self._dir = tempfile.TemporaryDirectory(prefix=f"wattline-{self.kind}-")
        try:
            self._server = self._launch(Path(self._dir.name))
        except RuntimeError as exc:
            self.stop()
            raise BrokerUnavailableError(self._failure(exc)) from exc
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedBroker(_BrokerProcess):
    """amqtt in a child Python process: QoS 0/1, MQTT 3.1.1, anonymous, 127.0.0.1 only.

    A process of its own because the broker's per-message work would otherwise share one interpreter lock with the
    publisher and the bridge (publishing a demo day took 3× longer in a thread). The child exits when its parent
    is gone, so a killed demo leaves no broker behind."""

    kind = "amqtt"

    def _launch(self, directory: Path) -> ServerProcess:
        from wattline.local.servers import ServerProcess

        command = [
            sys.executable,
            "-m",
            "wattline.local.broker",
            "--port",
            str(self.port),
            "--parent",
            str(os.getpid()),
        ]
        return ServerProcess(self.kind, command, self.port, directory / "amqtt.log").start(timeout_s=30)

    def _failure(self, exc: RuntimeError) -> str:
        return f"the embedded MQTT broker (amqtt) did not start: {exc}"


def amqtt_config(port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{HOST}:{port}", "max_connections": 50}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve_amqtt(port: int, parent: int) -> None:
    """Run amqtt until `parent` is no longer this process's parent (it exited or was killed)."""
    from amqtt.broker import Broker

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    broker = Broker(amqtt_config(port))
    await broker.start()
    try:
        while os.getppid() == parent:
            await asyncio.sleep(1.0)
    finally:
        await broker.shutdown()


class MosquittoBroker(_BrokerProcess):
    """A mosquitto process with a generated config (127.0.0.1, anonymous)."""

    kind = "mosquitto"

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        super().__init__(port)
        from wattline.local.servers import mosquitto_binary

        found = Path(binary) if binary else mosquitto_binary()
        self.binary = str(found) if found else None

    def start(self) -> Self:
        if not self.binary:
            raise BrokerUnavailableError(
                "mosquitto is not installed: `apt-get install -y mosquitto` (or run without --broker mosquitto)"
            )
        return super().start()

    def _launch(self, directory: Path) -> ServerProcess:
        from wattline.local.servers import start_mosquitto

        return start_mosquitto(directory, self.port, Path(str(self.binary)))

    def _failure(self, exc: RuntimeError) -> str:
        return f"mosquitto did not start on {self.host}:{self.port}"


def main() -> None:
    """`python -m wattline.local.broker --port N --parent PID`: the embedded broker's process."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve_amqtt(args.port, args.parent))


if __name__ == "__main__":
    main()
