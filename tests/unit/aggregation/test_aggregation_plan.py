"""plan_days: closed days with raw data and no daily file, plus dirty device-days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aggregation_helpers import DAY, GEN1_DEVICE, GEN2_DEVICE, day_of_messages, put_direct

from wattline import keys
from wattline.aggregation import DayItem, last_closed_day, plan_days
from wattline.ports import ObjectStore

GRACE = timedelta(hours=2)


def test_a_day_is_closed_only_after_its_end_plus_the_grace_period() -> None:
    assert last_closed_day(datetime(2026, 11, 27, 1, 59, tzinfo=UTC), GRACE) == date(2026, 11, 25)
    assert last_closed_day(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), GRACE) == date(2026, 11, 26)


def test_every_device_with_raw_data_on_a_closed_day_is_planned(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    items = plan_days(store, datetime(2026, 11, 27, 3, tzinfo=UTC), grace=GRACE)
    assert items == [DayItem(DAY, GEN2_DEVICE), DayItem(DAY, GEN1_DEVICE)]
    assert items[0].as_dict() == {"device_id": GEN2_DEVICE, "date": "2026-11-26"}


def test_a_day_still_within_its_grace_period_is_not_planned(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    assert plan_days(store, datetime(2026, 11, 27, 1, tzinfo=UTC), grace=GRACE) == []


def test_a_device_day_with_a_manifest_is_not_planned_again(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    store.put(keys.daily_manifest_key(DAY, GEN1_DEVICE), b"{}")
    assert plan_days(store, datetime(2026, 11, 27, 3, tzinfo=UTC), grace=GRACE) == [DayItem(DAY, GEN2_DEVICE)]


def test_a_dirty_device_day_is_planned_even_with_a_manifest(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    for device in (GEN1_DEVICE, GEN2_DEVICE):
        store.put(keys.daily_manifest_key(DAY, device), b"{}")
    store.put(keys.dirty_key(DAY, GEN1_DEVICE), b"raw/late")
    assert plan_days(store, datetime(2026, 11, 27, 3, tzinfo=UTC), grace=GRACE) == [DayItem(DAY, GEN1_DEVICE)]


def test_the_invalid_device_placeholder_is_never_planned(store: ObjectStore) -> None:
    store.put(f"raw/dt={DAY.isoformat()}/device=_invalid/1-u.json", b"{}")
    assert plan_days(store, datetime(2026, 11, 27, 3, tzinfo=UTC), grace=GRACE) == []


def test_days_older_than_the_lookback_are_left_alone(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    later = datetime(2026, 12, 5, 3, tzinfo=UTC)
    assert plan_days(store, later, grace=GRACE, lookback_days=7) == []
    assert len(plan_days(store, later, grace=GRACE, lookback_days=10)) == 2
