"""Real local servers for the alert tests, on 127.0.0.1 free ports, each stopped by its process group or thread:

- Google's Pub/Sub emulator (Java, google-cloud-cli) with PUSH subscriptions into
- functions-framework serving services/gcp-alerts/main.py (`detect`, `notify_email`, `notify_slack`), each its
  own process with its own DuckDB file (DuckDB is single-writer);
- an aiosmtpd SMTP server that requires STARTTLS, with a self-signed certificate made here (`cryptography`);
- an http.server standing in for the Slack Incoming Webhook.

Missing binaries skip with the reason. PUBSUB_EMULATOR_HOST is set in this process only while a client is built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import DeadlineExceeded

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
PUBSUB_EMULATOR = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
HOST = "127.0.0.1"
PROJECT = "wattline-alerts-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def spawn(name: str, cmd: list[str], port: int, log_dir: Path, env: Mapping[str, str]) -> Process:
    log = log_dir / f"{name}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            cmd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            cwd=REPO,
            start_new_session=True,
        )
    return Process(name, process, port, log)


def wait_listening(server: Process, timeout_s: float = 60) -> Process:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((HOST, server.port)) == 0:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{server.name} did not listen on {server.port} within {timeout_s}s:\n{server.log_tail()}")


def start_process(name: str, cmd: list[str], port: int, log_dir: Path, env: Mapping[str, str]) -> Process:
    return wait_listening(spawn(name, cmd, port, log_dir, env))


@pytest.fixture(scope="session")
def alert_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("alert-server-logs")


# --- Pub/Sub emulator ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def emulator_env(address: str) -> Iterator[None]:
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


@dataclass
class Emulator:
    server: Process
    _publisher: Any = None
    _subscriber: Any = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.server.port}"

    def clients(self) -> tuple[Any, Any]:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            with emulator_env(self.address):
                self._publisher = pubsub_v1.PublisherClient()
                self._subscriber = pubsub_v1.SubscriberClient()
        return self._publisher, self._subscriber

    def topic(self, name: str) -> str:
        publisher, _ = self.clients()
        path = f"projects/{PROJECT}/topics/{name}"
        with contextlib.suppress(Exception):
            publisher.create_topic(name=path)
        return path

    def push(self, topic: str, subscription: str, endpoint: str) -> None:
        _, subscriber = self.clients()
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/{subscription}",
            topic=self.topic(topic),
            push_config={"push_endpoint": endpoint},
            ack_deadline_seconds=30,
        )

    def pull_subscription(self, topic: str, subscription: str) -> str:
        _, subscriber = self.clients()
        path = f"projects/{PROJECT}/subscriptions/{subscription}"
        subscriber.create_subscription(name=path, topic=self.topic(topic), ack_deadline_seconds=30)
        return path

    def publish(self, topic: str, data: bytes, **attributes: str) -> str:
        publisher, _ = self.clients()
        return str(publisher.publish(self.topic(topic), data, **attributes).result(timeout=30))

    def pull(self, subscription: str, *, settle_s: float = 2.0, timeout_s: float = 60.0, want: int = 1) -> list[Any]:
        """Pull until at least `want` messages came and then nothing new for `settle_s`."""
        _, subscriber = self.clients()
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                response = subscriber.pull(subscription=subscription, max_messages=100, timeout=1)
            except DeadlineExceeded:
                response = None
            if response is not None and response.received_messages:
                out.extend(m.message for m in response.received_messages)
                subscriber.acknowledge(
                    subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages]
                )
                quiet_since = time.monotonic()
            elif len(out) >= want and time.monotonic() - quiet_since > settle_s:
                break
            else:
                time.sleep(0.2)
        return out


@pytest.fixture(scope="session")
def pubsub(alert_logs: Path) -> Iterator[Emulator]:
    if not PUBSUB_EMULATOR.exists() or shutil.which("java") is None:
        pytest.skip("Pub/Sub emulator needs google-cloud-cli's cloud-pubsub-emulator and java (make servers)")
    port = free_port()
    server = start_process(
        "pubsub-emulator", [str(PUBSUB_EMULATOR), f"--host={HOST}", f"--port={port}"], port, alert_logs, {}
    )
    try:
        yield Emulator(server)
    finally:
        server.stop()


# --- functions-framework ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def function_servers(alert_logs: Path) -> Any:
    """A context manager: functions-framework processes, one per (target, env), started in parallel."""
    binary = VENV_BIN / "functions-framework"
    if not binary.exists():
        pytest.skip("functions-framework is not installed in the venv")

    @contextlib.contextmanager
    def run(*specs: tuple[str, Mapping[str, str]]) -> Iterator[list[Process]]:
        servers = []
        try:
            for target, env in specs:
                port = free_port()
                cmd = [str(binary), "--target", target, "--signature-type", "cloudevent", "--host", HOST]
                cmd += ["--port", str(port), "--source", str(REPO / "services/gcp-alerts/main.py")]
                servers.append(spawn(f"{target}-{port}", cmd, port, alert_logs, env))
            yield [wait_listening(server) for server in servers]
        finally:
            for server in servers:
                server.stop()

    return run


# --- SMTP with STARTTLS ----------------------------------------------------------------------------------------


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    port: int
    ca_file: Path
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Message]:
        with self.lock:
            return list(self.messages)


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd is in the dev group")
    pytest.importorskip("cryptography", reason="cryptography makes the STARTTLS certificate")
    from aiosmtpd.controller import Controller

    cert, key = self_signed_cert(tmp_path_factory.mktemp("smtp-tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox(port=free_port(), ca_file=cert)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with mailbox.lock:
                mailbox.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(
        Handler(), hostname=HOST, port=mailbox.port, tls_context=context, require_starttls=True, ready_timeout=10
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


# --- Slack webhook stand-in ------------------------------------------------------------------------------------


@dataclass
class Webhook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: list[int] = field(default_factory=list)  # statuses to answer with first (then 200)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.bodies)


@pytest.fixture(scope="session")
def slack_webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with hook.lock:
                status = hook.status.pop(0) if hook.status else 200
                if status == 200:
                    hook.bodies.append(json.loads(body))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((HOST, 0), Handler)
    hook.url = f"http://{HOST}:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


# --- bqemulator (BigQuery REST, its own venv) ------------------------------------------------------------------


@pytest.fixture(scope="session")
def bq_emulator(alert_logs: Path) -> Iterator[str]:
    """bqemulator from .tools/bqemulator (installed by infra/local/install-servers.sh): its REST URL."""
    import requests

    tools = REPO / ".tools" / "bqemulator"
    binary = tools / "bin" / "bqemulator"
    if not binary.is_file():
        pytest.skip(f"bqemulator is not installed at {binary}: run `bash infra/local/install-servers.sh`")
    rest, grpc = free_port(), free_port()
    cmd = [str(binary), "start", "--rest-host", HOST, "--rest-port", str(rest), "--grpc-host", HOST]
    cmd += ["--grpc-port", str(grpc), "--project", PROJECT, "--log-level", "warning"]
    server = start_process("bqemulator", cmd, rest, alert_logs, {"HOME": str(tools / "home")})
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{server.url}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise RuntimeError(f"bqemulator not ready:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server.url
    finally:
        server.stop()
