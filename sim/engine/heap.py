"""The C heap of a process that runs blocks of the kernel: freed memory is kept for the next month's arrays.

A block's month makes thousands of temporary numpy arrays of its runs (160 KB to a few MB each at 20,000 runs).
glibc's malloc gives an allocation above its mmap threshold fresh pages from the system and, whenever the free
memory at the top of its heap exceeds its trim threshold, gives that memory back (mallopt(3): both start at
128 KB, and the trim threshold then follows the mmap threshold's dynamic rise). Each new temporary then faults its
pages in again, zeroed by the kernel of the operating system: measured on the baseline at blocks of 20,000, about
2.5 minor page faults per run and month, 7-9% of the CPU time of a block in system time.

:func:`keep_freed` raises both thresholds once per process (M_MMAP_THRESHOLD to 16 MB, M_TRIM_THRESHOLD to 64 MB),
so temporaries reuse the heap's pages: the faults drop to a fifteenth and the peak memory of a block does not
change (a block's arrays are allocated either way; an array above 16 MB is still mapped and unmapped as before).
It changes where memory comes from, not a single number the kernel computes. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
MMAP_THRESHOLD = 16 * 2**20  # bytes: allocations up to this size come from the heap
TRIM_THRESHOLD = 64 * 2**20  # bytes of free memory the heap keeps at its top
_done: list[bool] = []


def keep_freed() -> bool:
    """Raise glibc malloc's mmap and trim thresholds, once per process; True if they are set (glibc only)."""
    if _done:
        return _done[0]
    ok = False
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _done.append(ok)
    return ok
