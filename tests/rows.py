"""One check shared by tests: two results rows of the same run are the same (floats to 1e-9)."""

from __future__ import annotations

import pandas as pd
import pytest


def same_row(a: pd.Series, b: pd.Series) -> None:
    assert list(a.index) == list(b.index)
    for k in a.index:
        x, y = a[k], b[k]
        if pd.isna(x) or pd.isna(y):
            assert pd.isna(x) and pd.isna(y), k
        elif isinstance(x, str):
            assert x == y, k
        else:
            assert float(x) == pytest.approx(float(y), abs=1e-9), k
