"""A fault-injecting HTTP proxy in front of an S3 endpoint (the moto server), for tests of what storage failures do.

A request that a `Fault` matches gets S3's own error answer instead of being forwarded: the HTTP status and the XML
error document (`<Error><Code>…</Code><Message>…</Message>…`) AWS sends, so botocore's retries and wattline's error
translation (wattline.adapters.s3_store.translate_error) see exactly what they would see on AWS. Every other
request is forwarded to the endpoint unchanged. Point the code under test at `proxy.url`.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

# The messages S3 sends with these codes (docs: AmazonS3/latest/API/ErrorResponses.html).
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "InternalError": "We encountered an internal error. Please try again.",
    "AccessDenied": "Access Denied",
}
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"})


@dataclass
class Fault:
    """Answer `status`/`code` to `method` requests on `path` that carry every `query` parameter with its value,
    `times` times (None: every time), after letting the first `after` of them through. `hits` counts the requests
    it answered, `passed` the ones it let through."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int
    code: str
    times: int | None = None
    hits: int = 0
    after: int = 0
    passed: int = 0

    def matches(self, method: str, path: str, query: Mapping[str, str]) -> bool:
        return (
            method == self.method
            and path == self.path
            and all(query.get(name) == value for name, value in self.query.items())
            and (self.times is None or self.hits < self.times)
        )


def listing_fault(bucket: str, prefix: str, status: int, code: str, times: int | None = None) -> Fault:
    """ListObjectsV2 of `bucket` under exactly `prefix` answers `status`/`code`."""
    return Fault("GET", f"/{bucket}", {"list-type": "2", "prefix": prefix}, status, code, times)


def batch_delete_fault(bucket: str, status: int, code: str, *, after: int = 0) -> Fault:
    """Every DeleteObjects request (`POST /bucket?delete`) of `bucket` after the first `after` answers
    `status`/`code`."""
    return Fault("POST", f"/{bucket}", {"delete": ""}, status, code, after=after)


def put_fault(bucket: str, key: str, status: int, code: str) -> Fault:
    """Every PutObject of `key` (path-style URL) answers `status`/`code`."""
    return Fault("PUT", f"/{bucket}/{key}", {}, status, code)


@dataclass
class S3FaultProxy:
    """The proxy on a free 127.0.0.1 port while entered (`with S3FaultProxy(endpoint) as proxy:`)."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def take(self, method: str, path: str, query: Mapping[str, str]) -> Fault | None:
        """The first fault matching the request, its hit counted; None to forward the request."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, query):
                    if fault.passed < fault.after:
                        fault.passed += 1
                        return None
                    fault.hits += 1
                    return fault
        return None

    def __enter__(self) -> S3FaultProxy:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(proxy: S3FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            assert "chunked" not in self.headers.get("Transfer-Encoding", ""), "chunked request bodies not supported"
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            target = urlsplit(self.path)
            fault = proxy.take(self.command, target.path, dict(parse_qsl(target.query, keep_blank_values=True)))
            if fault is not None:
                self._answer_error(fault)
                return
            connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
            try:
                headers = {
                    name: value for name, value in self.headers.items() if name.lower() not in ("connection", "expect")
                }
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            finally:
                connection.close()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            # A HEAD answer announces the length of the body it does not send.
            length_header = response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", length_header)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _answer_error(self, fault: Fault) -> None:
            request_id = uuid.uuid4().hex[:16].upper()
            document = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{fault.code}</Code><Message>{_MESSAGES.get(fault.code, fault.code)}</Message>"
                f"<RequestId>{request_id}</RequestId><HostId>wattline-s3-fault-proxy</HostId></Error>"
            ).encode()
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("x-amz-request-id", request_id)
            self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(document)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(document)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
