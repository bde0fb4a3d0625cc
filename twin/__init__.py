"""twin: BIM-linked 4D construction simulation and digital twins.

The top-level package is the pure core: importing it loads none of ifcopenshell, simpy, pyvista,
plotly, streamlit or sqlalchemy. Readers live in ``twin.ifc`` and ``twin.importers``, the simulator in
``twin.sim``, views in ``twin.viz``, the command line in ``twin.cli``.
"""
__version__ = "0.1.0"
__all__ = ["__version__"]
