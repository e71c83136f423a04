"""The report a committee is handed, laid out by headless Chromium (Playwright driving Debian's
Chromium, as the app's browser tests do): a comparison of five scenarios with long names, in
French and in English, at 1280 px on screen and at A4 print width. Nothing runs past the right
edge, no table is wider than its box, no word is cut, and the console stays clean.
Screenshots go to ``results/test-artifacts/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.inputs.loading import validate_data
from sim.outputs.report import write_report
from sim.running.runner import run
from tests.test_app_browser import BROWSER_ARGS
from tests.test_plots import REPLICATIONS, SEED, make_compare, small_data
from tests.test_report import ARTIFACTS, chromium  # noqa: F401  (Debian's Chromium)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


def _screenshot(page: Any, path: Path) -> None:
    """The page as a picture for a person to look at; no assertion reads it. Under load,
    headless Chromium sometimes fails a full-page capture ("Unable to capture screenshot"):
    try once more, then go on without the picture."""
    for attempt in range(2):
        try:
            page.screenshot(path=str(path), full_page=True)
            return
        except sync_api.Error as err:
            if "Unable to capture screenshot" not in str(err):
                raise
            if attempt:
                import warnings

                warnings.warn(f"no screenshot {path.name}: {err}", stacklevel=2)


pytestmark = pytest.mark.slow

A4_PRINT_WIDTH = 718  # px at 96 dpi: 210 mm less Chromium's default 1 cm print margins
LAYOUTS = {"screen-1280": (1280, "screen"), "print-a4": (A4_PRINT_WIDTH, "print")}

OVERFLOW_JS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const root = document.documentElement;
  const width = root.clientWidth;
  const found = [];
  if (root.scrollWidth > width) found.push({what: 'document', scroll: root.scrollWidth, width});
  for (const table of document.querySelectorAll('table')) {
    const box = table.parentElement.getBoundingClientRect().width;
    const own = table.getBoundingClientRect().width;
    if (own > box + 1) found.push({what: 'table', cls: table.className, own, box});
  }
  for (const el of document.querySelectorAll('main *')) {
    if (el.parentElement.closest('svg')) continue;  // drawing inside a chart: the svg clips it
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) {
      found.push({what: el.tagName, cls: el.className.baseVal ?? el.className, right: r.right});
    }
  }
  const cut = Array.from(document.querySelectorAll('*'))
    .filter(el => ['break-all', 'anywhere'].includes(getComputedStyle(el).wordBreak))
    .map(el => el.tagName);
  return JSON.stringify({found: found.slice(0, 20), cut, width});
}"""


@pytest.fixture(scope="module")
def wide_compare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five scenarios, long names and French and English descriptions."""
    runs = []
    names = ["reference", "more-referrals-from-the-patrols", "many-more-referrals-and-outreach",
             "fewer-referrals-than-today", "twice-the-referrals-of-the-reference"]  # fmt: skip
    for name, referral in zip(names, (0.05, 0.08, 0.12, 0.03, 0.10), strict=True):
        data = small_data(name, referral)
        data["description"] = {
            "fr": f"Un petit parcours pour vérifier la mise en page ({name}).",
            "en": f"A small pathway to check the layout ({name}).",
        }
        runs.append(run(validate_data(data), REPLICATIONS, SEED))
    return make_compare(runs, tmp_path_factory.mktemp("wide") / "compare")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_report_fits_the_screen_and_the_printed_page(
    wide_compare: Path,
    chromium: str,  # noqa: F811
    lang: str,
    tmp_path: Path,
) -> None:
    page_file = write_report(wide_compare, tmp_path / f"report-{lang}.html", lang)
    html = page_file.read_text(encoding="utf-8")
    assert "A small pathway to check the layout" in html if lang == "en" else "Un petit" in html
    assert "vérifier" not in html if lang == "en" else "check the layout" not in html
    problems: dict[str, Any] = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            for name, (width, media) in LAYOUTS.items():
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors: list[str] = []
                page.on(
                    "console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None
                )
                page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                page.emulate_media(media=media)  # type: ignore[arg-type]
                page.goto(page_file.as_uri())
                result = json.loads(page.evaluate(OVERFLOW_JS))
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                _screenshot(page, ARTIFACTS / f"report-{lang}-{name}.png")
                page.close()
                assert result["width"] == width
                if result["found"] or result["cut"] or errors:
                    problems[name] = {**result, "console": errors}
        finally:
            browser.close()
    assert not problems, json.dumps(problems, indent=1)
