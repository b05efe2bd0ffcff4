import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app

FIXTURES = Path(__file__).parents[2] / "fixtures"
SAMPLE = FIXTURES / "capture-sample.jsonl.gz"
KEYS_ORDER = (
    "device_id",
    "channel",
    "date",
    "timezone",
    "energy_kwh",
    "measured_kwh",
    "estimated_kwh",
    "export_kwh",
    "zones",
    "cost",
    "currency",
    "gap_seconds",
    "coverage",
    "samples",
    "method",
    "counter_resets",
)
KEYS = set(KEYS_ORDER)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def capture_line(topic: str, payload: str, received_at: float) -> str:
    return json.dumps({"topic": topic, "payload": payload, "received_at": received_at})


def test_json_output_has_exactly_the_documented_keys_for_every_day() -> None:
    code, out, _ = run("analyze", str(SAMPLE), "--format", "json")
    assert code == 0
    days = json.loads(out)
    assert days and all(set(day) == KEYS for day in days)


def test_energy_is_measured_plus_estimated_and_the_sum_of_zones() -> None:
    _, out, _ = run("analyze", str(SAMPLE), "--format", "json", "--tariff", "ua-3zone")
    for day in json.loads(out):
        assert day["energy_kwh"] == pytest.approx(day["measured_kwh"] + day["estimated_kwh"], abs=2e-6)
        assert day["energy_kwh"] == pytest.approx(sum(day["zones"].values()), abs=5e-6)
        assert set(day["zones"]) == {"night", "half_peak", "peak"}


def test_the_sample_covers_both_meters_and_the_23_hour_spring_forward_day() -> None:
    _, out, _ = run("analyze", str(SAMPLE), "--format", "json")
    days = {(day["device_id"], day["date"]): day for day in json.loads(out)}
    assert ("shellyem-A4CF12F454A3", "2026-03-29") in days
    assert ("shellyproem50-08f9e0e67204", "2026-03-29") in days
    full_day = days[("shellyem-A4CF12F454A3", "2026-03-28")]
    assert full_day["coverage"] > 0.99
    assert full_day["energy_kwh"] > 1.0


def test_invalid_lines_are_counted_on_stderr_and_never_fatal(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text(
        "\n".join(
            [
                capture_line("shellies/shellyem-AAA/emeter/0/power", "100", 1774648800.0),
                "this is not json",
                capture_line("shellies/shellyem-AAA/emeter/0/power", "abc", 1774648830.0),
                capture_line("shellies/shellyem-AAA/emeter/0/power", "100", 1774648860.0),
            ]
        )
    )
    code, out, err = run("analyze", str(capture), "--format", "json")
    assert code == 0
    assert "1 unusable lines" in err
    assert "non_numeric_value" in err
    (day,) = json.loads(out)
    assert day["energy_kwh"] == pytest.approx(100 * 60 / 3600 / 1000, abs=1e-6)


def test_constant_power_for_one_local_hour_gives_its_exact_energy_and_cost(tmp_path: Path) -> None:
    # Given a Gen1 meter reporting 1200 W every 30 s from 10:00 to 11:00 Kyiv time (08:00–09:00 UTC, winter)
    start = 1795420800.0  # 2026-11-23T08:00:00Z, a Monday
    lines = [capture_line("shellies/shellyem-B1/emeter/0/power", "1200", start + 30 * i) for i in range(121)]
    capture = tmp_path / "hour.jsonl"
    capture.write_text("\n".join(lines))
    # When analysed with the 2-zone tariff
    _, out, _ = run("analyze", str(capture), "--format", "json", "--tariff", "ua-2zone")
    # Then exactly 1.2 kWh, all in the day zone, at 4.32 UAH/kWh
    (day,) = json.loads(out)
    assert day["energy_kwh"] == pytest.approx(1.2)
    assert day["zones"]["day"] == pytest.approx(1.2)
    assert day["cost"] == pytest.approx(1.2 * 4.32)
    assert day["method"] == "trapezoid"


def test_reading_lines_are_accepted_like_the_daily_files(tmp_path: Path) -> None:
    readings = tmp_path / "readings.jsonl"
    readings.write_text(
        "\n".join(
            json.dumps(
                {
                    "device_id": "shellyem-C1",
                    "channel": 0,
                    "ts": ts,
                    "received_ms": 0,
                    "generation": "gen1",
                    "power_w": 500.0,
                }
            )
            for ts in ("2026-11-23T08:00:00.000Z", "2026-11-23T08:01:00.000Z")
        )
    )
    _, out, _ = run("analyze", str(readings), "--format", "json")
    (day,) = json.loads(out)
    assert day["measured_kwh"] == pytest.approx(500 / 60 / 1000, abs=1e-6)


def test_csv_output_has_a_header_row_with_the_same_keys() -> None:
    _, out, _ = run("analyze", str(SAMPLE), "--format", "csv")
    assert out.splitlines()[0].split(",") == list(KEYS_ORDER)


def test_an_unknown_tariff_is_a_usage_error_that_names_the_presets() -> None:
    code, _, err = run("analyze", str(SAMPLE), "--tariff", "nope")
    assert code == 2
    assert "ua-2zone" in err
