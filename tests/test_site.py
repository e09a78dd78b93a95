"""The course website (site/build.py, `make site`): its sources, then the built pages in headless Chromium.

The browser tests need the `docs` extra (`make site` installs it into .venv) and Debian's `chromium` and
`chromium-driver`; without them they skip and say which is missing. The site is served from 127.0.0.1, and
Chromium resolves no other host name, so nothing can leave the machine; the tests also read Chromium's network
log and fail on any request for something that is not on that local server.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from .conftest import load_script

# Sphinx 9 warns the theme and myst-parser of an API change that Sphinx 11 brings; not this course's code
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Check CHANGES for Sphinx API")

ROOT = Path(__file__).resolve().parent.parent
site_build = load_script(ROOT / "site" / "build.py", "course_site_build")

NOTEBOOKS = site_build.colab_cell.notebooks(ROOT)
REPO = site_build.colab_cell.current_repo(ROOT)


def _outputs(path: Path, test) -> int:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []) if test(o.get("data", {})))


def _images(path: Path) -> int:
    return _outputs(path, lambda data: "image/png" in data or "image/svg+xml" in data or "image/jpeg" in data)


def _audios(path: Path) -> int:
    return _outputs(path, lambda data: "<audio" in "".join(data.get("text/html", "")))


# --- the sources: no browser, no docs extra -----------------------------------------------------------------

def test_links_use_the_colab_cells_address():
    colab, download = site_build.links(repo="someone/fork", path="notebooks/02_x.ipynb")
    assert colab == "https://colab.research.google.com/github/someone/fork/blob/main/notebooks/02_x.ipynb"
    assert download == "https://github.com/someone/fork/raw/main/notebooks/02_x.ipynb"


def test_notebook_rows_read_title_time_and_prerequisites(tmp_path):
    (tmp_path / "notebooks").mkdir()
    opening = ("# 03 · A title\n\n**What you will learn**\n- x\n\n**Prerequisites:** notebook 02 (MFCCs) and a\n"
               "first look at Keras. **Time:** about 60 minutes.\n\n**Data:** GTZAN.")
    for name, text in (("03_a.ipynb", opening), ("04_b.ipynb", "# 04 · Another\n\nNo labels here.")):
        cells = [{"cell_type": "markdown", "metadata": {}, "source": text}]
        (tmp_path / "notebooks" / name).write_text(json.dumps({"cells": cells}), encoding="utf-8")
    first, second = site_build.notebook_rows(tmp_path)
    assert (first["number"], first["title"]) == ("03", "03 · A title")
    assert first["prerequisites"] == "notebook 02 (MFCCs) and a first look at Keras."
    assert first["time"] == "about 60 minutes."
    assert second["time"] == second["prerequisites"] == site_build.NOT_STATED


def test_stage_replaces_the_badge_image_and_lists_every_notebook(tmp_path):
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "notebooks" / "stale.md").write_text("left over from an earlier build")
    extra = site_build.stage(src=src)
    assert not (src / "notebooks" / "stale.md").exists()
    assert extra == [name for name in site_build.OPTIONAL_PAGES if (ROOT / name).is_file()]
    home = (src / "index.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"](notebooks/{path.name})" in home and f"notebooks/{path.stem}\n" in home
        staged = (src / "notebooks" / path.name).read_text(encoding="utf-8")
        colab, download = site_build.links(repo=REPO, path=f"notebooks/{path.name}")
        assert "colab-badge.svg" not in staged  # an image from another site: a network request
        assert f"[Open in Colab]({colab})" in staged and f"[Download notebook]({download})" in staged
    assert "<!--" not in home  # every marker of site/index.md filled in


def test_glossary_and_workshop_get_pages_only_when_they_exist(tmp_path):
    root = tmp_path / "repo"
    for name in ("site/index.md", "notebooks/results.md", f"notebooks/{NOTEBOOKS[0].name}"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    assert site_build.stage(src=tmp_path / "a", root=root) == []
    home = (tmp_path / "a" / "index.md").read_text(encoding="utf-8")
    assert "WORKSHOP" not in home and "GLOSSARY" not in home
    (root / "WORKSHOP.md").write_text("# Workshop guide\n")
    assert site_build.stage(src=tmp_path / "a", root=root) == ["WORKSHOP.md"]
    home = (tmp_path / "a" / "index.md").read_text(encoding="utf-8")
    assert "](WORKSHOP.md)" in home and "\nWORKSHOP\n" in home and "GLOSSARY" not in home
    assert (tmp_path / "a" / "WORKSHOP.md").read_text() == "# Workshop guide\n"


# --- the built site in headless Chromium --------------------------------------------------------------------

def _browser_tools() -> tuple[str, str]:
    missing = [name for name in ("sphinx", "myst_nb", "sphinx_book_theme", "selenium")
               if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed ({', '.join(missing)} missing): make site installs it")
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Chromium not found: apt-get install chromium chromium-driver")
    return chromium, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built into a temporary folder and served on 127.0.0.1; yields its base address."""
    _browser_tools()
    out = tmp_path_factory.mktemp("site") / "site"
    assert site_build.build(out=out) == 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = _browser_tools()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000",
                # any host but the local server fails to resolve: nothing can leave the machine
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(60)
    yield chrome
    chrome.quit()


def _requests(browser) -> list[str]:
    """The addresses requested since the last call (Chromium's performance log, drained by reading it)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _visit(browser, site: str, page: str, *, wait_for: str = "return true") -> None:
    """Open a page, wait until ``wait_for`` (JavaScript) is true, and check that it asked only the local server."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(site + page)
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete"
                                     and b.execute_script(wait_for),
                                     message=f"{page}: still not true after 30 s: {wait_for}")
    remote = [url for url in _requests(browser) if not url.startswith((site, "data:", "blob:", "about:"))]
    assert remote == [], f"{page} requested addresses outside the machine: {remote[:5]}"


def _page(path: Path) -> str:
    return f"notebooks/{path.stem}.html"


def test_home_page_lists_every_notebook(site, browser):
    _visit(browser, site, "index.html")
    hrefs = browser.execute_script(
        "return [...document.querySelectorAll('article a[href]')].map(a => a.getAttribute('href'))")
    listed = {unquote(urlparse(h).path) for h in hrefs if re.fullmatch(r"notebooks/\d\d_\w+\.html", h)}
    assert len(NOTEBOOKS) == 12
    assert listed == {_page(p) for p in NOTEBOOKS}
    colab = {h for h in hrefs if h.startswith("https://colab.research.google.com/")}
    assert colab == {site_build.links(repo=REPO, path=f"notebooks/{p.name}")[0] for p in NOTEBOOKS}


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=[p.stem[:2] for p in NOTEBOOKS])
def test_notebook_page_keeps_figures_links_and_order(site, browser, index):
    path = NOTEBOOKS[index]
    _visit(browser, site, _page(path))
    figures = browser.execute_script("return [...document.querySelectorAll('article img')]"
                                     ".filter(i => i.complete && i.naturalWidth > 0).length")
    assert figures >= max(_images(path), 1)  # every figure of the notebook, loaded; every notebook has one
    links = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('a.course-link')].map(a => [a.text, a.href]))")
    colab, download = site_build.links(repo=REPO, path=f"notebooks/{path.name}")
    assert links == {"Open in Colab": colab, "Download notebook": download}
    order = browser.execute_script("return [document.querySelector('a.left-prev'), document.querySelector("
                                   "'a.right-next')].map(a => a && a.getAttribute('href'))")
    expected_prev = f"{NOTEBOOKS[index - 1].stem}.html" if index else "../index.html"
    expected_next = f"{NOTEBOOKS[index + 1].stem}.html" if index + 1 < len(NOTEBOOKS) else "results.html"
    assert order == [expected_prev, expected_next]


@pytest.mark.parametrize("number", ["01", "02", "03"])
def test_audio_players_play(site, browser, number):
    path = next(p for p in NOTEBOOKS if p.name.startswith(number))
    # readyState >= 1: Chromium has decoded each clip's header, so the player knows its duration and can play it
    _visit(browser, site, _page(path), wait_for="const a = [...document.querySelectorAll('article audio')];"
           "a.forEach(x => x.preload = 'metadata'); return a.length > 0 && a.every(x => x.readyState >= 1)")
    durations = browser.execute_script(
        "return [...document.querySelectorAll('article audio')].map(a => [a.controls, a.duration])")
    assert len(durations) == _audios(path) >= 1
    assert all(controls and 0 < duration < 120 for controls, duration in durations)


def test_formulas_are_typeset_offline(site, browser):
    path = next(p for p in NOTEBOOKS if p.name.startswith("02"))
    _visit(browser, site, _page(path), wait_for=(
        "return window.MathJax && MathJax.startup && MathJax.startup.promise && "
        "document.querySelectorAll('article mjx-container').length >= "
        "document.querySelectorAll('article .math').length"))
    typeset, errors, raw = browser.execute_script(
        "return [document.querySelectorAll('article mjx-container').length,"
        " document.querySelectorAll('article mjx-merror').length,"
        " document.querySelectorAll('article .math').length]")
    assert typeset >= raw >= 10 and errors == 0


def test_search_finds_a_word_of_a_notebook(site, browser):
    _visit(browser, site, "search.html?q=Nyquist",
           wait_for="return document.querySelectorAll('#search-results ul.search li').length > 0")
    hits = browser.execute_script(
        "return [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.getAttribute('href'))")
    assert any("01_waveforms_and_sampling" in h for h in hits)
