from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wattline.alerts.ledger import OPEN, RESOLVED, MemoryAlertStore, plan_transitions
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Severity

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)


def gap(end: datetime | None, seconds: float = 900.0) -> Alert:
    return Alert(
        kind=AlertKind.GAP,
        device_id="em-a",
        channel=0,
        start=T0,
        end=end,
        severity=Severity.WARNING,
        message="No power sample",
        details={"seconds": seconds},
    )


def record(store: MemoryAlertStore, alerts: list[Alert], now: datetime = NOW) -> list[tuple[AlertEvent, str]]:
    plan = plan_transitions(store, alerts, now=now)
    store.save(plan.rows)
    return [(n.event, n.alert.key) for n in plan.notifications]


def test_a_new_open_alert_is_published_once_as_opened():
    # Given an empty ledger
    store = MemoryAlertStore()
    # When the same open gap is detected on two runs
    first = record(store, [gap(None)])
    second = record(store, [gap(None, seconds=1200.0)], NOW + timedelta(minutes=5))
    # Then it is published once, and recorded open with the newest numbers
    assert first == [(AlertEvent.OPENED, gap(None).key)]
    assert second == []
    assert store.rows[gap(None).key].status == OPEN
    assert store.rows[gap(None).key].to_alert().details == {"seconds": 1200.0}


def test_an_open_alert_that_ends_is_published_once_as_resolved():
    # Given an open gap in the ledger
    store = MemoryAlertStore()
    record(store, [gap(None)])
    # When it is seen ended, twice
    first = record(store, [gap(T0 + timedelta(minutes=30))])
    second = record(store, [gap(T0 + timedelta(minutes=30))])
    # Then one resolved notification, and the row is resolved with its end
    assert first == [(AlertEvent.RESOLVED, gap(None).key)]
    assert second == []
    assert store.rows[gap(None).key].status == RESOLVED
    assert store.rows[gap(None).key].end_ts == T0 + timedelta(minutes=30)


def test_a_condition_first_seen_already_ended_is_one_resolved_notification():
    # Given an empty ledger / When a closed gap is detected
    store = MemoryAlertStore()
    events = record(store, [gap(T0 + timedelta(minutes=30))])
    # Then exactly one notification, resolved, carrying start and end
    assert events == [(AlertEvent.RESOLVED, gap(None).key)]


def test_duplicate_alerts_in_one_run_are_recorded_once():
    store = MemoryAlertStore()
    # When the same alert appears twice in one detection run / Then one notification
    assert len(record(store, [gap(None), gap(None)])) == 1


def test_an_open_alert_no_longer_detected_inside_the_window_is_resolved_as_vanished():
    # Given an open gap in the ledger
    store = MemoryAlertStore()
    record(store, [gap(None)])
    # When a later run over a window holding its start no longer sees it (late data filled it)
    plan = plan_transitions(store, [], now=NOW, open_rows=store.open_rows(), window_start=T0 - timedelta(hours=1))
    store.save(plan.rows)
    # Then one resolved notification, ending now, marked vanished
    assert [(n.event, n.alert.end) for n in plan.notifications] == [(AlertEvent.RESOLVED, NOW)]
    assert store.rows[gap(None).key].details["vanished"] is True


def test_an_open_alert_older_than_the_window_is_left_open():
    store = MemoryAlertStore()
    record(store, [gap(None)])
    plan = plan_transitions(store, [], now=NOW, open_rows=store.open_rows(), window_start=T0 + timedelta(minutes=1))
    assert plan.notifications == []
