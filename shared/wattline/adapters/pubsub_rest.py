"""Publisher port over Pub/Sub's REST API: urllib3, plus google-auth for the token. For the AWS Lambda bundle.

Why not `PubSubPublisher` (google-cloud-pubsub) there: that client is gRPC (grpcio, protobuf, google-api-core),
tens of MB of native wheels in a Lambda zip for what is one HTTPS POST per alert. This adapter needs only urllib3
(already in the bundle through botocore) and google-auth (pure Python, plus the `cryptography` wheel it requires),
which also does Workload Identity Federation.

POST `<endpoint>/v1/projects/<project>/topics/<topic>:publish` with `{"messages": [{"data": <base64>,
"attributes": {...}}]}` → `{"messageIds": ["..."]}`. With credentials the request goes through google-auth's
`AuthorizedHttp` (token fetched on first use, refreshed when it expires or on a 401); without them (an emulator at
`http://host:port`) it is sent as is. Retries: urllib3's `Retry` (connection errors, read timeouts, 408/429/5xx,
with backoff and Retry-After); no loop of our own. The HTTP pool is built on first use, never at import time.

Errors (`raise … from exc`): 404 → NotFoundError (no such topic); 408, 429, 5xx, timeouts, connection failures
and retryable token errors → TransientError; other 4xx, TLS failures and refused tokens → PermanentError.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from wattline.errors import NotFoundError, PermanentError, TransientError

DEFAULT_ENDPOINT = "https://pubsub.googleapis.com"
PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub"
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def status_error(status: int, what: str, body: bytes = b"") -> Exception:
    """The wattline error for an HTTP error status of the Pub/Sub API (the server's reason only in the text)."""
    reason = _reason(body)
    if status == 404:
        return NotFoundError(f"{what}: not found ({reason}); create the topic (infra/gcp/pubsub.sh)")
    if status in _RETRY_STATUS or status >= 500:
        return TransientError(f"{what}: Pub/Sub is unavailable for now (HTTP {status} {reason}); retry later")
    return PermanentError(f"{what}: Pub/Sub refused the request (HTTP {status} {reason}); check the topic and role")


def _reason(body: bytes) -> str:
    try:
        error = json.loads(body).get("error", {})
        return f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", errors="replace")


def translate_error(exc: Exception, what: str) -> Exception:
    """A transport or google-auth exception as the wattline error kind a caller handles (raise it `from exc`)."""
    import urllib3.exceptions as http_errors

    auth_error = _auth_error(exc, what)
    if auth_error is not None:
        return auth_error
    reason = exc.reason if isinstance(exc, http_errors.MaxRetryError) else exc
    if isinstance(reason, http_errors.SSLError):
        return PermanentError(f"{what}: TLS failure ({reason}); check the endpoint and CA certificates")
    if isinstance(exc, http_errors.HTTPError | ConnectionError | TimeoutError):
        return TransientError(f"{what}: cannot reach Pub/Sub ({type(reason).__name__}); retry later")
    return PermanentError(f"{what}: {type(exc).__name__}: {exc}")


def _auth_error(exc: Exception, what: str) -> Exception | None:
    """google-auth's errors (token fetch and refresh); None for anything else or without google-auth."""
    try:
        from google.auth import exceptions as auth_errors
    except ImportError:  # no google-auth: only the unauthenticated (emulator) path is possible
        return None
    if not isinstance(exc, auth_errors.GoogleAuthError):
        return None
    if isinstance(exc, auth_errors.TransportError) or getattr(exc, "retryable", False):
        return TransientError(f"{what}: cannot get a Google token for now ({type(exc).__name__}); retry later")
    return PermanentError(f"{what}: Google refused the credentials ({type(exc).__name__}: {exc})")


class RestPubSubPublisher:
    """Publishes to the topics of one project over REST; returns the server's message id.

    `timeout_s` bounds each attempt (connect + read); up to `max_attempts` attempts, so a Lambda waits at most
    about `max_attempts × timeout_s` plus a few seconds of backoff.
    """

    def __init__(
        self,
        project: str,
        *,
        credentials: Any | None = None,
        endpoint: str | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
    ) -> None:
        self.project = project
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self._credentials = credentials
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._http: Any | None = None
        self._lock = threading.Lock()

    def topic_path(self, topic: str) -> str:
        return topic if topic.startswith("projects/") else f"projects/{self.project}/topics/{topic}"

    def _url(self, path: str, verb: str = "") -> str:
        return f"{self.endpoint}/v1/{quote(path, safe='/')}{verb}"

    def _get_http(self) -> Any:
        """urllib3 PoolManager with the retry policy, wrapped in AuthorizedHttp when there are credentials."""
        with self._lock:
            if self._http is None:
                import urllib3

                retries = urllib3.Retry(
                    total=self._max_attempts - 1,
                    status_forcelist=sorted(_RETRY_STATUS),
                    allowed_methods=frozenset({"POST", "PUT", "GET"}),  # a repeated publish is deduped downstream
                    backoff_factor=0.25,
                    backoff_max=2.0,
                    respect_retry_after_header=True,
                    raise_on_status=False,  # the last response comes back and is translated below
                )
                pool = urllib3.PoolManager(
                    retries=retries,
                    timeout=urllib3.Timeout(total=self._timeout_s),
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=_ca_bundle(),
                )
                if self._credentials is None:
                    self._http = pool
                else:
                    from google.auth.transport.urllib3 import AuthorizedHttp

                    self._http = AuthorizedHttp(self._credentials, http=pool)  # type: ignore[no-untyped-call]
            return self._http

    def _request(self, method: str, url: str, body: Mapping[str, Any] | None, what: str) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._get_http().urlopen(method, url, body=payload, headers=headers)
        except Exception as exc:
            raise translate_error(exc, what) from exc
        return int(response.status), bytes(response.data)

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        path = self.topic_path(topic)
        message: dict[str, Any] = {"data": base64.b64encode(data).decode("ascii")}
        if attributes:
            message["attributes"] = {str(key): str(value) for key, value in attributes.items()}
        status, body = self._request("POST", self._url(path, ":publish"), {"messages": [message]}, f"publish {path}")
        if status != 200:
            raise status_error(status, f"publish {path}", body)
        try:
            (message_id,) = json.loads(body)["messageIds"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(f"publish {path}: unexpected answer {body[:200]!r}") from exc
        return str(message_id)

    def ensure_topic(self, topic: str) -> None:
        """Create the topic if missing (local set-up and tests; in the cloud infra/gcp creates it)."""
        path = self.topic_path(topic)
        status, body = self._request("PUT", self._url(path), {}, f"create {path}")
        if status not in (200, 409):  # 409: it exists already
            raise status_error(status, f"create {path}", body)


def _ca_bundle() -> str | None:
    """certifi's CA bundle when installed (as google-auth's own transport does); None: the system's."""
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())
