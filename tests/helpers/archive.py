"""An aggregated device-day as the archiver finds it: its daily manifest (the raw objects are the test's own)."""

from __future__ import annotations

from datetime import date

from wattline import keys
from wattline.models import DailyManifest
from wattline.ports import ObjectStore


def put_daily_manifest(store: ObjectStore, day: date, device: str, count: int) -> None:
    """The manifest of a day aggregated from `count` raw objects, each one reading."""
    manifest = DailyManifest(
        device_id=device,
        date=day.isoformat(),
        readings=count,
        envelopes=count,
        duplicates=0,
        quarantined=0,
        source_objects=count,
        first_ts=None,
        last_ts=None,
        sha256="0" * 64,
        bytes=0,
        parser_version="test",
    )
    store.put(keys.daily_manifest_key(day, device), manifest.model_dump_json().encode())
