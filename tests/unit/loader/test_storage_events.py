"""wattline.local.events: a GCS Pub/Sub notification becomes the CloudEvent Eventarc delivers."""

from __future__ import annotations

import json

import pytest

from wattline.local.events import FINALIZED, encode_http, finalized_event, to_cloud_event

NOTIFICATION_ATTRIBUTES = {
    "objectId": "daily/dt=2026-11-27/device=x/readings.jsonl.gz",
    "objectGeneration": "1795821388272127",
    "bucketId": "bkt",
    "eventTime": "2026-11-27T23:16:28Z",
    "payloadFormat": "JSON_API_V1",
    "eventType": "OBJECT_FINALIZE",
}
NOTIFICATION_DATA = json.dumps(
    {
        "kind": "storage#object",
        "name": "daily/dt=2026-11-27/device=x/readings.jsonl.gz",
        "bucket": "bkt",
        "generation": "1795821388272127",
        "size": "5",
        "md5Hash": "XUFAKrxLKna5cZ2REBfFkg==",
    }
).encode()


def test_a_finalize_notification_becomes_a_storage_finalized_cloud_event():
    # Given fake-gcs-server's notification (as captured from it)
    # When converted
    attributes, data = to_cloud_event(NOTIFICATION_ATTRIBUTES, NOTIFICATION_DATA, message_id="7")
    # Then it has Eventarc's type, source, subject and the object resource as data
    assert attributes["type"] == FINALIZED == "google.cloud.storage.object.v1.finalized"
    assert attributes["source"] == "//storage.googleapis.com/projects/_/buckets/bkt"
    assert attributes["subject"] == "objects/daily/dt=2026-11-27/device=x/readings.jsonl.gz"
    assert attributes["id"] == "7" and attributes["time"] == "2026-11-27T23:16:28Z"
    assert data["generation"] == "1795821388272127" and data["md5Hash"] == "XUFAKrxLKna5cZ2REBfFkg=="


def test_a_message_that_is_not_an_object_notification_is_rejected():
    # Given a message without a GCS eventType, When converted, Then ValueError says so
    with pytest.raises(ValueError, match="not a GCS object notification"):
        to_cloud_event({"foo": "bar"}, b"{}", message_id="1")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "structured"])
def test_the_cloud_event_encodes_for_http_in_both_content_modes(binary):
    # Given a finalized event
    attributes, data = finalized_event("bkt", "daily/x", 3, event_id="e1")
    # When encoded for HTTP
    headers, body = encode_http(attributes, data, binary=binary)
    # Then binary mode carries ce-* headers and the object JSON; structured mode one JSON envelope
    if binary:
        assert headers["ce-type"] == FINALIZED and json.loads(body)["name"] == "daily/x"
    else:
        assert json.loads(body)["type"] == FINALIZED and json.loads(body)["data"]["generation"] == "3"
