"""The app's own words in French and English. Everything the outputs already say (KPI labels,
chart titles, node names, numbers and dates) comes from :mod:`sim.outputs.i18n`; this table
holds only the words of the forms and buttons, in the same shape."""

from __future__ import annotations

from typing import Any

from sim.outputs.i18n import Lang

TEXT: dict[str, dict[Lang, str]] = {
    "app_title": {"fr": "parcours : atelier de scénarios", "en": "parcours: scenario workbench"},
    "scenarios": {"fr": "Scénarios", "en": "Scenarios"},
    "results": {"fr": "Résultats", "en": "Results"},
    "open": {"fr": "Ouvrir", "en": "Open"},
    "file": {"fr": "Fichier", "en": "File"},
    "title": {"fr": "Titre", "en": "Title"},
    "question": {"fr": "Question", "en": "Question"},
    "network": {"fr": "Réseau", "en": "Network"},
    "capacities": {"fr": "Capacités au fil du temps", "en": "Capacities over time"},
    "places": {"fr": "places", "en": "places"},
    "per_month": {"fr": " (libérations par mois)", "en": " (releases per month)"},
    "edit": {"fr": "Modifier", "en": "Edit"},
    "window": {"fr": "Fenêtre de la question", "en": "The question's window"},
    "end": {"fr": "Fin (exclue)", "en": "End (excluded)"},
    "warmup": {"fr": "Début des indicateurs", "en": "KPIs from"},
    "window_from": {"fr": "Période de la question : du", "en": "Question's period: from"},
    "window_to": {"fr": "au", "en": "to"},
    "date": {"fr": "À partir du", "en": "From"},
    "value": {"fr": "Valeur", "en": "Value"},
    "add_step": {"fr": "+ étape", "en": "+ step"},
    "remove_step": {"fr": "− dernière étape", "en": "− last step"},
    "capacity": {"fr": "Places", "en": "Places"},
    "places_field": {"fr": "Places", "en": "Places"},
    "releases_per_month": {"fr": "Places libérées par mois", "en": "Places freed per month"},
    "arrivals_per_year": {"fr": "Arrivées par an", "en": "Arrivals per year"},
    "contacts_per_week": {"fr": "Contacts par semaine", "en": "Contacts per week"},
    "referral_probability": {"fr": "Probabilité d'orientation", "en": "Referral probability"},
    "referral_probability_per_visit": {
        "fr": "Probabilité d'orientation par visite",
        "en": "Referral probability per visit",
    },
    "routing": {"fr": "Orientations (parts)", "en": "Routing shares"},
    "cost_per_place_day": {"fr": "Coût par place et par jour (€)", "en": "Cost per place-day (€)"},
    "cost_per_year": {"fr": "Coût par an (€)", "en": "Cost per year (€)"},
    "save_as": {"fr": "Enregistrer sous", "en": "Save as"},
    "new_name": {"fr": "Nom du nouveau fichier", "en": "New file name"},
    "saved": {"fr": "Enregistré : {file}", "en": "Saved: {file}"},
    "changes": {"fr": "Ce qui change", "en": "What changes"},
    "problems": {"fr": "À corriger", "en": "To fix"},
    "no_changes": {"fr": "Aucune modification", "en": "No changes"},
    "run": {"fr": "Simuler et comparer", "en": "Run and compare"},
    "pick": {"fr": "Scénarios à simuler", "en": "Scenarios to run"},
    "reference": {"fr": "Référence", "en": "Reference"},
    "replications": {"fr": "Réplications", "en": "Replications"},
    "posterior": {"fr": "Tirages de paramètres (postérieure)", "en": "Parameter draws (posterior)"},
    "none": {"fr": "aucun", "en": "none"},
    "draws": {"fr": "Nombre de tirages", "en": "Draws"},
    "start": {"fr": "Lancer", "en": "Start"},
    "cancel": {"fr": "Annuler", "en": "Cancel"},
    "running": {
        "fr": "En cours : {done} / {total} réplications",
        "en": "Running: {done} / {total} replications",
    },
    "done": {"fr": "Terminé : {folder}", "en": "Done: {folder}"},
    "cancelled": {"fr": "Annulé : rien n'a été écrit", "en": "Cancelled: nothing was written"},
    "failed": {"fr": "Échec", "en": "Failed"},
    "kpi": {"fr": "Indicateur", "en": "KPI"},
    "table": {
        "fr": "Comparaison (écarts appariés, IC 95 %)",
        "en": "Comparison (paired differences, 95% CI)",
    },
    "table_note": {
        "fr": "Δ : écart apparié à la référence ± IC 95 % ; * : l'intervalle exclut zéro.",
        "en": "Δ: paired difference to the reference ± 95% CI; *: the interval excludes zero.",
    },
    "differences_chart": {"fr": "Écarts à la référence", "en": "Differences to the reference"},
    "percent_of_reference": {"fr": "% de la valeur de référence", "en": "% of the reference value"},
    "series": {"fr": "Série", "en": "Series"},
    "window_table": {"fr": "Moyennes sur la fenêtre choisie", "en": "Means over the chosen window"},
    "from": {"fr": "Du", "en": "From"},
    "to": {"fr": "Au", "en": "To"},
    "downloads": {"fr": "Téléchargements", "en": "Downloads"},
    "report": {"fr": "Rapport HTML", "en": "HTML report"},
    "chart_png": {"fr": "Graphique PNG", "en": "Chart PNG"},
    "chart_svg": {"fr": "Graphique SVG", "en": "Chart SVG"},
    "open_folder": {"fr": "Ouvrir le dossier", "en": "Open folder"},
    "kind": {"fr": "Type", "en": "Kind"},
    "folder": {"fr": "Dossier", "en": "Folder"},
    "refresh": {"fr": "Actualiser", "en": "Refresh"},
    "invalid_file": {"fr": "Fichier invalide", "en": "Invalid file"},
    "need_two": {"fr": "Choisissez au moins un scénario", "en": "Pick at least one scenario"},
}


def tr(key: str, lang: Lang, **values: Any) -> str:
    """The app text ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = TEXT[key][lang]
    return text.format(**values) if values else text
