"""Local servers for the alert tests, on 127.0.0.1 free ports, each stopped by its process group or thread:

- the shared Pub/Sub emulator and bqemulator of tests/integration/conftest.py, used in project PROJECT, with PUSH
  subscriptions into
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
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from alert_pubsub import Emulator

from wattline.local.broker import HOST, free_port
from wattline.local.servers import ServerMissingError, ServerProcess, functions_framework

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def pubsub(pubsub_server: ServerProcess) -> Emulator:
    """The shared Pub/Sub emulator, used in project PROJECT."""
    return Emulator(pubsub_server)


# --- functions-framework ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def function_servers(server_logs: Path) -> Any:
    """A context manager: functions-framework processes, one per (target, env), started in parallel."""

    @contextlib.contextmanager
    def run(*specs: tuple[str, Mapping[str, str]]) -> Iterator[list[ServerProcess]]:
        servers: list[ServerProcess] = []
        try:
            for target, env in specs:
                try:
                    server = functions_framework(REPO / "services/gcp-alerts/main.py", target, server_logs, env, REPO)
                except ServerMissingError as exc:
                    pytest.skip(str(exc))
                servers.append(server.launch())
            yield [server.wait_ready(timeout_s=60) for server in servers]
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
