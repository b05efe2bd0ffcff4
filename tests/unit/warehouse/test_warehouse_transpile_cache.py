"""BigQuery → DuckDB translations are kept per sqlglot version in the user's cache folder: a later process reads
them without importing sqlglot; a cache that cannot be read or written only costs a translation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SQL = "SELECT TIMESTAMP_TRUNC(ts, HOUR) AS hour FROM `p.d.readings` WHERE device_id = @device"
PROGRAM = f"""
import json, sys
from wattline.warehouse.transpile import cache_file, to_duckdb
print(json.dumps([to_duckdb({SQL!r}), "sqlglot" in sys.modules, str(cache_file())]))
"""


def translate_in_a_new_process(cache: Path) -> tuple[str, bool, Path]:
    env = {**os.environ, "WATTLINE_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True)
    duckdb_sql, imported, path = json.loads(out.stdout)
    return duckdb_sql, imported, Path(path)


def test_a_translation_is_made_once_and_read_back_by_later_processes(tmp_path: Path) -> None:
    # Given an empty cache folder
    # When two processes translate the same SQL in turn
    first, first_imported, path = translate_in_a_new_process(tmp_path)
    second, second_imported, _ = translate_in_a_new_process(tmp_path)
    # Then the first translates it with sqlglot and keeps it; the second reads it without importing sqlglot
    assert first == second and "$device" in first
    assert first_imported and not second_imported
    assert path.parent == tmp_path and list(json.loads(path.read_text()).values()) == [first]


@pytest.mark.parametrize("damage", ["not json", "[1, 2]"])
def test_a_damaged_cache_file_is_translated_again_and_rewritten(tmp_path: Path, damage: str) -> None:
    # Given a cache file that is not a translation table
    _, _, path = translate_in_a_new_process(tmp_path)
    expected = json.loads(path.read_text())
    path.write_text(damage)
    # When the SQL is translated again
    duckdb_sql, imported, _ = translate_in_a_new_process(tmp_path)
    # Then it is translated as before, and the file holds the translation again
    assert imported and list(expected.values()) == [duckdb_sql]
    assert json.loads(path.read_text()) == expected


def test_an_unwritable_cache_folder_only_costs_a_translation(tmp_path: Path) -> None:
    # Given a cache "folder" that is a file (nothing can be written under it)
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    # When SQL is translated
    duckdb_sql, imported, _ = translate_in_a_new_process(blocked)
    # Then the translation is still made, and nothing is left behind
    assert imported and "$device" in duckdb_sql
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]
