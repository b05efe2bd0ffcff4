"""The device simulator: deterministic, real Shelly formats, every scripted fault present."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from datetime import date, timedelta
from importlib import resources

import pytest

from wattline.models import Envelope, Generation
from wattline.parsing import Gen2State, parse_envelope
from wattline.simulator import FaultKind, Scenario, simulate
from wattline.simulator.scenario import LATE_MINUTES, SPIKE_W

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return simulate(devices=2, days=1, seed=7, today=TODAY)


def test_the_same_seed_gives_byte_identical_messages(scenario: Scenario) -> None:
    # When the same scenario is simulated again
    again = simulate(devices=2, days=1, seed=7, today=TODAY)

    # Then every message is identical
    assert again.messages == scenario.messages


def test_another_seed_gives_other_messages(scenario: Scenario) -> None:
    assert simulate(devices=2, days=1, seed=8, today=TODAY).messages != scenario.messages


def test_messages_are_sorted_by_receive_time_within_the_simulated_day(scenario: Scenario) -> None:
    times = [message.received_ms for message in scenario.messages]
    assert times == sorted(times)
    start_ms = scenario.start.timestamp() * 1000
    end_ms = scenario.end.timestamp() * 1000 + LATE_MINUTES * 60_000
    assert start_ms - 10_000 <= times[0] and times[-1] <= end_ms


def test_gen1_meters_publish_text_values_on_per_quantity_topics_every_30_seconds(scenario: Scenario) -> None:
    # Given the Gen1 meter's power messages
    gen1 = next(spec for spec in scenario.devices if spec.generation is Generation.GEN1)
    power = [m for m in scenario.messages if m.topic == f"shellies/{gen1.device_id}/emeter/0/power"]

    # Then payloads are bare decimal text and they come about every 30 s
    assert all(float(m.payload.decode()) >= 0 for m in power)
    gaps = Counter(round((b.received_ms - a.received_ms) / 1000 / 30) for a, b in itertools.pairwise(power))
    assert gaps.most_common(1)[0][0] == 1
    quantities = {m.topic.rsplit("/", 1)[1] for m in scenario.messages if "/emeter/0/" in m.topic}
    assert quantities == {"power", "reactive_power", "voltage", "total", "total_returned"}


def test_gen2_meters_publish_notify_status_frames_with_device_time(scenario: Scenario) -> None:
    # Given the Gen2 meter's RPC notifications
    gen2 = next(spec for spec in scenario.devices if spec.generation is Generation.GEN2)
    frames = [json.loads(m.payload) for m in scenario.messages if m.topic == f"{gen2.device_id}/events/rpc"]

    # Then they are JSON-RPC NotifyStatus frames with params.ts, em1 deltas and per-minute em1data counters
    assert {frame["method"] for frame in frames} == {"NotifyStatus", "NotifyFullStatus"}
    assert all(isinstance(frame["params"]["ts"], float) for frame in frames)
    counters = [frame for frame in frames if "em1data:0" in frame["params"]]
    assert 1440 - 90 <= len(counters) <= 1440 - 90 + 2  # one a minute, none in the 90-minute outage
    deltas = [frame for frame in frames if "em1:0" in frame["params"] and "voltage" not in frame["params"]["em1:0"]]
    assert deltas  # on-change reports carry only the changed fields


def test_the_solar_channel_exports_at_midday_only(scenario: Scenario) -> None:
    gen2 = next(spec for spec in scenario.devices if spec.solar_channel is not None)
    night_and_day = [
        (json.loads(m.payload)["params"]["ts"], json.loads(m.payload)["params"]["em1:1"]["act_power"])
        for m in scenario.messages
        if m.topic == f"{gen2.device_id}/events/rpc" and "em1:1" in json.loads(m.payload)["params"]
    ]
    assert min(power for _ts, power in night_and_day) < -200
    assert max(power for _ts, power in night_and_day) <= 0


def test_every_fault_kind_is_scripted_with_its_message_signature(scenario: Scenario) -> None:
    # Given the scripted faults
    assert {fault.kind for fault in scenario.faults} == set(FaultKind)
    payloads = Counter((m.topic, m.payload) for m in scenario.messages)
    gen1, gen2 = (spec.device_id for spec in scenario.devices)

    # Then the reboot sends -1 counters and the LWT goes offline on both meters
    assert payloads[(f"shellies/{gen1}/emeter/0/total", b"-1")] == 1
    assert payloads[(f"shellies/{gen1}/online", b"false")] == 1
    assert payloads[(f"{gen2}/online", b"false")] == 1
    # And the spike is one power sample above the rating
    assert payloads[(f"shellies/{gen1}/emeter/0/power", f"{SPIKE_W:.2f}".encode())] == 1
    # And the Gen2 redeliveries repeat whole frames (their params.ts makes any other repeat impossible)
    gen2_dupes = [key for key, count in payloads.items() if count == 2 and key[0] == f"{gen2}/events/rpc"]
    gen2_fault = next(f for f in scenario.faults if f.device_id == gen2 and f.kind is FaultKind.DUPLICATES)
    assert len(gen2_dupes) == gen2_fault.messages


def test_every_simulated_message_parses_except_the_unavailable_counters(scenario: Scenario) -> None:
    # When every message is parsed as the pipeline parses envelopes
    state = Gen2State()
    reasons: Counter[str] = Counter()
    for message in scenario.messages:
        envelope = Envelope(topic=message.topic, received_ms=message.received_ms, payload=message.payload.decode())
        outcome = parse_envelope(envelope, state=state)
        if outcome.quarantined is not None:
            reasons[outcome.quarantined.reason.value] += 1

    # Then only the reboot's two "-1" counters are rejected
    assert reasons == {"counter_unavailable": 2}


def test_capture_lines_are_in_the_analyze_format(scenario: Scenario) -> None:
    line = json.loads(next(scenario.capture_lines()))
    assert set(line) == {"topic", "payload", "received_at"}
    assert isinstance(line["payload"], str) and isinstance(line["received_at"], float)


def test_the_uci_driven_meter_replays_the_real_house_on_the_same_weekdays() -> None:
    # Given a simulated week
    week = simulate(devices=1, days=7, seed=7, today=TODAY, faults=False)
    gen1 = week.devices[0].device_id

    # Then each simulated day's true energy is the real house's on the February 2007 day with the same weekday
    minutes = _uci_minutes()
    for day in week.dates():
        simulated = date.fromisoformat(day)
        offset = (simulated - date(2007, 2, 1)).days % 28
        assert (date(2007, 2, 1) + timedelta(days=offset)).weekday() == simulated.weekday()
        real_kwh = sum(minutes[offset * 1440 : (offset + 1) * 1440]) / 60_000
        assert week.true_kwh[(gen1, 0, day)] == pytest.approx(real_kwh, rel=1e-9)


def _uci_minutes() -> list[float]:
    """The packaged UCI series read with the standard library: power W per minute from 2007-02-01."""
    raw = resources.files("wattline.simulator").joinpath("data", "uci-household-2007-02.csv.gz").read_bytes()
    rows = [line for line in gzip.decompress(raw).decode().splitlines() if line and not line.startswith("#")]
    return [float(row.split(",")[1]) for row in rows[1:]]


def test_more_devices_alternate_generations_without_faults() -> None:
    scenario = simulate(devices=4, days=1, seed=1, today=TODAY)
    assert [spec.generation for spec in scenario.devices] == [Generation.GEN1, Generation.GEN2] * 2
    assert {fault.device_id for fault in scenario.faults} == {spec.device_id for spec in scenario.devices[:2]}
