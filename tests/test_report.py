"""The HTML report: structure and content for run, compare and calibration folders, and a real
browser check (Debian's Chromium, headless, driven over the DevTools protocol): no console
error, no request beyond the file itself, every chart laid out and painted. The screenshot is
kept in ``results/test-artifacts/``.

Chromium is installed by the session fixture when missing and the tests run as root
(``apt-get install -y chromium``); elsewhere the browser test is skipped with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli.plot import report as report_command
from sim.outputs.formats import NNBSP
from sim.outputs.report import chart_list, write_report
from tests.test_plots import folders, loaded  # noqa: F401  (shared session fixtures)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "results" / "test-artifacts"


class _Outline(HTMLParser):
    """Tags, ids, attributes and text of an HTML document, for structure checks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id" and value:
                self.ids.add(value)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def reports(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: F811
    """The report of each folder: run in English, compare in French (a calibration folder's
    report: ``test_abc_folder.py``)."""
    out = tmp_path_factory.mktemp("reports")
    return {
        "run": write_report(folders["run"], out / "run-en.html", "en"),
        "compare": write_report(folders["compare"], out / "compare-fr.html", "fr"),
    }


@pytest.mark.slow
def test_report_is_self_contained(reports: dict[str, Path]) -> None:
    for path in reports.values():
        html = path.read_text(encoding="utf-8")
        doc = outline(html)
        assert "script" not in doc.tags
        assert "link" not in doc.tags
        assert "img" not in doc.tags  # charts are inline SVG
        for tag, name, value in doc.attrs:
            if name in ("src", "href", "xlink:href", "action", "data"):
                assert value.startswith("#"), (tag, name, value)
        assert "url(http" not in html
        assert "@import" not in html


def test_report_structure(reports: dict[str, Path], loaded: dict[str, Any]) -> None:  # noqa: F811
    sections = {"question", "scenarios", "kpis", "charts", "provenance"}
    for kind, path in reports.items():
        html = path.read_text(encoding="utf-8")
        doc = outline(html)
        assert sections <= doc.ids, kind
        folder = loaded[kind]
        expected = {f"chart-{c[3]}" for c in chart_list(folder, "fr")} | {"chart-network"}
        assert expected <= doc.ids
        assert html.count("<svg ") == len(expected)
        assert html.startswith("<!DOCTYPE html>")
    assert "differences" in outline(reports["compare"].read_text()).ids
    assert "differences" not in outline(reports["run"].read_text()).ids
    assert "targets" in outline(reports["run"].read_text()).ids  # run folders have fit targets


def test_report_content_compare(reports: dict[str, Path], folders: dict[str, Path]) -> None:  # noqa: F811
    html = reports["compare"].read_text(encoding="utf-8")
    text = " ".join(outline(html).text)
    assert '<html lang="fr">' in html
    assert "Comparaison de scénarios" in text
    assert "A small pathway for the chart tests." in text  # the question
    differs = " ".join(outline(html.split('id="differences"')[1].split("</section>")[0]).text)
    assert "Maraudes\u00a0: probabilité d&#39;orientation" in html  # the node's name, a label
    assert f"5{NNBSP}%" in differs  # values in words, not 0.05
    assert f"8{NNBSP}%" in differs
    assert "nodes." not in differs  # no dotted path, no raw JSON
    assert "{" not in differs
    limits = " ".join(outline(html.split('id="limits"')[1].split("</section>")[0]).text)
    # the street count it is fitted to, in words from the scenario, the one held out, and
    # the date after which no count constrains the street
    assert f"du 1er janvier 2021 au 31 décembre 2021 (1{NNBSP}250 ±\u00a050)" in limits
    assert "le nombre de personnes à la rue le 1er juin 2022 (800 ±\u00a0100)" in limits
    assert "Aucun comptage ne contraint la rue après le 1er juin 2022" in limits
    assert "Street 2021" not in limits  # the scenario's English label stays out
    reading = " ".join(outline(html.split('id="reading"')[1].split("</section>")[0]).text)
    assert f"90{NNBSP}% des réplications" in reading  # what a chart band is
    assert "intervalle de confiance à 95" in reading  # what a table interval is
    assert "appariées" in reading
    assert "break-all" not in html  # no word cut mid-way
    assert not re.search(r"±\s0(?![,.\d])", text)  # no "± 0" on a value that varies
    assert "Personnes à la rue (moyenne)" in text
    assert f"{NNBSP}%" in text  # French percentages
    assert re.search(rf"1{NNBSP}\d{{3}} ±\u00a0\d", text)  # French thousands with a CI
    comparison = pd.read_csv(folders["compare"] / "comparison.csv")
    significant = comparison[comparison["significant"].astype(str) == "True"]
    assert html.count('class="num sig"') == len(significant) + sum(
        1 for k in significant["kpi"] if k in _headline(html)
    )
    english = " ".join(outline(reports["run"].read_text(encoding="utf-8")).text)
    assert "Results: Small pathway (reference)" in english
    assert "People on the street (mean)" in english
    assert NNBSP not in english


def _headline(html: str) -> set[str]:
    """KPIs of the headline table (they appear in both tables)."""
    head = html.split('class="kpis headline"')[1].split("</table>")[0]
    return set(re.findall(r'data-kpi="([^"]+)"', head))


def test_report_content_targets(reports: dict[str, Path], loaded: dict[str, Any]) -> None:  # noqa: F811
    html = reports["run"].read_text(encoding="utf-8")
    targets = loaded["run"].targets
    section = html.split('id="targets"')[1].split("</section>")[0]
    assert section.count("<tr>") == len(targets) + 1
    assert section.count('class="met"') == sum(1 for t in targets if t.met)
    assert section.count('class="missed"') == sum(1 for t in targets if t.met is False)
    assert "fit" in section
    assert "validate" in section


def test_report_provenance(reports: dict[str, Path], folders: dict[str, Path]) -> None:  # noqa: F811
    info = json.loads((folders["compare"] / "manifest.json").read_text())
    section = reports["compare"].read_text().split('id="provenance"')[1]
    assert str(info["seed"]) in section
    for scenario in info["scenarios"]:
        assert scenario["sha256"] in section
    assert info["versions"]["parcours"] in section


def test_cli_report(folders: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "r.html"
    args = [str(folders["run"]), "--lang", "en", "--out", str(out)]
    result = CliRunner().invoke(report_command, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    assert '<html lang="en">' in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(report_command, [str(tmp_path)])
    assert bad.exit_code == 2
    assert "not a parcours run or compare or calibrate folder" in bad.output


# --- the browser check ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing and we are root."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"could not install Chromium with apt-get: {done.stderr.strip()[-300:]}")
    return found


class DevTools:
    """A minimal Chrome DevTools protocol client over one page's websocket."""

    def __init__(self, url: str) -> None:
        websocket = pytest.importorskip(
            "websocket", reason="websocket-client is needed for the browser check (dev extra)"
        )
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self.events.append(json.loads(self.ws.recv()))


@contextlib.contextmanager
def browser(chromium: str, profile: Path) -> Iterator[DevTools]:
    """Start headless Chromium on about:blank and connect to its page."""
    args = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
        f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "--remote-allow-origins=*", "--window-size=1280,900", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not start its DevTools server")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            pages = [p for p in json.load(r) if p.get("type") == "page"]
        client = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.call("Browser.close")
            client.ws.close()
    finally:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


CHARTS_JS = """JSON.stringify(Array.from(document.querySelectorAll('figure.chart > svg')).map(s => {
  const r = s.getBoundingClientRect(); const c = getComputedStyle(s);
  return {id: s.parentElement.id, x: r.left + scrollX, y: r.top + scrollY, w: r.width,
          h: r.height, display: c.display, visibility: c.visibility,
          shapes: s.querySelectorAll('path, use').length,
          texts: s.querySelectorAll('text').length,
          painted: Array.from(s.querySelectorAll('text'))
            .filter(t => t.getBBox().width > 0).length};
}))"""


def test_report_renders_in_chromium(
    chromium: str, reports: dict[str, Path], tmp_path: Path
) -> None:
    from PIL import Image

    page = reports["compare"]
    with browser(chromium, tmp_path / "profile") as tab:
        for domain in ("Runtime", "Log", "Network", "Page"):
            tab.call(f"{domain}.enable")
        tab.call("Page.navigate", url=page.as_uri())
        tab.wait_for("Page.loadEventFired")
        found = tab.call("Runtime.evaluate", expression=CHARTS_JS, returnByValue=True)
        charts = json.loads(found["result"]["value"])
        size = tab.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = tab.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )  # fmt: skip
        events = list(tab.events)
    png = base64.b64decode(shot["data"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report-compare-fr.png").write_bytes(png)

    errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"]
    errors += [
        e
        for e in events
        if e.get("method") == "Runtime.consoleAPICalled"
        and e["params"].get("type") in ("error", "assert")
    ]
    errors += [
        e
        for e in events
        if e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"
    ]
    assert not errors, errors
    requests = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests == [page.as_uri()]

    assert len(charts) == page.read_text().count("<svg ")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for chart in charts:
        assert chart["display"] != "none"
        assert chart["visibility"] == "visible"
        assert chart["w"] > 600, chart
        assert chart["h"] > 300, chart
        assert chart["shapes"] + chart["texts"] > 30, chart
        assert chart["texts"] > 5, chart  # titles, ticks and labels stay text...
        assert chart["painted"] == chart["texts"], chart  # ...that the browser lays out
        left, top = int(chart["x"]), int(chart["y"])
        box = (left, top, left + int(chart["w"]), top + int(chart["h"]))
        colours = image.crop(box).getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20, chart  # painted, not a blank box


def test_report_stays_small_with_its_text_as_text(
    reports: dict[str, Path],
    loaded: dict[str, Any],  # noqa: F811
) -> None:
    from sim.outputs import style
    from sim.outputs.plots import chart

    html = reports["compare"].read_text(encoding="utf-8")
    assert len(html.encode()) < 1_000_000  # two scenarios over five years (etape2: under 2 MB)
    street = html.split('id="chart-street"')[1].split("</figure>")[0]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", street)
    assert "Personnes à la rue" in texts
    assert "Personnes" in texts  # the axis label
    assert {"2020", "2024", f"1{NNBSP}000", "Confinement (avr. 2020)"} <= set(texts)
    sizes = {}
    for compact in (True, False):  # weekly means: a fraction of the daily chart
        with style.context("a4"):
            fig = chart(loaded["compare"], "street", None, "fr", "a4", compact=compact)
            sizes[compact] = len(style.svg_markup(fig, "s"))
    assert sizes[True] < sizes[False] / 2
