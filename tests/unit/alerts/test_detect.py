from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alert_series import T0, healthy, reading

from wattline.alerts.detect import detect_all, outage_hours_by_day, robust_threshold
from wattline.alerts.model import SITE, AlertKind, Severity, alert_key
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns

KYIV = ZoneInfo("Europe/Kyiv")
TH = Thresholds()


@dataclass(frozen=True)
class Reset:
    device_id: str
    channel: int
    ts: datetime
    before_wh: float
    after_wh: float


@dataclass(frozen=True)
class Hour:
    device_id: str
    channel: int
    hour_start: datetime
    mean_power_w: float | None


def summary(alerts):
    return [(a.kind, a.device_id, a.channel, a.start, a.end) for a in alerts]


def test_a_flat_healthy_series_raises_nothing():
    # Given two full local days of a flat 500 W channel at nominal voltage with a consistent counter
    start = datetime(2026, 11, 26, 0, 0, tzinfo=KYIV)
    rows = list(healthy("em-a", start, start + timedelta(days=2)))
    # When every detector runs, data complete up to the last sample
    alerts = detect_all(
        ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=rows[-1].ts, coverage_from=start
    )
    # Then nothing is raised
    assert alerts == []


def test_a_gap_across_local_midnight_is_one_gap_with_start_end_and_duration():
    # Given samples every 30 s, silent from 23:50 to 00:20 local time
    start = datetime(2026, 11, 26, 20, 0, tzinfo=KYIV)
    silent_from = datetime(2026, 11, 26, 23, 50, tzinfo=KYIV)
    back_at = datetime(2026, 11, 27, 0, 20, tzinfo=KYIV)
    rows = [r for r in healthy("em-a", start, back_at + timedelta(hours=2)) if not silent_from < r.ts < back_at]
    # When gaps are detected
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=rows[-1].ts)
    # Then exactly one gap spans midnight, and the device silence is the same interval
    assert summary(alerts) == [
        (AlertKind.GAP, "em-a", 0, silent_from.astimezone(UTC), back_at.astimezone(UTC)),
        (AlertKind.OFFLINE, "em-a", None, silent_from.astimezone(UTC), back_at.astimezone(UTC)),
    ]
    assert alerts[0].details["seconds"] == 1800
    assert alerts[0].severity is Severity.WARNING


def test_a_day_with_too_little_coverage_is_flagged_once_the_day_is_complete():
    # Given a full local day sampled only from 00:00 to 12:00
    day = datetime(2026, 11, 26, 0, 0, tzinfo=KYIV)
    rows = list(healthy("em-a", day, day + timedelta(hours=12)))
    rows += list(healthy("em-a", day + timedelta(days=1), day + timedelta(days=1, minutes=5), counter_wh=9000))
    # When coverage is judged over that day
    alerts = detect_all(
        ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=rows[-1].ts, coverage_from=day
    )
    # Then the day is flagged at about 50 % coverage
    low = [a for a in alerts if a.kind is AlertKind.LOW_COVERAGE]
    assert summary(low) == [(AlertKind.LOW_COVERAGE, "em-a", 0, day.astimezone(UTC), (day + timedelta(days=1)))]
    assert abs(low[0].details["coverage"] - 0.5) < 0.001


def test_every_meter_silent_at_once_is_one_site_outage_not_a_gap_per_meter():
    # Given three meters that all fall silent between about 10:00 and 10:40 (each a few seconds apart)
    rows = []
    for i, device in enumerate(("em-a", "em-b", "em-c")):
        offset = timedelta(seconds=5 * i)
        silent = (T0 + timedelta(hours=10) + offset, T0 + timedelta(hours=10, minutes=40) + offset)
        rows += [r for r in healthy(device, T0 + offset, T0 + timedelta(hours=12)) if not silent[0] < r.ts < silent[1]]
    # When detection runs over all of them
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=T0 + timedelta(hours=12))
    # Then one outage from the last meter falling silent to the first meter speaking again
    assert summary(alerts) == [
        (AlertKind.OUTAGE, SITE, None, T0 + timedelta(hours=10, seconds=10), T0 + timedelta(hours=10, minutes=40)),
    ]
    assert alerts[0].details["devices"] == ["em-a", "em-b", "em-c"]
    assert alerts[0].severity is Severity.CRITICAL


def test_outage_hours_are_summed_per_local_day():
    # Given a site outage from 23:00 to 02:00 local time
    rows = []
    start = datetime(2026, 11, 26, 20, 0, tzinfo=KYIV)
    down, up = datetime(2026, 11, 26, 23, 0, tzinfo=KYIV), datetime(2026, 11, 27, 2, 0, tzinfo=KYIV)
    for device in ("em-a", "em-b"):
        rows += [r for r in healthy(device, start, up + timedelta(hours=1)) if not down < r.ts < up]
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=rows[-1].ts)
    # When the daily summary is made
    hours = outage_hours_by_day(alerts, tz=KYIV, until=rows[-1].ts)
    # Then one hour falls on the first day and two on the next
    assert hours == {(SITE, "2026-11-26"): 1.0, (SITE, "2026-11-27"): 2.0}


def test_voltage_near_zero_is_an_outage_of_that_channel():
    # Given a channel whose voltage drops to 0 V for five minutes while the meter keeps reporting
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=1)))
    rows = [
        r.model_copy(update={"voltage_v": 0.0})
        if T0 + timedelta(minutes=20) <= r.ts < T0 + timedelta(minutes=25)
        else r
        for r in rows
    ]
    # When detection runs
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV)
    # Then one outage on that channel, from the first 0 V sample to the first normal one
    assert summary(alerts) == [
        (AlertKind.OUTAGE, "em-a", 0, T0 + timedelta(minutes=20), T0 + timedelta(minutes=25)),
    ]


def test_a_sagging_voltage_for_several_minutes_is_a_voltage_alert():
    # Given a voltage of 195 V for three minutes (below 207 V, EN 50160)
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=1)))
    sag = (T0 + timedelta(minutes=10), T0 + timedelta(minutes=13))
    rows = [r.model_copy(update={"voltage_v": 195.0}) if sag[0] <= r.ts < sag[1] else r for r in rows]
    # When detection runs
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV)
    # Then one voltage sag with its numbers
    assert summary(alerts) == [(AlertKind.VOLTAGE, "em-a", 0, sag[0], sag[1])]
    assert alerts[0].details["what"] == "sag"
    assert alerts[0].details["min_voltage_v"] == 195.0
    assert alerts[0].details["seconds"] == 180


def test_a_voltage_dip_shorter_than_a_minute_is_ignored():
    # Given a voltage of 195 V for 30 s
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=1)))
    rows = [r.model_copy(update={"voltage_v": 195.0}) if r.ts == T0 + timedelta(minutes=10) else r for r in rows]
    # When detection runs / Then nothing
    assert detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV) == []


def test_power_above_the_rated_maximum_is_one_alert_per_episode():
    # Given a channel drawing 12 kW (rated 11 kW) for two minutes
    rows = list(healthy("em-a", T0, T0 + timedelta(minutes=30), power_w=500))
    peak = (T0 + timedelta(minutes=5), T0 + timedelta(minutes=7))
    rows = [r.model_copy(update={"power_w": 12_000.0}) if peak[0] <= r.ts < peak[1] else r for r in rows]
    # When only the rated maximum is considered (the counter is constructed flat, so skip the mismatch check)
    alerts = [
        a
        for a in detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV)
        if a.kind is not AlertKind.ENERGY_MISMATCH
    ]
    # Then one critical over-rated alert from the first sample above to the first below
    assert summary(alerts) == [(AlertKind.OVER_RATED, "em-a", 0, peak[0], peak[1])]
    assert alerts[0].details == {"peak_w": 12_000.0, "rated_max_power_w": 11_000.0}


def test_an_hour_far_above_its_hour_of_week_baseline_is_a_spike():
    # Given eight earlier weeks around 400 W at Friday 19:00 local, and this Friday at 2500 W
    local_hour = datetime(2026, 11, 27, 19, 0, tzinfo=KYIV)
    this_hour = local_hour.astimezone(UTC)
    weeks = range(1, 9)  # wall-clock weeks back: across the October DST change too
    history = [Hour("em-a", 0, (local_hour - timedelta(weeks=w)).astimezone(UTC), 400.0 + 10 * (w % 3)) for w in weeks]
    hourly = [Hour("em-a", 0, this_hour, 2500.0), Hour("em-a", 0, this_hour + timedelta(hours=1), 900.0)]
    # When spikes are detected
    alerts = detect_all(ReadingColumns.from_readings([]), thresholds=TH, tz=KYIV, hourly=hourly, history=history)
    # Then that hour only, with the robust statistic behind it
    assert summary(alerts) == [(AlertKind.SPIKE, "em-a", 0, this_hour, this_hour + timedelta(hours=1))]
    details = alerts[0].details
    assert details["median_w"] == 410.0
    assert details["threshold_w"] == 410.0 + max(5 * 1.4826 * details["mad_w"], 300.0)
    assert details["history_n"] == 8


def test_an_hour_without_enough_history_is_not_judged():
    # Given only two earlier weeks
    this_hour = datetime(2026, 11, 27, 19, 0, tzinfo=KYIV).astimezone(UTC)
    history = [Hour("em-a", 0, this_hour - timedelta(weeks=w), 400.0) for w in (1, 2)]
    # When spikes are detected / Then nothing
    assert (
        detect_all(
            ReadingColumns.from_readings([]),
            thresholds=TH,
            tz=KYIV,
            hourly=[Hour("em-a", 0, this_hour, 5000.0)],
            history=history,
        )
        == []
    )


def test_the_baseline_threshold_has_a_floor_for_flat_histories():
    # Given a perfectly flat history (MAD = 0) / When the threshold is computed / Then the floor applies
    assert robust_threshold([400.0] * 6, k=5, floor_w=300) == (400.0, 0.0, 700.0)


def test_a_counter_reset_from_the_energy_engine_is_a_closed_info_alert():
    # Given one reset found by the energy engine
    ts = T0 + timedelta(hours=3)
    alerts = detect_all(
        ReadingColumns.from_readings([]), thresholds=TH, tz=KYIV, resets=[Reset("em-a", 1, ts, 123_456.0, 0.0)]
    )
    # Then one closed alert at the reset instant
    assert summary(alerts) == [(AlertKind.COUNTER_RESET, "em-a", 1, ts, ts)]
    assert alerts[0].severity is Severity.INFO
    assert alerts[0].details == {"before_wh": 123_456.0, "after_wh": 0.0}


def test_an_hour_whose_power_integral_disagrees_with_its_counter_is_flagged():
    # Given a 500 W channel whose counter rises twice as fast during the second hour
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=2)))
    rows = [
        r.model_copy(
            update={
                "energy_total_wh": r.energy_total_wh + (r.ts - T0 - timedelta(hours=1)).total_seconds() * 500 / 3600
            }
        )
        if r.ts >= T0 + timedelta(hours=1)
        else r
        for r in rows
    ]
    # When detection runs
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV)
    # Then only the second hour is flagged, with both numbers
    assert summary(alerts) == [(AlertKind.ENERGY_MISMATCH, "em-a", 0, T0 + timedelta(hours=1), T0 + timedelta(hours=2))]
    assert round(alerts[0].details["integral_wh"]) == 496
    assert round(alerts[0].details["counter_delta_wh"]) == 992


def test_an_mqtt_last_will_is_offline_until_the_next_message():
    # Given a Gen1 LWT online=false at 10:00 and data again from 10:03
    rows = list(healthy("em-a", T0 + timedelta(hours=9), T0 + timedelta(hours=10) - timedelta(seconds=20)))
    lwt = T0 + timedelta(hours=10)
    rows.append(reading("em-a", lwt, None, online=False))
    rows += list(healthy("em-a", lwt + timedelta(minutes=3), T0 + timedelta(hours=11)))
    # When detection runs
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=rows[-1].ts)
    # Then one offline alert from the LWT to the next message, keyed by the LWT instant
    assert summary(alerts) == [(AlertKind.OFFLINE, "em-a", None, lwt, lwt + timedelta(minutes=3))]
    assert alerts[0].key == alert_key(AlertKind.OFFLINE, "em-a", None, lwt)


def test_a_meter_that_sends_nothing_is_offline_and_gapped_while_it_lasts():
    # Given a meter whose last message was 20 minutes before now
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=1)))
    now = rows[-1].ts + timedelta(minutes=20)
    # When detection runs with data complete up to now
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=now)
    # Then an open gap and an open offline alert, both from the last message
    assert summary(alerts) == [
        (AlertKind.GAP, "em-a", 0, rows[-1].ts, None),
        (AlertKind.OFFLINE, "em-a", None, rows[-1].ts, None),
    ]


def test_the_same_condition_seen_through_two_windows_has_the_same_key():
    # Given a gap, seen once with data up to the gap's end and once with a day more
    rows = [
        r
        for r in healthy("em-a", T0, T0 + timedelta(hours=6))
        if not T0 + timedelta(hours=2) < r.ts < T0 + timedelta(hours=3)
    ]
    short = [r for r in rows if r.ts <= T0 + timedelta(hours=3, minutes=30)]
    # When both are detected / Then the gap keys agree
    keys = [
        {
            a.key
            for a in detect_all(ReadingColumns.from_readings(window), thresholds=TH, tz=KYIV)
            if a.kind is AlertKind.GAP
        }
        for window in (short, rows)
    ]
    assert keys[0] == keys[1] and len(keys[0]) == 1


def test_a_long_dead_meter_and_another_meters_gap_are_not_a_site_outage():
    # Given em-a silent since 02:00 and em-b with a 30-minute gap at 10:00
    rows = list(healthy("em-a", T0, T0 + timedelta(hours=2)))
    rows += [
        r
        for r in healthy("em-b", T0, T0 + timedelta(hours=12))
        if not T0 + timedelta(hours=10) < r.ts < T0 + timedelta(hours=10, minutes=30)
    ]
    # When detection runs up to 12:00
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=T0 + timedelta(hours=12))
    # Then no site outage: em-a is offline, em-b has its gap
    assert [a.kind for a in alerts if a.kind is AlertKind.OUTAGE] == []
    assert {(a.kind, a.device_id) for a in alerts} >= {(AlertKind.OFFLINE, "em-a"), (AlertKind.GAP, "em-b")}


def test_a_meter_that_does_not_come_back_after_a_site_outage_keeps_its_own_alerts():
    # Given three meters silent from about 10:00; em-a and em-b back at 10:40, em-c never
    rows = []
    for device in ("em-a", "em-b", "em-c"):
        end = T0 + timedelta(hours=10) if device == "em-c" else T0 + timedelta(hours=12)
        rows += [
            r
            for r in healthy(device, T0, end)
            if not T0 + timedelta(hours=10) < r.ts < T0 + timedelta(hours=10, minutes=40)
        ]
    # When detection runs up to 12:00
    alerts = detect_all(ReadingColumns.from_readings(rows), thresholds=TH, tz=KYIV, open_until=T0 + timedelta(hours=12))
    # Then the site outage, plus em-c's own open gap and offline alerts
    assert [(a.kind, a.device_id, a.end is None) for a in alerts] == [
        (AlertKind.GAP, "em-c", True),
        (AlertKind.OFFLINE, "em-c", True),
        (AlertKind.OUTAGE, SITE, False),
    ]
