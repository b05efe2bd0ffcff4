"""A process that handles one day after another keeps its freed memory for the next, where glibc lets it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Two rounds of the same large buffers (a day's raw objects and columns, 4 x 8 MiB), written through, then freed;
# prints the page faults of the second round.
_ROUNDS = """
import resource, sys
from wattline.process_memory import keep_freed_memory_for_the_next_day
kept = keep_freed_memory_for_the_next_day() if sys.argv[1] == "keep" else None
def day():
    buffers = [bytearray(b"x") * (8 << 20) for _ in range(4)]
    del buffers
day()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
day()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _second_round(mode: str) -> tuple[str, int]:
    env = {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}  # (4 KiB pages)
    out = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True, check=True, env=env)
    kept, faults = out.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_the_next_days_buffers_reuse_the_freed_memory_instead_of_faulting_it_in_again() -> None:
    # Given glibc's defaults, a second round of 32 MiB of buffers faults most of its pages in again
    _, default_faults = _second_round("default")
    # When the process keeps its freed memory for the next day
    kept, kept_faults = _second_round("keep")
    # Then the settings took, and the second round reuses the first round's pages
    assert kept == "True"
    assert default_faults > 4_000  # (32 MiB is 8,192 pages of 4 KiB)
    assert kept_faults < default_faults // 10
