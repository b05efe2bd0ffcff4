"""The monthly bill estimate: arithmetic, shape of the report, the recommendation and the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.costs import PRICES, PRICES_AS_OF, Scenario, estimate, recommendation, report


def _item(scenario: Scenario, component: str) -> float:
    return next(i.usd_per_month for i in estimate(scenario).items if i.component == component)


def test_one_gen2_meter_every_minute_direct_is_priced_exactly() -> None:
    # Given one Gen2 meter sending one NotifyStatus a minute: 1,440 a day, 43,200 in a 30-day month
    scenario = Scenario(devices=1, interval_s=60, gen=2, mode="direct")
    # Then each message costs $1.00/M in IoT Core and $0.15/M + $0.15/M in rules and actions
    assert _item(scenario, "IoT Core messages") == pytest.approx(43_200 * 1.00e-6, rel=1e-12)
    assert _item(scenario, "IoT Core rules + actions") == pytest.approx(43_200 * 0.30e-6, rel=1e-12)
    # And one S3 PUT per message plus 3 daily/state objects per device-day, at $0.005 per 1,000
    assert _item(scenario, "S3 PUT requests") == pytest.approx((43_200 + 90) * 0.005 / 1000, rel=1e-12)
    # And 30 archive bundles, one per device-day, at $0.03 per 1,000
    assert _item(scenario, "S3 Glacier PUT requests") == pytest.approx(30 * 0.03 / 1000, rel=1e-12)


def test_gen1_meter_every_30_s_sends_sixteen_messages_per_cycle() -> None:
    # Given the DOMAIN.md Gen1 EM at its default 30 s period
    est = estimate(Scenario(devices=1, interval_s=30, gen=1, mode="direct"))
    # Then it sends 46,080 messages a day, and S3 PUTs alone are about $6.9 a month
    assert est.assumptions["messages_per_month"] == 46_080 * 30
    assert _item(est.scenario, "S3 PUT requests") == pytest.approx(6.91, abs=0.01)


def test_batched_mode_prices_firehose_with_5_kb_rounding() -> None:
    scenario = Scenario(devices=1, interval_s=30, gen=1, mode="batched")
    billed_gb = 46_080 * 30 * 5 * 1024 / 1024**3
    assert _item(scenario, "Firehose ingestion") == pytest.approx(billed_gb * 0.029, rel=1e-12)
    assert _item(scenario, "S3 PUT requests") == pytest.approx((1440 * 30 + 90) * 0.005 / 1000, rel=1e-12)


def test_items_sum_to_the_total() -> None:
    for mode in ("direct", "batched"):
        est = estimate(Scenario(devices=100, interval_s=10, gen=1, mode=mode, watchdog=True))
        assert est.total_usd_per_month == pytest.approx(math.fsum(i.usd_per_month for i in est.items), rel=1e-12)
        data = report(est.scenario)
        items = data["items"]
        assert isinstance(items, list)
        assert data["total_usd_per_month"] == pytest.approx(sum(i["usd_per_month"] for i in items), abs=1e-6)


def test_batched_is_cheaper_than_direct_at_one_hertz_for_many_meters() -> None:
    direct = estimate(Scenario(devices=1000, interval_s=1, gen=2, mode="direct")).total_usd_per_month
    batched = estimate(Scenario(devices=1000, interval_s=1, gen=2, mode="batched")).total_usd_per_month
    assert batched < direct
    assert recommendation(1000, 1, 2).startswith("batched")


def test_direct_is_recommended_when_messages_are_rare() -> None:
    # One Gen2 message a minute already is one object a minute: Firehose only adds its own fees
    assert recommendation(1, 60, 2).startswith("direct")


def test_the_s3_put_line_is_named_s3_put() -> None:
    components = [i.component for i in estimate(Scenario(1, 30, 1, "direct")).items]
    assert [c for c in components if "S3" in c and "PUT" in c and "Glacier" not in c] == ["S3 PUT requests"]


def test_every_price_names_its_source() -> None:
    assert PRICES
    assert all(price.source and price.usd >= 0 for price in PRICES.values())


def test_the_report_has_the_documented_keys() -> None:
    data = report(Scenario(devices=2, interval_s=30, gen=1, mode="batched"))
    assert set(data) == {"total_usd_per_month", "items", "assumptions", "prices_as_of", "recommendation"}
    assert data["prices_as_of"] == PRICES_AS_OF
    items = data["items"]
    assert isinstance(items, list)
    assert all(set(i) == {"component", "usd_per_month", "detail"} for i in items)


def test_an_empty_site_is_refused() -> None:
    with pytest.raises(ValueError, match="devices"):
        Scenario(devices=0, interval_s=30, gen=1, mode="direct")


def test_cli_prints_the_json_report() -> None:
    args = ["cost", "--devices", "100", "--interval", "1", "--gen", "1", "--mode", "direct", "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data["total_usd_per_month"], float)
    assert data["recommendation"].startswith("batched")
    assert any("S3" in i["component"] and "PUT" in i["component"] for i in data["items"])


def test_cli_prints_a_table_with_the_recommendation() -> None:
    result = CliRunner().invoke(app, ["cost", "--devices", "1", "--interval", "30", "--gen", "2", "--mode", "batched"])
    assert result.exit_code == 0, result.output
    assert "S3 PUT requests" in result.stdout
    assert "recommendation:" in result.stdout


def test_cli_refuses_an_unknown_mode() -> None:
    result = CliRunner().invoke(app, ["cost", "--devices", "1", "--interval", "30", "--gen", "1", "--mode", "x"])
    assert result.exit_code != 0
