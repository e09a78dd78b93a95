"""Sphinx configuration of the course website (built by site/build.py; `make site`).

The notebooks are rendered with their committed outputs (``nb_execution_mode = "off"``): figures, audio players,
tables and formulas. MathJax comes from the sphinx-mathjax-offline package and is copied into the site, so
formulas are typeset without a network connection.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402

REPO = colab_cell.current_repo(ROOT)

project = "From Waveforms to Genres"
author = re.search(r"Copyright \(c\) \d{4} (.+)", (ROOT / "LICENSE").read_text()).group(1).strip()
copyright = f"{author}, MIT licence"
extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["**/.ipynb_checkpoints"]

nb_execution_mode = "off"  # render the committed outputs; never run a notebook here
nb_merge_streams = False  # keep "trumpet:" beside its own player, in the order printed
# no ipywidgets JavaScript from a CDN (the site works offline): a slider cell (notebooks 02, 03) shows nothing
# here, and the static figure after it stands in
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "attrs_inline"]
myst_heading_anchors = 3
# notebooks/results.md may name files of the repository that are not pages of the site
suppress_warnings = ["myst.xref_missing"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": f"https://github.com/{REPO}",
    "repository_branch": "main",
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
