"""Today's outputs, byte for byte (issue 11: a faster parser and aggregation must change no output).

The golden files of tests/fixtures/golden/ were written by make_golden.py from commit 23cfeb9; tests/helpers/golden.py
says what each one pins (daily files, manifests and aggregation counts of real and simulated raw objects in both
stored layouts, `wattline analyze --format json`, every quarantine record of the real payloads). A failure names
the file and shows its first differing line: the change altered an output. Regenerate the goldens only when a
rule change is intended (see make_golden.py).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from helpers.golden import GOLDEN_DIR, golden_outputs

NOT_GOLDEN = {"make_golden.py", "README.md"}
GOLDEN_NAMES = sorted(
    path.relative_to(GOLDEN_DIR).as_posix()
    for path in GOLDEN_DIR.rglob("*")
    if path.is_file() and path.name not in NOT_GOLDEN and "__pycache__" not in path.parts
)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return golden_outputs(tmp_path_factory.mktemp("golden"))


def first_difference(name: str, expected: bytes, actual: bytes) -> str:
    """Where two texts first differ: line number, both lines (around the first differing character)."""
    expected_lines = expected.decode("utf-8", "replace").splitlines()
    actual_lines = actual.decode("utf-8", "replace").splitlines()
    for number, (want, got) in enumerate(zip(expected_lines, actual_lines, strict=False), start=1):
        if want != got:
            column = next(
                (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
            )
            start = max(0, column - 150)
            return (
                f"{name}: first difference at line {number}, column {column + 1}\n"
                f"  golden: …{want[start : column + 250]}\n"
                f"  now:    …{got[start : column + 250]}"
            )
    if len(expected_lines) != len(actual_lines):
        extra = (actual_lines if len(actual_lines) > len(expected_lines) else expected_lines)[
            min(len(expected_lines), len(actual_lines))
        ]
        return (
            f"{name}: golden has {len(expected_lines)} lines, now {len(actual_lines)}; "
            f"first line only in the longer one: {extra[:400]}"
        )
    return f"{name}: same lines, different bytes (line endings or a trailing newline)"


def test_the_goldens_exist_and_are_small() -> None:
    total = sum((GOLDEN_DIR / name).stat().st_size for name in GOLDEN_NAMES)
    assert len(GOLDEN_NAMES) > 100
    assert total < 4 * 1024 * 1024


def test_the_code_produces_exactly_the_golden_set_of_outputs(outputs: dict[str, bytes]) -> None:
    missing = sorted(set(GOLDEN_NAMES) - set(outputs))
    unexpected = sorted(set(outputs) - set(GOLDEN_NAMES))
    assert not missing and not unexpected, f"outputs no longer produced: {missing[:10]}; new outputs: {unexpected[:10]}"


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_output_is_byte_identical_to_its_golden(name: str, outputs: dict[str, bytes]) -> None:
    # Given the golden file written from commit 23cfeb9
    expected = (GOLDEN_DIR / name).read_bytes()
    # When today's code computes the same output
    actual = outputs.get(name)
    # Then it is the same, byte for byte (a gzip file: first its content, then, for a daily file, its exact bytes)
    assert actual is not None, f"{name} is no longer produced"
    if name.endswith(".gz"):
        expected_text, actual_text = gzip.decompress(expected), gzip.decompress(actual)
        assert expected_text == actual_text, first_difference(name, expected_text, actual_text)
        if Path(name).name == "readings.jsonl.gz":
            assert actual == expected, f"{name}: same content, different gzip bytes (the manifest's sha256 changes)"
    else:
        assert actual == expected, first_difference(name, expected, actual)
