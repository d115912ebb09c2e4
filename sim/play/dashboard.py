"""`negsim dashboard`: the browser dashboard's computations and its server.

The page itself (solara components) is :mod:`sim.play.dashboard_page`; this module
holds what it computes, so it can be tested without a browser:

- :func:`controls`: the levers a teacher moves, for any scenario: each
  government's resolve, cost sensitivity, hurt threshold, patience and
  belief about the front; each public's weariness, pressure, ratification
  bar and whether it votes; each mediator's bias, leverage and presence;
  every red line and precondition as an on/off switch; the chance talks
  break down. A control at its scenario value is no override (an uncertain
  parameter stays drawn per run).
- :func:`run_pair`: N runs with the overrides and N runs of the unchanged
  scenario, with the same seed (paired by replicate: common random numbers),
  through the batch API, and their paired comparison.
- :func:`scenario_with`: the scenario with overrides written into its data,
  for ``explain`` of one run with the dashboard's settings.
- figures (matplotlib, drawn on the server and sent as images: nothing is
  fetched by the browser from elsewhere).
- :func:`serve`: the solara server on a host and port, behind :class:`HideRoutes`
  (solara's ``/resourcez`` answers 404 unless asked for).
"""

from __future__ import annotations

import copy
import functools
import math
import os
import re
import secrets
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.paired import compare_tables
from sim.defaults import DASHBOARD_PORT, HOST
from sim.engine.records import OUTCOMES, STAGE_NAMES
from sim.errors import UsageError
from sim.play import terms
from sim.runs.batch import BatchResult, check_overrides, run_batch
from sim.scenario.models import Scenario, scenario_from_data
from sim.scenario.registry import RANGES, parameter_slots

MAX_RUNS = 100_000
COLOURS = {"changed": "#c2410c", "unchanged": "#64748b"}


@dataclass(frozen=True)
class Control:
    """One lever on the page: a slider (number) or a switch."""

    path: str
    label: str
    group: str
    kind: str            # "number" or "switch"
    value: Any           # the scenario's value (the median of an uncertain parameter)
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    uncertain: bool = False


def _number(slots: dict, path: str, label: str, group: str) -> Control | None:
    slot = slots.get(path)
    if slot is None or slot.param is None:
        return None
    value = slot.param.central()
    lo, hi, _, _ = RANGES.get(slot.name, (None, None, False, False))
    if slot.name == "discount":
        low, high, step = 0.9, 0.999, 0.001
    elif (lo, hi) == (0.0, 1.0):  # hundredths, on a grid through the value (a posterior's median is anywhere)
        step = 0.01
        low = round(value % step, 9)
        low = 0.0 if low in (0.0, step) else low
        high = low + step * math.floor((1.0 - low) / step + 1e-9)
    elif lo is not None:  # from 0 to four times the value, in tenths of the value (the value is on the grid)
        step = value / 10 if value > 0 else 0.01
        low, high = 0.0, 40 * step
    else:  # either side of the value
        step = max(abs(value), 0.1) / 10
        low, high = value - 10 * step, value + 10 * step
    return Control(path, label, group, "number", float(value), low, high, step, slot.param.uncertain)


def controls(sc: Scenario) -> list[Control]:
    """The dashboard's levers for scenario ``sc``, grouped by actor (see the module's docstring)."""
    slots = parameter_slots(sc)
    out: list[Control | None] = []
    for g, actor in sc.governments().items():
        grp = actor.label or g
        out += [_number(slots, f"actors.{g}.resolve", "resolve (1 ignores the costs of war)", grp),
                _number(slots, f"actors.{g}.cost_sensitivity", "cost sensitivity", grp),
                _number(slots, f"actors.{g}.hurt_threshold", "hurt threshold (ripeness)", grp),
                _number(slots, f"actors.{g}.discount", "patience (monthly discount)", grp),
                _number(slots, f"actors.{g}.belief.drift_km2", "believed pace of the front, km2/month", grp)]
        for j, r in enumerate(actor.red_lines):
            path = f"actors.{g}.red_lines[{j}].active"
            said = ", ".join(terms.option_words(sc, r.issue, o) for o in r.forbid)
            out.append(Control(path, f"red line: {terms.issue_words(sc, r.issue, short=True)} not {said}", grp,
                               "switch", bool(r.active)))
        for j, p in enumerate(actor.preconditions):
            path = f"actors.{g}.preconditions[{j}].active"
            out.append(Control(path, f"precondition: {p.name} ({p.variable} {p.op} {p.value.value:g})", grp,
                               "switch", bool(p.active)))
    for name, pub in sc.publics().items():
        grp = pub.label or name
        out += [_number(slots, f"actors.{name}.weariness", "war-weariness at the start", grp),
                _number(slots, f"actors.{name}.pressure", "pressure on its government", grp),
                _number(slots, f"actors.{name}.ratification.threshold", "ratification bar", grp),
                Control(f"actors.{name}.ratifies", "votes on a deal", grp, "switch", bool(pub.ratifies))]
    govs = list(sc.governments())
    for name, med in sc.mediators().items():
        grp = med.label or name
        out += [Control(f"actors.{name}.active", "active", grp, "switch", bool(med.active)),
                _number(slots, f"actors.{name}.bias", "bias (0 Ukraine's side, 1 Russia's)", grp)]
        out += [_number(slots, f"actors.{name}.leverage.{g}", f"side-payment to {g}", grp) for g in govs]
    out.append(_number(slots, "negotiation.breakdown", "chance talks break down after a failed month",
                       "Negotiation"))
    return [c for c in out if c is not None]


def overrides_of(ctrls: list[Control], values: dict[str, Any]) -> dict[str, Any]:
    """{path: value} of the controls moved away from their scenario value."""
    out: dict[str, Any] = {}
    for c in ctrls:
        if c.path not in values:
            continue
        v = values[c.path]
        if c.kind == "switch":
            if bool(v) != bool(c.value):
                out[c.path] = bool(v)
        elif not math.isclose(float(v), float(c.value), rel_tol=0, abs_tol=1e-12):
            out[c.path] = float(v)
    return out


# --------------------------------------------------------------------------- runs

@dataclass
class PairedRuns:
    """N runs with the overrides (changed) and N runs of the scenario as written (unchanged), same seed."""

    runs: int
    seed: int
    overrides: dict[str, Any]
    changed: BatchResult
    unchanged: BatchResult
    comparison: Any = field(repr=False)  # sim.analysis.paired.Comparison: unchanged (a) against changed (b)

    def outcome_rows(self) -> list[dict[str, Any]]:
        """Per outcome: P and its 95% Wilson interval in both, and the paired difference with its interval."""
        a, b = self.unchanged.summary()["outcomes"], self.changed.summary()["outcomes"]
        diff = self.comparison.outcomes.set_index("outcome")
        rows = []
        for o in OUTCOMES:
            d = diff.loc[o]
            rows.append({"outcome": o, "changed": b[o], "unchanged": a[o],
                         "diff": (float(d["diff"]), float(d["lo"]), float(d["hi"]))})
        return rows

    def stage_rows(self) -> list[dict[str, Any]]:
        """Per stage of the peace process: the share of runs that reached it, unchanged and changed."""
        return [{"stage": st, "unchanged": reached_share(self.unchanged.runs, st),
                 "changed": reached_share(self.changed.runs, st)} for st in STAGE_NAMES[1:]]


# The results column that says a run reached each stage (a run may skip one: a settlement with no ceasefire).
STAGE_COLUMNS = {"talks": "talks_month", "partial": "first_partial_month", "ceasefire": "ceasefire_month",
                 "settlement": "settlement_month", "relapse": "relapse_month"}


def reached_share(runs: pd.DataFrame, stage: str) -> float:
    """The share of runs that reached ``stage`` of the peace process (its results column is set)."""
    col = STAGE_COLUMNS[stage]
    if not len(runs) or col not in runs:
        return 0.0
    return float(runs[col].notna().mean())


def run_pair(sc: Scenario, overrides: dict[str, Any], runs: int, seed: int,
             progress: Callable[[int, int], None] | None = None) -> PairedRuns:
    """Run both sides on the vector engine (nothing written); ``progress(done, total)`` counts runs."""
    if not 1 <= runs <= MAX_RUNS:
        raise UsageError(f"runs must be between 1 and {MAX_RUNS:,} (got {runs})")
    check_overrides(sc, overrides)
    block = max(2000, math.ceil(runs / 10))
    total = 2 * runs

    def part(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, _total: progress(offset + done, total)

    changed = run_batch(sc, runs=runs, seed=seed, out=None, block_size=block, overrides=overrides or None,
                        progress=part(0))
    if overrides:
        unchanged = run_batch(sc, runs=runs, seed=seed, out=None, block_size=block, progress=part(runs))
    else:
        unchanged = changed
        if progress is not None:
            progress(total, total)
    comparison = compare_tables(unchanged.runs, changed.runs, paired=True)
    return PairedRuns(runs, seed, dict(overrides), changed, unchanged, comparison)


# --------------------------------------------------------------------------- one run with the settings

_STEP = re.compile(r"([A-Za-z_][\w-]*)(?:\[(\d+)\])?$")


def scenario_with(sc: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The scenario with ``overrides`` written into its data (an overridden uncertain parameter becomes fixed)."""
    if not overrides:
        return sc
    check_overrides(sc, overrides)
    data = copy.deepcopy(sc.data)
    for path, value in overrides.items():
        keys: list[str | int] = []
        for part in path.split("."):
            m = _STEP.match(part)
            if m is None:  # check_overrides accepted it, so this is a path form not written here
                raise UsageError(f"cannot write override {path!r} into the scenario")
            keys.append(m.group(1))
            if m.group(2) is not None:
                keys.append(int(m.group(2)))
        node: Any = data
        for k in keys[:-1]:
            node = node[k]
        last = keys[-1]
        old = node.get(last) if isinstance(node, dict) else None
        if isinstance(old, dict):  # a sourced or uncertain number: keep its source, fix its value
            node[last] = {k: v for k, v in old.items() if k in ("evidence", "assumption")} | {"value": value}
        else:
            node[last] = value
    return scenario_from_data(data, sc.path, sc.text)


def outcome_line(row: pd.Series, issues: list[str], horizon: int) -> str:
    """One run's outcome in one line, from its results row."""
    if row["outcome"] == "agreement":
        terms = ", ".join(f"{k} = {row[f'term_{k}']}" for k in issues)
        land = float(row.get("land_km2", 0.0) or 0.0)
        moved = ("no land changes hands" if abs(land) < 0.5 else
                 f"{abs(land):,.0f} km2 {'returned to Ukraine' if land > 0 else 'ceded to Russia'}")
        relapse = row.get("relapse_month")
        held = (f"; the settlement broke down in month {int(relapse)} and the war resumed"
                if relapse is not None and not pd.isna(relapse) else f"; the settlement held to month {horizon}")
        return f"agreement in month {int(row['agreement_month'])}: {terms}; {moved}{held}"
    if row["outcome"] == "talks_failed":
        reached = [f"{int(row.get('partial_deals', 0) or 0)} partial deals"] if int(row.get("partial_deals", 0) or 0) else []
        cf = row.get("ceasefire_month")
        if cf is not None and not pd.isna(cf):
            broke = row.get("ceasefire_broken_month")
            reached.append(f"a ceasefire from month {int(cf)}" + (f", broken in month {int(broke)}" if broke is not None
                                                                  and not pd.isna(broke) else ""))
        return (f"talks failed: they first opened in month {int(row['talks_month'])}, no ratified deal by month {horizon}"
                + (f" ({'; '.join(reached)})" if reached else ""))
    return f"no talks: talks never opened in {horizon} months"


# --------------------------------------------------------------------------- figures

def _bar_pairs(ax: Any, labels: list[str], changed: list[tuple[float, float, float]],
               unchanged: list[tuple[float, float, float]]) -> None:
    xs = range(len(labels))
    w = 0.38
    for off, name, vals in ((-w / 2, "unchanged", unchanged), (w / 2, "changed", changed)):
        ps = [v[0] for v in vals]
        # a share of 0 can have a Wilson bound a rounding error above it: matplotlib refuses a negative error
        err = [[max(v[0] - v[1], 0) for v in vals], [max(v[2] - v[0], 0) for v in vals]]
        ax.bar([x + off for x in xs], ps, w, yerr=err, capsize=4, color=COLOURS[name],
               label="unchanged scenario" if name == "unchanged" else "with your settings")
        for x, p in zip(xs, ps, strict=True):
            ax.text(x + off, p + 0.02, f"{p:.0%}", ha="center", fontsize=8)
    ax.set_xticks(list(xs), labels)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("share of runs (95% interval)")
    ax.legend(fontsize=8, loc="upper right")


def literal_text(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """A figure whose texts are drawn as written: a ``$`` in a scenario's name never starts matplotlib's math
    text (``$\\foo$`` would stop the drawing with a parse error)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


@literal_text
def figure_outcomes(pair: PairedRuns) -> Figure:
    """Outcome bars with 95% Wilson intervals: the unchanged scenario beside the changed one."""
    fig = Figure(figsize=(6.4, 3.2), layout="constrained")
    ax = fig.subplots()
    rows = pair.outcome_rows()
    _bar_pairs(ax, [r["outcome"].replace("_", " ") for r in rows],
               [(r["changed"]["p"], r["changed"]["lo"], r["changed"]["hi"]) for r in rows],
               [(r["unchanged"]["p"], r["unchanged"]["lo"], r["unchanged"]["hi"]) for r in rows])
    ax.set_title(f"Outcomes of {pair.runs:,} paired runs (seed {pair.seed})", fontsize=10)
    return fig


@literal_text
def figure_timing(pair: PairedRuns) -> Figure:
    """Month of agreement: share of all runs agreeing in each month, both sides."""
    fig = Figure(figsize=(6.4, 2.6), layout="constrained")
    ax = fig.subplots()
    horizon = pair.changed.scenario.model.horizon_months
    for name, res in (("unchanged", pair.unchanged), ("changed", pair.changed)):
        months = res.runs["agreement_month"].dropna().astype(int)
        counts = months.value_counts().reindex(range(1, horizon + 1), fill_value=0) / len(res.runs)
        ax.step(counts.index, counts.to_numpy(), where="mid", color=COLOURS[name],
                label="unchanged scenario" if name == "unchanged" else "with your settings")
    ax.set_xlabel("month of agreement")
    ax.set_ylabel("share of runs")
    ax.legend(fontsize=8)
    return fig


def terms_table(pair: PairedRuns) -> pd.DataFrame:
    """Share of each option among the agreements, per issue: unchanged and changed."""
    rows = []
    for name, res in (("unchanged", pair.unchanged), ("changed", pair.changed)):
        for issue, shares in res.summary()["terms"].items():
            for option, p in shares.items():
                rows.append({"issue": issue, "option": option, "side": name, "share": p})
    if not rows:
        return pd.DataFrame(columns=["issue", "option", "unchanged", "changed"])
    t = pd.DataFrame(rows).pivot_table(index=["issue", "option"], columns="side", values="share", fill_value=0.0)
    return t.reindex(columns=["unchanged", "changed"], fill_value=0.0).reset_index()


@literal_text
def figure_series(series: pd.DataFrame, governments: Sequence[str], publics: Sequence[str | None]) -> Figure:
    """One run's months: territory Russia holds, each side's hurt, each public's weariness."""
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    months = list(range(1, len(series) + 1))
    ax1.plot(months, series["territory_km2"] / 1000, color="#334155", marker=".")
    ax1.set_ylabel("Russia holds,\n1,000 km2")
    for g in governments:
        ax2.plot(months, series[f"hurt_{g}"], marker=".", label=g)
    ax2.set_ylabel("hurt")
    ax2.legend(fontsize=7)
    for p in publics:
        if p is not None and f"weariness_{p}" in series:
            ax3.plot(months, series[f"weariness_{p}"], marker=".", label=p)
    ax3.set_ylabel("war-weariness")
    ax3.set_ylim(0, 1)
    ax3.legend(fontsize=7)
    talks = series["talks_open"].astype(bool).to_numpy()
    for ax in (ax1, ax2, ax3):
        for t, open_ in zip(months, talks, strict=True):
            if open_:
                ax.axvspan(t - 0.5, t + 0.5, color="#fde68a", alpha=0.5, lw=0)
    ax3.set_xlim(0.5, max(len(months), 2) + 0.5)
    ax3.xaxis.get_major_locator().set_params(integer=True)
    ax3.set_xlabel("month (shaded: talks open)")
    return fig


# --------------------------------------------------------------------------- server

# Solara's routes that tell about the machine rather than the scenario: /resourcez lists the server's threads,
# kernels, websockets and thread limiters to anyone who asks. Off unless `negsim dashboard --resourcez`.
STATS_ROUTES = ("/resourcez",)


class HideRoutes:
    """ASGI middleware: a request for one of ``hidden`` (any trailing slashes, under any root path) is
    answered 404 (a websocket is closed) before it reaches the app behind."""

    def __init__(self, app: Any, hidden: Sequence[str] = STATS_ROUTES) -> None:
        self.app = app
        self.hidden = frozenset(hidden)

    def _is_hidden(self, scope: dict[str, Any]) -> bool:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root):]
        return "/" + path.strip("/") in self.hidden

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] not in ("http", "websocket") or not self._is_hidden(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"Not Found\n"
        await send({"type": "http.response.start", "status": 404, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})


def default_scenario() -> Path:
    """The baseline: scenarios/baseline.yaml here, else the copy installed with negsim."""
    here = Path("scenarios") / "baseline.yaml"
    if here.is_file():
        return here
    from sim.shipped import folder

    shipped = folder("scenarios")
    if shipped is not None and (shipped / "baseline.yaml").is_file():
        return shipped / "baseline.yaml"
    raise UsageError("no scenario given and no scenarios/baseline.yaml here nor installed with negsim")


def serve(file: str | Path, host: str = HOST, port: int = DASHBOARD_PORT, resourcez: bool = False,
          ready: Callable[[], None] | None = None) -> None:
    """Start the dashboard on ``host:port`` for scenario ``file`` (blocks until stopped).

    Solara runs in production mode with its usage telemetry off and its corner
    banner off (``SOLARA_THEME_SHOW_BANNER``: the banner floats over whatever
    lies at the window's bottom right, the draft builder's Apply button among
    them; the page credits Solara in its own footer); its page
    assets come from the solara-assets package in the environment, so the
    browser fetches nothing from outside this server. Solara's ``/resourcez``
    (the server's threads, kernels and connections) answers 404 unless
    ``resourcez`` is true. ``ready`` is called once the checks pass, just before the server starts (the
    command prints the dashboard's address there).
    """
    from sim.scenario.loading import load_scenario

    load_scenario(file)  # a bad file fails here, before the server starts
    os.environ["NEGSIM_DASHBOARD_FILE"] = str(Path(file).resolve())
    os.environ["SOLARA_APP"] = "sim.play.dashboard_page"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_SESSION_SECRET_KEY", secrets.token_hex(32))
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")  # plain http on a local address
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)
    try:
        import solara.server.settings  # noqa: F401  (reads the settings above)
        import uvicorn
    except ImportError as e:
        raise UsageError("the dashboard needs the extra [dashboard]: pip install 'negsim[dashboard]'"
                         f" ({e.name} is missing)") from e
    cache = Path(solara.server.settings.assets.proxy_cache_dir) / "@widgetti"
    if not any(cache.glob("solara-vuetify-app@*")):
        raise UsageError(f"the page's scripts are not installed ({cache} has no solara-vuetify-app): "
                         "pip install 'negsim[dashboard]' installs them (solara-assets)")
    from solara.server.starlette import app

    if ready is not None:
        ready()
    uvicorn.run(app if resourcez else HideRoutes(app), host=host, port=port, log_level="warning", ws_max_size=2**24)
