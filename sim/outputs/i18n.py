"""Every label shown on a chart or in a report, in French and English, and dates.

One table (:data:`LABELS`) holds the words; node display names come from the scenario. Numbers
are written by :mod:`sim.outputs.formats`. Dates are formatted from the month tables below,
never from the system locale, so output does not depend on the machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from sim.outputs.formats import NNBSP, number
from sim.outputs.formats import Lang as Lang  # the languages, named where the words are
from sim.running import catalogue

LANGS: tuple[Lang, ...] = get_args(Lang)

LABELS: dict[str, dict[Lang, str]] = {
    # --- charts: titles ---------------------------------------------------------------------
    "chart.street": {"fr": "Personnes à la rue", "en": "People on the street"},
    "chart.waiting": {"fr": "Liste d'attente : {node}", "en": "Waiting list: {node}"},
    "chart.occupancy": {
        "fr": "Occupation et capacité : {node}",
        "en": "Occupancy and capacity: {node}",
    },
    "chart.blocked": {
        "fr": "Prêts à partir, bloqués faute de place d'aval : {node}",
        "en": "Ready to move on, blocked for lack of a downstream place: {node}",
    },
    "chart.entries_exits": {
        "fr": "Entrées et sorties par mois : {node}",
        "en": "Entries and exits per month: {node}",
    },
    "chart.stay": {
        "fr": "Durée des séjours terminés : {node}",
        "en": "Length of completed stays: {node}",
    },
    "chart.time_to_housing": {
        "fr": "Délai entre l'orientation et l'entrée en hébergement",
        "en": "Time from referral to accommodation",
    },
    "chart.sankey": {
        "fr": "Flux de personnes dans le parcours, {start} – {end}",
        "en": "People moving through the pathway, {start} – {end}",
    },
    # --- daily series (the tables by month and year) -------------------------------------------
    "series.street": {"fr": "Personnes à la rue", "en": "People on the street"},
    "series.waiting": {"fr": "{node} : liste d'attente", "en": "{node}: waiting list"},
    "series.occupancy": {"fr": "{node} : occupation", "en": "{node}: occupancy"},
    "series.capacity": {"fr": "{node} : places", "en": "{node}: places"},
    "series.blocked": {
        "fr": "{node} : résidents bloqués faute de place d'aval",
        "en": "{node}: residents blocked for lack of a downstream place",
    },
    "chart.diagram": {
        "fr": "Le parcours modélisé (capacités au {date})",
        "en": "The modelled pathway (capacities on {date})",
    },
    # --- charts: subtitles, axes, legends ---------------------------------------------------
    "sub.band": {
        "fr": "Trait : moyenne de {n} réplications ; bande : 90 % des réplications",
        "en": "Line: mean of {n} replications; band: 90% of replications",
    },
    "sub.mean": {
        "fr": "Trait : moyenne de {n} réplications",
        "en": "Line: mean of {n} replications",
    },
    "sub.coincide": {
        "fr": " ; « {line} » se confond avec « {other} » (tirets)",
        "en": "; '{line}' coincides with '{other}' (dashed)",
    },
    "sub.shared": {
        "fr": " ; histoire commune tracée une fois",
        "en": "; shared history drawn once",
    },
    "sub.single": {"fr": "Réplication {i}", "en": "Replication {i}"},
    "sub.one_run": {"fr": "Une seule réplication", "en": "A single replication"},
    "sub.bars": {
        "fr": "Moyenne sur {n} réplications, par {period}",
        "en": "Mean over {n} replications, by {period}",
    },
    "sub.stay": {
        "fr": "Séjours terminés pendant la simulation, toutes réplications ; tiret : médiane",
        "en": "Stays that ended during the run, all replications; dash: median",
    },
    "sub.time_to_housing": {
        "fr": "Personnes orientées depuis la rue puis admises, toutes réplications ; "
        "tiret : médiane",
        "en": "People referred from the street and then admitted, all replications; dash: median",
    },
    "sub.stay_window": {
        "fr": "Séjours terminés du {start} au {end}, toutes réplications ; tiret : médiane",
        "en": "Stays that ended from {start} to {end}, all replications; dash: median",
    },
    "sub.time_to_housing_window": {
        "fr": "Personnes orientées depuis la rue et admises du {start} au {end}, "
        "toutes réplications ; tiret : médiane",
        "en": "People referred from the street and admitted from {start} to {end}, "
        "all replications; dash: median",
    },
    "sub.sankey": {
        "fr": "Moyenne par réplication ({n}) ; {scenario}",
        "en": "Mean per replication ({n}); {scenario}",
    },
    "sub.backflows": {
        "fr": "Retours vers une étape antérieure, non dessinés : {count}",
        "en": "Moves back to an earlier stage, not drawn: {count}",
    },
    "period.month": {"fr": "mois", "en": "month"},
    "period.quarter": {"fr": "trimestre (ramené au mois)", "en": "quarter (per month)"},
    "axis.people": {"fr": "Personnes", "en": "People"},
    "axis.places": {"fr": "Places / personnes", "en": "Places / people"},
    "axis.per_month": {"fr": "Personnes par mois", "en": "People per month"},
    "axis.months": {"fr": "Mois", "en": "Months"},
    "axis.days": {"fr": "Jours", "en": "Days"},
    "axis.cumulative_share": {"fr": "Part cumulée", "en": "Cumulative share"},
    "legend.mean": {"fr": "moyenne", "en": "mean"},
    "legend.band": {"fr": "90 % des réplications", "en": "90% of replications"},
    "legend.capacity": {"fr": "capacité (tirets)", "en": "capacity (dashed)"},
    "legend.target": {"fr": "cible (± tolérance)", "en": "target (± tolerance)"},
    "legend.entries": {"fr": "entrées", "en": "entries"},
    "legend.exits": {"fr": "sorties", "en": "exits"},
    "legend.positive": {"fr": "sortie positive", "en": "positive exit"},
    "legend.negative": {"fr": "sortie négative", "en": "negative exit"},
    "legend.place": {"fr": "vers une place", "en": "to a place"},
    "no_data": {"fr": "Aucune donnée pour cette période", "en": "No data for this period"},
    # --- events annotated on time charts ----------------------------------------------------
    "event.lockdown": {"fr": "Confinement", "en": "Lockdown"},
    "event.etape2": {"fr": "Étape 2 du plan", "en": "Plan stage 2"},
    "event.dated": {"fr": "{event} ({date})", "en": "{event} ({date})"},
    # --- network diagram -------------------------------------------------------------------
    "diagram.places": {"fr": "{n} places", "en": "{n} places"},
    "diagram.releases": {"fr": "{n} places libérées / mois", "en": "{n} places freed / month"},
    "diagram.contacts": {"fr": "{n} contacts / semaine", "en": "{n} contacts / week"},
    "diagram.street": {
        "fr": "{n} au départ, {a} arrivées / an",
        "en": "{n} at start, {a} arrivals / year",
    },
    "diagram.negative": {
        "fr": "Tirets : contact, ou sortie négative en cours de séjour ; point : même répartition "
        "pour plusieurs étapes ; pourcentages : part des sorties de l'étape de gauche",
        "en": "Dashed: contact, or negative exit during a stay; dot: the same split for several "
        "stages; percentages: share of the exits of the stage on the left",
    },
    "diagram.hidden": {
        "fr": "{n} routes de moins de {share} non dessinées (toutes : --format mermaid)",
        "en": "{n} routes below {share} not drawn (all of them: --format mermaid)",
    },
    "diagram.back": {"fr": "↩ {share} vers {node}", "en": "↩ {share} back to {node}"},
    "diagram.positive_exits": {"fr": "Issues positives", "en": "Positive outcomes"},
    "diagram.negative_exits": {"fr": "Issues négatives", "en": "Negative outcomes"},
    "diagram.positive_exit": {"fr": "issue positive", "en": "positive outcome"},
    "diagram.negative_exit": {"fr": "issue négative", "en": "negative outcome"},
    # --- sweep and sensitivity charts --------------------------------------------------------
    "sweep.done": {
        "fr": "{done}/{total} combinaisons terminées (hachuré : pas encore)",
        "en": "{done}/{total} points done (hatched: not yet)",
    },
    "sweep.done_line": {
        "fr": "{done}/{total} combinaisons terminées (cercle vide : incomplet ; × : pas encore)",
        "en": "{done}/{total} points done (open circle: not all done; ×: none yet)",
    },
    "param.node": {"fr": "{node} : {field}", "en": "{node}: {field}"},
    "param.from": {"fr": "{label} (à partir de {date})", "en": "{label} (from {date})"},
    "param.capacity": {"fr": "places", "en": "places"},
    "param.places": {"fr": "places", "en": "places"},
    "param.releases_per_month": {"fr": "places libérées par mois", "en": "releases per month"},
    "param.negative_exit_rate_per_year": {
        "fr": "taux annuel de sortie négative",
        "en": "negative exits per resident-year",
    },
    "param.exit_rate_per_year": {"fr": "taux annuel de sortie", "en": "exits per person-year"},
    "param.arrivals_per_year": {"fr": "arrivées par an", "en": "arrivals per year"},
    "param.contacts_per_week": {"fr": "contacts par semaine", "en": "contacts per week"},
    "param.referral_probability": {
        "fr": "probabilité d'orientation",
        "en": "referral probability",
    },
    "param.cost_per_place_day": {"fr": "coût par place et par jour", "en": "cost per place-day"},
    "sweep.mean_over": {"fr": "(moyenne sur {names})", "en": "(mean over {names})"},
    "sweep.ci_note": {
        "fr": "moyenne et IC 95 % sur les réplications",
        "en": "mean and 95% CI over replications",
    },
    "sweep.mean_note": {"fr": "moyenne sur les réplications", "en": "mean over replications"},
    "sweep.dot_note": {"fr": "un point par combinaison", "en": "one dot per point"},
    "sweep.low": {"fr": "paramètre à sa borne basse", "en": "parameter at its low bound"},
    "sweep.high": {"fr": "paramètre à sa borne haute", "en": "parameter at its high bound"},
    "sweep.tornado_axis": {
        "fr": "{kpi} (scénario de base : {base})",
        "en": "{kpi} (base scenario: {base})",
    },
    "sweep.tornado_title": {
        "fr": "Sensibilité de {kpi}, un paramètre à la fois",
        "en": "One-at-a-time sensitivity of {kpi}",
    },
    "sweep.morris_axis": {
        "fr": "μ* de Morris pour {kpi} (moyenne des |effets élémentaires|, IC 95 %)",
        "en": "Morris μ* of {kpi} (mean |elementary effect|, 95% CI)",
    },
    "sweep.sobol_axis": {
        "fr": "Indices de Sobol de {kpi} (IC 95 %)",
        "en": "Sobol' indices of {kpi} (95% CI)",
    },
    "sweep.first_order": {"fr": "premier ordre S1", "en": "first order S1"},
    "sweep.total": {"fr": "total ST", "en": "total ST"},
    "sweep.indices_title": {
        "fr": "Quels paramètres font varier {kpi}",
        "en": "Which parameters drive {kpi}",
    },
    # --- node kinds -------------------------------------------------------------------------
    "kind.street": {"fr": "rue", "en": "street"},
    "kind.outreach": {"fr": "maraudes", "en": "outreach"},
    "kind.rest_space": {"fr": "espace de repos", "en": "rest space"},
    "kind.accommodation": {"fr": "hébergement", "en": "accommodation"},
    "kind.downstream": {"fr": "aval", "en": "downstream"},
    "kind.exit": {"fr": "issue", "en": "outcome"},
    # --- report -----------------------------------------------------------------------------
    "report.title_run": {"fr": "Résultats : {title}", "en": "Results: {title}"},
    "report.title_compare": {"fr": "Comparaison de scénarios", "en": "Scenario comparison"},
    "report.title_calibrate": {"fr": "Calibrage : {title}", "en": "Calibration: {title}"},
    "report.contents": {"fr": "Sommaire", "en": "Contents"},
    "report.network": {"fr": "Le parcours modélisé", "en": "The modelled pathway"},
    "report.question": {"fr": "La question", "en": "The question"},
    "report.scenarios": {"fr": "Les scénarios", "en": "The scenarios"},
    "report.differences": {
        "fr": "Ce qui diffère de la référence",
        "en": "What differs from the reference",
    },
    "report.no_differences": {"fr": "Aucune différence.", "en": "No difference."},
    "report.more_differences": {
        "fr": "… et {n} autres différences",
        "en": "… and {n} more differences",
    },
    "report.kpis": {"fr": "Indicateurs", "en": "Indicators"},
    "report.all_kpis": {"fr": "Tous les indicateurs", "en": "All indicators"},
    "report.charts": {"fr": "Graphiques", "en": "Charts"},
    "report.targets": {
        "fr": "Cibles de calibrage et valeurs simulées",
        "en": "Calibration targets and simulated values",
    },
    "report.provenance": {"fr": "D'où viennent les chiffres", "en": "Where the numbers come from"},
    "report.reference": {"fr": "référence", "en": "reference"},
    "report.scenario": {"fr": "Scénario", "en": "Scenario"},
    "report.name": {"fr": "Nom", "en": "Name"},
    "report.period": {"fr": "Période", "en": "Period"},
    "report.description": {"fr": "Description", "en": "Description"},
    "report.node": {"fr": "Étape", "en": "Stage"},
    "report.kind": {"fr": "Type", "en": "Kind"},
    "report.capacity": {"fr": "Capacité (début → fin)", "en": "Capacity (start → end)"},
    "report.parameter": {"fr": "Paramètre", "en": "Parameter"},
    "report.indicator": {"fr": "Indicateur", "en": "Indicator"},
    "report.difference": {"fr": "Écart à la référence", "en": "Difference from reference"},
    "report.mean_ci": {"fr": "moyenne ± IC 95 %", "en": "mean ± 95% CI"},
    "report.difference_ci": {"fr": "écart ± IC 95 %", "en": "difference ± 95% CI"},
    "report.values": {"fr": "Résultats par scénario", "en": "Results by scenario"},
    "report.significant": {
        "fr": "* : écart significatif (l'IC 95 % de l'écart, apparié, exclut 0)",
        "en": "*: significant difference (the paired 95% CI of the difference excludes 0)",
    },
    "report.ci_note": {
        "fr": "± : demi-largeur de l'intervalle de confiance à 95 % (Student) sur "
        "{n} réplications.",
        "en": "±: half-width of the 95% confidence interval (Student t) over {n} replications.",
    },
    "report.uncertainty_draws": {
        "fr": "Les intervalles incluent l'incertitude sur les paramètres : {draws} tirages de la "
        "loi a posteriori de la calibration, chacun répliqué, les mêmes pour chaque scénario.",
        "en": "The intervals include parameter uncertainty: {draws} draws of the calibration "
        "posterior, each replicated, the same for every scenario.",
    },
    "report.uncertainty_point": {
        "fr": "Les intervalles ne reflètent que le hasard des réplications, pas l'incertitude "
        "sur les paramètres (estimation ponctuelle).",
        "en": "The intervals reflect replication noise only, not parameter uncertainty (point "
        "estimate).",
    },
    "report.limits": {"fr": "Limites", "en": "Limits"},
    "report.limits_uncertainty": {
        "fr": "L'incertitude structurelle (la forme du modèle) n'est pas dans les intervalles.",
        "en": "Structural uncertainty (the form of the model) is not in the intervals.",
    },
    "report.observation": {"fr": "Observation", "en": "Observation"},
    "report.role": {"fr": "Rôle", "en": "Role"},
    "report.target": {"fr": "Cible", "en": "Target"},
    "report.simulated": {"fr": "Simulé", "en": "Simulated"},
    "report.met": {"fr": "Atteinte", "en": "Met"},
    "report.role.fit": {"fr": "calage", "en": "fit"},
    "report.role.validate": {"fr": "validation", "en": "validate"},
    "report.role.report": {"fr": "information", "en": "report"},
    "report.targets_note": {
        "fr": "Une cible est atteinte quand l'IC 95 % la couvre ou que la moyenne est dans la "
        "tolérance. Les cibles de validation ne servent jamais au calage.",
        "en": "A target is met when the 95% CI covers it or the mean lies within the tolerance. "
        "Validation targets are never used for fitting.",
    },
    "report.version": {"fr": "Version de parcours", "en": "parcours version"},
    "report.commit": {"fr": "Commit git", "en": "Git commit"},
    "report.seed": {"fr": "Graine", "en": "Seed"},
    "report.replications": {"fr": "Réplications", "en": "Replications"},
    "report.created": {"fr": "Produit le", "en": "Created"},
    "report.command": {"fr": "Commande", "en": "Command"},
    "report.hash": {"fr": "Empreinte SHA-256 du scénario", "en": "Scenario SHA-256"},
    "report.packages": {"fr": "Versions des bibliothèques", "en": "Package versions"},
    "report.folder": {"fr": "Dossier de résultats", "en": "Results folder"},
    "report.provenance_note": {
        "fr": "Chaque nombre du scénario porte en commentaire sa source (document et ligne) ou "
        "la mention « assumption » ; le scénario résolu est dans scenario.yaml de chaque "
        "dossier de résultats. Mêmes graine et scénario : mêmes nombres.",
        "en": "Every number of the scenario carries its source (document and line) or "
        "'assumption' as a comment; the resolved scenario is in each results folder's "
        "scenario.yaml. Same seed and scenario: same numbers.",
    },
    "report.crn": {
        "fr": "Les scénarios partagent la graine : la réplication r de chacun utilise les mêmes "
        "flux aléatoires, si bien que les écarts sont appariés.",
        "en": "The scenarios share the seed: replication r of each uses the same random "
        "streams, so differences are paired.",
    },
    "report.generated": {
        "fr": "Rapport produit par parcours {version}.",
        "en": "Report produced by parcours {version}.",
    },
    "report.step": {"fr": "palier {n}", "en": "step {n}"},
    "report.last_step": {"fr": "dernier palier", "en": "last step"},
    "report.from_date": {"fr": "{value} à partir du {date}", "en": "{value} from {date}"},
    "report.then": {"fr": ", puis ", "en": ", then "},
    "report.setting": {"fr": "Réglage", "en": "Setting"},
    "report.reading": {"fr": "Comment lire ce rapport", "en": "How to read this report"},
    "report.reading_bands": {
        "fr": "Graphiques : la ligne est la moyenne des {n} réplications ; la bande ombrée "
        "contient 90 % des réplications (du 5e au 95e centile, jour par jour). Elle dit la "
        "variabilité d'une réplication à l'autre, pas la précision de la moyenne.",
        "en": "Charts: the line is the mean of the {n} replications; the shaded band holds 90% "
        "of the replications (5th to 95th percentile, day by day). It shows how much one "
        "replication varies from another, not how precise the mean is.",
    },
    "report.reading_ci": {
        "fr": "Tableaux : « ± » est la demi-largeur de l'intervalle de confiance à 95 % de la "
        "moyenne (Student, sur {n} réplications) ; il dit la précision de la moyenne, pas la "
        "variabilité d'une année réelle.",
        "en": "Tables: '±' is the half-width of the 95% confidence interval of the mean (Student "
        "t over {n} replications); it says how precise the mean is, not how much a real year "
        "may vary.",
    },
    "report.reading_paired": {
        "fr": "Écarts à la référence : différences appariées, avec les mêmes nombres aléatoires "
        "(la réplication r de chaque scénario utilise les mêmes flux) ; leur intervalle est "
        "souvent bien plus étroit que ceux des moyennes, et * marque un écart dont l'IC 95 % "
        "exclut 0.",
        "en": "Differences from the reference: paired differences under common random numbers "
        "(replication r of every scenario uses the same random streams); their interval is often "
        "far narrower than those of the means, and * marks a difference whose 95% CI excludes 0.",
    },
    "report.reading_fixed": {
        "fr": "† : la même valeur dans chaque réplication (fixée par le scénario, comme un coût "
        "qui suit le nombre de places) : pas d'intervalle.",
        "en": "†: the same value in every replication (set by the scenario, like a cost that "
        "follows the number of places): no interval.",
    },
    "report.limits_street_fit.one": {
        "fr": "Personnes à la rue : le seul chiffre auquel le modèle est ajusté est {figures}. "
        "Aucun comptage ne contraint la rue après le {last} : lisez les lignes « rue » comme des "
        "écarts entre scénarios, pas comme des niveaux.",
        "en": "People on the street: the one figure the model is fitted to is {figures}. No "
        "count constrains "
        "the street after {last}: read the street rows as differences between scenarios, not "
        "as levels.",
    },
    "report.limits_street_fit.other": {
        "fr": "Personnes à la rue : les seuls chiffres auxquels le modèle est ajusté sont "
        "{figures}. Aucun comptage ne contraint la rue après le {last} : lisez les lignes "
        "« rue » comme des écarts entre scénarios, pas comme des niveaux.",
        "en": "People on the street: the only figures the model is fitted to are {figures}. No "
        "count constrains "
        "the street after {last}: read the street rows as differences between scenarios, not "
        "as levels.",
    },
    "report.figure_on": {
        "fr": "le nombre de personnes à la rue le {date} ({target})",
        "en": "the number of people on the street on {date} ({target})",
    },
    "report.figure_window": {
        "fr": "le nombre moyen de personnes à la rue du {start} au {end} ({target})",
        "en": "the mean number of people on the street from {start} to {end} ({target})",
    },
    "report.limits_street_none": {
        "fr": "Personnes à la rue : aucun comptage ne contraint la rue dans ce scénario ; "
        "lisez les lignes « rue » comme des écarts entre scénarios, pas comme des niveaux.",
        "en": "People on the street: no count constrains the street in this scenario; read the "
        "street rows as differences between scenarios, not as levels.",
    },
    "report.limits_street_checked": {
        "fr": "Contrôlé sans servir au calage : {figures}.",
        "en": "Checked but not used for fitting: {figures}.",
    },
    "report.limits_not_identified": {
        "fr": "Non identifiés par les chiffres publics ({source}) : {names}. Les scénarios qui "
        "dépendent de ces réglages sont à lire avec prudence.",
        "en": "Not identified by the public figures ({source}): {names}. Scenarios that depend "
        "on these settings need care.",
    },
    "report.limits_all_identified": {
        "fr": "Chaque paramètre calé est contraint par les chiffres ({source}).",
        "en": "Every fitted parameter is constrained by the figures ({source}).",
    },
    "report.limits_draws_source": {
        "fr": "intervalle à 90 % de {draws} tirages de la loi a posteriori plus large que "
        "{share} de l'intervalle a priori à 90 %",
        "en": "90% interval of {draws} posterior draws wider than {share} of the prior's 90% "
        "interval",
    },
    "report.limits_calibration_source": {
        "fr": "intervalles du calibrage ABC : intervalle a posteriori à 90 % plus large que "
        "{share} de l'intervalle a priori à 90 %",
        "en": "the ABC calibration's intervals: posterior 90% interval wider than {share} of "
        "the prior's 90% interval",
    },
    "report.limits_unknown": {
        "fr": "Le calibrage ajuste {p} paramètres ({names}) à {m} chiffres ; ce dossier n'a pas "
        "de tirages de paramètres, il ne peut donc pas dire lesquels restent libres (relancez "
        "avec --parameters, ou voyez intervals.csv du dossier de calibrage).",
        "en": "The calibration fits {p} parameters ({names}) to {m} figures; this folder has no "
        "parameter draws, so it cannot say which ones the figures leave open (run again with "
        "--parameters, or see the calibration folder's intervals.csv).",
    },
    "report.limits_no_calibration": {
        "fr": "Ce scénario n'a pas de bloc de calibrage : ses valeurs sont des hypothèses ou "
        "des chiffres sourcés, aucune n'est ajustée.",
        "en": "This scenario has no calibration block: its values are sourced figures or "
        "assumptions, none is fitted.",
    },
    "unit.place.one": {"fr": "{n} place", "en": "{n} place"},
    "unit.place.other": {"fr": "{n} places", "en": "{n} places"},
    "diagram.releases.one": {"fr": "{n} place libérée / mois", "en": "{n} place freed / month"},
    "field.capacity": {"fr": "places", "en": "places"},
    "field.places": {"fr": "places", "en": "places"},
    "field.releases_per_month": {"fr": "places libérées par mois", "en": "places freed per month"},
    "field.arrivals_per_year": {"fr": "arrivées par an", "en": "arrivals per year"},
    "field.contacts_per_week": {"fr": "contacts par semaine", "en": "contacts per week"},
    "field.cost_per_year": {"fr": "coût annuel", "en": "annual cost"},
    "field.cost_per_place_day": {"fr": "coût par place et par jour", "en": "cost per place-day"},
    "field.referral_probability": {"fr": "probabilité d'orientation", "en": "referral probability"},
    "field.referral_probability_per_visit": {
        "fr": "probabilité d'orientation par visite",
        "en": "referral probability per visit",
    },
    "field.routing": {"fr": "orientations", "en": "routing"},
    "field.negative_routing": {"fr": "orientations des sorties négatives", "en": "negative exits"},
    "field.readiness": {"fr": "délai avant d'être prêt", "en": "time to readiness"},
    "field.reach": {
        "fr": "part des personnes à la rue touchées",
        "en": "share of street users reached",
    },
    "field.visits_per_person_per_week": {
        "fr": "visites par personne et par semaine",
        "en": "visits per person per week",
    },
    "field.negative_exit_rate_per_year": {
        "fr": "taux de sorties négatives par an",
        "en": "negative exits per year (rate)",
    },
    "field.exit_rate_per_year": {"fr": "taux de sortie par an", "en": "exit rate per year"},
    "field.stay_days": {"fr": "durée de présence (jours)", "en": "stay (days)"},
    "field.transient": {"fr": "usagers de passage", "en": "transient users"},
    "field.exit_hazards_per_year": {
        "fr": "risques de sortie par an (décès, prison)",
        "en": "exit hazards per year (death, prison)",
    },
    "field.ramp_until": {"fr": "fin de la rampe", "en": "ramp until"},
    "field.initial": {"fr": "état initial", "en": "initial state"},
    "field.occupancy": {"fr": "occupation", "en": "occupancy"},
    "field.mean": {"fr": "moyenne", "en": "mean"},
    "field.sd": {"fr": "écart type", "en": "sd"},
    "field.shape": {"fr": "forme", "en": "shape"},
    "field.dist": {"fr": "loi", "en": "distribution"},
    "field.kind": {"fr": "type", "en": "kind"},
    "field.end": {"fr": "fin de la simulation", "en": "end of the run"},
    "field.start": {"fr": "début de la simulation", "en": "start of the run"},
    "field.warmup": {"fr": "début des indicateurs", "en": "KPIs from"},
    "field.window": {"fr": "fenêtre de la question", "en": "the question's window"},
    "field.from": {"fr": "du", "en": "from"},
    "field.to": {"fr": "au", "en": "to"},
    "field.attributes": {"fr": "attributs", "en": "attributes"},
    "field.probability": {"fr": "probabilité", "en": "probability"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    # --- KPIs (``{node}`` is the node's display name) ---------------------------------------
    "kpi.street.mean": {"fr": "Personnes à la rue (moyenne)", "en": "People on the street (mean)"},
    "kpi.street.end": {"fr": "Personnes à la rue (fin)", "en": "People on the street (end)"},
    "kpi.housed.mean": {
        "fr": "Personnes hébergées (moyenne)",
        "en": "People housed (mean)",
    },
    "kpi.exits.pathway.per_month": {
        "fr": "Sorties du parcours par mois",
        "en": "Exits from the pathway per month",
    },
    "kpi.exits.positive.per_month": {
        "fr": "Sorties positives par mois",
        "en": "Positive exits per month",
    },
    "kpi.positive_share": {
        "fr": "Part de sorties positives",
        "en": "Positive share of exits",
    },
    "kpi.contact_to_housing.mean": {
        "fr": "Délai orientation → hébergement (jours)",
        "en": "Referral to accommodation (days)",
    },
    "kpi.time_to_positive_exit.mean": {
        "fr": "Délai premier jour à la rue → sortie positive (jours)",
        "en": "First street day to positive exit (days)",
    },
    "kpi.street_episodes_per_person.mean": {
        "fr": "Épisodes de rue par personne",
        "en": "Street episodes per person",
    },
    "kpi.street_hotel_cycles.per_housed_person": {
        "fr": "Retours à la rue depuis l'hébergement, par personne hébergée",
        "en": "Returns to the street from accommodation, per person housed",
    },
    "kpi.cost.total.per_year": {"fr": "Coût annuel total (€)", "en": "Total cost per year (EUR)"},
    "kpi.cost.per_person_year_housed": {
        "fr": "Coût par personne-année en hébergement et en aval (€)",
        "en": "Cost per person-year in accommodation and downstream places (EUR)",
    },
    "kpi.cost.places.per_year": {
        "fr": "Coût annuel des places d'hébergement et d'aval (€)",
        "en": "Cost per year of accommodation and downstream places (EUR)",
    },
    "kpi.housed.costed_places.mean": {
        "fr": "Personnes en hébergement et en aval (moyenne)",
        "en": "People in accommodation and downstream places (mean)",
    },
    "kpi.cost.per_positive_exit": {
        "fr": "Coût par sortie positive (€)",
        "en": "Cost per positive exit (EUR)",
    },
    "kpi.deadlocks": {"fr": "Blocages mutuels", "en": "Deadlocks"},
    "kpi.waiting.mean": {
        "fr": "{node} : liste d'attente (moyenne)",
        "en": "{node}: waiting (mean)",
    },
    "kpi.waiting.max": {"fr": "{node} : liste d'attente (max.)", "en": "{node}: waiting (max)"},
    "kpi.occupancy.mean": {"fr": "{node} : occupation (moyenne)", "en": "{node}: occupancy (mean)"},
    "kpi.utilisation": {"fr": "{node} : taux d'occupation", "en": "{node}: utilisation"},
    "kpi.blocked.mean": {
        "fr": "{node} : résidents bloqués (moyenne)",
        "en": "{node}: residents blocked (mean)",
    },
    "kpi.blocked_days_per_place_year": {
        "fr": "{node} : jours bloqués par place et par an",
        "en": "{node}: blocked days per place-year",
    },
    "kpi.stay.mean": {"fr": "{node} : séjour moyen (jours)", "en": "{node}: mean stay (days)"},
    "kpi.stay.median": {"fr": "{node} : séjour médian (jours)", "en": "{node}: median stay (days)"},
    "kpi.entries.per_month": {"fr": "{node} : entrées par mois", "en": "{node}: entries per month"},
    "kpi.exits.per_month": {"fr": "{node} : sorties par mois", "en": "{node}: exits per month"},
    "kpi.entries.per_week": {
        "fr": "{node} : entrées par semaine",
        "en": "{node}: entries per week",
    },
    "kpi.exits.positive.from": {
        "fr": "Sorties positives par mois depuis {node}",
        "en": "Positive exits per month from {node}",
    },
    "kpi.positive_share.node": {
        "fr": "{node} : part de sorties positives",
        "en": "{node}: positive share of exits",
    },
    "kpi.blocked_time.mean": {
        "fr": "{node} : temps bloqué avant la place suivante (jours)",
        "en": "{node}: time blocked before the next place (days)",
    },
    "kpi.cost.per_year": {"fr": "{node} : coût annuel (€)", "en": "{node}: cost per year (EUR)"},
    "kpi.cost.by_funder.per_year": {
        "fr": "Coût annuel payé par : {funder} (€)",
        "en": "Cost per year paid by: {funder} (EUR)",
    },
    "funder.drihl": {"fr": "État, DRIHL (Prif)", "en": "State, DRIHL (Prif)"},
    "funder.ars": {"fr": "ARS Île-de-France", "en": "ARS (regional health agency)"},
    "funder.city": {"fr": "Ville de Paris", "en": "City of Paris"},
    "funder.mildeca": {"fr": "Mildeca", "en": "Mildeca"},
    "funder.assurance_maladie": {"fr": "Assurance maladie", "en": "Health insurance"},
    "funder.other": {"fr": "autres financeurs", "en": "other funders"},
    "funder.unspecified": {"fr": "financeur non précisé", "en": "funder not given"},
    "kpi.positive_share.group": {
        "fr": "Part de sorties positives : {group}",
        "en": "Positive share of exits: {group}",
    },
    "kpi.exits.group": {"fr": "Sorties par mois : {group}", "en": "Exits per month: {group}"},
    "kpi.not": {"fr": "non {group}", "en": "not {group}"},
    "kpi.outcome.per_year": {
        "fr": "{exit} : personnes par an (rue et toutes les places)",
        "en": "{exit}: people per year (street and every place)",
    },
    "kpi.outcome.per_100_person_years": {
        "fr": "{exit} pour 100 personnes-années : {node}",
        "en": "{exit} per 100 person-years: {node}",
    },
    # --- comparison tables (parcours compare, the README and docs/compare.md) ---------------
    "table.kpi.obs.street_window": {
        "fr": "Personnes à la rue, moyenne {window}",
        "en": "People on the street, mean {window}",
    },
    "table.kpi.contact_to_housing.mean": {
        "fr": "Attente d'une place d'hébergement, de l'orientation à l'admission (jours)",
        "en": "Wait for a hotel place, referral to admission (days)",
    },
    "table.kpi.obs.assore_intakes_window.per_week": {
        "fr": "Nouvelles admissions ASSORE par semaine, {window} (objectif du plan : 3 à 10)",
        "en": "New ASSORE intakes per week, {window} (plan aim: 3-10)",
    },
    "table.kpi.obs.assore_exits_window.per_month": {
        "fr": "Sorties d'ASSORE par mois, {window}",
        "en": "ASSORE exits per month, {window}",
    },
    "table.kpi.obs.assore_positive_exits_window.per_month": {
        "fr": "Sorties positives d'ASSORE par mois, {window}",
        "en": "Positive ASSORE exits per month, {window}",
    },
    "table.kpi.obs.assore_blocked_window": {
        "fr": "Résidents ASSORE bloqués en attente d'une place d'aval, moyenne {window}",
        "en": "ASSORE residents blocked, waiting for a downstream place, mean {window}",
    },
    "table.kpi.obs.assore_waiting_window": {
        "fr": "Personnes en attente d'une place ASSORE, moyenne {window}",
        "en": "People waiting for an ASSORE place, mean {window}",
    },
    "table.kpi.outcome.death.per_year": {
        "fr": "Décès par an, à la rue et dans toutes les places",
        "en": "Deaths per year, on the street and in every place",
    },
    "table.kpi.exits.positive.per_month": {
        "fr": "Sorties positives du parcours par mois",
        "en": "Positive exits from the pathway per month",
    },
    "table.kpi.positive_share": {
        "fr": "Part des sorties positives",
        "en": "Positive share of pathway exits",
    },
    "table.kpi.cost.total.per_year": {
        "fr": "Coût annuel, tous postes (€ ; M = million)",
        "en": "Cost per year, all costed nodes (EUR; M = million)",
    },
    "table.kpi.cost.places.per_year": {
        "fr": "Coût annuel des places où les personnes séjournent (€ ; hébergement et aval)",
        "en": "Cost per year of the places people stay in (EUR; accommodation and downstream)",
    },
    "table.kpi.cost.per_person_year_housed": {
        "fr": (
            "Coût par personne-année en hébergement et en aval (€ ; coût de ces places seulement)"
        ),
        "en": (
            "Cost per person-year in accommodation and downstream places (EUR; those places' cost "
            "only)"
        ),
    },
    "table.kpi.cost.per_positive_exit": {
        "fr": "Coût par sortie positive (€ ; coût annuel, tous postes / sorties positives par an)",
        "en": (
            "Cost per positive exit (EUR; cost per year, all costed nodes / positive exits per "
            "year)"
        ),
    },
    "table.kpi.housed.costed_places.mean": {
        "fr": "Personnes dans des places ayant un coût (moyenne ; hébergement et aval)",
        "en": "People in places that have a cost (mean; accommodation and downstream)",
    },
    "table.kpi.housed.mean": {
        "fr": "Personnes hébergées (moyenne)",
        "en": "People housed in accommodation (mean)",
    },
    "table.kpi.time_to_positive_exit.mean": {
        "fr": "Du premier jour à la rue à la sortie positive (jours)",
        "en": "First street day to positive exit (days)",
    },
    "table.kpi.waiting.mean": {
        "fr": "{node} : liste d'attente (moyenne)",
        "en": "{node}: waiting list (mean)",
    },
    "table.kpi.waiting.max": {
        "fr": "{node} : liste d'attente (maximum)",
        "en": "{node}: waiting list (max)",
    },
    "table.kpi.blocked.mean": {
        "fr": "{node} : résidents bloqués en attente de la place suivante (moyenne)",
        "en": "{node}: residents blocked, waiting for their next place (mean)",
    },
    "table.kpi.entries.per_month": {
        "fr": "{node} : admissions par mois",
        "en": "{node}: admissions per month",
    },
    "table.kpi.entries.per_week": {
        "fr": "{node} : admissions par semaine",
        "en": "{node}: admissions per week",
    },
    "table.kpi.positive_share.node": {
        "fr": "{node} : part des sorties positives",
        "en": "{node}: positive share of exits",
    },
    "table.kpi.stay.mean": {
        "fr": "{node} : durée moyenne de séjour (jours)",
        "en": "{node}: mean stay (days)",
    },
    "table.kpi.stay.median": {
        "fr": "{node} : durée médiane de séjour (jours)",
        "en": "{node}: median stay (days)",
    },
    "table.kpi.blocked_time.mean": {
        "fr": "{node} : temps bloqué en attente (jours)",
        "en": "{node}: time blocked waiting (days)",
    },
    "table.reference": {
        "fr": "référence",
        "en": "reference",
    },
    "table.kpi": {
        "fr": "Indicateur",
        "en": "KPI",
    },
    "table.crn": {
        "fr": "Variance réduite par NAC",
        "en": "Variance cut by CRN",
    },
    "table.meta": {
        "fr": (
            "{n} réplications par scénario, graine {seed}, nombres aléatoires communs (la "
            "réplication r de chaque scénario utilise les mêmes flux aléatoires). Chaque case : "
            "moyenne ± demi-largeur de l'IC à 95 % ; Δ : écart à la référence, apparié par "
            "réplication, ± IC à 95 % (Student) ; * l'IC exclut zéro. Les lignes sans année "
            "couvrent la fenêtre des indicateurs de chaque scénario ({window})."
        ),
        "en": (
            "{n} replications per scenario, seed {seed}, common random numbers (replication r of "
            "every scenario uses the same random streams). Each cell: mean ± 95% CI half-width; Δ: "
            "difference to the reference, paired by replication, ± 95% CI (Student t); * the CI "
            "excludes zero. Rows without a year cover each scenario's KPI window ({window})."
        ),
    },
    "table.crn_line": {
        "fr": (
            "Les nombres aléatoires communs rendent les IC des écarts {factor} fois plus étroits "
            "que des simulations indépendantes (médiane sur le tableau : la variance d'un écart est"
            " inférieure de {reduction} à var(réf) + var(alt))."
        ),
        "en": (
            "Common random numbers made the CIs of the differences {factor} times narrower than "
            "independent runs would have (median over the table: the variance of a difference is "
            "{reduction} smaller than var(ref) + var(alt))."
        ),
    },
    "table.draws_line": {
        "fr": (
            "Les réplications viennent de {draws} tirages de paramètres d'une loi a posteriori de "
            "calibration ({per_draw} par tirage, les mêmes tirages et graines pour chaque scénario)"
            " : moyennes, IC et écarts portent sur les {draws} moyennes par tirage (Student, {df} "
            "degrés de liberté) et incluent donc l'incertitude sur les paramètres."
        ),
        "en": (
            "The replications come from {draws} parameter draws of a calibration posterior "
            "({per_draw} per draw, the same draws and seeds for every scenario): means, CIs and "
            "differences are over the {draws} per-draw means (Student t, {df} degrees of freedom), "
            "so they include parameter uncertainty."
        ),
    },
    "table.window": {
        "fr": "du {a} au {b}",
        "en": "{a} to {b}",
    },
    "table.title": {
        "fr": "Comparaison avec {ref}",
        "en": "Comparison with {ref}",
    },
    "table.kpi.exits.positive.from": {
        "fr": "Sorties positives du parcours par mois depuis {node}",
        "en": "Positive pathway exits per month from {node}",
    },
    "table.obs.per_week": {
        "fr": " (par semaine)",
        "en": " (per week)",
    },
    "table.obs.per_month": {
        "fr": " (par mois)",
        "en": " (per month)",
    },
}

# --- the app's forms and buttons (sim.app), in the same table ------------------------------
_APP: dict[str, dict[Lang, str]] = {
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
    "posterior": {"fr": "Paramètres", "en": "Parameters"},
    "point_values": {
        "fr": "Valeurs ponctuelles des fichiers (--point)",
        "en": "Point values of the files (--point)",
    },
    "scenario_posterior": {
        "fr": "Tirages de la loi a posteriori du scénario ({file})",
        "en": "Draws of the scenario's posterior ({file})",
    },
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

LABELS.update({f"app.{key}": text for key, text in _APP.items()})

_CALIBRATION: dict[str, dict[Lang, str]] = {
    "title": {"fr": "Calibrage ABC-SMC de {name}", "en": "ABC-SMC calibration of {name}"},
    "settings": {
        "fr": "ABC-SMC (pyabc), graine {seed} : {generations} générations au plus, de "
        "{sizes} particules, {replications} réplication(s) par particule ;",
        "en": "pyabc ABC-SMC, seed {seed}: {generations} generations at most, of {sizes} "
        "particles, {replications} replication(s) per particle;",
    },
    "settings_unknown": {
        "fr": "ABC-SMC (pyabc), réglages non enregistrés dans le manifeste ;",
        "en": "pyabc ABC-SMC, settings not recorded in the manifest;",
    },
    "minutes": {
        "fr": "{sampling} min d'échantillonnage sur toutes les générations (cette commande : "
        "{command} min).",
        "en": "{sampling} min of sampling in all generations (this command: {command} min).",
    },
    "proposal": {
        "fr": "Les paramètres sont échantillonnés comme le logit de leur place dans la plage a "
        "priori (échelle log pour les lois log-uniformes) ; chaque génération propose selon une "
        "loi de Student multivariée ({df} degrés de liberté) ajustée aux particules de la "
        "précédente (poids tempérés pour garder une taille d'échantillon effective de {ess} "
        "d'entre elles, covariance multipliée par {scaling}), mélangée à {prior} de tirages "
        "de la loi a priori.",
        "en": "Parameters are sampled as the logit of their place in the prior range (log "
        "scale for log-uniform priors); each generation proposes from a multivariate Student-t "
        "({df} degrees of freedom) fitted to the particles of the previous one (their weights "
        "tempered to keep an effective sample size of {ess} of them, the covariance scaled by "
        "{scaling}), mixed with {prior} of draws from the prior.",
    },
    "early": {
        "fr": "Une particule est rejetée dès que les chiffres de calage dont la fenêtre est "
        "close manquent de plus que le seuil (les particules acceptées sont les mêmes).",
        "en": "A particle is rejected as soon as the fit figures whose windows have closed "
        "miss by more than the threshold (the accepted particles are the same).",
    },
    "stop": {
        "fr": "Le calcul s'arrête dès que le seuil atteint {eps} ou moins.",
        "en": "The run stops once the threshold is at or below {eps}.",
    },
    "distance": {
        "fr": "La distance est la norme euclidienne de (simulé - cible) / tolérance sur les "
        "chiffres de calage ; les chiffres réservés à la validation n'y entrent jamais.",
        "en": "The distance is the Euclidean norm of (simulated - target) / tolerance over the "
        "fit figures; held-out figures never enter it.",
    },
    "generations": {"fr": "Générations", "en": "Generations"},
    "ess": {
        "fr": "Dernière génération : taille d'échantillon effective {ess} sur {n} particules.",
        "en": "Final generation: effective sample size {ess} of {n} particles.",
    },
    "largest_weight": {
        "fr": "Le plus grand poids fait {share} du total.",
        "en": "The largest weight is {share} of the total.",
    },
    "ess_degenerate": {
        "fr": "**Les poids sont dégénérés** : la loi a posteriori repose sur quelques "
        "particules, ses intervalles et corrélations sous-estiment l'incertitude ; ne la "
        "tirez pas comme loi a posteriori pour décider.",
        "en": "**The weights are degenerate**: the posterior rests on a few particles, so its "
        "intervals and correlations understate the uncertainty; do not draw it as a posterior "
        "for decisions.",
    },
    "ess_low": {
        "fr": "**La taille d'échantillon effective est faible** (moins de {share} des "
        "particules) : intervalles, corrélations et tirages de la loi a posteriori reposent "
        "sur l'information d'environ {ess} particules indépendantes ; ils sont approchés et "
        "leurs queues sous-estimées.",
        "en": "**The effective sample size is low** (under {share} of the particles): the "
        "posterior's intervals, correlations and draws rest on about {ess} independent "
        "particles' worth of information, so they are approximate and their tails understated.",
    },
    "parameters": {
        "fr": "Paramètres : a priori et a posteriori (5 %, 50 %, 95 %)",
        "en": "Parameters: prior and posterior (5%, 50%, 95%)",
    },
    "parameters_note": {
        "fr": "Rapport de largeur : l'intervalle a posteriori à 90 % rapporté à l'intervalle "
        "a priori à 90 %, sur l'échelle où la loi a priori est uniforme (log pour les lois "
        "log-uniformes) ; identifié : au plus {share}.",
        "en": "Width ratio: the posterior 90% interval over the prior's 90% interval, on the "
        "scale the prior is uniform on (log for log-uniform priors); identified: at most "
        "{share}.",
    },
    "correlations": {
        "fr": "Corrélations a posteriori de 0,4 ou plus",
        "en": "Posterior correlations of 0.4 or more",
    },
    "none": {"fr": "aucune", "en": "none"},
    "predictive": {
        "fr": "Prédictive a posteriori face à chaque chiffre",
        "en": "Posterior predictive against every figure",
    },
    "predictive_note": {
        "fr": "{draws} tirages de la loi a posteriori, une réplication chacun ; atteint : la "
        "moyenne dans la tolérance. Les chiffres réservés à la validation ne servent jamais "
        "au calage.",
        "en": "{draws} posterior draws, one replication each; met: the mean within tolerance. "
        "Held-out figures are never fitted.",
    },
    "met.fit": {
        "fr": "Chiffres de calage dans la tolérance à la moyenne prédictive : {met} sur {n}.",
        "en": "Fitted figures within tolerance at the predictive mean: {met} of {n}.",
    },
    "met.validate": {
        "fr": "Chiffres réservés dans la tolérance à la moyenne prédictive : {met} sur {n}.",
        "en": "Held-out figures within tolerance at the predictive mean: {met} of {n}.",
    },
    "missed": {
        "fr": "{mean} pour une cible de {target} ± {tol}",
        "en": "{mean} against {target} ± {tol}",
    },
    "limits": {"fr": "Limites", "en": "Limits"},
    "not_identified": {
        "fr": "Non identifiés par les chiffres de calage (intervalle a posteriori à 90 % plus "
        "large que {share} de l'intervalle a priori) : {names}.",
        "en": "Not identified by the fit figures (posterior 90% interval wider than {share} of "
        "the prior's): {names}.",
    },
    "all_identified": {
        "fr": "Chaque paramètre est identifié (intervalle a posteriori à 90 % au plus {share} "
        "de l'intervalle a priori).",
        "en": "Every parameter is identified (posterior 90% interval at most {share} of the "
        "prior's).",
    },
    "charts": {"fr": "Graphiques : {charts}.", "en": "Charts: {charts}."},
    "posterior": {"fr": "a posteriori", "en": "posterior"},
    "prior": {"fr": "a priori", "en": "prior"},
    "chart_parameters": {
        "fr": "Loi a priori (gris) et a posteriori (barres) de chaque paramètre",
        "en": "Prior (grey) and posterior (bars) of each parameter",
    },
    "chart_correlation": {"fr": "corrélation a posteriori", "en": "posterior correlation"},
    "chart_predictive": {
        "fr": "Prédictive a posteriori face aux chiffres de calage (bleu) et réservés (orange)",
        "en": "Posterior predictive against fitted (blue) and held-out (orange) figures",
    },
    "chart_predictive_x": {
        "fr": "(simulé - cible) / tolérance : intervalle prédictif à 90 %, moyenne (point)",
        "en": "(simulated - target) / tolerance: 90% predictive interval, mean (dot)",
    },
    "role.fit": {"fr": "calage", "en": "fitted"},
    "role.validate": {"fr": "réservé, jamais calé", "en": "held out, never fitted"},
    "role.report": {"fr": "information", "en": "report"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "col.generation": {"fr": "génération", "en": "generation"},
    "col.proposals": {"fr": "propositions", "en": "proposals"},
    "col.accepted": {"fr": "acceptées", "en": "accepted"},
    "col.acceptance_rate": {"fr": "taux d'acceptation", "en": "acceptance rate"},
    "col.ess": {"fr": "taille effective", "en": "ESS"},
    "col.seconds": {"fr": "secondes", "en": "seconds"},
    "col.parameter": {"fr": "paramètre", "en": "parameter"},
    "col.prior_lower": {"fr": "borne basse a priori", "en": "prior lower"},
    "col.prior_upper": {"fr": "borne haute a priori", "en": "prior upper"},
    "col.width_ratio": {"fr": "rapport de largeur", "en": "width ratio"},
    "col.identified": {"fr": "identifié", "en": "identified"},
    "col.label": {"fr": "chiffre", "en": "figure"},
    "col.role": {"fr": "rôle", "en": "role"},
    "col.target": {"fr": "cible", "en": "target"},
    "col.tolerance": {"fr": "tolérance", "en": "tolerance"},
    "col.mean": {"fr": "moyenne", "en": "mean"},
    "col.met": {"fr": "atteint", "en": "met"},
}

LABELS.update({f"cal.{key}": text for key, text in _CALIBRATION.items()})


def _french_spaces(text: str) -> str:
    """French typography: a no-break space before ``:`` and a narrow one before ``%`` and ``;``,
    so that a line never breaks before them."""
    return text.replace(" :", "\u00a0:").replace(" %", f"{NNBSP}%").replace(" ;", f"{NNBSP};")


for _label in LABELS.values():
    _label["fr"] = _french_spaces(_label["fr"])
del _label

MONTHS: dict[Lang, tuple[str, ...]] = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
MONTHS_SHORT: dict[Lang, tuple[str, ...]] = {
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def check_lang(lang: str) -> Lang:
    """``lang`` as a :data:`Lang`, or a ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use one of {', '.join(LANGS)})")
    return lang


def t(key: str, lang: Lang, **values: Any) -> str:
    """The label ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = LABELS[key][lang]
    return text.format(**values) if values else text


def colon(lang: Lang) -> str:
    """``\u00a0: `` in French (no line break before it), ``: `` in English."""
    return "\u00a0: " if lang == "fr" else ": "


def count(n: float, key: str, lang: Lang, text: str | None = None, **values: Any) -> str:
    """``key.one`` or ``key.other`` by the plural rule of ``lang`` (French: below 2 is
    singular), with ``{n}`` as ``text`` (default: ``n`` formatted)."""
    singular = abs(n) < 2 if lang == "fr" else abs(n) == 1
    chosen = f"{key}.one" if singular and f"{key}.one" in LABELS else f"{key}.other"
    if chosen not in LABELS:
        chosen = key
    shown = text if text is not None else number(n, lang, unit="count")
    return t(chosen, lang, n=shown, **values)


def date_long(d: dt.date, lang: Lang) -> str:
    """``30 novembre 2023`` / ``30 November 2023`` (``1er`` for the first in French)."""
    day = "1er" if lang == "fr" and d.day == 1 else str(d.day)
    return f"{day} {MONTHS[lang][d.month - 1]} {d.year}"


def date_short(d: dt.date, lang: Lang) -> str:
    """``30/11/2023`` / ``30 Nov 2023``."""
    if lang == "fr":
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    return f"{d.day} {MONTHS_SHORT[lang][d.month - 1]} {d.year}"


def month_year(d: dt.date, lang: Lang) -> str:
    """``avr. 2020`` / ``Apr 2020``."""
    return f"{MONTHS_SHORT[lang][d.month - 1]} {d.year}"


def node_name(names: Any, lang: Lang) -> str:
    """A display name (a scenario ``DisplayName`` or ``{fr, en}`` mapping) in ``lang``."""
    if isinstance(names, dict):
        return str(names.get(lang) or names.get("en") or "")
    return str(getattr(names, lang))


def series_label(series: str, lang: Lang, node_names: dict[str, str] | None = None) -> str:
    """A daily series' label (``waiting.assore`` -> "ASSORE (hôtels) : liste d'attente"), or
    its name when it has none."""
    family, _, node = series.partition(".")
    key = f"series.{family}"
    if key not in LABELS or bool(node) != ("{node}" in LABELS[key][lang]):
        return series
    return t(key, lang, node=(node_names or {}).get(node, node))


def kpi_label(
    kpi: str,
    lang: Lang,
    node_names: dict[str, str] | None = None,
    groups: dict[str, str] | None = None,
    observations: dict[str, str] | None = None,
) -> str:
    """A readable label for a KPI column name such as ``waiting.assore.mean``, from its
    entry in the KPI catalogue (``sim.running.catalogue``).

    ``node_names`` maps node ids to display names, ``groups`` attribute ids to their labels
    and ``observations`` observation names to their labels (from the scenario); unknown KPIs
    are returned unchanged.
    """
    return _kpi_label(kpi, lang, node_names, groups, observations, table=False)


def table_kpi_label(
    kpi: str,
    lang: Lang,
    node_names: dict[str, str] | None = None,
    groups: dict[str, str] | None = None,
) -> str:
    """:func:`kpi_label` in the comparison tables' wording: the catalogue entry's
    ``table.<label key>`` where there is one (longer, for a table read without the charts),
    else its chart label."""
    return _kpi_label(kpi, lang, node_names, groups, None, table=True)


def _kpi_label(
    kpi: str,
    lang: Lang,
    node_names: dict[str, str] | None,
    groups: dict[str, str] | None,
    observations: dict[str, str] | None,
    table: bool,
) -> str:
    names = node_names or {}
    for entry, fields in catalogue.matches(kpi):
        key = _table_key(entry.label) if table else entry.label
        if "observation" in fields:
            return (observations or {}).get(fields["observation"]) or fields["observation"]
        if "exit" in fields:
            place = fields.get("node", fields["exit"])
            if fields["exit"] in names and place in names:
                return t(key, lang, exit=names[fields["exit"]], node=names[place])
            continue
        if "node" in fields:
            if fields["node"] in names:
                return t(key, lang, node=names[fields["node"]])
            continue
        if "group" in fields:
            return _group_label(key, fields["group"], lang, groups)
        if "funder" in fields:
            funder = f"funder.{fields['funder']}"
            return t(key, lang, funder=t(funder, lang) if funder in LABELS else fields["funder"])
        return t(key, lang)
    return kpi


def _table_key(key: str) -> str:
    """The comparison tables' wording of the label ``key`` when it has one, else ``key``."""
    return f"table.{key}" if f"table.{key}" in LABELS else key


def _group_label(key: str, group: str, lang: Lang, groups: dict[str, str] | None) -> str:
    labels = groups or {}
    if group.startswith("not_") and group.removeprefix("not_") in labels:
        name = t("kpi.not", lang, group=labels[group.removeprefix("not_")])
    else:
        name = labels.get(group, group)
    return t(key, lang, group=name)
