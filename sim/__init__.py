"""parcours: a discrete-event simulator of the Paris crack-users care pathway.

The Python API is the one the command line uses::

    import sim
    scenario = sim.load_scenario("scenarios/etape2-610.yaml")
    result = sim.run(scenario, replications=10, seed=1)
    result.summary
"""

from importlib.metadata import PackageNotFoundError, version

from sim.loading import ScenarioError, load_scenario
from sim.model import run_once
from sim.results import load_run, write_run
from sim.runner import RunResult, run
from sim.scenario import Scenario

try:
    __version__ = version("parcours")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_run",
    "load_scenario",
    "run",
    "run_once",
    "write_run",
]
