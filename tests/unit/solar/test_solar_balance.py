"""wattline.solar: exact balances of constructed sites (the expected numbers are worked out here, by hand), on an
ordinary day and both Kyiv DST days, and the invariants of the balance on any hours (hypothesis)."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solar_helpers import SITE, constant_site_day, hour, local, local_day_hours

from wattline.solar import ChannelRole, SolarHour, parse_channel_roles, solar_days, solar_hours
from wattline.tariffs import load_tariff

ROLES = parse_channel_roles(f"{SITE}:0=grid,{SITE}:1=solar")
UA1_ACTIVE = load_tariff("ua-1zone-active")  # export priced at 2.67104 UAH/kWh on every date used here
KYIV = "Europe/Kyiv"


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2026-03-29", 23), ("2026-06-15", 24), ("2026-10-25", 25)],
)
def test_a_day_of_identical_hours_sums_them_whatever_its_length(day: str, hours: int) -> None:
    # Given every hour: grid import 100 Wh, export 30 Wh; PV 50 Wh generated, 2 Wh standby draw
    rows = constant_site_day(day)

    # When the site's day is computed
    (result,) = solar_days(rows, ROLES, tariff=UA1_ACTIVE, timezone=KYIV)

    # Then per hour: generation 50, self-consumption 50 - 30 = 20, consumption 100 + 20 = 120 (the standby is not
    # generation: it is in the grid import already), times the day's hours
    assert result.date == day
    assert result.generation_kwh == pytest.approx(0.050 * hours, abs=1e-9)
    assert result.grid_import_kwh == pytest.approx(0.100 * hours, abs=1e-9)
    assert result.export_kwh == pytest.approx(0.030 * hours, abs=1e-9)
    assert result.self_consumption_kwh == pytest.approx(0.020 * hours, abs=1e-9)
    assert result.consumption_kwh == pytest.approx(0.120 * hours, abs=1e-9)
    assert result.self_sufficiency == round(20 / 120, 6) == 0.166667
    assert result.export_value == round(0.030 * hours * 2.67104, 4)  # 23 h: 1.843, 24 h: 1.9231, 25 h: 2.0033
    assert result.currency == "UAH"


def test_noon_export_does_not_offset_the_evening_import() -> None:
    # Given a sunny noon hour (PV 1000 Wh, export 600 Wh) and an evening hour importing 500 Wh, same day
    noon, evening = local("2026-06-15", "12:00"), local("2026-06-15", "20:00")
    rows = [
        hour(SITE, noon, channel=0, export_wh=600.0),
        hour(SITE, noon, channel=1, export_wh=1000.0),
        hour(SITE, evening, channel=0, import_wh=500.0),
        hour(SITE, evening, channel=1, import_wh=3.0),
    ]

    # When the day is computed
    (day,) = solar_days(rows, ROLES, tariff=UA1_ACTIVE, timezone=KYIV)

    # Then self-consumption is noon's 400 Wh, consumption 400 + 500, sufficiency 400 / 900
    assert (day.generation_kwh, day.export_kwh, day.self_consumption_kwh) == (1.0, 0.6, 0.4)
    assert (day.grid_import_kwh, day.consumption_kwh) == (0.5, 0.9)
    assert day.self_sufficiency == 0.444444
    assert day.export_value == 1.6026  # 0.6 kWh x 2.67104


def test_a_solar_plus_channel_generates_in_the_import_direction() -> None:
    # Given the PV clamp turned round: its generation is positive power (import direction)
    start = local("2026-06-15", "12:00")
    rows = [
        hour(SITE, start, channel=0, import_wh=10.0, export_wh=200.0),
        hour(SITE, start, channel=1, import_wh=700.0, export_wh=1.0),
    ]
    roles = parse_channel_roles(f"{SITE}:1=solar+")

    # When the hour is computed (channel 0 is unlisted, so grid)
    (result,) = solar_hours(rows, roles)

    # Then generation is the import direction; the other direction is not generation
    assert result == SolarHour(SITE, start.astimezone(UTC), generation_wh=700.0, grid_import_wh=10.0, export_wh=200.0)
    assert result.self_consumption_wh == 500.0
    assert result.consumption_wh == 510.0


def test_a_load_channel_stays_out_of_the_balance_and_estimated_grid_energy_counts_as_import() -> None:
    start = local("2026-06-15", "12:00")
    rows = [
        hour(SITE, start, channel=0, import_wh=80.0, estimated_wh=20.0),
        hour(SITE, start, channel=1, import_wh=60.0),  # a boiler: already inside the grid clamp's 100 Wh
    ]
    (result,) = solar_hours(rows, parse_channel_roles(f"{SITE}:1=load"))
    assert (result.generation_wh, result.grid_import_wh, result.consumption_wh) == (0.0, 100.0, 100.0)
    assert result.self_sufficiency == 0.0


def test_an_hour_exporting_more_than_the_pv_clamp_saw_has_no_self_consumption() -> None:
    start = local("2026-06-15", "12:00")
    rows = [hour(SITE, start, channel=0, import_wh=5.0, export_wh=90.0), hour(SITE, start, channel=1, export_wh=60.0)]
    (result,) = solar_hours(rows, ROLES)
    assert (result.self_consumption_wh, result.consumption_wh) == (0.0, 5.0)


def test_a_day_without_consumption_has_no_self_sufficiency_and_no_export_has_no_value() -> None:
    rows = [hour(SITE, start, channel=0) for start in local_day_hours("2026-06-15")]
    (day,) = solar_days(rows, ROLES, tariff=UA1_ACTIVE, timezone=KYIV)
    assert day.self_sufficiency is None
    assert day.export_value is None


def test_export_is_not_valued_by_a_tariff_without_an_export_price() -> None:
    (day,) = solar_days(constant_site_day("2026-06-15"), ROLES, tariff=load_tariff("ua-1zone"), timezone=KYIV)
    assert day.export_kwh == 0.72
    assert day.export_value is None


def test_only_devices_named_in_the_roles_are_sites() -> None:
    rows = constant_site_day("2026-06-15") + constant_site_day("2026-06-15", device_id="shellyem-OTHER")
    assert {day.device_id for day in solar_days(rows, ROLES, tariff=UA1_ACTIVE, timezone=KYIV)} == {SITE}


def test_hours_belong_to_the_local_date_of_their_start() -> None:
    # Given the last hour of 2026-10-25 (the 25-hour day) and the first of the 26th, one Wh of generation each
    last, first = local_day_hours("2026-10-25")[-1], local_day_hours("2026-10-26")[0]
    rows = [hour(SITE, last, channel=1, export_wh=1.0), hour(SITE, first, channel=1, export_wh=2.0)]
    days = solar_days(rows, ROLES, tariff=UA1_ACTIVE, timezone=KYIV)
    assert [(d.date, d.generation_kwh) for d in days] == [("2026-10-25", 0.001), ("2026-10-26", 0.002)]


energy = st.floats(min_value=0.0, max_value=20_000.0, allow_nan=False)
roles_strategy = st.sampled_from([ChannelRole.GRID, ChannelRole.SOLAR, ChannelRole.SOLAR_POSITIVE, ChannelRole.LOAD])


@st.composite
def site_hours(draw: st.DrawFn) -> tuple[list[object], dict[tuple[str, int], ChannelRole]]:
    """1-3 channels with any roles, over a few hours of any DST day, any import/export/estimated energy."""
    channels = draw(st.integers(min_value=1, max_value=3))
    roles = {(SITE, c): draw(roles_strategy) for c in range(channels)}
    day = draw(st.sampled_from(["2026-03-29", "2026-10-25", "2026-06-15"]))
    starts = draw(st.lists(st.sampled_from(local_day_hours(day)), min_size=1, max_size=6, unique=True))
    rows = [
        hour(SITE, start, channel=c, import_wh=draw(energy), export_wh=draw(energy), estimated_wh=draw(energy))
        for start in starts
        for c in range(channels)
    ]
    return rows, roles


@given(site_hours())
def test_self_consumption_is_within_generation_and_consumption_and_sufficiency_within_0_and_1(
    case: tuple[list[object], dict[tuple[str, int], ChannelRole]],
) -> None:
    rows, roles = case
    hours = solar_hours(rows, roles)  # type: ignore[arg-type]
    days = solar_days(rows, roles, tariff=UA1_ACTIVE, timezone=KYIV)  # type: ignore[arg-type]
    for h in hours:
        assert 0.0 <= h.self_consumption_wh <= h.generation_wh
        assert h.self_consumption_wh <= h.consumption_wh
        assert h.self_sufficiency is None or 0.0 <= h.self_sufficiency <= 1.0
    for d in days:
        assert d.self_consumption_kwh <= d.generation_kwh
        assert d.self_consumption_kwh <= d.consumption_kwh
        assert d.self_sufficiency is None or 0.0 <= d.self_sufficiency <= 1.0
        assert d.consumption_kwh == pytest.approx(d.grid_import_kwh + d.self_consumption_kwh, abs=2e-6)


@given(site_hours(), st.randoms(use_true_random=False))
def test_the_order_of_the_hourly_rows_changes_nothing(
    case: tuple[list[object], dict[tuple[str, int], ChannelRole]], rnd: object
) -> None:
    rows, roles = case
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    expected = solar_days(rows, roles, tariff=UA1_ACTIVE, timezone=KYIV)  # type: ignore[arg-type]
    got = solar_days(shuffled, roles, tariff=UA1_ACTIVE, timezone=KYIV)  # type: ignore[arg-type]
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        for name, value in theirs.model_dump().items():
            mine_value = getattr(mine, name)
            if isinstance(value, float):  # a different summation order may move the last rounded digit
                assert mine_value == pytest.approx(value, abs=2e-6), name
            else:
                assert mine_value == value, name


@given(site_hours())
def test_the_day_is_the_sum_of_its_hours(case: tuple[list[object], dict[tuple[str, int], ChannelRole]]) -> None:
    rows, roles = case
    hours = solar_hours(rows, roles)  # type: ignore[arg-type]
    (day,) = solar_days(rows, roles, tariff=UA1_ACTIVE, timezone=KYIV)  # type: ignore[arg-type]
    assert day.generation_kwh == pytest.approx(sum(h.generation_wh for h in hours) / 1000, abs=1e-6)
    assert day.self_consumption_kwh == pytest.approx(sum(h.self_consumption_wh for h in hours) / 1000, abs=1e-6)
    assert day.consumption_kwh == pytest.approx(sum(h.consumption_wh for h in hours) / 1000, abs=1e-6)
