"""Every one of the 88 real payloads parses to the readings its body carries, or is refused with its reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shelly_cases import NOW_MS, RECEIVED_MS, Case, all_cases, load_records

from wattline.models import Reading
from wattline.parsing import parse_envelope

CASES = all_cases()


_META = {"device_id", "channel", "ts", "received_ms", "generation"}


def _by_channel(readings: list[Reading]) -> dict[int | None, dict[str, object]]:
    return {r.channel: r.model_dump(exclude_none=True, exclude=_META) for r in readings}


def test_every_record_of_the_fixture_file_has_at_least_one_case() -> None:
    # Given the fixture file
    records = load_records()
    # When cases are built
    covered = {case.record_id for case in CASES}
    # Then all 88 records are covered
    assert len(records) == 88
    assert covered == {r["id"] for r in records}


@pytest.mark.parametrize("case", [c for c in CASES if c.reason is None], ids=lambda c: c.name)
def test_a_real_payload_gives_exactly_the_values_it_carries(case: Case) -> None:
    # Given a real payload in the envelope it arrives in
    # When it is parsed
    outcome = parse_envelope(case.envelope, now_ms=NOW_MS)
    # Then it gives readings (no quarantine) holding the carried values, per channel, nothing more
    assert outcome.quarantined is None
    assert _by_channel(outcome.readings) == case.expected
    assert len(outcome.readings) == len(case.expected)


@pytest.mark.parametrize("case", [c for c in CASES if c.reason is None], ids=lambda c: c.name)
def test_a_real_payload_is_stamped_with_the_device_time_or_else_the_receive_time(case: Case) -> None:
    # Given a real payload in its envelope
    # When it is parsed
    outcome = parse_envelope(case.envelope, now_ms=NOW_MS)
    # Then each reading's ts is params.ts when the frame has one, else the receive time
    expected = datetime.fromtimestamp(case.ts_s if case.ts_s is not None else RECEIVED_MS / 1000, tz=UTC)
    assert {r.ts for r in outcome.readings} == {expected}
    assert all(r.received_ms == RECEIVED_MS for r in outcome.readings)


@pytest.mark.parametrize("case", [c for c in CASES if c.reason is not None], ids=lambda c: c.name)
def test_a_real_payload_we_do_not_measure_is_refused_with_its_reason(case: Case) -> None:
    # Given a real payload that carries no energy-meter data (CoIoT frame, switch component)
    # When it is parsed
    outcome = parse_envelope(case.envelope, now_ms=NOW_MS)
    # Then it is quarantined with the documented reason and no reading
    assert outcome.readings == []
    assert outcome.quarantined is not None
    assert outcome.quarantined.reason == case.reason
