"""The ``twin`` command line: typer commands that load inputs, call the library and print results.

Each command lives in its own module here and registers itself on :data:`app`. Commands hold no
logic a test would want to call. Every command takes ``--json`` (machine-readable output on stdout).
User errors (:class:`twin.errors.TwinError`) print one clear line on stderr and exit with status 1,
without a traceback.
"""
from __future__ import annotations

import importlib

from twin.cli._common import app, main

# Command modules; each one registers its commands on ``app`` when imported.
_COMMANDS: tuple[str, ...] = (
    "twin.cli.schedule",
    "twin.cli.sample",
    "twin.cli.info",
    "twin.cli.plan",
    "twin.cli.render",
    "twin.cli.simulate",
    "twin.cli.convert",
    "twin.cli.progress",
    "twin.cli.app",
    "twin.cli.clash",
)

for _name in _COMMANDS:
    importlib.import_module(_name)

# Importing the submodule ``twin.cli.app`` (the `twin app` command) binds the package attribute
# ``app`` to that module; bind it back to the typer application that every caller expects.
from twin.cli._common import app  # noqa: E402,F811

__all__ = ["app", "main"]
