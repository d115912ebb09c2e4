"""Comparisons of two batches A and B: what changes in outcomes, timing and terms.

Replicate r of every batch draws its shocks from the same seed key, so two
batches run with the same seed use common random numbers: run r of A and
run r of B met the same battlefield, the same noise, the same uncertain
parameters. Pairing runs by ``replicate`` removes that shared noise from the
difference, and the intervals become much tighter than those of two
independent samples (``paired=False``).

Outcomes (``Comparison.outcomes``): the share of runs with each outcome and
each outcome class in A and in B, ``diff = p_b - p_a`` and a 95% interval.

- Paired: Newcombe's hybrid score interval for the difference of paired
  proportions, method 10 of Newcombe (1998a): Wilson score intervals of the
  two marginal proportions combined through the correlation ``phi`` of the
  paired 2x2 table (with Newcombe's correction of ``ad - bc`` by ``n/2``).
  When no pair is discordant the difference is exactly 0 and we report the
  degenerate interval ``lo = hi = 0.0`` (a convention of this module; method
  10 itself would give a short interval around 0). The test is McNemar's
  (1947): with fewer than 25 discordant pairs the exact binomial version
  (``scipy.stats.binomtest(n_ba, n_ab + n_ba, 0.5)``, two-sided), otherwise
  the chi-square version with Edwards' (1948) continuity correction,
  ``max(|n_ab - n_ba| - 1, 0)**2 / (n_ab + n_ba)`` on 1 df
  (``scipy.stats.chi2.sf``).
- Unpaired: Newcombe's hybrid score interval for the difference of
  independent proportions, method 10 of Newcombe (1998b), and Fisher's exact
  test of the 2x2 table (``scipy.stats.fisher_exact``, two-sided).

Timing (``Comparison.timing``): ``agreement_month`` and ``talks_month``.

- Paired: over the replicates where both A and B have a value, the mean of
  the paired differences B - A, a paired bootstrap percentile interval
  (Efron & Tibshirani 1993, ch. 13; replicate pairs resampled by
  ``scipy.stats.bootstrap`` with ``np.random.default_rng(seed)``) and a bootstrap p-value: twice the share
  of resampled means on the other side of 0 (ties at 0 count as the other
  side), with the usual ``(k + 1) / (B + 1)`` correction so that it is never
  0 (Davison & Hinkley 1997, eq. 4.11), capped at 1.
- Unpaired: Welch's t interval and test (Welch 1947;
  ``scipy.stats.ttest_ind(equal_var=False)``) on the runs with a value.

Terms (``Comparison.terms``): among the agreements of each batch, the share
that settled each issue on each option, and the change B - A: the terms that
move between the two scenarios.

References:
  McNemar Q (1947). Note on the sampling error of the difference between
  correlated proportions or percentages. Psychometrika 12:153-157.
  Edwards AL (1948). Note on the "correction for continuity" in testing the
  significance of the difference between correlated proportions.
  Psychometrika 13:185-187.
  Newcombe RG (1998a). Improved confidence intervals for the difference
  between binomial proportions based on paired data. Stat Med 17:2635-2650.
  Newcombe RG (1998b). Interval estimation for the difference between
  independent proportions: comparison of eleven methods. Stat Med 17:873-890.
  Welch BL (1947). The generalization of "Student's" problem when several
  different population variances are involved. Biometrika 34:28-35.
  Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap.
  Davison AC, Hinkley DV (1997). Bootstrap Methods and their Application.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.engine.records import OUTCOMES
from sim.errors import UsageError
from sim.runs.summary import Z95, wilson

EXACT_BELOW = 25  # McNemar: exact binomial test below this many discordant pairs
SMALL_P = "a small p-value (below 0.05, say) means a change this large would seldom come from the chance of this many runs alone"
# Each test named in a comparison's "test" column: its name for people, and what it asks in one plain line (the
# report prints the line under the tables that use the test).
TESTS = {
    "mcnemar_exact": ("McNemar exact",
                      "among the paired runs whose outcome differs between the two batches, whether as many move one "
                      f"way as the other (a binomial test, used when fewer than {EXACT_BELOW} pairs differ); {SMALL_P}."),
    "mcnemar_chi2_cc": ("McNemar chi-square",
                        "the same question as McNemar exact, answered with the chi-square approximation and Edwards' "
                        f"continuity correction (used when {EXACT_BELOW} or more pairs differ); {SMALL_P}."),
    "fisher_exact": ("Fisher exact",
                     "whether the share of runs with the outcome differs between two batches that are not paired, "
                     f"from their counts; {SMALL_P}."),
    "paired_bootstrap": ("paired bootstrap",
                         "whether the mean month changes, over the replicates with a value in both batches: their "
                         "differences are resampled, and p is twice the share of resampled means on the other side "
                         f"of 0; {SMALL_P}."),
    "welch_t": ("Welch t",
                "whether the mean month differs between two batches that are not paired (a t-test that does not "
                f"assume equal spreads); {SMALL_P}."),
}
TIMING = ("agreement_month", "talks_month")
REQUIRED = ("replicate", "outcome", "outcome_class")
_BOOT_CELLS = 4_000_000  # resampled indices held in memory at once


@dataclass
class Comparison:
    """The comparison of batch A with batch B (differences are B - A).

    ``outcomes``: one row per outcome and outcome class: ``outcome``,
    ``kind`` (``outcome`` or ``class``), ``p_a``, ``p_b``, ``diff``, ``lo``,
    ``hi``, ``p_value``, ``test``, ``discordant_ab`` (replicates with the
    outcome in A but not in B) and ``discordant_ba`` (in B but not in A);
    the discordant counts are null when unpaired.

    ``timing``: one row per timing column: ``measure``, ``n_a``, ``n_b``
    (runs with a value), ``mean_a``, ``mean_b`` (over those runs),
    ``n_pairs`` (replicates with a value in both; null when unpaired),
    ``pair_mean_a``, ``pair_mean_b`` (means over those pairs; NaN when
    unpaired), ``covers`` (which runs ``diff`` is over, in words), ``diff``,
    ``lo``, ``hi``, ``p_value``, ``test``. Paired, ``diff`` is the mean of the
    paired differences, ``pair_mean_b - pair_mean_a``, which need not equal
    ``mean_b - mean_a``.

    ``terms``: ``issue``, ``option``, ``n_a``, ``n_b`` (agreements on the
    option), ``share_a``, ``share_b`` (of each batch's agreements; NaN when
    a batch has none), ``diff``; sorted by absolute difference.

    ``n``: runs per batch (pairs when paired; None when unpaired batches
    differ in size); ``n_a``, ``n_b``: runs in each batch.
    """

    outcomes: pd.DataFrame
    timing: pd.DataFrame
    terms: pd.DataFrame
    n: int | None
    paired: bool
    n_a: int = 0
    n_b: int = 0


def _examples(values: set[int], limit: int = 3) -> str:
    shown = ", ".join(str(v) for v in sorted(values)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def check_pairable(a: pd.DataFrame, b: pd.DataFrame, seed_a: int | None,
                   seed_b: int | None) -> str | None:
    """None if runs of A and B can be paired by replicate, else what differs.

    Pairable means: the same root seed (a seed of None is unknown and not
    checked), the same number of runs, no replicate twice, and the same set
    of replicates. The message lists every difference found, separated by
    ``"; "``, e.g. ``"seeds differ: 1 vs 2; replicate counts differ: 2000 vs 1000"``.
    """
    problems = []
    if seed_a is not None and seed_b is not None and seed_a != seed_b:
        problems.append(f"seeds differ: {seed_a} vs {seed_b}")
    missing = [name for name, t in (("A", a), ("B", b)) if "replicate" not in t.columns]
    if missing:
        problems += [f"table {name} has no 'replicate' column" for name in missing]
        return "; ".join(problems)
    ra = a["replicate"].to_numpy(dtype=np.int64)
    rb = b["replicate"].to_numpy(dtype=np.int64)
    if len(ra) != len(rb):
        problems.append(f"replicate counts differ: {len(ra)} vs {len(rb)}")
    for name, r in (("A", ra), ("B", rb)):
        values, counts = np.unique(r, return_counts=True)
        dup = set(values[counts > 1].tolist())
        if dup:
            problems.append(f"replicates repeat in {name}: {len(dup)} ({_examples(dup)})")
    sa, sb = set(ra.tolist()), set(rb.tolist())
    only_a, only_b = sa - sb, sb - sa
    # with different counts, one set inside the other is already said by the counts
    if (only_a and only_b) or (len(ra) == len(rb) and (only_a or only_b)):
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} only in A ({_examples(only_a)})")
        if only_b:
            parts.append(f"{len(only_b)} only in B ({_examples(only_b)})")
        problems.append("replicate sets differ: " + ", ".join(parts))
    return "; ".join(problems) or None


# --- proportions -------------------------------------------------------------

def newcombe_unpaired(x_a: int, n_a: int, x_b: int, n_b: int,
                      z: float = Z95) -> tuple[float, float, float]:
    """(diff, lo, hi) of p_b - p_a for independent samples: Newcombe (1998b) method 10."""
    p_a, l_a, u_a = wilson(x_a, n_a, z)
    p_b, l_b, u_b = wilson(x_b, n_b, z)
    d = p_b - p_a
    lo = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    hi = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return d, max(-1.0, lo), min(1.0, hi)


def newcombe_paired(both: int, only_b: int, only_a: int, neither: int,
                    z: float = Z95) -> tuple[float, float, float]:
    """(diff, lo, hi) of p_b - p_a for paired data: Newcombe (1998a) method 10.

    Counts of the paired 2x2 table: ``both`` (event in A and B), ``only_b``,
    ``only_a``, ``neither``. With no discordant pair, returns (0, 0, 0).
    """
    n = both + only_b + only_a + neither
    d = (only_b - only_a) / n
    if only_a == 0 and only_b == 0:
        return 0.0, 0.0, 0.0
    # Newcombe's notation: p1 = (a + b)/n is B's share, p2 = (a + c)/n is A's
    a, b, c, dd = both, only_b, only_a, neither
    p1, l1, u1 = wilson(a + b, n, z)
    p2, l2, u2 = wilson(a + c, n, z)
    denom = float(a + b) * (c + dd) * (a + c) * (b + dd)
    cross = a * dd - b * c
    if denom == 0:
        phi = 0.0
    elif cross > 0:
        phi = max(cross - n / 2, 0.0) / math.sqrt(denom)
    else:
        phi = cross / math.sqrt(denom)
    dl1, du1, dl2, du2 = p1 - l1, u1 - p1, p2 - l2, u2 - p2
    lo = d - math.sqrt(max(dl1 ** 2 - 2 * phi * dl1 * du2 + du2 ** 2, 0.0))
    hi = d + math.sqrt(max(du1 ** 2 - 2 * phi * du1 * dl2 + dl2 ** 2, 0.0))
    return d, max(-1.0, lo), min(1.0, hi)


def mcnemar(only_a: int, only_b: int) -> tuple[float, str]:
    """(p_value, test name) of McNemar's test on the discordant counts."""
    m = only_a + only_b
    if m == 0:
        return 1.0, "mcnemar_exact"
    if m < EXACT_BELOW:
        return min(1.0, float(stats.binomtest(only_b, m, 0.5).pvalue)), "mcnemar_exact"
    stat = max(abs(only_a - only_b) - 1, 0) ** 2 / m
    return float(stats.chi2.sf(stat, 1)), "mcnemar_chi2_cc"


def _fisher(x_a: int, n_a: int, x_b: int, n_b: int) -> float:
    if x_a == x_b and n_a == n_b:
        return 1.0  # identical rows: the observed table is the mode, p is exactly 1
    res = stats.fisher_exact([[x_b, n_b - x_b], [x_a, n_a - x_a]])
    return min(1.0, float(res.pvalue))


def _strings(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=object, na_value=None)


def _is(values: pd.Series | np.ndarray, name: str) -> np.ndarray:
    arr = values if isinstance(values, np.ndarray) else _strings(values)
    return np.asarray(arr == name, dtype=bool)


def _outcome_rows(a: pd.DataFrame, b: pd.DataFrame, paired: bool,
                  classes: list[str] | None) -> pd.DataFrame:
    if classes is None:
        present = pd.concat([a["outcome_class"], b["outcome_class"]]).dropna().unique()
        classes = sorted(str(c) for c in present)
    # the classes no_talks and talks_failed are the outcomes of the same name
    classes = [c for c in dict.fromkeys(classes) if c not in ("no_talks", "talks_failed")]
    items = [("outcome", o, "outcome") for o in OUTCOMES] + [("class", c, "outcome_class") for c in classes]
    rows = []
    n_a, n_b = len(a), len(b)
    cols = {(t, c): _strings(frame[c]) for t, frame in (("a", a), ("b", b))
            for c in ("outcome", "outcome_class")}
    for kind, name, column in items:
        ea, eb = _is(cols["a", column], name), _is(cols["b", column], name)
        x_a, x_b = int(ea.sum()), int(eb.sum())
        row: dict[str, object] = {"outcome": name, "kind": kind, "p_a": x_a / n_a, "p_b": x_b / n_b}
        if paired:
            both = int((ea & eb).sum())
            only_a, only_b = int((ea & ~eb).sum()), int((eb & ~ea).sum())
            d, lo, hi = newcombe_paired(both, only_b, only_a, n_a - both - only_a - only_b)
            p, test = mcnemar(only_a, only_b)
            row |= {"diff": d, "lo": lo, "hi": hi, "p_value": p, "test": test,
                    "discordant_ab": only_a, "discordant_ba": only_b}
        else:
            d, lo, hi = newcombe_unpaired(x_a, n_a, x_b, n_b)
            row |= {"diff": d, "lo": lo, "hi": hi, "p_value": _fisher(x_a, n_a, x_b, n_b),
                    "test": "fisher_exact", "discordant_ab": None, "discordant_ba": None}
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("discordant_ab", "discordant_ba"):
        out[col] = out[col].astype("Int64")
    out["test"] = out["test"].astype("string")
    return out


# --- timing ------------------------------------------------------------------

def _months(t: pd.DataFrame, column: str) -> np.ndarray:
    if column not in t.columns:
        return np.full(len(t), np.nan)
    return t[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def bootstrap_mean(d: np.ndarray, resamples: int, seed: int) -> tuple[float, float, float]:
    """(lo, hi, p): percentile interval of the mean of ``d`` and a two-sided bootstrap p-value.

    ``scipy.stats.bootstrap`` resamples the replicate pairs. It is given the
    differences B - A rather than both columns with ``paired=True``: resampling
    pairs is resampling their differences, the two draw the same indices and
    give the same interval (to the last bit, checked by the tests), and on the
    2-core development machine the two-column form took 196 ms for 2,000 pairs
    and 2,000 resamples, the differences 98 ms (the hand-written loop this
    replaced: 78 ms). The p-value is read from the bootstrap distribution.
    Data with no spread (every difference the same; or one pair) has no
    resampling to do: its interval is that value.
    """
    if len(d) == 0:
        raise ValueError("no pairs to resample")
    mean = float(d.mean())
    if np.ptp(d) == 0:
        means = np.full(resamples, mean)
    else:
        res = stats.bootstrap((d,), np.mean, vectorized=True, n_resamples=resamples, method="percentile",
                              confidence_level=0.95, batch=max(1, _BOOT_CELLS // len(d)),
                              random_state=np.random.default_rng(seed))
        means = res.bootstrap_distribution
    lo, hi = np.quantile(means, [0.025, 0.975])
    if mean == 0:
        return float(lo), float(hi), 1.0
    other = int((means <= 0).sum()) if mean > 0 else int((means >= 0).sum())
    p = min(1.0, 2 * (other + 1) / (resamples + 1))
    return float(lo), float(hi), p


def _timing_rows(a: pd.DataFrame, b: pd.DataFrame, paired: bool, resamples: int,
                 seed: int) -> pd.DataFrame:
    rows = []
    for column in TIMING:
        ma, mb = _months(a, column), _months(b, column)
        va, vb = ma[~np.isnan(ma)], mb[~np.isnan(mb)]
        row: dict[str, object] = {
            "measure": column, "n_a": len(va), "n_b": len(vb),
            "mean_a": float(va.mean()) if len(va) else math.nan,
            "mean_b": float(vb.mean()) if len(vb) else math.nan,
        }
        nan = math.nan
        if paired:
            both = ~np.isnan(ma) & ~np.isnan(mb)
            d = mb[both] - ma[both]
            row["n_pairs"] = int(both.sum())
            row["pair_mean_a"] = float(ma[both].mean()) if both.any() else nan
            row["pair_mean_b"] = float(mb[both].mean()) if both.any() else nan
            row["covers"] = f"{int(both.sum())} replicates with a value in A and in B"
            diff = float(d.mean()) if len(d) else nan
            if len(d) >= 2 or (len(d) == 1 and diff == 0):
                lo, hi, p = bootstrap_mean(d, resamples, seed)
            else:
                lo = hi = p = nan
            row |= {"diff": diff, "lo": lo, "hi": hi, "p_value": p, "test": "paired_bootstrap"}
        else:
            row["n_pairs"] = None
            row["pair_mean_a"] = row["pair_mean_b"] = nan
            row["covers"] = f"{len(va)} runs of A and {len(vb)} of B with a value"
            diff = float(vb.mean() - va.mean()) if len(va) and len(vb) else nan
            lo = hi = p = nan
            if len(va) >= 2 and len(vb) >= 2:
                if va.var() + vb.var() > 0:
                    res = stats.ttest_ind(vb, va, equal_var=False)
                    ci = res.confidence_interval(0.95)
                    lo, hi, p = float(ci.low), float(ci.high), float(res.pvalue)
                elif diff == 0:
                    lo = hi = 0.0
                if diff == 0:
                    p = 1.0  # t = 0 exactly
            row |= {"diff": diff, "lo": lo, "hi": hi, "p_value": p, "test": "welch_t"}
        rows.append(row)
    out = pd.DataFrame(rows)
    out["n_pairs"] = out["n_pairs"].astype("Int64")
    out["test"] = out["test"].astype("string")
    out["covers"] = out["covers"].astype("string")
    return out


# --- terms -------------------------------------------------------------------

def _term_rows(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    columns = list(dict.fromkeys(c for t in (a, b) for c in t.columns if c.startswith("term_")))
    agreed_a, agreed_b = _is(a["outcome"], "agreement"), _is(b["outcome"], "agreement")
    rows = []
    for col in columns:
        ca = Counter(_strings(a[col])[agreed_a]) if col in a.columns else Counter()
        cb = Counter(_strings(b[col])[agreed_b]) if col in b.columns else Counter()
        ca.pop(None, None)
        cb.pop(None, None)
        tot_a, tot_b = ca.total(), cb.total()
        for option in sorted(set(ca) | set(cb)):
            k_a, k_b = ca[option], cb[option]
            s_a = k_a / tot_a if tot_a else math.nan
            s_b = k_b / tot_b if tot_b else math.nan
            rows.append({"issue": col.removeprefix("term_"), "option": str(option), "n_a": k_a,
                         "n_b": k_b, "share_a": s_a, "share_b": s_b, "diff": s_b - s_a})
    out = pd.DataFrame(rows, columns=["issue", "option", "n_a", "n_b", "share_a", "share_b", "diff"])
    if len(out):
        out = out[(out["share_a"] > 0) | (out["share_b"] > 0)]
        order = out["diff"].abs().fillna(-1.0)
        out = out.assign(_key=-order).sort_values(["_key", "issue", "option"], kind="stable")
        out = out.drop(columns="_key").reset_index(drop=True)
    return out


# --- entry point ---------------------------------------------------------------

def compare_tables(a: pd.DataFrame, b: pd.DataFrame, *, paired: bool = True,
                   classes: list[str] | None = None, bootstrap: int = 2000,
                   seed: int = 0) -> Comparison:
    """Compare the results tables of batches A and B (differences are B - A).

    ``paired=True`` pairs runs by ``replicate`` (common random numbers): the
    two tables must hold the same replicates, else :class:`UsageError`
    (the tables do not record their seeds: check those with
    :func:`check_pairable` before). ``classes``: the outcome classes to
    compare (default: every class seen in A or B); the classes ``no_talks``
    and ``talks_failed`` are the outcomes of that name and are not repeated.
    ``bootstrap``: resamples of the paired bootstrap of the timing, drawn
    from ``np.random.default_rng(seed)``. See the module docstring for the
    methods.
    """
    for name, t in (("A", a), ("B", b)):
        missing = [c for c in REQUIRED if c not in t.columns]
        if missing:
            raise UsageError(f"table {name} lacks column(s): {', '.join(missing)}")
        if len(t) == 0:
            raise UsageError(f"table {name} has no runs")
    if bootstrap < 1:
        raise UsageError(f"bootstrap must be a positive number of resamples, not {bootstrap}")
    if paired:
        problem = check_pairable(a, b, None, None)
        if problem is not None:
            raise UsageError(f"cannot pair the runs of A and B by replicate: {problem} "
                             "(compare them unpaired, or rerun with the same runs and seed)")
        a, b = (t if t["replicate"].is_monotonic_increasing else
                t.sort_values("replicate", kind="stable") for t in (a, b))
    same_size = len(a) == len(b)
    return Comparison(
        outcomes=_outcome_rows(a, b, paired, classes),
        timing=_timing_rows(a, b, paired, bootstrap, seed),
        terms=_term_rows(a, b),
        n=len(a) if same_size else None,
        paired=paired,
        n_a=len(a),
        n_b=len(b),
    )
