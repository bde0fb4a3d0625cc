"""The app's pages, one module each; every module has ``render()`` (thin: widgets over the library).

| module | page |
|---|---|
| ``project`` | open the demo, upload IFC and schedule files, generate a demo building, a scenario file |
| ``model`` | interactive 3D (vtk.js), element table with filters, properties |
| ``schedule`` | Gantt, CPM figures, link rules and the link report, sequence strategies |
| ``fourd`` | date slider and play, 3D coloured by state, active tasks, planned vs simulated |
| ``clashes`` | clashes and sequence conflicts, highlight in 3D, BCF download |
| ``simulation`` | Monte Carlo of scenarios, distributions, P(A before B) |
| ``digital_twin`` | progress against plan and forecast (the plan's S-curve and status today) |
"""
