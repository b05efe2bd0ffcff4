"""The outputs pinned by the golden files of tests/fixtures/golden/ (issue 11: a faster parser and aggregator must
change no output). `golden_outputs` computes every output of today's rules into a dict {relative path: bytes};
tests/fixtures/golden/make_golden.py writes it, tests/unit/golden/test_golden_outputs.py compares it byte for byte.

What is pinned (everything else is fixed too: seeds, start, `now`, settings, object keys):
- `real/<layout>/dt=<day>/device=<id>/`: `aggregate_day` over raw objects built from every envelope of every real
  payload of tests/fixtures/shelly-payloads.json (tests/unit/parsing/shelly_cases.py says how each record is
  wrapped), one second apart, stored in three layouts:
  `direct` (one object per message, the rules' `payload_b64` envelope and key: `bridge.raw_records`),
  `batched` (Firehose-style NDJSON objects of `payload_b64` envelopes: `importers.batch_objects`, as `wattline
  import` writes them) and `embedded` (one object per envelope exactly as the case builds it: text, embedded JSON
  or base64 payload, as tests/helpers/raw.py writes them). Each partition gives `readings.jsonl.gz` (the exact
  bytes), `manifest.json` and `aggregate.json` (`AggregateResult.as_dict()`: mode, counts by quarantine reason;
  and the aggregation state it stored, decompressed).
  `real/<layout>/validate.jsonl.gz`: `validate_object` of every raw object (before aggregation): its result and
  the quarantine object it writes (key and records).
- `sim/dt=<day>/device=<id>/`: the same for a simulated day (a Gen1 EM and a Gen2 Pro EM, with reboot, spike,
  duplicates, late messages and an outage), imported with `importers.import_file` as `wattline import` does.
- `sim-merge/dt=<day>/device=<id>/`: `aggregate_day` in merge mode: after the simulated day was aggregated, its
  first raw object of each device is gone (archived) and late messages arrive (new readings, a redelivery of one
  already in the daily file, a -1 counter); the daily file is merged, not rebuilt.
- `analyze/<name>.json` and `.stderr.txt`: `wattline analyze --format json` stdout and its report on stderr, for
  the simulated capture and tests/fixtures/capture-sample.jsonl.gz, with pinned settings and clock.
- `parse/real-outcomes.jsonl.gz`: for every envelope of every real payload, the outcome of `parse_envelope`, of
  `parse_line` on the envelope line as given and on its `payload_b64` form, and of `parse_line` with the raw
  partition's `device_id=`: its readings (canonical lines) or its quarantine record (reason, detail, device,
  original bytes).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.aggregation import INVALID_DEVICE_SEGMENT, aggregate_day, aggregation_state_key, validate_object
from wattline.bridge import raw_records
from wattline.importers import Message, batch_objects, import_file, import_text
from wattline.models import Envelope, ParseOutcome
from wattline.parsing import parse_envelope, parse_line
from wattline.simulator import Scenario, simulate

TESTS = Path(__file__).resolve().parents[1]
GOLDEN_DIR = TESTS / "fixtures" / "golden"
CAPTURE_SAMPLE = TESTS / "fixtures" / "capture-sample.jsonl.gz"

NOW_MS = int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp() * 1000)
"""The pinned `now` of the parsers, `wattline import` and `wattline analyze` (the cases' receive times are before)."""
REAL_FIRST_MS = NOW_MS - 3_600_000
"""The receive time of the first real envelope; the next ones follow one second apart."""

SIM_SEED = 11
SIM_TIMEZONE = "Europe/Kyiv"
SIM_START = datetime(2026, 11, 20, tzinfo=ZoneInfo(SIM_TIMEZONE)).astimezone(UTC)
"""One Kyiv local day (2026-11-20), so two UTC raw partitions per device (22:00 UTC is local midnight)."""

ANALYZE_ENV = {
    "WATTLINE_TIMEZONE": "Europe/Kyiv",
    "WATTLINE_TARIFF": "ua-2zone",
    "WATTLINE_INTEGRATION_METHOD": "auto",
    "WATTLINE_MAX_GAP_SECONDS": "900",
    "WATTLINE_MAX_POWER_W": "25000",
    "COLUMNS": "160",
    "TERM": "dumb",
    "NO_COLOR": "1",
}
"""Every setting `wattline analyze` reads, pinned (plus the terminal width its stderr report is wrapped to)."""

LAYOUTS = ("direct", "batched", "embedded")


def load_shelly_cases() -> ModuleType:
    """tests/unit/parsing/shelly_cases.py (every real payload in the envelopes it arrives in), loaded by path."""
    name = "golden_shelly_cases"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS / "unit" / "parsing" / "shelly_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def real_envelopes() -> list[tuple[str, Envelope]]:
    """(case name, envelope) of every real payload's every envelope shape, received one second apart."""
    cases = load_shelly_cases().all_cases()
    return [
        (case.name, case.envelope.model_copy(update={"received_ms": REAL_FIRST_MS + index * 1000}))
        for index, case in enumerate(cases)
    ]


def payload_bytes(envelope: Envelope) -> bytes:
    """The bytes the device published (what the rules base64-encode)."""
    if envelope.payload_b64 is not None:
        return base64.b64decode(envelope.payload_b64)
    return envelope.payload_text().encode("utf-8", "surrogatepass")


def simulated() -> Scenario:
    return simulate(devices=2, days=1, seed=SIM_SEED, start=SIM_START, timezone=SIM_TIMEZONE, faults=True)


# ---------------------------------------------------------------------------------------------------------------
# raw objects


def store_direct(store: FsObjectStore, envelopes: list[tuple[str, Envelope]]) -> None:
    for index, (_name, envelope) in enumerate(envelopes):
        records = raw_records(
            envelope.topic,
            payload_bytes(envelope),
            envelope.received_ms,
            unique=iter(f"golden{index:03d}r{rule}" for rule in range(9)).__next__,
            keep_unmatched=True,
        )
        for record in records:
            store.put(record.key, record.line, content_type="application/json")


def store_batched(store: FsObjectStore, envelopes: list[tuple[str, Envelope]]) -> None:
    messages = [Message(env.topic, payload_bytes(env), env.received_ms) for _name, env in envelopes]
    for key, data in batch_objects(messages, batch_lines=40):
        store.put(key, data, content_type="application/x-ndjson")


def store_embedded(store: FsObjectStore, envelopes: list[tuple[str, Envelope]]) -> None:
    """Each envelope as built (text, embedded JSON or base64 payload), under the device the rules would file it."""
    for index, (_name, envelope) in enumerate(envelopes):
        records = raw_records(envelope.topic, b"", envelope.received_ms, unique=lambda: "x", keep_unmatched=True)
        for rule, record in enumerate(records):
            key = keys.raw_key(record.day, record.device_segment, envelope.received_ms, f"golden{index:03d}e{rule}")
            store.put(key, envelope.to_json_line().encode("utf-8"), content_type="application/json")


def validate_outputs(store: FsObjectStore) -> bytes:
    """`validate_object` of every raw object: its result and the quarantine object it wrote (key, records)."""
    lines = []
    for info in sorted(store.list(keys.RAW_PREFIX), key=lambda info: info.key):
        result = validate_object(store, info.key).as_dict()
        quarantine_key = result["quarantine_key"]
        if quarantine_key is not None:
            body = store.get(quarantine_key).decode("utf-8")
            result["quarantine_records"] = [json.loads(line) for line in body.splitlines()]
        lines.append(json.dumps(result, sort_keys=True, ensure_ascii=False))
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


def late_capture(scenario: Scenario) -> str:
    """Late messages for the simulated day (capture lines): for each device, a new reading, a redelivery of one
    message the daily file already holds, and a -1 counter (Gen1) or a delta with a null field (Gen2)."""
    lines = []
    for spec in scenario.devices:
        device = spec.device_id
        own = [m for m in scenario.messages if f"{device}/" in m.topic]
        middle = own[len(own) // 2]
        lines.append(middle.capture_line())  # a redelivery, hours later than the original
        late_ms = middle.received_ms + 1_234
        if spec.generation.value == "gen1":
            messages = [
                (f"shellies/{device}/emeter/0/power", "4321.5"),
                (f"shellies/{device}/emeter/0/total", "-1"),
                (f"shellies/{device}/emeter/0/voltage", "229.75"),
            ]
        else:
            frame = {
                "src": device,
                "dst": f"{device}/events",
                "method": "NotifyStatus",
                "params": {"ts": late_ms / 1000 - 0.25, "em1:0": {"act_power": 1234.5, "current": None}},
            }
            messages = [(f"{device}/events/rpc", json.dumps(frame, separators=(",", ":")))]
        for offset, (topic, payload) in enumerate(messages):
            lines.append(json.dumps({"topic": topic, "payload": payload, "received_at": (late_ms + offset) / 1000}))
    return "".join(line + "\n" for line in lines)


def merge_outputs(store: FsObjectStore, scenario: Scenario) -> dict[str, bytes]:
    """After the full aggregation: the first raw object of every partition archived, late messages imported, then
    `aggregate_day` again (merge mode: the aggregation state names objects that are gone)."""
    for day, device in partitions(store):
        first = min(info.key for info in store.list(keys.raw_prefix(day, device)))
        store.delete(first)
    result = import_text(late_capture(scenario), store, now_ms=NOW_MS, name="late.jsonl")
    if result.invalid_lines or not result.objects:
        raise AssertionError(f"the late messages did not import: {result.invalid_examples}")
    return daily_outputs(store, "sim-merge")


def partitions(store: FsObjectStore) -> list[tuple[date, str]]:
    found = set()
    for info in store.list(keys.RAW_PREFIX):
        parsed = keys.parse_raw_key(info.key)
        if parsed is not None:
            found.add((parsed[0], parsed[1]))
    return sorted(found)


def daily_outputs(store: FsObjectStore, prefix: str) -> dict[str, bytes]:
    """`aggregate_day` of every aggregatable raw partition: the daily file, its manifest, its result and state."""
    outputs: dict[str, bytes] = {}
    for day, device in partitions(store):
        if device == INVALID_DEVICE_SEGMENT or not keys.is_safe_device_id(device):
            continue
        result = aggregate_day(store, day, device, concurrency=2).as_dict()
        where = f"{prefix}/dt={day.isoformat()}/device={device}"
        outputs[f"{where}/readings.jsonl.gz"] = store.get(keys.daily_readings_key(day, device))
        outputs[f"{where}/manifest.json"] = store.get(keys.daily_manifest_key(day, device))
        state = json.loads(gzip.decompress(store.get(aggregation_state_key(day, device))))
        both = {"result": result, "state": state}
        outputs[f"{where}/aggregate.json"] = (json.dumps(both, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return outputs


# ---------------------------------------------------------------------------------------------------------------
# parse outcomes


def _outcome(outcome: ParseOutcome) -> dict[str, Any]:
    if outcome.quarantined is not None:
        return {"quarantined": json.loads(outcome.quarantined.to_json_line())}
    return {"readings": [json.loads(reading.to_json_line()) for reading in outcome.readings]}


def parse_outcomes(envelopes: list[tuple[str, Envelope]]) -> bytes:
    lines = []
    for name, envelope in envelopes:
        b64_line = Envelope(
            topic=envelope.topic,
            received_ms=envelope.received_ms,
            payload_b64=base64.b64encode(payload_bytes(envelope)).decode("ascii"),
        ).to_json_line()
        partition = raw_records(envelope.topic, b"", envelope.received_ms, keep_unmatched=True)[0].device_segment
        row = {
            "case": name,
            "envelope": _outcome(parse_envelope(envelope, now_ms=NOW_MS)),
            "line": _outcome(parse_line(envelope.to_json_line(), source_key="golden/line", now_ms=NOW_MS)),
            "line_b64": _outcome(parse_line(b64_line.encode("utf-8"), now_ms=NOW_MS)),
            "partition": partition,
            "line_in_partition": _outcome(parse_line(b64_line, now_ms=NOW_MS, device_id=partition)),
        }
        lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False))
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


# ---------------------------------------------------------------------------------------------------------------
# wattline analyze


@contextlib.contextmanager
def pinned_cli(home: Path) -> Iterator[None]:
    """The WATTLINE_* settings `analyze` reads and its clock (`wattline.analysis` reads `time.time()`), pinned."""
    import wattline.analysis

    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("WATTLINE_"):
                patch.delenv(name)
        for name, value in ANALYZE_ENV.items():
            patch.setenv(name, value)
        patch.setenv("WATTLINE_HOME", str(home))
        patch.setattr(wattline.analysis, "time", SimpleNamespace(time=lambda: NOW_MS / 1000))
        yield


def analyze_json(path: Path, home: Path) -> tuple[bytes, bytes]:
    from wattline.cli.main import app

    with pinned_cli(home):
        result = CliRunner().invoke(app, ["analyze", str(path), "--format", "json"])
    if result.exit_code != 0:
        raise AssertionError(f"wattline analyze {path} exited {result.exit_code}: {result.stderr}\n{result.exception}")
    return result.stdout.encode("utf-8"), result.stderr.encode("utf-8")


# ---------------------------------------------------------------------------------------------------------------


def golden_outputs(workdir: Path | None = None) -> dict[str, bytes]:
    """Every pinned output of today's rules, {path relative to tests/fixtures/golden/: bytes}."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wattline-golden-")))
        outputs: dict[str, bytes] = {}
        envelopes = real_envelopes()
        for layout in LAYOUTS:
            store = FsObjectStore(workdir / f"real-{layout}")
            {"direct": store_direct, "batched": store_batched, "embedded": store_embedded}[layout](store, envelopes)
            outputs[f"real/{layout}/validate.jsonl.gz"] = validate_outputs(store)
            outputs.update(daily_outputs(store, f"real/{layout}"))
        outputs["parse/real-outcomes.jsonl.gz"] = parse_outcomes(envelopes)

        scenario = simulated()
        capture = workdir / "sim-capture.jsonl"
        capture.write_text("".join(line + "\n" for line in scenario.capture_lines()), encoding="utf-8")
        sim_store = FsObjectStore(workdir / "sim")
        result = import_file(capture, sim_store, now_ms=NOW_MS)
        if result.invalid_lines or result.file_errors:
            raise AssertionError(f"the simulated capture did not import cleanly: {result.invalid_examples}")
        outputs.update(daily_outputs(sim_store, "sim"))
        outputs.update(merge_outputs(sim_store, scenario))

        for name, path in (("sim", capture), ("capture-sample", CAPTURE_SAMPLE)):
            stdout, stderr = analyze_json(path, workdir / "home")
            outputs[f"analyze/{name}.json"] = stdout
            outputs[f"analyze/{name}.stderr.txt"] = stderr
        return outputs
