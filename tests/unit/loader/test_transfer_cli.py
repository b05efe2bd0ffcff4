"""`wattline transfer sync` between two local buckets (directories)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from wattline.adapters.fs_store import FsObjectStore
from wattline.cli.main import app

DIR = "daily/dt=2026-11-25/device=shellyem-AABBCC/"


def test_sync_copies_the_daily_files_manifest_first_and_a_rerun_copies_nothing(tmp_path):
    # Given a source bucket with one day and an unrelated raw object
    source = FsObjectStore(tmp_path / "src")
    source.put(DIR + "readings.jsonl.gz", b"r")
    source.put(DIR + "manifest.json", b"{}")
    source.put("raw/x.json", b"{}")
    runner = CliRunner()
    # When synced twice
    first = runner.invoke(app, ["transfer", "sync", str(tmp_path / "src"), str(tmp_path / "dst"), "--json"])
    second = runner.invoke(app, ["transfer", "sync", str(tmp_path / "src"), str(tmp_path / "dst")])
    # Then the first run copies the two daily files (manifest first), the second nothing
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["copied"] == [DIR + "manifest.json", DIR + "readings.jsonl.gz"]
    assert second.exit_code == 0 and second.output.strip() == "0 copied, 2 unchanged, 0 vanished"


def test_an_unknown_url_scheme_is_rejected_with_what_to_use(tmp_path):
    result = CliRunner().invoke(app, ["transfer", "sync", "ftp://x", str(tmp_path)])
    assert result.exit_code != 0 and "s3://BUCKET, gs://BUCKET or a local directory" in result.output
