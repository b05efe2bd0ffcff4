"""Detection judges silence by how far the data is known (the freshness watermark), never by the wall clock;
history is scanned but not sent; conditions with one cause are one notification."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alert_series import T0, MemoryReadings, healthy, reading
from helpers.fakes import MemoryPublisher

from wattline.alerts.ledger import MemoryAlertStore
from wattline.alerts.model import SITE
from wattline.alerts.pipeline import DetectOptions, DetectRequest, freshness, run_detect
from wattline.alerts.thresholds import Thresholds

KYIV = ZoneInfo("Europe/Kyiv")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OPTIONS = DetectOptions(thresholds=Thresholds(), tz=KYIV)
DAY_END = T0 + DAY  # the delivered UTC day is T0's


def detect(source: MemoryReadings, *, now: datetime, request: DetectRequest | None = None, store=None, **options):
    store = store or MemoryAlertStore()
    publisher = MemoryPublisher()
    report = run_detect(
        request or DetectRequest(),
        source=source,
        store=store,
        publisher=publisher,
        options=DetectOptions(thresholds=Thresholds(), tz=KYIV, **options),
        now=now,
    )
    sent = [json.loads(data) for _, data, _ in publisher.messages]
    return report, store, sent


def site(start: datetime, end: datetime, *devices: str) -> list:
    return [r for device in devices for r in healthy(device, start, end, step_s=60)]


def loaded(day_start: datetime, device: str) -> MemoryReadings:
    return MemoryReadings(healthy(device, day_start, day_start + DAY, step_s=60))


def test_a_healthy_site_whose_data_ends_with_the_delivered_day_raises_nothing_hours_later():
    # Given two healthy meters whose daily files for the UTC day were loaded
    source = MemoryReadings(site(T0, DAY_END, "em-a", "pro-b"))
    # When the scheduled tick runs eleven hours after the day ended, and energy.updated for the day too
    _, store, sent = detect(source, now=DAY_END + timedelta(hours=11))
    updated = DetectRequest(touched_from=T0, touched_to=DAY_END - timedelta(hours=1), trigger="energy.updated")
    _, _, sent_too = detect(source, now=DAY_END + timedelta(hours=11), request=updated, store=store)
    # Then nothing: the silence after the day is "not yet known", not an outage
    assert sent == sent_too == [] and store.rows == {}


def test_a_meter_dead_from_noon_of_a_delivered_day_raises_one_open_offline():
    # Given a meter that sent nothing after noon, inside the day its file covers, and a healthy one
    source = MemoryReadings([*site(T0, DAY_END, "pro-b"), *healthy("em-a", T0, T0 + timedelta(hours=12), step_s=60)])
    # When detection runs the next morning
    _, store, sent = detect(source, now=DAY_END + timedelta(hours=8))
    # Then one notification: the meter offline since its last message (still open), its channel's gap inside it
    assert [(m["event"], m["alert"]["kind"], m["alert"]["device_id"], m["alert"]["end"]) for m in sent] == [
        ("opened", "offline", "em-a", None)
    ]
    last = T0 + timedelta(hours=12) - timedelta(minutes=1)
    assert sent[0]["alert"]["start"] == last.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [(m["kind"], m["channel"]) for m in sent[0]["members"]] == [("gap", 0), ("low_coverage", 0)]
    rows = sorted((row.kind, row.status, row.incident == sent[0]["alert"]["key"]) for row in store.rows.values())
    assert rows == [("gap", "open", True), ("low_coverage", "resolved", True), ("offline", "open", True)]


def test_a_meter_with_no_file_for_a_day_the_site_delivered_is_offline_once_the_site_delivers_the_next():
    # Given a meter whose last file is for yesterday, while the other meter delivered yesterday and today
    source = MemoryReadings([*site(T0 - DAY, DAY_END, "pro-b"), *healthy("em-a", T0 - DAY, T0, step_s=60)])
    # Then its watermark stays at the end of its own day (today's file may still be on its way)
    assert freshness(source.delivered_days(), DAY_END + timedelta(hours=3)) == {"em-a": T0, "pro-b": DAY_END}
    assert detect(source, now=DAY_END + timedelta(hours=3))[2] == []
    # When the other meter delivers tomorrow too, today was complete for the site: the meter was silent all of it
    source.rows += healthy("pro-b", DAY_END, DAY_END + DAY, step_s=60, counter_wh=1000 + 500 * 48)
    assert freshness(source.delivered_days(), DAY_END + DAY)["em-a"] == DAY_END
    tomorrow = DetectRequest(touched_from=DAY_END, touched_to=DAY_END + DAY - HOUR, trigger="energy.updated")
    _, _, sent = detect(source, now=DAY_END + DAY + timedelta(hours=3), request=tomorrow)
    # Then one open offline from its last message, not a site outage
    last = (T0 - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [(m["event"], m["alert"]["kind"], m["alert"]["device_id"], m["alert"]["start"]) for m in sent] == [
        ("opened", "offline", "em-a", last)
    ]


def test_history_imported_a_year_back_is_recorded_with_its_conditions_and_nothing_is_sent():
    # Given a year-old week with a 2-hour hole on both meters (a site outage) and a 30-minute gap on one,
    # loaded today together with yesterday's healthy data
    old = T0 - timedelta(days=365)
    hole = (old + timedelta(days=2, hours=10), old + timedelta(days=2, hours=12))
    gap = (old + timedelta(days=4, hours=3), old + timedelta(days=4, hours=3, minutes=30))
    rows = [r for r in site(old, old + 7 * DAY, "em-a", "pro-b") if not hole[0] <= r.ts < hole[1]]
    rows = [r for r in rows if not (r.device_id == "em-a" and gap[0] <= r.ts < gap[1])]
    source = MemoryReadings([*rows, *site(T0, DAY_END, "em-a", "pro-b")])
    # When energy.updated for the backfilled week arrives (whatever its age)
    request = DetectRequest(touched_from=old, touched_to=old + 7 * DAY, trigger="energy.updated")
    report, store, sent = detect(source, now=DAY_END + timedelta(hours=2), request=request)
    # Then its conditions are in the ledger, resolved, marked not notified — and nothing was sent
    found = sorted((row.kind, row.device_id, row.status, row.notified) for row in store.rows.values())
    assert ("outage", SITE, "resolved", False) in found
    assert ("gap", "em-a", "resolved", False) in found
    assert all(not notified for *_, notified in found)
    assert sent == [] and report.published == []


def test_one_pro_em_outage_is_one_notification_listing_its_members():
    # Given a Pro EM whose both channels read 0 V, then fell silent with an LWT, then came back (one grid outage)
    device, start, back = "pro-b", T0 + timedelta(hours=9), T0 + timedelta(hours=11)

    def channel(ch: int, a: datetime, b: datetime, **values: float) -> list:
        counter = 1000 + 500 * (a - T0).total_seconds() / 3600  # one counter all day: no reset
        return list(healthy(device, a, b, step_s=60, channel=ch, counter_wh=counter, **values))

    rows = [r for ch in (0, 1) for r in channel(ch, T0, start) + channel(ch, back, DAY_END)]
    rows += [r for ch in (0, 1) for r in channel(ch, start, start + timedelta(minutes=5), voltage_v=0.0)]
    rows += [reading(device, start + timedelta(minutes=6), None, online=False), *healthy("em-a", T0, DAY_END)]
    # When detection runs after the day was delivered
    _, store, sent = detect(MemoryReadings(rows), now=DAY_END + timedelta(hours=3))
    # Then one notification for the outage, the other conditions its members, each still recorded on its own
    assert len(sent) == 1
    assert (sent[0]["alert"]["kind"], sent[0]["alert"]["channel"], sent[0]["event"]) == ("outage", 0, "resolved")
    members = sorted((m["kind"], str(m["channel"])) for m in sent[0]["members"])
    days = [("low_coverage", "0"), ("low_coverage", "1")]
    assert members == [("gap", "0"), ("gap", "1"), *days, ("offline", "None"), ("outage", "1")]
    assert {row.incident for row in store.rows.values()} == {sent[0]["alert"]["key"]}
    assert len(store.rows) == 7


def test_the_newest_reading_watermark_never_calls_the_end_of_a_shorter_capture_a_silence():
    # Given a site whose data (an import, the demo) ends two hours before its UTC day does
    source = MemoryReadings(site(T0, DAY_END - timedelta(hours=2), "em-a", "pro-b"))
    # When detected with the delivered-day watermark, the two hours are a site outage; with the newest reading, nothing
    _, _, by_day = detect(source, now=DAY_END + timedelta(hours=3))
    _, _, by_reading = detect(source, now=DAY_END + timedelta(hours=3), watermark="newest_reading")
    assert [(m["alert"]["kind"], m["alert"]["device_id"]) for m in by_day] == [("outage", SITE)]
    assert by_reading == []


def test_an_open_alert_is_not_taken_for_vanished_by_a_window_in_history():
    # Given a meter dead since noon yesterday with its open offline in the ledger
    source = MemoryReadings([*site(T0, DAY_END, "pro-b"), *healthy("em-a", T0, T0 + timedelta(hours=12), step_s=60)])
    _, store, _ = detect(source, now=DAY_END + timedelta(hours=3))
    # And a month-old day for both meters loaded late
    month_ago = T0 - timedelta(days=30)
    source.rows += site(month_ago, month_ago + DAY, "em-a", "pro-b")
    request = DetectRequest(touched_from=month_ago, touched_to=month_ago + DAY, trigger="energy.updated")
    # When detection runs for that old day
    _, store, sent = detect(source, now=DAY_END + timedelta(hours=4), request=request, store=store)
    # Then the open offline stays open (that window could not see it) and nothing is sent
    assert sent == []
    assert sorted((row.kind, row.status) for row in store.rows.values()) == [
        ("gap", "open"),
        ("low_coverage", "resolved"),
        ("offline", "open"),
    ]


def test_a_condition_that_ended_yesterday_is_still_sent_with_the_daily_delivery():
    # Given a gap just after midnight of the delivered day, detected ~26 h later by the wall clock
    hole = (T0 + timedelta(minutes=5), T0 + timedelta(minutes=40))
    rows = [r for r in site(T0, DAY_END, "em-a", "pro-b") if not (r.device_id == "em-a" and hole[0] <= r.ts < hole[1])]
    _, _, sent = detect(MemoryReadings(rows), now=DAY_END + timedelta(hours=2, minutes=5))
    # Then it is sent: its age is measured against the delivered data, not the wall clock
    assert [(m["event"], m["alert"]["kind"], m["alert"]["device_id"]) for m in sent] == [
        ("resolved", "offline", "em-a")
    ]
    assert [m["kind"] for m in sent[0]["members"]] == ["gap", "low_coverage"]
    assert datetime.fromisoformat(sent[0]["alert"]["end"]) < DAY_END + timedelta(hours=2) - timedelta(hours=24)
