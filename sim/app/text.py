"""The app's words in French and English, from the project's one translation table
(:data:`sim.outputs.i18n.LABELS`, keys ``app.*``), beside the KPI labels, chart titles, node
names, numbers and dates the outputs already give."""

from __future__ import annotations

from typing import Any

from sim.outputs.i18n import LABELS, Lang


def tr(key: str, lang: Lang, **values: Any) -> str:
    """The app text ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = LABELS[f"app.{key}"][lang]
    return text.format(**values) if values else text
