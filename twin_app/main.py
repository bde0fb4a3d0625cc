"""Entry point of the app: builds ``st.navigation`` over the pages and runs the selected one.

``streamlit run app.py`` (repository root) and ``twin app`` (which runs this file from the installed
package) both end in :func:`run`.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["run", "PAGES", "ENTRY"]

ENTRY = Path(__file__).resolve()

# (module under twin_app.pages, title, url path, icon)
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("project", "Project", "project", ":material/folder_open:"),
    ("model", "Model", "model", ":material/view_in_ar:"),
    ("schedule", "Schedule and links", "schedule", ":material/view_timeline:"),
    ("fourd", "4D", "4d", ":material/play_circle:"),
    ("clashes", "Clashes and conflicts", "clashes", ":material/warning:"),
    ("simulation", "Simulation", "simulation", ":material/casino:"),
    ("digital_twin", "Digital twin", "digital-twin", ":material/monitoring:"),
)


def run() -> None:
    """Build the navigation (one ``st.Page`` per module in :data:`PAGES`) and run the current page."""
    import importlib

    st.set_page_config(page_title="twin", page_icon=":material/apartment:", layout="wide")
    pages = []
    for i, (module, title, url, icon) in enumerate(PAGES):
        render = importlib.import_module(f"twin_app.pages.{module}").render
        pages.append(st.Page(render, title=title, url_path=url, icon=icon, default=i == 0))
    st.navigation(pages).run()


if __name__ == "__main__":
    run()
