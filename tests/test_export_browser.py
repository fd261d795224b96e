"""The HTML and SVG exports in a real browser (headless Chromium): screenshots, and every table column
lined up, with no network font (issue 16).

Chromium comes from Debian (`apt-get install -y chromium`; .ci/run installs it). Outside CI the test is
skipped, saying why, only when no chromium binary exists; in CI (CI=1) a missing browser fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from test_widths import BIG, _report

from rnnshape.render.multi import render_sweep
from rnnshape.render.screen import export
from rnnshape.render.tables import render

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
if BROWSER is None and not os.environ.get("CI"):
    pytestmark = pytest.mark.skip(reason="no chromium on this machine (apt-get install -y chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

# For every line of the <pre>: the x of each non-space character, measured by the browser's own layout.
MEASURE = """
<script>
window.addEventListener("load", () => {
  const pre = document.querySelector("pre");
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  const lines = [[]];
  let node, col = 0;
  const range = document.createRange();
  while ((node = walker.nextNode())) {
    for (let i = 0; i < node.data.length; i++) {
      const ch = node.data[i];
      if (ch === "\\n") { lines.push([]); col = 0; continue; }
      if (ch !== " ") {
        range.setStart(node, i); range.setEnd(node, i + 1);
        const r = range.getBoundingClientRect();
        lines[lines.length - 1].push([col, r.left, r.width]);
      }
      col += 1;
    }
  }
  const out = document.createElement("div");
  out.id = "measured";
  out.textContent = JSON.stringify({lines, font: getComputedStyle(pre).fontFamily});
  document.body.appendChild(out);
});
</script>
"""


def _chromium(*args: str, profile) -> subprocess.CompletedProcess:
    assert BROWSER, "chromium is missing in CI: .ci/run installs it with apt-get"
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def _measure(html_path, tmp_path) -> dict:
    page = tmp_path / "measure.html"
    page.write_text(html_path.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    r = _chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri(), profile=tmp_path / "profile-m")
    start = r.stdout.index('<div id="measured">') + len('<div id="measured">')
    raw = r.stdout[start:r.stdout.index("</div>", start)]
    return json.loads(raw.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.mark.slow
@pytest.mark.parametrize("name, renderable", [
    ("tables", lambda: render(_report(BIG, True))),
    ("sweep", lambda: render_sweep(__import__("test_multi_render")._sweep(
        **__import__("test_multi_render").SWEEPS["grid_timed"]))),
])
def test_html_export_columns_line_up_in_chromium(name, renderable, tmp_path):
    html = tmp_path / f"{name}.html"
    export(renderable(), html, width=100)
    text = html.read_text(encoding="utf-8")
    assert "http://" not in text.split("<body>")[0] and "https://" not in text.split("<body>")[0]
    measured = _measure(html, tmp_path)
    assert "DejaVu Sans Mono" in measured["font"]
    chars = [c for line in measured["lines"] for c in line]
    assert len(chars) > 500
    width = sorted(w for _, _, w in chars)[len(chars) // 2]  # the advance of one cell
    left = min(x - col * width for col, x, _ in chars)
    # every character sits in its column: x = left + column × cell width, to a tenth of a cell
    off = [(col, round(x - left - col * width, 2)) for col, x, _ in chars if abs(x - left - col * width) > width / 10]
    assert off == [], f"{len(off)} characters out of their column, e.g. {off[:5]}"
    shot = tmp_path / f"{name}.png"
    _chromium(f"--screenshot={shot}", "--window-size=1100,1400", html.as_uri(), profile=tmp_path / "profile-s")
    assert shot.exists() and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_svg_export_renders_without_network_fonts(tmp_path):
    svg = tmp_path / "sweep.svg"
    export(render_sweep(__import__("test_multi_render")._sweep(**__import__("test_multi_render").SWEEPS["grid_timed"])),
           svg, width=100)
    text = svg.read_text(encoding="utf-8")
    assert "@font-face" not in text and "cdnjs" not in text and "DejaVu Sans Mono" in text
    assert "&#160;&#160;" not in text  # each word placed by its column, not after a run of spaces
    shot = tmp_path / "sweep-svg.png"
    _chromium(f"--screenshot={shot}", "--window-size=1300,1600", svg.as_uri(), profile=tmp_path / "profile-v")
    assert shot.exists() and shot.stat().st_size > 10_000
