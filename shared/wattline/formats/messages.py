"""The `energy.updated` Pub/Sub message: the loader publishes it after each daily file it loads, alert detection
reads it to know which hours to look at. One model, both sides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from wattline.errors import PermanentError

ENERGY_UPDATED: Final = "energy.updated"


class SourceObject(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    name: str
    generation: str | int | None = None


class EnergyUpdated(BaseModel):
    """What changed in `energy_hourly` and from which daily file (object generation) it came.

    JSON (keys sorted, compact): `{"channels", "date", "device_id", "event": "energy.updated", "hours_from",
    "hours_to", "rows", "source": {"bucket", "generation", "name"}}`; times are UTC, whole seconds, with `Z`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event: str = ENERGY_UPDATED
    device_id: str | None = None
    date: str | None = None
    channels: list[int] = []
    hours_from: datetime | None = None
    hours_to: datetime | None = None
    rows: int = 0
    source: SourceObject | None = None

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = self.model_dump(mode="python")
        body["hours_from"] = _iso(self.hours_from)
        body["hours_to"] = _iso(self.hours_to)
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EnergyUpdated | None:
        """The message, or None for any other JSON payload (a scheduler's); PermanentError when it is not JSON or an
        `energy.updated` with a bad time."""
        try:
            body = json.loads(data) if data.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise PermanentError(f"detect trigger is not JSON: {data[:80]!r}") from exc
        if not isinstance(body, dict) or body.get("event") != ENERGY_UPDATED:
            return None
        for name in ("hours_from", "hours_to"):
            body[name] = _ts(body.get(name))
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise PermanentError(f"energy.updated is malformed: {exc.errors()[0]['msg']}") from exc


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"energy.updated carries a bad timestamp {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
