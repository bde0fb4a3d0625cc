"""The twin Streamlit app: ``streamlit run app.py`` (or ``twin app``, ``make app``).

Only builds the multipage navigation; the pages are in ``twin_app/pages/`` (see ``docs/app.md``).
"""
from twin_app.main import run

run()
