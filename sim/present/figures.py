"""Figures of finished sweeps and comparisons, drawn after the run directory is unlocked.

The runs and analysis wings compute and store results and never draw: a
sweep holds its run directory's lock while it merges and summarises, and
drawing (a second or more of matplotlib) would hold it for nothing. The
functions here draw into the same files as before, once the job has
released the lock, and have the lower wing list them in the manifest:

* :func:`draw_sweep`: a sweep's ``outcome_vs_*.png``, heat map, agreement
  month and terms figures (:func:`sim.present.plots.sweep_figures`);
* :func:`draw_comparison`: a comparison's paired differences
  (``comparison.png``);
* :func:`run_sweep`, :func:`compare_many` and :func:`resume`: the
  library's public calls (``sim.run_sweep`` ...), which run the job in the
  lower wing and then draw its figures, as the command line does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.analysis import comparison
from sim.analysis.comparison import ComparisonResult, ComparisonSet
from sim.present.plots import compare_figure, compare_many_figure, sweep_figures
from sim.runs import resumption, store
from sim.runs import sweep as sweeps
from sim.runs.sweep import SweepResult


def draw_sweep(result: SweepResult) -> list[Path]:
    """Draw a finished sweep's figures into its run directory and list them in its manifest.

    Nothing is drawn for a sweep kept in memory or run with ``figures=False``
    (``--no-figures``). Returns the paths (also in ``result.figures``).
    """
    if not result.wants_figures:
        return []
    assert result.run_dir is not None
    table = store.read_results(result.run_dir, compact=True)
    paths = sweep_figures(result.points, table, result.params, result.run_dir,
                          title=f"{result.scenario.name}: {result.design} sweep")
    sweeps.record_figures(result, paths)
    return paths


def draw_comparison(result: ComparisonResult | ComparisonSet, path: str | Path) -> Path:
    """The paired differences of one comparison, or of several against one base, as a PNG at ``path``."""
    if isinstance(result, ComparisonSet) and len(result.results) == 1:
        result = result.results[0]
    if isinstance(result, ComparisonResult):
        return compare_figure(result.comparison.outcomes, Path(path), result.label_a, result.label_b)
    return compare_many_figure(result.table(), Path(path), result.base)


def _then_draw[**P, R](run: Callable[P, R], draw: Callable[[R], object]) -> Callable[P, R]:
    """``run`` (same signature and documentation), then ``draw`` of its result once ``run`` has returned."""
    @functools.wraps(run)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = run(*args, **kwargs)
        draw(result)
        return result

    wrapper.__module__ = __name__  # found here by pickle, not as the undrawn function it wraps
    return wrapper


def _draw_saved_comparison(result: ComparisonSet) -> None:
    if result.run_dir is not None:
        comparison.record_figures(result, [draw_comparison(result, result.run_dir / "comparison.png")])


def _draw_resumed(result: Any) -> None:
    if isinstance(result, SweepResult):
        draw_sweep(result)


run_sweep = _then_draw(sweeps.run_sweep, draw_sweep)
compare_many = _then_draw(comparison.compare_many, _draw_saved_comparison)
resume = _then_draw(resumption.resume, _draw_resumed)
