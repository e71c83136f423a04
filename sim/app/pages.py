"""The app's one page, built per browser tab: scenario list, the opened scenario (network,
capacities, edit forms, "Save as"), run and compare with progress and cancel, and results
(comparison table, interactive charts, downloads). Each tab has its own :class:`Session`:
nothing a tab does is kept at module level, so two tabs never see each other's work."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from nicegui import run, ui

from sim.app import edits, views
from sim.app.jobs import Job, start_job
from sim.app.text import tr
from sim.app.workspace import PathRefusedError, Workspace
from sim.inputs.loading import Problem, ScenarioError
from sim.outputs.charts import scenario_label
from sim.outputs.i18n import Lang
from sim.outputs.plots import Folder, load_folder
from sim.outputs.style import Metric
from sim.running.folders import FolderError

log = logging.getLogger(__name__)

_LABELS = {
    "capacity": "capacity",
    "places": "places_field",
    "releases_per_month": "releases_per_month",
    "arrivals_per_year": "arrivals_per_year",
    "contacts_per_week": "contacts_per_week",
    "referral_probability": "referral_probability",
    "referral_probability_per_visit": "referral_probability_per_visit",
    "routing": "routing",
    "cost_per_place_day": "cost_per_place_day",
    "cost_per_year": "cost_per_year",
    "end": "end",
    "warmup": "warmup",
    "from": "window_from",
    "to": "window_to",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _png_url(figure: Any) -> str:
    return "data:image/png;base64," + base64.b64encode(_image(figure, "png")).decode("ascii")


POINT_VALUES = ""
"""The parameters choice that runs the scenario files' own values (``--point``)."""
SCENARIO_POSTERIOR = ":scenario"
"""The parameters choice that draws the posterior the first scenario names (no folder name
can start with a colon)."""


def _image(figure: Any, kind: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=150)
    return buffer.getvalue()


@dataclasses.dataclass
class Session:
    """What one browser tab has open: its language, draft, job and results folder."""

    workspace: Workspace
    workers: int
    lang: Lang = "en"
    draft: edits.Draft | None = None
    problems: tuple[Problem, ...] = ()
    job: Job | None = None
    folder: Folder | None = None
    series: str = "street"
    window: tuple[dt.date, dt.date] | None = None
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    group_notes: dict[str, Any] = dataclasses.field(default_factory=dict)
    new_name: str = ""
    new_title: str = ""
    picked: list[str] = dataclasses.field(default_factory=list)
    reference: str | None = None
    replications: int = 10
    posterior: str = POINT_VALUES
    """POINT_VALUES, SCENARIO_POSTERIOR or a calibration folder of the results."""
    draws: int = 5
    named_by: str | None = None
    """The scenario file whose posterior the choice defaulted to."""

    # --- building the page -------------------------------------------------------------------

    def build(self) -> None:
        with ui.header().classes("items-center justify-between bg-slate-800"):
            self.heading = ui.label(tr("app_title", self.lang)).classes("text-lg")
            ui.toggle({"en": "EN", "fr": "FR"}, value=self.lang, on_change=self._set_lang).props(
                "data-testid=lang toggle-color=white toggle-text-color=black"
            )
        with ui.column().classes("w-full max-w-screen-xl mx-auto gap-4 p-2"):
            self.scenario_list()
            self.scenario_panel()
            self.run_panel()
            self.results_list()
            self.results_panel()
        ui.timer(0.5, self._poll)

    def _set_lang(self, event: Any) -> None:
        self.lang = event.value
        self.heading.set_text(tr("app_title", self.lang))
        for section in (
            self.scenario_list,
            self.scenario_panel,
            self.run_panel,
            self.results_list,
            self.results_panel,
        ):
            section.refresh()

    # --- scenarios -----------------------------------------------------------------------------

    @ui.refreshable_method
    def scenario_list(self) -> None:
        lang = self.lang
        with ui.card().classes("w-full"):
            ui.label(tr("scenarios", lang)).classes("text-xl")
            with ui.grid(columns="auto 1fr auto").classes("w-full items-center gap-x-4 gap-y-1"):
                for entry in self.workspace.scenario_list():
                    title = entry.title.get(lang) or entry.title.get("en") or entry.name
                    ui.label(entry.file).classes("font-mono text-sm")
                    with ui.column().classes("gap-0"):
                        ui.label(title).classes("font-medium")
                        if entry.description.get(lang):
                            ui.label(entry.description[lang]).classes("text-xs text-gray-600")
                    ui.button(
                        tr("open", lang), on_click=lambda e=entry.file: self.open_scenario(e)
                    ).props(f'flat dense data-testid="open-{entry.file}"')

    async def open_scenario(self, file: str) -> None:
        try:
            self.draft = await run.io_bound(edits.open_draft, self.workspace, file)
        except ScenarioError as err:
            self.draft = None
            ui.notify(f"{tr('invalid_file', self.lang)}: {err.problems[0]}", type="negative")
            return
        except PathRefusedError as err:
            ui.notify(str(err), type="negative")
            return
        self.problems = ()
        self.new_name = f"{Path(file).stem}-app"
        self.new_title = ""
        if file not in self.picked:
            self.picked = [file]
        self.scenario_panel.refresh()
        self.run_panel.refresh()

    async def _draw_diagram(self) -> None:
        if self.draft is None:
            return
        from sim.outputs.diagram import diagram_chart

        scenario, lang = self.draft.scenario, self.lang
        url = await run.io_bound(lambda: _png_url(diagram_chart(scenario, lang)))
        if url is not None and self.draft is not None and self.draft.scenario is scenario:
            self.diagram.set_source(url)

    @ui.refreshable_method
    def scenario_panel(self) -> None:
        draft, lang = self.draft, self.lang
        if draft is None:
            return
        sc = draft.scenario
        with ui.card().classes("w-full").props("data-testid=scenario"):
            ui.label(scenario_label(sc, lang)).classes("text-xl")
            ui.label(draft.file).classes("font-mono text-sm")
            if sc.described(lang):
                ui.label(sc.described(lang)).classes("text-sm text-gray-700")
            with ui.row().classes("w-full no-wrap gap-2 max-lg:flex-wrap"):
                self.diagram = (
                    ui.image("").classes("w-full lg:w-1/2").props("fit=contain data-testid=diagram")
                )
                ui.plotly(views.capacity_figure(sc, lang)).classes("w-full lg:w-1/2")
            with (
                ui.expansion(tr("edit", lang), icon="edit", value=True)
                .classes("w-full")
                .props("data-testid=edit")
            ):
                self.inputs, self.group_notes = {}, {}
                groups = edits.groups(draft)
                first = next((g.key for g in groups if g.fields[0].path.endswith("capacity")), "")
                for group in groups:  # the window and the first place with a capacity, opened
                    self._group(group, group.key in ("window", first))
                self._save_box()
        asyncio.get_event_loop().create_task(self._draw_diagram())

    def _group(self, group: edits.Group, opened: bool) -> None:
        lang = self.lang
        title = tr("window", lang) if group.key == "window" else group.names.get(lang, group.key)
        expansion = ui.expansion(title, value=opened).classes("w-full border rounded")
        expansion.props(f'dense data-testid="group-{group.key}"')
        with expansion, ui.row().classes("w-full items-start gap-6"):
            for field in group.fields:
                with ui.column().classes("gap-1"):
                    name = field.path.rsplit(".", 1)[-1]
                    ui.label(tr(_LABELS.get(name, name), lang)).classes("text-sm font-medium")
                    if field.kind == "schedule":
                        self._schedule(field.path)
                    elif field.kind == "routing":
                        self._routing(field.path)
                    else:
                        value = self.draft.get(field.path) if self.draft else None
                        self._input(field.path, "", value)
                    note = ui.label("").classes("text-xs text-red-700")
                    note.props(f'data-testid="note-{field.path}"')
                    self.group_notes[field.path] = note

    def _input(self, path: str, label: str, value: Any, width: str = "w-32") -> None:
        box = (
            ui.input(label, value=_text(value))
            .classes(width)
            .props(f'dense outlined debounce=250 data-testid="{path}"')
        )
        box.on_value_change(lambda e, p=path: self._changed(p, e.value))
        self.inputs[path] = box

    def _schedule(self, path: str) -> None:
        assert self.draft is not None
        value = self.draft.get(path)
        lang = self.lang
        if not isinstance(value, list):
            self._input(path, tr("value", lang), value)
        else:
            with ui.grid(columns=2).classes("gap-1"):
                for i, step in enumerate(value):
                    first = i == 0
                    when, amount = step.get("from"), step.get("value")
                    self._input(f"{path}.{i}.from", tr("date", lang) if first else "", when, "w-36")
                    self._input(f"{path}.{i}.value", tr("value", lang) if first else "", amount)
        with ui.row().classes("gap-1"):
            ui.button(tr("add_step", lang), on_click=lambda p=path: self._steps(p, add=True)).props(
                f'flat dense size=sm data-testid="add-{path}"'
            )
            if isinstance(value, list) and len(value) > 1:
                ui.button(
                    tr("remove_step", lang), on_click=lambda p=path: self._steps(p, add=False)
                ).props(f'flat dense size=sm data-testid="remove-{path}"')

    def _routing(self, path: str) -> None:
        assert self.draft is not None
        value = self.draft.get(path) or {}
        names = {k: v.name.model_dump()[self.lang] for k, v in self.draft.scenario.nodes.items()}
        with ui.grid(columns=2).classes("gap-1 items-center"):
            for target, share in value.items():
                ui.label(names.get(str(target), str(target))).classes("text-xs")
                self._input(f"{path}.{target}", "", share, "w-24")

    async def _steps(self, path: str, add: bool) -> None:
        if self.draft is None:
            return
        if add:
            self.draft.add_step(path)
        else:
            self.draft.remove_step(path)
        self.scenario_panel.refresh()
        await self._validate()

    async def _changed(self, path: str, text: str) -> None:
        if self.draft is None:
            return
        try:
            self.draft.set(path, text)
        except (KeyError, IndexError, TypeError):
            return
        await self._validate()

    async def _validate(self) -> edits.Check | None:
        """Check the draft as the file it would write; show each problem at its field."""
        if self.draft is None:
            return None
        name = self.new_name.strip() or "draft"
        draft = self.draft
        try:
            result = await run.io_bound(edits.check, self.workspace, draft, name, self.new_title)
        except PathRefusedError as err:
            ui.notify(str(err), type="negative")
            return None
        if result is None or draft is not self.draft:
            return None
        self.problems = result.problems
        self._show_problems(result)
        return result

    def _show_problems(self, result: edits.Check) -> None:
        for box in self.inputs.values():
            box.error = None
        for note in self.group_notes.values():
            note.set_text("")
        general = []
        for problem in result.problems:
            if problem.path in self.inputs:
                self.inputs[problem.path].error = problem.message
                continue
            owners = [k for k in self.group_notes if problem.path.startswith(k)]
            if owners:
                note = self.group_notes[max(owners, key=len)]
                note.set_text(f"{problem.path}: {problem.message}")
            else:
                general.append(str(problem))
        self.problem_list.set_text("\n".join(general))
        if result.scenario is not None and self.draft is not None:
            changes = edits.describe_changes(self.draft, result.scenario)
            self.change_list.set_text(changes)
        else:
            self.change_list.set_text("")

    def _save_box(self) -> None:
        lang = self.lang
        with ui.card().classes("w-full bg-slate-50"):
            with ui.row().classes("items-end gap-4"):
                ui.input(tr("new_name", lang)).bind_value(self, "new_name").props(
                    "dense outlined data-testid=new-name suffix=.yaml"
                )
                ui.input(tr("title", lang)).bind_value(self, "new_title").classes("w-96").props(
                    "dense outlined data-testid=new-title"
                )
                ui.button(tr("save_as", lang), on_click=self.save_as).props(
                    "data-testid=save-as icon=save"
                )
            self.problem_list = ui.label("").classes("text-sm text-red-700 whitespace-pre-wrap")
            self.problem_list.props("data-testid=problems")
            self.change_list = ui.label("").classes("text-xs font-mono whitespace-pre-wrap")
            self.change_list.props("data-testid=changes")

    async def save_as(self) -> None:
        if self.draft is None:
            return
        result = await self._validate()
        if result is None or not result.ok:
            return
        try:
            path = edits.save_as(self.workspace, self.draft, self.new_name.strip(), self.new_title)
        except PathRefusedError as err:
            self.problem_list.set_text(str(err))
            return
        except ScenarioError as err:
            self.problem_list.set_text("\n".join(map(str, err.problems)))
            return
        ui.notify(tr("saved", self.lang, file=path.name), type="positive")
        self.problem_list.set_text(tr("saved", self.lang, file=path.name))
        self.scenario_list.refresh()
        if path.name not in self.picked:
            self.picked = [*self.picked, path.name]
        if self.reference is None and self.draft.file in self.picked:
            self.reference = self.draft.file
        self.run_panel.refresh()

    # --- run and compare ------------------------------------------------------------------------

    @ui.refreshable_method
    def run_panel(self) -> None:
        lang = self.lang
        files = [e.file for e in self.workspace.scenario_list()]
        self.picked = [f for f in self.picked if f in files]
        if self.reference not in self.picked:
            self.reference = self.picked[0] if self.picked else None
        self._default_parameters()
        with ui.card().classes("w-full"):
            ui.label(tr("run", lang)).classes("text-xl")
            with ui.row().classes("items-end gap-4 w-full"):
                ui.select(
                    files,
                    multiple=True,
                    value=self.picked,
                    label=tr("pick", lang),
                    on_change=self._picked,
                ).classes("min-w-96").props("use-chips dense outlined data-testid=pick")
                self.reference_select = (
                    ui.select(self.picked, value=self.reference, label=tr("reference", lang))
                    .bind_value(self, "reference")
                    .classes("w-64")
                    .props("dense outlined data-testid=reference")
                )
                ui.number(
                    tr("replications", lang), min=2, max=1000, step=1, precision=0
                ).bind_value(self, "replications", forward=lambda v: int(v or 2)).classes(
                    "w-32"
                ).props("dense outlined data-testid=replications")
                self.posterior_select = (
                    ui.select(self._posterior_options(), label=tr("posterior", lang))
                    .bind_value(self, "posterior")
                    .classes("w-64")
                    .props("dense outlined data-testid=posterior")
                )
                ui.number(tr("draws", lang), min=1, max=200, step=1, precision=0).bind_value(
                    self, "draws", forward=lambda v: int(v or 1)
                ).bind_visibility_from(self, "posterior").classes("w-24").props(
                    "dense outlined data-testid=draws"
                )
            with ui.row().classes("items-center gap-4 w-full"):
                ui.button(tr("start", lang), on_click=self.start).props(
                    "data-testid=start icon=play_arrow"
                )
                self.cancel_button = ui.button(tr("cancel", lang), on_click=self.cancel).props(
                    "data-testid=cancel flat icon=stop"
                )
                self.progress = ui.linear_progress(value=0, show_value=False).classes("w-64")
                self.status = ui.label("").props("data-testid=status")
                self.status.classes("whitespace-pre-wrap")
            self._show_job()

    def _picked(self, event: Any) -> None:
        self.picked = list(event.value or [])
        if self.reference not in self.picked:
            self.reference = self.picked[0] if self.picked else None
        self.reference_select.set_options(self.picked, value=self.reference)
        self._default_parameters()
        self.posterior_select.set_options(self._posterior_options(), value=self.posterior)

    def parameters(self) -> tuple[Path | None, int]:
        """The posterior file a job draws from and how many draws (None, 0: point values)."""
        posterior = None
        if self.posterior == SCENARIO_POSTERIOR:
            named = self.workspace.scenario_posterior(self.picked[0]) if self.picked else None
            posterior = named[0] if named is not None else None
        elif self.posterior != POINT_VALUES:
            posterior = self.workspace.posterior(self.posterior)
        return posterior, (max(1, int(self.draws)) if posterior is not None else 0)

    def _named(self) -> tuple[Path, int] | None:
        """The posterior the first scenario picked names (as ``parcours compare`` reads it
        from its first file), if any."""
        if not self.picked:
            return None
        try:
            return self.workspace.scenario_posterior(self.picked[0])
        except PathRefusedError:
            return None

    def _default_parameters(self) -> None:
        """As the command line: the first scenario's posterior with its draws when it names
        one, else point values; a choice made stays while the first scenario does."""
        first = self.picked[0] if self.picked else None
        if first == self.named_by:
            return
        self.named_by = first
        named = self._named()
        if named is None:
            self.posterior = POINT_VALUES
        else:
            self.posterior, self.draws = SCENARIO_POSTERIOR, named[1]

    def _posterior_options(self) -> dict[str, str]:
        lang = self.lang
        options = {POINT_VALUES: tr("point_values", lang)}
        named = self._named()
        if named is not None:
            options[SCENARIO_POSTERIOR] = tr("scenario_posterior", lang, file=named[0].name)
        options |= {p: p for p in self.workspace.posteriors()}
        if self.posterior not in options:
            self.posterior = POINT_VALUES
        return options

    def start(self) -> None:
        lang = self.lang
        if self.job is not None and self.job.state == "running":
            return
        if not self.picked:
            self.status.set_text(tr("need_two", lang))
            return
        try:
            files = [self.workspace.scenario(f) for f in self.picked]
            posterior, draws = self.parameters()
            kind = "compare" if len(files) > 1 else Path(files[0]).stem
            out = self.workspace.new_folder(kind)
        except PathRefusedError as err:
            self.status.set_text(str(err))
            return
        reference = None
        if self.reference and len(files) > 1:
            reference = _scenario_name(self.workspace, self.reference)
        self.job = start_job(
            files,
            max(2, int(self.replications)),
            out,
            workers=self.workers,
            posterior=posterior,
            draws=draws,
            lang=lang,
            reference=reference,
        )
        self._show_job()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def close(self) -> None:
        """The tab is gone: its running job stops and writes nothing."""
        if self.job is not None and self.job.state == "running":
            self.job.cancel()

    def _show_job(self) -> None:
        job, lang = self.job, self.lang
        if job is None:
            self.cancel_button.set_enabled(False)
            return
        self.progress.set_value(job.done / job.total if job.total else 0)
        self.cancel_button.set_enabled(job.state == "running")
        if job.state == "running":
            self.status.set_text(tr("running", lang, done=job.done, total=job.total))
        elif job.state == "done":
            self.status.set_text(tr("done", lang, folder=job.out.name))
        elif job.state == "cancelled":
            self.status.set_text(tr("cancelled", lang))
        else:
            self.status.set_text(f"{tr('failed', lang)}: {job.message}")

    async def _poll(self) -> None:
        job = self.job
        if job is None or getattr(job, "_shown", False):
            return
        self._show_job()
        if job.state == "running":
            return
        job._shown = True  # type: ignore[attr-defined]
        if job.state == "done":
            self.results_list.refresh()
            await self.open_folder(job.out.name)

    # --- results -------------------------------------------------------------------------------

    @ui.refreshable_method
    def results_list(self) -> None:
        lang = self.lang
        expansion = ui.expansion(tr("results", lang), icon="folder")
        with expansion.classes("w-full border rounded").props("data-testid=results-list"):
            grid = ui.grid(columns="auto auto 1fr auto").classes("w-full items-center gap-x-4")
            with grid:
                for entry in self.workspace.results_list()[:50]:
                    ui.label(entry.name).classes("font-mono text-sm")
                    ui.label(entry.kind)
                    ui.label(", ".join(entry.scenarios)).classes("text-sm")
                    ui.button(
                        tr("open", lang), on_click=lambda n=entry.name: self.open_folder(n)
                    ).props(f'flat dense data-testid="open-results-{entry.name}"')

    async def open_folder(self, name: str) -> None:
        try:
            path = self.workspace.folder(name)
            folder = await run.io_bound(load_folder, path)
        except (PathRefusedError, FolderError, OSError, ValueError, KeyError) as err:
            ui.notify(str(err), type="negative")
            return
        if folder is None:
            return
        self.folder = folder
        sc = folder.scenario
        if sc.window is not None:  # the question's period, else the KPIs' window
            self.window = (sc.window.start, sc.window.end)
        else:
            first = sc.start + dt.timedelta(days=sc.warmup_days)
            self.window = (first, sc.end - dt.timedelta(days=1))
        self.series = "street"
        self.results_panel.refresh()

    @ui.refreshable_method
    def results_panel(self) -> None:
        folder, lang = self.folder, self.lang
        if folder is None:
            return
        with ui.card().classes("w-full").props("data-testid=results"):
            ui.label(folder.path.name).classes("text-xl font-mono").props(
                "data-testid=results-name"
            )
            if folder.kind == "compare":
                ui.label(tr("table", lang)).classes("text-lg")
                columns, rows = views.comparison_rows(folder, lang)
                ui.table(columns=columns, rows=rows, row_key="key").classes("w-full").props(
                    "dense flat bordered wrap-cells data-testid=comparison hide-pagination"
                    " :rows-per-page-options=[0]"
                )
                ui.label(tr("table_note", lang)).classes("text-xs text-gray-600")
                ui.plotly(views.differences_figure(folder, lang)).classes("w-full")
            options = {c: views.series_title(folder, c, lang) for c in views.series_columns(folder)}
            with ui.row().classes("items-end gap-4"):
                ui.select(
                    options, value=self.series, label=tr("series", lang), on_change=self._series
                ).classes("w-96").props("dense outlined")
                start, end = self.window or (folder.scenario.start, folder.scenario.end)
                self.window_from = ui.input(tr("from", lang), value=start.isoformat()).props(
                    "dense outlined data-testid=window-from debounce=400"
                )
                self.window_to = ui.input(tr("to", lang), value=end.isoformat()).props(
                    "dense outlined data-testid=window-to debounce=400"
                )
                self.window_from.on_value_change(self._window)
                self.window_to.on_value_change(self._window)
            self.series_plot = ui.plotly(
                views.series_figure(folder, self.series, lang, self.window)
            ).classes("w-full")
            ui.label(tr("window_table", lang)).classes("text-lg")
            self.window_table = (
                ui.table(columns=[], rows=[], row_key="key")
                .classes("w-full")
                .props("dense flat bordered data-testid=window-table hide-pagination")
            )
            self._fill_window()
            self._downloads(folder)

    def _series(self, event: Any) -> None:
        self.series = str(event.value)
        self._redraw_series()

    def _redraw_series(self) -> None:
        if self.folder is None:
            return
        figure = views.series_figure(self.folder, self.series, self.lang, self.window)
        self.series_plot.update_figure(figure)

    def _window(self) -> None:
        try:
            start = dt.date.fromisoformat(str(self.window_from.value).strip())
            end = dt.date.fromisoformat(str(self.window_to.value).strip())
        except ValueError:
            self.window_from.error = "YYYY-MM-DD"
            return
        if end < start:
            self.window_to.error = "≥ " + start.isoformat()
            return
        self.window_from.error = self.window_to.error = None
        self.window = (start, end)
        self._fill_window()
        self._redraw_series()

    def _fill_window(self) -> None:
        if self.folder is None or self.window is None:
            return
        columns, rows = views.window_rows(self.folder, self.lang, *self.window)
        self.window_table.columns = columns
        self.window_table.rows = rows
        self.window_table.update()

    def _downloads(self, folder: Folder) -> None:
        lang = self.lang
        files = [
            f
            for f in ("comparison.xlsx", "comparison.csv", "comparison.md", "queues.png",
                      "kpis.csv", "summary.csv")
            if (folder.path / f).is_file()
        ]  # fmt: skip
        ui.label(tr("downloads", lang)).classes("text-lg")
        with ui.row().classes("gap-2"):
            for file in files:
                ui.button(file, on_click=lambda f=file: self._download(f)).props(
                    f'outline dense icon=download data-testid="download-{file}"'
                )
            ui.button(tr("report", lang), on_click=self._report).props(
                "outline dense icon=description data-testid=download-report"
            )
            for kind in ("png", "svg"):
                ui.button(tr(f"chart_{kind}", lang), on_click=lambda k=kind: self._chart(k)).props(
                    f"outline dense icon=image data-testid=download-chart-{kind}"
                )

    def _download(self, file: str) -> None:
        if self.folder is None:
            return
        try:
            path = self.workspace.download(self.folder.path.name, file)
        except PathRefusedError as err:
            ui.notify(str(err), type="negative")
            return
        ui.download.file(path)

    async def _report(self) -> None:
        from sim.outputs.report import write_report

        if self.folder is None:
            return
        folder, lang = self.folder.path, self.lang
        target = folder / f"report-{lang}.html"
        if not target.is_file():
            await run.io_bound(write_report, folder, target, lang)
        ui.download.file(self.workspace.download(folder.name, target.name))

    async def _chart(self, kind: str) -> None:
        from sim.outputs.plots import chart

        if self.folder is None:
            return
        folder, lang, column = self.folder, self.lang, self.series
        metric, _, node = column.partition(".")
        start, end = self.window or (None, None)

        def draw() -> bytes:
            figure = chart(folder, cast(Metric, metric), node or None, lang, start=start, end=end)
            return _image(figure, kind)

        data = await run.io_bound(draw)
        if data is not None:
            ui.download.content(data, f"{folder.path.name}-{column}.{kind}")


def _scenario_name(workspace: Workspace, file: str) -> str | None:
    for entry in workspace.scenario_list():
        if entry.file == file:
            return entry.name
    return None


def page(workspace: Workspace, workers: int) -> Callable[[], None]:
    """The page function: a new :class:`Session` for each tab, cancelled when it closes."""

    def index() -> None:
        session = Session(workspace, workers)
        ui.page_title("parcours")
        session.build()
        ui.context.client.on_delete(session.close)

    return index
