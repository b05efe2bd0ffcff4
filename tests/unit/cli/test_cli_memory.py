"""The CLI fixes malloc's mmap threshold where it can, and does nothing (no error) where it cannot."""

from __future__ import annotations

import subprocess
import sys


def test_fixing_the_mmap_threshold_is_harmless_anywhere() -> None:
    # Given a fresh interpreter
    # When the threshold is fixed (twice, as nested commands would) and memory is then used
    program = (
        "from wattline.cli.memory import return_large_blocks_to_the_system as fix\n"
        "fix(); fix()\n"
        "blocks = [bytearray(40 << 20) for _ in range(3)]\n"
        "del blocks\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    # Then nothing fails
    assert out.stdout.strip() == "ok"
