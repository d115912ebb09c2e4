"""Checks shared by tests: two results rows, or two tables, of the same runs are the same (floats to 1e-9)."""

from __future__ import annotations

import numpy as np
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


def assert_same_runs(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Every column equal; floats to 1e-9."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=0, atol=1e-9, equal_nan=True, err_msg=col)
        else:
            pd.testing.assert_series_equal(x, y, check_names=False, obj=col)
