"""Strict JSON: NaN and infinities become null, numpy and pandas scalars plain values.

Python's ``json`` writes ``NaN`` by default, which is not JSON; every
``--json`` output and every JSON file a comparison writes goes through
:func:`dumps`, which refuses non-finite numbers after turning them into null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def strict(obj: Any) -> Any:
    """``obj`` with NaN/inf as None, numpy/pandas scalars as Python values, paths as text."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [strict(v) for v in obj]
    if isinstance(obj, bool | int | str) or obj is None:
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


def dumps(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(strict(obj), indent=indent, allow_nan=False)
