"""Figures of sweeps and comparisons, written as PNG files.

Built on :class:`matplotlib.figure.Figure` with the Agg canvas directly, so
the module touches no pyplot state and works without a display. Every
function writes its files (atomically: a temporary file, then a rename) and
returns their paths; nothing is printed.

:func:`sweep_figures` takes the design of a sweep (``points``: one row per
point, one column per swept parameter path) and its runs (one row per point
and replicate, the columns of :mod:`sim.engine.records` plus ``point``) and draws

- ``outcome_vs_<param>.png``: probability of each outcome against each swept
  parameter, pooled over the others, with 95% Wilson interval bands;
- ``heatmap_<p1>__<p2>.png``: P(agreement) over the first two parameters;
- ``agreement_month.png``: when agreements come, per value of the first
  parameter;
- ``terms.png``: the agreed option of each issue, per value of the first
  parameter.

A parameter with more than :data:`~sim.runs.summary.MAX_LEVELS` distinct values (a sampled
design) is cut into about :data:`~sim.runs.summary.BINS` quantile bins (see :func:`~sim.runs.summary.levels_of`), shown at their centres.

:func:`compare_figure` draws the paired differences of two scenarios.

For reports (:mod:`sim.present.report`), :func:`batch_outcome_figure`,
:func:`batch_timing_figure` and :func:`batch_terms_figure` draw one or more
batches from their summaries (:func:`sim.runs.summary.summarize`) alone.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.engine.records import OUTCOMES
from sim.errors import UsageError
from sim.runs import store
from sim.runs.summary import BINS, MAX_LEVELS, Levels, levels_of, wilson  # noqa: F401 - levels_of is part of this module's interface

SIZE = (7.0, 4.5)
DPI = 120
STYLE = {  # colour and marker per outcome (colour-blind safe: Okabe-Ito)
    "no_talks": ("#7f7f7f", "o"),
    "talks_failed": ("#D55E00", "s"),
    "agreement": ("#0072B2", "^"),
}
LABEL = {"no_talks": "no talks", "talks_failed": "talks failed", "agreement": "agreement"}


MAX_NAME = 60  # characters of a parameter path kept in a figure's file name


def safe_name(text: str, limit: int = MAX_NAME) -> str:
    """``text`` with every character other than letters, digits, ``.``, ``-``, ``_`` replaced by ``_``.

    A longer result keeps its start and ends in a hash of the whole text, so
    file names stay short enough for any file system and distinct.
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", text)
    if len(name) <= limit:
        return name
    return f"{name[: limit - 11]}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _axis_label(param: str, lv: Levels, centres: bool = False) -> str:
    if lv.binned:
        where = ", shown at bin centres" if centres else ""
        return f"{param}\n({len(lv)} quantile bins of the sampled values{where})"
    return param


def _values_per_run(points: pd.DataFrame, runs: pd.DataFrame, param: str) -> pd.Series:
    by_point = points.drop_duplicates("point").set_index("point")[param]
    return runs["point"].map(by_point)


# --------------------------------------------------------------------------- output


def _new_figure(size: tuple[float, float] = SIZE) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    """The figure as a PNG at ``path``, written whole (:func:`sim.runs.store.write_atomic`)."""
    try:
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI)
        if _turn_crowded_labels(fig):  # laid out by the first save; draw again only if needed
            png = io.BytesIO()
            fig.savefig(png, format="png", dpi=DPI)
        store.write_atomic(path, png.getvalue())
    finally:
        fig.clear()
    return path


def _title(title: str, what: str) -> str:
    return f"{title}\n{what}" if title else what


def _note(fig: Figure, text: str) -> None:
    """A small grey note at the bottom of the figure (space kept by the layout)."""
    fig.supxlabel(text, fontsize=8, color="0.35")


def _message_figure(text: str, heading: str) -> Figure:
    fig = _new_figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(heading)
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=13, wrap=True, transform=ax.transAxes)
    return fig


def _set_level_ticks(ax, lv: Levels, axis: str = "x", extra: Sequence[str] | None = None) -> None:
    """Categorical ticks at 0..n-1 labelled with the levels (and ``extra`` lines).

    x labels that would overlap are turned when the figure is saved.
    """
    labels = lv.labels if extra is None else [f"{a}\n{b}" for a, b in zip(lv.labels, extra, strict=True)]
    pos = np.arange(len(lv))
    size = 8 if len(lv) > 8 else 9
    if axis == "y":
        ax.set_yticks(pos, labels, fontsize=size)
    else:
        ax.set_xticks(pos, labels, fontsize=size)


def _turn_crowded_labels(fig: Figure) -> bool:
    """Turn the x tick labels of any axes where they overlap as last drawn; whether any were."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # every figure here is made by _new_figure
    renderer = canvas.get_renderer()
    turned = False
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text() and t.get_rotation() == 0]
        boxes = sorted((t.get_window_extent(renderer) for t in ticks), key=lambda b: b.x0)
        if any(left.x1 + 3 > right.x0 for left, right in zip(boxes, boxes[1:], strict=False)):
            for t in ticks:
                t.set(rotation=30, ha="right", rotation_mode="anchor")
            turned = True
    return turned


# --------------------------------------------------------------------------- sweep figures


def _check_sweep(points: pd.DataFrame, runs: pd.DataFrame, params: list[str]) -> None:
    if not params:
        raise UsageError("a sweep figure needs at least one swept parameter")
    missing = [c for c in ("point", *params) if c not in points.columns]
    if missing:
        raise UsageError(f"sweep points lack column(s): {', '.join(missing)}")
    missing = [c for c in ("point", "outcome", "agreement_month") if c not in runs.columns]
    if missing:
        raise UsageError(f"sweep runs lack column(s): {', '.join(missing)}")


def _literal_text(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Names from scenarios are drawn as written: ``$`` never starts matplotlib's math text."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


@_literal_text
def sweep_figures(points: pd.DataFrame, runs: pd.DataFrame, params: list[str], out_dir: Path,
                  title: str = "", *, options: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Write the figures of a sweep into ``out_dir`` and return their paths.

    ``points``: column ``point`` and one column per path in ``params``.
    ``runs``: one row per (point, replicate) with ``point``, ``outcome``,
    ``agreement_month`` and ``term_<issue>`` columns. ``options`` (optional)
    gives each issue's options in scenario order, for the terms figure;
    without it options are ordered by how often they were agreed.

    Returns, in this order: ``outcome_vs_<param>.png`` per parameter,
    ``heatmap_<p1>__<p2>.png`` (two or more parameters),
    ``agreement_month.png``, ``terms.png``.
    """
    _check_sweep(points, runs, params)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = runs.reset_index(drop=True)
    levels = {p: levels_of(_values_per_run(points, runs, p)) for p in params}
    paths = [_save(outcome_figure(runs, p, levels[p], title), out_dir / f"outcome_vs_{safe_name(p)}.png")
             for p in params]
    if len(params) >= 2:
        p1, p2 = params[:2]
        # a sampled design spreads its points over the grid: fewer bins, so cells hold runs
        cells = int(np.clip(round(np.sqrt(points["point"].nunique() / 2)), 2, BINS))
        lv1, lv2 = (levels_of(_values_per_run(points, runs, p), bins=cells) for p in (p1, p2))
        fig = heatmap_figure(runs, p1, lv1, p2, lv2, title)
        paths.append(_save(fig, out_dir / f"heatmap_{safe_name(p1)}__{safe_name(p2)}.png"))
    first = params[0]
    paths.append(_save(agreement_month_figure(runs, first, levels[first], title), out_dir / "agreement_month.png"))
    paths.append(_save(terms_figure(runs, first, levels[first], title, options), out_dir / "terms.png"))
    return paths


def outcome_figure(runs: pd.DataFrame, param: str, lv: Levels, title: str = "") -> Figure:
    """P(outcome) against one parameter's levels, with 95% Wilson bands."""
    heading = _title(title, f"Outcomes vs {param}")
    if not len(lv):
        return _message_figure(f"No runs have a value of {param}.", heading)
    fig = _new_figure()
    ax = fig.add_subplot()
    outcome = runs["outcome"].astype("string").to_numpy(dtype=object, na_value=None)
    x = lv.x if lv.numeric else np.arange(len(lv), dtype=float)
    n = np.array([(lv.code == i).sum() for i in range(len(lv))])
    for name in OUTCOMES:
        colour, marker = STYLE[name]
        hit = outcome == name
        stats = np.array([wilson(int((hit & (lv.code == i)).sum()), int(n[i])) for i in range(len(lv))])
        p, lo, hi = stats.T if len(stats) else (np.array([]),) * 3
        if lv.numeric and len(x) > 1:  # a line over an ordered axis, with a band
            ax.plot(x, p, color=colour, marker=marker, lw=1.8, ms=6, label=LABEL[name], clip_on=False, zorder=3)
            ax.fill_between(x, lo, hi, color=colour, alpha=0.18, lw=0)
        else:  # unordered levels or a single value: dodged points with interval bars
            dx = (OUTCOMES.index(name) - 1) * (0.08 if not lv.numeric else 0.04 * (abs(x[0]) or 1.0))
            ax.errorbar(x + dx, p, yerr=[np.maximum(p - lo, 0), np.maximum(hi - p, 0)], color=colour, marker=marker, ms=6, ls="none",
                        capsize=4, lw=1.4, label=LABEL[name], clip_on=False, zorder=3)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylabel("probability")
    ax.set_xlabel(_axis_label(param, lv, centres=True))
    points = not lv.numeric or len(x) == 1
    ax.grid(True, axis="y" if points else "both", alpha=0.35)
    if not lv.numeric:
        _set_level_ticks(ax, lv)
        ax.set_xlim(-0.5, len(lv) - 0.5)
    elif not lv.binned and len(lv) <= MAX_LEVELS:
        ax.set_xticks(lv.x, lv.labels)
    if len(x) == 1:
        half = abs(x[0]) / 2 or 1.0
        ax.set_xlim(x[0] - half, x[0] + half)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="outcome")
    lo_n, hi_n = (int(n.min()), int(n.max())) if len(n) else (0, 0)
    runs_per = f"{lo_n:,}" if lo_n == hi_n else f"{lo_n:,}–{hi_n:,}"
    ax.set_title(heading, fontsize=11)
    _note(fig, f"{runs_per} runs per {'bin' if lv.binned else 'value'}, pooled over the other parameters; "
          f"{'bars' if points else 'bands'}: 95% Wilson intervals")
    return fig


def heatmap_figure(runs: pd.DataFrame, p1: str, lv1: Levels, p2: str, lv2: Levels, title: str = "") -> Figure:
    """P(agreement) over the grid of two parameters' levels, annotated in percent."""
    agreed = (runs["outcome"] == "agreement").fillna(False).to_numpy(dtype=bool)
    ok = (lv1.code >= 0) & (lv2.code >= 0)
    n = np.zeros((len(lv2), len(lv1)))
    k = np.zeros((len(lv2), len(lv1)))
    np.add.at(n, (lv2.code[ok], lv1.code[ok]), 1)
    np.add.at(k, (lv2.code[ok], lv1.code[ok]), agreed[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    width = min(10.0, max(SIZE[0], 3.2 + 0.55 * len(lv1)))
    height = min(9.0, max(SIZE[1], 2.4 + 0.42 * len(lv2)))
    fig = _new_figure((width, height))
    ax = fig.add_subplot()
    cmap = _viridis().with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(p), origin="lower", aspect="auto", cmap=cmap, vmin=0, vmax=1,
                   interpolation="nearest")
    cells = len(lv1) * len(lv2)
    size = 10 if cells <= 36 else 8 if cells <= 81 else 7
    for (i, j), v in np.ndenumerate(p):
        text = "no runs" if np.isnan(v) else f"{v:.0%}"
        colour = "black" if np.isnan(v) or v > 0.6 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=size, color=colour)
    _set_level_ticks(ax, lv1, "x")
    _set_level_ticks(ax, lv2, "y")
    ax.set_xlabel(_axis_label(p1, lv1))
    ax.set_ylabel(_axis_label(p2, lv2))
    cb = fig.colorbar(im, ax=ax, label="P(agreement)")
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(_title(title, f"P(agreement) by {p1} and {p2}"), fontsize=11)
    return fig


def _viridis():
    from matplotlib import colormaps

    return colormaps["viridis"]


def agreement_month_figure(runs: pd.DataFrame, param: str, lv: Levels, title: str = "") -> Figure:
    """Box plots of the agreement month per level of ``param`` (or a note: no agreements)."""
    heading = _title(title, f"Month of agreement by {param}")
    month = runs["agreement_month"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    agreed = ~np.isnan(month)
    if not agreed.any():
        return _message_figure(f"No agreements in any of the {len(runs):,} runs:\nno agreement months to show.",
                               heading)
    groups = [month[agreed & (lv.code == i)] for i in range(len(lv))]
    fig = _new_figure()
    ax = fig.add_subplot()
    pos = np.arange(len(lv))
    filled = [i for i, g in enumerate(groups) if len(g)]
    ax.boxplot([groups[i] for i in filled], positions=pos[filled], widths=0.55, patch_artist=True,
               showmeans=True, medianprops={"color": "black"},
               meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 5},
               boxprops={"facecolor": STYLE["agreement"][0], "alpha": 0.45},
               flierprops={"marker": ".", "markersize": 4, "alpha": 0.5})
    for i, g in enumerate(groups):
        if not len(g):
            ax.text(i, 0.5, "none", ha="center", va="bottom", fontsize=8, color="0.4",
                    transform=ax.get_xaxis_transform())
    ax.set_xlim(-0.6, len(lv) - 0.4)
    _set_level_ticks(ax, lv, "x", [f"n={len(g):,}" for g in groups])
    ax.set_xlabel(_axis_label(param, lv))
    ax.set_ylabel("agreement month")
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", alpha=0.35)
    ax.set_title(heading, fontsize=11)
    _note(fig, "n = agreements per value (runs without agreement left out); "
          "box: quartiles, line: median, diamond: mean")
    return fig


def _option_order(values: pd.Series, given: Sequence[str] | None) -> list[str]:
    counts = values.dropna().value_counts()
    seen = [str(v) for v in counts.index]
    if given is None:
        return seen  # most agreed first (bottom of the stack)
    return [str(o) for o in given] + [v for v in seen if v not in set(map(str, given))]


def _option_colours(count: int) -> list:
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    return [colormaps["tab20"](i % 20) for i in range(count)]


def terms_figure(runs: pd.DataFrame, param: str, lv: Levels, title: str = "",
                 options: Mapping[str, Sequence[str]] | None = None) -> Figure:
    """One subplot per issue: stacked shares of the agreed options per level of ``param``."""
    heading = _title(title, f"Agreed terms by {param}")
    issues = [c for c in runs.columns if c.startswith("term_")]
    agreed = (runs["outcome"] == "agreement").fillna(False).to_numpy(dtype=bool)
    if not issues:
        return _message_figure("The runs have no term_ columns: no issues to show.", heading)
    if not agreed.any():
        return _message_figure(f"No agreements in any of the {len(runs):,} runs:\nno agreed terms to show.",
                               heading)
    counts = np.array([(agreed & (lv.code == i)).sum() for i in range(len(lv))])
    fig = _new_figure((max(SIZE[0], 4.5 + 0.55 * len(lv)), 1.0 + 2.1 * len(issues)))
    axes = fig.subplots(len(issues), 1, sharex=True, squeeze=False)[:, 0]
    pos = np.arange(len(lv))
    for ax, col in zip(axes, issues, strict=True):
        issue = col.removeprefix("term_")
        values = runs[col].astype("string")
        order = _option_order(values[agreed], (options or {}).get(issue))
        colours = _option_colours(len(order))
        term = values.to_numpy(dtype=object, na_value=None)
        bottom = np.zeros(len(lv))
        for opt, colour in zip(order, colours, strict=True):
            k = np.array([(agreed & (lv.code == i) & (term == opt)).sum() for i in range(len(lv))])
            share = np.divide(k, counts, out=np.zeros(len(lv)), where=counts > 0)
            bars = ax.bar(pos, share, bottom=bottom, width=0.7, color=colour, label=opt.replace("_", " "),
                          edgecolor="white", lw=0.6)
            if len(lv) <= 10:
                ax.bar_label(bars, labels=[f"{s:.0%}" if s >= 0.12 else "" for s in share],
                             label_type="center", fontsize=7.5, color="white")
            bottom += share
        for i in np.flatnonzero(counts == 0):
            ax.text(i, 0.5, "no\nagreements", ha="center", va="center", fontsize=7, color="0.4")
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_ylabel("share of\nagreements", fontsize=9)
        ax.set_title(issue.replace("_", " "), fontsize=10, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    ax.set_xlim(-0.6, len(lv) - 0.4)
    _set_level_ticks(axes[-1], lv, "x", [f"n={c:,}" for c in counts])
    axes[-1].set_xlabel(_axis_label(param, lv) + "   (n = agreements)")
    fig.suptitle(heading, fontsize=11)
    return fig


# --------------------------------------------------------------------------- batch figures (reports)


def _batch_colours(labels: Sequence[str]) -> list:
    return [STYLE["agreement"][0]] if len(labels) == 1 else _option_colours(len(labels))


@_literal_text
def batch_outcome_figure(summaries: Mapping[str, Mapping[str, Any]], out: Path) -> Path:
    """Outcome and outcome-class probabilities of one or more batches, with their 95% Wilson intervals.

    ``summaries``: label -> a batch summary (:func:`sim.runs.summary.summarize`).
    One row per outcome and per class seen in any batch; one bar per batch.
    """
    labels = list(summaries)
    rows = list(OUTCOMES)
    for s in summaries.values():
        rows += [k for k, v in s["outcome_classes"].items() if v["n"] > 0 and k not in rows]
    fig = _new_figure((SIZE[0], max(2.8, 1.4 + 0.32 * len(rows) * max(len(labels), 1.6))))
    ax = fig.add_subplot()
    step = 0.8 / len(labels)
    for j, (label, colour) in enumerate(zip(labels, _batch_colours(labels), strict=True)):
        s = summaries[label]
        for i, name in enumerate(rows):
            v = s["outcomes"].get(name) or s["outcome_classes"].get(name)
            if v is None or v["p"] != v["p"]:
                continue
            y = len(rows) - 1 - i + 0.4 - step * (j + 0.5)
            c = STYLE[name][0] if len(labels) == 1 and name in STYLE else colour
            ax.barh(y, v["p"], height=step * 0.9, color=c, alpha=0.85, label=label if i == 0 else None)
            ax.errorbar(v["p"], y, xerr=[[max(v["p"] - v["lo"], 0)], [max(v["hi"] - v["p"], 0)]], color="black", lw=1, capsize=3)
            ax.text(min(v["hi"] + 0.01, 0.9), y, f"{v['p']:.1%}", va="center", fontsize=8)
    names = [LABEL.get(r, _class_label(r)) for r in rows]
    ax.set_yticks(np.arange(len(rows))[::-1], names)
    for i in range(1, len(rows)):
        if rows[i - 1] in OUTCOMES and rows[i] not in OUTCOMES:
            ax.axhline(len(rows) - i - 0.5, color="0.6", lw=0.8)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of runs (bars: 95% Wilson intervals)")
    ax.grid(True, axis="x", alpha=0.35)
    if len(labels) > 1:
        ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Outcomes" + ("" if len(labels) == 1 else " by batch"), fontsize=11)
    return _save(fig, Path(out))


@_literal_text
def batch_timing_figure(summaries: Mapping[str, Mapping[str, Any]], out: Path) -> Path:
    """When talks open and agreements come: share of runs per month (the summaries' histograms)."""
    labels = list(summaries)
    fig = _new_figure((SIZE[0], 5.2))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, key, what in zip(axes, ("talks_month", "agreement_month"), ("talks first open", "agreement"),
                             strict=True):
        for j, (label, colour) in enumerate(zip(labels, _batch_colours(labels), strict=True)):
            s = summaries[label]
            hist = {int(k): int(v) for k, v in (s[key].get("histogram") or {}).items()}
            if not hist:
                continue
            months = np.arange(min(hist), max(hist) + 1)
            share = np.array([hist.get(int(m), 0) for m in months]) / max(int(s["runs"]), 1)
            ax.step(months, share, where="mid", color=colour, lw=max(2.6 - 0.6 * j, 1.0), label=label)
            med = s[key].get("median")
            if med is not None and med == med:
                ax.axvline(med, color=colour, ls="--", lw=1, alpha=0.8)
        ax.set_ylabel("share of runs", fontsize=9)
        ax.set_title(f"Month {what} (dashed: median)", fontsize=10, loc="left")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if not ax.lines:
            ax.text(0.5, 0.5, f"no run with {what}", ha="center", va="center", transform=ax.transAxes, color="0.4")
    axes[-1].set_xlabel("month from the start")
    if len(labels) > 1:
        axes[0].legend(fontsize=8)
    return _save(fig, Path(out))


@_literal_text
def batch_terms_figure(summaries: Mapping[str, Mapping[str, Any]], out: Path,
                       options: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Agreed terms: per issue, the share of agreements on each option, one stacked bar per batch."""
    labels = list(summaries)
    issues = list(dict.fromkeys(i for s in summaries.values() for i in s.get("terms", {})))
    agreed = any(s["terms"].get(i) for s in summaries.values() for i in issues)
    if not agreed:
        fig = _message_figure("No agreements: no agreed terms to show.", "Agreed terms")
        return _save(fig, Path(out))
    fig = _new_figure((SIZE[0] + 1.5, 0.9 + (0.5 + 0.38 * len(labels)) * len(issues)))
    axes = fig.subplots(len(issues), 1, squeeze=False)[:, 0]
    for ax, issue in zip(axes, issues, strict=True):
        seen = list(dict.fromkeys(o for s in summaries.values() for o in s["terms"].get(issue, {})))
        given = [str(o) for o in (options or {}).get(issue, [])]
        order = [o for o in given if o in seen] + [o for o in seen if o not in given]
        colours = _option_colours(len(order))
        y = np.arange(len(labels))[::-1]
        left = np.zeros(len(labels))
        for opt, colour in zip(order, colours, strict=True):
            share = np.array([summaries[lb]["terms"].get(issue, {}).get(opt, 0.0) for lb in labels])
            bars = ax.barh(y, share, left=left, color=colour, label=opt.replace("_", " "), height=0.7,
                           edgecolor="white", lw=0.6)
            ax.bar_label(bars, labels=[f"{v:.0%}" if v >= 0.08 else "" for v in share], label_type="center",
                         fontsize=7.5, color="white")
            left += share
        if len(labels) > 1:
            ax.set_yticks(y, labels, fontsize=8)
        else:
            ax.set_yticks([])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title(issue.replace("_", " "), fontsize=10, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    axes[-1].set_xlabel("share of agreements")
    fig.suptitle("Agreed terms", fontsize=11)
    return _save(fig, Path(out))


# --------------------------------------------------------------------------- comparison


@_literal_text
def compare_figure(table: pd.DataFrame, out: Path, label_a: str, label_b: str) -> Path:
    """Dot-and-whisker chart of paired differences ``p_b - p_a`` with their 95% intervals.

    ``table``: one row per outcome with ``outcome``, ``p_a``, ``p_b``,
    ``diff``, ``lo``, ``hi``. Rows are drawn top to bottom in table order,
    each annotated on the right with ``p_a → p_b``. With a ``kind`` column
    (as in :class:`sim.analysis.paired.Comparison`), rows of kind ``class`` are
    outcome classes: labelled ``class: ...`` and set apart by a line.
    """
    missing = [c for c in ("outcome", "p_a", "p_b", "diff", "lo", "hi") if c not in table.columns]
    if missing:
        raise UsageError(f"comparison table lacks column(s): {', '.join(missing)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = table.reset_index(drop=True)
    rows = len(t)
    fig = _new_figure((SIZE[0], max(2.6, 1.5 + 0.55 * rows)))
    ax = fig.add_subplot()
    y = np.arange(rows)[::-1].astype(float)
    is_class = (t["kind"].astype("string") == "class").fillna(False).to_numpy(dtype=bool) if "kind" in t \
        else np.zeros(rows, dtype=bool)
    for yi, row, cls in zip(y, t.itertuples(index=False), is_class, strict=True):
        colour, marker = ("#333333", "o") if cls else STYLE.get(str(row.outcome), ("#333333", "o"))
        d, lo, hi = float(row.diff), float(row.lo), float(row.hi)
        if np.isnan(d):
            continue
        excludes_zero = lo > 0 or hi < 0
        ax.errorbar([d], [yi], xerr=[[max(d - lo, 0)], [max(hi - d, 0)]], fmt=marker, color=colour,
                    ms=8, capsize=5, lw=2, mfc=colour if excludes_zero else "white", mew=2)
    ax.axvline(0, color="black", lw=1, ls="--", alpha=0.7)
    names = [_class_label(str(o)) if cls else LABEL.get(str(o), str(o).replace("_", " "))
             for o, cls in zip(t["outcome"], is_class, strict=True)]
    ax.set_yticks(y, names)
    for i in range(1, rows):
        if is_class[i] and not is_class[i - 1]:
            ax.axhline((y[i] + y[i - 1]) / 2, color="0.6", lw=0.8)
    ax.set_ylim(-0.7, rows - 0.3)
    span = np.nanmax(np.abs(t[["lo", "hi", "diff"]].to_numpy(dtype=float))) if rows else 0.0
    span = max(span if np.isfinite(span) else 0.0, 0.01) * 1.15
    ax.set_xlim(-span, span)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=7, symmetric=True))
    ax.xaxis.set_major_formatter(FuncFormatter(_pp))
    ax.set_xlabel(f"difference in probability, {label_b} − {label_a}\n(percentage points, with 95% interval)")
    right = ax.secondary_yaxis("right")
    right.set_yticks(y, [f"{_pct(a)} → {_pct(b)}" for a, b in zip(t["p_a"], t["p_b"], strict=True)])
    right.tick_params(length=0)
    ax.grid(True, axis="x", alpha=0.35)
    ax.set_title(f"Change in outcome probabilities: {label_b} vs {label_a}\n"
                 f"(right: probability in {label_a} → in {label_b})", fontsize=10)
    _note(fig, "filled marker: the 95% interval excludes 0")
    return _save(fig, out)


def compare_many_figure(table: pd.DataFrame, out: Path, base: str) -> Path:
    """Differences from the base of several batches: one row per outcome, one marker per batch.

    ``table``: rows of :meth:`sim.analysis.comparison.ComparisonSet.table` (``label_b``,
    ``outcome``, ``kind``, ``diff``, ``lo``, ``hi``). Classes never seen in
    any batch are left out.
    """
    missing = [c for c in ("label_b", "outcome", "diff", "lo", "hi") if c not in table.columns]
    if missing:
        raise UsageError(f"comparison table lacks column(s): {', '.join(missing)}")
    t = table.copy()
    if "kind" in t and {"p_a", "p_b"} <= set(t.columns):
        seen = t.groupby("outcome")[["p_a", "p_b"]].transform("max").max(axis=1) > 0
        t = t[(t["kind"] != "class") | (seen & ~t["outcome"].isin(["agreement", "no_talks", "talks_failed"]))]
    outcomes = list(dict.fromkeys(t["outcome"]))
    labels = list(dict.fromkeys(t["label_b"]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = _new_figure((SIZE[0], max(2.8, 1.6 + 0.35 * len(outcomes) * len(labels))))
    ax = fig.add_subplot()
    colours = _option_colours(len(labels))
    step = 0.8 / max(len(labels), 1)
    for j, label in enumerate(labels):
        rows = t[t["label_b"] == label].set_index("outcome")
        for i, o in enumerate(outcomes):
            if o not in rows.index or pd.isna(rows.loc[o, "diff"]):
                continue
            d, lo, hi = (float(rows.loc[o, k]) for k in ("diff", "lo", "hi"))
            y = len(outcomes) - 1 - i + 0.4 - step * (j + 0.5)
            filled = lo > 0 or hi < 0
            ax.errorbar([d], [y], xerr=[[max(d - lo, 0)], [max(hi - d, 0)]], fmt="o", color=colours[j], ms=6,
                        capsize=3, lw=1.5, mfc=colours[j] if filled else "white", mew=1.5,
                        label=label if i == 0 else None)
    ax.axvline(0, color="black", lw=1, ls="--", alpha=0.7)
    names = [LABEL.get(str(o), str(o).replace("_", " ")) for o in outcomes]
    ax.set_yticks(np.arange(len(outcomes))[::-1], names)
    span = np.nanmax(np.abs(t[["lo", "hi", "diff"]].to_numpy(dtype=float))) if len(t) else 0.0
    span = max(span if np.isfinite(span) else 0.0, 0.01) * 1.15
    ax.set_xlim(-span, span)
    ax.xaxis.set_major_formatter(FuncFormatter(_pp))
    ax.set_xlabel(f"difference in probability from {base}\n(percentage points, with 95% interval)")
    ax.grid(True, axis="x", alpha=0.35)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"Change in outcome probabilities against {base}", fontsize=10)
    _note(fig, "filled marker: the 95% interval excludes 0")
    return _save(fig, out)


def _class_label(name: str) -> str:
    # an agreement matching no outcome_classes rule has the class "agreement"
    return "class: other agreement" if name == "agreement" else f"class: {name.replace('_', ' ')}"


def _pp(v: float, _pos: object = None) -> str:
    pp = v * 100
    if abs(pp) < 1e-9:
        return "0"
    return f"{pp:+.0f}" if abs(pp - round(pp)) < 1e-9 else f"{pp:+.1f}"


def _pct(v: float) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{float(v):.1%}"


@_literal_text
def hindcast_figure(h: Any, months: Mapping[str, np.ndarray], path: Path) -> Path:
    """One page: each target's probability under the scenario (95% interval), and when the model has the event
    against the window the record gives (``h``: a :class:`sim.analysis.hindcast.Hindcast`; ``months``: per
    target, the month of its event in each scored run, NaN where it never happens)."""
    scores = h.scores
    fig = _new_figure((11.0, 1.6 + 0.55 * max(len(scores), 2)))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.3]})
    y = np.arange(len(scores))[::-1]
    p = np.array([s.p for s in scores])
    err = np.array([[s.p - s.low for s in scores], [s.high - s.p for s in scores]])
    colours = [(0.80, 0.25, 0.20) if s.p < 0.2 else (0.85, 0.60, 0.15) if s.p < 0.5 else (0.25, 0.55, 0.35)
               for s in scores]
    left.barh(y, p, xerr=err, color=colours, capsize=3)
    left.set_yticks(y, [f"{s.label}\n({s.observed}; log score {s.log_score:.2f})" for s in scores], fontsize=8)
    left.set_xlim(0, 1)
    left.set_xlabel("P(what was observed) under the scenario")
    fig.suptitle(f"{h.record} against {h.scenario}: the whole record as a path in {100 * h.joint:.1f}% of runs",
                 fontsize=11)
    left.set_title("Each target", fontsize=9)
    horizon = max((np.nanmax(m) for m in months.values() if np.isfinite(m).any()), default=1.0)
    for yi, s in zip(y, scores, strict=True):
        m = months[s.name]
        seen = m[np.isfinite(m)]
        first, last = s.window
        right.add_patch(Rectangle((first - 0.5, yi - 0.4), last - first + 1, 0.8,
                                  color=(0.2, 0.4, 0.8, 0.15) if "not by" not in s.observed else (0.85, 0.3, 0.2, 0.15),
                                  lw=0))
        if len(seen):
            counts = np.bincount(seen.astype(int), minlength=int(horizon) + 1) / len(m)
            right.bar(np.arange(len(counts)), 0.8 * counts / max(counts.max(), 1e-9), bottom=yi - 0.4,
                      width=0.8, color="0.35")
        right.text(horizon + 1.5, yi, f"never {100 * (1 - len(seen) / len(m)):.0f}%", va="center", fontsize=8)
    right.set_yticks(y, [s.name for s in scores], fontsize=8)
    right.set_xlim(-0.5, horizon + 10)
    right.set_xlabel("month of the event in the runs")
    right.set_title("Month of the event in the runs\n(record: blue, it happened then; red, not by then)", fontsize=8)
    kept = f"{h.kept:,} of {h.runs:,} runs kept, consistent with {', '.join(h.conditioned_on)}" \
        if h.from_month is not None else f"{h.runs:,} runs"
    _note(fig, f"{kept}; log score = ln P (0 is perfect); Brier = (1 - P)^2")
    return _save(fig, path)


@_literal_text
def posterior_figure(samples: pd.DataFrame, params: list[str], priors: Mapping[str, Any], path: Path) -> Path:
    """Marginals (diagonal: weighted posterior histogram against the prior's density) and pairs (below it) of a
    calibration's weighted particles (``samples``: one column per parameter and ``weight``)."""
    k = len(params)
    fig = _new_figure((2.6 * k + 1.0, 2.4 * k + 0.8))
    axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
    w = samples["weight"].to_numpy(float)
    for i, pi in enumerate(params):
        x = samples[pi].to_numpy(float)
        for j, pj in enumerate(params):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                d = priors[pi]
                lo, hi = float(d.ppf(0.005)), float(d.ppf(0.995))
                ax.hist(x, bins=20, range=(min(lo, x.min()), max(hi, x.max())), weights=w, density=True,
                        color=(0.25, 0.45, 0.75, 0.7))
                grid = np.linspace(lo, hi, 200)
                pdf = getattr(d, "pdf", None)
                if pdf is not None:
                    ax.plot(grid, pdf(grid), color="0.3", lw=1, ls="--")
            else:
                ax.scatter(samples[pj].to_numpy(float), x, s=4 + 60 * w / w.max(), alpha=0.4,
                           color=(0.25, 0.45, 0.75))
            if i == k - 1:
                ax.set_xlabel(pj, fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(pi, fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior: marginals (bars; prior dashed) and pairs", fontsize=10)
    _note(fig, f"{len(samples)} weighted particles")
    return _save(fig, path)
