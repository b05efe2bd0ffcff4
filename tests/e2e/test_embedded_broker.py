"""The embedded broker (amqtt in a child process): it carries messages, and a killed parent leaves no broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from wattline.local.broker import EmbeddedBroker


def test_a_message_goes_through_the_embedded_broker() -> None:
    # Given the embedded broker and a subscriber
    received: list[bytes] = []
    arrived = threading.Event()
    with EmbeddedBroker() as broker:
        subscriber = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-sub")
        subscribed = threading.Event()
        subscriber.on_subscribe = lambda *_args: subscribed.set()
        subscriber.on_message = lambda _c, _u, message: (received.append(bytes(message.payload)), arrived.set())
        subscriber.connect(broker.host, broker.port)
        subscriber.loop_start()
        subscriber.subscribe("shellies/#", qos=1)
        assert subscribed.wait(10)

        # When a meter publishes
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-pub")
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        publisher.publish("shellies/shellyem-1/emeter/0/power", b"123.4", qos=1).wait_for_publish(10)

        # Then the subscriber gets it
        assert arrived.wait(10)
        for client in (publisher, subscriber):
            client.loop_stop()
            client.disconnect()
    assert received == [b"123.4"]


def test_a_killed_parent_leaves_no_broker_behind() -> None:
    # Given a process that started the embedded broker and prints the broker's pid
    script = textwrap.dedent(
        """
        import time
        from wattline.local.broker import EmbeddedBroker
        broker = EmbeddedBroker().start()
        print(broker._server.process.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    assert _alive(broker_pid)

    # When that process is killed without a chance to stop the broker
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)

    # Then the broker notices within seconds and exits
    deadline = time.monotonic() + 15
    while _alive(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(broker_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:  # a zombie (exited, not yet reaped by init) counts as gone
            return stat.read().split(")")[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
