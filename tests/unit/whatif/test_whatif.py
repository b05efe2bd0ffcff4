"""wattline.whatif on constructed hourly series: every preset tariff, DST days, load shifts, with hand arithmetic.

Prices in 2026 (docs/tariffs.md): base 4.32 UAH/kWh; ua-2zone night 2.16, day 4.32; ua-3zone night 1.728,
half_peak 4.32, peak 6.48. Kyiv: 2026-03-29 has 23 local hours (no 03:00), 2026-10-25 has 25 (03:00 twice).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wattline.errors import PermanentError
from wattline.models import HourlyEnergy
from wattline.tariffs import PRESETS, load_tariff
from wattline.whatif import Shift, compare_days, compare_tariffs, parse_shift

KYIV = ZoneInfo("Europe/Kyiv")
TZ = "Europe/Kyiv"
TARIFFS = list(PRESETS.values())
UA2 = PRESETS["ua-2zone"]


def _hour(start: datetime, wh: float, device: str = "m") -> HourlyEnergy:
    return HourlyEnergy(
        device_id=device,
        channel=0,
        hour_start=start.astimezone(UTC),
        import_wh=wh,
        export_wh=0.0,
        estimated_wh=0.0,
        covered_s=3600.0,
        gap_s=0.0,
        samples=60,
        min_power_w=None,
        max_power_w=None,
        mean_power_w=None,
        counter_resets=0,
        method="counter",
    )


def _day(day: str, wh: float = 1000.0) -> list[HourlyEnergy]:
    """`wh` in every local hour of a Kyiv date (23, 24 or 25 hours)."""
    start = datetime.fromisoformat(day).replace(tzinfo=KYIV).astimezone(UTC)
    end = (datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=KYIV).astimezone(UTC)
    hours = []
    while start < end:
        hours.append(_hour(start, wh))
        start += timedelta(hours=1)
    return hours


def _at(day: str, clock: str, wh: float) -> HourlyEnergy:
    return _hour(datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=KYIV), wh)


def _by_tariff(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["tariff"]: row for row in rows}


def test_an_ordinary_day_is_priced_under_every_preset_with_savings_against_the_current() -> None:
    # Given 1 kWh in each of the 24 hours of Monday 2026-06-15
    hourly = _day("2026-06-15")

    # When compared with ua-2zone as the current tariff
    rows = _by_tariff(compare_tariffs(hourly, TARIFFS, current=UA2, timezone=TZ).rows)

    # Then: 24 x 4.32; 8 night x 2.16 + 16 day x 4.32; 8 x 1.728 + 11 half-peak x 4.32 + 5 peak x 6.48
    assert rows["ua-1zone"]["cost"] == 103.68
    assert rows["ua-2zone"]["cost"] == 86.4
    assert rows["ua-3zone"]["cost"] == 93.744
    assert rows["ua-3zone"]["zones"] == {"night": 8.0, "half_peak": 11.0, "peak": 5.0}
    assert (rows["ua-1zone"]["saving"], rows["ua-2zone"]["saving"], rows["ua-3zone"]["saving"]) == (
        -17.28,
        0.0,
        -7.344,
    )
    assert {row["energy_kwh"] for row in rows.values()} == {24.0}


def test_the_spring_dst_day_has_seven_night_hours() -> None:
    # Given 1 kWh in each of the 23 local hours of 2026-03-29 (00, 01, 02, 04 … 23)
    rows = _by_tariff(compare_tariffs(_day("2026-03-29"), TARIFFS, current=UA2, timezone=TZ).rows)

    # Then 23 x 4.32; 7 x 2.16 + 16 x 4.32; 7 x 1.728 + 11 x 4.32 + 5 x 6.48
    assert (rows["ua-1zone"]["cost"], rows["ua-2zone"]["cost"], rows["ua-3zone"]["cost"]) == (99.36, 84.24, 92.016)
    assert rows["ua-2zone"]["zones"] == {"night": 7.0, "day": 16.0}


def test_the_autumn_dst_day_has_nine_night_hours() -> None:
    # Given 1 kWh in each of the 25 local hours of 2026-10-25 (03:00 twice)
    rows = _by_tariff(compare_tariffs(_day("2026-10-25"), TARIFFS, current=UA2, timezone=TZ).rows)

    # Then 25 x 4.32; 9 x 2.16 + 16 x 4.32; 9 x 1.728 + 11 x 4.32 + 5 x 6.48
    assert (rows["ua-1zone"]["cost"], rows["ua-2zone"]["cost"], rows["ua-3zone"]["cost"]) == (108.0, 88.56, 95.472)
    assert rows["ua-3zone"]["zones"] == {"night": 9.0, "half_peak": 11.0, "peak": 5.0}


def test_a_period_sums_its_days_and_a_shift_moves_energy_each_day() -> None:
    # Given the three days above for one meter, and 3 kWh a day shifted from day to night
    hourly = _day("2026-03-29") + _day("2026-06-15") + _day("2026-10-25")
    comparison = compare_tariffs(hourly, TARIFFS, current=UA2, timezone=TZ, shift=Shift(3.0, "day", "night"))
    rows = _by_tariff(comparison.rows)

    # Then each tariff costs the sum of its days, and the shift saves 3 x (4.32 - 2.16) = 6.48 a day
    assert rows["ua-1zone"]["cost"] == round(99.36 + 103.68 + 108.0, 4) == 311.04
    assert rows["ua-2zone"]["cost"] == round(84.24 + 86.4 + 88.56, 4) == 259.2
    assert rows["ua-3zone"]["cost"] == round(92.016 + 93.744 + 95.472, 4) == 281.232
    assert rows["ua-2zone+shift"]["zones"] == {"night": 7 + 8 + 9 + 9.0, "day": 48.0 - 9}
    assert rows["ua-2zone+shift"]["cost"] == round(259.2 - 3 * 6.48, 4) == 239.76
    assert rows["ua-2zone+shift"]["saving"] == 19.44
    assert rows["ua-1zone"]["saving"] == -51.84
    # and the tariffs without both zones are named in the notes, with no shifted row
    assert [row["tariff"] for row in comparison.rows] == ["ua-1zone", "ua-2zone", "ua-3zone", "ua-2zone+shift"]
    assert [note.split(":")[0] for note in comparison.notes] == ["ua-1zone", "ua-3zone"]


def test_a_shift_moves_no_more_than_the_source_zone_really_used_that_day() -> None:
    # Given 1 kWh at 12:00 (day) and 2 kWh at 02:00 (night), and a shift of 3 kWh from day to night
    hourly = [_at("2026-06-16", "12:00", 1000.0), _at("2026-06-16", "02:00", 2000.0)]
    rows = _by_tariff(
        compare_tariffs(hourly, [UA2], current=UA2, timezone=TZ, shift=parse_shift("3 from day to night")).rows
    )

    # Then only 1 kWh moves: 3 kWh at night = 6.48 instead of 2 x 2.16 + 4.32 = 8.64
    assert rows["ua-2zone+shift"]["zones"] == {"night": 3.0, "day": 0.0}
    assert (rows["ua-2zone"]["cost"], rows["ua-2zone+shift"]["cost"], rows["ua-2zone+shift"]["saving"]) == (
        8.64,
        6.48,
        2.16,
    )


def test_a_three_zone_shift_from_peak_to_night() -> None:
    # Given the 24-kWh day and 2 kWh a day moved from peak to night
    comparison = compare_tariffs(
        _day("2026-06-15"), TARIFFS, current=PRESETS["ua-3zone"], timezone=TZ, shift=parse_shift("2 from peak to night")
    )
    rows = _by_tariff(comparison.rows)

    # Then 93.744 - 2 x (6.48 - 1.728) = 84.24, and only ua-3zone has both zones
    assert rows["ua-3zone+shift"]["cost"] == 84.24
    assert rows["ua-3zone+shift"]["saving"] == 9.504
    assert rows["ua-3zone+shift"]["zones"] == {"night": 10.0, "half_peak": 11.0, "peak": 3.0}
    assert "ua-2zone+shift" not in rows


def test_a_shift_no_tariff_can_apply_is_an_error_naming_the_zones() -> None:
    with pytest.raises(PermanentError, match="no compared tariff has both zones 'solar' and 'night'"):
        compare_tariffs(
            _day("2026-06-15"), TARIFFS, current=UA2, timezone=TZ, shift=parse_shift("1 from solar to night")
        )


@pytest.mark.parametrize("text", ["3 day night", "three from day to night", "-1 from day to night", "3 from day"])
def test_a_shift_that_does_not_read_says_the_expected_form(text: str) -> None:
    with pytest.raises(PermanentError, match='expected "KWH_PER_DAY from ZONE to ZONE"'):
        parse_shift(text)


@pytest.mark.parametrize("text", ["0 from day to night", "2 from day to day"])
def test_a_shift_of_nothing_or_within_one_zone_is_refused(text: str) -> None:
    with pytest.raises(PermanentError, match="expected"):
        parse_shift(text)


def test_a_custom_tariff_in_another_currency_has_no_saving(tmp_path: Path) -> None:
    # Given a flat 0.30 EUR/kWh tariff
    path = tmp_path / "flat.toml"
    path.write_text('currency = "EUR"\n[[zones]]\nname = "all"\nprices = [{ valid_from = 2020-01-01, price = 0.30 }]\n')
    flat = load_tariff(path)

    # When compared with the presets
    rows = _by_tariff(compare_tariffs(_day("2026-06-15"), [*TARIFFS, flat], current=UA2, timezone=TZ).rows)

    # Then it costs 24 x 0.30 EUR and no saving is computed across currencies
    assert (rows["flat"]["cost"], rows["flat"]["currency"], rows["flat"]["saving"]) == (7.2, "EUR", None)


def test_daily_rows_sum_to_the_period_rows() -> None:
    hourly = _day("2026-03-29", 333.3333) + _day("2026-03-30", 777.7777)
    days = compare_days(hourly, TARIFFS, current=UA2, timezone=TZ)
    period = _by_tariff(compare_tariffs(hourly, TARIFFS, current=UA2, timezone=TZ).rows)
    for name, row in period.items():
        mine = [d for d in days if d["tariff"] == name]
        assert row["cost"] == round(sum(d["cost"] for d in mine), 4)
        assert row["saving"] == round(sum(d["saving"] for d in mine), 4)
