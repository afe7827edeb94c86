"""The C allocator's settings for long CPU runs.

A CPU training step allocates and frees activation buffers of 32-64 MB. glibc's malloc
serves each with its own mmap and hands it back on free, so the kernel zeroes fresh pages
for every step: a quarter of a 2-core machine's time (docs/performance.md, "The memory
allocator on the CPU"). `keep_freed_memory` asks malloc to serve them from its heap and
keep what is freed, so the next step reuses it.
"""

from __future__ import annotations

import ctypes
import platform
import sys

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest int mallopt takes: the heap is never trimmed


def keep_freed_memory() -> bool:
    """Stop glibc's malloc from returning freed memory to the kernel (no chunk gets its own
    mmap; the heap is never trimmed). The process's peak memory stays reserved for its
    life, which a training run or a scene needs again at the next step anyway. Returns
    whether it applied: False off Linux or with another C library (musl, macOS, Windows),
    where nothing changes."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    return bool(mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1)
