"""The CLI fixes malloc's mmap threshold where it can, and does nothing (no error) where it cannot."""

from __future__ import annotations

import os
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


def test_heavy_commands_on_a_recent_glibc_ask_for_huge_pages_once() -> None:
    from wattline.cli.memory import wants_huge_pages

    madvise, glibc = "always [madvise] never\n", "glibc 2.36"
    # Given a heavy command where the kernel gives huge pages when asked, Then it asks
    assert wants_huge_pages(["run", "--home", "h"], {}, madvise, glibc)
    assert wants_huge_pages(
        ["--verbose", "import", "capture.jsonl"], {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}, madvise, glibc
    )
    # But not for a light command, nor where the environment already decided, nor where it cannot or need not
    assert not wants_huge_pages(["analyze", "c.jsonl"], {}, madvise, glibc)
    assert not wants_huge_pages([], {}, madvise, glibc)
    assert not wants_huge_pages(["run"], {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, madvise, glibc)
    assert not wants_huge_pages(["run"], {}, madvise, "glibc 2.34")
    assert not wants_huge_pages(["run"], {}, madvise, "")
    assert not wants_huge_pages(["run"], {}, "[always] madvise never\n", glibc)
    assert not wants_huge_pages(["run"], {}, "always madvise [never]\n", glibc)


def test_a_heavy_command_runs_again_in_the_same_process_with_huge_pages_when_the_machine_gives_them() -> None:
    # Given a program that asks, then reports what its environment holds
    program = (
        "import os, sys\n"
        "from wattline.cli.memory import rerun_with_huge_pages\n"
        "print(os.getpid(), 'before', flush=True)\n"
        "rerun_with_huge_pages()\n"
        "print(os.getpid(), os.environ.get('GLIBC_TUNABLES'))\n"
    )
    env = {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}
    # When it runs as the `run` command would
    out = subprocess.run([sys.executable, "-c", program, "run"], capture_output=True, text=True, check=True, env=env)
    lines = out.stdout.split("\n")
    # Then where this machine gives huge pages when asked, the program ran twice in one process, asking; else once
    from wattline.cli.memory import wants_huge_pages

    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled", encoding="ascii") as handle:
            mode = handle.read()
    except OSError:
        mode = ""
    libc = os.confstr("CS_GNU_LIBC_VERSION") or "" if sys.platform.startswith("linux") else ""
    pid = lines[0].split()[0]
    if wants_huge_pages(["run"], env, mode, libc):
        assert lines[:3] == [f"{pid} before", f"{pid} before", f"{pid} glibc.malloc.hugetlb=1"]
    else:
        assert lines[:2] == [f"{pid} before", f"{pid} None"]
