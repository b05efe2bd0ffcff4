"""RestPubSubPublisher's error kinds: HTTP statuses, transport failures and google-auth token errors."""

from __future__ import annotations

import pytest
import urllib3.exceptions as http_errors
from google.auth import exceptions as auth_errors

from wattline.adapters.pubsub_rest import RestPubSubPublisher, status_error, translate_error
from wattline.errors import NotFoundError, PermanentError, TransientError

NOT_FOUND = b'{"error": {"code": 404, "message": "Topic not found", "status": "NOT_FOUND"}}'


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, NotFoundError),
        (408, TransientError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (504, TransientError),
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
    ],
)
def test_each_http_status_maps_to_one_error_kind(status: int, kind: type[Exception]) -> None:
    error = status_error(status, "publish projects/p/topics/alerts", b"")
    assert type(error) is kind


def test_the_servers_reason_is_kept_in_the_message() -> None:
    assert "NOT_FOUND: Topic not found" in str(status_error(404, "publish x", NOT_FOUND))


@pytest.mark.parametrize(
    "exc",
    [
        http_errors.MaxRetryError(None, "/", reason=http_errors.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
        http_errors.ReadTimeoutError(None, "/", "read timed out"),  # type: ignore[arg-type]
        http_errors.ProtocolError("connection reset"),
        ConnectionResetError("reset"),
        auth_errors.TransportError("sts unreachable"),
        auth_errors.RefreshError("try again", retryable=True),
    ],
)
def test_network_failures_and_retryable_token_errors_are_transient(exc: Exception) -> None:
    assert isinstance(translate_error(exc, "publish x"), TransientError)


@pytest.mark.parametrize(
    "exc",
    [
        http_errors.MaxRetryError(None, "/", reason=http_errors.SSLError("certificate verify failed")),  # type: ignore[arg-type]
        auth_errors.RefreshError("invalid_grant: the subject token was rejected"),
        auth_errors.DefaultCredentialsError("no credentials"),
        ValueError("something else"),
    ],
)
def test_tls_failures_refused_tokens_and_anything_unknown_are_permanent(exc: Exception) -> None:
    error = translate_error(exc, "publish x")
    assert isinstance(error, PermanentError) and not isinstance(error, NotFoundError)


def test_building_a_publisher_does_no_io_and_topics_get_the_project_prefix() -> None:
    publisher = RestPubSubPublisher("p", endpoint="http://127.0.0.1:1/")
    assert publisher._http is None
    assert publisher.topic_path("alerts") == "projects/p/topics/alerts"
    assert publisher.topic_path("projects/q/topics/t") == "projects/q/topics/t"
    assert (
        publisher._url("projects/p/topics/alerts", ":publish")
        == "http://127.0.0.1:1/v1/projects/p/topics/alerts:publish"
    )
    assert RestPubSubPublisher("p").endpoint == "https://pubsub.googleapis.com"
