from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wattline.errors import PermanentError
from wattline.tariffs import PRESETS, load_tariff, tariff_rows

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.mark.parametrize(
    ("hour", "zone"),
    [(22, "day"), (23, "night"), (0, "night"), (6, "night"), (7, "day"), (12, "day")],
)
def test_two_zone_night_runs_from_23_to_7_local(hour: int, zone: str) -> None:
    assert load_tariff("ua-2zone").zone_at(datetime(2026, 3, 10, hour, tzinfo=KYIV)) == zone


@pytest.mark.parametrize(
    ("hour", "zone"),
    [
        (7, "half_peak"),
        (8, "peak"),
        (10, "peak"),
        (11, "half_peak"),
        (19, "half_peak"),
        (20, "peak"),
        (21, "peak"),
        (22, "half_peak"),
        (23, "night"),
        (3, "night"),
    ],
)
def test_three_zone_hours_match_resolution_483(hour: int, zone: str) -> None:
    assert load_tariff("ua-3zone").zone_at(datetime(2026, 3, 10, hour, tzinfo=KYIV)) == zone


def test_prices_follow_the_dated_base_price_table() -> None:
    tariff = load_tariff("ua-2zone")
    assert tariff.price("day", date(2023, 5, 31)) == 1.68
    assert tariff.price("day", date(2023, 6, 1)) == 2.64
    assert tariff.price("day", date(2024, 6, 1)) == 4.32
    assert tariff.price("night", date(2026, 11, 27)) == 2.16


def test_three_zone_coefficients_are_applied_to_the_base_price() -> None:
    tariff = load_tariff("ua-3zone")
    day = date(2025, 1, 1)
    assert (tariff.price("night", day), tariff.price("half_peak", day), tariff.price("peak", day)) == (
        1.728,
        4.32,
        6.48,
    )


def test_every_preset_puts_each_hour_of_the_week_in_exactly_one_zone() -> None:
    for tariff in PRESETS.values():
        zone_hours, _ = tariff_rows(tariff)
        assert len(zone_hours) == 7 * 24
        assert len({(row["weekday"], row["local_hour"]) for row in zone_hours}) == 7 * 24


def test_custom_tariff_from_toml_with_weekend_zone_and_absolute_prices(tmp_path: Path) -> None:
    path = tmp_path / "weekend.toml"
    path.write_text(
        """
name = "weekend-cheap"
currency = "EUR"
[[zones]]
name = "weekday"
weekdays = [1, 2, 3, 4, 5]
prices = [{ valid_from = 2024-01-01, valid_to = 2025-01-01, price = 0.30 }, { valid_from = 2025-01-01, price = 0.32 }]
[[zones]]
name = "weekend"
weekdays = [6, 7]
prices = [{ valid_from = 2024-01-01, price = 0.20 }]
"""
    )
    tariff = load_tariff(str(path))
    assert tariff.currency == "EUR"
    assert tariff.zone_at(datetime(2026, 11, 28, 12, tzinfo=KYIV)) == "weekend"  # a Saturday
    assert tariff.price("weekday", date(2024, 12, 31)) == 0.30
    assert tariff.price("weekday", date(2025, 1, 1)) == 0.32


def test_custom_tariff_with_coefficients_uses_its_base_prices(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        """
base_prices = [{ valid_from = 2020-01-01, price = 2.0 }]
[[zones]]
name = "night"
hours = [23, 0, 1, 2, 3, 4, 5, 6]
coefficient = 0.5
[[zones]]
name = "day"
hours = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]
"""
    )
    tariff = load_tariff(str(path))
    assert tariff.name == "t"
    assert tariff.price("night", date(2026, 1, 1)) == 1.0


def test_a_tariff_with_an_hour_in_no_zone_is_rejected_with_the_hour_named(tmp_path: Path) -> None:
    path = tmp_path / "hole.toml"
    path.write_text('[[zones]]\nname = "day"\nhours = [7, 8]\nprices = [{ valid_from = 2020-01-01, price = 1 }]\n')
    with pytest.raises(PermanentError, match="hour 0 is in 0 zones"):
        load_tariff(str(path))


def test_an_unknown_tariff_name_says_what_to_use() -> None:
    with pytest.raises(PermanentError, match="ua-1zone, ua-2zone, ua-3zone"):
        load_tariff("ua-9zone")


def test_a_date_before_any_price_is_a_clear_error() -> None:
    with pytest.raises(PermanentError, match="no price"):
        load_tariff("ua-1zone").price("all", date(1999, 1, 1))
