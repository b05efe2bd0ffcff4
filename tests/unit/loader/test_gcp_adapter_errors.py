"""Error translation of the GCS and Pub/Sub adapters (SDK exception objects in, wattline error kinds out)."""

from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions as api

from wattline.adapters import gcs_store, pubsub
from wattline.errors import NotFoundError, PermanentError, PreconditionFailedError, TransientError


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (api.NotFound("x"), NotFoundError),
        (api.PreconditionFailed("x"), PreconditionFailedError),
        (api.TooManyRequests("x"), TransientError),
        (api.ServiceUnavailable("x"), TransientError),
        (api.InternalServerError("x"), TransientError),
        (requests.ConnectionError("refused"), TransientError),
        (api.Forbidden("x"), PermanentError),
    ],
    ids=["404", "412", "429", "503", "500", "connection", "403"],
)
def test_gcs_errors_map_to_wattline_kinds(exc, kind):
    assert type(gcs_store._translate(exc, "gs://b/k")) is kind


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (api.NotFound("x"), NotFoundError),
        (api.ServiceUnavailable("x"), TransientError),
        (api.DeadlineExceeded("x"), TransientError),
        (api.TooManyRequests("x"), TransientError),
        (api.PermissionDenied("x"), PermanentError),
    ],
    ids=["404", "503", "deadline", "429", "403"],
)
def test_pubsub_errors_map_to_wattline_kinds(exc, kind):
    assert type(pubsub._translate(exc, "projects/p/topics/t")) is kind


def test_a_missing_topic_says_how_to_create_it():
    assert "create it" in str(pubsub._translate(api.NotFound("x"), "projects/p/topics/t"))


def test_the_outbox_appends_messages_with_content_derived_ids(tmp_path):
    # Given the local outbox
    outbox = pubsub.OutboxPublisher(tmp_path / "outbox")
    # When the same message is published twice and another once
    first = outbox.publish("energy-updated", b'{"a":1}', {"event": "energy.updated"})
    again = outbox.publish("energy-updated", b'{"a":1}', {"event": "energy.updated"})
    other = outbox.publish("energy-updated", b'{"a":2}')
    # Then all three are kept in order and the repeat carries the same id (consumers dedup by it)
    assert [m["id"] for m in outbox.read("energy-updated")] == [first, again, other]
    assert first == again != other
