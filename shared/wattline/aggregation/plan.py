"""Plan the device-days to aggregate: every closed day with raw data and no daily file, and every day marked dirty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from wattline import keys
from wattline.aggregation.common import child_prefixes, is_aggregatable_device
from wattline.ports import ObjectStore


@dataclass(frozen=True, order=True)
class DayItem:
    """One unit of aggregation work: a Step Functions Map item."""

    date: date
    device_id: str

    def as_dict(self) -> dict[str, str]:
        return {"device_id": self.device_id, "date": self.date.isoformat()}


def last_closed_day(now: datetime, grace: timedelta) -> date:
    """The latest UTC day whose end plus the grace period is not after `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return ((now.astimezone(UTC) - grace).date()) - timedelta(days=1)


def plan_days(
    store: ObjectStore,
    now: datetime,
    *,
    grace: timedelta = timedelta(hours=2),
    lookback_days: int = 7,
) -> list[DayItem]:
    """The device-days to aggregate now, sorted by (date, device).

    - closed days (day end + grace <= now) within the last `lookback_days` closed days that have raw data but no
      daily manifest yet;
    - every device-day with a dirty marker (late data arrived after its daily file was written), if closed.
    """
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    newest = last_closed_day(now, grace)
    items: set[DayItem] = set()
    for offset in range(lookback_days):
        day = newest - timedelta(days=offset)
        day_prefix = f"{keys.RAW_PREFIX}dt={day.isoformat()}/"
        for child in child_prefixes(store, day_prefix):
            device_id = child[len(day_prefix) :].removeprefix("device=").rstrip("/")
            if not is_aggregatable_device(device_id) or not child[len(day_prefix) :].startswith("device="):
                continue
            if store.head(keys.daily_manifest_key(day, device_id)) is None:
                items.add(DayItem(day, device_id))
    for info in store.list(keys.DIRTY_PREFIX):
        parsed = parse_dirty_key(info.key)
        if parsed is not None and parsed[0] <= newest and is_aggregatable_device(parsed[1]):
            items.add(DayItem(parsed[0], parsed[1]))
    return sorted(items)


def parse_dirty_key(key: str) -> tuple[date, str] | None:
    """`state/dirty/dt=YYYY-MM-DD/device=<id>` → (day, device_id), or None for any other key."""
    rest = key.removeprefix(keys.DIRTY_PREFIX)
    if rest == key:
        return None
    parts = rest.split("/")
    if len(parts) != 2 or not parts[0].startswith("dt=") or not parts[1].startswith("device="):
        return None
    try:
        day = date.fromisoformat(parts[0][3:])
    except ValueError:
        return None
    return day, parts[1][len("device=") :]
