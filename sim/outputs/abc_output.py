"""The calibration folder (ABC-SMC): history, posterior, diagnostics, checks, charts, report.

Files: ``history.db`` (pyabc's SQLite history, resumable), ``posterior.parquet`` (equally
weighted draws for ``--parameters``), ``generations.csv`` (epsilon, proposals, acceptance rate,
effective sample size), ``intervals.csv`` (prior bounds and posterior 5/50/95% per parameter),
``correlations.csv``, ``predictive.csv`` (posterior predictive against every fit and held-out
figure), ``charts/`` and ``report.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis.abc_smc import (
    HISTORY,
    AbcResult,
    correlations,
    intervals,
    population_sizes,
    predictive,
    save_posterior,
)
from sim.analysis.calibrate import calibrate
from sim.inputs.scenario import Scenario
from sim.running.executors import Executor, make_executor
from sim.running.folders import OutputExistsError, folder_lock

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PREDICTIVE_DRAWS = 50
"""Posterior draws (one replication each) for the predictive check."""


def run_calibration(
    scenario: Scenario,
    out: Path | str,
    seed: int = 1,
    population: int | None = None,
    generations: int | None = None,
    replications: int | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[AbcResult, pd.DataFrame]:
    """Calibrate ``scenario`` by ABC-SMC into the folder ``out`` (:func:`~sim.analysis.calibrate.
    calibrate`: the effort options default to its calibration block) and write every output;
    return the result and the posterior predictive check (one row per targeted figure).

    An existing folder is continued with ``resume`` (from its ``history.db``) or started
    again with ``force``; a folder being written by another process is refused at once."""
    out = Path(out)
    with folder_lock(out):
        if out.exists() and any(out.iterdir()) and not (resume or force):
            raise OutputExistsError(f"{out} exists: continue with --resume or replace with --force")
        if force and not resume and (out / HISTORY).exists():
            (out / HISTORY).unlink()
        owned = executor is None
        executor = executor or make_executor(workers)
        try:
            started = time.perf_counter()
            result = calibrate(
                scenario, out, seed, population, generations, replications,
                resume=resume, executor=executor, progress=progress,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            check = predictive(result, PREDICTIVE_DRAWS, executor)
        finally:
            if owned:
                executor.close()
        _write_outputs(result, check, out, seconds)
    return result, check


def _write_outputs(result: AbcResult, check: pd.DataFrame, out: Path, seconds: float) -> None:
    save_posterior(result, out / "posterior.parquet", max(result.settings.population, 500))
    result.generations.to_csv(out / "generations.csv", index=False)
    table = intervals(result)
    table.to_csv(out / "intervals.csv", index=False)
    corr = correlations(result)
    corr.to_csv(out / "correlations.csv")
    check.to_csv(out / "predictive.csv", index=False)
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    _parameters_chart(result, charts / "parameters.png")
    _correlations_chart(corr, charts / "correlations.png")
    _predictive_chart(check, charts / "predictive.png")
    (out / "report.md").write_text(
        report_markdown(result, table, corr, check, seconds), encoding="utf-8"
    )


def _parameters_chart(result: AbcResult, path: Path) -> None:
    spec = result.scenario.calibration
    assert spec is not None
    names = list(spec.parameters)
    cols = 4
    rows = -(-len(names) // cols)
    fig = _figure((3.2 * cols, 2.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    w = result.posterior["weight"].to_numpy()
    for ax, name in zip(axes.flat, names, strict=False):
        p = spec.parameters[name]
        log = p.prior == "loguniform"
        bins = np.geomspace(p.lower, p.upper, 25) if log else np.linspace(p.lower, p.upper, 25)
        ax.hist(result.posterior[name], bins=bins, weights=w, density=True, label="posterior")
        prior = 1.0 / (np.log(p.upper / p.lower) * bins) if log else None
        if prior is not None:
            ax.plot(bins, prior, color="grey", label="prior")
        else:
            ax.axhline(1.0 / (p.upper - p.lower), color="grey", label="prior")
        if log:
            ax.set_xscale("log")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Prior (grey) and posterior (bars) of each parameter")
    fig.savefig(path, dpi=110)


def _correlations_chart(corr: pd.DataFrame, path: Path) -> None:
    fig = _figure((7, 6))
    ax = fig.subplots()
    image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(corr)), corr.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(corr)), corr.index, fontsize=7)
    fig.colorbar(image, ax=ax, label="posterior correlation")
    fig.savefig(path, dpi=110)


def _predictive_chart(check: pd.DataFrame, path: Path) -> None:
    fig = _figure((8, 0.4 * len(check) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(check))[::-1]
    scale = check["tolerance"].to_numpy()
    lo = (check["q05"] - check["target"]).to_numpy() / scale
    hi = (check["q95"] - check["target"]).to_numpy() / scale
    mid = (check["mean"] - check["target"]).to_numpy() / scale
    colours = ["tab:blue" if r == "fit" else "tab:orange" for r in check["role"]]
    ax.hlines(y, lo, hi, colors=colours, lw=3)
    ax.scatter(mid, y, color="black", zorder=3, s=12)
    ax.axvspan(-1, 1, color="green", alpha=0.1)
    ax.axvline(0, color="green")
    ax.set_yticks(
        y,
        [f"{lab[:60]} ({role})" for lab, role in zip(check["label"], check["role"], strict=True)],
        fontsize=7,
    )
    ax.set_xlabel("(simulated - target) / tolerance: 90% predictive interval, mean (dot)")
    ax.set_title("Posterior predictive against fitted (blue) and held-out (orange) figures")
    fig.savefig(path, dpi=110)


def _figure(size: tuple[float, float]) -> Figure:
    """A figure on its own canvas (no pyplot: nothing global, no backend chosen); matplotlib
    loads only when a calibration writes its charts."""
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="tight")


def _md(frame: pd.DataFrame) -> list[str]:
    cols = list(frame.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        out.append("| " + " | ".join(cells) + " |")
    return out


def interval_widths(result: AbcResult, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (from :func:`~sim.analysis.abc_smc.intervals`) with the posterior 90% interval
    over the prior range, linear and, for log-uniform priors, on the log scale."""
    spec = result.scenario.calibration
    assert spec is not None
    linear = (table["q95"] - table["q05"]) / (table["prior_upper"] - table["prior_lower"])
    logged = []
    for name, q05, q95, low, high in zip(
        table["parameter"], table["q05"], table["q95"], table["prior_lower"],
        table["prior_upper"], strict=True,
    ):  # fmt: skip
        if spec.parameters[str(name)].prior != "loguniform":  # bounds may be 0
            logged.append(math.nan)
            continue
        logged.append(math.log(float(q95) / float(q05)) / math.log(float(high) / float(low)))
    return table.assign(width_ratio=linear, log_width_ratio=logged)


LOW_ESS_SHARE = 0.1
"""An effective sample size below this share of the particles: the posterior is approximate."""
DEGENERATE_ESS = 10.0
"""An effective sample size below this many particles: the weights are degenerate."""


def _weights_verdict(result: AbcResult) -> list[str]:
    """The final generation's effective sample size, and a warning when it is low (the
    intervals are approximate) or degenerate (the posterior rests on a few particles)."""
    last = result.generations.iloc[-1]
    ess, n = float(last["ess"]), int(last["accepted"])
    text = (
        f"Final generation: effective sample size {ess:.1f} of {n} particles; the largest "
        f"weight is {float(result.posterior['weight'].max()):.0%} of the total."
    )
    if ess < DEGENERATE_ESS:
        text += (
            " **The weights are degenerate**: the posterior rests on a few particles, so its "
            "intervals and correlations understate the uncertainty; do not draw it as a "
            "posterior for decisions."
        )
    elif ess < LOW_ESS_SHARE * n:
        text += (
            f" **The effective sample size is low** (under {LOW_ESS_SHARE:.0%} of the "
            f"particles): the posterior's intervals, correlations and draws rest on about "
            f"{ess:.0f} independent particles' worth of information, so they are approximate and "
            "their tails understated."
        )
    return [text]


def _verdict(check: pd.DataFrame) -> list[str]:
    """How many figures are met, and how far off the others are (in % of their target)."""
    lines = []
    for role, what in (("fit", "Fitted"), ("validate", "Held-out")):
        rows = check[check["role"] == role]
        if rows.empty:
            continue
        lines.append(
            f"- {what} figures within tolerance at the predictive mean: "
            f"{int(rows['met'].sum())} of {len(rows)}."
        )
        missed = rows[~rows["met"].astype(bool)]
        for name, mean, target, tol in zip(
            missed["observation"], missed["mean"], missed["target"], missed["tolerance"],
            strict=True,
        ):  # fmt: skip
            m, t = float(mean), float(target)
            off = (m / t - 1.0) * 100.0 if t else math.nan
            lines.append(f"  - {name}: {m:.4g} against {t:.4g} ± {float(tol):.4g} ({off:+.0f}%)")
    return lines


def report_markdown(
    result: AbcResult,
    table: pd.DataFrame,
    corr: pd.DataFrame,
    check: pd.DataFrame,
    seconds: float,
) -> str:
    """The calibration's report: settings, generations, intervals, correlations, checks."""
    from sim.analysis.abc_proposal import (
        DEGREES_OF_FREEDOM,
        FIT_ESS_SHARE,
        PRIOR_SHARE,
        SCALING,
    )

    s = result.settings
    width = interval_widths(result, table)
    pairs = [
        (a, b, float(corr.loc[a, b]))
        for i, a in enumerate(corr.index)
        for b in corr.columns[i + 1 :]
        if abs(float(corr.loc[a, b])) >= 0.4
    ]
    lines = [
        f"# ABC-SMC calibration of {result.scenario.name}",
        "",
        f"pyabc ABC-SMC, seed {s.seed}: {s.generations} generations at most, of "
        f"{', '.join(str(n) for n in population_sizes(s))} particles, "
        f"{s.replications} replication(s) per particle; "
        f"{float(result.generations['seconds'].sum()) / 60:.1f} min of sampling in all "
        f"generations (this command: {seconds / 60:.1f} min). "
        "Parameters are sampled as the logit of their place in the prior range (log scale "
        "for log-uniform priors); each generation proposes from a multivariate Student-t "
        f"({DEGREES_OF_FREEDOM:g} degrees of freedom) fitted to the particles of the previous "
        f"one (their weights tempered to keep an effective sample size of {FIT_ESS_SHARE:.0%} "
        f"of them, the covariance scaled by {SCALING:g}), mixed with {PRIOR_SHARE:.0%} of "
        "draws from the prior."
        + (
            " A particle is rejected as soon as the fit figures whose windows have closed "
            "miss by more than the threshold (the accepted particles are the same)."
            if s.early_rejection
            else ""
        )
        + (
            f" The run stops once the threshold is at or below {s.minimum_epsilon:g}."
            if s.minimum_epsilon > 0
            else ""
        ),
        "The distance is the Euclidean norm of (simulated - target) / tolerance over the fit "
        "figures; held-out figures never enter it.",
        "",
        "## Generations",
        "",
        *_md(result.generations),
        "",
        *_weights_verdict(result),
        "",
        "## Parameters: prior and posterior (5%, 50%, 95%)",
        "",
        "width_ratio: the posterior 90% interval over the prior range; log_width_ratio: the "
        "same on the log scale, for log-uniform priors (the scale they are sampled on).",
        "",
        *_md(width),
        "",
        "## Posterior correlations of 0.4 or more",
        "",
        *([f"- {a} / {b}: {r:+.2f}" for a, b, r in pairs] or ["- none"]),
        "",
        "## Posterior predictive against every figure",
        "",
        f"{PREDICTIVE_DRAWS} posterior draws, one replication each; met: the mean within "
        "tolerance.",
        "",
        *_md(check[["label", "role", "target", "tolerance", "mean", "q05", "q95", "met"]]),
        "",
        *_verdict(check),
        "",
        "Charts: charts/parameters.png, charts/correlations.png, charts/predictive.png.",
        "",
    ]
    return "\n".join(lines)
