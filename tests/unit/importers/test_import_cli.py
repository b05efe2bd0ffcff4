"""`wattline import` from the command line: per-file problems are reported and never stop the other files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from helpers.captures import BAD_CAPTURE_LINES, START_S, real_capture_lines, with_line
from typer.testing import CliRunner

from wattline.adapters.fs_store import FsObjectStore
from wattline.cli.main import app
from wattline.local.ledger import home_ledger
from wattline.local.runtime import RAW_BUCKET, store_for


def raw_lines(home: Path) -> int:
    store = store_for(home, RAW_BUCKET)
    assert isinstance(store, FsObjectStore)
    return sum(len(store.get(key).splitlines()) for key in store.list_keys("raw/"))


def test_a_file_over_the_size_limit_is_refused_by_name_with_how_to_raise_it_and_the_others_are_imported(
    tmp_path: Path,
) -> None:
    # Given a big gzip capture and a small plain one
    good = real_capture_lines()
    big, small = tmp_path / "big.jsonl.gz", tmp_path / "small.jsonl"
    big.write_bytes(gzip.compress(("\n".join(good * 20) + "\n").encode(), mtime=0))
    small.write_text("\n".join(good) + "\n")
    home = tmp_path / "home"
    # When both are imported with a limit the big one exceeds once decompressed
    result = CliRunner().invoke(app, ["import", str(big), str(small), "--home", str(home), "--max-bytes", "20000"])
    # Then the small one is imported, the big one refused with its name, the limit and how to raise it; status 1
    assert result.exit_code == 1
    assert f"{big}: not imported, larger than the limit of 20,000 bytes once decompressed" in result.stderr
    assert "--max-bytes" in result.stderr and "WATTLINE_MAX_IMPORT_BYTES" in result.stderr
    assert f"imported {len(good)} messages" in result.stdout
    assert raw_lines(home) == len(good)


def test_the_limit_defaults_to_the_setting(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(real_capture_lines()) + "\n")
    monkeypatch.setenv("WATTLINE_MAX_IMPORT_BYTES", "100")
    result = CliRunner().invoke(app, ["import", str(path), "--home", str(tmp_path / "home")])
    assert result.exit_code == 1 and "larger than the limit of 100 bytes" in result.stderr


def test_bad_lines_are_reported_by_file_and_line_and_the_import_succeeds(tmp_path: Path) -> None:
    good = real_capture_lines()
    bad, reason = BAD_CAPTURE_LINES["a numeric payload"]
    path = tmp_path / "capture.jsonl"
    path.write_text(with_line(good, 4, bad))
    result = CliRunner().invoke(app, ["import", str(path), "--home", str(tmp_path / "home")])
    assert result.exit_code == 0
    assert "skipped 1 invalid lines" in result.stderr and f"capture.jsonl:4: {reason}" in result.stderr
    assert raw_lines(tmp_path / "home") == len(good)


def test_after_import_and_run_the_status_ledger_counts_every_message_of_a_messy_capture(tmp_path: Path) -> None:
    # Given a capture of real messages, messages on topics no rule stores, one naming no device, and a bad line
    good = real_capture_lines()
    odd = [("shellies/shellyem-123456789012/temperature", "21.5"), ("hello", "world"), ("_invalid/online", "true")]
    extra = [json.dumps({"topic": t, "payload": p, "received_at": START_S + 900}) for t, p in odd]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join([*good, *extra, "{not json"]) + "\n")
    home = tmp_path / "home"
    # When imported and run, as `wattline import FILE --run` does
    result = CliRunner().invoke(app, ["import", str(path), "--home", str(home), "--run"])
    # Then `wattline status`'s ledger has every message: received = kept + quarantined + duplicates
    assert result.exit_code == 0, result.output
    ledger = home_ledger(home, datetime.now(UTC))
    assert ledger.received == len(good) + len(odd) and ledger.counts_add_up
    assert (ledger.kept, ledger.quarantined) == (len(good), len(odd))
