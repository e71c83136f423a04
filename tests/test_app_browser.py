"""``parcours app`` in a real browser: Debian's Chromium, headless, driven by Playwright (the
system browser; Playwright downloads none). The app runs as ``parcours app`` on a free
loopback port over a copy of the shipped scenarios. The test opens etape2-610, tries a bad
value, changes the last ASSORE capacity step to 800, saves it as a new file that ``parcours
validate`` accepts, compares it with the reference at 2 replications of 2 draws of the posterior
the scenario names (preselected, as on the command line), reads the table,
downloads the xlsx and checks a cell against comparison.csv, switches to French, and closes a
tab mid-run; no console error, and no request leaves the app's own address (every asset is
served locally). The screenshot goes to results/test-artifacts/app.png (and docs/app.png with
PARCOURS_UPDATE_SCREENSHOT=1).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.main import main
from sim.outputs import formats
from tests.conftest import ROOT, SCENARIOS
from tests.test_report import chromium  # noqa: F401  (Debian's Chromium, installed if missing)

pytest.importorskip(
    "nicegui", reason="the app extra is not installed (pip install 'parcours[app]')"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

pytestmark = pytest.mark.slow
sync_api.expect.set_options(timeout=30_000)  # a loaded machine: assertions wait as actions do

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Server:
    """``parcours app`` in a child process, its console lines collected."""

    def __init__(self, folder: Path) -> None:
        self.scenarios = folder / "scenarios"
        self.results = folder / "results"
        shutil.copytree(SCENARIOS, self.scenarios, ignore=shutil.ignore_patterns("sweeps"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        command = [sys.executable, "-m", "sim", "app", "--port", str(self.port), "--workers", "1",
                   "--scenarios", str(self.scenarios), "--results", str(self.results)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}  # else NiceGUI
        env["PYTHONUNBUFFERED"] = "1"  # takes itself for its own test server
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url, timeout=2).close()
                return
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.2)
        pytest.fail("parcours app did not answer within 60 s:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if text in line]
            if found:
                return found[0]
            time.sleep(0.2)
        pytest.fail(f"no '{text}' in the server's output:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            self.process.kill()
            self.process.wait(timeout=20)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("app"))
    try:
        yield running
    finally:
        running.stop()


def test_the_planner_workflow_in_a_browser(server: Server, chromium: str) -> None:  # noqa: F811
    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.set_default_timeout(30_000)

        # open the app and etape2-610
        page.goto(server.url)
        expect(page.get_by_text("parcours: scenario workbench")).to_be_visible()
        page.click('[data-testid="open-etape2-610.yaml"]')
        expect(page.locator("[data-testid=scenario]")).to_contain_text("Stage 2: 610 ASSORE")
        steps = page.locator('input[data-testid^="nodes.assore.capacity."][data-testid$=".value"]')
        expect(steps.last).to_have_value("610")
        last = page.locator(f'input[data-testid="nodes.assore.capacity.{steps.count() - 1}.value"]')
        expect(last).to_have_value("610")
        field = page.locator("label.q-field", has=last)

        # a bad value: the message of parcours validate, at its field, no traceback
        last.fill("-5")
        expect(field).to_contain_text("Input should be greater than or equal to 0 (got -5)")
        expect(page.locator("body")).not_to_contain_text("Traceback")

        # the last ASSORE step to 800, saved as a new file that parcours validate accepts
        last.fill("800")
        expect(page.locator("[data-testid=changes]")).to_contain_text(
            "nodes.assore.capacity[2023-01-01]: 610 -> 800"
        )
        expect(field).not_to_contain_text("Input should")
        page.locator("input[data-testid=new-name]").fill("etape2-800")
        page.click("[data-testid=save-as]")
        expect(page.locator("[data-testid=problems]")).to_contain_text("Saved: etape2-800.yaml")
        saved = server.scenarios / "etape2-800.yaml"
        done = CliRunner().invoke(main, ["validate", str(saved)])
        assert done.exit_code == 0, done.output
        assert "extends: etape2-610.yaml" in saved.read_text(encoding="utf-8")

        # compare it with the reference at 2 replications; the table appears
        expect(page.locator("[data-testid=pick]")).to_contain_text("etape2-800.yaml")
        expect(page.locator("[data-testid=reference]")).to_contain_text("etape2-610.yaml")
        page.locator("input[data-testid=replications]").fill("2")
        # by default, as parcours compare: the posterior the scenario names, with its draws
        expect(page.locator("[data-testid=posterior]")).to_contain_text(
            "Draws of the scenario's posterior (history-2019-2023-posterior.parquet)"
        )
        expect(page.locator("input[data-testid=draws]")).to_have_value("10")
        page.locator("input[data-testid=draws]").fill("2")
        page.click("[data-testid=start]")
        status = page.locator("[data-testid=status]")
        expect(status).to_contain_text("Done: compare-", timeout=120_000)
        name = status.inner_text().split("Done: ", 1)[1].strip()
        folder = server.results / name
        assert json.loads((folder / "manifest.json").read_text())["draws"] == 2
        table = pd.read_csv(folder / "comparison.csv")
        street = table[table["kpi"] == "obs.street_window"]
        row = street[street["scenario"] == "etape2-800"]
        assert len(row) == 1
        reference = street[street["scenario"] == "etape2-610"]
        decimals = formats.row_style("number", reference["mean"].iloc[0])[0]  # the row's
        diff = formats.number(row["diff"].iloc[0], "en", decimals, signed=True)
        shown = page.locator("[data-testid=comparison]")
        expect(shown).to_contain_text(str(row["label_en"].iloc[0]))
        expect(shown).to_contain_text(diff)

        # the xlsx: a cell against comparison.csv
        with page.expect_download() as download:
            page.click('[data-testid="download-comparison.xlsx"]')
        xlsx = folder.parent / "downloaded.xlsx"
        download.value.save_as(xlsx)
        values = pd.read_excel(xlsx, sheet_name="Values")
        cell = values.set_index("key").loc["obs.street_window", "etape2-800: mean"]
        assert math.isclose(float(cell), float(row["mean"].iloc[0]), rel_tol=1e-12)

        # French with one switch
        page.get_by_text("FR", exact=True).click()
        expect(page.get_by_text("parcours : atelier de scénarios")).to_be_visible()
        expect(shown).to_contain_text(str(row["label_fr"].iloc[0]))
        expect(shown).to_contain_text("Indicateur")
        page.get_by_text("EN", exact=True).click()
        expect(shown).to_contain_text("KPI")

        # a chart as SVG (the same chart as parcours plot)
        with page.expect_download() as download:
            page.click("[data-testid=download-chart-svg]")
        assert download.value.suggested_filename == f"{name}-street.svg"
        svg = folder.parent / "chart.svg"
        download.value.save_as(svg)
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")

        page.locator("[data-testid=results-name]").scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -80)")
        page.screenshot(path=str(_artifact("app.png")), full_page=False)
        if os.environ.get("PARCOURS_UPDATE_SCREENSHOT") == "1":
            shutil.copy(_artifact("app.png"), ROOT / "docs" / "app.png")

        # a tab closed mid-run: its job stops and leaves no folder
        page.locator("input[data-testid=replications]").fill("30")
        before = set(os.listdir(server.results))
        page.click("[data-testid=start]")
        expect(status).to_contain_text("Running:")
        running = status.inner_text()
        page.close()
        line = server.wait_for(": cancelled", timeout=60)
        assert line.startswith("job compare-")
        assert set(os.listdir(server.results)) == before, running
        browser.close()
    assert problems == []
    outside = [
        url for url in requests if not url.startswith(server.url) and not url.startswith("data:")
    ]
    assert outside == []  # every asset is served by the app itself


def _artifact(name: str) -> Path:
    folder = ROOT / "results" / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


SHORT = """\
# A short M/M/c queue for the two-tab test (every number a test choice).
name: short
start: 2000-01-01
end: 2001-07-01   # assumption: 18 months keep the test short
warmup: 365   # assumption: one year of warm-up
nodes:
  street:
    kind: street
    name: {fr: Arrivées, en: Arrivals}
    arrivals_per_year: 360   # assumption: as scenarios/verification/mmc.yaml
    referred_on_arrival: 1.0   # assumption: everyone goes straight to the queue
    arrival_routing: {queue: 1.0}   # assumption: a single queue
  queue:
    kind: accommodation
    name: {fr: File, en: Queue}
    capacity: 400   # assumption: c = 400
    initial: {occupancy: 360}   # assumption: near steady state
    readiness: {dist: exponential, mean: 365.25}   # assumption: mean stay one year
    routing: {done: 1.0}   # assumption: served people leave
  done:
    kind: exit
    name: {fr: Servi, en: Served}
    positive: true   # assumption: a completed service is positive
"""


def test_two_tabs_running_at_once_keep_their_results(server: Server, chromium: str) -> None:  # noqa: F811
    """Two tabs each save their own variant of a short queue and run its comparison at the
    same time: each gets its own folder and sees only its own scenarios."""
    expect = sync_api.expect
    (server.scenarios / "short.yaml").write_text(SHORT, encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        tabs = {"tab-380": "380", "tab-420": "420"}
        pages = {}
        for name, places in tabs.items():
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(server.url)
            page.click('[data-testid="open-short.yaml"]')
            capacity = page.locator('input[data-testid="nodes.queue.capacity"]')
            expect(capacity).to_have_value("400")
            capacity.fill(places)
            expect(page.locator("[data-testid=changes]")).to_contain_text(f"400 -> {places}")
            page.locator("input[data-testid=new-name]").fill(name)
            page.click("[data-testid=save-as]")
            expect(page.locator("[data-testid=problems]")).to_contain_text(f"Saved: {name}.yaml")
            page.locator("input[data-testid=replications]").fill("3")
            pages[name] = page
        for page in pages.values():
            page.click("[data-testid=start]")
        folders = {}
        for name, page in pages.items():
            status = page.locator("[data-testid=status]")
            expect(status).to_contain_text("Done: compare-", timeout=120_000)
            folders[name] = status.inner_text().split("Done: ", 1)[1].strip()
            table = page.locator("[data-testid=comparison]")
            other = next(n for n in tabs if n != name)
            expect(table).to_contain_text(f"Δ {name}")
            expect(table).not_to_contain_text(other)
        browser.close()
    assert folders["tab-380"] != folders["tab-420"]
    for name, folder in folders.items():
        runs = sorted(p.name for p in (server.results / folder / "runs").iterdir())
        assert runs == ["short", name]
