"""Strict JSON: NaN and infinities become null, numpy and pandas scalars plain values.

Python's ``json`` writes ``NaN`` by default, which is not JSON. This is the
one JSON encoder of negsim: every ``--json`` output and every JSON file of a
run directory (manifest, summary, comparison, the parts' journal) and the
job fingerprint go through :func:`dumps`, which refuses non-finite numbers
after turning them into null. Keys that ``json`` writes itself (text,
numbers, true/false/null) are left to it, so the fingerprint of a job is the
text it always was.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

_PLAIN = frozenset({str, int, bool, type(None)})


def strict(obj: Any) -> Any:
    """``obj`` with NaN/inf as None, numpy/pandas scalars as Python values, paths as text."""
    kind = type(obj)  # the common plain types first, by exact type: manifests hold 50,000-point designs
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind in _PLAIN:
        return obj
    if kind is list:
        return [strict(v) for v in obj]
    if kind is dict:
        return {(k if type(k) in _PLAIN or type(k) is float else str(k)): strict(v) for k, v in obj.items()}
    return _other(obj)


def _other(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {(k if isinstance(k, str | int | float | bool) or k is None else str(k)): strict(v)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [strict(v) for v in obj]
    if isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    try:
        import pandas as pd

        if pd.isna(obj):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if getattr(obj, "ndim", 0) > 0 and hasattr(obj, "tolist"):
        return strict(obj.tolist())
    if hasattr(obj, "item"):
        try:
            return strict(obj.item())
        except (ValueError, TypeError):
            pass
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``obj`` as strict JSON text (see :func:`strict`)."""
    return json.dumps(strict(obj), indent=indent, allow_nan=False, sort_keys=sort_keys)
