"""``parcours app``: a local web workbench for planners, on the same API, files and results
folders as the command line (optional extra ``parcours[app]``)."""
