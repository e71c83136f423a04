"""parcours: a discrete-event simulator of the Paris crack-users care pathway.

The Python API is the one the command line uses::

    import sim
    scenario = sim.load_scenario("scenarios/etape2-610.yaml")
    result = sim.run(scenario, replications=10, seed=1)
    result.summary

``sim.compare``, ``sim.sweep``, ``sim.calibrate`` and ``sim.plot`` are the analyses behind
``parcours compare``, ``sweep``, ``calibrate`` and ``plot``; ``sim.run_calibration`` and
``sim.run_sensitivity`` write a calibration or sensitivity folder as the commands do.

Calibration is ABC-SMC (pyabc): ``sim.calibrate(scenario, folder, seed, population,
generations, replications, resume=, workers=, executor=, progress=)`` runs it with the
scenario's ``calibration:`` block as default effort, keeping its resumable history in
``folder/history.db``, and returns an ``AbcResult`` (the weighted posterior; epsilon,
acceptance rate and effective sample size per generation). ``sim.run_calibration`` takes the
same arguments and ``force=``, and also writes the calibration folder (posterior draws,
intervals, correlations, posterior predictive check, charts, report), returning the result
and the predictive check::

    result, check = sim.run_calibration(history, "results/quick", population=50, generations=2)
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sim.analysis.calibrate import calibrate
from sim.analysis.compare import Comparison, compare, load_compare
from sim.analysis.sensitivity import SensitivitySpec
from sim.analysis.sweep import SweepData, load_points, load_sweep, sweep
from sim.engine.model import run_once
from sim.inputs.loading import ScenarioError, load_scenario
from sim.inputs.scenario import Scenario
from sim.outputs.abc_output import run_calibration
from sim.outputs.sensitivity_output import run_sensitivity
from sim.running.results import load_run, write_run
from sim.running.runner import RunResult, run


def plot(folder: str | Path | RunResult | Comparison, **options: Any) -> list[Path]:
    """Charts of a run, compare or calibration folder, or of a ``RunResult`` or
    ``Comparison`` in memory (then ``out=`` says where): see
    :func:`sim.outputs.plots.plot_folder`.

    >>> sim.plot("results/etape2-compare", lang="fr")  # doctest: +SKIP
    >>> sim.plot(sim.run(scenario, 5), out="charts", metrics=["street"])  # doctest: +SKIP
    """
    from sim.outputs.plots import plot_folder  # matplotlib loads only when charts are drawn

    return plot_folder(folder, **options)


try:
    __version__ = version("parcours")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Comparison",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SensitivitySpec",
    "SweepData",
    "__version__",
    "calibrate",
    "compare",
    "load_compare",
    "load_points",
    "load_run",
    "load_scenario",
    "load_sweep",
    "plot",
    "run",
    "run_calibration",
    "run_once",
    "run_sensitivity",
    "sweep",
    "write_run",
]
