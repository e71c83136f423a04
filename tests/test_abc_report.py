"""The ABC report's verdict on the final generation's weights."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.outputs.abc_output import weights_verdict


@pytest.mark.parametrize(
    ("ess", "warning"),
    [(300.0, None), (26.5, "effective sample size is low"), (1.6, "weights are degenerate")],
)
def test_the_verdict_grades_the_effective_sample_size(ess: float, warning: str | None) -> None:
    generations = pd.DataFrame({"ess": [500.0, ess], "accepted": [500, 500]})
    text = weights_verdict(generations, 0.85)
    assert f"effective sample size {ess:.1f} of 500 particles" in text
    assert "largest weight is 85%" in text
    french = weights_verdict(generations, 0.85, "fr")
    assert f"taille d'échantillon effective {ess:.1f} sur 500".replace(".", ",") in french
    for phrase in ("effective sample size is low", "weights are degenerate"):
        assert (phrase in text) == (phrase == warning), (phrase, text)


def test_the_scenarios_draw_the_shipped_posterior_only_if_its_weights_hold() -> None:
    """The history names the committed ABC-SMC posterior as its default draws: the same file
    as the committed run's, from a last generation whose weights are not degenerate."""
    from pathlib import Path

    from sim.inputs.loading import load_scenario
    from sim.outputs.abc_output import DEGENERATE_ESS

    root = Path(__file__).resolve().parent.parent
    history = load_scenario(root / "scenarios" / "history-2019-2023.yaml")
    assert history.calibration is not None
    assert history.calibration.posterior == "history-2019-2023-posterior.parquet"
    shipped = (root / "scenarios" / history.calibration.posterior).read_bytes()
    assert shipped == (root / "docs" / "calibration" / "posterior.parquet").read_bytes()
    # its intervals, for the reports' "not identified" verdict (sim.outputs.caveats)
    intervals = (root / "scenarios" / "history-2019-2023-intervals.csv").read_bytes()
    assert intervals == (root / "docs" / "calibration" / "intervals.csv").read_bytes()
    generations = pd.read_csv(root / "docs" / "calibration" / "generations.csv")
    assert float(generations["ess"].iloc[-1]) >= DEGENERATE_ESS
    assert int(generations["accepted"].iloc[-1]) >= 500
