"""Reductions over a short last axis (a few packages, deals, mediators or types), written column by column.

numpy reduces over a short last axis many times more slowly than it applies one operation to each column
(an ``(n, 3)`` array's maximum over its 3 columns costs as much as a few dozen elementwise operations), and
the kernel's arrays of runs x packages often have 3 columns. These give the same numbers as numpy's reduction:
a maximum and ``any`` are exact, and numpy adds fewer than 8 numbers in order, from the first. A longer axis
is left to numpy.
"""

from __future__ import annotations

import numpy as np

SMALL = 7  # at most this many columns are reduced column by column


def last_max(a):
    """``a.max(axis=-1)`` (the same numbers: a maximum is exact, and NaN propagates either way)."""
    a = np.asarray(a)
    if not 0 < a.shape[-1] <= SMALL:
        return a.max(axis=-1)
    out = a[..., 0]
    for k in range(1, a.shape[-1]):
        out = np.maximum(out, a[..., k])
    return out


def last_any(a):
    """``a.any(axis=-1)`` of booleans."""
    a = np.asarray(a)
    if not 0 < a.shape[-1] <= SMALL:
        return a.any(axis=-1)
    out = a[..., 0]
    for k in range(1, a.shape[-1]):
        out = out | a[..., k]
    return out


def last_sum(a):
    """``a.sum(axis=-1)``: numpy adds fewer than 8 numbers in order, from the first, and so does this."""
    a = np.asarray(a)
    if not 0 < a.shape[-1] <= SMALL:
        return a.sum(axis=-1)
    out = a[..., 0]
    for k in range(1, a.shape[-1]):
        out = out + a[..., k]
    return out
