"""The report as a user sees it: rendered by real headless Chromium (no network, no scripts).

Skips when chromium is absent, unless ``CI`` is set (then chromium is required and the test fails).
Set ``ASYNCBOUND_SCREENSHOT=path.png`` to keep the screenshot (docs/report_screenshot.png is made so).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from asyncbound import reports

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium():
    path = _chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return path


def _run(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_report_renders_in_chromium(chromium, result_dir, tmp_path):
    path = reports.write_report(result_dir, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    n_figures = html.count("<svg ")
    url = path.resolve().as_uri()

    proc = _run(chromium, tmp_path, "--dump-dom", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # The verdict table made it into the DOM with one row per check and every verdict.
    table = re.search(r'<table id="verdict-table">(.*?)</table>', dom, re.S)
    assert table, dom[:2000]
    rows = re.findall(r"<tr>", table.group(1))
    assert len(rows) == 1 + len(reports.load_records(result_dir))
    for verdict in reports.VERDICTS:
        assert f"v-{verdict}" in table.group(1)
    # Every figure is an SVG element of the DOM (not an image, not lost to a parse error).
    assert len(re.findall(r"<svg\b[^>]*class=\"fig\"", dom)) == n_figures >= 12
    assert dom.count("<math") >= 4

    shot = tmp_path / "report.png"
    proc = _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("ASYNCBOUND_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
