from datetime import UTC, datetime, timedelta

import pytest

from wattline.daily import daily_energy
from wattline.models import HourlyEnergy
from wattline.tariffs import load_tariff


def hour(start: datetime, import_wh: float, *, estimated_wh: float = 0.0, export_wh: float = 0.0) -> HourlyEnergy:
    return HourlyEnergy(
        device_id="shellyem-1",
        channel=0,
        hour_start=start,
        import_wh=import_wh,
        export_wh=export_wh,
        estimated_wh=estimated_wh,
        covered_s=3600.0,
        gap_s=0.0,
        samples=120,
        min_power_w=0.0,
        max_power_w=2000.0,
        mean_power_w=import_wh,
        counter_resets=0,
        method="trapezoid",
    )


def test_hours_are_grouped_by_local_date_and_priced_by_zone() -> None:
    # Given 1 kWh in every UTC hour of 2026-11-27 (Kyiv is UTC+2 in winter)
    rows = [hour(datetime(2026, 11, 27, h, tzinfo=UTC), 1000.0) for h in range(24)]
    # When rolled up in Kyiv time with the 2-zone tariff
    days = daily_energy(rows, tariff=load_tariff("ua-2zone"), timezone="Europe/Kyiv")
    # Then local 27 Nov gets UTC 00–21 (22 h): night 00–07 local = 5 h (02..06) … and the rest spills into 28 Nov
    first, second = days
    assert (first.date, second.date) == ("2026-11-27", "2026-11-28")
    assert first.energy_kwh == 22.0 and second.energy_kwh == 2.0
    assert first.zones == {"night": 6.0, "day": 16.0}  # local 02..06 and 23 are night
    assert first.cost == pytest.approx(6 * 2.16 + 16 * 4.32)
    assert first.coverage == pytest.approx(22 / 24)


def test_energy_is_measured_plus_estimated_and_equals_the_sum_of_zones() -> None:
    rows = [hour(datetime(2026, 6, 1, 10, tzinfo=UTC), 300.0, estimated_wh=200.0, export_wh=50.0)]
    (day,) = daily_energy(rows, tariff=load_tariff("ua-3zone"), timezone="Europe/Kyiv")
    assert (day.measured_kwh, day.estimated_kwh, day.export_kwh) == (0.3, 0.2, 0.05)
    assert day.energy_kwh == pytest.approx(sum(day.zones.values()))
    assert day.zones == {"night": 0.0, "half_peak": 0.5, "peak": 0.0}  # 13:00 local


def test_coverage_of_the_25_hour_autumn_day_divides_by_90000_seconds() -> None:
    start = datetime(2026, 10, 24, 21, tzinfo=UTC)  # local midnight of 25 Oct (UTC+3)
    rows = [hour(start + timedelta(hours=h), 100.0) for h in range(25)]
    (day,) = daily_energy(rows, tariff=load_tariff("ua-2zone"), timezone="Europe/Kyiv")
    assert day.date == "2026-10-25"
    assert day.coverage == 1.0
    assert day.zones["night"] == pytest.approx(0.9)  # 9 night hours on the long night
