"""Property: for any hourly rows, daily_energy on DuckDB equals wattline.daily (what `wattline analyze` prints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers.hourly import dumps, hour
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.daily import daily_energy
from wattline.models import HourlyEnergy
from wattline.tariffs import PRESETS
from wattline.warehouse import daily_from_row
from wattline.warehouse.duckdb import DuckDBWarehouse

# Hours around both 2026 DST changes in Kyiv and an ordinary week, so local days of 23, 24 and 25 hours occur.
STARTS = (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 6, 10, tzinfo=UTC))
energy = st.floats(min_value=0, max_value=5000, allow_nan=False, allow_infinity=False)


@st.composite
def hourly_rows(draw: st.DrawFn) -> list[HourlyEnergy]:
    base = draw(st.sampled_from(STARTS))
    offsets = draw(st.sets(st.integers(min_value=0, max_value=96), min_size=1, max_size=40))
    rows = []
    for offset in sorted(offsets):
        covered = draw(st.floats(min_value=0, max_value=3600))
        rows.append(
            hour(
                draw(st.sampled_from(["em-a", "em-b"])),
                base + timedelta(hours=offset),
                channel=draw(st.integers(min_value=0, max_value=1)),
                import_wh=draw(energy),
                estimated_wh=draw(st.one_of(st.just(0.0), energy)),
                export_wh=draw(energy),
                covered_s=covered,
                gap_s=3600 - covered,
                samples=draw(st.integers(min_value=0, max_value=3600)),
                counter_resets=draw(st.integers(min_value=0, max_value=2)),
                method=draw(st.sampled_from(["counter", "trapezoid", "locf"])),
            )
        )
    unique = {(r.device_id, r.channel, r.hour_start): r for r in rows}  # one row per key, as the table holds
    return list(unique.values())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=hourly_rows())
def test_daily_energy_of_any_hours_equals_the_python_rollup_for_every_tariff(
    warehouse: DuckDBWarehouse, rows: list[HourlyEnergy]
) -> None:
    # Given any hourly rows in the warehouse (replacing the previous example's)
    warehouse.replace_rows("energy_hourly", dumps(rows), {})

    # When daily energy of every preset tariff is read
    got = warehouse.query(
        "SELECT * FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs` ORDER BY tariff, device_id, channel, date"
    )

    # Then, tariff by tariff, it equals wattline.daily for the same rows
    for name, tariff in PRESETS.items():
        expected = [d.model_dump() for d in daily_energy(rows, tariff=tariff, timezone="Europe/Kyiv")]
        assert [daily_from_row(r, tariff).model_dump() for r in got if r["tariff"] == name] == expected
