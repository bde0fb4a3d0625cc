"""The Streamlit app of twin: multipage navigation, thin pages over cached library calls.

``app.py`` at the repository root and :mod:`twin_app.main` (the copy ``twin app`` runs from an
installed package) both call :func:`twin_app.main.run`. Pages live in :mod:`twin_app.pages`, one
module each with a ``render()`` function; cached loaders in :mod:`twin_app.loaders`; the session's
project in :mod:`twin_app.state` and :mod:`twin_app.project`; the vtk.js viewer component in
:mod:`twin_app.viewer`. See ``docs/app.md``.
"""
