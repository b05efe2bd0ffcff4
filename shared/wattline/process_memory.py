"""How glibc malloc keeps this process's freed memory: settings for the processes that move a day's worth of data.
Elsewhere than glibc on Linux (macOS, musl) nothing is done."""

from __future__ import annotations

import sys

# glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

REUSED_HEAP_BYTES = 64 * 1024 * 1024
LARGEST_HEAP_BLOCK_BYTES = 32 * 1024 * 1024  # (glibc's own upper limit for the mmap threshold on 64-bit)


def set_malloc_option(parameter: int, value: int) -> bool:
    """glibc's `mallopt(parameter, value)`; False where there is no glibc or it refuses the value."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # (only here: a process calls this once, at its start)

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(parameter, value))


def keep_freed_memory_for_the_next_day() -> bool:
    """For a process that handles one device-day after another (the aggregate Lambda's warm container, the loader
    function's warm instance): freed heap memory stays in the process, up to 64 MiB at the heap's top, and blocks up
    to 32 MiB come from the heap.

    By default glibc gives a day's large buffers (raw objects, columns, the daily text) back to the kernel when they
    are freed, and the next day faults them in again page by page: aggregating a 100,000-message Gen2 day then takes
    ~20,000 page faults and ~10 % of its CPU time in the kernel; kept, ~6,000 (the rest are Python's own arenas),
    for a peak ~3 MB higher. Returns whether both settings took."""
    trim = set_malloc_option(M_TRIM_THRESHOLD, REUSED_HEAP_BYTES)
    return set_malloc_option(M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK_BYTES) and trim
