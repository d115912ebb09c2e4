"""`negsim calibrate`: fit a scenario's uncertain parameters to records (targets files) with ABC-SMC."""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.table import Table

from sim.cli.output import emit_json, stdout_console
from sim.cli.run import _progress, _show

POSTERIOR_DRAWS = 1000


@contextmanager
def _executor(args: argparse.Namespace):
    """The executor of every particle's batch: one pool for the whole calibration (not one per particle)."""
    from sim.runs.executors import local_pool, open_executor

    backend = "dask" if args.scheduler else (args.backend or "local")
    if backend == "local" and args.workers > 1:
        pool = local_pool(args.workers)
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)
        return
    with open_executor(backend, args.workers, args.scheduler) as ex:
        yield ex


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.analysis.calibrate import (
        Settings,
        calibrate,
        check_params,
        read_settings,
        write_settings,
    )
    from sim.runs.batch import new_run_dir
    from sim.scenario.loading import load_scenario
    from sim.scenario.targets import check_against, prior_bounds, read_targets

    if args.resume:
        run_dir = Path(args.resume)
        s, _ = read_settings(run_dir)
    else:
        s = Settings(args.file, list(args.targets or []), [], args.seed, args.budget, args.runs_per_particle,
                     args.population, ppc_runs=args.ppc_runs)
        if not s.targets:
            from sim.errors import UsageError

            raise UsageError("calibrate needs --targets FILE (a record, scenarios/targets/*.yaml)")
    sc = load_scenario(s.scenario)
    records = [read_targets(t) for t in s.targets]
    for r in records:
        check_against(r, sc.model.start, sc.model.horizon_months)
    bounds = prior_bounds(records, sc)  # a FILE:LINE error before any run when a prior entry does not fit
    if not any(r.items() for r in records):
        from sim.errors import UsageError

        raise UsageError(f"{', '.join(s.targets)}: no event targets (only prior entries); calibration needs events "
                         "to score each particle: add a record with `targets:`")
    if not args.resume:
        s.params = check_params(sc, args.params)
        run_dir = new_run_dir(args.out, f"calibrate-{sc.name}")
        write_settings(run_dir, s, {"status": "running"})
    with _executor(args) as executor, _progress(_show(args), f"calibrating {sc.name}") as progress:
        post = calibrate(sc, records, s, run_dir, workers=args.workers, executor=executor, progress=progress,
                         resume=bool(args.resume))
    result = _write_outputs(sc, records, s, post, run_dir, bounds)
    if args.json:
        emit_json(result)
        return 0
    _print(stdout_console(args), result)
    return 0


def _write_outputs(sc: Any, records: list, s: Any, post: Any, run_dir: Path, bounds: dict) -> dict:
    """posterior.parquet, calibrated.yaml, posterior.png, the predictive check; calibration.json updated."""
    import yaml

    from sim.analysis.calibrate import calibrated_data, priors, write_settings
    from sim.present.plots import posterior_figure

    post.samples.attrs["seed"] = s.seed
    post.samples.to_parquet(run_dir / "posterior.parquet")
    draws = post.resample(POSTERIOR_DRAWS, s.seed)
    data = calibrated_data(sc, post, draws, [r.name for r in records])
    (run_dir / "calibrated.yaml").write_text(yaml.safe_dump(data, sort_keys=False, width=100))
    prior = priors(sc, post.params, bounds)
    posterior_figure(post.samples, post.params, prior, run_dir / "posterior.png")
    ppc, outcomes = _predictive(sc, records, s, data, prior, run_dir)
    ppc["priors"] = _prior_entries(bounds, post.params)
    out = {"run_dir": str(run_dir), "scenario": sc.name, "records": [r.name for r in records], "seed": s.seed,
           "generations": post.generations, "temperature": post.temperature, "exact": post.exact,
           "runs": post.runs, "seconds": round(post.seconds, 1), "params": _params(post, prior), "ppc": ppc,
           "outcomes": outcomes}
    (run_dir / "ppc.json").write_text(json.dumps(out["ppc"], indent=2) + "\n")
    write_settings(run_dir, s, {"status": "done"} | {k: out[k] for k in ("generations", "temperature", "exact",
                                                                         "runs", "seconds", "params")})
    return out


def _predictive(sc: Any, records: list, s: Any, data: dict, prior: dict, run_dir: Path) -> tuple[dict, dict]:
    """The posterior predictive check: each event target's share under the prior and the calibrated scenario
    (the prior truncated by the records' prior entries, when they cut it)."""
    from sim.analysis.calibrate import predictive, truncated_prior_data
    from sim.runs.batch import run_batch
    from sim.scenario.models import scenario_from_data

    calibrated = scenario_from_data(data, run_dir / "calibrated.yaml", "")
    cut = truncated_prior_data(sc, prior, s.seed)
    prior_sc = sc if cut is None else scenario_from_data(cut, Path(sc.path), "")
    prior_runs = run_batch(prior_sc, runs=s.ppc_runs, seed=s.seed, out=None, workers=1).runs
    post_runs = run_batch(calibrated, runs=s.ppc_runs, seed=s.seed, out=None, workers=1).runs
    checks, joint_prior, joint_post = predictive(prior_runs, post_runs, records, sc.model.start)
    ppc = {"runs": s.ppc_runs, "joint_prior": joint_prior, "joint_posterior": joint_post,
           "prior_truncated": cut is not None, "targets": [c.__dict__ for c in checks]}
    return ppc, {"prior": _outcomes(prior_runs), "posterior": _outcomes(post_runs)}


def _params(post: Any, prior: dict) -> list[dict]:
    from sim.analysis.calibrate import prior_interval

    params = []
    for p in post.params:
        lo, mid, hi = post.interval(p)
        plo, pmid, phi = prior_interval(prior[p])
        params.append({"param": p, "posterior_90": [lo, mid, hi], "prior_90": [plo, pmid, phi],
                       "width_ratio": (hi - lo) / (phi - plo) if phi > plo else None})
    return params


def _prior_entries(bounds: dict, params: list[str]) -> list[dict]:
    """The records' prior entries, as such: not scored; each says what it did to its parameter."""
    out = []
    for b in bounds.values():
        if b.fixed is not None:
            use = "checked: the scenario fixes it within the interval"
        elif b.param in params:
            use = ("truncated the prior" if b.kept < 1 else "no cut: the prior lies within the interval")
        else:
            use = "not calibrated (not among --params): its prior is left as it is"
        out.append({"kind": "prior", "param": b.param, "between": [b.low, b.high], "fixed": b.fixed,
                    "prior_kept": b.kept, "use": use, "entries": [f"{r}:{e}" for r, e, _ in b.entries],
                    "labels": [lab for _, _, lab in b.entries]})
    return out


def _outcomes(runs: Any) -> dict[str, float]:
    return {k: float(v) for k, v in runs["outcome"].value_counts(normalize=True).sort_index().items()}


def _print(out: Any, r: dict) -> None:
    exact = "exact (temperature 1)" if r["exact"] else (f"TEMPERED (temperature {r['temperature']:.2f} > 1: wider "
                                                        "than the posterior; raise --budget)")
    out.print(f"Calibrated {r['scenario']} to {', '.join(r['records'])}: {r['generations']} generation(s), "
              f"{r['runs']:,} runs, {r['seconds']:.0f} s; {exact}. Run directory: {r['run_dir']}", markup=False)
    t = Table(title="Parameters: 90% intervals (median)", title_justify="left")
    for col in ("parameter", "prior", "posterior", "width vs prior"):
        t.add_column(col)
    for p in r["params"]:
        lo, mid, hi = p["posterior_90"]
        plo, pmid, phi = p["prior_90"]
        ratio = "" if p["width_ratio"] is None else f"{p['width_ratio']:.2f}"
        t.add_row(p["param"], f"{plo:.3g} to {phi:.3g} ({pmid:.3g})", f"{lo:.3g} to {hi:.3g} ({mid:.3g})", ratio)
    out.print(t)
    ppc = r["ppc"]
    t = Table(title=f"Posterior predictive check ({ppc['runs']:,} runs each)", title_justify="left")
    for col in ("target", "prior P", "posterior P (95%)", "hit"):
        t.add_column(col)
    for c in ppc["targets"]:
        t.add_row(c["label"], f"{100 * c['prior']:.1f}%", f"{100 * c['p']:.1f}% ({100 * c['low']:.1f}-"
                  f"{100 * c['high']:.1f})", "hit" if c["hit"] else "MISS")
    out.print(t)
    _print_priors(out, ppc["priors"])
    out.print(f"The whole record as a path: {100 * ppc['joint_prior']:.1f}% of runs under the prior, "
              f"{100 * ppc['joint_posterior']:.1f}% under the posterior. A target is a hit when what was observed "
              "lies in the 90% predictive interval (P(observed) >= 5%).", markup=False)


def _print_priors(out: Any, entries: list[dict]) -> None:
    if not entries:
        return
    t = Table(title="Prior entries (figures before the start: they bound the prior; not scored)",
              title_justify="left")
    for col in ("entry", "parameter", "interval", "scenario", "use"):
        t.add_column(col)
    for e in entries:
        held = f"fixed at {e['fixed']:.4g}" if e["fixed"] is not None else f"prior {100 * e['prior_kept']:.0f}% within"
        t.add_row(", ".join(e["labels"]), e["param"], f"{e['between'][0]:.4g} to {e['between'][1]:.4g}", held,
                  e["use"])
    out.print(t)
